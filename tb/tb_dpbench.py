"""Data-path benchmark (make bench, make report): one network frame at a time through the
loopback, per mode and payload size; TLPs by kind, bytes on the link, host CPU time stalled
in BAR reads, firmware busy time, latency and throughput per request, and (async transport)
the timing model's prediction for it. With DP_RESULTS set, one JSON line per (mode, size)
is appended there. DP_VARIANT picks the transport and notification (scenarios.VARIANTS),
DP_MODES the ring modes, DP_SIZES the payload sizes."""

from __future__ import annotations

import json
import os
import statistics

import cocotb
from cocotb.triggers import SimTimeoutError, with_timeout

from ep_tb import EndpointTb
from scenarios import bench_net, timed_loopback
from virtio_ep import layout, timing
from virtio_ep.layout import QueueMode

SIZES = [int(x) for x in os.environ.get("DP_SIZES", "64,256,1024,4096,16384,65536").split(",")]
REPEAT = int(os.environ.get("DP_REPEAT", "3"))
ALL_MODES = {"split": QueueMode.SPLIT, "packed": QueueMode.PACKED, "push": QueueMode.PUSH,
             "push_self": QueueMode.PUSH_SELF}
MODES = {m: ALL_MODES[m] for m in os.environ.get("DP_MODES", ",".join(ALL_MODES)).split(",")}
VARIANT = os.environ.get("DP_VARIANT", "async")


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


async def firmware_asleep(tb: EndpointTb, timeout_ns: int = 100_000) -> None:
    """The firmware may still be finishing (interrupt exit) when the driver has its frame:
    its busy time is complete once it sleeps again."""
    try:
        await with_timeout(tb.cpu.asleep.wait(), timeout_ns, "ns")
    except SimTimeoutError:
        raise AssertionError(f"the firmware did not go back to sleep within {timeout_ns} ns") from None


@cocotb.test()
@cocotb.parametrize(mode=list(MODES))
async def test_datapath_bench(dut, mode: str):
    tb = await EndpointTb.start(dut)
    fw, task, net = await bench_net(tb, MODES[mode], max(SIZES), VARIANT)
    for size in SIZES:
        frame = bytes((i * 7 + size) & 0xFF for i in range(size))
        samples = []
        for _ in range(REPEAT):
            stall0, awake0 = tb.host.mmio_read_ns, tb.cpu.awake_ns
            cycles, recs, ops = await timed_loopback(tb, net, [frame])
            await firmware_asleep(tb)
            samples.append(per_request(tb, recs, cycles))
            samples[-1]["host_stall_ns"] = tb.host.mmio_read_ns - stall0
            samples[-1]["firmware_busy_ns"] = tb.cpu.awake_ns - awake0
            if VARIANT == "async":            # the timing model describes the async firmware
                model = timing.net_loopback_ops(mode, size, tb.cpu.costs, tb.params.db_slots)
                assert ops.dma_reads == model.dma_reads and ops.dma_writes == model.dma_writes, (ops, model)
                samples[-1]["predicted_cycles"] = timing.request_latency(model, tb.latencies)
        row = {"variant": VARIANT, "mode": mode, "size": size, "latencies": os.environ.get("LAT_LABEL", "none")}
        for key in samples[0]:
            row[key] = statistics.median(s[key] for s in samples)
        row["throughput_MBps"] = timing.throughput_mbps(size, row["latency_cycles"])
        if "predicted_cycles" in row:
            row["predicted_MBps"] = timing.throughput_mbps(size, row["predicted_cycles"])
        tb.log.info("%s", row)
        if os.environ.get("DP_RESULTS"):
            with open(os.environ["DP_RESULTS"], "a") as f:
                f.write(json.dumps(row) + "\n")
    fw.stop.set()
    await task
