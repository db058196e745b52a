"""Device firmware of the two command-based transports others shipped, built so that
they can be measured against ours on the same endpoint (docs/results.md):

- MailboxFirmware: the endpoint vhost series' design. One command at a time in BAR0
  (MboxPage); the driver sets STATUS to BUSY and rings CMD_DOORBELL; the firmware runs
  the command and writes its result into STATUS, which the driver polls. Queue kicks are
  commands too (CmdOp.KICK).
- MessageFirmware: in the style of virtio-msg. Requests and responses are messages matched
  by a token, in two FIFOs in BAR0 (MsgArea); a doorbell tells the firmware of requests,
  MSI MSG_MSI tells the driver of responses.

Both run the same virtio operations (CommandDevice); the data path is the async
transport's (DeviceQueue, doorbell slot 1 + q per queue).
"""

from __future__ import annotations

import logging

from cocotb.triggers import Event

from ..devices import VirtioDevice, bit
from ..layout import (CMD_DATA_MAX, CMD_DOORBELL, MBOX_MAGIC, MSG_FIFO_ENTRIES, MSG_FLAG_RESPONSE, MSG_MAGIC,
                      MSG_MSI, CmdInfo, CmdOp, CmdQueue, CmdResult, MboxPage, MsgArea, MsgHeader, QueueMode,
                      RING_AREA_ALIGN, VirtioFeature, VirtioStatus)
from ..rings.memory import RingError
from .backends import backend_for
from .datapath import DeviceQueue
from .soft_cpu import SoftCpu




class CommandDevice:
    """The virtio device behind a command transport: one method per CmdOp."""

    def __init__(self, cpu: SoftCpu, device: VirtioDevice, log: logging.Logger):
        self.cpu = cpu
        self.dev = device
        self.log = log
        self.status = 0
        self.features = 0
        self.dq: dict[int, DeviceQueue] = {}
        self.backend = backend_for(device)
        self.ring_errors: list[str] = []
        self.commands = 0

    async def execute(self, op: int, args: bytes) -> tuple[CmdResult, bytes]:
        cpu = self.cpu
        self.commands += 1
        await cpu.compute(cpu.costs.control_decode)
        if op == CmdOp.GET_INFO:
            info = bytearray(CmdInfo.SIZE)
            for f, v in ((CmdInfo.DEVICE_ID, int(self.dev.device_id)), (CmdInfo.NUM_QUEUES, self.dev.num_queues),
                         (CmdInfo.MAX_QUEUE_SIZE, self.dev.max_queue_size), (CmdInfo.CONFIG_LEN, len(self.dev.config))):
                f.put(info, v)
            return CmdResult.OK, bytes(info)
        if op == CmdOp.GET_FEATURES:
            return CmdResult.OK, self.dev.features.to_bytes(16, "little")
        if op == CmdOp.SET_FEATURES:
            await cpu.compute(cpu.costs.features_check)
            features = int.from_bytes(args[:16], "little")
            if self.status & VirtioStatus.FEATURES_OK or not self.dev.accepts(features):
                return CmdResult.REFUSED, b""
            self.features = features
            return CmdResult.OK, b""
        if op == CmdOp.SET_STATUS:
            return await self._set_status(int.from_bytes(args[:4], "little")), b""
        if op == CmdOp.SET_QUEUE:
            return await self._set_queue(args)
        if op == CmdOp.GET_CONFIG:
            off, length = int.from_bytes(args[0:4], "little"), int.from_bytes(args[4:8], "little")
            if length > CMD_DATA_MAX or off + length > len(self.dev.config):
                return CmdResult.INVALID, b""
            return CmdResult.OK, bytes(self.dev.config[off:off + length])
        if op == CmdOp.RESET:
            await self.reset()
            return CmdResult.OK, b""
        if op == CmdOp.KICK:
            q = int.from_bytes(args[:4], "little")
            if q not in self.dq:
                return CmdResult.INVALID, b""
            await self.notify(q)
            return CmdResult.OK, b""
        return CmdResult.UNSUPPORTED, b""

    async def _set_status(self, status: int) -> CmdResult:
        if status == 0:
            await self.reset()
            return CmdResult.OK
        added = status & ~self.status
        if self.status & ~status:
            return CmdResult.INVALID                # bits are only added, except by reset
        if added & VirtioStatus.FEATURES_OK and not self.features and self.dev.features:
            return CmdResult.INVALID                # FEATURES_OK without SET_FEATURES
        if added & VirtioStatus.DRIVER_OK and not status & VirtioStatus.FEATURES_OK:
            return CmdResult.INVALID
        self.status = status
        return CmdResult.OK

    async def _set_queue(self, args: bytes) -> tuple[CmdResult, bytes]:
        cpu = self.cpu
        await cpu.compute(cpu.costs.queue_validate)
        q, size = CmdQueue.INDEX.get(args), CmdQueue.SIZE.get(args)
        mode, vector = CmdQueue.MODE.get(args), CmdQueue.MSI_VECTOR.get(args)
        desc, driver, device = (f.get(args) for f in (CmdQueue.DESC, CmdQueue.DRIVER, CmdQueue.DEVICE))
        if (q >= self.dev.num_queues or mode not in RING_AREA_ALIGN or not self.status & VirtioStatus.FEATURES_OK
                or self.status & VirtioStatus.DRIVER_OK):
            return CmdResult.INVALID, b""
        if mode == QueueMode.PACKED and not self.features & bit(VirtioFeature.RING_PACKED):
            return CmdResult.INVALID, b""
        if size == 0 or size > self.dev.max_queue_size or (mode == QueueMode.SPLIT and size & (size - 1)):
            return CmdResult.INVALID, b""
        if any(a == 0 or a % align for a, align in zip((desc, driver, device), RING_AREA_ALIGN[QueueMode(mode)])):
            return CmdResult.INVALID, b""
        old = self.dq.pop(q, None)
        if old is not None:
            await old.close()
        dq = DeviceQueue(cpu, q, QueueMode(mode), desc, driver, device, size, vector,
                         features=self.features)
        await dq.init()
        self.dq[q] = dq
        return CmdResult.OK, (1 + q).to_bytes(4, "little")

    async def reset(self) -> None:
        self.status = self.features = 0
        for dq in self.dq.values():
            await dq.close()
        self.dq.clear()
        self.backend.reset()

    async def notify(self, q: int) -> None:
        """The driver made buffers available on queue q (a doorbell or a KICK command)."""
        dq = self.dq.get(q)
        if dq is None or not self.status & VirtioStatus.DRIVER_OK:
            return
        try:
            # a notification here may be a command that must finish: serve the queue until
            # its back end has nothing left, budget or not
            while await self.backend.on_notify(dq, self.dq):
                pass
        except RingError as exc:          # no status word for it in these transports: queue stopped
            self.ring_errors.append(f"queue {q}: {exc.reason}: {exc}")
            self.log.warning("queue %d: %s", q, exc)
            self.dq.pop(q, None)


class _CommandFirmware:
    magic_offset = 0
    magic = 0

    def __init__(self, cpu: SoftCpu, device: VirtioDevice, slots: int, log: logging.Logger):
        self.cpu = cpu
        self.slots = slots
        self.log = log
        self.device = CommandDevice(cpu, device, log)
        self.stop = Event()
        self.published = Event()

    @property
    def backend(self):
        return self.device.backend

    @property
    def ring_errors(self) -> list[str]:
        return self.device.ring_errors

    async def publish(self) -> None:
        await self.cpu.write_sram_u32(self.magic_offset, self.magic)
        self.published.set()

    async def run(self) -> None:
        await self.cpu.write_sram_u32(self.magic_offset, 0)
        await self.clear()
        await self.publish()
        await self.cpu.service_doorbells(self.slots, self._on_doorbell, self.stop, on_reset=self.on_reset)

    async def clear(self) -> None: ...

    async def on_reset(self) -> None:
        await self.device.reset()
        await self.clear()
        await self.publish()

    async def _on_doorbell(self, slot: int, value: int) -> None:
        if slot == CMD_DOORBELL:
            await self.on_command()
        else:
            await self.device.notify(slot - 1)

    async def on_command(self) -> None: ...


class MailboxFirmware(_CommandFirmware):
    magic_offset, magic = MboxPage.MAGIC.offset, MBOX_MAGIC

    def __init__(self, cpu: SoftCpu, device: VirtioDevice, slots: int, log: logging.Logger | None = None):
        super().__init__(cpu, device, slots, log or logging.getLogger("cocotb.firmware.mailbox"))

    async def on_command(self) -> None:
        cpu = self.cpu
        op = await cpu.read_sram_u32(MboxPage.OPCODE.offset)
        args = await cpu.read_sram(MboxPage.ARGS.offset, MboxPage.ARGS.size)
        result, data = await self.device.execute(op, args)
        if data:
            await cpu.write_sram(MboxPage.RESULT.offset, data)
        await cpu.write_sram_u32(MboxPage.STATUS.offset, result)


class MessageFirmware(_CommandFirmware):
    magic_offset, magic = MsgArea.MAGIC.offset, MSG_MAGIC

    def __init__(self, cpu: SoftCpu, device: VirtioDevice, slots: int, log: logging.Logger | None = None):
        super().__init__(cpu, device, slots, log or logging.getLogger("cocotb.firmware.msg"))
        self.req_tail = self.rsp_head = 0

    async def clear(self) -> None:
        self.req_tail = self.rsp_head = 0
        for f in (MsgArea.REQ_HEAD, MsgArea.REQ_TAIL, MsgArea.RSP_HEAD, MsgArea.RSP_TAIL):
            await self.cpu.write_sram_u32(f.offset, 0)

    async def on_command(self) -> None:
        """Take every queued request, answer each in order, then one MSI for the batch."""
        cpu = self.cpu
        head = await cpu.read_sram_u32(MsgArea.REQ_HEAD.offset)
        rsp_tail = await cpu.read_sram_u32(MsgArea.RSP_TAIL.offset)
        answered = 0
        while self.req_tail != head:
            if (self.rsp_head - rsp_tail) & 0xFFFF_FFFF >= MSG_FIFO_ENTRIES:
                break                              # no room for the answer: the rest waits
            if (head - self.req_tail) & 0xFFFF_FFFF > MSG_FIFO_ENTRIES:
                self.log.warning("request head %d is %d past the tail: ignored", head, head - self.req_tail)
                break
            slot = MsgArea.REQ_FIFO + MsgHeader.SIZE * (self.req_tail % MSG_FIFO_ENTRIES)
            msg = await cpu.read_sram(slot, MsgHeader.SIZE)
            length = min(MsgHeader.LENGTH.get(msg), CMD_DATA_MAX)
            payload = msg[MsgHeader.PAYLOAD.offset:MsgHeader.PAYLOAD.offset + length]
            result, data = await self.device.execute(MsgHeader.TYPE.get(msg), payload)
            rsp = bytearray(MsgHeader.PAYLOAD.offset + len(data))
            for f, v in ((MsgHeader.TYPE, MsgHeader.TYPE.get(msg)), (MsgHeader.FLAGS, MSG_FLAG_RESPONSE),
                         (MsgHeader.TOKEN, MsgHeader.TOKEN.get(msg)), (MsgHeader.LENGTH, len(data)),
                         (MsgHeader.RESULT, int(result))):
                f.put(rsp, v)
            rsp[MsgHeader.PAYLOAD.offset:] = data
            await cpu.write_sram(MsgArea.RSP_FIFO + MsgHeader.SIZE * (self.rsp_head % MSG_FIFO_ENTRIES), bytes(rsp))
            self.req_tail = (self.req_tail + 1) & 0xFFFF_FFFF
            self.rsp_head = (self.rsp_head + 1) & 0xFFFF_FFFF
            answered += 1
        if answered:
            await cpu.write_sram_u32(MsgArea.REQ_TAIL.offset, self.req_tail)
            await cpu.write_sram_u32(MsgArea.RSP_HEAD.offset, self.rsp_head)
            await cpu.request_msi(MSG_MSI)
