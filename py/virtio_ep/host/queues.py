"""Host side of the data path: the driver's half of each queue, in split or push mode.

Driver memory is the host's own RAM (the root complex model's memory pool): the driver
touches it directly, with no PCIe traffic. Push rings are written through BAR0.
"""

from __future__ import annotations

from ..layout import (ASYNC_DOORBELL_QUEUE0, BAR_SRAM, PACKED_WRAP_SHIFT, PUSH_RING_AREA, PUSH_RING_STRIDE, QueueMode,
                      VirtioFeature, notify_value)
from ..rings.packed import PackedDriver, PackedRing
from ..rings.push import PushDriver, PushRing
from ..rings.split import SplitDriver, SplitRing
from .pcie_host import HostPcie
from .virtio_core import QueueConfig


class HostMemory:
    """The host's RAM as the driver sees it (no TLPs)."""

    def __init__(self, rc):
        self.space = rc.mem_address_space

    async def read(self, addr: int, length: int) -> bytes:
        return bytes(await self.space.read(addr, length))

    async def write(self, addr: int, data: bytes) -> None:
        await self.space.write(addr, data)


class BarMemory:
    """BAR0 as memory (rings the device placed there): posted writes, non-posted reads."""

    def __init__(self, host: HostPcie):
        self.host = host

    async def read(self, addr: int, length: int) -> bytes:
        return await self.host.read(BAR_SRAM, addr, length)

    async def write(self, addr: int, data: bytes) -> None:
        await self.host.write(BAR_SRAM, addr, data)


class BufferPool:
    """Wrap-around allocator of driver buffers in one host memory region (requests complete
    in order, so a buffer is free again by the time the pool wraps to it)."""

    def __init__(self, alloc, size: int = 1 << 20):
        self.base = alloc(size)
        self.size = size
        self.next = 0

    def take(self, length: int, align: int = 64) -> int:
        length = (length + align - 1) & ~(align - 1)
        if self.next + length > self.size:
            self.next = 0
        addr = self.base + self.next
        self.next += length
        return addr


class DriverQueue:
    def __init__(self, host: HostPcie, cfg: QueueConfig, mem: HostMemory, pool: BufferPool,
                 ring_mem=None, indirect: bool = False, notify=None, features: int = 0):
        """`ring_mem`: where the ring lives if not in host RAM (BarMemory: device-placed).
        `notify(queue, value)`: how a kick reaches the device, if not by its doorbell slot
        (the mailbox transport sends a command). `features`: the negotiated features;
        EVENT_IDX, IN_ORDER and NOTIFICATION_DATA there shape the ring and the kick."""
        self.host = host
        self.notify = notify
        self.cfg = cfg
        self.mem = mem
        self.pool = pool
        self.mode = cfg.mode
        self.msi_seen = 0
        self.collected: list[tuple[int, int]] = []     # used entries read, not yet returned
        self.inbufs: dict[int, list[tuple[int, int]]] = {}
        event_idx = bool(features >> VirtioFeature.EVENT_IDX & 1)
        in_order = bool(features >> VirtioFeature.IN_ORDER & 1)
        self.notification_data = bool(features >> VirtioFeature.NOTIFICATION_DATA & 1)
        if cfg.mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
            ring = PushRing(PUSH_RING_AREA + PUSH_RING_STRIDE * cfg.index, cfg.size, cfg.device)
            self.ring = PushDriver(ring, self._bar_write, mem, self_doorbell=cfg.mode == QueueMode.PUSH_SELF)
        elif cfg.mode == QueueMode.PACKED:
            self.ring = PackedDriver(PackedRing(cfg.desc, cfg.driver, cfg.device, cfg.size), ring_mem or mem,
                                     event_idx=event_idx, in_order=in_order)
        else:
            self.ring = SplitDriver(SplitRing(cfg.desc, cfg.driver, cfg.device, cfg.size), ring_mem or mem, event_idx,
                                    in_order=in_order)
        self.indirect = indirect and cfg.mode == QueueMode.SPLIT

    @property
    def room(self) -> int:
        """Descriptors (or push slots) free in the driver's ring."""
        ring = self.ring
        if isinstance(ring, PushDriver):
            return ring.free_slots
        if isinstance(ring, PackedDriver):
            return ring.free
        return len(ring.free)

    async def _bar_write(self, offset: int, data: bytes) -> None:
        await self.host.write(BAR_SRAM, offset, data)

    async def init(self) -> None:
        await self.ring.init()
        self.msi_seen = self.host.msi_count(self.cfg.msi_vector)

    async def add(self, out: list[bytes], inb: list[int]) -> int:
        """Queue one request: device-readable payloads and device-writable buffer sizes."""
        inbufs = [(self.pool.take(n), n) for n in inb]
        if self.mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
            items = []
            for data in out:
                if len(data) <= self.ring.inline_max:
                    items.append(data)
                else:
                    addr = self.pool.take(len(data))
                    await self.mem.write(addr, data)
                    items.append((addr, len(data)))
            buf_id = await self.ring.add(items, inbufs)
        else:
            bufs = []
            for data in out:
                addr = self.pool.take(len(data))
                await self.mem.write(addr, data)
                bufs.append((addr, len(data), False))
            chain = bufs + [(a, n, True) for a, n in inbufs]
            if self.indirect and len(chain) > 1:
                buf_id = await self.ring.add(chain, indirect_table=self.pool.take(16 * len(chain)))
            else:
                buf_id = await self.ring.add(chain)
        self.inbufs[buf_id] = inbufs
        return buf_id

    async def read_in(self, buf_id: int, length: int) -> bytes:
        """The first `length` bytes the device wrote into the request's writable buffers."""
        out = bytearray()
        for addr, n in self.inbufs.pop(buf_id):
            take = min(n, length - len(out))
            if take > 0:
                out += await self.mem.read(addr, take)
        return bytes(out)

    async def kick(self) -> None:
        if self.mode == QueueMode.PUSH_SELF:
            return                          # the ring writes were the notification
        if self.mode == QueueMode.PUSH:
            await self.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + self.cfg.index, self.ring.producer())
        elif await self.ring.publish():
            if self.mode == QueueMode.SPLIT:
                value = self.ring.avail_idx
            else:
                value = self.ring.next_avail | (self.ring.avail_wrap << PACKED_WRAP_SHIFT if self.notification_data else 0)
            if self.notification_data:      # vqn and the ring's next position (virtio 1.2, 4.1.5.2)
                value = notify_value(self.cfg.index, value)
            if self.notify is not None:
                await self.notify(self.cfg.index, value)
            else:
                await self.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + self.cfg.index, value)

    async def wait_used(self, count: int, timeout_ns: int) -> list[tuple[int, int]]:
        """Sleep on the queue's MSI until `count` requests are used; return (id, length).
        Entries collected before a timeout are kept for the next call: none is lost."""
        deadline = self.host.now_ns() + timeout_ns
        while True:
            more = await self.ring.used()           # with the event index, re-arms used_event
            self.collected += more
            if len(self.collected) >= count:
                got, self.collected = self.collected[:count], self.collected[count:]
                return got
            if more:
                # used_event moved after used.idx was read: a completion published in
                # between saw the old event and sent no MSI. Look again before sleeping
                # (Linux: virtqueue_enable_cb polls the ring after re-enabling).
                continue
            await self.host.wait_msi(self.cfg.msi_vector, self.msi_seen + 1, max(deadline - self.host.now_ns(), 0))
            self.msi_seen = self.host.msi_count(self.cfg.msi_vector)
