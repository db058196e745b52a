"""Host driver of the asynchronous one-writer-per-word transport (docs/transport.md).

The driver reads only the device page and writes only the driver page. Every change
ends with the DRIVER_STATUS word carrying a new sequence number and a config doorbell
with the same number; the driver then sleeps until MSI 0 and reads the ACK word, until it
carries that number (or a newer one). It never waits for a side effect of a register.

With `mirror`, the driver gives the device a page of host memory first and reads the
device page there (RAM, no MMIO read); BAR0 is read only when the mirror failed (the
device says so in DEVICE_STATE, which the driver looks at when woken with nothing new).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import (ASYNC_STATE_MIRROR_FAILED, ASYNC_DOORBELL_CONFIG, ASYNC_MAGIC, ASYNC_MAILBOX_DATA, ASYNC_MSI_CONFIG,
                      ASYNC_QUEUE_ENABLE, ASYNC_QUEUE_ENTRY_STRIDE, ASYNC_QUEUE_TABLE_SIZE, ASYNC_QUEUE_STATE_STRIDE,
                      ASYNC_STATE_NEEDS_RESET, ASYNC_VERSION, BAR_SRAM, SEQ_MASK, AsyncDevicePage as DEV,
                      AsyncDriverPage as DRV, AsyncQueueEntry as QE, AsyncQueueError, AsyncReason,
                      AsyncResult, DriverFlag, MboxOp, MboxStatus, VirtioDeviceId, VirtioStatus, pack_mbox_word,
                      pack_seq_word, seq_after, unpack_mbox_word, unpack_seq_word, ASYNC_MIRROR_ALIGN)
from .pcie_host import HostPcie, HostTimeout
from .virtio_core import (DeviceInfo, DeviceNeedsReset, FeaturesRefused, QueueConfig, Transport,
                          TransportError, TransportTimeout)

DEFAULT_ACK_TIMEOUT_NS = 200_000
DEFAULT_BOOT_TIMEOUT_NS = 1_000_000
CONFIG_READ_TRIES = 8
# with a mirror: how long the driver waits, after a wake that brought nothing new, for
# another MSI before it asks BAR0 whether the mirror was lost (a change is answered within
# a few microseconds at most latency settings here, docs/results.md; a device slower than
# this costs MMIO reads and can make the driver give the mirror up, never a wrong answer:
# BAR0 holds every word the mirror would)
MIRROR_QUIET_NS = 20_000


@dataclass(frozen=True)
class Ack:
    seq: int
    status: int
    result: AsyncResult


@dataclass(frozen=True)
class DeviceState:
    needs_reset: bool
    reason: AsyncReason
    event_seq: int


def _int(data: bytes, f, base: int = 0) -> int:
    o = f.offset - base
    return int.from_bytes(data[o:o + f.size], "little")


class AsyncTransport(Transport):
    name = "async"

    def __init__(self, host: HostPcie, ack_timeout_ns: int = DEFAULT_ACK_TIMEOUT_NS,
                 boot_timeout_ns: int = DEFAULT_BOOT_TIMEOUT_NS, mirror: bool = False):
        self.host = host
        self.mirror_wanted = mirror
        self.mirror = 0                 # host address of the device page's mirror in use (0: BAR0)
        self.mirror_page = 0            # the page allocated for it (kept across probes)
        self.mirror_lost = False        # the device reported MIRROR_FAILED: BAR0 from then on
        self.timeout_ns = ack_timeout_ns
        self.boot_timeout_ns = boot_timeout_ns
        self.seq = 0
        self.status = 0
        self.info: DeviceInfo | None = None
        self.msi_seen = 0
        self.config_gen = 0
        self.event_seq = 0

    # -- discovery -------------------------------------------------------------------

    # -- where the device page is read ---------------------------------------------------

    async def read_page(self, offset: int, length: int) -> bytes:
        """Device-page bytes: from the mirror in RAM, or from BAR0 (MMIO)."""
        if self.mirror:
            return bytes(await self.host.rc.mem_address_space.read(self.mirror + offset, length))
        return await self.host.read(BAR_SRAM, DEV.BASE + offset, length, self.timeout_ns)

    async def read_page32(self, offset: int) -> int:
        return int.from_bytes(await self.read_page(offset, 4), "little")

    async def set_mirror(self, addr: int) -> Ack:
        """A mirror change: MIRROR_ADDR, then DRIVER_STATUS with the MIRROR flag (its status
        ignored by the device). A new page is zeroed first: no stale ACK can match. The ACK
        is awaited in the new mirror (or, turning it off, in the old one)."""
        if addr:
            await self.host.rc.mem_address_space.write(addr, bytes(DEV.SIZE))
        await self.host.write(BAR_SRAM, DRV.MIRROR_ADDR.offset, addr.to_bytes(DRV.MIRROR_ADDR.size, "little"))
        self.mirror = addr or self.mirror
        ack = await self.change(self.status, DriverFlag.MIRROR)
        if ack.result == AsyncResult.MIRROR_INVALID or not addr:
            self.mirror = 0
        return ack

    async def _discover_mirrored(self) -> bytes:
        """Discovery with no MMIO read: the mirror set with the first sequence number (a
        fresh page holds 0 in its ACK word), the header read from RAM."""
        if not self.mirror_page:
            self.mirror_page = self.host.rc.mem_pool.alloc_region(DEV.SIZE).get_absolute_address(0)
            if self.mirror_page % ASYNC_MIRROR_ALIGN:
                raise TransportError(f"host page for the mirror at 0x{self.mirror_page:x} is not page aligned")
        self.seq, self.mirror_lost = 0, False
        self.msi_seen = self.host.msi_count(ASYNC_MSI_CONFIG)
        saved, self.timeout_ns = self.timeout_ns, max(self.timeout_ns, self.boot_timeout_ns)
        try:
            ack = await self.set_mirror(self.mirror_page)
        finally:
            self.timeout_ns = saved
        self._check(ack, "mirror")
        return await self.read_page(0, DEV.HEADER_SIZE)

    async def discover(self) -> DeviceInfo:
        """Read the device page header at once. If the firmware has not published it yet,
        sleep until its MSI 0 ("page published"), bounded by the boot timeout. With a
        mirror, set it first and read the header from RAM."""
        if self.mirror_wanted:
            return self._info(await self._discover_mirrored())
        self.msi_seen = self.host.msi_count(ASYNC_MSI_CONFIG)
        hdr = await self.host.read(BAR_SRAM, DEV.BASE, DEV.HEADER_SIZE, self.timeout_ns)
        if _int(hdr, DEV.MAGIC) != ASYNC_MAGIC:
            try:
                await self.host.wait_msi(ASYNC_MSI_CONFIG, self.msi_seen + 1, self.boot_timeout_ns)
            except HostTimeout:
                pass
            hdr = await self.host.read(BAR_SRAM, DEV.BASE, DEV.HEADER_SIZE, self.timeout_ns)
        ack_seq = unpack_seq_word(_int(hdr, DEV.ACK))[0]
        # continue the device's sequence: a stale ACK can never match a new change
        self.seq = ack_seq
        return self._info(hdr)

    def _info(self, hdr: bytes) -> DeviceInfo:
        magic, version = _int(hdr, DEV.MAGIC), _int(hdr, DEV.VERSION)
        if magic != ASYNC_MAGIC:
            raise TransportError(f"no async device page within {self.boot_timeout_ns} ns: magic 0x{magic:08x}, "
                                 f"expected 0x{ASYNC_MAGIC:08x}")
        if version != ASYNC_VERSION:
            raise TransportError(f"device page version {version}, driver speaks {ASYNC_VERSION}")
        self.status = unpack_seq_word(_int(hdr, DEV.ACK))[1]
        self.event_seq = _int(hdr, DEV.DEVICE_STATE) >> 16
        self.msi_seen = self.host.msi_count(ASYNC_MSI_CONFIG)
        self.info = DeviceInfo(VirtioDeviceId(_int(hdr, DEV.DEVICE_ID)), _int(hdr, DEV.DEVICE_FEATURES),
                               _int(hdr, DEV.NUM_QUEUES), _int(hdr, DEV.MAX_QUEUE_SIZE), _int(hdr, DEV.CONFIG_LEN))
        return self.info

    # -- one change: write, doorbell, wait for the matching ACK ----------------------------

    async def change(self, status: int, flags: DriverFlag = DriverFlag(0)) -> Ack:
        """Publish DRIVER_STATUS with the next seq, ring slot 0, wait for its ACK."""
        self.seq = (self.seq + 1) & SEQ_MASK
        await self.host.write32(BAR_SRAM, DRV.DRIVER_STATUS.offset, pack_seq_word(self.seq, status, flags))
        await self.host.ring_doorbell(ASYNC_DOORBELL_CONFIG, self.seq)
        ack = await self.wait_ack(self.seq)
        self.status = ack.status
        if ack.result == AsyncResult.NEEDS_RESET:
            state = await self.device_state()
            raise DeviceNeedsReset(state.reason, f"device needs reset (reason {state.reason.name}): "
                                   f"seq {self.seq} refused, only status 0 is accepted")
        return ack

    async def wait_ack(self, seq: int) -> Ack:
        """Sleep until MSI 0, read ACK; repeat until it carries `seq` or newer, or time out.
        With a mirror, a wake with nothing new in RAM is followed by a quiet wait
        (MIRROR_QUIET_NS): a device that answered always sends its MSI within it; if none
        comes, BAR0 says whether the mirror was lost (MIRROR_FAILED, or an ACK in BAR0 that
        RAM never got) and the driver goes on there. A stale MSI costs no MMIO read."""
        deadline = self.host.now_ns() + self.timeout_ns
        quiet = False
        while True:
            left = deadline - self.host.now_ns()
            try:
                await self.host.wait_msi(ASYNC_MSI_CONFIG, self.msi_seen + 1,
                                         max(min(left, MIRROR_QUIET_NS) if quiet else left, 0))
            except HostTimeout:
                if self.mirror:
                    ack = await self._mirror_lost(seq)
                    if ack is not None:
                        return ack
                if not quiet or self.host.now_ns() >= deadline:
                    last = unpack_seq_word(await self.read_page32(DEV.ACK.offset))[0]
                    raise TransportTimeout(f"device did not acknowledge seq {seq} within {self.timeout_ns} ns "
                                           f"(last ACK seq {last})") from None
                quiet = False
                continue
            self.msi_seen = self.host.msi_count(ASYNC_MSI_CONFIG)
            aseq, status, result = unpack_seq_word(await self.read_page32(DEV.ACK.offset))
            if seq_after(aseq, seq):
                return Ack(aseq, status, AsyncResult(result))
            quiet = bool(self.mirror)

    async def _mirror_lost(self, seq: int) -> Ack | None:
        """BAR0's view after a quiet wait: if the device reports MIRROR_FAILED or has
        acknowledged `seq` in BAR0 while RAM has not, the mirror is given up (BAR0 from
        now on) and BAR0's ACK returned if it answers `seq`."""
        state = await self.host.read32(BAR_SRAM, DEV.DEVICE_STATE.offset)
        aseq, status, result = unpack_seq_word(await self.host.read32(BAR_SRAM, DEV.ACK.offset))
        if state & ASYNC_STATE_MIRROR_FAILED or seq_after(aseq, seq):
            self.mirror, self.mirror_lost = 0, True
        return Ack(aseq, status, AsyncResult(result)) if self.mirror_lost and seq_after(aseq, seq) else None

    async def device_state(self) -> DeviceState:
        word = await self.read_page32(DEV.DEVICE_STATE.offset)
        return DeviceState(bool(word & ASYNC_STATE_NEEDS_RESET), AsyncReason((word >> 8) & 0xFF), word >> 16)

    # -- the virtio initialization steps ----------------------------------------------------

    async def reset(self) -> None:
        """Clear the queue table (a previous driver may have left entries), then status 0."""
        await self.host.write(BAR_SRAM, DRV.QUEUE_TABLE, bytes(ASYNC_QUEUE_TABLE_SIZE))
        ack = await self.change(0)
        if ack.status != 0:
            raise TransportError(f"reset acknowledged with status 0x{ack.status:02x}")

    async def set_features(self, features: int) -> None:
        await self.host.write(BAR_SRAM, DRV.DRIVER_FEATURES.offset, features.to_bytes(DRV.DRIVER_FEATURES.size, "little"))
        ack = await self.change(VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK)
        if ack.result == AsyncResult.FEATURES_REFUSED or not ack.status & VirtioStatus.FEATURES_OK:
            raise FeaturesRefused(f"device refused features 0x{features:x}", int(ack.result))
        self._check(ack, "features")

    async def setup_queues(self, queues: list[QueueConfig]) -> list[QueueConfig]:
        for q in queues:
            await self.write_queue_entry(q)
        ack = await self.change(self.status)
        if ack.result == AsyncResult.QUEUE_INVALID:
            errors = {q.index: await self.queue_error(q.index) for q in queues}
            bad = {i: e.name for i, e in errors.items() if e != AsyncQueueError.NONE}
            raise TransportError(f"queue setup refused: {bad}", int(ack.result))
        self._check(ack, "queue setup")
        return queues

    async def write_queue_entry(self, q: QueueConfig, enable: bool = True) -> None:
        """Addresses first, the control word (mode, enable) last: it publishes the entry."""
        base = DRV.QUEUE_TABLE + ASYNC_QUEUE_ENTRY_STRIDE * q.index
        body = (q.desc.to_bytes(8, "little") + q.driver.to_bytes(8, "little") + q.device.to_bytes(8, "little")
                + q.size.to_bytes(2, "little") + q.msi_vector.to_bytes(2, "little"))
        await self.host.write(BAR_SRAM, base, body)
        await self.host.write32(BAR_SRAM, base + QE.CONTROL.offset, int(q.mode) | (ASYNC_QUEUE_ENABLE if enable else 0))

    async def disable_queue(self, q: QueueConfig) -> None:
        base = DRV.QUEUE_TABLE + ASYNC_QUEUE_ENTRY_STRIDE * q.index
        await self.host.write32(BAR_SRAM, base + QE.CONTROL.offset, int(q.mode))
        self._check(await self.change(self.status), "queue disable")

    async def queue_error(self, index: int) -> AsyncQueueError:
        word = await self.read_page32(DEV.QUEUE_STATE.offset + ASYNC_QUEUE_STATE_STRIDE * index)
        return AsyncQueueError((word >> 8) & 0xFF)

    async def driver_ok(self) -> None:
        self._check(await self.change(self.status | VirtioStatus.DRIVER_OK), "DRIVER_OK")

    def _check(self, ack: Ack, what: str) -> None:
        if ack.result != AsyncResult.OK:
            raise TransportError(f"{what}: device answered {ack.result.name}", int(ack.result))

    # -- config: seqlock read -----------------------------------------------------------

    async def read_config(self, length: int) -> bytes:
        """Generation and config in one read, the generation again in a second: equal and
        even means the config bytes were not being rewritten in between."""
        start = DEV.CONFIG_GENERATION.offset
        for _ in range(CONFIG_READ_TRIES):
            data = await self.read_page(start, 4 + length)
            gen1 = int.from_bytes(data[:4], "little")
            gen2 = await self.read_page32(start)
            if gen1 == gen2 and gen1 % 2 == 0:
                self.config_gen = gen1
                return data[4:]
        raise TransportError(f"config kept changing: {CONFIG_READ_TRIES} seqlock reads failed")

    # -- mailbox ----------------------------------------------------------------------

    async def mailbox(self, op: MboxOp, data: bytes = b"") -> tuple[MboxStatus, bytes]:
        if len(data) > ASYNC_MAILBOX_DATA:
            raise ValueError(f"mailbox request of {len(data)} bytes above {ASYNC_MAILBOX_DATA}")
        seq = (self.seq + 1) & SEQ_MASK
        if data:
            await self.host.write(BAR_SRAM, DRV.MBOX_REQ_DATA.offset, data)
        await self.host.write32(BAR_SRAM, DRV.MBOX_REQ_LEN.offset, len(data))
        await self.host.write32(BAR_SRAM, DRV.MBOX_REQ_HDR.offset, pack_mbox_word(seq, op))
        return await self._mailbox_response(seq)

    async def mailbox_raw_length(self, op: MboxOp, length: int) -> tuple[MboxStatus, bytes]:
        """A request whose length word lies (for tests of the device's checks)."""
        seq = (self.seq + 1) & SEQ_MASK
        await self.host.write32(BAR_SRAM, DRV.MBOX_REQ_LEN.offset, length)
        await self.host.write32(BAR_SRAM, DRV.MBOX_REQ_HDR.offset, pack_mbox_word(seq, op))
        return await self._mailbox_response(seq)

    async def _mailbox_response(self, seq: int) -> tuple[MboxStatus, bytes]:
        self._check(await self.change(self.status, DriverFlag.MAILBOX), "mailbox")
        hdr = await self.read_page(DEV.MBOX_RESP_HDR.offset, 8)
        rseq, status = unpack_mbox_word(int.from_bytes(hdr[:4], "little"))
        length = int.from_bytes(hdr[4:8], "little")
        if rseq != seq:
            raise TransportError(f"mailbox response carries seq {rseq}, request was {seq}")
        resp = await self.read_page(DEV.MBOX_RESP_DATA.offset, length) if length else b""
        return MboxStatus(status), resp

    # -- events and unload ------------------------------------------------------------

    async def poll_event(self) -> DeviceState:
        """After an unexpected MSI 0: what happened (config change or NEEDS_RESET)."""
        self.msi_seen = self.host.msi_count(ASYNC_MSI_CONFIG)
        return await self.device_state()

    async def wait_event(self, timeout_ns: int) -> DeviceState:
        await self.host.wait_msi(ASYNC_MSI_CONFIG, self.msi_seen + 1, timeout_ns)
        return await self.poll_event()

    async def unload(self) -> None:
        """Driver removal: reset the device so that it holds no reference to host memory
        (and, with a mirror, stop it: its ACK is the mirror's last write)."""
        await self.reset()
        if self.mirror:
            await self.set_mirror(0)
