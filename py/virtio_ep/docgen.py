"""Documents generated from the layout package, so that no offset is written down twice.

* docs/register_map.md is generated whole.
* docs/transport.md and docs/host_profiles.md are written by hand, except the tables between
  `<!-- layout:NAME -->` and `<!-- /layout:NAME -->` markers, which this module fills.

`python -m virtio_ep.docgen` rewrites them; tb/test_static.py fails when one is stale.
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
from pathlib import Path

from . import layout as L

REPO = Path(__file__).resolve().parents[2]
REGISTER_MAP = "docs/register_map.md"
TRANSPORT_SPEC = "docs/transport.md"
HOST_PROFILES_DOC = "docs/host_profiles.md"


def _comments(cls) -> dict[str, str]:
    """Inline `# comment` of every `NAME = ...` line in a class body."""
    out = {}
    for line in inspect.getsource(cls).splitlines():
        m = re.match(r"\s+([A-Z][A-Z0-9_]*)\s*=.*?#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip().replace("|", "\\|")
    return out


def _enum_members(cls) -> list:
    return list(cls.__members__.values())


def _bits(v: int) -> str:
    lo = (v & -v).bit_length() - 1
    hi = v.bit_length() - 1
    return f"{lo}" if lo == hi else f"{hi}:{lo}"


def field_table(cls, base: int = 0) -> str:
    """Offset | size | name | description for every Field of a layout class, by offset."""
    docs = _comments(cls)
    rows = [(v.offset - base, v.size, k) for k, v in vars(cls).items() if isinstance(v, L.Field)]
    lines = ["| offset | bytes | field | description |", "|---|---|---|---|"]
    for off, size, name in sorted(rows):
        lines.append(f"| 0x{off:03x} | {size} | {name} | {docs.get(name, '')} |")
    return "\n".join(lines)


def enum_table(cls, value_header: str = "value") -> str:
    docs = _comments(cls)
    lines = [f"| {value_header} | name | meaning |", "|---|---|---|"]
    for m in _enum_members(cls):
        v = int(m)
        shown = _bits(v) if issubclass(cls, enum.IntFlag) else str(v)
        lines.append(f"| {shown} | {m.name} | {docs.get(m.name, '')} |")
    return "\n".join(lines)


def constants_table(names: list[str]) -> str:
    lines = ["| constant | value |", "|---|---|"]
    for n in names:
        v = getattr(L, n)
        lines.append(f"| {n} | {hex(v) if isinstance(v, int) and v > 9 else v} |")
    return "\n".join(lines)


def transport_tables() -> dict[str, str]:
    return {
        "async-device-page": field_table(L.AsyncDevicePage),
        "async-driver-page": field_table(L.AsyncDriverPage, L.AsyncDriverPage.BASE) + (
            f"\n\nQueue table: entry q at driver-page offset 0x{L.AsyncDriverPage.QUEUE_TABLE - L.AsyncDriverPage.BASE:03x}"
            f" + {L.ASYNC_QUEUE_ENTRY_STRIDE} * q, q < {L.ASYNC_MAX_QUEUES}."),
        "async-queue-entry": field_table(L.AsyncQueueEntry),
        "async-constants": constants_table([
            "ASYNC_MAGIC", "ASYNC_VERSION", "ASYNC_MAX_QUEUES", "ASYNC_MAILBOX_DATA", "ASYNC_QUEUE_ENABLE",
            "ASYNC_QUEUE_STATE_STRIDE", "ASYNC_QUEUE_STATE_ENABLED", "ASYNC_STATE_NEEDS_RESET",
            "ASYNC_DOORBELL_CONFIG", "ASYNC_DOORBELL_QUEUE0", "ASYNC_MSI_CONFIG", "ASYNC_MSI_QUEUE0", "SEQ_MASK"]),
        "async-result": enum_table(L.AsyncResult),
        "async-queue-error": enum_table(L.AsyncQueueError),
        "async-reason": enum_table(L.AsyncReason),
        "async-driver-flag": enum_table(L.DriverFlag, "bit of DRIVER_STATUS[31:24]"),
        "async-mbox-op": enum_table(L.MboxOp),
        "async-mbox-status": enum_table(L.MboxStatus),
        "queue-mode": enum_table(L.QueueMode),
        "virtio-status": enum_table(L.VirtioStatus, "bit"),
        "pci-common-cfg": field_table(L.PciCommonCfg),
        "rsc-table": field_table(L.RscTable),
        "rsc-vring": field_table(L.RscVring),
        "rsc-driver": field_table(L.RscDriver),
        "push-entry": field_table(L.PushEntry),
        "push-flag": enum_table(L.PushFlag, "bit"),
        "push-constants": constants_table(["PUSH_RING_AREA", "PUSH_RING_STRIDE", "PUSH_RING_SLOTS",
                                           "PUSH_INLINE_MAX"]),
        "db-watch": enum_table(L.DbWatch, "offset"),
        "cmd-op": enum_table(L.CmdOp),
        "cmd-result": enum_table(L.CmdResult),
        "cmd-info": field_table(L.CmdInfo),
        "cmd-queue": field_table(L.CmdQueue),
        "mbox-page": field_table(L.MboxPage),
        "msg-area": field_table(L.MsgArea),
        "msg-header": field_table(L.MsgHeader),
        "cmd-constants": constants_table(["CMD_DATA_MAX", "CMD_DOORBELL", "MBOX_MAGIC", "MBOX_POLL_NS", "MSG_MAGIC",
                                          "MSG_FIFO_ENTRIES", "MSG_MSI", "MSG_FLAG_RESPONSE"]),
    }


def fill_markers(text: str, tables: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name not in tables:
            raise KeyError(f"unknown generated table {name!r}")
        return f"<!-- layout:{name} -->\n{tables[name]}\n<!-- /layout:{name} -->"
    return re.sub(r"<!-- layout:([a-z0-9-]+) -->.*?<!-- /layout:\1 -->", repl, text, flags=re.S)


def register_map() -> str:
    p = L.DEFAULT_PARAMS
    out = [
        "# Register map",
        "",
        "Generated by `python -m virtio_ep.docgen` from `py/virtio_ep/layout/`;",
        "a test fails when this file is not current. Do not edit by hand.",
        "",
        "## Host side (PCIe BARs)",
        "",
        "| BAR | size | contents |",
        "|---|---|---|",
        f"| {L.BAR_SRAM} | {p.bar0_sram_size // 1024} KiB (parameter `BAR0_SRAM_SIZE`) | SRAM, any length and alignment; "
        "an aperture larger than the SRAM is unbacked: reads there get Unsupported Request, writes are dropped and counted |",
        f"| {L.BAR_DOORBELL} | {L.BAR2_SIZE} bytes | {p.db_slots} doorbell slots (parameter `DB_SLOTS`), slot k at "
        f"offset {L.DB_SLOT_STRIDE}*k, one-dword writes; reads return zero |",
        "",
        f"MSI: {p.msi_vectors} vectors (parameter `MSI_VECTORS`), per-vector masking honoured.",
        "",
        f"## Local bus (AXI4-Lite, {L.AXIL_ADDR_WIDTH}-bit address, 32-bit data)",
        "",
        "| region | base |",
        "|---|---|",
    ]
    out += [f"| {r.name} | 0x{int(r):05x} |" for r in L.Region]
    out += ["", "Unmapped local addresses answer DECERR. SRAM_WINDOW maps BAR0 byte for byte;",
            f"DMA_BUF maps the DMA buffer RAM ({p.dma_buf_size // 1024} KiB, parameter `DMA_BUF_SIZE`)."]
    for title, region, enum_cls in (("CSR", L.Region.CSR, L.Csr), ("Doorbell block", L.Region.DOORBELL, L.DbReg),
                                    ("MSI block", L.Region.MSI, L.MsiReg), ("DMA engine", L.Region.DMA, L.DmaReg)):
        docs = _comments(enum_cls)
        out += ["", f"### {title} (base 0x{int(region):05x})", "", "| offset | name | description |", "|---|---|---|"]
        out += [f"| 0x{int(m):03x} | {m.name} | {docs.get(m.name, '')} |" for m in enum_cls]
    out += ["", "### Bit fields", "", "| register | field | bits | description |", "|---|---|---|---|"]
    for reg, flag_cls in (("INT_STATUS / INT_ENABLE", L.IntSource), ("FIFO_STATUS", L.DbFifoStatus),
                          ("FIFO_HEAD_SLOT", L.DbFifoHead), ("MSI STATUS", L.MsiStatus), ("MSI MODERATE", L.MsiModerate),
                          ("DMA STATUS", L.DmaEngineStatus), ("DMA DONE_HEAD", L.DmaDone),
                          ("FLR", L.FlrBit)):
        docs = _comments(flag_cls)
        for m in _enum_members(flag_cls):
            if m.name.endswith("_SHIFT"):
                continue
            out.append(f"| {reg} | {m.name.removesuffix('_MASK')} | {_bits(int(m))} | {docs.get(m.name, '')} |")
    out += ["", "DMA descriptor results:", "", enum_table(L.DmaResult)]
    return "\n".join(out) + "\n"


def host_profile_tables() -> dict[str, str]:
    """The host profiles (layout.config.HOST_PROFILES): their numbers and sources."""
    lines = ["| profile | MPS | MRRS | RCB | completions | extra read latency per request | sources |",
             "|---|---|---|---|---|---|---|"]
    for p in L.HOST_PROFILES.values():
        cut = f"cut at every {p.rcb} B" if p.split_at_rcb else "as large as MPS allows"
        jitter = (f"exponential, mean {p.read_jitter_ns} ns, capped at {p.read_jitter_cap_ns} ns"
                  if p.read_jitter_ns else "none (in order)")
        lines.append(f"| {p.name} | {p.max_payload} | {p.max_read_request} | {p.rcb} | {cut} | {jitter} | {p.sources} |")
    return {"host-profiles": "\n".join(lines)}


def expected_documents() -> dict[str, str]:
    spec = (REPO / TRANSPORT_SPEC).read_text()
    profiles = (REPO / HOST_PROFILES_DOC).read_text()
    return {REGISTER_MAP: register_map(), TRANSPORT_SPEC: fill_markers(spec, transport_tables()),
            HOST_PROFILES_DOC: fill_markers(profiles, host_profile_tables())}


def main() -> int:
    for path, text in expected_documents().items():
        (REPO / path).write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
