"""Device memory: payloads the device holds live in the DMA buffer RAM above the firmware's
scratch area and move between it and host memory by DMA only; the CPU touches their
headers, never their bytes (issue 15).

The DMA engine moves dwords: a buffer's bytes land at a device address equal to its host
address modulo 4. A frame is stored with each buffer at such an address; delivering it to a
buffer whose address differs modulo 4 needs the bytes realigned, which the CPU does through
the scratch area (counted: `DmaMemory.realigned_bytes`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..layout import DEVICE_POOL_BASE
from ..rings.memory import Buf
from .soft_cpu import SoftCpu


class DevicePool:
    """A ring allocator over device memory. A loopback delivers each queue pair's frames
    first in, first out, but the pairs deliver in any order: a frame released before older
    ones leaves a gap whose space returns when every older frame has gone (a stalled pair
    holds memory back; frames that then find it full are held or take the CPU path,
    nothing is lost)."""

    def __init__(self, base: int, end: int):
        self.base, self.end = base, end
        self.live: deque[tuple[int, int]] = deque()      # (start, stop) of each allocation, oldest first

    @property
    def capacity(self) -> int:
        return self.end - self.base

    def alloc(self, n: int) -> int | None:
        """Start (4-byte aligned) of n free bytes, or None if they do not fit now."""
        n = (n + 3) & ~3
        if not self.live:
            start = self.base if n <= self.capacity else None
        else:
            head, tail = self.live[-1][1], self.live[0][0]
            if head > tail:                     # free: [head, end) and [base, tail)
                start = head if head + n <= self.end else (self.base if self.base + n <= tail else None)
            else:                               # wrapped: free is [head, tail)
                start = head if head + n <= tail else None
        if start is not None:
            self.live.append((start, start + n))
        return start

    def release(self, start: int) -> None:
        """Give back the allocation at `start`, oldest or not: free space is what lies
        outside the oldest and newest live allocations, so a gap left in between returns
        when every older allocation has gone."""
        for i, (live_start, _) in enumerate(self.live):
            if live_start == start:
                del self.live[i]
                return
        raise AssertionError(f"device memory at 0x{start:x} released but not allocated")

    def clear(self) -> None:
        self.live.clear()


async def device_pool(cpu: SoftCpu) -> DevicePool:
    """The device's one pool (every queue shares it), sized from the buffer RAM the build has."""
    pool = getattr(cpu, "device_pool", None)
    if pool is None:
        if cpu.dma_buf_size is None:
            await cpu.read_build_parameters()
        pool = cpu.device_pool = DevicePool(DEVICE_POOL_BASE, max(DEVICE_POOL_BASE, cpu.dma_buf_size))
    return pool


@dataclass
class StoredFrame:
    """A frame in device memory: its buffers' (device address, length) in frame order."""

    start: int                          # the pool allocation
    segments: list[tuple[int, int]]

    @property
    def length(self) -> int:
        return sum(n for _, n in self.segments)

    def spans(self, offset: int, length: int) -> list[tuple[int, int]]:
        """Device (address, length) pieces of frame bytes [offset, offset + length), with
        pieces that are contiguous in device memory merged."""
        out: list[tuple[int, int]] = []
        pos = 0
        for local, n in self.segments:
            lo, hi = max(offset, pos), min(offset + length, pos + n)
            if lo < hi:
                addr = local + lo - pos
                if out and out[-1][0] + out[-1][1] == addr:
                    out[-1] = (out[-1][0], out[-1][1] + hi - lo)
                else:
                    out.append((addr, hi - lo))
            pos += n
        return out


def frame_layout(bufs: list[Buf], start: int) -> tuple[list[tuple[int, int]], int]:
    """Where each buffer goes from `start`: at its host address modulo 4 (inline bytes, which
    have no host address, right after the previous buffer); returns segments and span."""
    pos, segments = start, []
    for b in bufs:
        if b.inline is None:
            pos += (b.addr - pos) % 4
        segments.append((pos, b.length))
        pos += b.length
    return segments, pos - start


def frame_span(bufs: list[Buf]) -> int:
    """Bytes of device memory a frame of these buffers needs from any 4-byte aligned start."""
    return frame_layout(bufs, 0)[1]
