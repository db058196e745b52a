"""Property tests of the ring code (no simulation): the vectorized split, packed and push
processors against the scalar reference on random, often malformed rings, near the 16-bit index
wrap; and the ring layouts and notification arithmetic against the virtio definitions."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
from hypothesis import given, settings, strategies as st

from virtio_ep.firmware.batch import take_split
from virtio_ep.host.pcie_host import HostTimeout
from virtio_ep.host.queues import BufferPool, DriverQueue
from virtio_ep.host.virtio_core import QueueConfig
from virtio_ep.layout import (PUSH_INLINE_MAX, DescFlag, PushEntry, PushFlag, SplitAvail, SplitDesc, SplitUsed,
                              VirtioFeature)
from virtio_ep.rings.memory import RingError
from virtio_ep.rings.packed import PackedDevice, PackedRing
from virtio_ep.rings.packed import avail_flags as packed_avail_flags, pack_desc as packed_desc
from virtio_ep.rings.packed import used_flags as packed_used_flags
from virtio_ep.rings.push import PushDevice, PushRing, pack_entry as push_pack_entry
from virtio_ep.rings.split import SplitDevice, SplitDriver, SplitRing, need_event, pack_desc
from virtio_ep.rings.vector import MemoryImage, process_split
from virtio_ep.rings.vector_packed import WindowTooSmall, process_packed
from virtio_ep.rings.vector_push import process_push

BASE = 0x10000
IMAGE = 0x4000


class ImageMemory:
    """Async view of a bytes image for the scalar reference."""

    def __init__(self, data: bytearray):
        self.data = data

    async def read(self, addr: int, length: int) -> bytes:
        if addr < BASE or addr + length > BASE + len(self.data):
            raise RingError("address", f"read outside memory at 0x{addr:x}")
        return bytes(self.data[addr - BASE:addr - BASE + length])

    async def write(self, addr: int, data: bytes) -> None:
        self.data[addr - BASE:addr - BASE + len(data)] = data


@st.composite
def rings(draw):
    size = draw(st.sampled_from([4, 8, 16, 32]))
    image = bytearray(IMAGE)
    desc, avail = BASE, BASE + 0x400
    tables = BASE + 0x800                      # indirect tables area
    window = (BASE + 0x1000, BASE + IMAGE)     # buffers must be here
    flag_choices = [0, DescFlag.NEXT, DescFlag.WRITE, DescFlag.NEXT | DescFlag.WRITE, DescFlag.INDIRECT, 0x10]

    def rand_desc(table_size: int, allow_indirect: bool) -> bytes:
        flags = draw(st.sampled_from(flag_choices if allow_indirect else flag_choices[:4] + [DescFlag.INDIRECT]))
        if flags & DescFlag.INDIRECT:
            n = draw(st.integers(0, 4))
            addr = tables + 0x40 * draw(st.integers(0, 15)) + draw(st.sampled_from([0, 0, 0, 8]))
            return pack_desc(addr, n * SplitDesc.SIZE + draw(st.sampled_from([0, 0, 0, 4])), int(flags), 0)
        addr = draw(st.integers(window[0] - 64, window[1] - 16))
        length = draw(st.sampled_from([0, 1, 16, 64, 200]))
        return pack_desc(addr, length, int(flags), draw(st.integers(0, table_size + 1)))

    for i in range(size):
        image[desc - BASE + 16 * i:desc - BASE + 16 * i + 16] = rand_desc(size, True)
    for t in range(16):
        for k in range(4):
            off = tables - BASE + 0x40 * t + 16 * k
            image[off:off + 16] = rand_desc(4, False)
    last_avail = draw(st.integers(0xFFF0, 0xFFFF + 8)) & 0xFFFF
    count = draw(st.integers(0, size + 1))
    for j in range(size):
        slot = avail - BASE + SplitAvail.RING + 2 * ((last_avail + j) % size)
        image[slot:slot + 2] = struct.pack("<H", draw(st.integers(0, size + 2)))
    image[avail - BASE + 2:avail - BASE + 4] = struct.pack("<H", (last_avail + count) & 0xFFFF)
    return image, desc, avail, size, last_avail, [window]


def scalar(image, desc, avail, size, last_avail, windows):
    async def run():
        dev = SplitDevice(SplitRing(desc, avail, BASE + 0x3000, size), ImageMemory(bytearray(image)), windows=windows)
        dev.last_avail = last_avail
        n = await dev.pending()
        out = []
        for _ in range(n):
            try:
                chain = await dev.next_chain()
                out.append(("", chain.head, [(b.addr, b.length, b.writable) for b in chain.bufs]))
            except RingError as exc:
                out.append((exc.reason, None, []))
        return out, dev.last_avail
    return asyncio.run(run())


class GatherMemory(ImageMemory):
    """ImageMemory with the firmware DMA view's `read_many`, counting the bytes each way reads."""

    def __init__(self, data: bytearray):
        super().__init__(data)
        self.read_bytes = self.gathered_bytes = 0

    async def read(self, addr: int, length: int) -> bytes:
        self.read_bytes += length
        return await super().read(addr, length)

    async def read_many(self, ranges: list[tuple[int, int]]) -> list[bytes]:
        self.gathered_bytes += sum(n for _, n in ranges)
        return [await super(GatherMemory, self).read(a, n) for a, n in ranges]


def batch_intake(image, desc, avail, size, last_avail, windows, mem_class=GatherMemory):
    async def run():
        mem = mem_class(bytearray(image))
        dev = SplitDevice(SplitRing(desc, avail, BASE + 0x3000, size), mem, windows=windows)
        dev.last_avail = last_avail
        out = [("", c.head, [(b.addr, b.length, b.writable) for b in c.bufs]) if not isinstance(c, RingError)
               else (c.reason, None, []) for c in await take_split(dev, mem)]
        return (out, dev.last_avail), mem
    return asyncio.run(run())


@settings(max_examples=300, deadline=None)
@given(rings())
def test_batch_intake_matches_scalar(ring):
    """The firmware's split batch intake (lean reads: the span of the heads, or each head's
    descriptors gathered when they are scattered) takes what the scalar reference takes:
    the same chains and first error, and the same ring position after."""
    try:
        expect = scalar(*ring)
    except RingError as exc:
        try:
            batch_intake(*ring)
        except RingError as got:
            assert got.reason == exc.reason
            return
        raise AssertionError(f"scalar raised {exc.reason}, batch intake did not")
    got, _ = batch_intake(*ring)
    assert got == expect


def test_scattered_heads_are_gathered():
    """Four chains whose heads lie across a table of 256: their descriptors are read each
    with its neighbour (8 of the 256 entries), not the 251 from the lowest head to the
    highest."""
    size = 256
    image = bytearray(0x8000)
    desc, avail = BASE, BASE + 0x1000
    heads = [3, 90, 170, 250]
    for k, h in enumerate(heads):
        off = desc - BASE + SplitDesc.SIZE * h
        image[off:off + SplitDesc.SIZE] = pack_desc(BASE + 0x6000 + 0x100 * k, 64, 0, 0)
        slot = avail - BASE + SplitAvail.RING + 2 * k
        image[slot:slot + 2] = struct.pack("<H", h)
    image[avail - BASE + 2:avail - BASE + 4] = struct.pack("<H", len(heads))
    ring = (image, desc, avail, size, 0, None)
    got, mem = batch_intake(*ring)
    assert got == scalar(*ring)
    assert mem.gathered_bytes == 2 * len(heads) * SplitDesc.SIZE, mem.gathered_bytes
    _, plain = batch_intake(*ring, mem_class=ImageMemory)        # no read_many: the span
    assert isinstance(plain, ImageMemory)


@settings(max_examples=300, deadline=None)
@given(rings())
def test_vector_matches_scalar(ring):
    image, desc, avail, size, last_avail, windows = ring
    try:
        expect, next_avail = scalar(image, desc, avail, size, last_avail, windows)
    except RingError as exc:
        try:
            process_split(MemoryImage(BASE, bytes(image)), desc, avail, size, last_avail, windows)
        except RingError as vexc:
            assert vexc.reason == exc.reason
            return
        raise AssertionError(f"scalar raised {exc.reason}, vector did not")
    batch = process_split(MemoryImage(BASE, bytes(image)), desc, avail, size, last_avail, windows)
    assert batch.next_avail == next_avail
    assert len(batch.heads) == len(expect)
    for c, (reason, head, bufs) in enumerate(expect):
        assert batch.reason(c) == reason, f"chain {c}: vector {batch.reason(c)!r}, scalar {reason!r}"
        if not reason:
            assert batch.buffers(c) == bufs, f"chain {c}"
            assert int(batch.in_len[c]) == sum(n for _, n, w in bufs if w)
            assert int(batch.out_len[c]) == sum(n for _, n, w in bufs if not w)
    assert [int(h) for h in batch.used_ids] == [h for r, h, _ in expect if not r]


def test_well_formed_batch_is_error_free():
    """A ring built by the rules (chains of 1..3, readable before writable) has no error:
    the properties above are not passing vacuously on broken rings only."""
    size, image = 16, bytearray(IMAGE)
    desc, avail = BASE, BASE + 0x400
    heads, i = [], 0
    while i + 3 <= size:
        n = 1 + len(heads) % 3
        for k in range(n):
            flags = (DescFlag.NEXT if k + 1 < n else 0) | (DescFlag.WRITE if k == n - 1 and n > 1 else 0)
            image[16 * (i + k):16 * (i + k) + 16] = pack_desc(BASE + 0x2000 + 64 * (i + k), 32, int(flags), i + k + 1)
        heads.append(i)
        i += n
    for j, h in enumerate(heads):
        off = avail - BASE + SplitAvail.RING + 2 * ((0xFFFE + j) % size)
        image[off:off + 2] = struct.pack("<H", h)
    image[avail - BASE + 2:avail - BASE + 4] = struct.pack("<H", (0xFFFE + len(heads)) & 0xFFFF)
    batch = process_split(MemoryImage(BASE, bytes(image)), desc, avail, size, 0xFFFE)
    assert not batch.errors.any() and list(batch.used_ids) == heads
    assert batch.next_avail == (0xFFFE + len(heads)) & 0xFFFF


def test_layouts_match_virtio():
    """Split ring structures and sizes as virtio 1.2, 2.7 defines them."""
    assert SplitDesc.SIZE == 16 and (SplitDesc.ADDR.offset, SplitDesc.LEN.offset, SplitDesc.FLAGS.offset,
                                     SplitDesc.NEXT.offset) == (0, 8, 12, 14)
    assert (SplitAvail.FLAGS.offset, SplitAvail.IDX.offset, SplitAvail.RING) == (0, 2, 4)
    assert (SplitUsed.FLAGS.offset, SplitUsed.IDX.offset, SplitUsed.RING, SplitUsed.ENTRY) == (0, 2, 4, 8)
    assert (int(DescFlag.NEXT), int(DescFlag.WRITE), int(DescFlag.INDIRECT)) == (1, 2, 4)
    ring = SplitRing(0x1000, 0x2000, 0x3000, 256)
    assert ring.used_event == 0x2000 + 4 + 2 * 256 and ring.avail_event == 0x3000 + 4 + 8 * 256


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0x7FFF))
def test_need_event_matches_virtio(event, old, step):
    """vring_need_event: notify iff event lies in [old, new) modulo 2**16."""
    new = (old + step) & 0xFFFF
    expected = ((event - old) & 0xFFFF) < step
    assert need_event(event, new, old) == expected


def test_need_event_at_the_window_edges():
    """The edges random draws almost never hit: event just before old, at old, at new - 1,
    at new and just after, across the 16-bit wrap (an off-by-one in the comparison shows)."""
    for old in (0, 1, 1000, 0xFFFE, 0xFFFF):
        for step in (0, 1, 2, 5, 0x7FFF):
            new = (old + step) & 0xFFFF
            for event in {(old - 1) & 0xFFFF, old, (old + 1) & 0xFFFF, (new - 1) & 0xFFFF, new, (new + 1) & 0xFFFF}:
                expected = ((event - old) & 0xFFFF) < step
                assert need_event(event, new, old) == expected, (event, new, old)



class DriverRacesUsedIdx(ImageMemory):
    """The driver re-enables callbacks while the device publishes: just before the device's
    used.idx write lands, the driver sets used_event to the index it has seen and finds
    nothing new (virtqueue_enable_cb_prepare, then more_used). It then sleeps and relies
    on an interrupt."""

    def __init__(self, data: bytearray, ring: SplitRing):
        super().__init__(data)
        self.ring = ring

    async def write(self, addr: int, data: bytes) -> None:
        if addr == self.ring.used + SplitUsed.IDX.offset:
            seen = self.data[addr - BASE:addr - BASE + 2]
            await super().write(self.ring.used_event, bytes(seen))
        await super().write(addr, data)


def test_used_event_read_after_used_idx_write():
    """The device reads used_event only after its used.idx write (Linux's vhost_notify puts
    a full barrier between them, paired with the driver's in virtqueue_enable_cb), or a
    driver that re-enabled callbacks in between loses its interrupt. Before the race the
    driver had suppressed interrupts far ahead."""
    ring = SplitRing(BASE, BASE + 0x1000, BASE + 0x2000, 8)
    image = bytearray(0x3000)
    mem = DriverRacesUsedIdx(image, ring)
    image[ring.used_event - BASE:ring.used_event - BASE + 2] = (100).to_bytes(2, "little")
    dev = SplitDevice(ring, mem, event_idx=True)

    async def complete_one() -> bool:
        await dev.push_used(0, 64)
        return await dev.publish_used()
    assert asyncio.run(complete_one()), "no interrupt: used_event was read before used.idx was written"


def test_driver_init_clears_a_stale_avail_event():
    """Ring memory used before (a device's BAR0, where the restable transport's rings live)
    may hold an old avail_event: the driver's init zeroes its rings whole, as Linux's zeroed
    allocation does, so its first buffer is kicked. Without it the kick is held back until
    the driver's index reaches the stale one."""
    ring = SplitRing(BASE, BASE + 0x1000, BASE + 0x2000, 8)
    mem = ImageMemory(bytearray(b"\xa5" * 0x3000))
    drv = SplitDriver(ring, mem, event_idx=True)

    async def first_kick() -> bool:
        await drv.init()
        await drv.add([(BASE + 0x2800, 64, False)])
        return await drv.publish()
    assert asyncio.run(first_kick()), "the first buffer was not kicked: a stale avail_event survived init"


class DevicePublishesDuringLook(ImageMemory):
    """The device publishes one more used entry just after the driver reads used.idx and
    before the driver moves used_event past what it read: the device decides with the old
    used_event, which asks for no interrupt."""

    def __init__(self, data: bytearray, ring: SplitRing, late_head: int):
        super().__init__(data)
        self.ring = ring
        self.device = SplitDevice(ring, ImageMemory(data), event_idx=True)
        self.late_head = late_head
        self.device_wanted_msi = None

    async def read(self, addr: int, length: int) -> bytes:
        got = await super().read(addr, length)
        if addr == self.ring.used + SplitUsed.IDX.offset and self.device_wanted_msi is None:
            await self.device.push_used(self.late_head, 0)
            self.device_wanted_msi = await self.device.publish_used()
        return got


class NoMsiHost:
    """A host whose interrupts never come: a driver that sleeps on one times out."""

    def now_ns(self) -> int:
        return 0

    def msi_count(self, vector: int) -> int:
        return 0

    async def wait_msi(self, vector: int, count: int, timeout_ns: int) -> None:
        raise HostTimeout(f"MSI {vector}: the driver slept although a used entry was there")


def test_driver_looks_again_after_rearming():
    """After it moves used_event, the driver reads used.idx again before sleeping on the
    queue's interrupt (Linux: virtqueue_enable_cb, then virtqueue_poll). The device
    published in between and, with the old used_event, sent no interrupt: a driver that
    sleeps at once waits for one that never comes."""
    ring = SplitRing(BASE, BASE + 0x1000, BASE + 0x2000, 8)
    image = bytearray(IMAGE)
    mem = DevicePublishesDuringLook(image, ring, late_head=1)
    cfg = QueueConfig(0, 8, ring.desc, ring.avail, ring.used, msi_vector=3)
    queue = DriverQueue(NoMsiHost(), cfg, mem, BufferPool(lambda size: BASE + 0x3000, 0x800),
                        features=1 << VirtioFeature.EVENT_IDX)

    async def two_requests() -> list[tuple[int, int]]:
        await queue.init()
        heads = [await queue.add([bytes(16)], []) for _ in range(2)]
        assert heads == [0, 1], heads
        await mem.device.push_used(0, 0)               # the first completes before the driver looks
        await mem.device.publish_used()
        return await queue.wait_used(2, timeout_ns=1_000)
    assert asyncio.run(two_requests()) == [(0, 0), (1, 0)]
    assert mem.device_wanted_msi is False, "the race did not happen: the device asked for an interrupt"


# -- packed rings ---------------------------------------------------------------------------

PACKED_FLAG_CHOICES = [0, DescFlag.NEXT, DescFlag.WRITE, DescFlag.NEXT | DescFlag.WRITE, DescFlag.INDIRECT,
                       DescFlag.INDIRECT | DescFlag.NEXT, 0x10]


@st.composite
def packed_rings(draw, clean: bool = False):
    """A packed ring where most descriptors are available for the driver's wrap counter
    (some with the other counter, some used), chains of any shape, indirect tables.
    `clean`: every descriptor available and well formed (long runs of good chains)."""
    size = draw(st.sampled_from([4, 8, 16]))
    image = bytearray(IMAGE)
    desc, tables = BASE, BASE + 0x800
    window = (BASE + 0x1000, BASE + IMAGE)
    next_avail, wrap = draw(st.integers(0, size - 1)), draw(st.integers(0, 1))

    def rand_desc(position: int | None) -> bytes:
        flags = int(draw(st.sampled_from(PACKED_FLAG_CHOICES[:4] if clean else PACKED_FLAG_CHOICES)))
        if position is not None:             # ring descriptor: availability for the wrap it is read with
            w = wrap ^ (position >= size)
            state = "avail" if clean else draw(st.sampled_from(["avail"] * 6 + ["used", "other"]))
            flags |= {"avail": packed_avail_flags(w), "used": packed_used_flags(w), "other": packed_avail_flags(w ^ 1)}[state]
        if flags & DescFlag.INDIRECT:
            addr = tables + 0x40 * draw(st.integers(0, 15)) + draw(st.sampled_from([0, 0, 0, 8, 0x10000]))
            length = draw(st.integers(0, 4)) * 16 + draw(st.sampled_from([0, 0, 0, 4]))
        else:
            addr = draw(st.integers(window[0] - (0 if clean else 64), window[1] - (256 if clean else 16)))
            length = draw(st.sampled_from([1, 16, 64, 200] if clean else [0, 1, 16, 64, 200]))
        return packed_desc(addr, length, draw(st.integers(0, size - 1)), flags)

    for k in range(size):
        slot = (next_avail + k) % size
        image[16 * slot:16 * slot + 16] = rand_desc(next_avail + k)
    for t in range(16):
        for k in range(4):
            off = tables - BASE + 0x40 * t + 16 * k
            image[off:off + 16] = rand_desc(None)
    return image, desc, size, next_avail, wrap, [window]


def packed_scalar(image, desc, size, next_avail, wrap, windows):
    async def run():
        dev = PackedDevice(PackedRing(desc, BASE + 0x3000, BASE + 0x3100, size), ImageMemory(bytearray(image)), windows)
        dev.next_avail, dev.avail_wrap = next_avail, wrap
        out = []
        for _ in range(size + 1):
            if not await dev.pending():
                break
            try:
                chain = await dev.next_chain()
            except RingError as exc:
                out.append((exc.reason, None, []))
                break
            out.append(("", chain.head, [(b.addr, b.length, b.writable) for b in chain.bufs]))
        return out, (dev.next_avail, dev.avail_wrap), dev.in_flight
    return asyncio.run(run())


def assert_batch_matches(batch, expect):
    assert len(batch.heads) == len(expect), f"vector {len(batch.heads)} chains, scalar {len(expect)}"
    for c, (reason, head, bufs) in enumerate(expect):
        assert batch.reason(c) == reason, f"chain {c}: vector {batch.reason(c)!r}, scalar {reason!r}"
        if not reason:
            assert int(batch.heads[c]) == head
            assert batch.buffers(c) == bufs, f"chain {c}"
            assert int(batch.in_len[c]) == sum(n for _, n, w in bufs if w)
            assert int(batch.out_len[c]) == sum(n for _, n, w in bufs if not w)
    assert [int(h) for h in batch.used_ids] == [h for r, h, _ in expect if not r]


@settings(max_examples=400, deadline=None)
@given(packed_rings())
def test_packed_vector_matches_scalar(ring):
    image, desc, size, next_avail, wrap, windows = ring
    expect, state, counts = packed_scalar(image, desc, size, next_avail, wrap, windows)
    batch = process_packed(MemoryImage(BASE, bytes(image)), desc, size, next_avail, wrap, windows)
    assert_batch_matches(batch, expect)
    good = [r for r, _, _ in expect if not r]
    assert [int(x) for x in batch.desc_counts[:len(good)]] == counts[:len(good)]
    if len(good) == len(expect):             # no error: the ring state after the batch agrees
        assert (batch.next_avail, batch.next_wrap) == state


@settings(max_examples=400, deadline=None)
@given(st.one_of(packed_rings(), packed_rings(clean=True)), st.integers(1, 16))
def test_packed_window_takes_a_prefix_of_whole_chains(ring, count):
    """The firmware's batch intake reads a window of `count` descriptors: what it takes is
    the whole-ring batch's first chains, unchanged, never a chain cut at the window's end;
    the ring position after it is where the next of those chains starts."""
    image, desc, size, next_avail, wrap, windows = ring
    full = process_packed(MemoryImage(BASE, bytes(image)), desc, size, next_avail, wrap, windows)
    try:
        part = process_packed(MemoryImage(BASE, bytes(image)), desc, size, next_avail, wrap, windows, count)
    except WindowTooSmall:
        assert count < size and len(full.heads) and (full.errors[0] or int(full.desc_counts[0]) > count), \
            "the window was called too small although a whole chain fits in it"
        return
    m = len(part.heads)
    if count >= size:
        assert m == len(full.heads)
    assert m <= len(full.heads)
    for c in range(m):
        assert part.reason(c) == full.reason(c), f"chain {c}: window {part.reason(c)!r}, whole {full.reason(c)!r}"
        if not part.errors[c]:
            assert int(part.heads[c]) == int(full.heads[c]) and part.buffers(c) == full.buffers(c), f"chain {c}"
    if m < len(full.heads):
        assert not part.errors.any(), "a window batch ended in error before the whole batch did"
        new = next_avail + int(full.desc_counts[:m].sum())
        assert (part.next_avail, part.next_wrap) == (new % size, wrap ^ ((new // size) & 1))


def test_packed_well_formed_wraps_without_error():
    """Chains of 1..3 descriptors crossing the end of the ring: all taken, wrap flipped."""
    size, image = 8, bytearray(IMAGE)
    pos, wrap, ids = 5, 1, []
    for n in (2, 3, 1):
        for k in range(n):
            slot, w = (pos + k) % size, wrap ^ ((pos + k) >= size)
            flags = packed_avail_flags(w) | (DescFlag.NEXT if k + 1 < n else 0) | (DescFlag.WRITE if k == n - 1 else 0)
            image[16 * slot:16 * slot + 16] = packed_desc(BASE + 0x2000 + 64 * slot, 32, len(ids), flags)
        ids.append(len(ids))
        pos += n
    batch = process_packed(MemoryImage(BASE, bytes(image)), BASE, size, 5, 1)
    assert not batch.errors.any() and list(batch.used_ids) == ids
    assert (batch.next_avail, batch.next_wrap) == (pos % size, 0)
    assert list(batch.desc_counts) == [2, 3, 1]


# -- push rings -------------------------------------------------------------------------------

@st.composite
def push_rings(draw):
    slots = draw(st.sampled_from([4, 8, 16]))
    self_doorbell = draw(st.booleans())
    area = bytearray(slots * PushEntry.SIZE)
    cons = draw(st.integers(0xFFF0, 0xFFFF + 8)) & 0xFFFF
    ahead = draw(st.integers(0, slots - 1 if self_doorbell else slots))
    buf_id = draw(st.integers(0, 0xFFFF))
    for k in range(slots):
        flags = int(draw(st.sampled_from([0, PushFlag.NEXT, PushFlag.INLINE, PushFlag.INLINE | PushFlag.NEXT,
                                          PushFlag.WRITE, PushFlag.WRITE | PushFlag.NEXT, PushFlag.WRITE | PushFlag.INLINE,
                                          0x8])))
        if not flags & PushFlag.NEXT:
            buf_id_next = draw(st.integers(0, 0xFFFF))
        sid = buf_id if draw(st.integers(0, 9)) else draw(st.integers(0, 0xFFFF))
        length = draw(st.sampled_from([0, 1, 64, PUSH_INLINE_MAX, PUSH_INLINE_MAX + 1, 4096]))
        inline = bytes(draw(st.integers(0, 255)) for _ in range(min(length, PUSH_INLINE_MAX))) if flags & PushFlag.INLINE else b""
        entry = push_pack_entry(sid, flags, length, draw(st.integers(0, 1 << 40)), inline)
        slot = (cons + k) % slots
        area[slot * PushEntry.SIZE:slot * PushEntry.SIZE + len(entry)] = entry
        if not flags & PushFlag.NEXT:
            buf_id = buf_id_next
    return bytes(area), slots, cons, (cons + ahead) & 0xFFFF, self_doorbell


def push_scalar(area, slots, cons, prod, self_doorbell):
    async def sram_read(offset: int, length: int) -> bytes:
        return area[offset:offset + length]

    async def run():
        dev = PushDevice(PushRing(0, slots, 0), sram_read, None, self_doorbell=self_doorbell)
        dev.cons = cons
        dev.doorbell(prod)
        out = []
        while await dev.pending():
            try:
                chain = await dev.next_chain()
            except RingError as exc:
                out.append((exc.reason, None, []))
                break
            out.append(("", chain.head, [(b.addr, b.length, b.writable, b.inline) for b in chain.bufs]))
        return out, dev.cons, dev.prod
    return asyncio.run(run())


@settings(max_examples=400, deadline=None)
@given(push_rings())
def test_push_vector_matches_scalar(ring):
    area, slots, cons, prod, self_doorbell = ring
    expect, next_cons, scalar_prod = push_scalar(area, slots, cons, prod, self_doorbell)
    batch = process_push(area, slots, cons, scalar_prod, self_doorbell)
    assert_batch_matches(batch, [(r, h, [b[:3] for b in bufs]) for r, h, bufs in expect])
    for c, (reason, _, bufs) in enumerate(expect):
        if not reason:
            a, b = batch.offsets[c], batch.offsets[c + 1]
            got = [area[int(o):int(o) + int(n)] if o >= 0 else None for o, n in zip(batch.inline_off[a:b], batch.lens[a:b])]
            assert got == [buf[3] for buf in bufs], f"chain {c}: inline payloads differ"
    if all(not r for r, _, _ in expect):
        assert batch.next_avail == next_cons
