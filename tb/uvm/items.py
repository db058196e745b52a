"""Sequence items: host operations on the endpoint and virtio requests."""

from __future__ import annotations

import random

from pyuvm import uvm_sequence_item

from virtio_ep import layout


class BarAccess(uvm_sequence_item):
    """A host read or write of BAR0 of any length and alignment."""

    def __init__(self, name: str = "bar_access"):
        super().__init__(name)
        self.write = True
        self.offset = 0
        self.data = b""
        self.length = 0
        self.result = b""                 # read data, filled by the driver

    def randomize(self, rng: random.Random, size: int = 0x2000, max_len: int = 512) -> None:
        self.write = rng.random() < 0.6
        self.length = rng.choice([1, 2, 3, 4, 7, 8, 16, 31, 64, 100, 128, 255, 256, 511, max_len])
        self.offset = rng.randrange(0, size - self.length)
        self.data = bytes(rng.randrange(256) for _ in range(self.length)) if self.write else b""

    def __eq__(self, other) -> bool:
        return isinstance(other, BarAccess) and (self.write, self.offset, self.data, self.length) == (
            other.write, other.offset, other.data, other.length)

    def __str__(self) -> str:
        return f"BAR0 {'write' if self.write else 'read'} {self.length} bytes at 0x{self.offset:x}"


class Doorbell(uvm_sequence_item):
    def __init__(self, name: str = "doorbell"):
        super().__init__(name)
        self.slot = 0
        self.value = 0

    def randomize(self, rng: random.Random, slots: int = layout.DEFAULT_PARAMS.db_slots) -> None:
        self.slot = rng.randrange(slots)
        self.value = rng.randrange(1 << 32)

    def __eq__(self, other) -> bool:
        return isinstance(other, Doorbell) and (self.slot, self.value) == (other.slot, other.value)

    def __str__(self) -> str:
        return f"doorbell slot {self.slot} value 0x{self.value:08x}"


class MsiRequest(uvm_sequence_item):
    """The firmware requests an MSI; the host must receive that vector."""

    def __init__(self, name: str = "msi"):
        super().__init__(name)
        self.vector = 0

    def randomize(self, rng: random.Random, vectors: int = layout.DEFAULT_PARAMS.msi_vectors) -> None:
        self.vector = rng.randrange(vectors)

    def __eq__(self, other) -> bool:
        return isinstance(other, MsiRequest) and self.vector == other.vector

    def __str__(self) -> str:
        return f"MSI vector {self.vector}"
