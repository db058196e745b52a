"""Packed virtqueue (virtio 1.2, 2.8), scalar reference: driver and device halves.

One descriptor ring; a descriptor is available when its AVAIL flag equals the driver's
wrap counter and its USED flag does not, used when both equal the device's wrap counter.
The driver writes a chain's later descriptors first and its head's flags last (the head
publishes the chain); the device writes a used descriptor's id and length, then its flags.
Buffers are used in order: the used descriptor of a chain goes where its head was.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import DescFlag, PackedDesc, PackedEvent, PackedEventFlag
from .memory import Buf, Chain, Memory, RingError, u16, u32, u64
from .split import check_buffer, in_windows

KNOWN_FLAGS = int(DescFlag.NEXT | DescFlag.WRITE | DescFlag.INDIRECT | DescFlag.AVAIL | DescFlag.USED)


@dataclass(frozen=True)
class PackedRing:
    desc: int
    driver_event: int       # driver area: driver event suppression (written by the driver)
    device_event: int       # device area: device event suppression (written by the device)
    size: int

    def slot(self, i: int) -> int:
        return self.desc + PackedDesc.SIZE * i


def pack_desc(addr: int, length: int, buf_id: int, flags: int) -> bytes:
    return (addr.to_bytes(8, "little") + length.to_bytes(4, "little") + buf_id.to_bytes(2, "little")
            + flags.to_bytes(2, "little"))


def avail_flags(wrap: int) -> int:
    return (DescFlag.AVAIL if wrap else 0) | (0 if wrap else DescFlag.USED)


def used_flags(wrap: int) -> int:
    return (DescFlag.AVAIL | DescFlag.USED) if wrap else 0


def is_avail(flags: int, wrap: int) -> bool:
    return bool(flags & DescFlag.AVAIL) == bool(wrap) and bool(flags & DescFlag.USED) != bool(wrap)


def is_used(flags: int, wrap: int) -> bool:
    return bool(flags & DescFlag.AVAIL) == bool(wrap) and bool(flags & DescFlag.USED) == bool(wrap)


async def wants_event(mem: Memory, addr: int) -> bool:
    """Event suppression (ENABLE / DISABLE; DESC is treated as ENABLE: no event index here)."""
    return u16(await mem.read(addr + PackedEvent.FLAGS.offset, 2)) != PackedEventFlag.DISABLE


class PackedDriver:
    def __init__(self, ring: PackedRing, mem: Memory):
        self.ring = ring
        self.mem = mem
        self.next_avail = 0
        self.avail_wrap = 1
        self.next_used = 0
        self.used_wrap = 1
        self.free = ring.size
        self.free_ids = list(range(ring.size))
        self.count_of: dict[int, int] = {}

    async def init(self) -> None:
        await self.mem.write(self.ring.desc, bytes(PackedDesc.SIZE * self.ring.size))
        await self.mem.write(self.ring.driver_event, bytes(PackedEvent.SIZE))

    async def add(self, bufs: list[tuple[int, int, bool]]) -> int:
        if len(bufs) > self.free:
            raise RingError("ring_full", f"{len(bufs)} descriptors wanted, {self.free} free")
        buf_id = self.free_ids.pop(0)
        slots, wraps = [], []
        pos, wrap = self.next_avail, self.avail_wrap
        for _ in bufs:
            slots.append(pos)
            wraps.append(wrap)
            pos += 1
            if pos == self.ring.size:
                pos, wrap = 0, wrap ^ 1
        for k in reversed(range(len(bufs))):          # the head's flags last
            addr, length, writable = bufs[k]
            flags = avail_flags(wraps[k]) | (DescFlag.WRITE if writable else 0) | (
                DescFlag.NEXT if k + 1 < len(bufs) else 0)
            await self.mem.write(self.ring.slot(slots[k]), pack_desc(addr, length, buf_id, flags))
        self.next_avail, self.avail_wrap = pos, wrap
        self.free -= len(bufs)
        self.count_of[buf_id] = len(bufs)
        return buf_id

    async def publish(self) -> bool:
        """Descriptors are live once written: only the notification decision remains."""
        return await wants_event(self.mem, self.ring.device_event)

    async def used(self) -> list[tuple[int, int]]:
        out = []
        while True:
            raw = await self.mem.read(self.ring.slot(self.next_used), PackedDesc.SIZE)
            flags = u16(raw, PackedDesc.FLAGS.offset)
            if not is_used(flags, self.used_wrap):
                return out
            buf_id, length = u16(raw, PackedDesc.ID.offset), u32(raw, PackedDesc.LEN.offset)
            if buf_id not in self.count_of:
                raise RingError("bad_used_id", f"used descriptor names id {buf_id}, which is not in flight")
            n = self.count_of.pop(buf_id)
            self.free += n
            self.free_ids.append(buf_id)
            self.next_used += n
            if self.next_used >= self.ring.size:
                self.next_used -= self.ring.size
                self.used_wrap ^= 1
            out.append((buf_id, length))


class PackedDevice:
    def __init__(self, ring: PackedRing, mem: Memory, windows: list[tuple[int, int]] | None = None):
        """`windows`: host address ranges buffers and indirect tables must lie in (None: any)."""
        self.ring = ring
        self.mem = mem
        self.windows = windows
        self.next_avail = 0
        self.avail_wrap = 1
        self.next_used = 0
        self.used_wrap = 1
        self.in_flight: list[int] = []          # descriptor counts of taken chains, in order
        self.batch_descs = 0                    # descriptors the last batch intake took (sizes its next read)

    async def init(self) -> None:
        await self.mem.write(self.ring.device_event, bytes(PackedEvent.SIZE))

    async def pending(self) -> int:
        raw = await self.mem.read(self.ring.slot(self.next_avail) + PackedDesc.FLAGS.offset, 2)
        return 1 if is_avail(u16(raw), self.avail_wrap) else 0

    def _advance(self) -> None:
        self.next_avail += 1
        if self.next_avail == self.ring.size:
            self.next_avail = 0
            self.avail_wrap ^= 1

    async def next_chain(self) -> Chain:
        bufs: list[Buf] = []
        count = 0
        buf_id = 0
        while True:
            raw = await self.mem.read(self.ring.slot(self.next_avail), PackedDesc.SIZE)
            flags = u16(raw, PackedDesc.FLAGS.offset)
            if not is_avail(flags, self.avail_wrap):
                raise RingError("bad_wrap", f"descriptor {self.next_avail} of a chain is not available "
                                f"(flags 0x{flags:x}, wrap {self.avail_wrap})")
            addr, length = u64(raw, PackedDesc.ADDR.offset), u32(raw, PackedDesc.LEN.offset)
            buf_id = u16(raw, PackedDesc.ID.offset)
            self._advance()
            count += 1
            if count > self.ring.size:
                raise RingError("loop", "chain longer than the ring")
            if flags & ~KNOWN_FLAGS:
                raise RingError("bad_flags", f"descriptor of buffer {buf_id} has flags 0x{flags:x}")
            if flags & DescFlag.INDIRECT:
                if bufs or flags & DescFlag.NEXT or length == 0 or length % PackedDesc.SIZE:
                    raise RingError("bad_indirect", f"indirect table of {length} bytes with flags 0x{flags:x}")
                if not in_windows(addr, length, self.windows):
                    raise RingError("address", f"indirect table at 0x{addr:x} outside the allowed windows")
                bufs = await self._indirect(addr, length // PackedDesc.SIZE)
                break
            bufs.append(check_buffer(bufs, addr, length, flags, self.windows, f"descriptor of buffer {buf_id}"))
            if not flags & DescFlag.NEXT:
                break
        self.in_flight.append(count)
        return Chain(buf_id, bufs)

    async def _indirect(self, table: int, n: int) -> list[Buf]:
        """The table is read whole (one transfer); its entries are used in order."""
        raw_table = await self.mem.read(table, PackedDesc.SIZE * n)
        bufs: list[Buf] = []
        for i in range(n):
            raw = raw_table[PackedDesc.SIZE * i:PackedDesc.SIZE * (i + 1)]
            flags = u16(raw, PackedDesc.FLAGS.offset)
            if flags & ~KNOWN_FLAGS:
                raise RingError("bad_flags", f"indirect descriptor {i} has flags 0x{flags:x}")
            if flags & DescFlag.INDIRECT:
                raise RingError("nested_indirect", "indirect descriptor inside an indirect table")
            bufs.append(check_buffer(bufs, u64(raw, PackedDesc.ADDR.offset), u32(raw, PackedDesc.LEN.offset), flags,
                                     self.windows, f"indirect descriptor {i}"))
        return bufs

    async def push_used(self, buf_id: int, length: int) -> None:
        count = self.in_flight.pop(0)
        slot = self.ring.slot(self.next_used)
        await self.mem.write(slot + PackedDesc.LEN.offset, length.to_bytes(4, "little") + buf_id.to_bytes(2, "little"))
        await self.mem.write(slot + PackedDesc.FLAGS.offset, used_flags(self.used_wrap).to_bytes(2, "little"))
        self.next_used += count
        if self.next_used >= self.ring.size:
            self.next_used -= self.ring.size
            self.used_wrap ^= 1

    async def publish_used(self) -> bool:
        return await wants_event(self.mem, self.ring.driver_event)
