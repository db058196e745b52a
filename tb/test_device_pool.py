"""Device memory's ring allocator (firmware/device_memory.py) without a simulator: frames of
several queue pairs are released in any order, and space comes back only when nothing
older still holds it, never overlapping a live frame."""

from __future__ import annotations

import random

import pytest

from virtio_ep.firmware.device_memory import DevicePool

BASE, END = 0x1000, 0x2000


def test_space_returns_when_the_oldest_goes():
    pool = DevicePool(BASE, END)
    a, b, c = (pool.alloc(0x500) for _ in range(3))
    assert (a, b, c) == (BASE, BASE + 0x500, BASE + 0xA00)
    pool.release(b)                         # a middle frame first: its space waits for a
    assert pool.alloc(0x200) is None, "space of a frame released before an older one was reused"
    pool.release(a)                         # a and b come back together
    assert pool.alloc(0x200) == BASE
    assert [start for start, _ in pool.live] == [c, BASE]


def test_newest_returns_at_once():
    """A frame whose DMA failed is given back newest first (TX take-in): its space is free
    for the next frame straight away."""
    pool = DevicePool(BASE, END)
    a = pool.alloc(0x400)
    b = pool.alloc(0x400)
    pool.release(b)
    assert pool.alloc(0x400) == b
    pool.release(a)
    assert pool.alloc(0x400) is not None


def test_release_twice_or_unknown_is_an_error():
    pool = DevicePool(BASE, END)
    a = pool.alloc(0x100)
    pool.alloc(0x100)
    pool.release(a)
    with pytest.raises(AssertionError, match="released but not allocated"):
        pool.release(a)
    with pytest.raises(AssertionError, match="released but not allocated"):
        pool.release(BASE + 0x40)


@pytest.mark.parametrize("seed", range(20))
def test_live_frames_never_overlap(seed: int):
    """Random sizes, several pairs each releasing its own frames first in, first out, the
    pairs interleaved at random: every allocation lies inside the pool, 4-byte aligned, and
    overlaps no frame still live; every frame is eventually given back."""
    rng = random.Random(seed)
    pool = DevicePool(BASE, END)
    pairs: list[list[tuple[int, int]]] = [[] for _ in range(3)]
    for _ in range(2000):
        if rng.random() < 0.55:
            n = rng.randrange(1, 0x300)
            start = pool.alloc(n)
            if start is None:
                continue
            assert BASE <= start and start + n <= END and start % 4 == 0, (hex(start), n)
            for frames in pairs:
                for s, m in frames:
                    assert start + n <= s or s + m <= start, f"0x{start:x}+{n} overlaps live 0x{s:x}+{m}"
            rng.choice(pairs).append((start, n))
        else:
            frames = rng.choice(pairs)
            if frames:
                pool.release(frames.pop(0)[0])
    for frames in pairs:
        for s, _ in frames:
            pool.release(s)
    assert not pool.live
