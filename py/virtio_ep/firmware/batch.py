"""Batch intake for the firmware: the ring read in bulk, every available chain found by the
vectorized processors (rings/vector*.py) in one call, then handed to the back end one
chain at a time exactly as the scalar path would (same chains, same first error).

Reads per batch, whatever its size: split, avail.idx then the avail entries and the
descriptor table (three DMA reads: the index first, so no entry is read before the index
that publishes it); packed, the descriptor ring (one DMA read); push, the occupied slots
through the local-bus window (no PCIe traffic). Indirect tables are fetched when the
processor asks for them (`NeedRanges`), one DMA read each.
"""

from __future__ import annotations

from ..layout import PushEntry, SplitAvail, SplitDesc
from ..rings.memory import Buf, Chain, Memory, RingError
from ..rings.packed import PackedDevice
from ..rings.push import PushDevice
from ..rings.split import IDX_MASK, SplitDevice
from ..rings.vector import ChainBatch, MemoryImage, NeedRanges, process_split
from ..rings.vector_packed import process_packed
from ..rings.vector_push import process_push

MAX_FETCH_ROUNDS = 4     # one per chain depth that reaches new memory (indirect: one)


async def run_fetching(image: MemoryImage, mem: Memory, process) -> ChainBatch:
    """Run `process()` on the image, reading whatever host memory it asks for."""
    for _ in range(MAX_FETCH_ROUNDS):
        try:
            return process()
        except NeedRanges as need:
            for addr, length in need.ranges:
                image.add(addr, await mem.read(addr, length))
    raise RingError("loop", f"the batch still needed new memory after {MAX_FETCH_ROUNDS} fetch rounds")


def chains_of(batch: ChainBatch, area: bytes = b"") -> list[Chain | RingError]:
    """The batch as the back end takes it: chains, and the error in place of a bad one."""
    out: list[Chain | RingError] = []
    for c in range(len(batch.heads)):
        if batch.errors[c]:
            out.append(RingError(batch.reason(c), f"chain {c} of a batch (head/id {int(batch.heads[c])}): "
                                 f"{batch.reason(c)}"))
            continue
        a, b = int(batch.offsets[c]), int(batch.offsets[c + 1])
        bufs = []
        for k in range(a, b):
            off = int(batch.inline_off[k]) if len(batch.inline_off) else -1
            inline = area[off:off + int(batch.lens[k])] if off >= 0 else None
            bufs.append(Buf(int(batch.addrs[k]), int(batch.lens[k]), bool(batch.writable[k]), inline=inline))
        out.append(Chain(int(batch.heads[c]), bufs))
    return out


async def take_split(ring: SplitDevice, mem: Memory) -> list[Chain | RingError]:
    r = ring.ring
    image = MemoryImage(fetchable=True)
    image.add(r.avail, await mem.read(r.avail, SplitAvail.RING))
    if (int.from_bytes(image.bytes_at(r.avail + SplitAvail.IDX.offset, 2), "little") - ring.last_avail) & IDX_MASK == 0:
        return []
    image.add(r.avail + SplitAvail.RING, await mem.read(r.avail + SplitAvail.RING, SplitAvail.ENTRY * r.size))
    image.add(r.desc, await mem.read(r.desc, SplitDesc.SIZE * r.size))
    batch = await run_fetching(image, mem, lambda: process_split(image, r.desc, r.avail, r.size, ring.last_avail,
                                                                 ring.windows))
    ring.last_avail = batch.next_avail
    return chains_of(batch)


async def take_packed(ring: PackedDevice, mem: Memory) -> list[Chain | RingError]:
    r = ring.ring
    image = MemoryImage(fetchable=True)
    image.add(r.desc, await mem.read(r.desc, SplitDesc.SIZE * r.size))
    batch = await run_fetching(image, mem, lambda: process_packed(image, r.desc, r.size, ring.next_avail,
                                                                  ring.avail_wrap, ring.windows))
    good = batch.errors == 0
    ring.in_flight.extend(int(n) for n in batch.desc_counts[good])
    ring.next_avail, ring.avail_wrap = batch.next_avail, batch.next_wrap
    return chains_of(batch)


async def take_push(ring: PushDevice) -> list[Chain | RingError]:
    r = ring.ring
    ahead = (ring.prod - ring.cons) & IDX_MASK
    if not ahead:
        return []
    area = bytearray(PushEntry.SIZE * r.slots)
    first = ring.cons % r.slots
    for start, count in ((first, min(ahead, r.slots - first)), (0, max(0, ahead - (r.slots - first)))):
        if count:
            span = PushEntry.SIZE * count
            area[PushEntry.SIZE * start:PushEntry.SIZE * start + span] = await ring.sram_read(r.slot(start), span)
    batch = process_push(bytes(area), r.slots, ring.cons, ring.prod, ring.self_doorbell, ring.inline_max)
    ring.cons = batch.next_avail
    return chains_of(batch, bytes(area))
