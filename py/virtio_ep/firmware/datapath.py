"""Device-side data path: the queues of an enabled device, in split or push mode, and the
memory views the firmware reaches host memory through (the DMA engine).

Split rings live in host memory: the device reads avail entries, descriptors and data with
DMA reads (non-posted). Push rings live in BAR0: the device reads slots through its SRAM
window (no PCIe traffic) and only writes to the host (posted).
"""

from __future__ import annotations

import logging

from ..layout import (DEVICE_MAX_READ, DMA_CHUNK, ASYNC_DOORBELL_QUEUE0, DB_WATCH_STRIDE, DB_WATCH_WINDOWS, PUSH_RING_AREA, PUSH_RING_STRIDE,
                      DbReg, DbWatch, DmaDir, DmaResult, PackedDesc, PushEntry, QueueMode, Region, SplitAvail,
                      VirtioFeature, notify_next)
from ..rings.memory import Chain, RingError
from ..rings.packed import PackedDevice, PackedRing, is_avail
from ..rings.push import PushDevice, PushRing
from ..rings.split import IDX_MASK, SplitDevice, SplitRing
from .batch import take_packed, take_push, take_split
from .device_memory import DevicePool, device_pool
from .soft_cpu import SoftCpu

SCRATCH = 0x0000                    # DMA buffer area for ring and data transfers
# DMA results that belong to one request's buffer: the others (bus mastering off, a refused
# descriptor) are the whole function's state or the firmware's fault
REQUEST_ERRORS = frozenset({DmaResult.UR, DmaResult.CA, DmaResult.POISONED, DmaResult.TIMEOUT,
                            DmaResult.COMPLETION_ERROR})


class DmaMemory:
    """Host memory as the firmware sees it: every access is a DMA descriptor through the
    buffer RAM (host and buffer addresses kept equal modulo 4).

    `read` and `write` copy through the CPU and wait for their DMA. `fetch` and `store`
    move payloads between host memory and device memory and only start their DMAs: they
    run side by side until `drain`, which every waited access does first, so a ring
    update never overtakes the payload it announces. A fetch or store given an `owner`
    (the request it belongs to) fails only that request when its DMA fails.

    While `posting` is set (and device memory is there), `write` posts: the bytes go to
    device memory of their own and the DMA is started, not waited for (`post`)."""

    def __init__(self, cpu: SoftCpu, scratch: int = SCRATCH):
        self.cpu = cpu
        self.scratch = scratch
        self.pool: DevicePool | None = None    # device memory, once the queue is initialised
        self.realigned_bytes = 0                # stored bytes the CPU had to shift (see device_memory)
        self.in_flight: list[tuple[int, str, object]] = []   # (tag, what, owner) started, not drained
        self.failed: set = set()                # owners whose DMAs failed, until drain returns them
        self.posting = False
        self.posted: list[int] = []             # device memory of posted writes, freed when drained

    async def read(self, addr: int, length: int) -> bytes:
        out = bytearray()
        for off in range(0, length, DMA_CHUNK):
            n = min(DMA_CHUNK, length - off)
            local = self.scratch + ((addr + off) & 3)
            await self._dma(addr + off, local, n, DmaDir.READ)
            out += await self.cpu.read_bytes(Region.DMA_BUF + local, n)
        return bytes(out)

    async def read_fields(self, addr: int, length: int, fields: list[tuple[int, int]]) -> list[bytes]:
        """One DMA read of `length` bytes at `addr`, of which the CPU copies out only the
        `fields` ((offset, size) into the span): a span read for one request costs the local
        bus only what is used."""
        if length > DMA_CHUNK:
            raise ValueError(f"read_fields: {length} bytes at 0x{addr:x}, above {DMA_CHUNK}")
        local = self.scratch + (addr & 3)
        await self._dma(addr, local, length, DmaDir.READ)
        return [await self.cpu.read_bytes(Region.DMA_BUF + local + off, n) for off, n in fields]

    async def read_many(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        """Host ranges read with their DMAs started together (one wait for a scratch area's
        worth), then copied through the CPU: scattered small reads cost one round trip."""
        await self._wait_started()
        out: list[bytes] = []
        k = 0
        while k < len(ranges):
            placed, local = [], self.scratch
            while k < len(ranges) and (not placed or local + 3 + ranges[k][1] <= self.scratch + DMA_CHUNK):
                addr, n = ranges[k]
                if n > DMA_CHUNK:
                    raise ValueError(f"read_many: {n} bytes at 0x{addr:x}, above {DMA_CHUNK}")
                local += (addr - local) % 4
                placed.append((addr, local, n, await self.cpu.dma_start(addr, local, n, DmaDir.READ)))
                local += n
                k += 1
            results = await self.cpu.dma_wait([tag for *_, tag in placed])
            for (addr, local, n, _), result in zip(placed, results):
                if result != DmaResult.OK:
                    raise RingError("dma_" + result.name.lower(), f"DMA read of {n} bytes at 0x{addr:x}: {result.name}")
                out.append(await self.cpu.read_bytes(Region.DMA_BUF + local, n))
        return out

    async def write(self, addr: int, data: bytes) -> None:
        if self.posting and await self.post(addr, data):
            return
        for off in range(0, len(data), DMA_CHUNK):
            piece = data[off:off + DMA_CHUNK]
            local = self.scratch + ((addr + off) & 3)
            await self.write_local(local, piece)
            await self._dma(addr + off, local, len(piece), DmaDir.WRITE)

    async def fetch(self, addr: int, local: int, length: int, owner=None) -> None:
        """Start moving host memory into device memory at `local` (equal to `addr` modulo 4):
        DMA only, done by the next `drain`."""
        if (local - addr) % 4:
            raise ValueError(f"device address 0x{local:x} and host address 0x{addr:x} differ modulo 4")
        for off in range(0, length, DMA_CHUNK):
            await self._start(addr + off, local + off, min(DMA_CHUNK, length - off), DmaDir.READ, owner)

    async def store(self, local: int, addr: int, length: int, owner=None) -> None:
        """Start moving device memory at `local` to host memory: DMA only when the two are
        equal modulo 4 (done by the next `drain`); otherwise the CPU shifts the bytes into the
        scratch area first (counted, and waited for)."""
        for off in range(0, length, DMA_CHUNK):
            n = min(DMA_CHUNK, length - off)
            if (local - addr) % 4 == 0:
                await self._start(addr + off, local + off, n, DmaDir.WRITE, owner)
            else:
                self.realigned_bytes += n
                await self.write(addr + off, await self.cpu.read_bytes(Region.DMA_BUF + local + off, n))

    async def post(self, addr: int, data: bytes) -> bool:
        """Start writing `data` to host memory from device memory of its own, without waiting:
        the engine's write queue is in order, so it lands after every write started before
        it and before every one started after (a waited access, `drain` and `ended` see its
        result). False, with nothing started, if device memory has no room for it now."""
        start = self.pool.alloc(len(data) + 3) if self.pool is not None and len(data) <= DMA_CHUNK else None
        if start is None:
            return False
        local = start + (addr - start) % 4
        await self.write_local(local, data)
        await self._start(addr, local, len(data), DmaDir.WRITE)
        self.posted.append(start)
        return True

    def ended(self) -> bool:
        """Whether every DMA started here has ended (its result reaped, not yet claimed)."""
        return all(self.cpu.dma_ended(tag) for tag, _, _ in self.in_flight)

    async def drain(self) -> set:
        """Wait for every DMA fetch and store started; return the owners whose DMAs failed
        (since the last drain) with an error of their own request: the host refused or
        poisoned the access, or never answered it. A failure without an owner, or one of the
        whole function (bus mastering off, a descriptor the engine refused), raises after all
        have ended (none is left running into memory the caller reuses)."""
        await self._wait_started()
        failed, self.failed = self.failed, set()
        return failed

    async def _wait_started(self) -> None:
        if not self.in_flight:
            return
        started, self.in_flight = self.in_flight, []
        results = await self.cpu.dma_wait([tag for tag, _, _ in started])
        for start in self.posted:
            self.pool.release(start)
        self.posted.clear()
        for (_, what, owner), result in zip(started, results):
            if result == DmaResult.OK:
                continue
            if owner is None or result not in REQUEST_ERRORS:
                raise RingError("dma_" + result.name.lower(), f"DMA {what}: {result.name}")
            self.failed.add(owner)

    async def write_local(self, local: int, data: bytes) -> None:
        """CPU bytes into device memory (headers, inline push payloads)."""
        await self.cpu.write_bytes(Region.DMA_BUF + local, data)

    async def _start(self, addr: int, local: int, n: int, direction: DmaDir, owner=None) -> None:
        tag = await self.cpu.dma_start(addr, local, n, direction)
        self.in_flight.append((tag, f"{direction.name.lower()} of {n} bytes at 0x{addr:x}", owner))

    async def _dma(self, addr: int, local: int, n: int, direction: DmaDir) -> None:
        await self._wait_started()
        result = await self.cpu.dma(addr, local, n, direction)
        if result != DmaResult.OK:
            raise RingError("dma_" + result.name.lower(),
                            f"DMA {direction.name.lower()} of {n} bytes at 0x{addr:x}: {result.name}")


def push_ring_base(queue: int) -> int:
    return PUSH_RING_AREA + PUSH_RING_STRIDE * queue


class SramMemory:
    """BAR0 SRAM through the local-bus window: rings the device placed in its own memory
    (resource-table transport). Addresses are BAR0 offsets; no PCIe traffic."""

    def __init__(self, cpu: SoftCpu):
        self.cpu = cpu

    async def read(self, addr: int, length: int) -> bytes:
        return await self.cpu.read_sram(addr, length)

    async def write(self, addr: int, data: bytes) -> None:
        await self.cpu.write_sram(addr, data)


class DeviceQueue:
    """One enabled queue on the device side. `mem` reaches the buffers (host memory, by
    DMA); the ring itself is in host memory (split, packed), or in BAR0 (push, and split
    rings the device placed there: `ring_in_bar0`)."""

    features = 0                        # negotiated features; a subclass that skips __init__ keeps none
    intake_by_dma = True                # see __init__
    defer = msi_owed = False            # see publish
    notification_data = prefetch = post_ring = False    # see __init__

    def __init__(self, cpu: SoftCpu, index: int, mode: QueueMode, desc: int, driver: int, device: int,
                 size: int, msi_vector: int, ring_in_bar0: bool = False,
                 batch: bool = False, features: int = 0, prefetch: bool = False):
        """`batch`: take chains a batch at a time through the vectorized processors
        (firmware/batch.py); rings the device placed in BAR0 always use the scalar path.
        `features`: the negotiated features (a back end's queue roles may depend on them;
        EVENT_IDX, IN_ORDER and NOTIFICATION_DATA shape the ring's device half). `prefetch`: a back end
        takes the chains of a queue it fills (net RX) as soon as they are notified, not when
        it has something to put in them (see NetLoopback.on_notify)."""
        self.cpu = cpu
        self.features = features
        self.index = index
        self.mode = mode
        self.msi_vector = msi_vector
        self.mem = DmaMemory(cpu)
        ring_mem = SramMemory(cpu) if ring_in_bar0 else self.mem
        in_order = bool(features >> VirtioFeature.IN_ORDER & 1)
        event_idx = bool(features >> VirtioFeature.EVENT_IDX & 1)
        self.notification_data = bool(features >> VirtioFeature.NOTIFICATION_DATA & 1)
        if mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
            self.ring = PushDevice(PushRing(push_ring_base(index), size, device), cpu.read_sram, self.mem,
                                   self_doorbell=mode == QueueMode.PUSH_SELF)
        elif mode == QueueMode.SPLIT:
            self.ring = SplitDevice(SplitRing(desc, driver, device, size), ring_mem, event_idx, in_order=in_order,
                                    notification_data=self.notification_data)
        else:
            self.ring = PackedDevice(PackedRing(desc, driver, device, size), ring_mem, event_idx=event_idx,
                                     in_order=in_order, notification_data=self.notification_data)
        self.log = logging.getLogger(f"cocotb.firmware.q{index}")
        self.requests = 0
        self.batch = batch and not ring_in_bar0
        self.prefetch = prefetch and self.batch
        # taking chains reads host memory by DMA (rings in BAR0 are read over the local bus)
        self.intake_by_dma = mode in (QueueMode.SPLIT, QueueMode.PACKED) and not ring_in_bar0
        # best mode: ring writes posted, not waited for one by one; publish_used ends with a
        # read of host memory through the same view (event suppression), which waits for them
        # all, so the MSI still follows every ring write
        self.post_ring = self.prefetch and self.intake_by_dma
        self.taken: list[Chain | RingError] = []        # batch mode: chains found, not yet handed out
        self.batches = self.batch_chains = 0                # batch mode: fetches that found chains, chains found
        self.completed: list[tuple[int, int]] = []          # (id, written) of every used entry, in order

    async def init(self) -> None:
        """The device memory payloads go through; device-side ring state in host memory
        (packed: the device event suppression); self-doorbelling push: the write-watch
        window over the ring."""
        self.mem.pool = await device_pool(self.cpu)
        if isinstance(self.ring, PackedDevice):
            await self.ring.init()
        if self.mode == QueueMode.PUSH_SELF:
            await self.watch(True)

    async def watch(self, on: bool) -> None:
        regs = Region.DOORBELL + DbReg.WATCH + DB_WATCH_STRIDE * (self.index % DB_WATCH_WINDOWS)
        ring = self.ring.ring
        await self.cpu.write32(regs + DbWatch.SIZE, 0)
        if on:
            await self.cpu.write32(regs + DbWatch.BASE, ring.base)
            await self.cpu.write32(regs + DbWatch.ENTRY_LOG2, PushEntry.SIZE.bit_length() - 1)
            await self.cpu.write32(regs + DbWatch.SLOT, ASYNC_DOORBELL_QUEUE0 + self.index)
            await self.cpu.write32(regs + DbWatch.SIZE, PushEntry.SIZE * ring.slots)

    async def close(self) -> None:
        if self.mode == QueueMode.PUSH_SELF:
            await self.watch(False)

    def doorbell(self, value: int) -> None:
        if self.mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
            self.ring.doorbell(value)
        elif self.notification_data:
            self.ring.notified(notify_next(value))

    def untaken_in(self, read) -> bool:
        """Whether the driver's ring, read through `read(addr, length)` (a checker's own view
        of host memory, not the device's DMA), holds an entry the device has not taken yet."""
        r = self.ring
        if isinstance(r, SplitDevice):
            return SplitAvail.IDX.get(read(r.ring.avail, SplitAvail.HEADER)) != r.last_avail & IDX_MASK
        if isinstance(r, PackedDevice):
            return is_avail(PackedDesc.FLAGS.get(read(r.ring.slot(r.next_avail), PackedDesc.SIZE)), r.avail_wrap)
        return False

    async def pending(self) -> int:
        if not self.batch:
            return await self.ring.pending()
        if not self.taken:
            await self.take_ahead()
        return len(self.taken)

    async def take_ahead(self) -> None:
        """Batch mode: every chain now available, taken in one batch behind those held."""
        if isinstance(self.ring, SplitDevice):
            found = await take_split(self.ring, self.mem)
        elif isinstance(self.ring, PackedDevice):
            found = await take_packed(self.ring, self.mem)
        else:
            found = await take_push(self.ring)
        if found:
            self.batches += 1
            self.batch_chains += len(found)
            self.taken += found

    async def next_chain(self) -> Chain:
        chain = await self._take()
        if chain.out_len > DEVICE_MAX_READ:       # a driver's lengths are not trusted
            raise RingError("bad_length", f"chain {chain.head}: {chain.out_len} device-readable bytes, "
                            f"above {DEVICE_MAX_READ}")
        return chain

    async def _take(self) -> Chain:
        if not self.batch:
            return await self.ring.next_chain()
        if not self.taken and not await self.pending():
            raise RingError("empty", "no chain available")
        chain = self.taken.pop(0)
        if isinstance(chain, RingError):
            raise chain
        return chain

    async def complete(self, chain: Chain, written: int) -> None:
        await self.ring.push_used(chain.head, written)
        self.completed.append((chain.head, written))

    async def interrupt(self) -> None:
        await self.cpu.request_msi(self.msi_vector)

    async def pay_interrupt(self, wait: bool) -> None:
        """The interrupt a deferred publish owes, once its ring writes have ended (waited
        for if `wait`; else only if they already have): an MSI never passes the used
        entries it announces."""
        if not self.msi_owed:
            return
        if wait:
            await self.mem.drain()
        elif not self.mem.ended():
            return
        self.msi_owed = False
        await self.interrupt()

    async def publish(self) -> bool:
        """Publish used entries; interrupt the driver unless it suppressed interrupts. With
        event index, publishing also re-enables notifications (avail_event), so look at the
        ring again, as Linux's vhost_enable_notify does: a chain the driver added while this
        batch was finishing got no doorbell (its driver read the old avail_event) and is the
        caller's to take now. True if there is such a chain.

        With `defer` set the ring writes are posted (DmaMemory.post) and the interrupt is
        owed until they have ended (`pay_interrupt`): a back end streaming payloads keeps
        the engine's write queue full, and a waited ring write would wait for all of it."""
        if self.defer and isinstance(self.mem, DmaMemory):
            self.mem.posting = True
            try:
                self.msi_owed |= await self.ring.publish_used()
            finally:
                self.mem.posting = False
        elif self.post_ring:
            self.mem.posting = True
            try:
                wanted = await self.ring.publish_used()
            finally:
                self.mem.posting = False
            if wanted:
                await self.interrupt()
        elif await self.ring.publish_used():
            await self.interrupt()
        if not (isinstance(self.ring, SplitDevice) and self.ring.event_idx):
            return False                    # every added chain rings the doorbell
        return await self.pending() > 0
