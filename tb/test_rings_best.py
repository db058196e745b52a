"""Property tests (no simulation) of standard virtio's features for hardware: in-order use
(VIRTIO_F_IN_ORDER) of split and packed rings, notification data (VIRTIO_F_NOTIFICATION_DATA)
and the packed ring's event index (RING_EVENT_FLAGS_DESC). The vectorized in-order split
intake against the scalar reference; the driver and device halves against each other over
many wraps; the event arithmetic against a model on unwrapped positions."""

from __future__ import annotations

import asyncio
import random
import struct

from hypothesis import given, settings, strategies as st

from virtio_ep.firmware.batch import take_packed, take_split
from virtio_ep.layout import (PACKED_WRAP_SHIFT, DescFlag, PackedEvent, PackedEventFlag, SplitDesc, SplitUsed,
                              notify_next, notify_value)
from virtio_ep.rings.memory import RingError
from virtio_ep.rings.packed import PackedDevice, PackedDriver, PackedRing, event_wanted, off_wrap
from virtio_ep.rings.split import IDX_MASK, SplitDevice, SplitDriver, SplitRing, pack_desc

from test_rings import BASE, IMAGE, ImageMemory, packed_rings, packed_scalar


class CountingMemory(ImageMemory):
    """ImageMemory counting the reads and writes each side makes."""

    def __init__(self, data: bytearray):
        super().__init__(data)
        self.reads: list[tuple[int, int]] = []
        self.writes: list[tuple[int, int]] = []

    async def read(self, addr: int, length: int) -> bytes:
        self.reads.append((addr, length))
        return await super().read(addr, length)

    async def write(self, addr: int, data: bytes) -> None:
        self.writes.append((addr, len(data)))
        await super().write(addr, data)


# -- notification data ------------------------------------------------------------------------

@given(st.integers(0, 0xFFFF), st.integers(0, 0x7FFF), st.integers(0, 1))
def test_notification_value_layout(vqn, off, wrap):
    """virtio 1.2, 2.9: le32 { vqn : 16; next_off : 15; next_wrap : 1; }, built here bit by
    bit as a C compiler lays out the bitfields (least significant first)."""
    expect = struct.unpack("<I", struct.pack("<HH", vqn, off | wrap << 15))[0]
    value = notify_value(vqn, off | wrap << PACKED_WRAP_SHIFT)
    assert value == expect
    assert notify_next(value) & 0x7FFF == off and notify_next(value) >> 15 == wrap
    assert value & 0xFFFF == vqn


# -- in-order split: vectorized intake against the scalar reference -----------------------------

@st.composite
def in_order_rings(draw):
    """A split ring whose next chains lie one after another from `next_desc` (in-order), the
    avail ring left garbage (an in-order device never reads it): chains of 1 to 3
    descriptors, some indirect, and now and then a fault (a link elsewhere, a bad flag, a
    zero length, a buffer outside the window)."""
    size = draw(st.sampled_from([4, 8, 16, 32]))
    image = bytearray(IMAGE)
    desc, avail, tables = BASE, BASE + 0x400, BASE + 0x800
    window = (BASE + 0x1000, BASE + IMAGE)
    next_desc = draw(st.integers(0, size - 1))
    last_avail = draw(st.integers(0xFFF0, 0xFFFF + 8)) & 0xFFFF
    faulty = draw(st.booleans())
    pos, chains = next_desc, 0
    budget = size
    while budget > 0:
        n = min(budget, draw(st.integers(1, 3)))
        indirect = draw(st.integers(0, 5)) == 0
        if indirect:
            n = 1
            table = tables + 0x40 * draw(st.integers(0, 15))
            k = draw(st.integers(1, 4))
            for j in range(k):
                flags = (DescFlag.NEXT if j + 1 < k else 0) | (DescFlag.WRITE if j == k - 1 else 0)
                image[table - BASE + 16 * j:table - BASE + 16 * j + 16] = pack_desc(
                    draw(st.integers(window[0], window[1] - 256)), 64, int(flags), j + 1)
            image[desc - BASE + 16 * pos:desc - BASE + 16 * pos + 16] = pack_desc(table, 16 * k, DescFlag.INDIRECT, 0)
        else:
            for j in range(n):
                at = (pos + j) % size
                flags = (DescFlag.NEXT if j + 1 < n else 0) | (DescFlag.WRITE if j == n - 1 and j else 0)
                nxt = (at + 1) % size
                addr, length = draw(st.integers(window[0], window[1] - 256)), draw(st.sampled_from([1, 16, 64, 200]))
                if faulty and draw(st.integers(0, 7)) == 0:
                    fault = draw(st.sampled_from(["link", "flags", "zero", "address"]))
                    if fault == "link" and flags & DescFlag.NEXT:
                        nxt = (nxt + draw(st.integers(1, size - 1))) % size
                    elif fault == "flags":
                        flags |= 0x10
                    elif fault == "zero":
                        length = 0
                    else:
                        addr = window[0] - 64
                image[desc - BASE + 16 * at:desc - BASE + 16 * at + 16] = pack_desc(addr, length, int(flags), nxt)
        pos, budget, chains = (pos + n) % size, budget - n, chains + 1
    for j in range(size):           # the avail ring: garbage heads
        slot = avail - BASE + 4 + 2 * j
        image[slot:slot + 2] = struct.pack("<H", draw(st.integers(0, 0xFFFF)))
    count = draw(st.integers(0, chains))
    return image, desc, avail, size, next_desc, last_avail, count, [window]


def _split_in_order(image, desc, avail, size, next_desc, last_avail, windows, mem):
    dev = SplitDevice(SplitRing(desc, avail, BASE + 0x3000, size), mem, windows=windows, in_order=True,
                      notification_data=True)
    dev.next_desc, dev.last_avail = next_desc, last_avail
    return dev


def in_order_scalar(ring):
    image, desc, avail, size, next_desc, last_avail, count, windows = ring

    async def run():
        dev = _split_in_order(image, desc, avail, size, next_desc, last_avail, windows, ImageMemory(bytearray(image)))
        dev.notified((last_avail + count) & IDX_MASK)
        out = []
        for _ in range(await dev.pending()):
            try:
                chain = await dev.next_chain()
            except RingError as exc:
                out.append((exc.reason, None, []))
                break                       # the next head is unknown: the device needs a reset
            out.append(("", chain.head, [(b.addr, b.length, b.writable) for b in chain.bufs]))
        return out, dev
    return asyncio.run(run())


def in_order_batch(ring):
    image, desc, avail, size, next_desc, last_avail, count, windows = ring

    async def run():
        mem = CountingMemory(bytearray(image))
        dev = _split_in_order(image, desc, avail, size, next_desc, last_avail, windows, mem)
        dev.notified((last_avail + count) & IDX_MASK)
        chains = await take_split(dev, mem)
        out = [("", c.head, [(b.addr, b.length, b.writable) for b in c.bufs]) if not isinstance(c, RingError)
               else (c.reason, None, []) for c in chains]
        return out, dev, mem
    return asyncio.run(run())


@settings(max_examples=400, deadline=None)
@given(in_order_rings())
def test_in_order_batch_matches_scalar(ring):
    """The in-order batch intake takes what the scalar in-order device takes (the same
    chains, up to and including the first error), never reads the avail ring (neither its
    entries nor, with notification data, its index), and leaves the same next head."""
    expect, sdev = in_order_scalar(ring)
    got, bdev, mem = in_order_batch(ring)
    assert got == expect
    avail = ring[2]
    assert not [r for r in mem.reads if avail <= r[0] < avail + 0x400], f"avail ring read: {mem.reads}"
    if expect and not expect[-1][0]:
        assert (bdev.next_desc, bdev.last_avail) == (sdev.next_desc, sdev.last_avail)


def test_in_order_link_elsewhere_is_an_error():
    """A chain whose `next` is not the following entry breaks the in-order rule (virtio 1.2,
    2.7.5): the device names it, it does not follow the link."""
    image = bytearray(IMAGE)
    image[0:16] = pack_desc(BASE + 0x1000, 16, DescFlag.NEXT, 2)      # should link to 1
    image[32:48] = pack_desc(BASE + 0x1100, 16, 0, 0)
    ring = (image, BASE, BASE + 0x400, 4, 0, 0, 1, None)
    expect, _ = in_order_scalar(ring)
    got, _, _ = in_order_batch(ring)
    assert expect == got == [("not_in_order", None, [])]


# -- in-order and notification data, driver and device together ---------------------------------

class Pair:
    """A driver half and a device half of one ring over one memory image."""

    def __init__(self, packed: bool, size: int, event_idx: bool, in_order: bool, seed: int):
        self.packed, self.size = packed, size
        self.mem = CountingMemory(bytearray(IMAGE))
        self.rng = random.Random(seed)
        if packed:
            ring = PackedRing(BASE, BASE + 0x800, BASE + 0x810, size)
            self.drv = PackedDriver(ring, self.mem, event_idx=event_idx, in_order=in_order)
            self.dev = PackedDevice(ring, self.mem, event_idx=event_idx, in_order=in_order, notification_data=True)
        else:
            ring = SplitRing(BASE, BASE + 0x800, BASE + 0xC00, size)
            self.drv = SplitDriver(ring, self.mem, event_idx=event_idx, in_order=in_order)
            self.dev = SplitDevice(ring, self.mem, event_idx=event_idx, in_order=in_order, notification_data=True)

    def next_position(self) -> int:
        d = self.drv
        return d.next_avail | d.avail_wrap << PACKED_WRAP_SHIFT if self.packed else d.avail_idx

    async def run(self, rounds: int) -> int:
        """Rounds of: the driver adds chains and kicks (the value carried as notification
        data), the device takes them all, completes them with random lengths (often 0) and
        publishes; the driver must get every chain back once, in order, with its length.
        Returns the chains completed."""
        await self.drv.init()
        if self.packed:
            await self.dev.init()
        done = 0
        for _ in range(rounds):
            free = self.drv.free if self.packed else len(self.drv.free)
            want = []
            while True:
                n = self.rng.randint(1, 3)
                if n > free:
                    break
                want.append(n)
                free -= n
                if self.rng.random() < 0.3:
                    break
            sent = []
            for n in want:
                bufs = [(BASE + 0x2000 + 64 * k, 32, k == n - 1 and self.rng.random() < 0.5) for k in range(n)]
                sent.append((await self.drv.add(bufs), n))
            await self.drv.publish()
            self.dev.notified(self.next_position())
            written = {}
            while await self.dev.pending():
                chain = await self.dev.next_chain()
                length = self.rng.choice([0, 0, 1, 32])
                written[chain.head] = length
                await self.dev.push_used(chain.head, length)
            await self.dev.publish_used()
            got = await self.drv.used()
            assert [h for h, _ in got] == [h for h, _ in sent], "chains came back in another order"
            assert dict(got) == written, "used lengths differ from what the device wrote"
            done += len(got)
        return done


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.sampled_from([4, 8, 16]), st.booleans(), st.booleans(), st.integers(0, 1 << 30))
def test_driver_and_device_agree(packed, size, event_idx, in_order, seed):
    """Every combination of ring layout, event index and in-order, with notification data:
    over many rounds (the ring wraps many times) the driver gets back exactly the chains
    it made available, in order, with the lengths the device wrote, and its descriptors
    are all free again."""
    pair = Pair(packed, size, event_idx, in_order, seed)
    done = asyncio.run(pair.run(rounds=6 * size))
    assert done > 0
    assert (pair.drv.free if packed else len(pair.drv.free)) == size


def test_in_order_folds_chains_that_wrote_nothing():
    """In order, a batch whose chains wrote nothing is answered with one used entry (split)
    or one used descriptor (packed), and the driver still gets every chain back."""
    for packed in (False, True):
        pair = Pair(packed, 16, event_idx=False, in_order=True, seed=1)

        async def run():
            await pair.drv.init()
            heads = [await pair.drv.add([(BASE + 0x2000, 16, False)]) for _ in range(5)]
            await pair.drv.publish()
            pair.dev.notified(pair.next_position())
            while await pair.dev.pending():
                c = await pair.dev.next_chain()
                await pair.dev.push_used(c.head, 0)
            before = len(pair.mem.writes)
            await pair.dev.publish_used()
            ring_writes = pair.mem.writes[before:]
            got = await pair.drv.used()
            return heads, ring_writes, got
        heads, ring_writes, got = asyncio.run(run())
        assert [h for h, _ in got] == heads
        used_entry_writes = [w for w in ring_writes if w[1] in (SplitUsed.ENTRY, 6)]   # split entry; packed len+id
        assert len(used_entry_writes) == 1, f"{'packed' if packed else 'split'}: {ring_writes}"


def test_notification_data_spares_the_index_read():
    """With notification data the split device learns avail.idx from the kick: taking the
    chains reads no avail.idx; without it, it does."""
    for nd in (False, True):
        pair = Pair(False, 8, event_idx=False, in_order=True, seed=2)
        pair.dev.notification_data = nd

        async def run():
            await pair.drv.init()
            for _ in range(3):
                await pair.drv.add([(BASE + 0x2000, 16, False)])
            await pair.drv.publish()
            pair.dev.notified(pair.next_position())
            pair.mem.reads.clear()
            while await pair.dev.pending():
                await pair.dev.next_chain()
            return list(pair.mem.reads)
        reads = asyncio.run(run())
        idx_reads = [r for r in reads if r[0] == pair.dev.ring.avail + 2]
        assert bool(idx_reads) != nd, f"notification data {nd}: reads {reads}"


def test_stale_notification_is_ignored():
    """A notification that carries an index behind what the device already took (it raced
    the device's own look at the ring) changes nothing."""
    dev = SplitDevice(SplitRing(BASE, BASE + 0x800, BASE + 0xC00, 8), ImageMemory(bytearray(IMAGE)),
                      notification_data=True)
    dev.last_avail = 5
    dev.notified(7)
    dev.notified(6)
    assert dev.known_avail == 7
    dev.notified(5 + 9)             # further ahead than the ring holds: not believable
    assert dev.known_avail == 7


# -- packed event index -------------------------------------------------------------------------

@settings(max_examples=2000, deadline=None)
@given(st.sampled_from([4, 8, 16, 256]), st.integers(0, 10_000), st.integers(0, 256), st.integers(-256, 256))
def test_packed_event_matches_unwrapped_model(size, old, moved, ahead):
    """event_wanted on (offset, wrap counter) pairs answers what unwrapped positions say: an
    event is due iff the event position lies in [old, new). The event is at most a ring
    ahead of or behind `old` (the other side set it from a position it had seen)."""
    moved %= size + 1
    event = old + (ahead % (2 * size)) - size
    if event < 0:
        event += size
    new = old + moved

    def pair(p: int) -> tuple[int, int]:
        return p % size, 1 ^ ((p // size) & 1)       # the wrap counter starts at 1
    new_off, new_wrap = pair(new)
    ev_off, ev_wrap = pair(event)
    raw = off_wrap(ev_off, ev_wrap).to_bytes(2, "little") + int(PackedEventFlag.DESC).to_bytes(2, "little")
    assert event_wanted(raw, True, new_off, new_wrap, moved, size) == (old <= event < new), \
        (size, old, moved, event)


def test_packed_event_flags_without_event_index():
    """ENABLE and DISABLE mean what they say; DESC without event index negotiated is not
    the driver's to use and reads as enabled (no event lost)."""
    for flags, want in ((PackedEventFlag.ENABLE, True), (PackedEventFlag.DISABLE, False), (PackedEventFlag.DESC, True)):
        raw = (0).to_bytes(2, "little") + int(flags).to_bytes(2, "little")
        assert event_wanted(raw, False, 3, 1, 1, 8) is want


def test_packed_driver_rearms_by_position():
    """With event index the packed driver asks for the next used position (DESC and off_wrap
    at its next_used), as Linux's virtqueue_enable_cb_prepare_packed does."""
    pair = Pair(True, 8, event_idx=True, in_order=False, seed=3)
    asyncio.run(pair.run(rounds=5))
    raw = pair.mem.data[0x800:0x800 + PackedEvent.SIZE]
    assert int.from_bytes(raw[2:4], "little") == PackedEventFlag.DESC
    assert int.from_bytes(raw[0:2], "little") == off_wrap(pair.drv.next_used, pair.drv.used_wrap)


# -- packed with notification data: the batch intake reads exactly what is there ----------------

@settings(max_examples=300, deadline=None)
@given(packed_rings(clean=True))
def test_packed_notified_batch_matches_scalar(ring):
    """Told how many descriptors the driver made available, the packed batch intake reads
    exactly those (one read, two where the ring wraps) and takes what the scalar takes."""
    image, desc, size, next_avail, wrap, windows = ring
    expect, state, _ = packed_scalar(image, desc, size, next_avail, wrap, windows)
    avail_descs = size                      # clean: every descriptor is available

    async def run():
        mem = CountingMemory(bytearray(image))
        dev = PackedDevice(PackedRing(desc, BASE + 0x3000, BASE + 0x3100, size), mem, windows,
                           notification_data=True)
        dev.next_avail, dev.avail_wrap = next_avail, wrap
        end = next_avail + avail_descs
        dev.notified(off_wrap(end % size, wrap ^ ((end // size) & 1)))
        chains = await take_packed(dev, mem)
        return chains, dev, mem
    chains, dev, mem = asyncio.run(run())
    got = [("", c.head, [(b.addr, b.length, b.writable) for b in c.bufs]) if not isinstance(c, RingError)
           else (c.reason, None, []) for c in chains]
    whole = [e for e in expect if not e[0]]
    assert got[:len(whole)] == whole
    table_reads = [r for r in mem.reads if desc <= r[0] < desc + SplitDesc.SIZE * size]
    assert sum(n for _, n in table_reads) == SplitDesc.SIZE * avail_descs
    assert len(table_reads) <= 2
