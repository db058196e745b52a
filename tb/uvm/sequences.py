"""Sequences: directed, random mixes and stress, and the virtual sequence running them."""

from __future__ import annotations

import random

from pyuvm import ConfigDB, uvm_sequence

from virtio_ep import layout

from .items import BarAccess, Doorbell, MsiRequest


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
                item.slot = 0 if n == 0 else slots - 1
            await self.finish_item(item)


class MsiSeq(uvm_sequence):
    """Every vector, in a random order."""

    async def body(self):
        vectors = list(range(layout.DEFAULT_PARAMS.msi_vectors))
        rng().shuffle(vectors)
        for v in vectors:
            item = MsiRequest()
            await self.start_item(item)
            item.vector = v
            await self.finish_item(item)


class MixedVirtualSeq(uvm_sequence):
    """Host and device traffic interleaved: the sub-sequences in a seeded random order."""

    async def body(self):
        seqr = ConfigDB().get(None, "", "SEQR")
        seqs = [DirectedBarSeq("directed"), RandomBarSeq(), DoorbellFloodSeq(), MsiSeq("msi")]
        rng().shuffle(seqs)
        for s in seqs:
            await s.start(seqr)
