"""Data path over the async transport, in split and push modes: network loopback (frames
spanning descriptors, byte for byte), block RAM disk (read, write, flush, get-id,
out-of-range sectors), entropy; no request lost or duplicated; and push mode needing no
device read for inline requests."""

from __future__ import annotations

import os
import random

import cocotb
from cocotb.triggers import with_timeout

from ep_tb import EndpointTb
from virtio_ep.devices import DEVICES
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.queues import BufferPool, DriverQueue, HostMemory
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from virtio_ep.layout import BLK_SECTOR_SIZE, BlkStatus, QueueMode

MODES = {"split": QueueMode.SPLIT, "packed": QueueMode.PACKED, "push": QueueMode.PUSH}
MIXED_REQUESTS = int(os.environ.get("DATAPATH_REQUESTS", "60"))


async def bring_up(dut, device: str, mode: QueueMode):
    tb = await EndpointTb.start(dut)
    dev = DEVICES[device]()
    fw = AsyncTransportFirmware(tb.cpu, dev, tb.params.db_slots)
    task = cocotb.start_soon(fw.run())
    await with_timeout(fw.published.wait(), 50_000, "ns")
    drv = AsyncTransport(tb.host)
    res = await virtio_probe(drv, default_driver_features(), tb.alloc_host, queue_size=64, mode=mode)
    mem, pool = HostMemory(tb.rc), BufferPool(tb.alloc_host)
    queues = {q.index: DriverQueue(tb.host, q, mem, pool) for q in res.queues}
    for q in queues.values():
        await q.init()
    return tb, fw, task, queues


def rng_for_test() -> random.Random:
    cocotb.log.info("random seed %d (rerun with COCOTB_RANDOM_SEED=%d)", cocotb.RANDOM_SEED, cocotb.RANDOM_SEED)
    return random.Random(cocotb.RANDOM_SEED)


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_net_loopback(dut, mode: str):
    tb, fw, task, queues = await bring_up(dut, "net", MODES[mode])
    rng = rng_for_test()
    net = NetDriver(queues)
    await net.fill_rx(32)
    sent = []
    for n in range(MIXED_REQUESTS):
        size = rng.choice([14, 60, 64, 100, 200, 512, 1000, 1514])
        frame = bytes(rng.randrange(256) for _ in range(size))
        cuts = sorted(rng.sample(range(1, size), k=min(2, size - 1))) if n % 3 == 0 else None
        await net.send(frame, cuts)
        sent.append(frame)
        got = await net.receive(1)
        assert got == [frame], f"frame {n} ({size} bytes, cuts {cuts}) came back different"
        await net.reap_tx(1)
        if net.rx_posted < 8:
            await net.fill_rx(16)
    assert fw.backend.delivered == len(sent) and fw.backend.truncated == 0
    assert fw.ring_errors == []
    fw.stop.set()
    await task


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_block_ram_disk(dut, mode: str):
    tb, fw, task, queues = await bring_up(dut, "block", MODES[mode])
    rng = rng_for_test()
    blk = BlkDriver(queues[0])
    capacity = fw.backend.capacity // BLK_SECTOR_SIZE
    mirror = {}
    for n in range(MIXED_REQUESTS):
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
    assert await blk.flush() == BlkStatus.OK and fw.backend.flushes == 1
    status, ident = await blk.get_id()
    assert status == BlkStatus.OK and ident.rstrip(b"\0") == fw.backend.ID
    assert (await blk.read(capacity - 1, 2))[0] == BlkStatus.IOERR
    assert await blk.write(capacity, bytes(BLK_SECTOR_SIZE)) == BlkStatus.IOERR
    assert await blk.raw(0x55, 0, 1) == BlkStatus.UNSUPP
    assert fw.ring_errors == []
    fw.stop.set()
    await task


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_entropy(dut, mode: str):
    tb, fw, task, queues = await bring_up(dut, "entropy", MODES[mode])
    rng_drv = RngDriver(queues[0])
    total = 0
    for n in (16, 64, 100, 256):
        data = await rng_drv.read(n)
        assert len(data) == n and len(set(data)) > 1, f"{n} entropy bytes: {data.hex()}"
        total += n
    assert fw.backend.bytes_delivered == total
    fw.stop.set()
    await task


@cocotb.test()
async def test_push_inline_needs_no_device_read(dut):
    """A push-mode request with inline payload: the device issues no non-posted read."""
    tb, fw, task, queues = await bring_up(dut, "net", QueueMode.PUSH)
    net = NetDriver(queues)
    await net.fill_rx(8)
    frame = bytes(range(64))
    mark = tb.tlps.mark()
    await net.send(frame)
    assert await net.receive(1) == [frame]
    await net.reap_tx(1)
    device_reads = [r for r in tb.tlps.since(mark) if r.direction == "up" and r.kind == "mem_read"]
    assert device_reads == [], f"{len(device_reads)} device reads for an inline push request"
    fw.stop.set()
    await task
