"""Where every assumed number of the comparison comes from: each `HostLatencies` default and
each `FirmwareCosts` value, with its citation (title, authors or vendor, year, and where in
it) or marked as an assumption with the reason for its value. `make report` prints this
table and sweeps the host latencies (half, double, a slow endpoint CPU wake-up, every
firmware cost four times over) to show how the ranking moves; tb/test_static.py fails if a field has no entry here.

An entry says `assumption` when no measurement in a cited table gives the value itself:
then the reference is the order of magnitude it was chosen from, not a source of the
number, and the report's sweep is what bounds the conclusion.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .costs import FirmwareCosts
from .layout import HostLatencies

NEUGEBAUER_2018 = ("R. Neugebauer, G. Antichi, J. F. Zazo, Y. Audzevich, S. Lopez-Buedo, A. W. Moore, "
                   "\"Understanding PCIe performance for end host networking\", ACM SIGCOMM 2018, "
                   "doi:10.1145/3230543.3230560")
CORTEX_M4_TRM = "Arm, \"Cortex-M4 Technical Reference Manual\" (ARM DDI 0439), interrupt latency"


@dataclass(frozen=True)
class Source:
    kind: str                   # "cited" or "assumption"
    reference: str              # the citation, or what the assumption is an order of magnitude of
    note: str = ""


HOST_LATENCY_SOURCES: dict[str, Source] = {
    "device_read_ns": Source("assumption", NEUGEBAUER_2018,
        "a device's DMA read of host memory, request to completion: that paper measures it with "
        "pcie-bench on several Xeon hosts (hundreds of ns, higher with an IOMMU miss); 850 ns is "
        "taken inside that range, not read off one of its tables. Swept x0.5 and x2."),
    "host_read_ns": Source("assumption", NEUGEBAUER_2018,
        "a host CPU load from a device BAR (an uncached, non-posted read: the same round trip as "
        "a DMA read plus the core's stall); about 1 us is the usual figure, not measured here. "
        "Swept x0.5 and x2."),
    "msi_ns": Source("assumption", "interrupt delivery and entry to a running Linux handler",
        "order of a microsecond on a server core; not from a table. Swept x0.5 and x2."),
    "firmware_wake_ns": Source("assumption", CORTEX_M4_TRM,
        "0: a bare-metal core waiting in WFI (its entry, 12 cycles on a Cortex-M4, is in "
        "FirmwareCosts.irq_entry); slow-fw's 10 us stands for an OS with threaded interrupts "
        "between the irq and the handler."),
    "firmware_cost_scale": Source("assumption", "a sweep of every FirmwareCosts value, not a measurement",
        "1: the costs below as they are; slow-cpu's 4 stands for a core four times slower per "
        "instruction than these costs assume (a lower clock, code in uncached memory)."),
}

FIRMWARE_COST_SOURCES: dict[str, Source] = {
    "irq_entry": Source("assumption", CORTEX_M4_TRM,
                        "twice the Cortex-M4's 12-cycle exception entry, for a core with more state to save"),
    "irq_exit": Source("assumption", CORTEX_M4_TRM, "the same order as the entry"),
    "doorbell_dispatch": Source("assumption", "a find-first-set and an indirect call",
                                "a few instructions on a small in-order core"),
    "msi_request": Source("assumption", "computing one vector number", ""),
    "per_word_copy": Source("assumption", "a load/store loop's overhead per word",
                            "the bus access itself is simulated, not modelled"),
    "control_decode": Source("assumption", "decoding a status word and its transitions", ""),
    "features_check": Source("assumption", "four 32-bit compares of a 128-bit mask", ""),
    "queue_validate": Source("assumption", "size, mode and three alignment checks", ""),
    "mailbox_op": Source("assumption", "dispatching one request", ""),
    "poll_iteration": Source("assumption", "one polling pass's bookkeeping", ""),
}


def missing() -> list[str]:
    """Fields of HostLatencies and FirmwareCosts without a source entry."""
    return ([f"HostLatencies.{f.name}" for f in fields(HostLatencies) if f.name not in HOST_LATENCY_SOURCES]
            + [f"FirmwareCosts.{f.name}" for f in fields(FirmwareCosts) if f.name not in FIRMWARE_COST_SOURCES])


def report_lines() -> list[str]:
    """The sources table of docs/results.md."""
    md = ["| number | value | kind | source | note |", "|---|---|---|---|---|"]
    for cls, unit, table in ((HostLatencies, "ns", HOST_LATENCY_SOURCES), (FirmwareCosts, "cycles", FIRMWARE_COST_SOURCES)):
        for name, s in table.items():
            value = f"x{getattr(cls(), name)}" if name.endswith("_scale") else f"{getattr(cls(), name)} {unit}"
            md.append(f"| {cls.__name__}.{name} | {value} | {s.kind} | {s.reference} | {s.note} |")
    return md


def unknown() -> list[str]:
    """Source entries naming no field (a field renamed or removed)."""
    return ([n for n in HOST_LATENCY_SOURCES if n not in {f.name for f in fields(HostLatencies)}]
            + [n for n in FIRMWARE_COST_SOURCES if n not in {f.name for f in fields(FirmwareCosts)}])
