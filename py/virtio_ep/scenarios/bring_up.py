"""The one bring-up: a registered transport's firmware started on the bench's soft CPU,
its driver probing the device, and the driver's queues ready in a ring mode. The demo,
the benches, the report, the tests and the pyuvm environment all start a device here."""

from __future__ import annotations

from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import SimTimeoutError, Timer, with_timeout

from ..devices import DEVICES, VirtioDevice
from ..host.queues import BarMemory, BufferPool, DriverQueue, HostMemory
from ..host.virtio_core import ProbeResult, RingAreas, Transport, default_driver_features, virtio_probe
from ..devices import bit
from ..host.kernel_queue import KernelQueue
from ..layout import NET_TX_QUEUE, QueueMode, VirtioDeviceId, VirtioFeature, VirtioStatus
from ..linux.ring import ABOVE_4G, BELOW_4G, KernelVirtqueue, LinuxRing
from ..transports import Options, TransportSpec, transport

PUBLISH_TIMEOUT_NS = 50_000         # firmware start to its transport published
APPLIED_TIMEOUT_NS = 100_000        # unacknowledged transports: the device applies DRIVER_OK


@dataclass
class Bench:
    """A running device and its driver: what bring_up returns and probe refreshes."""

    tb: object
    spec: TransportSpec
    opts: Options
    fw: object
    task: object
    driver: Transport
    queues: dict[int, DriverQueue] = field(default_factory=dict)
    probe: ProbeResult | None = None

    async def stop(self) -> None:
        self.fw.stop.set()
        await self.task


async def start_firmware(tb, spec: TransportSpec, device: VirtioDevice, opts: Options = Options()) -> tuple[object, object]:
    """Start the transport's firmware; return it and its task once it has published."""
    fw = spec.make_firmware(tb.cpu, device, tb.params, opts)
    task = cocotb.start_soon(fw.run())
    try:
        await with_timeout(fw.published.wait(), PUBLISH_TIMEOUT_NS, "ns")
    except SimTimeoutError:
        raise AssertionError(f"{spec.name} firmware did not publish within {PUBLISH_TIMEOUT_NS} ns") from None
    return fw, task


async def wait_driver_ok_applied(tb, fw, timeout_ns: int = APPLIED_TIMEOUT_NS, step=lambda: Timer(100, "ns")) -> float:
    """A transport without acknowledgement: the bench watches the firmware until the device
    applied DRIVER_OK (its driver has no way to know; the endpoint CPU may wake late),
    sampling after each `step()`; returns the time it was seen."""
    deadline = tb.now_ns() + timeout_ns + tb.latencies.firmware_wake_ns
    while not fw.status & VirtioStatus.DRIVER_OK:
        if tb.now_ns() > deadline:
            raise AssertionError(f"the firmware did not apply DRIVER_OK within {timeout_ns} ns")
        await step()
    return tb.now_ns()


def command_kick(driver):
    """A queue notification sent as a transport command (the mailbox), not a doorbell."""
    async def notify(queue: int, value: int) -> None:
        await driver.kick(queue)
    return notify


DRIVERS = ("project", "linux")      # the project's ring code, or Linux's virtio_ring.c


async def probe(bench: Bench, mode: QueueMode = QueueMode.SPLIT, queue_size: int | None = 64,
                extra_features: int = 0, pool_bytes: int = 1 << 20, driver: str = "project",
                event_idx: bool = True, indirect: bool = False, high_area: bool = False) -> dict[int, object]:
    """Probe (reset, negotiate, set up every queue in `mode`, DRIVER_OK) and make the driver's
    queues ready. `extra_features` are asked on top of the driver's defaults and must be
    granted. `event_idx`: EVENT_IDX asked, as Linux asks it whenever a device offers it
    (False: a driver that does not know it). `driver`: the project's ring code (DriverQueue,
    `indirect` a queue option; one buffer pool kept across probes, as a real driver keeps its
    memory) or Linux's (KernelQueue: event index and indirect descriptors negotiated as
    features, rings and buffers in the DMA area, placed above 4 GiB with `high_area`)."""
    tb, spec = bench.tb, bench.spec
    if mode not in spec.modes:
        raise ValueError(f"{spec.name} sets up {[m.name for m in spec.modes] or 'no data path'}, not {mode.name}")
    if driver not in DRIVERS:
        raise ValueError(f"driver {driver!r}: use one of {', '.join(DRIVERS)}")
    if not event_idx and extra_features & bit(VirtioFeature.EVENT_IDX):
        raise ValueError("EVENT_IDX in extra_features with event_idx=False")
    defaults = default_driver_features()
    wanted = (defaults if event_idx else defaults & ~bit(VirtioFeature.EVENT_IDX)) | extra_features
    required = extra_features
    ring_areas = kernel = None
    vqs: dict[int, KernelVirtqueue] = {}
    if driver == "linux":
        wanted = linux_features(wanted, mode, event_idx, indirect)
        required |= linux_features(0, mode, event_idx, indirect)      # what Linux asks for must be granted
        kernel = tb.linux_ring(ABOVE_4G if high_area else BELOW_4G)
        ring_areas = kernel_rings(kernel, vqs)
    res = await virtio_probe(bench.driver, wanted, tb.alloc_host, queue_size=queue_size, mode=mode,
                             ring_areas=ring_areas)
    if res.features & required != required:
        raise AssertionError(f"device refused features {required & ~res.features:#x}")
    # a transport without acknowledgement gives the driver nothing to wait on: like a real
    # driver it posts requests at once, and the device must take them once it applies DRIVER_OK
    if driver == "linux":
        tx = NET_TX_QUEUE if bench.fw.dev.device_id == VirtioDeviceId.NET else None
        bench.queues = {q.index: KernelQueue(tb.host, q, vqs[q.index], kernel, delayed_cb=q.index == tx)
                        for q in res.queues}
    else:
        if tb.buffer_pool is None:
            tb.buffer_pool = BufferPool(tb.alloc_host, pool_bytes)
        mem = HostMemory(tb.rc)
        ring_mem = BarMemory(tb.host) if spec.rings_in_bar0 else None
        notify = command_kick(bench.driver) if spec.kicks_by_command else None
        bench.queues = {q.index: DriverQueue(tb.host, q, mem, tb.buffer_pool, ring_mem=ring_mem, notify=notify,
                                             indirect=indirect, features=res.features)
                        for q in res.queues}
    for q in bench.queues.values():
        await q.init()
    bench.probe = res
    return bench.queues


def kernel_rings(kernel: LinuxRing, vqs: dict[int, KernelVirtqueue]) -> RingAreas:
    """virtio_probe's ring maker for Linux's ring code: one virtio_device per probe with the
    negotiated features, each queue made by vring_create_virtqueue (its rings in the area)."""
    device: list[int] = []

    def ring_areas(q: int, size: int, mode: QueueMode, features: int) -> tuple[int, int, int]:
        if not device:
            device.append(kernel.device(features))
        vqs[q] = kernel.queue(features, q, size, device=device[0])
        return vqs[q].areas()
    return ring_areas


def linux_features(wanted: int, mode: QueueMode, event_idx: bool, indirect: bool) -> int:
    """What Linux's driver asks for: everything it understands that the device may offer,
    ACCESS_PLATFORM (so every address goes through its DMA API), event indices and indirect
    descriptors as chosen, packed rings only for the packed mode."""
    wanted |= bit(VirtioFeature.ACCESS_PLATFORM) | bit(VirtioFeature.VERSION_1)
    # Linux 6.1's virtio_ring knows neither (notification data came in 6.4, in-order later)
    wanted &= ~(bit(VirtioFeature.IN_ORDER) | bit(VirtioFeature.NOTIFICATION_DATA))
    for feature, on in ((VirtioFeature.EVENT_IDX, event_idx), (VirtioFeature.INDIRECT_DESC, indirect),
                        (VirtioFeature.RING_PACKED, mode == QueueMode.PACKED)):
        wanted = wanted | bit(feature) if on else wanted & ~bit(feature)
    return wanted


async def bring_up(tb, transport_name: str = "async", device: str | VirtioDevice = "net",
                   mode: QueueMode = QueueMode.SPLIT, opts: Options = Options(), **probe_opts) -> Bench:
    """Firmware of `transport_name` serving `device` (a DEVICES name or a device), probed by
    its driver with queues in `mode`; probe_opts as for `probe`."""
    spec = transport(transport_name)
    dev = DEVICES[device]() if isinstance(device, str) else device
    fw, task = await start_firmware(tb, spec, dev, opts)
    bench = Bench(tb, spec, opts, fw, task, spec.make_driver(tb.host, opts))
    await probe(bench, mode, **probe_opts)
    return bench
