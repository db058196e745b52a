"""Linux's virtio_ring.c against the device's ring code and the firmware's service loop, in
process and without a simulator: seconds per run, so thousands of requests and many
interleavings of the driver and the device.

The driver side is the kernel's ring code (KernelQueue, as in the RTL tests) under the
project's net, block and entropy drivers and a burst driver that keeps many requests in
flight; the device side is the firmware's own ring code (rings/split.py, rings/packed.py)
and device back ends (firmware/backends.py), reading and writing the same DMA area by bus
address. A seeded scheduler lets the device and the driver interleave at every memory
access of the device (the kernel's operations are each atomic, as on one CPU), so the
device finishes a batch while the driver adds, and publishes while the driver re-enables
callbacks. Checked: data byte for byte, nothing lost or duplicated, the kernel never marks
a ring broken, and no queue stalls: a request not used within a bound fails the run naming
the queue and its ring indices.

LINUX_RING_REQUESTS sets requests per configuration and LINUX_RING_SEEDS the scheduler's
seeds (long runs outside CI). With event index, the device must look at the ring again
after re-enabling notifications (firmware DeviceQueue.publish): before that was fixed,
seeds 2 and 3 stalled a split ring here (a TX chain added while the device published got
no doorbell).
"""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from virtio_ep.devices import DEVICES, bit
from virtio_ep.firmware.backends import backend_for
from virtio_ep.firmware.datapath import DeviceQueue
from virtio_ep.host.kernel_queue import KernelQueue
from virtio_ep.host.pcie_host import HostTimeout
from virtio_ep.host.virtio_core import QueueConfig
from virtio_ep.host.virtio_drivers import NetDriver
from virtio_ep.layout import ASYNC_DOORBELL_QUEUE0, NET_TX_QUEUE, QueueMode, VirtioFeature, mode_by_name
from virtio_ep.linux.ring import DmaArea, LinuxRing
from virtio_ep.rings.packed import PackedDevice, PackedRing
from virtio_ep.rings.split import SplitDevice, SplitRing
from virtio_ep.scenarios.bring_up import linux_features
from virtio_ep.scenarios.exercise import exercise, exercise_net_bursts

REQUESTS = int(os.environ.get("LINUX_RING_REQUESTS", "400"))
SEEDS = [int(s) for s in os.environ.get("LINUX_RING_SEEDS", "1,2,3").split(",")]
QUEUE_SIZE = 32
STALL_SECONDS = 2.0             # a wait this long with nothing left to run is a stall


class AreaMemory:
    """Host memory as the device reaches it: bus addresses in the DMA area. Every access
    may hand the CPU to the driver first (the scheduler's seeded choice)."""

    def __init__(self, area: DmaArea, rng: random.Random, switch: float):
        self.area, self.rng, self.switch = area, rng, switch

    async def _maybe_yield(self) -> None:
        while self.rng.random() < self.switch:
            await asyncio.sleep(0)

    async def read(self, addr: int, length: int) -> bytes:
        await self._maybe_yield()
        return self.area.read(self.area.base + addr - self.area.bus, length)

    async def write(self, addr: int, data: bytes) -> None:
        await self._maybe_yield()
        self.area.write(self.area.base + addr - self.area.bus, data)


class InProcessQueue(DeviceQueue):
    """The firmware's device queue over the DMA area directly (no soft CPU, no DMA engine):
    the same ring code and back-end calls; an interrupt is a call to the host."""

    def __init__(self, host: "InProcessHost", cfg: QueueConfig, mem: AreaMemory, event_idx: bool):
        self.host, self.index, self.mode, self.msi_vector, self.mem = host, cfg.index, cfg.mode, cfg.msi_vector, mem
        ring = (SplitRing if cfg.mode == QueueMode.SPLIT else PackedRing)(cfg.desc, cfg.driver, cfg.device, cfg.size)
        self.ring = SplitDevice(ring, mem, event_idx) if cfg.mode == QueueMode.SPLIT else PackedDevice(ring, mem)
        self.requests, self.batch, self.taken, self.completed = 0, False, [], []
        self.batches = self.batch_chains = 0

    async def interrupt(self) -> None:
        self.host.interrupt(self.msi_vector)


class InProcessHost:
    """What KernelQueue needs of a host: doorbells (they wake the device task) and MSIs
    (the device's interrupts); time is the event loop's."""

    def __init__(self):
        self.counts: dict[int, int] = {}
        self.changed = asyncio.Event()
        self.doorbells: asyncio.Queue[int] = asyncio.Queue()

    async def ring_doorbell(self, slot: int, value: int) -> None:
        self.doorbells.put_nowait(slot - ASYNC_DOORBELL_QUEUE0)
        await asyncio.sleep(0)

    def interrupt(self, vector: int) -> None:
        self.counts[vector] = self.counts.get(vector, 0) + 1
        self.changed.set()

    def msi_count(self, vector: int) -> int:
        return self.counts.get(vector, 0)

    async def wait_msi(self, vector: int, count: int, timeout_ns: int = 0) -> float:
        while self.msi_count(vector) < count:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), STALL_SECONDS)
            except asyncio.TimeoutError:
                raise HostTimeout(f"no MSI {vector} for {STALL_SECONDS} s with nothing else to run") from None
        return self.now_ns()

    @staticmethod
    def now_ns() -> float:
        return asyncio.get_running_loop().time() * 1e9


def ring_state(dq: InProcessQueue, kq: KernelQueue) -> str:
    """Both sides' view of the ring, for a stall report."""
    device = f"device last_avail {dq.ring.last_avail}" if isinstance(dq.ring, SplitDevice) else \
        f"device next {dq.ring.next_avail}"
    return f"{kq.indices()}, {device}, driver in flight {len(kq.inflight)}"


async def device_task(host: InProcessHost, backend, dqs: dict[int, InProcessQueue]) -> None:
    """The firmware's service loop: each doorbell runs the back end on its queue; a queue
    left with work (its budget spent) goes to the back of the line."""
    while True:
        q = await host.doorbells.get()
        if await backend.on_notify(dqs[q], dqs):
            host.doorbells.put_nowait(q)


async def run(device: str, mode: QueueMode, event_idx: bool, indirect: bool, seed: int, requests: int) -> dict:
    rng = random.Random(seed)
    area = DmaArea(8 << 20)
    kernel = LinuxRing(area)
    dev = DEVICES[device]()
    features = linux_features(dev.features, mode, event_idx, indirect) & dev.features
    assert features & bit(VirtioFeature.ACCESS_PLATFORM)
    host = InProcessHost()
    mem = AreaMemory(area, rng, switch=0.3)
    kdev = kernel.device(features)
    kqs, dqs = {}, {}
    for q in range(dev.num_queues):
        vq = kernel.queue(features, q, QUEUE_SIZE, device=kdev)
        cfg = QueueConfig(q, QUEUE_SIZE, *vq.areas(), msi_vector=1 + q, mode=mode)
        kqs[q] = KernelQueue(host, cfg, vq, kernel, delayed_cb=device == "net" and q == NET_TX_QUEUE)
        dqs[q] = InProcessQueue(host, cfg, mem, bool(features & bit(VirtioFeature.EVENT_IDX)))
        if mode == QueueMode.PACKED:
            await dqs[q].ring.init()
        await kqs[q].init()
    backend = backend_for(dev)
    device_runs = asyncio.ensure_future(device_task(host, backend, dqs))
    try:
        if device == "net":
            await exercise_net_bursts(NetDriver(kqs, rx_buf=1600), backend, requests, rng, QUEUE_SIZE)
        else:
            await exercise(device, kqs, backend, requests, rng, {})
    except HostTimeout as exc:
        raise AssertionError(f"{device} {mode.name} event_idx={event_idx} indirect={indirect} seed {seed}: "
                             f"{exc}; " + "; ".join(f"queue {q}: {ring_state(dqs[q], kqs[q])}" for q in kqs))
    finally:
        device_runs.cancel()
    assert not any(kq.vq.is_broken() for kq in kqs.values())
    return {q: (kq.added, kq.used, kq.notifications, host.msi_count(1 + q)) for q, kq in kqs.items()}


CONFIGS = [(d, m, e, i) for d in ("net", "block", "entropy") for m in ("split", "packed")
           for e in (False, True) for i in (False, True)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("device,mode,event_idx,indirect", CONFIGS)
def test_linux_ring_in_process(device: str, mode: str, event_idx: bool, indirect: bool, seed: int) -> None:
    counts = asyncio.run(run(device, mode_by_name(mode), event_idx, indirect, seed, REQUESTS))
    print(device, mode, event_idx, indirect, seed, counts)
