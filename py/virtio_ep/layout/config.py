"""Build parameters of the RTL and the latencies the test bench adds: the settings a run is
made with (one registry each; `LATENCY_SETTINGS` is the only list of named latency settings)."""

from __future__ import annotations

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
    dma_buf_size: int = 64 * 1024       # bytes of DMA buffer RAM
    dma_tags: int = 16                  # read requests the DMA engine keeps outstanding
    dma_desc_depth: int = 16            # queued DMA descriptors
    dma_timeout_cycles: int = 16384     # completion timeout of a DMA read request

    def rtl_parameters(self) -> dict[str, int]:
        """Parameter overrides for the top-level module: field bar0_sram_size is BAR0_SRAM_SIZE."""
        return {name.upper(): value for name, value in vars(self).items()}

    @classmethod
    def from_dut(cls, dut) -> "EndpointParams":
        """The parameters a simulation was built with, read back from the top level."""
        return cls(**{name: int(getattr(dut, name.upper()).value) for name in vars(cls())})


DEFAULT_PARAMS = EndpointParams()


@dataclass(frozen=True)
class HostLatencies:
    """Latencies the test bench adds to the root-complex model, which itself answers at once.

    Defaults from published measurements (see docs/results.md when it exists):
    device_read_ns  a device's read of host memory, request to completion, Gen3 x8: about
                    0.5 to 0.9 us; an FPGA endpoint measured about 850 ns
    host_read_ns    a host CPU load from a device BAR: about 1 us, the CPU stalled meanwhile
    msi_ns          MSI write to the driver's handler running (interrupt delivery and entry)
    firmware_wake_ns  the endpoint's CPU: irq to its handler running, beyond the modelled
                    entry cost (FirmwareCosts.irq_entry). 0 for a bare-metal core waiting in
                    WFI (about 0.1 us, already in irq_entry); microseconds for an interrupt
                    controller and OS in the path (Linux: several us, threaded handlers
                    tens of us). Not a host latency, but swept with them (make report).
    """

    device_read_ns: int = 850
    host_read_ns: int = 1000
    msi_ns: int = 1000
    firmware_wake_ns: int = 0


NO_LATENCY = HostLatencies(0, 0, 0, 0)
DEFAULT_LATENCIES = HostLatencies()

# The named latency settings every bench, report and test refers to (the one list). The
# defaults scaled by half and two, and the defaults with a slow endpoint CPU wake-up.
LATENCY_SETTINGS: dict[str, HostLatencies] = {
    "none": NO_LATENCY,
    "half": HostLatencies(DEFAULT_LATENCIES.device_read_ns // 2, DEFAULT_LATENCIES.host_read_ns // 2,
                          DEFAULT_LATENCIES.msi_ns // 2, 0),
    "default": DEFAULT_LATENCIES,
    "double": HostLatencies(2 * DEFAULT_LATENCIES.device_read_ns, 2 * DEFAULT_LATENCIES.host_read_ns,
                            2 * DEFAULT_LATENCIES.msi_ns, 0),
    "slow-fw": replace(DEFAULT_LATENCIES, firmware_wake_ns=10_000),
}


def latency_setting(name: str) -> HostLatencies:
    try:
        return LATENCY_SETTINGS[name]
    except KeyError:
        raise ValueError(f"latency setting {name!r}: use one of {', '.join(LATENCY_SETTINGS)}") from None
