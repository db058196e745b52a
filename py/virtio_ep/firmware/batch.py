"""Batch intake for the firmware: the ring read in bulk, every available chain found by the
vectorized processors (rings/vector*.py) in one call, then handed to the back end one
chain at a time exactly as the scalar path would (same chains, same first error).

Reads per batch: split, avail.idx, then the new avail entries, then the descriptors from
the lowest head to one past the highest (three DMA reads, four when the entries wrap: the
index first, so no entry is read before the index that publishes it), or, when the heads
are scattered so that this span costs more local-bus words, each head's descriptors with
their DMAs started together; packed, a window of
the ring from the next available position (one DMA read, two when it wraps); the rest of
the table in one more round only if a chain leaves what was read. Push, the occupied
slots through the local-bus window (no PCIe traffic). Indirect tables are fetched when the
processor asks for them (`NeedRanges`), one DMA read each.
"""

from __future__ import annotations

from ..layout import PackedDesc, PushEntry, SplitAvail, SplitDesc
from ..rings.memory import Buf, Chain, Memory, RingError
from ..rings.packed import PackedDevice
from ..rings.push import PushDevice
from ..rings.split import IDX_MASK, SplitDevice
from ..rings.vector import ChainBatch, MemoryImage, NeedRanges, process_split, process_split_in_order
from ..rings.vector_packed import WindowTooSmall, process_packed
from ..rings.vector_push import process_push

MAX_FETCH_ROUNDS = 4     # one per chain depth that reaches new memory (indirect: one)


async def run_fetching(image: MemoryImage, mem: Memory, process, widen=lambda ranges: ranges) -> ChainBatch:
    """Run `process()` on the image, reading whatever host memory it asks for (`widen` maps
    the ranges asked for to the ranges to read: a ring's own table is read whole, once)."""
    for _ in range(MAX_FETCH_ROUNDS):
        try:
            return process()
        except NeedRanges as need:
            for addr, length in widen(need.ranges):
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


def ring_spans(first: int, count: int, size: int) -> list[tuple[int, int]]:
    """(start, count) runs of `count` ring positions from `first`, split where they wrap."""
    first %= size
    head = min(count, size - first)
    return [(first, head)] + ([(0, count - head)] if count > head else [])


class TableReads:
    """A ring's descriptor table read in parts: the part first asked for, and on a miss
    inside the table, every part not yet read (so at most one more read round, and no two
    segments of the image overlap)."""

    def __init__(self, base: int, size: int):
        self.base, self.size = base, size
        self.held = [False] * size

    def part(self, first: int, count: int) -> list[tuple[int, int]]:
        """Host ranges of table entries [first, first + count) (wrapping), marked read."""
        out = []
        for start, n in ring_spans(first, count, self.size):
            out.append((self.base + SplitDesc.SIZE * start, SplitDesc.SIZE * n))
            self.held[start:start + n] = [True] * n
        return out

    def widen(self, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        end = self.base + SplitDesc.SIZE * self.size
        outside = [(a, n) for a, n in ranges if not self.base <= a < end]
        if len(outside) == len(ranges):
            return outside
        rest, k = [], 0
        while k < self.size:
            if self.held[k]:
                k += 1
                continue
            j = k
            while j < self.size and not self.held[j]:
                j += 1
            rest += self.part(k, j - k)
            k = j
        return outside + rest


# local-bus words a DMA read costs the firmware besides its data: STATUS, five descriptor
# registers, and its result (DONE_HEAD, DONE_POP)
DMA_WORDS = 8


def head_runs(heads: list[int], size: int) -> list[tuple[int, int]]:
    """(first, count) runs of table entries covering each head and the one after it (a
    chain's next descriptor is most often the following one), runs at most two entries
    apart merged (copying the gap costs less than another DMA)."""
    runs: list[list[int]] = []
    for h in sorted(set(heads)):
        end = min(size, h + 2)
        if runs and h - runs[-1][1] <= 2:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([h, end])
    return [(a, b - a) for a, b in runs]


async def read_into(image: MemoryImage, mem: Memory, ranges: list[tuple[int, int]]) -> None:
    for addr, length in ranges:
        image.add(addr, await mem.read(addr, length))


async def take_split(ring: SplitDevice, mem: Memory) -> list[Chain | RingError]:
    """Reads what the new chains need: avail.idx, the new avail entries, the descriptor
    table from the lowest head to one past the highest (a chain's next descriptor is most
    often the one after its head), or each head's descriptors gathered when that costs
    fewer local-bus words; the rest of the table only if a chain leaves what was read."""
    if ring.in_order:
        return await take_split_in_order(ring, mem)
    r = ring.ring
    image = MemoryImage(fetchable=True)
    known = ring.known_avail if ring.notification_data else None
    if known is None:
        image.add(r.avail, await mem.read(r.avail, SplitAvail.RING))
        known = int.from_bytes(image.bytes_at(r.avail + SplitAvail.IDX.offset, 2), "little")
        ring.known_avail = known
    new = (known - ring.last_avail) & IDX_MASK
    if new == 0:
        return []
    heads = []
    for start, n in ring_spans(ring.last_avail, min(new, r.size), r.size):
        addr = r.avail + SplitAvail.RING + SplitAvail.ENTRY * start
        entries = await mem.read(addr, SplitAvail.ENTRY * n)
        image.add(addr, entries)
        heads += [int.from_bytes(entries[k:k + 2], "little") for k in range(0, len(entries), 2)]
    table = TableReads(r.desc, r.size)
    inside = [h for h in heads if h < r.size]
    if inside:
        lo, hi = min(inside), max(inside)
        runs = head_runs(inside, r.size)
        span_words = (min(r.size, hi + 2) - lo) * SplitDesc.SIZE // 4
        if hasattr(mem, "read_many") and sum(DMA_WORDS + n * SplitDesc.SIZE // 4 for _, n in runs) < span_words:
            # heads scattered over the table: each head's descriptors, the reads started together
            parts = [p for first, n in runs for p in table.part(first, n)]
            for (addr, _), data in zip(parts, await mem.read_many(parts)):
                image.add(addr, data)
        else:
            await read_into(image, mem, table.part(lo, min(r.size, hi + 2) - lo))
    batch = await run_fetching(image, mem, lambda: process_split(image, r.desc, r.avail, r.size, ring.last_avail,
                                                                 ring.windows, avail_idx=known), table.widen)
    ring.last_avail = batch.next_avail
    return chains_of(batch)


# in-order intake's guess of descriptors per chain before it has seen one (a net frame with
# its header apart); then the most a chain of this ring has taken. A guess too long costs
# bytes, and a second request where the read crosses the engine's MRRS-aligned boundary or
# the table's end; one too short, a second read for the rest of the table
SPLIT_DESCS_PER_CHAIN = 2


async def take_split_in_order(ring: SplitDevice, mem: Memory) -> list[Chain | RingError]:
    """VIRTIO_F_IN_ORDER: no avail entry is read. The new chains' descriptors lie one after
    another from the next head: one read of the table from there, sized by the most
    descriptors a chain has taken so far (SPLIT_DESCS_PER_CHAIN before any), the rest of
    the table in one more read only if the chains run past it."""
    r = ring.ring
    new = await ring.pending()
    if new == 0:
        return []
    per_chain = ring.descs_per_chain or SPLIT_DESCS_PER_CHAIN
    count = min(r.size, new * per_chain)
    image = MemoryImage(fetchable=True)
    table = TableReads(r.desc, r.size)
    await read_into(image, mem, table.part(ring.next_desc, count))
    batch = await run_fetching(image, mem, lambda: process_split_in_order(
        image, r.desc, r.size, ring.next_desc, ring.last_avail, ring.known_avail, ring.windows,
        r.size if all(table.held) else count), table.widen)
    taken = (batch.next_avail - ring.next_desc) % r.size or (r.size if len(batch.heads) else 0)
    ring.descs_per_chain = max(ring.descs_per_chain, -(-taken // max(1, len(batch.heads))))
    ring.next_desc = batch.next_avail
    ring.last_avail = (ring.last_avail + len(batch.heads)) & IDX_MASK
    return chains_of(batch)


PACKED_WINDOW_MIN = 8       # descriptors a packed batch reads at least


def packed_window(ring_size: int, last_descs: int) -> int:
    """Descriptors a packed batch reads: twice what the last batch took, at least
    PACKED_WINDOW_MIN, at most the ring (the load model plays the same rule: packed_intake)."""
    return min(ring_size, max(PACKED_WINDOW_MIN, 2 * last_descs))


async def take_packed(ring: PackedDevice, mem: Memory) -> list[Chain | RingError]:
    """Reads a window of the ring from next_avail: twice the descriptors the last batch
    took (at least PACKED_WINDOW_MIN); a window whose descriptors are all available is
    taken up to its last whole chain, and the rest comes with the next batch."""
    r = ring.ring
    if ring.notification_data:          # the notification said how many are there: read exactly those
        if not ring.known_ahead:
            return []
        count = ring.known_ahead
    else:
        count = packed_window(r.size, ring.batch_descs)
    image = MemoryImage(fetchable=True)
    table = TableReads(r.desc, r.size)
    await read_into(image, mem, table.part(ring.next_avail, count))

    def process():
        try:
            return process_packed(image, r.desc, r.size, ring.next_avail, ring.avail_wrap, ring.windows,
                                  r.size if all(table.held) else count)
        except WindowTooSmall:              # a chain longer than the window: the whole ring
            raise NeedRanges([(r.desc, PackedDesc.SIZE)]) from None
    batch = await run_fetching(image, mem, process, table.widen)
    good = batch.errors == 0
    ring.in_flight.extend(int(n) for n in batch.desc_counts[good])
    ring.batch_descs = int(batch.desc_counts.sum())
    ring.took(ring.batch_descs)
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
