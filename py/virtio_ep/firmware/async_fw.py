"""Device firmware of the asynchronous one-writer-per-word transport (docs/transport.md).

The firmware publishes the device page, then sleeps on irq. A config doorbell (slot 0)
makes it reconcile the device with the driver page: read the driver status word first,
then only what that word makes relevant (features on a new FEATURES_OK, each queue's
control word and, for a queue being enabled, its addresses), apply, write the ACK word
with the driver's sequence number, and request MSI 0. Queue doorbells (slot 1+q) go to
the data path (counted here; the rings arrive with the data-path issue).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from cocotb.triggers import Event

from ..devices import VirtioDevice, bit
from ..layout import (ASYNC_DOORBELL_CONFIG, ASYNC_DOORBELL_QUEUE0, ASYNC_MAGIC, ASYNC_MAILBOX_DATA,
                      ASYNC_MAX_QUEUES, ASYNC_MSI_CONFIG, ASYNC_QUEUE_ENABLE, ASYNC_QUEUE_ENTRY_STRIDE,
                      ASYNC_QUEUE_STATE_ENABLED, ASYNC_QUEUE_STATE_STRIDE, ASYNC_STATE_NEEDS_RESET, PUSH_RING_SLOTS,
                      ASYNC_VERSION, AsyncDevicePage as DEV, AsyncDriverPage as DRV, AsyncQueueEntry as QE,
                      AsyncQueueError, AsyncReason, DriverFlag, AsyncResult, MboxOp, MboxStatus, QueueMode, SEQ_MASK,
                      VirtioFeature, VirtioStatus, Csr, FlrBit, IntSource, Region, RING_AREA_ALIGN, PUSH_USED_ALIGN,
                      pack_mbox_word, pack_seq_word, unpack_mbox_word, unpack_seq_word, PushEntry,
                      ASYNC_MIRROR_ALIGN)
from ..rings.memory import RingError
from .backends import backend_for
from .datapath import DeviceQueue, push_ring_base
from .mirror import DevicePage
from .soft_cpu import SoftCpu

VENDOR_ID = 0x1AF4                  # the virtio vendor ID, as virtio-pci devices report
SUPPORTED_MODES = (QueueMode.SPLIT, QueueMode.PACKED, QueueMode.PUSH, QueueMode.PUSH_SELF)

# area alignment per mode (virtio 1.2, 2.7 and 2.8): descriptor, driver, device areas


@dataclass
class QueueSetup:
    desc: int
    driver: int
    device: int
    size: int
    msi_vector: int
    mode: QueueMode


@dataclass
class AsyncDeviceState:
    status: int = 0                      # accepted virtio status
    features: int = 0
    queues: dict[int, QueueSetup] = field(default_factory=dict)
    ack_seq: int = 0
    mbox_seq: int | None = None          # last mailbox request answered
    needs_reset: bool = False
    reason: int = AsyncReason.NONE
    event_seq: int = 0
    config_gen: int = 0


class AsyncTransportFirmware:
    def __init__(self, cpu: SoftCpu, device: VirtioDevice, slots: int, log: logging.Logger | None = None,
                 restarted: bool = False, batch: bool = False, poll_cycles: int = 0,
                 msi_moderation: tuple[int, int] = (0, 0), prefetch: bool = False):
        """`restarted`: this firmware replaces one that was running (a crash or an update):
        it cannot know the driver's state, so it publishes NEEDS_RESET (FIRMWARE_RESTART).
        `batch`: queues take chains a batch at a time (vectorized processors).
        `poll_cycles`: poll the doorbells at that period instead of sleeping on irq (the
        polling firmware of Linux's endpoint functions, measured for comparison).
        `msi_moderation`: (count, time cycles) set on each enabled queue's MSI vector.
        `prefetch`: with `batch`, a queue the device fills takes its chains when notified
        (DeviceQueue)."""
        if device.num_queues > ASYNC_MAX_QUEUES:
            raise ValueError(f"{device.num_queues} queues above the transport's {ASYNC_MAX_QUEUES}")
        self.cpu = cpu
        self.dev = device
        self.slots = slots
        self.page = DevicePage(cpu)     # every device-page write, and its mirror
        self.msi_moderation = msi_moderation
        self.log = log or logging.getLogger("cocotb.firmware.async")
        self.st = AsyncDeviceState()
        if restarted:
            self.st.needs_reset = True
            self.st.reason = AsyncReason.FIRMWARE_RESTART
            self.st.event_seq = 1
        self.stop = Event()
        self.published = Event()
        self.queue_notifications: dict[int, int] = {}
        self.config_ops = 0
        self.backend = backend_for(device)
        self.dq: dict[int, DeviceQueue] = {}
        self.ring_errors: list[str] = []
        self.batch = batch
        self.prefetch = prefetch
        self.poll_cycles = poll_cycles
        self.flrs = 0                    # function-level resets handled
        self.resets = 0                  # hot resets (endpoint logic reset) handled

    # -- device page --------------------------------------------------------------

    async def publish(self) -> None:
        """Write the device page: identity, offer, empty ACK, config (generation even)."""
        d = self.dev
        hdr = bytearray(DEV.HEADER_SIZE)

        def put(f, v):
            hdr[f.offset:f.offset + f.size] = v.to_bytes(f.size, "little")
        put(DEV.VERSION, ASYNC_VERSION)
        put(DEV.DEVICE_ID, int(d.device_id))
        put(DEV.VENDOR_ID, VENDOR_ID)
        put(DEV.NUM_QUEUES, d.num_queues)
        put(DEV.MAX_QUEUE_SIZE, d.max_queue_size)
        put(DEV.MAILBOX_SIZE, ASYNC_MAILBOX_DATA)
        put(DEV.QUEUE_MODES, sum(1 << m for m in SUPPORTED_MODES))
        put(DEV.DEVICE_FEATURES, d.features)
        put(DEV.ACK, pack_seq_word(self.st.ack_seq, 0))
        put(DEV.DEVICE_STATE, self._state_word())
        put(DEV.CONFIG_LEN, len(d.config))
        # invalidate, then everything but the magic, then the config, then the magic:
        # a driver that sees the magic sees a complete page
        page = self.page
        await page.write_u32(DEV.MAGIC.offset, 0)
        await page.write(4, bytes(hdr[4:]))
        await page.write_u32(DEV.CONFIG_GENERATION.offset, self.st.config_gen)
        if d.config:
            await page.write(DEV.DEVICE_CONFIG.offset, bytes(d.config))
        await page.write_u32(DEV.MAGIC.offset, ASYNC_MAGIC)
        self.published.set()
        # tell a driver that probed too early (fails harmlessly while MSI is disabled)
        await self.interrupt_config()

    async def interrupt_config(self) -> None:
        """MSI 0, once every mirrored word before it has reached host memory."""
        await self.page.settle()
        await self.cpu.request_msi(ASYNC_MSI_CONFIG)

    def _state_word(self) -> int:
        flags = (ASYNC_STATE_NEEDS_RESET if self.st.needs_reset else 0) | self.page.state_flags()
        return (self.st.event_seq & SEQ_MASK) << 16 | (int(self.st.reason) & 0xFF) << 8 | flags

    async def run(self) -> None:
        await self.publish()
        if self.poll_cycles:
            await self.cpu.poll_doorbells(self.slots, self._on_doorbell, self.stop, self.poll_cycles)
            return
        await self.cpu.service_doorbells(self.slots, self._on_doorbell, self.stop,
                                         on_flr=self.on_flr, on_reset=self.on_reset)

    async def on_flr(self) -> None:
        """Function-level reset: start afresh, then tell the core the function is clean."""
        await self._start_afresh()
        self.flrs += 1
        await self.cpu.write32(Region.CSR + Csr.FLR, FlrBit.DONE)

    async def on_reset(self) -> None:
        """Hot reset (the endpoint's logic was reset under the firmware): the same, without
        the FLR handshake; BAR0 SRAM keeps its contents, so the pages are rewritten."""
        await self._start_afresh()
        self.resets += 1

    async def _start_afresh(self) -> None:
        """Everything the host set up is gone. Forget the old driver's pending doorbells,
        drop queues and negotiated state, clear the driver page, publish a fresh device page."""
        cpu = self.cpu
        await cpu.take_doorbells(self.slots)
        await self.page.settle()             # mirror writes in flight end (or fail) first
        self.page = DevicePage(cpu)          # the driver that set the mirror is gone
        await self._reset()
        self.st = AsyncDeviceState()
        await cpu.write_sram(DRV.BASE, bytes(DRV.SIZE))
        await self.publish()

    async def _on_doorbell(self, slot: int, value: int) -> bool:
        """True when a queue's back end stopped with work left (another turn, see
        SoftCpu.service_doorbells)."""
        if slot == ASYNC_DOORBELL_CONFIG:
            await self.handle_config()
        elif ASYNC_DOORBELL_QUEUE0 <= slot < ASYNC_DOORBELL_QUEUE0 + self.dev.num_queues:
            q = slot - ASYNC_DOORBELL_QUEUE0
            self.queue_notifications[q] = self.queue_notifications.get(q, 0) + 1
            return await self._on_queue(q, value)
        return False

    async def _on_queue(self, q: int, value: int) -> bool:
        """Data path: only for a live device and an enabled queue; a ring the driver broke
        puts the device into NEEDS_RESET (reason BAD_RING) instead of being trusted."""
        dq = self.dq.get(q)
        if dq is None or self.st.needs_reset or not self.st.status & VirtioStatus.DRIVER_OK:
            return False
        try:
            dq.doorbell(value)
            return bool(await self.backend.on_notify(dq, self.dq))
        except RingError as exc:
            if exc.reason.startswith("dma_") and await self.cpu.csr(Csr.INT_STATUS) & (IntSource.FLR | IntSource.RESET):
                self.log.info("queue %d: request abandoned, the function is being reset (%s)", q, exc)
                return False                 # not the ring's fault: on_flr/on_reset start afresh
            self.ring_errors.append(f"queue {q}: {exc.reason}: {exc}")
            self.log.warning("queue %d: %s", q, exc)
            await self.needs_reset(AsyncReason.BAD_RING)
            return False

    # -- control plane ----------------------------------------------------------------

    async def handle_config(self) -> None:
        cpu, st = self.cpu, self.st
        self.config_ops += 1
        await cpu.compute(cpu.costs.control_decode)
        # the publishing word first: whatever it says is backed by data already written
        seq, status, flags = unpack_seq_word(await cpu.read_sram_u32(DRV.DRIVER_STATUS.offset))
        if flags & DriverFlag.MIRROR:        # a mirror change carries nothing else
            result = await self._set_mirror()
            st.ack_seq = seq
            await self.page.write_u32(DEV.ACK.offset, pack_seq_word(seq, st.status, result))
            await self.interrupt_config()
            if self.page.stop_after_ack:     # the ACK of "mirror off" was the mirror's last word
                self.page.addr, self.page.stop_after_ack = 0, False
            return
        if st.needs_reset and status != 0:
            result = AsyncResult.NEEDS_RESET
        elif status == 0:
            await self._reset()
            result = AsyncResult.OK
        else:
            result = await self._apply_status(status)
            if st.status & VirtioStatus.FEATURES_OK:
                qres = await self._reconcile_queues()
                if result == AsyncResult.OK:
                    result = qres
        if flags & DriverFlag.MAILBOX and not st.needs_reset:
            await self._mailbox(seq)
        st.ack_seq = seq
        await self.page.write_u32(DEV.ACK.offset, pack_seq_word(seq, st.status, result))
        await self.interrupt_config()

    async def _set_mirror(self) -> AsyncResult:
        """MIRROR_ADDR: page aligned, a new mirror (the page as it stands copied into it, its
        ACK word left for this change's answer); 0, the mirror stops after this change's
        ACK; anything else, MIRROR_INVALID and no mirror."""
        cpu, page = self.cpu, self.page
        addr = await cpu.read_sram_int(DRV.MIRROR_ADDR.offset, DRV.MIRROR_ADDR.size)
        await cpu.compute(cpu.costs.queue_validate)
        if addr == 0:
            page.stop_after_ack = bool(page.addr)
            return AsyncResult.OK
        await page.settle()
        if addr % ASYNC_MIRROR_ALIGN:           # no mirror; MIRROR_FAILED tells a driver waiting on it
            page.addr, page.failed = 0, True
            await cpu.write_sram_u32(DEV.DEVICE_STATE.offset, self._state_word())
            return AsyncResult.MIRROR_INVALID
        page.addr, page.failed = addr, False
        await cpu.write_sram_u32(DEV.DEVICE_STATE.offset, self._state_word())     # MIRROR_FAILED cleared
        ack = DEV.ACK.offset
        await page.copy_to_mirror([(0, ack), (ack + 4, DEV.HEADER_SIZE - ack - 4),
                                   (DEV.CONFIG_GENERATION.offset, 4 + len(self.dev.config))])
        return AsyncResult.OK

    async def _reset(self) -> None:
        st = self.st
        st.status = 0
        st.features = 0
        for q in list(st.queues):
            await self.page.write_u32(DEV.QUEUE_STATE.offset + ASYNC_QUEUE_STATE_STRIDE * q, 0)
        st.queues.clear()
        for dq in self.dq.values():
            await dq.close()
        self.dq.clear()
        self.backend.reset()                 # requests taken and not answered are dropped
        if st.needs_reset:
            st.needs_reset = False
            st.reason = AsyncReason.NONE
            await self.page.write_u32(DEV.DEVICE_STATE.offset, self._state_word())

    async def _apply_status(self, status: int) -> AsyncResult:
        cpu, st = self.cpu, self.st
        added = status & ~st.status
        if st.status & ~status:
            return AsyncResult.BAD_STATE          # bits are only ever added, except by reset
        if added & VirtioStatus.FEATURES_OK:
            features = await cpu.read_sram_int(DRV.DRIVER_FEATURES.offset, DRV.DRIVER_FEATURES.size)
            await cpu.compute(cpu.costs.features_check)
            if not self.dev.accepts(features):
                st.status = status & (VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FAILED)
                return AsyncResult.FEATURES_REFUSED
            st.features = features
        if added & VirtioStatus.DRIVER_OK and not status & VirtioStatus.FEATURES_OK:
            return AsyncResult.BAD_STATE
        st.status = status
        return AsyncResult.OK

    async def _reconcile_queues(self) -> AsyncResult:
        cpu, st = self.cpu, self.st
        result = AsyncResult.OK
        for q in range(self.dev.num_queues):
            entry = DRV.QUEUE_TABLE + ASYNC_QUEUE_ENTRY_STRIDE * q
            control = await cpu.read_sram_u32(entry + QE.CONTROL.offset)
            want = bool(control & ASYNC_QUEUE_ENABLE)
            if want == (q in st.queues):
                continue
            state_addr = DEV.QUEUE_STATE.offset + ASYNC_QUEUE_STATE_STRIDE * q
            if not want:
                del st.queues[q]
                old = self.dq.pop(q, None)
                if old is not None:
                    await old.close()
                await self.page.write_u32(state_addr, 0)
                continue
            raw = await cpu.read_sram(entry, QE.CONTROL.offset)
            await cpu.compute(cpu.costs.queue_validate)
            setup = QueueSetup(
                desc=int.from_bytes(raw[QE.DESC.offset:QE.DESC.offset + 8], "little"),
                driver=int.from_bytes(raw[QE.DRIVER.offset:QE.DRIVER.offset + 8], "little"),
                device=int.from_bytes(raw[QE.DEVICE.offset:QE.DEVICE.offset + 8], "little"),
                size=int.from_bytes(raw[QE.SIZE.offset:QE.SIZE.offset + 2], "little"),
                msi_vector=int.from_bytes(raw[QE.MSI_VECTOR.offset:QE.MSI_VECTOR.offset + 2], "little"),
                mode=control & 0xFF)
            err = self._validate(q, setup)
            if err != AsyncQueueError.NONE:
                await self.page.write_u32(state_addr, int(err) << 8)
                result = AsyncResult.QUEUE_INVALID
                continue
            setup.mode = QueueMode(setup.mode)
            st.queues[q] = setup
            dq = DeviceQueue(cpu, q, setup.mode, setup.desc, setup.driver, setup.device, setup.size,
                             setup.msi_vector, batch=self.batch, features=st.features, prefetch=self.prefetch)
            await dq.init()
            if self.msi_moderation[1]:
                await cpu.moderate_msi(setup.msi_vector, *self.msi_moderation)
            self.dq[q] = dq
            await self.page.write_u32(state_addr, ASYNC_QUEUE_STATE_ENABLED)
        return result

    def _validate(self, q: int, s: QueueSetup) -> AsyncQueueError:
        if s.mode not in SUPPORTED_MODES:
            return AsyncQueueError.BAD_MODE
        if s.mode == QueueMode.PACKED and not self.st.features & bit(VirtioFeature.RING_PACKED):
            return AsyncQueueError.BAD_MODE
        if s.size == 0 or s.size > self.dev.max_queue_size or (s.mode == QueueMode.SPLIT and s.size & (s.size - 1)):
            return AsyncQueueError.BAD_SIZE
        if s.mode in (QueueMode.PUSH, QueueMode.PUSH_SELF):
            # the ring must lie inside this build's BAR0 SRAM (queues 0-3 at 64 slots in 64 KiB)
            if s.size > PUSH_RING_SLOTS or push_ring_base(q) + s.size * PushEntry.SIZE > (self.cpu.bar0_size or 0):
                return AsyncQueueError.BAD_SIZE
            if s.device == 0 or s.device % PUSH_USED_ALIGN:
                return AsyncQueueError.BAD_ADDRESS
            return AsyncQueueError.NONE
        for addr, align in zip((s.desc, s.driver, s.device), RING_AREA_ALIGN[QueueMode(s.mode)]):
            if addr == 0 or addr % align:
                return AsyncQueueError.BAD_ADDRESS
        return AsyncQueueError.NONE

    async def _mailbox(self, seq: int) -> None:
        cpu, st = self.cpu, self.st
        mseq, op = unpack_mbox_word(await cpu.read_sram_u32(DRV.MBOX_REQ_HDR.offset))
        if mseq != seq or st.mbox_seq == mseq:
            return                                  # no new request in this change
        st.mbox_seq = mseq
        await cpu.compute(cpu.costs.mailbox_op)
        length = await cpu.read_sram_u32(DRV.MBOX_REQ_LEN.offset)
        status, resp = MboxStatus.OK, b""
        if length > ASYNC_MAILBOX_DATA:
            status = MboxStatus.BAD_LENGTH
        elif op == MboxOp.NOP:
            pass
        elif op == MboxOp.ECHO:
            resp = await cpu.read_sram(DRV.MBOX_REQ_DATA.offset, length)
        elif op == MboxOp.SET_CONFIG:
            status = await self._set_config(length)
        else:
            status = MboxStatus.UNSUPPORTED
        if resp:
            await self.page.write(DEV.MBOX_RESP_DATA.offset, resp)
        await self.page.write_u32(DEV.MBOX_RESP_LEN.offset, len(resp))
        await self.page.write_u32(DEV.MBOX_RESP_HDR.offset, pack_mbox_word(mseq, status))

    async def _set_config(self, length: int) -> MboxStatus:
        if length < 4:
            return MboxStatus.BAD_LENGTH
        req = await self.cpu.read_sram(DRV.MBOX_REQ_DATA.offset, length)
        offset = int.from_bytes(req[0:2], "little")
        size = int.from_bytes(req[2:4], "little")
        if size != length - 4 or offset + size > len(self.dev.config):
            return MboxStatus.BAD_LENGTH
        if not self.dev.config_writable(offset, size):
            return MboxStatus.DENIED
        new = bytearray(self.dev.config)
        new[offset:offset + size] = req[4:]
        await self.update_config(bytes(new), notify=False)
        return MboxStatus.OK

    # -- device-initiated events ---------------------------------------------------------

    async def update_config(self, config: bytes, notify: bool = True) -> None:
        """Seqlock: generation odd while the config is rewritten, even again after; then MSI 0."""
        cpu, st = self.cpu, self.st
        st.config_gen += 1
        await self.page.write_u32(DEV.CONFIG_GENERATION.offset, st.config_gen)
        self.dev.config[:] = config
        await self.page.write(DEV.DEVICE_CONFIG.offset, config)
        st.config_gen += 1
        await self.page.write_u32(DEV.CONFIG_GENERATION.offset, st.config_gen)
        if notify:
            await self.interrupt_config()

    async def needs_reset(self, reason: AsyncReason) -> None:
        """Device-initiated reset: publish NEEDS_RESET with its reason, then MSI 0."""
        st = self.st
        st.needs_reset = True
        st.reason = reason
        st.event_seq = (st.event_seq + 1) & SEQ_MASK
        await self.page.write_u32(DEV.DEVICE_STATE.offset, self._state_word())
        await self.interrupt_config()
