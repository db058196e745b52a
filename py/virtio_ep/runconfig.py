"""What goes into a simulation and what comes back: one typed run configuration, serialised
once into the simulator's environment, and one typed result row per measurement.

The runner side (`simrun.run(..., config=RunConfig(...))`) writes the configuration; the
test bench side reads it with `RunConfig.current()`. Rows go back as JSON lines in the file
the configuration names (`ResultRow.append` / `ResultRow.read`). Nothing else crosses the
process boundary but cocotb's own variables (seed, test filter, log level).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .layout import MODE_NAMES, USER_CLK_HZ, host_profile, latency_setting, mode_by_name

ENV_VAR = "VIRTIO_EP_RUN"


@dataclass(frozen=True)
class RunConfig:
    """Settings of one simulation run; every field has the value a plain test run uses."""

    transport: str = "async"            # transports.TRANSPORTS name
    poll_cycles: int = 0                # firmware polling period in cycles (0: the firmware sleeps on irq)
    best: bool = False                  # standard virtio at its best: notification data, in-order and
                                        # event index negotiated; batch intake and RX prefetch (datapath)
    mirror: bool = False                # async: the device page mirrored into host memory (Options.mirror)
    modes: tuple[str, ...] = MODE_NAMES     # ring modes to run
    devices: tuple[str, ...] = ("net", "block", "entropy")
    latencies: str = "none"             # layout.LATENCY_SETTINGS name
    profile: str = "ideal"              # layout.HOST_PROFILES name
    sizes: tuple[int, ...] = (64, 256, 1024, 4096, 16384, 65536)      # payload bytes (benches)
    repeat: int = 3                     # samples per measurement (median)
    depths: tuple[int, ...] = (1, 4, 16, 64)    # requests in flight (load bench)
    requests: int | None = None         # request or case count of a test module (None: its default)
    variant: str | None = None          # pyuvm virtio variant (None: chosen by seed)
    check_every: bool = False           # fuzzers: check the counters after every case
    fault: str | None = None            # linux_uml: a fault the bridge injects (scenarios/uml.py FAULTS)
    results: str | None = None          # JSON-lines file for ResultRows
    artifact: str | None = None         # file for a module's other output (summary, table, coverage)
    sim: str = ""                       # simulator name, for summaries

    def __post_init__(self) -> None:
        latency_setting(self.latencies)             # fails early, with the valid names
        host_profile(self.profile)
        for m in self.modes:
            mode_by_name(m)

    @property
    def host_latencies(self):
        return latency_setting(self.latencies)

    @property
    def host_profile(self):
        return host_profile(self.profile)

    def to_env(self) -> dict[str, str]:
        return {ENV_VAR: json.dumps(asdict(self))}

    @classmethod
    def current(cls) -> "RunConfig":
        """The configuration of this simulation (defaults when run without one)."""
        text = os.environ.get(ENV_VAR)
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(**{f.name: tuple(raw[f.name]) if isinstance(raw[f.name], list) else raw[f.name]
                      for f in fields(cls) if f.name in raw})

    def request_count(self, default: int) -> int:
        return default if self.requests is None else self.requests


@dataclass
class ResultRow:
    """One measurement: a transport's set-up of a device, or one request size in one mode.
    TLP counts are per set-up or per request (medians over `repeat` samples)."""

    kind: str                           # "setup" or "request"
    transport: str
    device: str = "net"
    mode: str = "split"
    size: int = 0                       # payload bytes (requests)
    latencies: str = "none"
    poll_cycles: int = 0
    host_reads: float = 0               # host non-posted reads (BAR reads)
    host_writes: float = 0              # host posted writes, doorbells apart
    doorbells: float = 0
    device_reads: float = 0             # endpoint reads of host memory
    device_writes: float = 0            # endpoint writes to host memory, MSIs apart
    msis: float = 0
    link_bytes: float = 0               # TLP headers and payload, both directions
    host_stall_ns: float = 0            # host CPU time in BAR reads
    firmware_busy_ns: float = 0         # time the soft CPU was awake
    latency_cycles: float = 0
    predicted_cycles: float | None = None   # the timing model's latency (async requests)
    ops: list[dict] = field(default_factory=list)           # set-up: per operation
    failures: list[str] = field(default_factory=list)       # set-up: the stock virtio-pci driver's
    read_offsets: list[int] = field(default_factory=list)   # set-up: BAR0 offsets the host read
    applied_after: float | None = None  # set-up without acknowledgement: cycles until the device applied DRIVER_OK

    @property
    def throughput_MBps(self) -> float:
        """One request in flight (as the benches run them): payload per latency."""
        return self.size * USER_CLK_HZ / self.latency_cycles / 1e6

    @property
    def predicted_MBps(self) -> float | None:
        return None if self.predicted_cycles is None else self.size * USER_CLK_HZ / self.predicted_cycles / 1e6

    def as_dict(self) -> dict:
        """The row's fields and derived figures, for tables."""
        return {**asdict(self), "throughput_MBps": self.throughput_MBps, "predicted_MBps": self.predicted_MBps}

    def append(self, path: str | Path) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(asdict(self)) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> list["ResultRow"]:
        return [cls(**json.loads(line)) for line in Path(path).read_text().splitlines()]
