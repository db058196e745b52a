"""Throughput under load (`make bench load`): the net loopback driven closed-loop with
`depth` frames in flight (a frame is sent again as soon as one comes back), measured in
steady state: requests per second, payload Gb/s each way and its share of the link's
payload capacity, firmware busy share, MSIs and doorbells per request, latency p50/p99,
and which part limits."""

from __future__ import annotations

import json
import statistics
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import layout, timing
from ..host.virtio_drivers import NetDriver
from .datapath import LOOPBACK_TIMEOUT_NS, firmware_asleep, per_request

LOAD_COLUMNS = ("mode", "payload", "depth", "latencies", "req_per_s", "gbps_h2d", "gbps_d2h", "util_h2d",
                "util_d2h", "fw_busy", "msis_per_req", "p50_ns", "p99_ns", "bottleneck", "doorbells_per_req",
                "cpu_path")
# TX and RX queues of this size: a TX frame takes 2 descriptors (header, payload), a push
# ring has PUSH_RING_SLOTS slots
LOAD_QUEUE_SIZE = 128
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

    def append(self, path: str | Path) -> None:
        with open(path, "a") as f:
            f.write(json.dumps(asdict(self)) + "\n")

    @staticmethod
    def read(path: str | Path) -> list["LoadRow"]:
        return [LoadRow(**json.loads(line)) for line in Path(path).read_text().splitlines() if line.strip()]


def max_depth(mode: str = "split") -> int:
    """The most frames in flight the queues hold in `mode` (a TX frame is two descriptors or
    slots; a self-doorbelling push ring keeps one slot free)."""
    if mode.startswith("push"):
        return (min(LOAD_QUEUE_SIZE, layout.PUSH_RING_SLOTS) - (mode == "push_self")) // 2
    return LOAD_QUEUE_SIZE // 2


def payload_capacity_gbps(link: timing.Link = timing.Link()) -> float:
    """The link's payload capacity each way: the line rate after encoding, less a TLP's
    header (4 DW, 64-bit addresses) and framing per max-payload TLP."""
    per_tlp = link.max_payload + link.rq_descriptor_bytes + link.framing_bytes
    return link.bytes_per_cycle * layout.USER_CLK_HZ * 8 / 1e9 * link.max_payload / per_tlp


def memory_full(backend) -> int:
    """Frames the net loopback found no device memory for: held until deliveries made room,
    or copied through the CPU."""
    return getattr(backend, "cpu_frames", 0) + getattr(backend, "held_frames", 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bottleneck(fw_busy: float, util: float, cpu_path: float = 0.0) -> str:
    """The part that limits: device memory when most frames found it full (the CPU copied
    them), the firmware when it is busy nearly all the time, the link when its payload share
    is high, else the round trip (too few requests in flight to hide it)."""
    if cpu_path >= 0.5:
        return "device memory"
    if fw_busy >= FW_BOUND:
        return "firmware"
    if util >= LINK_BOUND:
        return "link"
    return "latency"


async def closed_loop(tb, net: NetDriver, mode: str, size: int, depth: int, requests: int,
                      latencies: str, backend=None) -> LoadRow:
    """`depth` frames in flight; the first `depth` to come back are the warm-up, the next
    `requests` are measured. Every frame is checked byte for byte. `backend`: the device's
    net loopback, to count frames that took the CPU path."""
    frame = bytes((i * 13 + size + depth) & 0xFF for i in range(size))
    sent_at: deque[float] = deque()
    latency_ns: list[float] = []
    await net.fill_rx(depth)
    for _ in range(depth):
        sent_at.append(tb.now_ns())
        await net.send(frame)
    total, done = depth + requests, 0
    mark = t0 = awake0 = None
    while done < total:
        got = await net.receive(1, timeout_ns=LOOPBACK_TIMEOUT_NS)
        assert got == [frame], f"{mode} {size} B depth {depth}: frame {done} came back different"
        await net.reap_tx(1, timeout_ns=LOOPBACK_TIMEOUT_NS)
        done += 1
        if done > depth:
            latency_ns.append(tb.now_ns() - sent_at.popleft())
        else:
            sent_at.popleft()
        if done == depth:                   # warm-up over: the window starts
            mark, t0, awake0 = tb.tlps.mark(), tb.now_ns(), tb.cpu.awake_ns
            full0 = memory_full(backend)
        if done + len(sent_at) < total:
            await net.fill_rx(1)
            sent_at.append(tb.now_ns())
            await net.send(frame)
    window_ns = tb.now_ns() - t0
    recs = tb.tlps.since(mark)
    await firmware_asleep(tb)
    counts = per_request(tb, recs, 0)
    req_per_s = requests / window_ns * 1e9
    gbps = size * 8 * req_per_s / 1e9
    cap = payload_capacity_gbps()
    fw_busy = min(1.0, (tb.cpu.awake_ns - awake0) / window_ns)
    cpu_path = min(1.0, (memory_full(backend) - full0) / requests)
    return LoadRow(mode, size, depth, latencies, req_per_s, gbps, gbps, gbps / cap, gbps / cap, fw_busy,
                   counts["msis"] / requests, counts["doorbells"] / requests,
                   statistics.median(latency_ns), percentile(latency_ns, 0.99),
                   bottleneck(fw_busy, gbps / cap, cpu_path), cpu_path, requests)
