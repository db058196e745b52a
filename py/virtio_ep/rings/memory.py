"""Memory views the ring code works through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Memory(Protocol):
    async def read(self, addr: int, length: int) -> bytes: ...

    async def write(self, addr: int, data: bytes) -> None: ...


class RingError(Exception):
    """The ring content violates the virtio rules; `reason` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Buf:
    """One buffer of a chain as the device sees it."""

    addr: int
    length: int
    writable: bool
    inline: bytes | None = None      # push ring: payload carried in the slot


@dataclass
class Chain:
    head: int                        # id returned in the used entry
    bufs: list[Buf]

    @property
    def out_len(self) -> int:
        return sum(b.length for b in self.bufs if not b.writable)

    @property
    def in_len(self) -> int:
        return sum(b.length for b in self.bufs if b.writable)


def u16(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off:off + 2], "little")


def u32(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off:off + 4], "little")


def u64(data: bytes, off: int = 0) -> int:
    return int.from_bytes(data[off:off + 8], "little")


async def read_fields(mem: Memory, addr: int, length: int, fields: list[tuple[int, int]]) -> list[bytes]:
    """Fields ((offset, size)) of one read of `length` bytes at `addr`: through the memory's
    own `read_fields` if it has one (the firmware's DMA view copies out only the fields)."""
    own = getattr(mem, "read_fields", None)
    if own is not None:
        return await own(addr, length, fields)
    raw = await mem.read(addr, length)
    return [raw[off:off + n] for off, n in fields]


async def gather(mem: Memory, chain: Chain) -> bytes:
    """Device side: the bytes of every device-readable buffer, in order."""
    out = bytearray()
    for b in chain.bufs:
        if b.writable:
            continue
        out += b.inline if b.inline is not None else await mem.read(b.addr, b.length)
    return bytes(out)


async def scatter(mem: Memory, chain: Chain, data: bytes) -> int:
    """Device side: write `data` across the device-writable buffers; return bytes written."""
    done = 0
    for b in chain.bufs:
        if not b.writable or done >= len(data):
            continue
        n = min(b.length, len(data) - done)
        await mem.write(b.addr, data[done:done + n])
        done += n
    return done
