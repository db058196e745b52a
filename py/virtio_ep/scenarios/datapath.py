"""The data-path measurement `make bench` and `make report` run, and the timing tests reuse:
a net loopback device with MTU 65535 behind any registered transport, one request (or a
burst) timed from the driver's first write to the frames being back, its TLPs counted by
kind at the root complex."""

from __future__ import annotations

import statistics

from cocotb.triggers import SimTimeoutError, Timer, with_timeout

from .. import layout, timing
from ..costs import OpCounts
from ..devices import net_device
from ..host.virtio_drivers import NetDriver
from ..layout import QueueMode, mode_name
from ..runconfig import ResultRow
from ..transports import Options
from .bring_up import Bench, bring_up

QUEUE_SIZE = 64
POOL_BYTES = 8 << 20                # driver buffers: room for the largest frames in flight
LOOPBACK_TIMEOUT_NS = 50_000_000


async def bench_net(tb, mode: QueueMode, rx_buf: int, transport: str = "async",
                    opts: Options = Options(), pool_bytes: int = POOL_BYTES,
                    queue_size: int = QUEUE_SIZE, extra_features: int = 0) -> tuple[Bench, NetDriver]:
    """The benchmark's set-up: a net device of MTU 65535 behind `transport`, probed with
    queues of `queue_size` in `mode` (and `extra_features` asked), RX buffers of `rx_buf`
    bytes, driver buffers from a wrap-around pool of `pool_bytes` (room for every frame in
    flight, both ways)."""
    bench = await bring_up(tb, transport, net_device(mtu=65535), mode, opts, queue_size=queue_size,
                           pool_bytes=pool_bytes, extra_features=extra_features)
    return bench, NetDriver(bench.queues, rx_buf=rx_buf)


async def timed_loopback(tb, net: NetDriver, frames: list[bytes], rx_ahead=None):
    """The benchmark's request: post one RX buffer per frame, send the frames back to back,
    wait until all are back and TX is reaped. Returns (cycles from the first send, the TLPs
    of the request, what the firmware did up to its last MSI request).

    `rx_ahead` (an RxAhead): RX buffers are posted ahead in batches instead, as Linux's
    virtio_net refills its receive ring, and the device has taken them before the clock
    starts (their descriptor reads are the refill's, counted there).

    The request starts with the firmware asleep: what it still did for the previous one
    (with the event index, a last look at the ring after its MSI) is not this one's."""
    await firmware_asleep(tb)
    if rx_ahead is None:
        await net.fill_rx(len(frames))
    else:
        rx_ahead.take(len(frames))
    mark, t0 = tb.tlps.mark(), tb.now_ns()
    tb.cpu.ops = OpCounts()
    for frame in frames:
        await net.send(frame)
    got = await net.receive(len(frames), timeout_ns=LOOPBACK_TIMEOUT_NS)
    await net.reap_tx(len(frames))
    ops, tb.cpu.ops = tb.cpu.ops, None
    assert got == frames, "frames came back different"
    assert ops.at_msi, "the firmware requested no MSI"
    return tb.cycles(t0, tb.now_ns()), tb.tlps.since(mark), ops.at_msi[-1]


class RxAhead:
    """RX buffers posted ahead, the way Linux 6.1's virtio_net refills its receive ring
    (virtnet_receive: try_fill_recv once more than half of the ring, and of its NAPI
    budget, is free): `batch` buffers at a time, each refill waited for until the device's
    prefetch has taken them (the firmware's queue state, observed, not driven). Keeps the
    device reads and time of refills apart (`refills`, `refill_reads`)."""

    POLL_NS = 200

    def __init__(self, tb, bench: Bench, net: NetDriver, batch: int, timeout_ns: int = 1_000_000):
        self.tb, self.bench, self.net, self.batch, self.timeout_ns = tb, bench, net, batch, timeout_ns
        self.posted = 0                     # buffers posted and not yet used by a request
        self.refills = self.refill_reads = self.refilled = 0
        self.reads_per_refill: list[int] = []

    def take(self, count: int) -> None:
        """`count` posted buffers go to a request."""
        if count > self.posted:
            raise AssertionError(f"{count} RX buffers wanted, {self.posted} posted ahead")
        self.posted -= count

    async def refill(self, need: int) -> None:
        """Post a batch if fewer than `need` buffers are posted, and wait until the device
        has taken it."""
        if self.posted >= need:
            return
        rxq = self.bench.fw.dq[self.net.rx.cfg.index]
        want = len(rxq.taken) + self.batch
        mark = self.tb.tlps.mark()
        await self.net.fill_rx(self.batch)
        deadline = self.tb.now_ns() + self.timeout_ns
        while len(rxq.taken) < want:
            if self.tb.now_ns() > deadline:
                raise AssertionError(f"the device did not take {self.batch} posted RX buffers within "
                                     f"{self.timeout_ns} ns (it holds {len(rxq.taken)} of {want})")
            await Timer(self.POLL_NS, "ns")
        await firmware_asleep(self.tb)
        self.reads_per_refill.append(sum(1 for r in self.tb.tlps.since(mark)
                                         if r.direction == "up" and r.kind == "mem_read"))
        self.refill_reads += self.reads_per_refill[-1]
        self.refills += 1
        self.refilled += self.batch
        self.posted += self.batch


def tlp_bytes(tlp) -> int:
    """Bytes on the link: header (3 or 4 dwords) plus payload."""
    header = 16 if tlp.address > 0xFFFF_FFFF or tlp.fmt_type.name.endswith("64") else 12
    return header + len(tlp.data)


def per_request(tb, recs, cycles: float) -> dict[str, float]:
    """TLPs of one request by kind and direction, bytes on the link, latency."""
    bar2 = tb.host.dev.bar_addr[layout.BAR_DOORBELL]
    msi_addr = tb.rc.msi_region.get_absolute_address(0)
    down_writes = [r for r in recs if r.direction == "down" and r.kind == "mem_write"]
    up_writes = [r for r in recs if r.direction == "up" and r.kind == "mem_write"]
    doorbells = sum(1 for r in down_writes if bar2 <= r.tlp.address < bar2 + layout.BAR2_SIZE)
    msis = sum(1 for r in up_writes if r.tlp.address == msi_addr)
    return {
        "host_reads": sum(1 for r in recs if r.direction == "down" and r.kind == "mem_read"),
        "host_writes": len(down_writes) - doorbells,
        "doorbells": doorbells,
        "device_reads": sum(1 for r in recs if r.direction == "up" and r.kind == "mem_read"),
        "device_writes": len(up_writes) - msis,
        "msis": msis,
        "link_bytes": sum(tlp_bytes(r.tlp) for r in recs),
        "latency_cycles": cycles,
    }


async def firmware_asleep(tb, timeout_ns: int = 100_000) -> None:
    """The firmware may still be finishing (interrupt exit) when the driver has its frame:
    its busy time is complete once it sleeps again."""
    try:
        await with_timeout(tb.cpu.asleep.wait(), timeout_ns, "ns")
    except SimTimeoutError:
        raise AssertionError(f"the firmware did not go back to sleep within {timeout_ns} ns") from None


async def measure_requests(tb, bench: Bench, net: NetDriver, mode: QueueMode, sizes, repeat: int,
                           latencies: str) -> list[ResultRow]:
    """One frame at a time per size, `repeat` times; the median of each figure per size.
    For the async transport the timing model's prediction goes with it, after checking that
    the firmware did the DMA transfers the model assumes."""
    rows = []
    # prefetching RX buffers: posted ahead in batches of half the ring (see RxAhead)
    rx_ahead = RxAhead(tb, bench, net, net.rx.cfg.size // 2) if bench.opts.prefetch else None
    for size in sizes:
        frame = bytes((i * 7 + size) & 0xFF for i in range(size))
        samples = []
        for _ in range(repeat):
            if rx_ahead is not None:
                await rx_ahead.refill(1)            # a refill, if due, before the clock starts
            stall0, awake0 = tb.host.mmio_read_ns, tb.cpu.awake_ns
            cycles, recs, ops = await timed_loopback(tb, net, [frame], rx_ahead)
            await firmware_asleep(tb)
            sample = per_request(tb, recs, cycles)
            sample["host_stall_ns"] = tb.host.mmio_read_ns - stall0
            sample["firmware_busy_ns"] = tb.cpu.awake_ns - awake0
            # the timing model describes the async firmware's scalar intake
            if bench.spec.name == "async" and not bench.opts.batch:
                model = timing.net_loopback_ops(mode_name(mode), size, tb.cpu.costs, tb.params.db_slots)
                assert ops.dma_groups == model.dma_groups, (ops.dma_groups, model.dma_groups)
                # under the run's host profile: its link, and its read jitter as a mean
                sample["predicted_cycles"] = timing.expected_request_latency(model, tb.latencies, tb.profile)
            samples.append(sample)
        medians = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
        rows.append(ResultRow("request", bench.spec.name, "net", mode_name(mode), size, latencies,
                              bench.spec.poll_cycles(bench.opts), **medians))
    return rows
