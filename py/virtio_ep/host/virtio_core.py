"""Transport-independent virtio driver core: the probe sequence every transport runs.

A Transport moves identity, features, status, queue setup and config between the
driver and the device; `virtio_probe` is the device initialization of virtio 1.2, 3.1.1,
written once for all transports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Protocol

from ..layout import PUSH_RING_SLOTS, QueueMode, VirtioDeviceId, VirtioFeature, ring_area_sizes


class TransportError(Exception):
    """The transport reported an error; `code` is the transport's own code where it has one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class FeaturesRefused(TransportError):
    pass


class TransportTimeout(TransportError, TimeoutError):
    pass


class DeviceNeedsReset(TransportError):
    def __init__(self, reason: int, message: str):
        super().__init__(message, reason)
        self.reason = reason


@dataclass(frozen=True)
class DeviceInfo:
    device_id: VirtioDeviceId
    features: int
    num_queues: int
    max_queue_size: int
    config_len: int


@dataclass
class QueueConfig:
    index: int
    size: int
    desc: int = 0                      # addresses (transports with driver-allocated rings)
    driver: int = 0
    device: int = 0
    msi_vector: int = 0
    mode: QueueMode = QueueMode.SPLIT
    notify_slot: int | None = None     # doorbell slot, where the transport reports one


class Transport(ABC):
    name: str = "?"

    @abstractmethod
    async def discover(self) -> DeviceInfo: ...

    @abstractmethod
    async def reset(self) -> None: ...

    @abstractmethod
    async def set_features(self, features: int) -> None:
        """Write the driver features and set FEATURES_OK; raise FeaturesRefused if refused."""

    @abstractmethod
    async def setup_queues(self, queues: list[QueueConfig]) -> list[QueueConfig]:
        """Configure and enable queues; return them as the device placed them."""

    @abstractmethod
    async def driver_ok(self) -> None: ...

    @abstractmethod
    async def read_config(self, length: int) -> bytes: ...


class OpRecorder(Protocol):
    """Measures one named operation (TLPs, cycles); the test bench provides it."""

    def op(self, name: str): ...


class _NoRecorder:
    @asynccontextmanager
    async def op(self, name: str) -> AsyncIterator[None]:
        yield


@dataclass
class ProbeResult:
    info: DeviceInfo
    features: int
    queues: list[QueueConfig]
    config: bytes
    errors: list[str] = field(default_factory=list)


RingAreas = Callable[[int, int, QueueMode, int], tuple[int, int, int]]


async def virtio_probe(transport: Transport, wanted_features: int, alloc, recorder: OpRecorder | None = None,
                       queue_size: int | None = None, mode: QueueMode = QueueMode.SPLIT,
                       ring_areas: RingAreas | None = None) -> ProbeResult:
    """Initialize the device: discover, reset, negotiate, set up every queue, DRIVER_OK, read config.

    `alloc(nbytes) -> address` allocates host memory for driver-allocated rings, unless
    `ring_areas(queue, size, mode, features)` makes each ring and returns the addresses of its
    descriptor, driver and device areas (a driver whose ring code allocates its own rings).
    """
    rec = recorder or _NoRecorder()
    async with rec.op("discovery"):
        info = await transport.discover()
    async with rec.op("reset"):
        await transport.reset()
    features = info.features & wanted_features
    async with rec.op("features"):
        await transport.set_features(features)
    size = min(queue_size or info.max_queue_size, info.max_queue_size)
    if mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
        size = min(size, PUSH_RING_SLOTS)
    queues = []
    desc_len, driver_len, device_len = ring_area_sizes(mode, size)
    for q in range(info.num_queues):
        if ring_areas is not None:
            areas = list(ring_areas(q, size, mode, features))
        else:   # push: the ring is the device's (in BAR0); only the used ring is in host memory
            areas = [alloc(n) if n else 0 for n in (desc_len, driver_len, device_len)]
        queues.append(QueueConfig(q, size, *areas, msi_vector=1 + q, mode=mode))
    async with rec.op("queue setup"):
        queues = await transport.setup_queues(queues)
    async with rec.op("driver ok"):
        await transport.driver_ok()
    async with rec.op("read config"):
        config = await transport.read_config(info.config_len)
    return ProbeResult(info, features, queues, config)


# Asked for only when a run asks (BEST_FEATURES, or a test's extra features): Linux 6.1's
# virtio_ring knows neither (notification data came in 6.4, in-order later). EVENT_IDX is
# asked by default, as Linux accepts it whenever a device offers it (vring_transport_features).
OPT_IN_FEATURES = (1 << VirtioFeature.IN_ORDER) | (1 << VirtioFeature.NOTIFICATION_DATA)
# standard virtio at its best on hardware: notification data, in-order, event index
BEST_FEATURES = OPT_IN_FEATURES | (1 << VirtioFeature.EVENT_IDX)


def default_driver_features() -> int:
    """What our driver understands and asks for by default: everything the device classes
    offer here but the opt-in features."""
    return (1 << 128) - 1 & ~OPT_IN_FEATURES
