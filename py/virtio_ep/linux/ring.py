"""Linux's virtio ring code, loaded with ctypes (the library virtio_ep.linux.build makes).

A `DmaArea` is the memory the kernel code and the device share: an anonymous mapping the
process can read and write, the library allocates from, and the test bench registers as
host memory at `bus` (bus address = bus + offset in the area). `LinuxRing` is the library
bound to one area (the library has one: a new LinuxRing forgets the previous one's queues);
`KernelVirtqueue` is one `struct virtqueue` made by the kernel's vring_create_virtqueue.
"""

from __future__ import annotations

import ctypes
import mmap
from ctypes import POINTER, c_bool, c_int, c_size_t, c_uint, c_ulong, c_ulonglong, c_void_p

from .build import library

AREA_BYTES = 32 << 20
BELOW_4G = 0x9000_0000          # free in the root complex model's space: its pool ends at 2 GiB, BARs at 3 GiB
ABOVE_4G = 0x1_0000_0000


class KernelRingError(RuntimeError):
    """The kernel's ring code refused a request or the shim recorded an error."""


class DmaArea:
    def __init__(self, size: int = AREA_BYTES, bus: int = BELOW_4G):
        if size % 4096 or bus % 4096:
            raise ValueError("the DMA area's size and bus address must be multiples of 4 KiB")
        self.size, self.bus = size, bus
        self.mem = mmap.mmap(-1, size)
        self._anchor = ctypes.c_char.from_buffer(self.mem)      # keeps the mapping's address fixed
        self.base = ctypes.addressof(self._anchor)

    def offset(self, ptr: int) -> int:
        if not self.base <= ptr < self.base + self.size:
            raise KernelRingError(f"address {ptr:#x} is outside the DMA area")
        return ptr - self.base

    def bus_address(self, ptr: int) -> int:
        return self.bus + self.offset(ptr)

    def read(self, ptr: int, length: int) -> bytes:
        off = self.offset(ptr)
        return bytes(self.mem[off:off + length])

    def write(self, ptr: int, data: bytes) -> None:
        off = self.offset(ptr)
        self.mem[off:off + len(data)] = data


_lib = None


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(str(library()))
        sig = {
            "vk_init": (c_int, [c_void_p, c_size_t, c_ulonglong]),
            "vk_alloc": (c_void_p, [c_size_t]),
            "vk_free": (None, [c_void_p]),
            "vk_error": (ctypes.c_char_p, []),
            "vk_clear_error": (None, []),
            "vk_device": (c_void_p, [c_ulonglong]),
            "vk_queue": (c_void_p, [c_void_p, c_uint, c_uint]),
            "vk_add": (c_int, [c_void_p, c_uint, POINTER(c_void_p), POINTER(c_uint), c_uint, POINTER(c_void_p),
                               POINTER(c_uint), c_ulong]),
            "vk_get_buf": (c_ulong, [c_void_p, POINTER(c_uint)]),
            "vk_num_free": (c_uint, [c_void_p]),
            "virtqueue_kick_prepare": (c_bool, [c_void_p]),
            "virtqueue_disable_cb": (None, [c_void_p]),
            "virtqueue_enable_cb": (c_bool, [c_void_p]),
            "virtqueue_enable_cb_delayed": (c_bool, [c_void_p]),
            "virtqueue_is_broken": (c_bool, [c_void_p]),
            "virtqueue_get_vring_size": (c_uint, [c_void_p]),
            "virtqueue_get_desc_addr": (c_ulonglong, [c_void_p]),
            "virtqueue_get_avail_addr": (c_ulonglong, [c_void_p]),
            "virtqueue_get_used_addr": (c_ulonglong, [c_void_p]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib = lib
    return _lib


class LinuxRing:
    """The kernel's ring code over one DMA area."""

    def __init__(self, area: DmaArea):
        self.area = area
        self.lib = _load()
        if self.lib.vk_init(area.base, area.size, area.bus):
            raise KernelRingError("vk_init: no memory for the allocator's table")

    def error(self) -> str:
        return (self.lib.vk_error() or b"").decode()

    def alloc(self, size: int) -> int:
        ptr = self.lib.vk_alloc(size)
        if not ptr:
            raise KernelRingError(f"allocating {size} bytes: {self.error()}")
        return ptr

    def free(self, ptr: int) -> None:
        self.lib.vk_free(ptr)

    def queue(self, features: int, index: int, size: int, device=None) -> "KernelVirtqueue":
        """A queue of a device that negotiated `features` (the low 64 bits are what the ring
        code reads); `device` shares one virtio_device between a device's queues."""
        dev = device or self.lib.vk_device(features & ((1 << 64) - 1))
        vq = self.lib.vk_queue(dev, index, size)
        if not vq:
            raise KernelRingError(f"queue {index} of {size}: {self.error()}")
        return KernelVirtqueue(self, dev, vq, index)

    def device(self, features: int) -> int:
        return self.lib.vk_device(features & ((1 << 64) - 1))


class KernelVirtqueue:
    def __init__(self, ring: LinuxRing, device: int, vq: int, index: int):
        self.ring, self.lib, self.device, self.vq, self.index = ring, ring.lib, device, vq, index

    def add(self, out: list[tuple[int, int]], inb: list[tuple[int, int]], token: int) -> None:
        """virtqueue_add_sgs with each (pointer, length) its own scatterlist; raises with the
        kernel's error code (e.g. -ENOSPC: the ring is full) or the shim's message."""
        ptrs = lambda bufs: (c_void_p * max(len(bufs), 1))(*(p for p, _ in bufs))      # noqa: E731
        lens = lambda bufs: (c_uint * max(len(bufs), 1))(*(n for _, n in bufs))        # noqa: E731
        err = self.lib.vk_add(self.vq, len(out), ptrs(out), lens(out), len(inb), ptrs(inb), lens(inb), token)
        if err:
            raise KernelRingError(f"virtqueue_add_sgs on queue {self.index}: error {err} {self.ring.error()}".rstrip())

    def get_buf(self) -> tuple[int, int] | None:
        """(token, bytes written) of the next used buffer, or None."""
        n = c_uint(0)
        token = self.lib.vk_get_buf(self.vq, ctypes.byref(n))
        return (token, n.value) if token else None

    def kick_prepare(self) -> bool:
        return self.lib.virtqueue_kick_prepare(self.vq)

    def disable_cb(self) -> None:
        self.lib.virtqueue_disable_cb(self.vq)

    def enable_cb(self) -> bool:
        """False if used buffers arrived meanwhile (the caller polls again)."""
        return self.lib.virtqueue_enable_cb(self.vq)

    def enable_cb_delayed(self) -> bool:
        return self.lib.virtqueue_enable_cb_delayed(self.vq)

    def is_broken(self) -> bool:
        return self.lib.virtqueue_is_broken(self.vq)

    @property
    def num_free(self) -> int:
        """Descriptors the driver may still use."""
        return self.lib.vk_num_free(self.vq)

    @property
    def size(self) -> int:
        return self.lib.virtqueue_get_vring_size(self.vq)

    def areas(self) -> tuple[int, int, int]:
        """Bus addresses of the descriptor, driver and device areas."""
        return (self.lib.virtqueue_get_desc_addr(self.vq), self.lib.virtqueue_get_avail_addr(self.vq),
                self.lib.virtqueue_get_used_addr(self.vq))
