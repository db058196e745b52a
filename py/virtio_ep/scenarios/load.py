"""Throughput under load (`make bench load`): the net loopback driven closed-loop with
`depth` frames in flight (a frame is sent again as soon as one comes back), measured in
steady state: requests per second, payload Gb/s each way and its share of the link's
payload capacity, firmware busy share, MSIs and doorbells per request, latency p50/p99,
and which part limits."""

from __future__ import annotations

import json
import statistics
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from pathlib import Path


from .. import layout, timing
from ..host.virtio_drivers import NetDriver
from ..transports import Options
from .datapath import LOOPBACK_TIMEOUT_NS, firmware_asleep, per_request

LOAD_COLUMNS = ("mode", "payload", "depth", "latencies", "req_per_s", "gbps_h2d", "gbps_d2h", "util_h2d",
                "util_d2h", "fw_busy", "msis_per_req", "p50_ns", "p99_ns", "bottleneck", "doorbells_per_req",
                "cpu_path", "fw_cycles_per_req", "dma_wait_per_req", "bus_words_per_req", "compute_per_req",
                "dmas_per_req", "profile", "wakes_per_req", "waits_per_req", "steps_per_req", "wall_s", "sleeps_per_req",
                "waits_slept_per_req", "ventiles_ns")
# TX and RX queues of this size (the net device's largest); a TX frame is one descriptor
# (header_inline, as Linux sends it), a push ring has PUSH_RING_SLOTS slots
LOAD_QUEUE_SIZE = 256
FW_BOUND = 0.9          # firmware busy share above which the firmware is named the limit
LINK_BOUND = 0.8        # link payload share above which the link is named the limit


@dataclass
class LoadRow:
    mode: str
    payload: int
    depth: int
    latencies: str
    req_per_s: float
    gbps_h2d: float
    gbps_d2h: float
    util_h2d: float
    util_d2h: float
    fw_busy: float
    msis_per_req: float
    doorbells_per_req: float
    p50_ns: float
    p99_ns: float
    bottleneck: str
    cpu_path: float = 0.0           # share of frames that found device memory full (held, or through the CPU)
    requests: int = 0               # requests in the measured window
    # the firmware's cycle budget per request: cycles awake, of which waiting for DMA results;
    # local-bus words (reads + written words), modelled compute cycles, DMA descriptors
    fw_cycles_per_req: float = 0.0
    dma_wait_per_req: float = 0.0
    bus_words_per_req: float = 0.0
    compute_per_req: float = 0.0
    dmas_per_req: float = 0.0
    profile: str = "ideal"          # layout.HOST_PROFILES name the run used
    # how the firmware's time divides (the timing model's calibration counters): turns of
    # its doorbell loop, DMA waits that stalled it, steps of NetLoopback.stream, per request
    wakes_per_req: float = 0.0
    waits_per_req: float = 0.0
    steps_per_req: float = 0.0
    wall_s: float = 0.0             # wall-clock seconds the measured window took to simulate
    sleeps_per_req: float = 0.0     # DMA waits that slept until irq (each costs the CPU's wake latency)
    waits_slept_per_req: float = 0.0   # DMA waits that slept at least once
    # the window's latencies at p5, p10, ... p95 (VENTILES), ";"-separated ns; "" in rows written
    # before they were kept. Where a ring's frames come back in clusters, the median sits on a
    # step between two, and where a model's median falls among these says more than its error
    ventiles_ns: str = ""

    def latency_rank(self, x: float) -> tuple[float, float] | None:
        """Between which of the window's stored quantiles `x` (ns) falls: (lo, hi) with lo the
        highest of VENTILES below it (0 if none) and hi the next (1 past p95); None if not kept."""
        if not self.ventiles_ns:
            return None
        below = sum(float(v) < x for v in self.ventiles_ns.split(";"))
        return (VENTILES[below - 1] if below else 0.0), (VENTILES[below] if below < len(VENTILES) else 1.0)

    def latency_quantile(self, q: float) -> float:
        """The window's latency (ns) at quantile `q`, one of VENTILES."""
        return float(self.ventiles_ns.split(";")[VENTILES.index(q)])

    def append(self, path: str | Path) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(asdict(self)) + "\n")

    @staticmethod
    def read(path: str | Path) -> list["LoadRow"]:
        return [LoadRow(**json.loads(line)) for line in Path(path).read_text().splitlines() if line.strip()]


def load_options(mode: str, opts: Options = Options()) -> Options:
    """Under load the firmware takes split and packed chains a batch at a time through the
    vectorized processors (a few device reads per batch instead of several per chain).
    Push rings are read over the local bus either way: batch intake reads whole slots
    where the scalar path reads what each entry uses (measured slower, docs/load.md)."""
    return replace(opts, batch=mode in ("split", "packed"))


def max_depth(mode: str = "split") -> int:
    """The most frames in flight the queues hold in `mode` (a TX frame is one descriptor or
    slot; a self-doorbelling push ring keeps one slot free)."""
    if mode.startswith("push"):
        return min(LOAD_QUEUE_SIZE, layout.PUSH_RING_SLOTS) - (mode == "push_self")
    return LOAD_QUEUE_SIZE


# Frames of LARGE_FRAME bytes or more cost about 1.6 s of wall time each at 64 KiB (2,048
# bus beats each way through the Python root complex): they run at depths up to
# LARGE_MAX_DEPTH with LARGE_REQUESTS measured, so the grid stays within 30 minutes
LARGE_FRAME = 16384
LARGE_MAX_DEPTH = 16
LARGE_REQUESTS = 16
# The window: WINDOW_DEPTHS times the frames in flight, MIN_REQUESTS at least. The loop runs
# in cohorts of frames that take turns (docs/load_model.md), so a window of one depth's
# frames times one phase of them: push, 1 KiB, 16 in flight measured 1.33 M req/s over 16
# frames, 1.44 M over 64 and 1.47 M over 256 (fresh runs, Verilator, 2026-12-03)
WINDOW_DEPTHS = 4
MIN_REQUESTS = 64


def grid(mode: str, sizes, depths, requests: int | None = None) -> list[tuple[int, int, int]]:
    """(payload, depth, requests measured) of the load grid in `mode`: depths capped by what
    the queues hold, large frames at the shallow depths only."""
    out = []
    for size in sizes:
        large = size >= LARGE_FRAME
        for depth in sorted({min(d, max_depth(mode)) for d in depths}):
            if large and depth > LARGE_MAX_DEPTH:
                continue
            out.append((size, depth, requests or measured_requests(size, depth)))
    return out


def measured_requests(size: int, depth: int) -> int:
    """The frames the load bench times at a point, after its warm-up of `depth` frames (large
    frames deeper than the grid runs them, which the load model may be asked for: as small ones)."""
    if size >= LARGE_FRAME and depth <= LARGE_MAX_DEPTH:
        return LARGE_REQUESTS
    return max(WINDOW_DEPTHS * depth, MIN_REQUESTS)


def payload_capacity_gbps(link: timing.Link = timing.Link(), profile: layout.HostProfile | None = None) -> float:
    """The link's payload capacity device to host (write TLPs): the line rate after
    encoding, less a TLP's header (4 DW, 64-bit addresses) and framing per max-payload TLP
    (the profile's max payload size, or the link's)."""
    mps = profile.max_payload if profile else link.max_payload
    return _line_gbps(link) * mps / (mps + link.rq_descriptor_bytes + link.framing_bytes)


def completion_capacity_gbps(link: timing.Link = timing.Link(), profile: layout.HostProfile | None = None) -> float:
    """The payload capacity host to device for the device's reads: completions of up to
    max payload bytes each, or of the RCB where the profile splits them there, each with
    a 3-DW header and framing."""
    mps = profile.max_payload if profile else link.max_payload
    mrrs = profile.max_read_request if profile else link.max_read_request
    piece = profile.rcb if profile and profile.split_at_rcb else min(mps, mrrs)
    return _line_gbps(link) * piece / (piece + link.cpl_header_bytes + link.framing_bytes)


def _line_gbps(link: timing.Link) -> float:
    return link.bytes_per_cycle * layout.USER_CLK_HZ * 8 / 1e9


def memory_full(backend) -> int:
    """Frames the net loopback found no device memory for: held until deliveries made room,
    or copied through the CPU."""
    return getattr(backend, "cpu_frames", 0) + getattr(backend, "held_frames", 0)


@dataclass(frozen=True)
class CpuCounters:
    """The soft CPU's running counters at one instant (differences give a window's budget)."""
    awake_ns: float
    dma_wait_ns: float
    bus_words: int
    compute: int
    dmas: int
    wakes: int = 0
    waits: int = 0
    steps: int = 0
    sleeps: int = 0
    waits_slept: int = 0

    @staticmethod
    def of(cpu, backend=None) -> "CpuCounters":
        return CpuCounters(cpu.awake_now_ns(), cpu.dma_wait_ns, cpu.bus_reads + cpu.bus_write_words, cpu.busy_cycles,
                           cpu.dmas, cpu.wakes, cpu.dma_waits, getattr(backend, "steps", 0), cpu.dma_sleeps,
                           cpu.waits_slept)

    def per_request(self, since: "CpuCounters", requests: int) -> dict[str, float]:
        """The window's cycle budget per request (LoadRow's *_per_req fields)."""
        clk = 1e9 / layout.USER_CLK_HZ
        return {"fw_cycles_per_req": (self.awake_ns - since.awake_ns) / clk / requests,
                "dma_wait_per_req": (self.dma_wait_ns - since.dma_wait_ns) / clk / requests,
                "bus_words_per_req": (self.bus_words - since.bus_words) / requests,
                "compute_per_req": (self.compute - since.compute) / requests,
                "dmas_per_req": (self.dmas - since.dmas) / requests,
                "wakes_per_req": (self.wakes - since.wakes) / requests,
                "waits_per_req": (self.waits - since.waits) / requests,
                "steps_per_req": (self.steps - since.steps) / requests,
                "sleeps_per_req": (self.sleeps - since.sleeps) / requests,
                "waits_slept_per_req": (self.waits_slept - since.waits_slept) / requests}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


VENTILES = tuple(round(k / 20, 2) for k in range(1, 20))       # 0.05 .. 0.95


def ventiles(values: list[float]) -> str:
    """LoadRow.ventiles_ns of `values`: each of VENTILES as percentile() takes it."""
    return ";".join(f"{percentile(values, q):.6g}" for q in VENTILES)


def bottleneck(fw_busy: float, util: float, cpu_path: float = 0.0, dma_wait_share: float = 0.0) -> str:
    """The part that limits: device memory when most frames found it full, the firmware
    when it is busy nearly all the time (`fw DMA wait` when most of that time it waits for
    its own DMAs: it does not overlap one batch's transfers with the next batch's work;
    `fw work` when it computes and uses the local bus), the link when its payload share is
    high, else the round trip (too few requests in flight to hide it)."""
    if cpu_path >= 0.5:
        return "device memory"
    if fw_busy >= FW_BOUND:
        return "fw DMA wait" if dma_wait_share >= 0.5 else "fw work"
    if util >= LINK_BOUND:
        return "link"
    return "latency"


async def dma_read_share(tb, length: int = layout.DMA_MAX_LENGTH) -> tuple[float, float]:
    """One DMA read of `length` bytes of host memory into device memory (the engine alone,
    no ring): (ns from the descriptor's submission to its result read by the firmware, that
    rate as a share of the link's payload capacity)."""
    await tb.cpu.enable_interrupts(layout.IntSource.DMA_DONE)
    host = tb.alloc_host(length)
    t0 = tb.now_ns()
    result = await tb.cpu.dma(host, 0, length, layout.DmaDir.READ)
    ns = tb.now_ns() - t0
    if result != layout.DmaResult.OK:
        raise AssertionError(f"DMA read of {length} bytes: {result.name}")
    return ns, length * 8 / ns / completion_capacity_gbps(profile=tb.profile)


async def closed_loop(tb, net: NetDriver, mode: str, size: int, depth: int, requests: int,
                      latencies: str, backend=None, backs: list[float] | None = None) -> LoadRow:
    """`depth` frames in flight; the first `depth` to come back are the warm-up, the next
    `requests` are measured. Every frame is checked byte for byte. `backend`: the device's
    net loopback, to count frames that took the CPU path; `backs`, if given, gets each
    frame's time back with the host (ns), in order (make trace)."""
    frame = bytes((i * 13 + size + depth) & 0xFF for i in range(size))
    sent_at: deque[float] = deque()
    latency_ns: list[float] = []
    await net.fill_rx(depth)
    for _ in range(depth):
        sent_at.append(tb.now_ns())
        await net.send(frame)
    total, done = depth + requests, 0
    mark = t0 = cpu0 = None
    while done < total:
        got = await net.receive(1, timeout_ns=LOOPBACK_TIMEOUT_NS)
        assert got == [frame], f"{mode} {size} B depth {depth}: frame {done} came back different"
        await net.reap_tx(1, timeout_ns=LOOPBACK_TIMEOUT_NS)
        done += 1
        if backs is not None:
            backs.append(tb.now_ns())
        if done > depth:
            latency_ns.append(tb.now_ns() - sent_at.popleft())
        else:
            sent_at.popleft()
        if done == depth:                   # warm-up over: the window starts
            mark, t0, cpu0 = tb.tlps.mark(), tb.now_ns(), CpuCounters.of(tb.cpu, backend)
            wall0 = time.monotonic()
            full0 = memory_full(backend)
        if done + len(sent_at) < total:
            await net.fill_rx(1)
            sent_at.append(tb.now_ns())
            await net.send(frame)
    window_ns = tb.now_ns() - t0
    wall_s = time.monotonic() - wall0
    recs = tb.tlps.since(mark)
    cpu1 = CpuCounters.of(tb.cpu, backend)
    await firmware_asleep(tb)
    counts = per_request(tb, recs, 0)
    req_per_s = requests / window_ns * 1e9
    gbps = size * 8 * req_per_s / 1e9
    cap_h2d, cap_d2h = completion_capacity_gbps(profile=tb.profile), payload_capacity_gbps(profile=tb.profile)
    util = max(gbps / cap_h2d, gbps / cap_d2h)
    fw_busy = min(1.0, (cpu1.awake_ns - cpu0.awake_ns) / window_ns)
    cpu_path = min(1.0, (memory_full(backend) - full0) / requests)
    budget = cpu1.per_request(cpu0, requests)
    wait_share = budget["dma_wait_per_req"] / budget["fw_cycles_per_req"] if budget["fw_cycles_per_req"] else 0.0
    return LoadRow(mode, size, depth, latencies, req_per_s, gbps, gbps, gbps / cap_h2d, gbps / cap_d2h, fw_busy,
                   counts["msis"] / requests, counts["doorbells"] / requests,
                   statistics.median(latency_ns), percentile(latency_ns, 0.99),
                   bottleneck(fw_busy, util, cpu_path, wait_share), cpu_path, requests, **budget,
                   profile=tb.profile.name, wall_s=wall_s, ventiles_ns=ventiles(latency_ns))
