"""A driver queue whose ring is driven by Linux's own virtio_ring.c (virtio_ep.linux), with
the interface of DriverQueue, so the project's net, block and entropy drivers run over it.

It follows Linux's order of operations: virtqueue_add_sgs, then virtqueue_kick_prepare and
a notification only when that says so (the doorbell carries the queue index, as
virtio-pci's notify does); on an interrupt, callbacks disabled, virtqueue_get_buf until
empty, callbacks enabled again and, if that reports buffers that arrived meanwhile, polled
again. Every buffer lives in the DMA area shared with the root complex. The kernel's ring
must never be broken, and a used buffer must be one in flight: otherwise KernelQueueError.
"""

from __future__ import annotations

from ..layout import ASYNC_DOORBELL_QUEUE0, QueueMode, SplitAvail, SplitUsed
from ..linux.ring import KernelVirtqueue, LinuxRing
from ..rings.split import SplitRing
from .pcie_host import HostPcie, HostTimeout
from .virtio_core import QueueConfig


class KernelQueueError(AssertionError):
    pass


class KernelQueue:
    def __init__(self, host: HostPcie, cfg: QueueConfig, vq: KernelVirtqueue, kernel: LinuxRing,
                 delayed_cb: bool = False):
        """`delayed_cb`: re-enable callbacks with virtqueue_enable_cb_delayed (virtio_net's TX)."""
        self.host, self.cfg, self.vq, self.kernel = host, cfg, vq, kernel
        self.mode = cfg.mode
        self.delayed_cb = delayed_cb
        self.msi_seen = 0
        self.next_token = 1
        self.inflight: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}   # token -> out, in buffers
        self.done_in: dict[int, list[tuple[int, int]]] = {}       # used, in-buffers not yet read
        self.collected: list[tuple[int, int]] = []
        self.added = self.used = self.notifications = 0

    @property
    def room(self) -> int:
        """Descriptors free in the kernel's ring."""
        return self.vq.num_free

    async def init(self) -> None:
        self.msi_seen = self.host.msi_count(self.cfg.msi_vector)

    def _check(self, what: str) -> None:
        if self.vq.is_broken():
            raise KernelQueueError(f"queue {self.cfg.index}: the kernel marked the ring broken ({what})")

    async def add(self, out: list[bytes], inb: list[int]) -> int:
        """One request: device-readable payloads and device-writable buffer sizes."""
        outs = []
        for data in out:
            ptr = self.kernel.alloc(len(data))
            self.kernel.area.write(ptr, data)
            outs.append((ptr, len(data)))
        ins = [(self.kernel.alloc(n), n) for n in inb]
        token = self.next_token
        self.next_token = self.next_token % 0xFFFF_FFFF + 1
        self.vq.add(outs, ins, token)
        self._check("add")
        self.inflight[token] = (outs, ins)
        self.added += 1
        return token

    async def kick(self) -> None:
        if self.vq.kick_prepare():
            self.notifications += 1
            await self.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + self.cfg.index, self.cfg.index)

    def _poll(self) -> None:
        """Linux's interrupt path: disable callbacks, take every used buffer."""
        self.vq.disable_cb()
        while (got := self.vq.get_buf()) is not None:
            token, length = got
            if token not in self.inflight:
                raise KernelQueueError(f"queue {self.cfg.index}: used buffer {token} is not in flight "
                                       f"(in flight: {sorted(self.inflight)[:8]})")
            outs, ins = self.inflight.pop(token)
            for ptr, _ in outs:
                self.kernel.free(ptr)
            self.done_in[token] = ins
            self.collected.append((token, length))
            self.used += 1
        self._check("get_buf")

    def _rearm(self) -> bool:
        """Callbacks on again; False if buffers were used meanwhile (poll again)."""
        return self.vq.enable_cb_delayed() if self.delayed_cb else self.vq.enable_cb()

    async def wait_used(self, count: int, timeout_ns: int) -> list[tuple[int, int]]:
        """Until `count` requests are used, sleeping on the queue's MSI; (token, length) each.
        Entries collected before a timeout are kept for the next call."""
        deadline = self.host.now_ns() + timeout_ns
        while True:
            self._poll()
            if len(self.collected) >= count:
                got, self.collected = self.collected[:count], self.collected[count:]
                self._rearm()
                return got
            if not self._rearm():
                continue
            try:
                await self.host.wait_msi(self.cfg.msi_vector, self.msi_seen + 1,
                                         max(deadline - self.host.now_ns(), 0))
            except HostTimeout:
                raise HostTimeout(f"queue {self.cfg.index} ({self.mode.name.lower()}) stalled: {len(self.collected)} "
                                  f"of {count} used after {timeout_ns} ns; {self.added} added, {self.used} used, "
                                  f"in flight {sorted(self.inflight)[:8]}; {self.indices()}") from None
            self.msi_seen = self.host.msi_count(self.cfg.msi_vector)

    def indices(self) -> str:
        """The ring's indices as both sides left them in memory (split: avail.idx, used.idx
        and the two event indices), for a stall report."""
        if self.mode != QueueMode.SPLIT:
            return f"{self.vq.num_free} descriptors free"
        ring, area = SplitRing(*self.vq.areas(), self.vq.size), self.kernel.area
        word = lambda bus: int.from_bytes(area.read(area.base + bus - area.bus, 2), "little")   # noqa: E731
        return (f"avail.idx {word(ring.avail + SplitAvail.IDX.offset)}, used.idx {word(ring.used + SplitUsed.IDX.offset)}, "
                f"used_event {word(ring.used_event)}, avail_event {word(ring.avail_event)}")

    async def read_in(self, token: int, length: int) -> bytes:
        """The first `length` bytes the device wrote into the request's writable buffers
        (which are freed)."""
        out = bytearray()
        for ptr, n in self.done_in.pop(token):
            take = min(n, length - len(out))
            if take > 0:
                out += self.kernel.area.read(ptr, take)
            self.kernel.free(ptr)
        return bytes(out)


def kernel_ring_modes() -> tuple[QueueMode, ...]:
    """The ring modes Linux's ring code drives (the push ring is this project's own)."""
    return (QueueMode.SPLIT, QueueMode.PACKED)
