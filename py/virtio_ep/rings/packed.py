"""Packed virtqueue (virtio 1.2, 2.8), scalar reference: driver and device halves.

One descriptor ring; a descriptor is available when its AVAIL flag equals the driver's
wrap counter and its USED flag does not, used when both equal the device's wrap counter.
The driver writes a chain's later descriptors first and its head's flags last (the head
publishes the chain); the device writes a used descriptor's id and length, then its flags.
Buffers are used in order: the used descriptor of a chain goes where its head was.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import PACKED_WRAP_SHIFT, DescFlag, PackedDesc, PackedEvent, PackedEventFlag
from .memory import Buf, Chain, Memory, RingError, u16, u32, u64
from .split import IDX_MASK, check_buffer, in_windows, need_event

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


def off_wrap(pos: int, wrap: int) -> int:
    return pos | wrap << PACKED_WRAP_SHIFT


def event_wanted(raw: bytes, event_idx: bool, new: int, wrap: int, moved: int, size: int) -> bool:
    """Does the other side want an event, given its event suppression structure `raw`, after
    this side moved `moved` descriptors to position `new` (wrap counter `wrap`)?  ENABLE:
    yes; DISABLE: no; DESC (event index only): if the moved span passed its off_wrap
    (Linux virtqueue_kick_prepare_packed and vhost_vring_packed_need_event)."""
    flags = u16(raw, PackedEvent.FLAGS.offset)
    if flags != PackedEventFlag.DESC or not event_idx:
        return flags != PackedEventFlag.DISABLE
    event_wrap = u16(raw, PackedEvent.OFF_WRAP.offset)
    event, at_wrap = event_wrap & ~(1 << PACKED_WRAP_SHIFT), event_wrap >> PACKED_WRAP_SHIFT
    if at_wrap != wrap:
        event -= size
    return need_event(event & IDX_MASK, new, (new - moved) & IDX_MASK)


async def wants_event(mem: Memory, addr: int, event_idx: bool = False, new: int = 0, wrap: int = 1,
                      moved: int = 0, size: int = 0) -> bool:
    """The other side's event suppression structure at `addr`, read and applied (event_wanted):
    the whole structure with event index, else its flags alone."""
    if event_idx:
        return event_wanted(await mem.read(addr, PackedEvent.SIZE), True, new, wrap, moved, size)
    flags = await mem.read(addr + PackedEvent.FLAGS.offset, PackedEvent.FLAGS.size)
    return event_wanted(bytes(PackedEvent.FLAGS.offset) + flags, False, new, wrap, moved, size)


class PackedDriver:
    def __init__(self, ring: PackedRing, mem: Memory, event_idx: bool = False, in_order: bool = False):
        """`event_idx`: the driver asks for used-buffer events by position (RING_EVENT_FLAGS_DESC
        with off_wrap, as Linux does) and honours the device's. `in_order`: the device may
        answer a batch with one used descriptor naming its last buffer (virtio 1.2, 2.8.9)."""
        self.ring = ring
        self.mem = mem
        self.event_idx = event_idx
        self.in_order = in_order
        self.next_avail = 0
        self.avail_wrap = 1
        self.kicked = 0                     # descriptors made available since the last kick decision
        self.next_used = 0
        self.used_wrap = 1
        self.free = ring.size
        self.free_ids = list(range(ring.size))
        self.count_of: dict[int, int] = {}
        self.order: list[int] = []          # buffer ids in flight, in the order made available

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
        self.kicked += len(bufs)
        self.count_of[buf_id] = len(bufs)
        self.order.append(buf_id)
        return buf_id

    async def publish(self) -> bool:
        """Descriptors are live once written: only the notification decision remains."""
        moved, self.kicked = self.kicked, 0
        return await wants_event(self.mem, self.ring.device_event, self.event_idx, self.next_avail,
                                 self.avail_wrap, moved, self.ring.size)

    async def used(self) -> list[tuple[int, int]]:
        out = []
        while True:
            raw = await self.mem.read(self.ring.slot(self.next_used), PackedDesc.SIZE)
            flags = u16(raw, PackedDesc.FLAGS.offset)
            if not is_used(flags, self.used_wrap):
                break
            buf_id, length = u16(raw, PackedDesc.ID.offset), u32(raw, PackedDesc.LEN.offset)
            if buf_id not in self.count_of:
                raise RingError("bad_used_id", f"used descriptor names id {buf_id}, which is not in flight")
            # in order, one used descriptor answers every buffer up to the one it names
            batch = self.order[:self.order.index(buf_id) + 1] if self.in_order else [buf_id]
            for b in batch:
                n = self.count_of.pop(b)
                self.order.remove(b)
                self.free += n
                self.free_ids.append(b)
                self.next_used += n
                if self.next_used >= self.ring.size:
                    self.next_used -= self.ring.size
                    self.used_wrap ^= 1
                out.append((b, length if b == buf_id else 0))
        if self.event_idx:          # the next event: when the device uses the next position
            await self.mem.write(self.ring.driver_event, off_wrap(self.next_used, self.used_wrap).to_bytes(2, "little")
                                 + int(PackedEventFlag.DESC).to_bytes(2, "little"))
        return out


class PackedDevice:
    def __init__(self, ring: PackedRing, mem: Memory, windows: list[tuple[int, int]] | None = None,
                 event_idx: bool = False, in_order: bool = False, notification_data: bool = False):
        """`windows`: host address ranges buffers and indirect tables must lie in (None: any).
        `event_idx`: the driver's RING_EVENT_FLAGS_DESC is honoured (events by position).
        `in_order`: used descriptors of chains that wrote nothing are folded into the next
        one's (one used descriptor per batch, at its first position). `notification_data`:
        each notification says where the driver's next descriptor goes (`notified`), so the
        device knows what is available without reading a flag."""
        self.ring = ring
        self.mem = mem
        self.windows = windows
        self.event_idx = event_idx
        self.in_order = in_order
        self.notification_data = notification_data
        self.next_avail = 0
        self.avail_wrap = 1
        self.next_used = 0
        self.used_wrap = 1
        self.moved = 0                          # descriptors used since the last event decision
        self.in_flight: list[int] = []          # descriptor counts of taken chains, in order
        self.batch_descs = 0                    # descriptors the last batch intake took (sizes its next read)
        self.known_ahead = 0                    # notification data: descriptors known available
        self.unwritten: list[list[int]] = []    # in order: [position, wrap, id, length, count] to write

    async def init(self) -> None:
        await self.mem.write(self.ring.device_event, bytes(PackedEvent.SIZE))

    def notified(self, value: int) -> None:
        """A notification carried the driver's next offset and wrap counter: every descriptor
        before it is available (a value behind what was taken is stale and ignored)."""
        off, wrap = value & ~(1 << PACKED_WRAP_SHIFT) & IDX_MASK, value >> PACKED_WRAP_SHIFT & 1
        ahead = off - self.next_avail + (self.ring.size if wrap != self.avail_wrap else 0)
        if 0 <= ahead <= self.ring.size:
            self.known_ahead = max(self.known_ahead, ahead)

    def took(self, count: int) -> None:
        """`count` descriptors were taken from the ring (for the notified count)."""
        self.known_ahead = max(0, self.known_ahead - count)

    async def pending(self) -> int:
        if self.notification_data:
            return 1 if self.known_ahead else 0
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
        self.took(count)
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
        if self.in_order:           # written by publish_used, folded where nothing was written
            last = self.unwritten[-1] if self.unwritten else None
            if last is not None and last[3] == 0:
                last[2], last[3], last[4] = buf_id, length, last[4] + count
            else:
                self.unwritten.append([self.next_used, self.used_wrap, buf_id, length, count])
        else:
            await self._write_used(self.next_used, self.used_wrap, buf_id, length)
        self.moved += count
        self.next_used += count
        if self.next_used >= self.ring.size:
            self.next_used -= self.ring.size
            self.used_wrap ^= 1

    async def _write_used(self, pos: int, wrap: int, buf_id: int, length: int) -> None:
        """Length and id first, then the flags that make the descriptor used."""
        slot = self.ring.slot(pos)
        await self.mem.write(slot + PackedDesc.LEN.offset, length.to_bytes(4, "little") + buf_id.to_bytes(2, "little"))
        await self.mem.write(slot + PackedDesc.FLAGS.offset, used_flags(wrap).to_bytes(2, "little"))

    async def publish_used(self) -> bool:
        held, self.unwritten = self.unwritten, []
        for pos, wrap, buf_id, length, _ in held:
            await self._write_used(pos, wrap, buf_id, length)
        moved, self.moved = self.moved, 0
        return await wants_event(self.mem, self.ring.driver_event, self.event_idx, self.next_used, self.used_wrap,
                                 moved, self.ring.size)
