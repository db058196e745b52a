"""Host drivers of the two command-based transports others shipped (see
firmware/command_fw.py): a mailbox the driver polls, and virtio-msg style messages.

Both send the same operations (CmdOp); they differ in how a command travels and how the
driver learns its answer: polling a status word in BAR0 (host reads, each stalling the
CPU for a round trip) or waiting for an MSI and reading the response message.
"""

from __future__ import annotations

from cocotb.triggers import Timer

from ..layout import (BAR_SRAM, CMD_DATA_MAX, CMD_DOORBELL, MBOX_MAGIC, MBOX_POLL_NS, MSG_FIFO_ENTRIES,
                      MSG_FLAG_RESPONSE, MSG_MAGIC, MSG_MSI, CmdInfo, CmdOp, CmdQueue, CmdResult, MboxPage,
                      MsgArea, MsgHeader, QueueMode, VirtioDeviceId, VirtioStatus)
from .pcie_host import HostPcie
from .virtio_core import DeviceInfo, FeaturesRefused, QueueConfig, Transport, TransportError, TransportTimeout

DEFAULT_TIMEOUT_NS = 1_000_000



class CommandTransport(Transport):
    """The virtio operations as commands; subclasses implement `command`."""

    magic_offset = 0
    magic = 0
    STATUS_BITS = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER

    def __init__(self, host: HostPcie, timeout_ns: int = DEFAULT_TIMEOUT_NS):
        self.host = host
        self.timeout_ns = timeout_ns
        self.status = 0
        self.commands = 0

    async def command(self, op: CmdOp, args: bytes = b"", result_len: int = 0) -> tuple[CmdResult, bytes]:
        raise NotImplementedError

    async def call(self, op: CmdOp, args: bytes = b"", result_len: int = 0) -> bytes:
        """A command that must succeed."""
        if len(args) > CMD_DATA_MAX or result_len > CMD_DATA_MAX:
            raise ValueError(f"{op.name}: at most {CMD_DATA_MAX} bytes each way")
        self.commands += 1
        result, data = await self.command(op, args, result_len)
        if result != CmdResult.OK:
            raise TransportError(f"{self.name}: {op.name} answered {CmdResult(result).name}", int(result))
        return data

    async def discover(self) -> DeviceInfo:
        magic = await self.host.read32(BAR_SRAM, self.magic_offset)
        if magic != self.magic:
            raise TransportError(f"no {self.name} transport in BAR0 (magic 0x{magic:08x})")
        info = await self.call(CmdOp.GET_INFO, result_len=CmdInfo.SIZE)
        features = int.from_bytes(await self.call(CmdOp.GET_FEATURES, result_len=16), "little")
        return DeviceInfo(VirtioDeviceId(CmdInfo.DEVICE_ID.get(info)), features, CmdInfo.NUM_QUEUES.get(info),
                          CmdInfo.MAX_QUEUE_SIZE.get(info), CmdInfo.CONFIG_LEN.get(info))

    async def reset(self) -> None:
        await self.call(CmdOp.RESET)
        self.status = 0

    async def set_status(self, status: int) -> None:
        await self.call(CmdOp.SET_STATUS, status.to_bytes(4, "little"))
        self.status = status

    async def set_features(self, features: int) -> None:
        await self.set_status(self.STATUS_BITS)
        result, _ = await self.command(CmdOp.SET_FEATURES, features.to_bytes(16, "little"))
        self.commands += 1
        if result == CmdResult.REFUSED:
            raise FeaturesRefused(f"{self.name}: the device refused features 0x{features:x}", int(result))
        if result != CmdResult.OK:
            raise TransportError(f"{self.name}: SET_FEATURES answered {CmdResult(result).name}", int(result))
        await self.set_status(self.STATUS_BITS | VirtioStatus.FEATURES_OK)

    async def setup_queues(self, queues: list[QueueConfig]) -> list[QueueConfig]:
        placed = []
        for q in queues:
            if q.mode not in (QueueMode.SPLIT, QueueMode.PACKED):
                raise TransportError(f"{self.name}: no device-allocated rings ({q.mode.name})")
            arg = bytearray(CmdQueue.SIZE_BYTES)
            for f, v in ((CmdQueue.INDEX, q.index), (CmdQueue.SIZE, q.size), (CmdQueue.MODE, int(q.mode)),
                         (CmdQueue.MSI_VECTOR, q.msi_vector), (CmdQueue.DESC, q.desc), (CmdQueue.DRIVER, q.driver),
                         (CmdQueue.DEVICE, q.device)):
                f.put(arg, v)
            slot = int.from_bytes(await self.call(CmdOp.SET_QUEUE, bytes(arg), 4), "little")
            placed.append(QueueConfig(q.index, q.size, q.desc, q.driver, q.device, q.msi_vector, q.mode, slot))
        return placed

    async def driver_ok(self) -> None:
        await self.set_status(self.STATUS_BITS | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK)

    async def read_config(self, length: int) -> bytes:
        out = b""
        while len(out) < length:
            n = min(CMD_DATA_MAX, length - len(out))
            out += await self.call(CmdOp.GET_CONFIG, len(out).to_bytes(4, "little") + n.to_bytes(4, "little"), n)
        return out

    async def kick(self, queue: int) -> None:
        """Notify a queue by command (the mailbox design sends even kicks this way)."""
        await self.call(CmdOp.KICK, queue.to_bytes(4, "little"))


class MailboxTransport(CommandTransport):
    """Write op and arguments, set STATUS to BUSY, ring the doorbell, poll STATUS every
    `poll_ns` until the device has replaced BUSY with its result, then read the result."""

    name = "mailbox"
    magic_offset, magic = MboxPage.MAGIC.offset, MBOX_MAGIC

    def __init__(self, host: HostPcie, timeout_ns: int = DEFAULT_TIMEOUT_NS, poll_ns: int = MBOX_POLL_NS):
        super().__init__(host, timeout_ns)
        self.poll_ns = poll_ns
        self.polls = 0

    async def command(self, op: CmdOp, args: bytes = b"", result_len: int = 0) -> tuple[CmdResult, bytes]:
        host = self.host
        if args:
            await host.write(BAR_SRAM, MboxPage.ARGS.offset, args)
        await host.write32(BAR_SRAM, MboxPage.OPCODE.offset, int(op))
        await host.write32(BAR_SRAM, MboxPage.STATUS.offset, CmdResult.BUSY)
        await host.ring_doorbell(CMD_DOORBELL, int(op))
        waited = 0
        while (status := await host.read32(BAR_SRAM, MboxPage.STATUS.offset)) == CmdResult.BUSY:
            self.polls += 1
            if waited >= self.timeout_ns:
                raise TransportTimeout(f"mailbox: {op.name} still BUSY after {self.timeout_ns} ns")
            await Timer(self.poll_ns, "ns")
            waited += self.poll_ns
        data = await host.read(BAR_SRAM, MboxPage.RESULT.offset, result_len) if result_len and status == CmdResult.OK else b""
        return CmdResult(status), data


class MessageTransport(CommandTransport):
    """Queue a request message (token), publish REQ_HEAD, ring the doorbell; wait for MSI
    MSG_MSI, read the response at RSP_TAIL, check its token, publish RSP_TAIL."""

    name = "virtio-msg"
    magic_offset, magic = MsgArea.MAGIC.offset, MSG_MAGIC

    def __init__(self, host: HostPcie, timeout_ns: int = DEFAULT_TIMEOUT_NS):
        super().__init__(host, timeout_ns)
        self.req_head = self.rsp_tail = 0
        self.token = 0
        self.msis_seen = 0

    async def discover(self) -> DeviceInfo:
        # the FIFO indices are free-running counts: start from where the device is
        self.req_head = await self.host.read32(BAR_SRAM, MsgArea.REQ_TAIL.offset)
        self.rsp_tail = await self.host.read32(BAR_SRAM, MsgArea.RSP_HEAD.offset)
        self.msis_seen = self.host.msi_count(MSG_MSI)
        return await super().discover()

    async def command(self, op: CmdOp, args: bytes = b"", result_len: int = 0) -> tuple[CmdResult, bytes]:
        host = self.host
        self.token = (self.token + 1) & 0xFFFF
        msg = bytearray(MsgHeader.PAYLOAD.offset + len(args))
        for f, v in ((MsgHeader.TYPE, int(op)), (MsgHeader.TOKEN, self.token), (MsgHeader.LENGTH, len(args))):
            f.put(msg, v)
        msg[MsgHeader.PAYLOAD.offset:] = args
        await host.write(BAR_SRAM, MsgArea.REQ_FIFO + MsgHeader.SIZE * (self.req_head % MSG_FIFO_ENTRIES), bytes(msg))
        self.req_head = (self.req_head + 1) & 0xFFFF_FFFF
        await host.write32(BAR_SRAM, MsgArea.REQ_HEAD.offset, self.req_head)
        await host.ring_doorbell(CMD_DOORBELL, self.req_head & 0xFFFF)
        self.msis_seen += 1
        try:
            await host.wait_msi(MSG_MSI, self.msis_seen, self.timeout_ns)
        except TimeoutError:
            raise TransportTimeout(f"virtio-msg: no response to {op.name} (token {self.token}) "
                                   f"within {self.timeout_ns} ns") from None
        slot = MsgArea.RSP_FIFO + MsgHeader.SIZE * (self.rsp_tail % MSG_FIFO_ENTRIES)
        rsp = await host.read(BAR_SRAM, slot, MsgHeader.PAYLOAD.offset + result_len)
        if MsgHeader.TOKEN.get(rsp) != self.token or not MsgHeader.FLAGS.get(rsp) & MSG_FLAG_RESPONSE:
            raise TransportError(f"virtio-msg: response slot holds token {MsgHeader.TOKEN.get(rsp)} "
                                 f"flags {MsgHeader.FLAGS.get(rsp)}, expected the response to token {self.token}")
        self.rsp_tail = (self.rsp_tail + 1) & 0xFFFF_FFFF
        await host.write32(BAR_SRAM, MsgArea.RSP_TAIL.offset, self.rsp_tail)
        result = CmdResult(MsgHeader.RESULT.get(rsp))
        return result, rsp[MsgHeader.PAYLOAD.offset:MsgHeader.PAYLOAD.offset + min(result_len, MsgHeader.LENGTH.get(rsp))]
