"""Push ring: a device-allocated ring in BAR0 that the driver fills with posted writes.

Each request is one or more PushEntry slots written by the driver into the device's BAR0
(payloads up to PUSH_INLINE_MAX bytes inline, larger ones by host address), followed by
a doorbell carrying the new producer index. The device reads the slots from its own
memory (no PCIe read), and answers with posted writes only: response data into the
driver's device-writable buffers and used entries (split used-ring layout) into host
memory. For inline requests the data path needs no non-posted TLP at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from ..layout import PUSH_INLINE_MAX, PushEntry, PushFlag, SplitUsed
from .memory import Buf, Chain, Memory, RingError, u16, u32, u64
from .split import IDX_MASK, UsedEntries, read_used

BarWrite = Callable[[int, bytes], Awaitable[None]]
SramRead = Callable[[int, int], Awaitable[bytes]]


@dataclass(frozen=True)
class PushRing:
    base: int            # BAR0 offset of slot 0
    slots: int
    used: int            # host address of the used ring (split used-ring layout)

    def slot(self, i: int) -> int:
        return self.base + PushEntry.SIZE * (i % self.slots)

    def used_slot(self, i: int) -> int:
        return self.used + SplitUsed.RING + SplitUsed.ENTRY * (i % self.slots)


def pack_entry(buf_id: int, flags: int, length: int, addr: int = 0, inline: bytes = b"") -> bytes:
    head = (buf_id.to_bytes(2, "little") + flags.to_bytes(2, "little") + length.to_bytes(4, "little")
            + addr.to_bytes(8, "little"))
    return head + inline


class PushDriver:
    """Driver half. `out` buffers are bytes (inline when they fit) or (addr, len) in host
    memory; `in` buffers are (addr, len) device-writable host memory."""

    def __init__(self, ring: PushRing, bar_write: BarWrite, mem: Memory, inline_max: int = PUSH_INLINE_MAX,
                 self_doorbell: bool = False):
        """`self_doorbell`: the device watches the ring's writes (no doorbell TLP); its
        notification carries the index modulo the ring size, so one slot stays free to
        tell a full ring from an empty one."""
        self.ring = ring
        self.bar_write = bar_write
        self.mem = mem
        self.inline_max = inline_max
        self.prod = 0
        self._self_doorbell = self_doorbell
        self.free_slots = ring.slots - (1 if self_doorbell else 0)
        self.slots_of: dict[int, int] = {}
        self.next_id = 0
        self.last_used = 0

    async def init(self) -> None:
        await self.mem.write(self.ring.used, bytes(SplitUsed.HEADER))

    async def add(self, out: list, inb: list[tuple[int, int]]) -> int:
        entries = []
        for item in out:
            if isinstance(item, (bytes, bytearray)):
                if len(item) > self.inline_max:
                    raise ValueError(f"inline payload of {len(item)} bytes above {self.inline_max}")
                entries.append((PushFlag.INLINE, len(item), 0, bytes(item)))
            else:
                addr, length = item
                entries.append((0, length, addr, b""))
        entries += [(PushFlag.WRITE, length, addr, b"") for addr, length in inb]
        if len(entries) > self.free_slots:
            raise RingError("ring_full", f"{len(entries)} slots wanted, {self.free_slots} free")
        buf_id = self.next_id
        self.next_id = (self.next_id + 1) & IDX_MASK
        blob = bytearray()
        start = self.prod
        for k, (flags, length, addr, inline) in enumerate(entries):
            if k + 1 < len(entries):
                flags |= PushFlag.NEXT
            slot = pack_entry(buf_id, flags, length, addr, inline)
            # whole slots, except the last one's unused tail; self-doorbelling counts only
            # completely written slots, so there the last one is written whole too
            whole = k + 1 < len(entries) or self._self_doorbell
            blob += slot + bytes(PushEntry.SIZE - len(slot)) if whole else slot
        # contiguous slots in one posted write (two when the chain wraps)
        first = min(len(entries), self.ring.slots - start % self.ring.slots)
        split_at = PushEntry.SIZE * first
        await self.bar_write(self.ring.slot(start), bytes(blob[:split_at]))
        if len(entries) > first:
            await self.bar_write(self.ring.slot(0), bytes(blob[split_at:]))
        self.prod = (self.prod + len(entries)) & IDX_MASK
        self.free_slots -= len(entries)
        self.slots_of[buf_id] = len(entries)
        return buf_id

    def producer(self) -> int:
        """The doorbell value: slots written so far (mod 2**16)."""
        return self.prod

    async def used(self) -> list[tuple[int, int]]:
        out, self.last_used = await read_used(self.mem, self.ring.used, self.ring.used_slot, self.last_used)
        for buf_id, _ in out:
            if buf_id not in self.slots_of:
                raise RingError("bad_used_id", f"used entry names id {buf_id}, which is not in flight")
            self.free_slots += self.slots_of.pop(buf_id)
        return out


class PushDevice:
    """Device half: slots from the device's own SRAM, answers through `mem` (posted DMA writes)."""

    def __init__(self, ring: PushRing, sram_read: SramRead, mem: Memory, inline_max: int = PUSH_INLINE_MAX,
                 self_doorbell: bool = False):
        self.ring = ring
        self.sram_read = sram_read
        self.mem = mem
        self.inline_max = inline_max
        self.self_doorbell = self_doorbell
        self.cons = 0
        self.prod = 0
        self.used_idx = 0
        self.unwritten = UsedEntries()

    def doorbell(self, producer: int) -> None:
        if self.self_doorbell:
            # the write-watch window rings with the entry index modulo the ring size
            producer = (self.cons + (producer - self.cons) % self.ring.slots) & IDX_MASK
        ahead = (producer - self.cons) & IDX_MASK
        if ahead > self.ring.slots:
            raise RingError("producer_jump", f"producer index {producer} is {ahead} slots ahead on a ring of {self.ring.slots}")
        self.prod = producer

    async def pending(self) -> int:
        """Slots written and not taken. With self-doorbelling, a chain whose last slot has
        not arrived yet does not count: a partly written chain is never consumed."""
        ahead = (self.prod - self.cons) & IDX_MASK
        if not self.self_doorbell or not ahead:
            return ahead
        for k in range(ahead):
            flags = u16(await self.sram_read(self.ring.slot(self.cons + k) + PushEntry.FLAGS.offset, 2))
            if not flags & PushFlag.NEXT:
                return ahead
        return 0

    async def next_chain(self) -> Chain:
        bufs: list[Buf] = []
        buf_id = None
        while True:
            if not (self.prod - self.cons) & IDX_MASK:
                raise RingError("truncated_chain", "chain continues past the producer index")
            raw = await self.sram_read(self.ring.slot(self.cons), PushEntry.INLINE)
            sid, flags = u16(raw, PushEntry.ID.offset), u16(raw, PushEntry.FLAGS.offset)
            length, addr = u32(raw, PushEntry.LEN.offset), u64(raw, PushEntry.ADDR.offset)
            self.cons = (self.cons + 1) & IDX_MASK
            if buf_id is None:
                buf_id = sid
            elif sid != buf_id:
                raise RingError("bad_id", f"slot of chain {buf_id} carries id {sid}")
            if flags & ~int(PushFlag.NEXT | PushFlag.WRITE | PushFlag.INLINE) or (
                    flags & PushFlag.WRITE and flags & PushFlag.INLINE):
                raise RingError("bad_flags", f"push slot flags 0x{flags:x}")
            if length == 0:
                raise RingError("zero_length", f"push slot of chain {buf_id} has length 0")
            if flags & PushFlag.INLINE:
                if length > self.inline_max:
                    raise RingError("bad_length", f"inline length {length} above {self.inline_max}")
                data = await self.sram_read(self.ring.slot((self.cons - 1) & IDX_MASK) + PushEntry.INLINE, length)
                bufs.append(Buf(0, length, False, inline=data))
            else:
                bufs.append(Buf(addr, length, bool(flags & PushFlag.WRITE)))
            if len(bufs) > self.ring.slots:
                raise RingError("loop", "chain longer than the ring")
            if not flags & PushFlag.NEXT:
                return Chain(buf_id, bufs)

    async def push_used(self, buf_id: int, length: int) -> None:
        """One used entry, written with the batch by publish_used()."""
        self.unwritten.add(self.used_idx, buf_id, length)
        self.used_idx = (self.used_idx + 1) & IDX_MASK

    async def publish_used(self) -> bool:
        await self.unwritten.flush(self.mem, self.ring.used_slot, self.ring.slots)
        await self.mem.write(self.ring.used + SplitUsed.IDX.offset, self.used_idx.to_bytes(2, "little"))
        return True
