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
        """Parameter overrides for the top-level module."""
        return {
            "BAR0_SRAM_SIZE": self.bar0_sram_size,
            "DB_SLOTS": self.db_slots,
            "DB_FIFO_DEPTH": self.db_fifo_depth,
            "MSI_VECTORS": self.msi_vectors,
            "NP_FIFO_DEPTH": self.np_fifo_depth,
            "MSI_TIMEOUT_CYCLES": self.msi_timeout_cycles,
            "DMA_BUF_SIZE": self.dma_buf_size,
            "DMA_TAGS": self.dma_tags,
            "DMA_DESC_DEPTH": self.dma_desc_depth,
            "DMA_TIMEOUT_CYCLES": self.dma_timeout_cycles,
        }

    def to_env(self) -> str:
        """Compact form passed to the simulation's test bench (see from_env)."""
        return ",".join(f"{k}={v}" for k, v in self.__dict__.items())

    @classmethod
    def from_env(cls, text: str | None) -> "EndpointParams":
        if not text:
            return cls()
        return cls(**{k: int(v) for k, v in (item.split("=") for item in text.split(","))})


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

    def to_env(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.__dict__.items())

    @classmethod
    def from_env(cls, text: str | None) -> "HostLatencies":
        if text is None or text in ("", "default"):
            return cls()
        if text == "none":
            return cls(0, 0, 0, 0)
        return cls(**{k: int(v) for k, v in (item.split("=") for item in text.split(","))})


NO_LATENCY = HostLatencies(0, 0, 0, 0)
