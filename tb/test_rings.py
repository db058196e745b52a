"""Property tests of the ring code (no simulation): the vectorized split-ring processor
against the scalar reference on random, often malformed rings, near the 16-bit index
wrap; and the ring layouts and notification arithmetic against the virtio definitions."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
from hypothesis import given, settings, strategies as st

from virtio_ep.layout import DescFlag, SplitAvail, SplitDesc, SplitUsed
from virtio_ep.rings.memory import RingError
from virtio_ep.rings.split import SplitDevice, SplitRing, need_event, pack_desc
from virtio_ep.rings.vector import MemoryImage, process_split

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
