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
from scenarios import exercise_block, exercise_entropy, exercise_net
from virtio_ep.devices import DEVICES
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.queues import BufferPool, DriverQueue, HostMemory
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from virtio_ep.layout import QueueMode

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
    await exercise_net(NetDriver(queues), fw.backend, MIXED_REQUESTS, rng_for_test())
    assert fw.ring_errors == []
    fw.stop.set()
    await task


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_block_ram_disk(dut, mode: str):
    tb, fw, task, queues = await bring_up(dut, "block", MODES[mode])
    await exercise_block(BlkDriver(queues[0]), fw.backend, MIXED_REQUESTS, rng_for_test())
    assert fw.ring_errors == []
    fw.stop.set()
    await task


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_entropy(dut, mode: str):
    tb, fw, task, queues = await bring_up(dut, "entropy", MODES[mode])
    await exercise_entropy(RngDriver(queues[0]), fw.backend)
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
