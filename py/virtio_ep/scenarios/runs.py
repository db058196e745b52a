"""The simulations `make sim`, `make bench` and `make report` run (a cocotb test module the
package owns; simrun.run(sim, runs.__name__, config=RunConfig(...), test_filter=...)).
Each reads the run's configuration and writes its measurements as ResultRows to
`config.results` (the echo demo writes its summary to `config.artifact`)."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, replace

import cocotb

from ..host.virtio_core import BEST_FEATURES
from ..layout import BAR_DOORBELL, DMA_MAX_LENGTH, mode_by_name
from ..runconfig import ResultRow, RunConfig
from ..testbench import EndpointTb
from ..testbench.tlp_names import TlpNames
from ..transports import Options
from .control import measure_setup, select_wait_table, virtio_pci_select_waits
from .datapath import bench_net, measure_requests
from .load import LOAD_QUEUE_SIZE, LoadRow, closed_loop, dma_read_share, grid, load_options, measured_requests
from .echo import run_echo

CONFIG = RunConfig.current()
OPTIONS = Options(poll_cycles=CONFIG.poll_cycles, mirror=CONFIG.mirror)
# the data path's options: standard virtio at its best (RunConfig.best) or as Linux 6.1 drives it
DATAPATH_OPTIONS = replace(OPTIONS, batch=CONFIG.best, prefetch=CONFIG.best)


def emit(rows: list[ResultRow]) -> None:
    for row in rows:
        cocotb.log.info("%s", row)
        if CONFIG.results:
            row.append(CONFIG.results)


@cocotb.test()
@cocotb.parametrize(device=list(CONFIG.devices))
async def control_plane(dut, device: str):
    """The transport's set-up of `device`, each operation measured."""
    tb = await EndpointTb.start(dut, enumerate=False)
    emit([await measure_setup(tb, CONFIG.transport, device, OPTIONS, CONFIG.latencies)])


@cocotb.test()
@cocotb.parametrize(mode=list(CONFIG.modes))
async def datapath(dut, mode: str):
    """One net frame at a time through the loopback in `mode`, per payload size."""
    tb = await EndpointTb.start(dut)
    bench, net = await bench_net(tb, mode_by_name(mode), max(CONFIG.sizes), CONFIG.transport, DATAPATH_OPTIONS,
                                 extra_features=BEST_FEATURES if CONFIG.best else 0)
    # at its best, a frame is one descriptor: header and payload together, as Linux's
    # virtio_net sends it when the header fits in front (xmit_skb, can_push)
    net.header_inline = CONFIG.best
    emit(await measure_requests(tb, bench, net, mode_by_name(mode), CONFIG.sizes, CONFIG.repeat, CONFIG.latencies))
    await bench.stop()


@cocotb.test()
@cocotb.parametrize(mode=list(CONFIG.modes))
async def load(dut, mode: str):
    """The net loopback closed-loop in `mode`: every payload size x depth in flight."""
    tb = await EndpointTb.start(dut)
    points = grid(mode, CONFIG.sizes, CONFIG.depths, CONFIG.requests)
    pool = 4 * max(d * (s + 64) for s, d, _ in points)       # every frame in flight both ways, twice over
    bench, net = await bench_net(tb, mode_by_name(mode), max(CONFIG.sizes), CONFIG.transport,
                                 load_options(mode, OPTIONS), pool_bytes=pool, queue_size=LOAD_QUEUE_SIZE)
    net.header_inline = True            # one descriptor per frame, as Linux sends it
    for size, depth, requests in points:
        net.rx_buf = size
        emit([await closed_loop(tb, net, mode, size, depth, requests, CONFIG.latencies, bench.fw.backend)])
    await bench.stop()


@cocotb.test()
async def trace(dut):
    """One point of the load bench (the run's first mode, size and depth) with the firmware's
    turns timed (SoftCpu.timeline) and the TLPs at the root complex: JSON to config.artifact
    (make trace)."""
    mode, size, depth = CONFIG.modes[0], CONFIG.sizes[0], CONFIG.depths[0]
    tb = await EndpointTb.start(dut)
    bench, net = await bench_net(tb, mode_by_name(mode), size, CONFIG.transport, load_options(mode, OPTIONS),
                                 pool_bytes=4 * depth * (size + 64), queue_size=LOAD_QUEUE_SIZE)
    net.header_inline = True
    net.rx_buf = size
    backend = bench.fw.backend
    tb.cpu.timeline, tb.cpu.turn_probe = [], lambda: backend.delivered
    mark = tb.tlps.mark()
    requests = CONFIG.request_count(measured_requests(size, depth))
    backs: list[float] = []
    row = await closed_loop(tb, net, mode, size, depth, requests, CONFIG.latencies, backend, backs)
    await bench.stop()
    emit([row])
    names = TlpNames.of(tb.host.dev.bar_addr[BAR_DOORBELL], tb.rc.msi_region.get_absolute_address(0),
                        [q.cfg for q in bench.queues.values()], min(tb.rc.msi_region.msi_vectors, default=0))
    tlps = [(r.time_ns, names.label(r), r.tlp.length * 4 if r.kind == "mem_read" else len(r.tlp.data))
            for r in tb.tlps.since(mark)]
    if CONFIG.artifact:
        with open(CONFIG.artifact, "w") as f:
            json.dump({"row": asdict(row), "requests": requests, "timeline": tb.cpu.timeline, "tlps": tlps,
                       "backs": backs}, f)


@cocotb.test()
async def dma_read(dut):
    """The DMA engine alone: one read of the largest descriptor (64 KiB) at the run's latencies."""
    tb = await EndpointTb.start(dut)
    ns, share = await dma_read_share(tb)
    length = DMA_MAX_LENGTH
    gbps = length * 8 / ns
    row = LoadRow("dma_read", length, 1, CONFIG.latencies, 1e9 / ns, gbps, 0.0, share, 0.0, 0.0, 0.0, 0.0, ns, ns,
                  "link" if share >= 0.8 else "latency", requests=1, profile=tb.profile.name)
    cocotb.log.info("%s", row)
    if CONFIG.results:
        row.append(CONFIG.results)


@cocotb.test()
async def echo(dut):
    """The echo mailbox demo: BAR0, a doorbell and an MSI."""
    tb = await EndpointTb.start(dut)
    text = await run_echo(tb, random.Random(cocotb.RANDOM_SEED), CONFIG.sim or "?")
    if CONFIG.artifact:
        with open(CONFIG.artifact, "w") as f:
            f.write(text)
    tb.log.info(text)


@cocotb.test()
async def virtio_pci_select_wait(dut):
    """How long a virtio-pci driver must wait after a select write, per polling period."""
    tb = await EndpointTb.start(dut, enumerate=False)
    text = select_wait_table(await virtio_pci_select_waits(tb, "net"))
    if CONFIG.artifact:
        with open(CONFIG.artifact, "w") as f:
            f.write(text)
    tb.log.info(text)


@cocotb.test()
@cocotb.parametrize(device=[d for d in CONFIG.devices if d in ("net", "block")],
                    mode=[m for m in CONFIG.modes if m in ("split", "packed")])
async def linux_uml(dut, device: str, mode: str):
    """Linux's virtio_net or virtio_blk in User-Mode Linux through the RTL (make linux):
    net, `requests` frames of 60 to 1514 bytes (200), Linux's counters against the
    device's; block, `requests` O_DIRECT writes (24), a flush and reads, against the plan
    and the RAM disk. A summary line per run in `config.artifact`."""
    from pathlib import Path
    from .uml import uml_block, uml_net
    tb = await EndpointTb.start(dut)
    workdir = Path.cwd() / f"uml-{device}-{mode}"
    workdir.mkdir(exist_ok=True)
    if device == "net":
        out = await uml_net(tb, mode_by_name(mode), workdir, frames=CONFIG.request_count(200), fault=CONFIG.fault)
        text = (f"net {mode}: {out.frames_sent} frames sent by Linux's ping, {out.tx_packets} frames "
                f"({out.tx_bytes} bytes) out and {out.rx_packets} ({out.rx_bytes} bytes) back, the device "
                f"delivered {out.delivered} ({out.delivered_bytes} bytes)")
    else:
        out = await uml_block(tb, mode_by_name(mode), workdir, writes=CONFIG.request_count(24), fault=CONFIG.fault)
        text = (f"block {mode}: {out.writes} writes ({out.bytes_written} bytes; O_DIRECT but for {out.buffered} of "
                f"512 bytes, through the page cache), a flush and {out.reads} reads ({out.bytes_read} bytes) by "
                f"Linux, every read as planned, the RAM disk as written; Linux's reads, sectors read, writes, "
                f"sectors written and flushes {out.linux}, the device's {out.device}")
    result = out.result
    slow = result.longest()
    text += (f"; {result.wall_s:.1f} s wall, {result.sim_ns / 1e3:.0f} us simulated; kicks {result.kicks}, calls "
             f"{result.calls}; longest from a kick to its completion " +
             (f"{slow.wall_s:.2f} s wall ({slow.sim_ns / 1e3:.1f} us simulated) on queue {slow.queue}" if slow else "none")
             + f"; Linux negotiated {' '.join(result.features)}")
    tb.log.info(text)
    if CONFIG.artifact:
        with open(CONFIG.artifact, "a") as f:
            f.write(text + "\n")
