"""Split virtqueue (virtio 1.2, 2.7), scalar reference: driver and device halves.

The driver half writes descriptors, the avail ring and avail.idx, and reads used; the
device half reads avail, walks chains (with indirect tables) and writes used entries and
used.idx. Both follow the specification's ordering: entries before the index that
publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import (AVAIL_F_NO_INTERRUPT, USED_F_NO_NOTIFY, DescFlag, EVENT_WORD, SplitAvail, SplitDesc,
                      SplitUsed)
from .memory import Buf, Chain, Memory, RingError, read_fields, u16, u32, u64

IDX_MASK = 0xFFFF
# bytes one device read request carries at most on every host profile here (the smallest
# Max_Read_Request_Size of layout.HOST_PROFILES): a ring read this long is one request
ONE_READ_BYTES = 512


@dataclass(frozen=True)
class SplitRing:
    desc: int
    avail: int
    used: int
    size: int

    def avail_slot(self, i: int) -> int:
        return self.avail + SplitAvail.RING + SplitAvail.ENTRY * (i % self.size)

    def used_slot(self, i: int) -> int:
        return self.used + SplitUsed.RING + SplitUsed.ENTRY * (i % self.size)

    @property
    def used_event(self) -> int:          # in the avail ring, after its entries
        return self.avail + SplitAvail.RING + SplitAvail.ENTRY * self.size

    @property
    def avail_event(self) -> int:         # in the used ring, after its entries
        return self.used + SplitUsed.RING + SplitUsed.ENTRY * self.size


def pack_desc(addr: int, length: int, flags: int, nxt: int) -> bytes:
    return (addr.to_bytes(8, "little") + length.to_bytes(4, "little") + flags.to_bytes(2, "little")
            + nxt.to_bytes(2, "little"))


async def read_used(mem: Memory, used: int, slot_of, last: int) -> tuple[list[tuple[int, int]], int]:
    """Driver side of a used ring (split layout, also the push ring's): the entries after
    `last` up to used.idx, as (id, length), and the new `last`."""
    idx = u16(await mem.read(used + SplitUsed.IDX.offset, 2))
    out = []
    while last != idx:
        elem = await mem.read(slot_of(last), SplitUsed.ENTRY)
        out.append((u32(elem, SplitUsed.ELEM_ID.offset), u32(elem, SplitUsed.ELEM_LEN.offset)))
        last = (last + 1) & IDX_MASK
    return out, last


def need_event(event: int, new: int, old: int) -> bool:
    """vring_need_event: did the index pass `event` between old and new (mod 2**16)?"""
    return ((new - event - 1) & IDX_MASK) < ((new - old) & IDX_MASK)


class SplitDriver:
    def __init__(self, ring: SplitRing, mem: Memory, event_idx: bool = False, in_order: bool = False):
        """`in_order` (VIRTIO_F_IN_ORDER): descriptors are used in ring order, a chain's
        `next` is always the following entry (wrapping), and the device may answer a batch
        with one used entry, for its last chain (virtio 1.2, 2.7.5 and 2.7.9)."""
        self.ring = ring
        self.mem = mem
        self.event_idx = event_idx
        self.in_order = in_order
        self.free = list(range(ring.size))
        self.chain_of: dict[int, list[int]] = {}
        self.order: list[int] = []          # heads in flight, in the order made available
        self.avail_idx = 0
        self.kicked_idx = 0
        self.last_used = 0

    async def init(self) -> None:
        """Both rings zeroed whole, event words included, as Linux's zeroed ring allocation
        leaves them: memory reused from an earlier queue (a device's BAR0) must not hold an
        avail_event that would keep the first kick back."""
        await self.mem.write(self.ring.avail, bytes(self.ring.used_event + EVENT_WORD - self.ring.avail))
        await self.mem.write(self.ring.used, bytes(self.ring.avail_event + EVENT_WORD - self.ring.used))

    def _take_ids(self, count: int) -> list[int]:
        """`count` free descriptors: the lowest free ones, or with in-order the next ones in
        ring order (free descriptors always follow the last one in flight)."""
        if count > len(self.free):
            raise RingError("ring_full", f"{count} descriptors wanted, {len(self.free)} free")
        ids, self.free = self.free[:count], self.free[count:]
        return ids

    async def add(self, bufs: list[tuple[int, int, bool]], indirect_table: int | None = None) -> int:
        """Chain (addr, len, writable) buffers, put the head in the avail ring; return it.
        With `indirect_table` (host memory for len(bufs) descriptors) the chain goes into
        that table and takes one ring descriptor. avail.idx is not written: publish() does."""
        head = await self._add(bufs, indirect_table)
        self.order.append(head)
        return head

    async def _add(self, bufs: list[tuple[int, int, bool]], indirect_table: int | None) -> int:
        if indirect_table is not None:
            table = b"".join(
                pack_desc(addr, length, (DescFlag.WRITE if w else 0) | (DescFlag.NEXT if k + 1 < len(bufs) else 0),
                          k + 1 if k + 1 < len(bufs) else 0)
                for k, (addr, length, w) in enumerate(bufs))
            await self.mem.write(indirect_table, table)
            head = self._take_ids(1)[0]
            await self.mem.write(self.ring.desc + SplitDesc.SIZE * head,
                                 pack_desc(indirect_table, len(table), DescFlag.INDIRECT, 0))
            self.chain_of[head] = [head]
            await self.mem.write(self.ring.avail_slot(self.avail_idx), head.to_bytes(2, "little"))
            self.avail_idx = (self.avail_idx + 1) & IDX_MASK
            return head
        ids = self._take_ids(len(bufs))
        for k, (addr, length, writable) in enumerate(bufs):
            flags = (DescFlag.WRITE if writable else 0) | (DescFlag.NEXT if k + 1 < len(bufs) else 0)
            nxt = ids[k + 1] if k + 1 < len(bufs) else 0
            await self.mem.write(self.ring.desc + SplitDesc.SIZE * ids[k], pack_desc(addr, length, flags, nxt))
        head = ids[0]
        self.chain_of[head] = ids
        await self.mem.write(self.ring.avail_slot(self.avail_idx), head.to_bytes(2, "little"))
        self.avail_idx = (self.avail_idx + 1) & IDX_MASK
        return head

    async def publish(self) -> bool:
        """Write avail.idx; return whether the device wants a notification."""
        await self.mem.write(self.ring.avail + SplitAvail.IDX.offset, self.avail_idx.to_bytes(2, "little"))
        old, self.kicked_idx = self.kicked_idx, self.avail_idx
        if self.event_idx:
            event = u16(await self.mem.read(self.ring.avail_event, 2))
            return need_event(event, self.avail_idx, old)
        return not u16(await self.mem.read(self.ring.used + SplitUsed.FLAGS.offset, 2)) & USED_F_NO_NOTIFY

    async def used(self) -> list[tuple[int, int]]:
        """New used entries (head, written length); their descriptors are freed. With
        in-order, an entry naming a later chain than the oldest in flight answers every
        chain up to it (its batch; the others wrote nothing) and the next entry is that
        many positions on."""
        if self.in_order:
            out = await self._used_in_order()
        else:
            out, self.last_used = await read_used(self.mem, self.ring.used, self.ring.used_slot, self.last_used)
            for head, _ in out:
                if head not in self.chain_of:
                    raise RingError("bad_used_id", f"used entry names id {head}, which is not in flight")
                self.free += self.chain_of.pop(head)
                self.order.remove(head)
        if self.event_idx:
            await self.mem.write(self.ring.used_event, self.last_used.to_bytes(2, "little"))
        return out


    async def _used_in_order(self) -> list[tuple[int, int]]:
        idx = u16(await self.mem.read(self.ring.used + SplitUsed.IDX.offset, 2))
        out = []
        while self.last_used != idx:
            elem = await self.mem.read(self.ring.used_slot(self.last_used), SplitUsed.ENTRY)
            head, length = u32(elem, SplitUsed.ELEM_ID.offset), u32(elem, SplitUsed.ELEM_LEN.offset)
            if head not in self.order:
                raise RingError("bad_used_id", f"used entry names id {head}, which is not in flight")
            batch = self.order.index(head) + 1
            if batch > (idx - self.last_used) & IDX_MASK:
                raise RingError("bad_used_id", f"used entry for a batch of {batch} chains, "
                                f"but used.idx is only {(idx - self.last_used) & IDX_MASK} ahead")
            for h in self.order[:batch]:
                self.free += self.chain_of.pop(h)
                out.append((h, length if h == head else 0))
            del self.order[:batch]
            self.last_used = (self.last_used + batch) & IDX_MASK
        return out


KNOWN_FLAGS = int(DescFlag.NEXT | DescFlag.WRITE | DescFlag.INDIRECT)


def in_windows(addr: int, length: int, windows: list[tuple[int, int]] | None) -> bool:
    return windows is None or any(lo <= addr and addr + length <= hi for lo, hi in windows)


def check_buffer(bufs: list[Buf], addr: int, length: int, flags: int, windows, where: str) -> Buf:
    """Rules every buffer of a chain obeys (split and packed): length, windows, readable first."""
    if length == 0:
        raise RingError("zero_length", f"{where} has length 0")
    if not in_windows(addr, length, windows):
        raise RingError("address", f"buffer 0x{addr:x}+{length} outside the allowed windows")
    writable = bool(flags & DescFlag.WRITE)
    if not writable and any(b.writable for b in bufs):
        raise RingError("order", "a device-readable buffer after a device-writable one")
    return Buf(addr, length, writable)


class UsedEntries:
    """Used elements (split layout: id, len) completed and not yet written: written by
    `flush`, one write per run of consecutive slots (two where the ring wraps), before the
    index that publishes them, as Linux's vhost writes a batch (vhost_add_used_n).

    `in_order`: an element that wrote nothing is folded into the next one (virtio 1.2,
    2.7.9: one used entry, at the batch's first position, names the batch's last chain;
    no length is lost, the folded chains wrote 0 bytes)."""

    def __init__(self, in_order: bool = False):
        self.in_order = in_order
        self.held: list[tuple[int, bytes, int]] = []    # (used index, element, its length)

    def add(self, idx: int, buf_id: int, length: int) -> None:
        elem = buf_id.to_bytes(4, "little") + length.to_bytes(4, "little")
        if self.in_order and self.held and self.held[-1][2] == 0:
            self.held[-1] = (self.held[-1][0], elem, length)
            return
        self.held.append((idx, elem, length))

    async def flush(self, mem: Memory, slot, slots: int) -> None:
        """Write the held elements; `slot(i)` is the address of used slot i of `slots`."""
        held, self.held = self.held, []
        while held:
            run = 1
            while run < len(held) and held[run][0] == (held[0][0] + run) & IDX_MASK \
                    and (held[0][0] + run) % slots:
                run += 1
            await mem.write(slot(held[0][0]), b"".join(e for _, e, _ in held[:run]))
            held = held[run:]


class SplitDevice:
    def __init__(self, ring: SplitRing, mem: Memory, event_idx: bool = False,
                 windows: list[tuple[int, int]] | None = None, in_order: bool = False,
                 notification_data: bool = False):
        """`windows`: host address ranges buffers and indirect tables must lie in (None: any).
        `in_order` (VIRTIO_F_IN_ORDER): a chain's head is the entry after the previous
        chain's last descriptor, so the avail ring's entries are never read; a batch of
        chains that wrote nothing is answered with one used entry.
        `notification_data` (VIRTIO_F_NOTIFICATION_DATA): avail.idx comes with each
        notification (`notified`) and, with event index, with the read that publishing
        does anyway (`publish_used`): the device never reads it alone."""
        self.ring = ring
        self.mem = mem
        self.event_idx = event_idx
        self.in_order = in_order
        self.notification_data = notification_data
        self.windows = windows
        self.last_avail = 0
        self.next_desc = 0                  # in-order: the next chain's head
        self.descs_per_chain = 0            # in-order batch intake: the most a chain took (sizes its read)
        self.known_avail: int | None = None     # notification data: avail.idx as last learned
        self.used_idx = 0
        self.signalled_used = 0
        self.unwritten = UsedEntries(in_order)

    def notified(self, avail_idx: int) -> None:
        """A notification carried avail.idx (the driver wrote the ring first). A value behind
        what the device already knows (a notification that raced a look at the ring) is
        stale and ignored."""
        ahead = (avail_idx - self.last_avail) & IDX_MASK
        if ahead <= self.ring.size and (self.known_avail is None
                                        or ahead > (self.known_avail - self.last_avail) & IDX_MASK):
            self.known_avail = avail_idx & IDX_MASK

    async def avail_idx(self) -> int:
        if self.notification_data and self.known_avail is not None:
            return self.known_avail
        self.known_avail = u16(await self.mem.read(self.ring.avail + SplitAvail.IDX.offset, 2))
        return self.known_avail

    async def pending(self) -> int:
        """Chains the driver has made available and the device has not taken."""
        n = (await self.avail_idx() - self.last_avail) & IDX_MASK
        if n > self.ring.size:
            raise RingError("avail_idx_jump", f"avail.idx moved {n} entries ahead on a ring of {self.ring.size}")
        return n

    async def next_chain(self) -> Chain:
        if self.in_order:
            head = self.next_desc
        else:
            head = u16(await self.mem.read(self.ring.avail_slot(self.last_avail), 2))
        self.last_avail = (self.last_avail + 1) & IDX_MASK
        return Chain(head, await self.walk(head))

    async def walk(self, head: int) -> list[Buf]:
        """Follow a chain; validate index range, loops, length and nesting of indirect tables."""
        size = self.ring.size
        if head >= size:
            raise RingError("index_range", f"head {head} beyond the ring size {size}")
        bufs: list[Buf] = []
        table, table_size, i, seen, indirect = self.ring.desc, size, head, 0, False
        while True:
            raw = await self.mem.read(table + SplitDesc.SIZE * i, SplitDesc.SIZE)
            addr, length = u64(raw, SplitDesc.ADDR.offset), u32(raw, SplitDesc.LEN.offset)
            flags, nxt = u16(raw, SplitDesc.FLAGS.offset), u16(raw, SplitDesc.NEXT.offset)
            seen += 1
            if seen > table_size:
                raise RingError("loop", f"chain from {head} longer than its table ({table_size}): a loop")
            if flags & ~KNOWN_FLAGS:
                raise RingError("bad_flags", f"descriptor {i} of chain {head} has flags 0x{flags:x}")
            if flags & DescFlag.INDIRECT:
                if indirect:
                    raise RingError("nested_indirect", "indirect descriptor inside an indirect table")
                if flags & DescFlag.NEXT or length == 0 or length % SplitDesc.SIZE:
                    raise RingError("bad_indirect", f"indirect table of {length} bytes with flags 0x{flags:x}")
                if not in_windows(addr, length, self.windows):
                    raise RingError("address", f"indirect table at 0x{addr:x} outside the allowed windows")
                if self.in_order:
                    self.next_desc = (i + 1) % size
                table, table_size, i, seen, indirect = addr, length // SplitDesc.SIZE, 0, 0, True
                continue
            bufs.append(check_buffer(bufs, addr, length, flags, self.windows, f"descriptor {i} of chain {head}"))
            if not flags & DescFlag.NEXT:
                if self.in_order and not indirect:
                    self.next_desc = (i + 1) % size
                return bufs
            if nxt >= table_size:
                raise RingError("index_range", f"next {nxt} beyond the table size {table_size}")
            if self.in_order and not indirect and nxt != (i + 1) % size:
                raise RingError("not_in_order", f"descriptor {i} of chain {head} links to {nxt}, not the "
                                f"next entry (in-order)")
            i = nxt

    async def push_used(self, head: int, length: int) -> None:
        """One used entry; written with the others of the batch, and the index published,
        by publish_used()."""
        self.unwritten.add(self.used_idx, head, length)
        self.used_idx = (self.used_idx + 1) & IDX_MASK

    async def want_notifications(self) -> None:
        """With event index: ask to be notified when the driver adds past what was taken."""
        if self.event_idx:
            await self.mem.write(self.ring.avail_event, self.last_avail.to_bytes(2, "little"))

    async def publish_used(self) -> bool:
        """Write the used entries, then used.idx; return whether the driver wants an interrupt.

        With event index and notification data, the driver's used_event and avail.idx come
        back in one read of the avail ring (after avail_event and used.idx: a read does not
        pass the device's earlier writes) when the ring is small enough for one read
        request: avail.idx then answers the look again that re-enabling notifications needs
        (see DeviceQueue.publish) without a read of its own."""
        await self.unwritten.flush(self.mem, self.ring.used_slot, self.ring.size)
        await self.want_notifications()
        await self.mem.write(self.ring.used + SplitUsed.IDX.offset, self.used_idx.to_bytes(2, "little"))
        old, self.signalled_used = self.signalled_used, self.used_idx
        if self.event_idx:
            start = self.ring.avail + SplitAvail.IDX.offset
            span = self.ring.used_event + 2 - start
            if self.notification_data and span <= ONE_READ_BYTES:
                idx, used_event = await read_fields(self.mem, start, span, [(0, 2), (span - 2, 2)])
                self.known_avail, event = u16(idx), u16(used_event)
            else:
                if self.notification_data:
                    self.known_avail = None         # look at avail.idx again (a read of its own)
                event = u16(await self.mem.read(self.ring.used_event, 2))
            return need_event(event, self.used_idx, old)
        return not u16(await self.mem.read(self.ring.avail + SplitAvail.FLAGS.offset, 2)) & AVAIL_F_NO_INTERRUPT

