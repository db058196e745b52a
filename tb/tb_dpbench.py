"""Data-path benchmark (make bench): one network frame at a time through the loopback,
per mode and payload size; TLPs by kind, bytes on the link, latency and throughput per
request. With DP_RESULTS set, one JSON line per (mode, size) is appended there."""

from __future__ import annotations

import json
import os
import statistics

import cocotb
from cocotb.triggers import with_timeout

from ep_tb import EndpointTb
from virtio_ep import layout
from virtio_ep.devices import net_device
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.queues import BufferPool, DriverQueue, HostMemory
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_drivers import NetDriver
from virtio_ep.layout import NetHdr, QueueMode

SIZES = [int(x) for x in os.environ.get("DP_SIZES", "64,256,1024,4096,16384,65536").split(",")]
REPEAT = int(os.environ.get("DP_REPEAT", "3"))
MODES = {"split": QueueMode.SPLIT, "packed": QueueMode.PACKED, "push": QueueMode.PUSH,
         "push_self": QueueMode.PUSH_SELF}


def tlp_bytes(tlp) -> int:
    """Bytes on the link: header (3 or 4 dwords) plus payload."""
    header = 16 if tlp.address > 0xFFFF_FFFF or tlp.fmt_type.name.endswith("64") else 12
    return header + len(tlp.data)


def per_request(tb: EndpointTb, recs, cycles: float) -> dict:
    """TLPs of one request by kind and direction, bytes on the link, latency."""
    bar2 = tb.host.dev.bar_addr[layout.BAR_DOORBELL]
    msi_addr = tb.rc.msi_region.get_absolute_address(0)
    down_writes = [r for r in recs if r.direction == "down" and r.kind == "mem_write"]
    up_writes = [r for r in recs if r.direction == "up" and r.kind == "mem_write"]
    doorbells = sum(1 for r in down_writes if bar2 <= r.tlp.address < bar2 + layout.BAR2_SIZE)
    msis = sum(1 for r in up_writes if r.tlp.address == msi_addr)
    return {
        "host_reads": sum(1 for r in recs if r.direction == "down" and r.kind == "mem_read"),
        "host_writes": len(down_writes) - doorbells,
        "doorbells": doorbells,
        "device_reads": sum(1 for r in recs if r.direction == "up" and r.kind == "mem_read"),
        "device_writes": len(up_writes) - msis,
        "msis": msis,
        "link_bytes": sum(tlp_bytes(r.tlp) for r in recs),
        "latency_cycles": cycles,
    }


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_datapath_bench(dut, mode: str):
    tb = await EndpointTb.start(dut)
    fw = AsyncTransportFirmware(tb.cpu, net_device(mtu=65535), tb.params.db_slots)
    task = cocotb.start_soon(fw.run())
    await with_timeout(fw.published.wait(), 50_000, "ns")
    res = await virtio_probe(AsyncTransport(tb.host), default_driver_features(), tb.alloc_host, queue_size=64,
                             mode=MODES[mode])
    mem, pool = HostMemory(tb.rc), BufferPool(tb.alloc_host, 8 << 20)
    queues = {q.index: DriverQueue(tb.host, q, mem, pool) for q in res.queues}
    for q in queues.values():
        await q.init()
    net = NetDriver(queues, rx_buf=max(SIZES))
    for size in SIZES:
        frame = bytes((i * 7 + size) & 0xFF for i in range(size))
        samples = []
        for _ in range(REPEAT):
            await net.fill_rx(1)
            mark, t0 = tb.tlps.mark(), tb.now_ns()
            await net.send(frame)
            got = await net.receive(1, timeout_ns=50_000_000)
            await net.reap_tx(1)
            assert got == [frame], f"{mode} {size}: frame differs"
            samples.append(per_request(tb, tb.tlps.since(mark), tb.cycles(t0, tb.now_ns())))
        row = {"mode": mode, "size": size, "latencies": os.environ.get("LAT_LABEL", "none")}
        for key in samples[0]:
            row[key] = statistics.median(s[key] for s in samples)
        row["throughput_MBps"] = size / (row["latency_cycles"] * 4e-9) / 1e6
        tb.log.info("%s", row)
        if os.environ.get("DP_RESULTS"):
            with open(os.environ["DP_RESULTS"], "a") as f:
                f.write(json.dumps(row) + "\n")
    fw.stop.set()
    await task
