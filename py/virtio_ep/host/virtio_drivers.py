"""Host drivers of the three device classes, over any mode of DriverQueue."""

from __future__ import annotations

from ..layout import (BLK_ID_BYTES, BLK_SECTOR_SIZE, BlkReq, BlkStatus, BlkType, NetAck, NetCtrl, NetHdr,
                      net_rx_queue, net_tx_queue)
from .queues import DriverQueue

DEFAULT_TIMEOUT_NS = 2_000_000


class NetDriver:
    """One queue pair of a net device (`pair` 0: receiveq1 and transmitq1)."""

    def __init__(self, queues: dict[int, DriverQueue], rx_buf: int = 2048, pair: int = 0,
                 header_inline: bool = False):
        """`header_inline`: a frame's header and payload in one buffer, as Linux sends a linear
        skb once VIRTIO_F_VERSION_1 or ANY_LAYOUT is negotiated (any_header_sg; the header is
        pushed into the headroom: xmit_skb, drivers/net/virtio_net.c, Linux 6.1)."""
        self.rx, self.tx = queues[net_rx_queue(pair)], queues[net_tx_queue(pair)]
        self.rx_buf = rx_buf
        self.rx_posted = 0
        self.header_inline = header_inline

    async def fill_rx(self, count: int) -> None:
        for _ in range(count):
            await self.rx.add([], [NetHdr.SIZE + self.rx_buf])
        self.rx_posted += count
        await self.rx.kick()

    async def send(self, frame: bytes, split_at: list[int] | None = None) -> None:
        """One frame: the header and the payload, optionally cut into several buffers."""
        cuts = [0] + (split_at or []) + [len(frame)]
        parts = [frame[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
        if self.header_inline:
            parts[0] = bytes(NetHdr.SIZE) + parts[0]
        else:
            parts.insert(0, bytes(NetHdr.SIZE))
        await self.tx.add(parts, [])
        await self.tx.kick()

    async def receive(self, count: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> list[bytes]:
        frames = []
        for buf_id, length in await self.rx.wait_used(count, timeout_ns):
            data = await self.rx.read_in(buf_id, length)
            frames.append(data[NetHdr.SIZE:])
        self.rx_posted -= len(frames)
        return frames

    async def reap_tx(self, count: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> int:
        return len(await self.tx.wait_used(count, timeout_ns))


class NetControl:
    """The net device's control queue (VIRTIO_NET_F_CTRL_VQ)."""

    def __init__(self, queue: DriverQueue):
        self.q = queue

    async def command(self, cls: int, command: int, data: bytes = b"",
                      timeout_ns: int = DEFAULT_TIMEOUT_NS) -> NetAck:
        buf_id = await self.q.add([bytes([cls, command]) + data], [1])
        await self.q.kick()
        [(done, written)] = await self.q.wait_used(1, timeout_ns)
        assert done == buf_id and written == 1, f"control command answered as ({done}, {written} bytes)"
        return NetAck((await self.q.read_in(buf_id, 1))[0])

    async def set_queue_pairs(self, pairs: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> NetAck:
        return await self.command(NetCtrl.CLASS_MQ, NetCtrl.MQ_VQ_PAIRS_SET,
                                  pairs.to_bytes(NetCtrl.VQ_PAIRS.size, "little"), timeout_ns)


class BlkDriver:
    def __init__(self, queue: DriverQueue):
        self.q = queue

    @staticmethod
    def header(rtype: BlkType, sector: int) -> bytes:
        return (int(rtype).to_bytes(4, "little") + bytes(4) + sector.to_bytes(8, "little"))

    async def _do(self, out: list[bytes], in_len: int, timeout_ns: int) -> tuple[BlkStatus, bytes]:
        buf_id = await self.q.add(out, [in_len])
        await self.q.kick()
        [(done, length)] = await self.q.wait_used(1, timeout_ns)
        assert done == buf_id, f"completion for {done}, expected {buf_id}"
        data = await self.q.read_in(buf_id, in_len)
        return BlkStatus(data[in_len - 1]), data[:in_len - 1]

    async def read(self, sector: int, count: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> tuple[BlkStatus, bytes]:
        return await self._do([self.header(BlkType.IN, sector)], count * BLK_SECTOR_SIZE + 1, timeout_ns)

    async def write(self, sector: int, data: bytes, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> BlkStatus:
        return (await self._do([self.header(BlkType.OUT, sector), data], 1, timeout_ns))[0]

    async def flush(self, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> BlkStatus:
        return (await self._do([self.header(BlkType.FLUSH, 0)], 1, timeout_ns))[0]

    async def get_id(self, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> tuple[BlkStatus, bytes]:
        return await self._do([self.header(BlkType.GET_ID, 0)], BLK_ID_BYTES + 1, timeout_ns)

    async def raw(self, rtype: int, sector: int, in_len: int) -> BlkStatus:
        return (await self._do([int(rtype).to_bytes(4, "little") + bytes(4) + sector.to_bytes(8, "little")], in_len,
                               DEFAULT_TIMEOUT_NS))[0]


class RngDriver:
    def __init__(self, queue: DriverQueue):
        self.q = queue

    async def read(self, length: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> bytes:
        buf_id = await self.q.add([], [length])
        await self.q.kick()
        [(done, n)] = await self.q.wait_used(1, timeout_ns)
        return await self.q.read_in(done, n)
