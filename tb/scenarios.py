"""Data-path exercises shared by the transport tests: each checks byte for byte against
what it sent, and that no request is lost or duplicated."""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import Timer, with_timeout

from virtio_ep.devices import net_device
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.firmware.command_fw import MailboxFirmware, MessageFirmware
from virtio_ep.firmware.restable_fw import ResourceTableFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.command_transports import MailboxTransport, MessageTransport
from virtio_ep.host.restable import ResourceTableTransport
from virtio_ep.host.queues import BarMemory, BufferPool, DriverQueue, HostMemory
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from virtio_ep.layout import BLK_SECTOR_SIZE, BlkStatus, QueueMode, VirtioStatus
from virtio_ep.costs import OpCounts


async def exercise_net(net: NetDriver, backend, requests: int, rng: random.Random) -> None:
    delivered_before = backend.delivered
    await net.fill_rx(32)
    for n in range(requests):
        size = rng.choice([14, 60, 64, 100, 200, 512, 1000, 1514])
        frame = bytes(rng.randrange(256) for _ in range(size))
        cuts = sorted(rng.sample(range(1, size), k=min(2, size - 1))) if n % 3 == 0 else None
        await net.send(frame, cuts)
        got = await net.receive(1)
        assert got == [frame], f"frame {n} ({size} bytes, cuts {cuts}) came back different"
        assert await net.reap_tx(1) == 1
        if net.rx_posted < 8:
            await net.fill_rx(16)
    delivered = backend.delivered - delivered_before
    assert delivered == requests, f"{delivered} frames delivered for {requests} sent"
    assert backend.truncated == 0


async def exercise_block(blk: BlkDriver, backend, requests: int, rng: random.Random,
                         mirror: dict[int, bytes] | None = None) -> None:
    """`mirror` (sector -> contents the disk must hold) carries over between calls on one disk."""
    capacity = backend.capacity // BLK_SECTOR_SIZE
    mirror = {} if mirror is None else mirror
    for n in range(requests):
        sector = rng.randrange(0, capacity - 4)
        count = rng.choice([1, 1, 2, 4])
        if n % 2 == 0:
            data = bytes(rng.randrange(256) for _ in range(count * BLK_SECTOR_SIZE))
            assert await blk.write(sector, data) == BlkStatus.OK
            for k in range(count):
                mirror[sector + k] = data[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE]
        else:
            status, data = await blk.read(sector, count)
            assert status == BlkStatus.OK
            for k in range(count):
                expect = mirror.get(sector + k, bytes(BLK_SECTOR_SIZE))
                assert data[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE] == expect, f"sector {sector + k}"
    flushes = backend.flushes
    assert await blk.flush() == BlkStatus.OK and backend.flushes == flushes + 1
    status, ident = await blk.get_id()
    assert status == BlkStatus.OK and ident.rstrip(b"\0") == backend.ID
    assert (await blk.read(capacity - 1, 2))[0] == BlkStatus.IOERR
    assert await blk.write(capacity, bytes(BLK_SECTOR_SIZE)) == BlkStatus.IOERR
    assert await blk.raw(0x55, 0, 1) == BlkStatus.UNSUPP


async def exercise_entropy(rng_drv: RngDriver, backend, sizes=(16, 64, 100, 256)) -> None:
    total = backend.bytes_delivered
    for n in sizes:
        data = await rng_drv.read(n)
        # 16 or more random bytes all equal would mean the device filled a constant
        assert len(data) == n and (n < 16 or len(set(data)) > 1), f"{n} entropy bytes: {data.hex()}"
        total += n
    assert backend.bytes_delivered == total


VARIANTS = "async (default), poll:<cycles>, mailbox, virtio-msg, restable"


async def bench_net(tb, mode: QueueMode, rx_buf: int, variant: str = "async"):
    """The benchmark's set-up: firmware with a net device of MTU 65535, driver probed with
    queues of 64 in `mode`, RX buffers of `rx_buf` bytes. `variant`: the transport and how
    notifications travel (VARIANTS): the async transport sleeping on irq, the same firmware
    polling its doorbells every <cycles>, the mailbox transport (kicks are commands the
    driver polls), virtio-msg style messages, the resource table (split rings the device
    placed in BAR0). Returns (firmware, its task, driver)."""
    dev = net_device(mtu=65535)
    notify, ring_mem = None, None
    if variant == "async" or variant.startswith("poll:"):
        poll = int(variant.split(":")[1]) if variant.startswith("poll:") else 0
        fw = AsyncTransportFirmware(tb.cpu, dev, tb.params.db_slots, poll_cycles=poll)
        transport = AsyncTransport(tb.host)
    elif variant == "mailbox":
        fw, transport = MailboxFirmware(tb.cpu, dev, tb.params.db_slots), MailboxTransport(tb.host)

        async def notify(queue: int, value: int) -> None:
            await transport.kick(queue)
    elif variant == "virtio-msg":
        fw, transport = MessageFirmware(tb.cpu, dev, tb.params.db_slots), MessageTransport(tb.host)
    elif variant == "restable":
        if mode != QueueMode.SPLIT:
            raise ValueError("the resource table places split rings only")
        fw, transport = ResourceTableFirmware(tb.cpu, dev, tb.params.db_slots), ResourceTableTransport(tb.host)
        ring_mem = BarMemory(tb.host)
    else:
        raise ValueError(f"variant {variant!r}: use {VARIANTS}")
    task = cocotb.start_soon(fw.run())
    await with_timeout(fw.published.wait(), 50_000, "ns")
    res = await virtio_probe(transport, default_driver_features(), tb.alloc_host, queue_size=64, mode=mode)
    if variant == "restable":        # never acknowledged: the bench waits until the device applied it
        await wait_driver_ok_applied(tb, fw)
    mem, pool = HostMemory(tb.rc), BufferPool(tb.alloc_host, 8 << 20)
    queues = {q.index: DriverQueue(tb.host, q, mem, pool, ring_mem=ring_mem, notify=notify) for q in res.queues}
    for q in queues.values():
        await q.init()
    return fw, task, NetDriver(queues, rx_buf=rx_buf)


async def wait_driver_ok_applied(tb, fw, timeout_ns: int = 100_000) -> None:
    deadline = tb.now_ns() + timeout_ns + tb.latencies.firmware_wake_ns
    while not fw.status & VirtioStatus.DRIVER_OK:
        if tb.now_ns() > deadline:
            raise AssertionError(f"the resource-table firmware did not apply DRIVER_OK within {timeout_ns} ns")
        await Timer(100, "ns")


async def timed_loopback(tb, net: NetDriver, frames: list[bytes]):
    """The benchmark's request: post one RX buffer per frame, send the frames back to back,
    wait until all are back and TX is reaped. Returns (cycles from the first send, the TLPs
    of the request, what the firmware did up to its last MSI request)."""
    await net.fill_rx(len(frames))
    mark, t0 = tb.tlps.mark(), tb.now_ns()
    tb.cpu.ops = OpCounts()
    for frame in frames:
        await net.send(frame)
    got = await net.receive(len(frames), timeout_ns=50_000_000)
    await net.reap_tx(len(frames))
    ops, tb.cpu.ops = tb.cpu.ops, None
    assert got == frames, "frames came back different"
    assert ops.at_msi, "the firmware requested no MSI"
    return tb.cycles(t0, tb.now_ns()), tb.tlps.since(mark), ops.at_msi[-1]
