"""Device back ends behind the queues: network loopback, block RAM disk, entropy source.

Each takes the chains the driver made available, does the device's work through the
queue's memory view (DMA for host memory) and completes them with used entries.
"""

from __future__ import annotations

import contextlib
import random
from collections import deque

from ..devices import VirtioDevice
from ..layout import (BLK_ID_BYTES, BLK_SECTOR_SIZE, ENTROPY_MAX_REQUEST, BlkConfig, BlkReq, BlkStatus, BlkType,
                      NetAck, NetConfig, NetCtrl, NetFeature, NetHdr, VirtioDeviceId, net_ctrl_queue, net_rx_queue)
from ..devices import bit, get
from ..rings.memory import Chain, gather, scatter
from .datapath import DeviceQueue, DmaMemory
from .device_memory import DevicePool, StoredFrame, frame_layout, frame_span


async def write_status(q: DeviceQueue, chain: Chain, status: int) -> None:
    """The status byte is the last byte of the device-writable area."""
    last = [b for b in chain.bufs if b.writable][-1]
    await q.mem.write(last.addr + last.length - 1, bytes([status]))


class NetLoopback:
    """Every frame sent on a pair's TX queue is delivered on that pair's RX queue (header and
    payload, byte for byte); with several pairs (VIRTIO_NET_F_MQ) on the pairs the driver
    turned on with VQ_PAIRS_SET, a pair beyond them looping to pair (index mod pairs).

    A frame waits in device memory (DMA in from the TX buffers, DMA out to the RX buffers;
    the CPU writes only the header's num_buffers). When device memory is full, its TX chain
    is held until deliveries make room (see `transmit`); where there is no device memory (a
    queue not on the endpoint), or the frame is larger than it, or none of its pair's frames
    is in it to make room, the frame waits in the CPU's memory, copied over the local bus
    (counted in `cpu_frames`).

    Each call serves at most `weight` chains of a queue and returns True if it stopped with
    work left: the firmware gives every other queue a turn first (no pair starves another)."""

    NUM_BUFFERS = NetHdr.NUM_BUFFERS
    WEIGHT = 64         # chains per queue per turn: Linux's NAPI_POLL_WEIGHT (include/linux/netdevice.h)
    # chains per step of `stream`, measured best of 2 to 64 at 4 KiB (docs/load.md): push rings
    # (intake from the device's own SRAM) in small steps; rings in host memory, whose intake
    # reads wait behind the fetches in flight, in larger ones
    STEP_SRAM, STEP_HOST = 4, 16
    LANES = 2                       # steps in flight a direction in `stream` (see _lanes)

    def __init__(self, device: VirtioDevice):
        mq = device.features & bit(NetFeature.MQ)
        self.max_pairs = get(device.config, NetConfig.MAX_VIRTQUEUE_PAIRS) if mq else 1
        self.pairs = 1                  # multiqueue is off until VQ_PAIRS_SET (virtio 1.2, 5.1.6.5.5)
        self.waiting: dict[int, deque[bytes | StoredFrame]] = {}     # per RX pair, oldest first
        self.delivered = 0
        self.delivered_bytes = 0        # frame bytes delivered, virtio-net header not counted
        self.truncated = 0
        self.cpu_frames = 0
        self.held: dict[int, list[Chain]] = {}   # per TX queue: chains waiting for device memory
        self.held_frames = 0            # frames that found device memory full and were held
        self.tx_dropped = 0             # frames whose TX buffers the host refused to DMA
        self.rx_dropped = 0             # frames whose RX buffer the host refused
        self.pool: DevicePool | None = None
        self.weight = self.WEIGHT
        self.lanes: dict[int, tuple[DmaMemory, ...]] = {}    # per queue: see `stream`
        self.pipelined = True           # TX to RX through `stream` (False: transmit, then receive)
        self.steps = 0                  # steps `stream` overlapped

    def reset(self) -> None:
        """Device reset: frames taken from TX and not yet delivered are dropped."""
        self.waiting.clear()
        self.held.clear()
        self.lanes.clear()
        self.pairs = 1
        if self.pool is not None:
            self.pool.clear()

    def role(self, q: DeviceQueue) -> tuple[str, int]:
        """("rx" | "tx", pair) or ("ctrl", 0) for queue q under its negotiated features."""
        if q.features & bit(NetFeature.CTRL_VQ) and \
                q.index == net_ctrl_queue(self.max_pairs, bool(q.features & bit(NetFeature.MQ))):
            return "ctrl", 0
        return ("tx" if q.index % 2 else "rx"), q.index // 2

    async def on_notify(self, q: DeviceQueue, queues: dict[int, DeviceQueue]) -> bool:
        """TX: the chains available (up to `weight`) into device memory and out to the RX
        queue, both directions at once (`stream`; `transmit` then `receive` where the queue
        has no device memory). RX: deliver the frames waiting for it. Then chains held for
        device memory are taken in again while deliveries make room."""
        role, pair = self.role(q)
        if role == "ctrl":
            return await self.control(q)
        if role == "rx" and q.prefetch:
            await q.take_ahead()            # the new RX buffers' descriptors now, in one batch
        if role == "tx":
            pair %= self.pairs
        rx, waiting = queues.get(net_rx_queue(pair)), self.waiting.setdefault(pair, deque())
        if role == "tx" and self.pipelined and rx is not None and isinstance(q.mem, DmaMemory) \
                and q.mem.pool is not None:
            more = await self.stream(q, rx, pair)
        else:
            more = role == "tx" and await self.transmit(q, pair)
            more = await self.receive(rx, waiting) or more
        return await self._take_held(queues) or more

    async def _take_held(self, queues: dict[int, DeviceQueue]) -> bool:
        """Chains held for device memory, taken in again while deliveries make room; True if
        a queue was left with work."""
        more = False
        progress = True
        while self.held and progress:
            progress = False
            for index, chains in list(self.held.items()):
                tx, dest = queues.get(index), (index // 2) % self.pairs
                if tx is None:                  # the queue went away: its chains with it
                    del self.held[index]
                    continue
                delivered = self.delivered + self.rx_dropped
                if await self.transmit(tx, dest):
                    more = True
                if await self.receive(queues.get(net_rx_queue(dest)), self.waiting.setdefault(dest, deque())):
                    more = True
                # room was made (a delivery) or used (a held chain taken in): look again
                progress |= len(self.held.get(index, ())) < len(chains) or self.delivered + self.rx_dropped > delivered
        return more

    async def transmit(self, tx: DeviceQueue, pair: int) -> bool:
        """Chains held for device memory first, then the ring. A frame that finds device
        memory full while frames of its pair wait in it (their delivery makes room) is held
        with every chain after it, not completed: the TX ring fills and the driver stops
        (back-pressure, as a NIC's full TX ring). Otherwise it goes through the CPU."""
        budget = self.weight
        while True:
            chains, frames = await self._take_tx(tx, tx.mem, pair, budget)
            budget -= len(chains)
            more = await self._finish_tx(tx, tx.mem, pair, chains, frames)
            if self._holding(tx):
                return False                    # deliveries make room, then it goes on
            if not budget:
                return True
            if not more:
                return False

    async def _take_tx(self, tx: DeviceQueue, mem, pair: int, budget: int) -> tuple[list[Chain], list]:
        """Up to `budget` TX chains (held ones first) and their frames, whose DMAs into
        device memory (through `mem`) are started, not waited for."""
        waiting = self.waiting.setdefault(pair, deque())
        held = self.held.pop(tx.index, [])
        chains, rest = held[:budget], held[budget:]
        if rest:
            self.held[tx.index] = rest
        from_held = len(chains)
        while len(chains) < budget and not self._holding(tx) and await tx.pending():
            chains.append(await tx.next_chain())
        frames = []
        for i, chain in enumerate(chains):
            ours = any(isinstance(f, StoredFrame) for f in (*waiting, *frames))
            frame = await self.take_in(mem, chain, owner=i, hold=ours)
            if frame is None:
                self.held[tx.index] = chains[i:] + self.held.get(tx.index, [])
                self.held_frames += len(chains) - max(i, from_held)     # newly held
                return chains[:i], frames
            frames.append(frame)
        return chains, frames

    async def _finish_tx(self, tx: DeviceQueue, mem, pair: int, chains: list[Chain], frames: list) -> bool:
        """Wait for the frames' DMAs (those started through `mem`), queue them for the RX
        side, complete their chains and publish; True if the ring has more (event index)."""
        waiting = self.waiting.setdefault(pair, deque())
        failed = await self._settle(mem, frames, keep=True)
        for i, (chain, frame) in enumerate(zip(chains, frames)):
            if i in failed:
                self.tx_dropped += 1            # the host refused to give the frame: dropped
            else:
                waiting.append(frame)
            await tx.complete(chain, 0)
            tx.requests += 1
        return await tx.publish()

    def _holding(self, tx: DeviceQueue) -> bool:
        return bool(self.held.get(tx.index))

    async def receive(self, rx: DeviceQueue | None, waiting: deque) -> bool:
        if rx is None:
            return False
        budget = self.weight
        while True:
            taken = await self._take_rx(rx, rx.mem, waiting, budget)
            budget -= len(taken[0])
            # more RX buffers arrived while publishing: deliver what still waits
            if not await self._finish_rx(rx, rx.mem, waiting, *taken) or not waiting:
                return False
            if not budget:
                return True

    async def _take_rx(self, rx: DeviceQueue, mem, waiting: deque, budget: int,
                       skip: int = 0) -> tuple[list[Chain], list, list]:
        """RX chains for up to `budget` of the waiting frames, oldest first after the `skip`
        already being delivered, with the frames' DMAs to them started through `mem`:
        (chains, frames, (bytes written, frame length) of each)."""
        chains, frames = [], []
        while len(frames) < min(len(waiting) - skip, budget) and await rx.pending():
            chains.append(await rx.next_chain())
            frames.append(waiting[skip + len(frames)])
        sizes = [await self.deliver(mem, chain, frame, owner=i) for i, (chain, frame) in enumerate(zip(chains, frames))]
        return chains, frames, sizes

    async def _finish_rx(self, rx: DeviceQueue, mem, waiting: deque, chains: list[Chain], frames: list,
                         sizes: list) -> bool:
        """Wait for the deliveries' DMAs (started through `mem`), complete the RX chains
        (the oldest waiting frames) and publish; True if some were delivered and the ring
        has more (event index)."""
        failed = await self._settle(mem, frames, keep=False)
        for i, (chain, (n, length)) in enumerate(zip(chains, sizes)):
            waiting.popleft()
            if i in failed:
                # the buffer refused the frame: used with no bytes, which Linux's
                # virtio_net drops as too short (receive_buf, rx_length_errors; Linux 6.1)
                self.rx_dropped += 1
                await rx.complete(chain, 0)
            else:
                self.truncated += n < length
                await rx.complete(chain, n)
                self.delivered += 1
                self.delivered_bytes += length - NetHdr.SIZE      # the frame, as Linux counts it
            rx.requests += 1
        return bool(chains) and await rx.publish()

    async def stream(self, tx: DeviceQueue, rx: DeviceQueue, pair: int) -> bool:
        """TX to RX with both directions of the link busy at once. Chains go in steps (see
        STEP_SRAM), each step's DMAs through a lane of its own (a DMA view whose drain waits
        for that step alone): up to two steps fetching from TX buffers while up to two
        store to RX buffers, so the engine's read and write queues never run dry while the
        firmware waits for the oldest step. Ring updates are posted behind the stores and
        each MSI waits until they have ended (DeviceQueue.defer). The queue's budget
        (`weight`) holds as in `transmit`."""
        step = self.STEP_HOST if tx.intake_by_dma else self.STEP_SRAM
        waiting = self.waiting.setdefault(pair, deque())
        fetch_lanes, store_lanes = self._lanes(tx), self._lanes(rx)
        fetching: deque[tuple[DmaMemory, list[Chain], list]] = deque()
        storing: deque[tuple[DmaMemory, tuple]] = deque()
        budget, rx_budget = self.weight, self.weight
        lane = fetch_lanes[0]
        chains, frames = await self._take_tx(tx, lane, pair, min(step, budget))
        if len(chains) < min(step, budget):
            # less than a step: nothing to overlap; one request at a time takes this path
            # (the one the timing model follows): wait for each, as `transmit` does
            more = await self._finish_tx(tx, lane, pair, chains, frames)
            if more and not self._holding(tx):
                more = await self.transmit(tx, pair)
            return await self.receive(rx, waiting) or more
        budget -= len(chains)
        fetching.append((lane, chains, frames))
        self.steps += 1
        more_tx = True                          # the TX ring may have chains left

        def tx_open() -> bool:
            return bool(more_tx and budget and not self._holding(tx))
        tx.defer = rx.defer = True
        try:
            while True:
                if tx_open() and len(fetching) < len(fetch_lanes):
                    lane = next(x for x in fetch_lanes if all(x is not f[0] for f in fetching))
                    cap = min(step, budget)
                    chains, frames = await self._take_tx(tx, lane, pair, cap)
                    budget -= len(chains)
                    more_tx = len(chains) == cap
                    if chains:
                        fetching.append((lane, chains, frames))
                        self.steps += 1
                if fetching and (len(fetching) == len(fetch_lanes) or not tx_open()):
                    lane, chains, frames = fetching.popleft()
                    more_tx |= await self._finish_tx(tx, lane, pair, chains, frames)
                    await tx.pay_interrupt(wait=False)
                if waiting and rx_budget and len(storing) < len(store_lanes):
                    lane = next(x for x in store_lanes if all(x is not s[0] for s in storing))
                    taken = await self._take_rx(rx, lane, waiting, min(step, rx_budget), skip=sum(len(s[1][0]) for s in storing))
                    if taken[0]:
                        storing.append((lane, taken))
                        rx_budget -= len(taken[0])
                if storing and (len(storing) == len(store_lanes) or not fetching):
                    lane, taken = storing.popleft()
                    await self._finish_rx(rx, lane, waiting, *taken)
                    await rx.pay_interrupt(wait=False)
                if not fetching and not storing and not tx_open():
                    break
        except Exception:
            # a bad chain or a failed ring write ends the pass (the device then needs a
            # reset): the steps' DMAs are waited for first, so none is left to end unclaimed
            for lane in (*fetch_lanes, *store_lanes):
                with contextlib.suppress(Exception):
                    await lane.drain()
            raise
        finally:
            tx.defer = rx.defer = False
        await tx.pay_interrupt(wait=True)
        await rx.pay_interrupt(wait=True)
        if await self.receive(rx, waiting):     # what is left to deliver, under its own budget
            return True
        return bool(more_tx and not budget)

    def _lanes(self, q: DeviceQueue) -> tuple[DmaMemory, ...]:
        """Two DMA views of the device memory of queue q's payloads, one per step in flight."""
        lanes = self.lanes.get(q.index)
        if lanes is None:
            lanes = self.lanes[q.index] = tuple(DmaMemory(q.mem.cpu) for _ in range(self.LANES))
        for lane in lanes:
            lane.pool = q.mem.pool
        return lanes

    async def control(self, q: DeviceQueue) -> bool:
        """The control queue: each command's ack is its last device-writable byte."""
        budget = self.weight
        while True:
            while budget and await q.pending():
                chain = await q.next_chain()
                budget -= 1
                written = 0
                if chain.in_len:
                    ack = self.command(await gather(q.mem, chain), q.features)
                    await write_status(q, chain, ack)
                    written = 1
                await q.complete(chain, written)
                q.requests += 1
            more = await q.publish()
            if not budget:
                return True
            if not more:
                return False

    def command(self, out: bytes, features: int) -> NetAck:
        """VQ_PAIRS_SET with MQ negotiated and 1 to max_virtqueue_pairs pairs: OK; anything
        else: ERR (virtio 1.2, 5.1.6.5: a device answers a command it does not know with ERR)."""
        ack = NetAck.ERR
        if len(out) >= NetCtrl.VQ_PAIRS.offset + NetCtrl.VQ_PAIRS.size and features & bit(NetFeature.MQ) \
                and get(out, NetCtrl.CLASS) == NetCtrl.CLASS_MQ and get(out, NetCtrl.COMMAND) == NetCtrl.MQ_VQ_PAIRS_SET:
            pairs = get(out, NetCtrl.VQ_PAIRS)
            if NetCtrl.VQ_PAIRS_MIN <= pairs <= self.max_pairs:
                self.pairs = pairs
                ack = NetAck.OK
        return ack

    async def _settle(self, mem, frames: list, keep: bool) -> set[int]:
        """Wait for the frames' DMAs; return the indices of frames whose own DMA failed.
        Frames taken in (`keep`) stay in device memory unless their DMA failed (all of them
        if the batch failed as a whole); frames delivered leave it either way."""
        drain = getattr(mem, "drain", None)     # a memory without DMA started nothing
        failed: set[int] = set()
        try:
            if drain is not None:
                failed = await drain()
        except BaseException:
            if keep:
                for frame in reversed(frames):
                    if isinstance(frame, StoredFrame):
                        self.pool.release(frame.start)
            raise
        finally:
            if not keep:
                for frame in frames:
                    if isinstance(frame, StoredFrame):
                        self.pool.release(frame.start)
        if keep:
            for i in failed:
                if isinstance(frames[i], StoredFrame):
                    self.pool.release(frames[i].start)
        return failed

    async def take_in(self, mem, chain: Chain, owner=None, hold: bool = False) -> bytes | StoredFrame | None:
        """The frame of a TX chain: into device memory if it has room (its DMAs started,
        done by the caller's drain, failing `owner` alone); None if it has not and `hold`
        (the caller keeps the chain until deliveries make room); else through the CPU."""
        pool = getattr(mem, "pool", None)
        bufs = [b for b in chain.bufs if not b.writable]
        end = self.NUM_BUFFERS.offset + self.NUM_BUFFERS.size
        span = frame_span(bufs)
        start = pool.alloc(span) if pool is not None and chain.out_len >= end else None
        if start is None and hold and pool is not None and chain.out_len >= end and span <= pool.capacity:
            return None
        if start is None:
            self.cpu_frames += 1
            return await gather(mem, chain)
        self.pool = pool
        segments, _ = frame_layout(bufs, start)
        for b, (local, _n) in zip(bufs, segments):
            if b.inline is not None:
                await mem.write_local(local, b.inline)
            else:
                await mem.fetch(b.addr, local, b.length, owner)
        return StoredFrame(start, segments)

    async def deliver(self, mem, chain: Chain, frame: bytes | StoredFrame, owner=None) -> tuple[int, int]:
        """The frame into an RX chain with num_buffers 1: (bytes written, frame length). A
        stored frame's DMAs are started, done by the caller's drain."""
        one = (1).to_bytes(self.NUM_BUFFERS.size, "little")
        if isinstance(frame, bytes):
            data = bytearray(frame)
            data[self.NUM_BUFFERS.offset:self.NUM_BUFFERS.offset + self.NUM_BUFFERS.size] = one
            return await scatter(mem, chain, bytes(data)), len(data)
        off = 0
        for local, k in frame.spans(self.NUM_BUFFERS.offset, len(one)):
            await mem.write_local(local, one[off:off + k])
            off += k
        done, length = 0, frame.length
        for b in chain.bufs:
            if not b.writable or done >= length:
                continue
            n = min(b.length, length - done)
            addr = b.addr
            for local, k in frame.spans(done, n):
                await mem.store(local, addr, k, owner)
                addr += k
            done += n
        return done, length


class RamDisk:
    """A RAM disk of the device's capacity: read, write, flush, get-id, bounds checked.

    The disk lives in device memory (the top of the DMA buffer RAM, taken from the pool
    frames use) when it fits: sectors move between it and the request's buffers by DMA
    only, and the CPU reads the 16-byte request header and writes the status byte. Device
    memory is not cleared at boot (it may hold an earlier run's data), so the firmware keeps
    a bitmap of the sectors written since and reads the others as zeros, DMA'd from a small
    zeroed area (as a thin-provisioned disk reads unwritten blocks). Without device memory
    for it (a small build), the disk lives in the CPU's memory and sectors are copied over
    the local bus."""

    ID = b"virtio-ep ramdisk"
    ZEROS = 1024                # bytes of the zeroed area unwritten sectors are read from

    def __init__(self, device: VirtioDevice):
        self.capacity = get(device.config, BlkConfig.CAPACITY) * BLK_SECTOR_SIZE
        self.data: bytearray | None = None      # the disk in the CPU's memory, if not in device memory
        self.base: int | None = None            # the disk's device address, if in device memory
        self.written = bytearray(self.capacity // BLK_SECTOR_SIZE)     # sectors written (device memory)
        self.zeros: int | None = None           # device address of the zeroed area, once zeroed
        self.flushes = 0
        self.reads = self.writes = 0            # IN and OUT requests answered (OK or IOERR)
        self.sectors_read = self.sectors_written = 0    # by the requests answered OK

    def reset(self) -> None:
        """Device reset: the disk keeps its contents (requests complete before they return)."""

    def place(self, q: DeviceQueue) -> None:
        """At the first request: the disk's home, in device memory if the pool can give it up."""
        if self.base is not None or self.data is not None:
            return
        pool = getattr(q.mem, "pool", None)     # none: a memory without DMA (in-process tests)
        # the top of device memory (4 KiB aligned), the same at every boot
        base = (q.cpu.dma_buf_size - self.capacity - self.ZEROS - 4) & ~0xFFF if pool is not None else None
        if base is not None and not pool.live and base >= pool.base:
            pool.end = min(pool.end, base)      # frames never use the disk's memory
            self.base = base
        else:
            self.data = bytearray(self.capacity)

    async def on_notify(self, q: DeviceQueue, queues: dict[int, DeviceQueue]) -> None:
        self.place(q)
        while True:
            while await q.pending():
                chain = await q.next_chain()
                written = await self.request(q, chain)
                await q.complete(chain, written)
                q.requests += 1
            if not await q.publish():
                break

    async def request(self, q: DeviceQueue, chain: Chain) -> int:
        header = await readable_prefix(q.mem, chain, BlkReq.SIZE)
        if len(header) < BlkReq.SIZE or chain.in_len < 1:
            return 0
        rtype = int.from_bytes(header[BlkReq.TYPE.offset:BlkReq.TYPE.offset + 4], "little")
        sector = int.from_bytes(header[BlkReq.SECTOR.offset:BlkReq.SECTOR.offset + 8], "little")
        start = sector * BLK_SECTOR_SIZE
        room = chain.in_len - 1
        if rtype == BlkType.IN:
            self.reads += 1
            if start + room > self.capacity or room % BLK_SECTOR_SIZE:
                await write_status(q, chain, BlkStatus.IOERR)
                return 1
            self.sectors_read += room // BLK_SECTOR_SIZE
            if self.data is not None:
                return await scatter(q.mem, chain, bytes(self.data[start:start + room]) + bytes([BlkStatus.OK]))
            await self._sectors_out(q, chain, start, room)
            return room + 1
        if rtype == BlkType.OUT:
            self.writes += 1
            length = chain.out_len - BlkReq.SIZE
            if start + length > self.capacity or length % BLK_SECTOR_SIZE:
                status = BlkStatus.IOERR
            elif self.data is not None:
                self.data[start:start + length] = (await gather(q.mem, chain))[BlkReq.SIZE:]
                status = BlkStatus.OK
            else:
                status = await self._sectors_in(q, chain, start)
            if status == BlkStatus.OK:
                self.sectors_written += length // BLK_SECTOR_SIZE
            await write_status(q, chain, status)
            return 1
        if rtype == BlkType.FLUSH:
            self.flushes += 1
            await write_status(q, chain, BlkStatus.OK)
            return 1
        if rtype == BlkType.GET_ID:
            ident = self.ID.ljust(BLK_ID_BYTES, b"\0")[:min(BLK_ID_BYTES, room)]
            return await scatter(q.mem, chain, ident.ljust(room, b"\0") + bytes([BlkStatus.OK]))
        await write_status(q, chain, BlkStatus.UNSUPP)
        return 1

    async def _sectors_in(self, q: DeviceQueue, chain: Chain, start: int) -> BlkStatus:
        """A write's data (the device-readable bytes after the header) into the disk by DMA;
        a buffer whose host address differs from its disk address modulo 4, or inline in a
        push slot, goes through the CPU. IOERR if the host refused a DMA."""
        pos = self.base + start
        for addr, n, inline in readable_pieces(chain, BlkReq.SIZE):
            if inline is not None:
                await q.mem.write_local(pos, inline)
            elif (addr - pos) % 4:                # the engine moves dwords: the CPU shifts the bytes
                await q.mem.write_local(pos, await q.mem.read(addr, n))
            else:
                await q.mem.fetch(addr, pos, n, owner=chain.head)
            pos += n
        first, last = start // BLK_SECTOR_SIZE, (pos - self.base - 1) // BLK_SECTOR_SIZE
        self.written[first:last + 1] = b"\1" * (last + 1 - first)
        return BlkStatus.IOERR if await q.mem.drain() else BlkStatus.OK

    async def _sectors_out(self, q: DeviceQueue, chain: Chain, start: int, room: int) -> None:
        """A read's sectors from the disk into the device-writable buffers by DMA, then the
        status (IOERR if the host refused a DMA) after them."""
        done = 0
        for b in chain.bufs:
            if not b.writable or done >= room:
                continue
            n = min(b.length, room - done)
            addr = b.addr
            for local, k in await self._sources(q, start + done, n, addr):
                await q.mem.store(local, addr, k, owner=chain.head)
                addr += k
            done += n
        await write_status(q, chain, BlkStatus.IOERR if await q.mem.drain() else BlkStatus.OK)

    async def _sources(self, q: DeviceQueue, offset: int, n: int, host: int) -> list[tuple[int, int]]:
        """Device (address, length) pieces to read disk bytes [offset, offset + n) from, in
        order, for the host buffer at `host`: the disk for written sectors, the zeroed area
        (at the host address's alignment modulo 4) for the others."""
        out: list[tuple[int, int]] = []
        pos, end = offset, offset + n
        while pos < end:
            first = pos // BLK_SECTOR_SIZE
            run = first
            while run * BLK_SECTOR_SIZE < end and self.written[run] == self.written[first]:
                run += 1
            stop = min(end, run * BLK_SECTOR_SIZE)
            if self.written[first]:
                out.append((self.base + pos, stop - pos))
            else:
                zeros = await self._zeroed(q)
                for k in range(pos, stop, self.ZEROS):
                    at = host + k - offset
                    out.append((zeros + (at - zeros) % 4, min(self.ZEROS, stop - k)))
            pos = stop
        return out

    async def _zeroed(self, q: DeviceQueue) -> int:
        """The zeroed area (after the disk), zeroed by the CPU the first time it is needed."""
        if self.zeros is None:
            self.zeros = self.base + self.capacity
            await q.mem.write_local(self.zeros, bytes(self.ZEROS + 4))
        return self.zeros


def readable_pieces(chain: Chain, skip: int) -> list[tuple[int, int, bytes | None]]:
    """(host address, length, inline bytes or None) of the device-readable bytes after the first `skip`."""
    out = []
    for b in chain.bufs:
        if b.writable:
            continue
        cut = min(skip, b.length)
        skip -= cut
        if b.length > cut:
            out.append((b.addr + cut, b.length - cut, b.inline[cut:] if b.inline is not None else None))
    return out


async def readable_prefix(mem, chain: Chain, n: int) -> bytes:
    """The first `n` device-readable bytes of a chain (fewer if it has fewer)."""
    out = bytearray()
    for b in chain.bufs:
        if b.writable or len(out) >= n:
            continue
        k = min(b.length, n - len(out))
        out += b.inline[:k] if b.inline is not None else await mem.read(b.addr, k)
    return bytes(out)


class EntropySource:
    """Fills every device-writable buffer with random bytes (seeded, so runs repeat)."""

    def __init__(self, device: VirtioDevice, seed: int = 1):
        self.rng = random.Random(seed)
        self.bytes_delivered = 0

    def reset(self) -> None:
        """Device reset: nothing to drop (every request completes before the next)."""

    async def on_notify(self, q: DeviceQueue, queues: dict[int, DeviceQueue]) -> None:
        while True:
            while await q.pending():
                chain = await q.next_chain()
                # a driver's length is not trusted: the device gives at most ENTROPY_MAX_REQUEST
                data = self.rng.randbytes(min(chain.in_len, ENTROPY_MAX_REQUEST))
                n = await scatter(q.mem, chain, data)
                self.bytes_delivered += n
                await q.complete(chain, n)
                q.requests += 1
            if not await q.publish():
                break


def backend_for(device: VirtioDevice):
    return {VirtioDeviceId.NET: NetLoopback, VirtioDeviceId.BLOCK: RamDisk,
            VirtioDeviceId.ENTROPY: EntropySource}[device.device_id](device)
