"""Build parameters of the RTL and the latencies the test bench adds: the settings a run is
made with (one registry each; `LATENCY_SETTINGS` is the only list of named latency settings)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

@dataclass(frozen=True)
class EndpointParams:
    """Top-level RTL parameters; defaults are the ones the RTL is built with."""

    bar0_sram_size: int = 64 * 1024     # bytes of BAR0 SRAM
    db_slots: int = 64                  # BAR2 doorbell slots
    db_fifo_depth: int = 16             # ordered doorbell FIFO entries
    msi_vectors: int = 32               # MSI vectors the generator can request
    np_fifo_depth: int = 16             # non-posted requests queued for completion
    msi_timeout_cycles: int = 4096      # cycles to wait for cfg_interrupt_msi_sent/fail
    dma_buf_size: int = 2 << 20         # bytes of DMA buffer RAM (device memory)
    dma_tags: int = 16                  # read requests the DMA engine keeps outstanding
    dma_desc_depth: int = 64            # queued DMA descriptors, per direction
    dma_read_descs: int = 4             # DMA read descriptors in flight at once
    dma_timeout_cycles: int = 16384     # completion timeout of a DMA read request

    def rtl_parameters(self) -> dict[str, int]:
        """Parameter overrides for the top-level module: field bar0_sram_size is BAR0_SRAM_SIZE."""
        return {name.upper(): value for name, value in vars(self).items()}

    @classmethod
    def parse(cls, text: str) -> "EndpointParams":
        """The defaults with `text`'s overrides, name=value,... (field names, whole numbers;
        make's PARAMS=, which virtio_ep.makevars checks first)."""
        items = [item.partition("=") for item in text.split(",") if item]
        if any(not sep or name not in vars(cls()) or not value.isdigit() for name, sep, value in items):
            raise ValueError(f"a comma-separated list of name=value, the names among {', '.join(vars(cls()))}")
        return replace(cls(), **{name: int(value) for name, _, value in items})

    def changes(self) -> str:
        """The fields that differ from the defaults, as name=value,... (what `parse` reads)."""
        return ",".join(f"{k}={v}" for k, v in vars(self).items() if getattr(DEFAULT_PARAMS, k) != v)

    @classmethod
    def from_dut(cls, dut) -> "EndpointParams":
        """The parameters a simulation was built with, read back from the top level."""
        return cls(**{name: int(getattr(dut, name.upper()).value) for name in vars(cls())})


DEFAULT_PARAMS = EndpointParams()


@dataclass(frozen=True)
class HostLatencies:
    """Latencies the test bench adds to the root-complex model, which itself answers at once.

    Defaults: assumptions within the ranges published measurements report (each one's
    reference and reason in virtio_ep/sources.py; make report sweeps them):
    device_read_ns  a device's read of host memory, request to completion, Gen3 x8: about
                    0.5 to 0.9 us; an FPGA endpoint measured about 850 ns
    host_read_ns    a host CPU load from a device BAR: about 1 us, the CPU stalled meanwhile
    msi_ns          MSI write to the driver's handler running (interrupt delivery and entry)
    firmware_wake_ns  the endpoint's CPU: irq to its handler running, beyond the modelled
                    entry cost (FirmwareCosts.irq_entry). 0 for a bare-metal core waiting in
                    WFI (about 0.1 us, already in irq_entry); microseconds for an interrupt
                    controller and OS in the path (Linux: several us, threaded handlers
                    tens of us). Not a host latency, but swept with them (make report).
    firmware_cost_scale  every modelled firmware cost (FirmwareCosts) multiplied by this: a
                    core k times slower per instruction (a lower clock, code and data in
                    uncached memory). Bus accesses stay the RTL's. Not a host latency either;
                    swept with them.
    """

    device_read_ns: int = 850
    host_read_ns: int = 1000
    msi_ns: int = 1000
    firmware_wake_ns: int = 0
    firmware_cost_scale: int = 1


NO_LATENCY = HostLatencies(0, 0, 0, 0)
DEFAULT_LATENCIES = HostLatencies()

# The named latency settings every bench, report and test refers to (the one list). The
# defaults scaled by half and two, the defaults with a slow endpoint CPU wake-up, and with
# every modelled firmware cost four times the default (the FirmwareCosts sweep).
LATENCY_SETTINGS: dict[str, HostLatencies] = {
    "none": NO_LATENCY,
    "half": HostLatencies(DEFAULT_LATENCIES.device_read_ns // 2, DEFAULT_LATENCIES.host_read_ns // 2,
                          DEFAULT_LATENCIES.msi_ns // 2, 0),
    "default": DEFAULT_LATENCIES,
    "double": HostLatencies(2 * DEFAULT_LATENCIES.device_read_ns, 2 * DEFAULT_LATENCIES.host_read_ns,
                            2 * DEFAULT_LATENCIES.msi_ns, 0),
    "slow-fw": replace(DEFAULT_LATENCIES, firmware_wake_ns=10_000),
    "slow-cpu": replace(DEFAULT_LATENCIES, firmware_cost_scale=4),
}


def latency_setting(name: str) -> HostLatencies:
    try:
        return LATENCY_SETTINGS[name]
    except KeyError:
        raise ValueError(f"latency setting {name!r}: use one of {', '.join(LATENCY_SETTINGS)}") from None


@dataclass(frozen=True)
class HostProfile:
    """How the host's root complex answers the endpoint, beside how late (HostLatencies).

    max_payload       bytes: Max_Payload_Size the host programs into the endpoint (its
                      writes) and the largest completion the root complex sends
    max_read_request  bytes: Max_Read_Request_Size the host programs (the endpoint's reads)
    rcb               bytes: the root complex's read completion boundary (64 or 128)
    split_at_rcb      completions end at every RCB-aligned address (a 512-byte read comes
                      back as eight 64-byte completions), instead of as few as MPS allows
    read_jitter_ns    mean of an exponential extra delay per device read request, drawn
                      per request (seeded): reads to different tags then complete out of
                      order, and a tail appears (p99 = 4.6 x the mean); capped at
                      read_jitter_cap_ns. Completions of one request stay in order (PCIe
                      ordering).
    sources           where each number comes from, or "assumed"
    """

    name: str
    max_payload: int = 512
    max_read_request: int = 512
    rcb: int = 64
    split_at_rcb: bool = False
    read_jitter_ns: int = 0
    read_jitter_cap_ns: int = 0
    sources: str = ""

    def __post_init__(self) -> None:
        for field_name, value in (("max_payload", self.max_payload), ("max_read_request", self.max_read_request)):
            try:
                pcie_size_code(value)
            except ValueError as exc:
                raise ValueError(f"host profile {self.name}: {field_name}: {exc}") from None
        if self.rcb not in (64, 128):
            raise ValueError(f"host profile {self.name}: RCB {self.rcb} must be 64 or 128")

    def read_jitter(self, rng: random.Random) -> Iterator[int]:
        """The extra latency (ns) of each device read request, one draw each: exponential
        with the profile's mean, capped (the test bench's host and the timing model both
        draw from here)."""
        while True:
            yield min(round(rng.expovariate(1 / self.read_jitter_ns)), self.read_jitter_cap_ns) if self.read_jitter_ns else 0


def pcie_size_code(size: int) -> int:
    """The Device Control encoding of a payload or read request size: 128 << code bytes."""
    code = (size // 128).bit_length() - 1
    if not 0 <= code <= 5 or size != 128 << code:
        raise ValueError(f"{size} bytes is not a PCIe payload or read request size (128, 256, ... 4096)")
    return code


# The named host profiles (the one list), beside LATENCY_SETTINGS.
HOST_PROFILES: dict[str, HostProfile] = {p.name: p for p in (
    HostProfile("ideal", sources="the bench's root complex as it was: one completion per read up to MPS, "
                "in order, after the fixed latency of the setting"),
    HostProfile("server", max_payload=256, max_read_request=512, rcb=64, split_at_rcb=True,
                read_jitter_ns=150, read_jitter_cap_ns=2000,
                sources="MPS 256, MRRS 512, RCB 64: the defaults of the PCIe model that comes with "
                "Neugebauer et al., Understanding PCIe performance for end host networking, SIGCOMM "
                "2018 (github.com/pcie-bench/pcie-model, pcie_bw.py, Gen3 x8); completions cut at "
                "every RCB: that model's rcb_chunks option (model/pcie.py); jitter mean and cap: "
                "assumed (the paper reports a spread and a tail of DMA latency, not this distribution)"),
    HostProfile("small", max_payload=128, max_read_request=512, rcb=64, split_at_rcb=True,
                sources="MPS 128 (the PCIe power-on default, the smallest host), MRRS 512 (the "
                "power-on default), RCB 64: assumed as the most constrained legal host"),
)}


def host_profile(name: str) -> HostProfile:
    """A registered profile by name, or one varied from it: `ideal@mps=256` is `ideal` with
    a Max_Payload_Size of 256 bytes (the sensitivity bench's knobs)."""
    base, _, variation = name.partition("@")
    try:
        profile = HOST_PROFILES[base]
    except KeyError:
        raise ValueError(f"host profile {name!r}: use one of {', '.join(HOST_PROFILES)}") from None
    if not variation:
        return profile
    key, _, value = variation.partition("=")
    if key != "mps" or not value.isdigit():
        raise ValueError(f"host profile {name!r}: a variation is @mps=<bytes>")
    return replace(profile, name=name, max_payload=int(value))

