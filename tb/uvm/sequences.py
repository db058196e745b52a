"""Sequences: directed, random mixes and stress, and the virtual sequence running them."""

from __future__ import annotations

import random

from pyuvm import ConfigDB, uvm_sequence

from virtio_ep import layout

from .items import (BarAccess, BlkRequest, ConfigAccess, Doorbell, EntropyRead, MsiRequest, NetFrame, RingCorruption,
                    RingFill)


def rng() -> random.Random:
    return ConfigDB().get(None, "", "RNG")


class RandomBarSeq(uvm_sequence):
    """Random BAR0 reads and writes of every length and alignment."""

    def __init__(self, name: str = "random_bar", count: int = 40):
        super().__init__(name)
        self.count = count

    async def body(self):
        for _ in range(self.count):
            item = BarAccess()
            await self.start_item(item)
            item.randomize(rng())
            await self.finish_item(item)


class DirectedBarSeq(uvm_sequence):
    """Every length class at every alignment once (directed coverage closure)."""

    async def body(self):
        for length in (1, 2, 4, 9, 33, 100, 200, 300, 512):
            for align in range(4):
                for write in (True, False):
                    item = BarAccess()
                    await self.start_item(item)
                    item.write, item.length, item.offset = write, length, 0x400 + 0x400 * align + align
                    item.origin = "directed"
                    item.data = bytes((i * 13 + length) & 0xFF for i in range(length)) if write else b""
                    await self.finish_item(item)


class DoorbellFloodSeq(uvm_sequence):
    """Back-to-back doorbells, first and last slots included, beyond the FIFO depth."""

    def __init__(self, name: str = "doorbell_flood", count: int = 48):
        super().__init__(name)
        self.count = count

    async def body(self):
        slots = layout.DEFAULT_PARAMS.db_slots
        for n in range(self.count):
            item = Doorbell()
            await self.start_item(item)
            item.randomize(rng())
            if n < 2:
                item.slot, item.origin = (0 if n == 0 else slots - 1), "directed"
            await self.finish_item(item)


class MsiSeq(uvm_sequence):
    """Every vector, in a random order (directed: it enumerates the bins)."""

    async def body(self):
        vectors = list(range(layout.DEFAULT_PARAMS.msi_vectors))
        rng().shuffle(vectors)
        for v in vectors:
            item = MsiRequest()
            await self.start_item(item)
            item.vector, item.origin = v, "directed"
            await self.finish_item(item)


class ConfigSeq(uvm_sequence):
    """Every configuration access kind once, then a random mix."""

    def __init__(self, name: str = "config", count: int = 12):
        super().__init__(name)
        self.count = count

    async def body(self):
        kinds = list(ConfigAccess.KINDS) + [None] * self.count
        for kind in kinds:
            item = ConfigAccess()
            await self.start_item(item)
            item.randomize(rng(), kind)
            if kind is not None:
                item.origin = "directed"
            await self.finish_item(item)


class MixedVirtualSeq(uvm_sequence):
    """Host and device traffic interleaved: the sub-sequences in a seeded random order."""

    async def body(self):
        seqr = ConfigDB().get(None, "", "SEQR")
        seqs = [DirectedBarSeq("directed"), RandomBarSeq(), DoorbellFloodSeq(), MsiSeq("msi"), ConfigSeq()]
        rng().shuffle(seqs)
        for s in seqs:
            await s.start(seqr)


# -- virtio requests ----------------------------------------------------------------------

class VirtioRandomSeq(uvm_sequence):
    """Random requests for the bench's device; with a transport that allows a reset, one
    ring corruption somewhere in the middle (the device must ask for a reset, the driver
    recovers and the requests go on); for net and entropy, one full-ring burst."""

    def __init__(self, name: str = "virtio_random", count: int = 40):
        super().__init__(name)
        self.count = count

    async def body(self):
        bench = ConfigDB().get(None, "", "BENCH")
        corrupt_at = rng().randrange(self.count // 4, 3 * self.count // 4) if bench.variant.recoverable else -1
        fill_at = rng().randrange(self.count) if bench.device in ("net", "entropy") else -1
        for n in range(self.count):
            item = RingCorruption() if n == corrupt_at else RingFill() if n == fill_at else request_item(bench)
            await self.start_item(item)
            item.randomize(rng(), **item_args(bench, item))
            await self.finish_item(item)


class VirtioDirectedSeq(uvm_sequence):
    """Every request kind of the device once: every block operation in range and past the
    end, every frame size in one and in several buffers, every entropy length."""

    async def body(self):
        bench = ConfigDB().get(None, "", "BENCH")
        for item in directed_items(bench):
            item.origin = "directed"
            await self.start_item(item)
            await self.finish_item(item)


def request_item(bench):
    return {"net": NetFrame, "block": BlkRequest, "entropy": EntropyRead}[bench.device]()


def item_args(bench, item) -> dict:
    if isinstance(item, BlkRequest):
        return {"capacity": bench.fw.backend.capacity // layout.BLK_SECTOR_SIZE}
    return {}


def directed_items(bench) -> list:
    items = []
    if bench.device == "net":
        for size in NetFrame.SIZES:
            for cuts in ([], [size // 2] if size > 1 else []):
                f = NetFrame()
                f.payload, f.cuts = bytes((i * 11 + size) & 0xFF for i in range(size)), cuts
                items.append(f)
    elif bench.device == "block":
        capacity = bench.fw.backend.capacity // layout.BLK_SECTOR_SIZE
        for op in BlkRequest.OPS:
            for sector in ((3, capacity - 1) if op in ("read", "write") else (0,)):
                b = BlkRequest()
                b.op, b.sector, b.count = op, sector, 2
                b.data = bytes((i * 5 + sector) & 0xFF for i in range(2 * layout.BLK_SECTOR_SIZE)) if op == "write" else b""
                items.append(b)
    else:
        for length in (1, 16, 64, 100, 256, 1000):
            e = EntropyRead()
            e.length = length
            items.append(e)
    return items


class VirtioVirtualSeq(uvm_sequence):
    """Directed first (coverage of every kind), then the random mix."""

    async def body(self):
        seqr = ConfigDB().get(None, "", "SEQR")
        await VirtioDirectedSeq("virtio_directed").start(seqr)
        await VirtioRandomSeq().start(seqr)
