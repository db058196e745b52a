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


class ConfigAccess(uvm_sequence_item):
    """A host configuration-space access: the identity registers (read-only: a write must
    not change them) and the cache line size register (read-write)."""

    KINDS = ("read_id", "read_class", "read_cache_line", "write_cache_line", "write_read_only")

    def __init__(self, name: str = "config_access"):
        super().__init__(name)
        self.kind = "read_id"
        self.value = 0
        self.result = None                # dword read (reads and the read-back after a write)

    def randomize(self, rng: random.Random, kind: str | None = None) -> None:
        """A random kind, or `kind`; then a value that fits the kind's register."""
        self.kind = kind or rng.choice(self.KINDS)
        self.value = rng.randrange(1 << 32) if self.kind == "write_read_only" else rng.randrange(256)

    def __eq__(self, other) -> bool:
        return isinstance(other, ConfigAccess) and (self.kind, self.value) == (other.kind, other.value)

    def __str__(self) -> str:
        return f"config {self.kind} 0x{self.value:x}"


# -- virtio requests ----------------------------------------------------------------------

class NetFrame(uvm_sequence_item):
    """A frame sent on the net device's TX queue; the loopback must return it on RX."""

    SIZES = (14, 60, 64, 100, 200, 512, 1000, 1514)

    def __init__(self, name: str = "net_frame"):
        super().__init__(name)
        self.payload = b""
        self.cuts: list[int] = []        # where the driver splits the frame into buffers
        self.result = b""

    def randomize(self, rng: random.Random) -> None:
        size = rng.choice(self.SIZES)
        self.payload = bytes(rng.randrange(256) for _ in range(size))
        self.cuts = sorted(rng.sample(range(1, size), k=min(2, size - 1))) if rng.random() < 0.3 else []

    def __eq__(self, other) -> bool:
        return isinstance(other, NetFrame) and (self.payload, self.cuts) == (other.payload, other.cuts)

    def __str__(self) -> str:
        return f"net frame of {len(self.payload)} bytes in {len(self.cuts) + 1} buffer(s)"


class BlkRequest(uvm_sequence_item):
    """A block request: read, write, flush, get-id, or a type the device does not support.
    About one in eight reads and writes goes beyond the disk's end (IOERR expected)."""

    OPS = ("read", "write", "flush", "get_id", "unsupported")

    def __init__(self, name: str = "blk_request"):
        super().__init__(name)
        self.op = "read"
        self.sector = 0
        self.count = 1
        self.data = b""
        self.status = None
        self.result = b""

    def randomize(self, rng: random.Random, capacity: int = 0) -> None:
        self.op = rng.choices(self.OPS, weights=(8, 8, 1, 1, 1))[0]
        self.count = rng.choice([1, 1, 2, 4])
        if rng.random() < 0.125:                       # ends past the last sector
            self.sector = capacity - rng.randrange(0, self.count)
        else:
            self.sector = rng.randrange(0, capacity - self.count + 1)
        self.data = bytes(rng.randrange(256) for _ in range(self.count * layout.BLK_SECTOR_SIZE)) \
            if self.op == "write" else b""

    def __eq__(self, other) -> bool:
        return isinstance(other, BlkRequest) and (self.op, self.sector, self.count, self.data) == (
            other.op, other.sector, other.count, other.data)

    def __str__(self) -> str:
        return f"block {self.op} of {self.count} sector(s) at {self.sector}"


class EntropyRead(uvm_sequence_item):
    def __init__(self, name: str = "entropy_read"):
        super().__init__(name)
        self.length = 16
        self.result = b""

    def randomize(self, rng: random.Random) -> None:
        self.length = rng.choice([1, 16, 64, 100, 256, 1000])

    def __eq__(self, other) -> bool:
        return isinstance(other, EntropyRead) and self.length == other.length

    def __str__(self) -> str:
        return f"entropy read of {self.length} bytes"


class RingCorruption(uvm_sequence_item):
    """A buggy driver breaks its ring: the device must report NEEDS_RESET (BAD_RING), and
    the driver recovers by reset and carries on (async transport only)."""

    def __init__(self, name: str = "ring_corruption"):
        super().__init__(name)
        self.reason = None                # AsyncReason the device reported

    def randomize(self, rng: random.Random) -> None:
        pass

    def __eq__(self, other) -> bool:
        return isinstance(other, RingCorruption)

    def __str__(self) -> str:
        return "ring corruption"


class RingFill(uvm_sequence_item):
    """Stress: as many requests as the ring has room for, posted before they are waited
    for (net: frames and RX buffers; entropy: reads). `payloads` are filled by the driver
    once it knows the room; `results` are what came back."""

    def __init__(self, name: str = "ring_fill"):
        super().__init__(name)
        self.size = 64                    # bytes per request
        self.payloads: list[bytes] = []
        self.results: list = []
        self.full = False                 # the ring had no room left for another request

    def randomize(self, rng: random.Random) -> None:
        self.size = rng.choice([16, 64, 200])

    def __eq__(self, other) -> bool:
        return isinstance(other, RingFill) and self.size == other.size

    def __str__(self) -> str:
        return f"ring fill of {len(self.payloads) or '?'} requests of {self.size} bytes"
