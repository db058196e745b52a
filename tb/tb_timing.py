"""The timing model against the RTL: fixed paths cycle for cycle, the firmware's primitives
(local-bus accesses, DMA reads and writes of any size) to within two cycles, and whole
requests in every data-path mode to within 2% of the measured latency, with the
operations the model assumes checked one by one against what the firmware did.

Under a host profile (tb/test_sim.py runs this module under `server` too) the model takes
the profile's link (max payload, read request size, completions cut at the RCB). DMA
primitives and groups also take the extra read latency the host drew for each request,
replayed in issue order: the prediction is of that run, not an average. Whole requests
run with the profile's shape but without its jitter: their buffers are not aligned to
the read request size, the engine splits reads at aligned boundaries, and the model (which
splits from the buffer's start) would pair draws with the wrong requests."""

from __future__ import annotations

import cocotb
import math

from cocotb.triggers import Event, RisingEdge, with_timeout
from cocotbext.pcie.core.dllp import Dllp

from dataclasses import replace

from virtio_ep.runconfig import RunConfig
from virtio_ep.testbench import EndpointTb
from virtio_ep.scenarios.datapath import bench_net, timed_loopback
from virtio_ep import layout, shared_rq, timing
from virtio_ep.layout import MODE_NAMES, DbReg, DbWatch, DmaDir, IntSource, MsiReg, Region, latency_setting, mode_by_name

LATENCIES = ("none", "default")         # layout.LATENCY_SETTINGS names


def without_jitter(profile: layout.HostProfile) -> layout.HostProfile:
    """The profile's completion shape, its read latency fixed (see the module's docstring)."""
    return replace(profile, read_jitter_ns=0, read_jitter_cap_ns=0)


class Model:
    """The timing model as this run's host shapes it: its profile's link, and the read
    latencies the host drew since `mark()` (to replay into the model)."""

    def __init__(self, tb: EndpointTb):
        self.tb, self.link, self._mark = tb, timing.Link.for_profile(tb.profile), 0

    def mark(self) -> None:
        self._mark = len(self.tb.tap.delay.drawn)

    def delays(self):
        """The draws since the mark, for one prediction (None when the host draws nothing)."""
        return iter(self.tb.tap.delay.drawn[self._mark:]) if self.tb.profile.read_jitter_ns else None


@cocotb.test()
async def test_fixed_paths_predicted_exactly(dut):
    tb = await EndpointTb.start(dut)
    await tb.cpu.enable_interrupts(IntSource.DB_PENDING)
    # doorbell TLP last beat -> irq
    ring = cocotb.start_soon(tb.host.ring_doorbell(4, 1))
    t0 = await tb.wait_cycle(tb.cq_last_beat, 2000, "the doorbell on CQ")
    t1 = await tb.wait_cycle(lambda: dut.irq.value == 1, 100, "irq")
    await ring
    measured = tb.cycles(t0, t1)
    assert measured == timing.doorbell_to_irq(), f"doorbell to irq: measured {measured}, model {timing.doorbell_to_irq()}"
    await tb.cpu.take_doorbells(tb.params.db_slots)
    # MSI REQUEST write -> cfg_interrupt_msi_int
    req = cocotb.start_soon(tb.cpu.request_msi(3))
    t0 = await tb.wait_cycle(tb.axil_write_handshake, 200, "the MSI REQUEST write")
    t1 = await tb.wait_cycle(tb.msi_int_active, 50, "cfg_interrupt_msi_int")
    await req
    measured = tb.cycles(t0, t1)
    assert measured == timing.msi_request_to_int(), f"MSI: measured {measured}, model {timing.msi_request_to_int()}"
    # DMA SUBMIT write -> first RQ beat
    region = tb.rc.mem_pool.alloc_region(4096)
    await tb.cpu.enable_interrupts(IntSource.DMA_DONE)
    dma = cocotb.start_soon(tb.cpu.dma(region.get_absolute_address(0), 0, 64, DmaDir.WRITE))
    submit = Region.DMA + layout.DmaReg.SUBMIT
    t0 = await tb.wait_cycle(lambda: tb.axil_write_handshake() and int(dut.s_axil_awaddr.value) == submit,
                             2000, "the DMA SUBMIT write")
    t1 = await tb.wait_cycle(lambda: bool(dut.m_axis_rq_tvalid.value), 100, "the first RQ beat")
    await dma
    measured = tb.cycles(t0, t1)
    assert measured == timing.dma_submit_to_rq(), f"DMA: measured {measured}, model {timing.dma_submit_to_rq()}"


async def timed(tb: EndpointTb, coro) -> float:
    t0 = tb.now_ns()
    await coro
    return tb.cycles(t0, tb.now_ns())


@cocotb.test()
@cocotb.parametrize(lat=list(LATENCIES))
async def test_primitives(dut, lat: str):
    """Local-bus reads and writes exactly; DMA writes exactly; DMA reads within 2 cycles
    (completions cross the link model in fractions of a cycle), with and without host latency."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat))
    cpu, bus = tb.cpu, timing.Bus()
    await cpu.enable_interrupts(IntSource.DMA_DONE)
    assert await timed(tb, cpu.read32(Region.SRAM_WINDOW)) == bus.axil_read
    for n in (4, 12, 64, 1024):
        measured = await timed(tb, cpu.write_bytes(Region.SRAM_WINDOW, bytes(n)))
        assert measured == timing.write_cost(-(-n // 4)), f"{n}-byte local-bus write: {measured} cycles"
    host = tb.rc.mem_pool.alloc_region(1 << 15).get_absolute_address(0)
    m = Model(tb)
    for n in (2, 16, 64, 200, 512, 1000, 4096, 16384):
        measured = await timed(tb, cpu.dma(host, 0, n, DmaDir.WRITE))
        model = timing.dma_write_cycles(n, m.link)
        assert measured == model, f"DMA write of {n} ({tb.profile.name}): measured {measured}, model {model}"
        m.mark()
        measured = await timed(tb, cpu.dma(host, 0, n, DmaDir.READ))
        model = timing.dma_read_cycles(n, tb.latencies.device_read_ns, m.link, delays=m.delays(), tags=tb.params.dma_tags)
        tb.log.info("DMA read of %d (%s, %s): measured %d cycles, model %.1f", n, lat, tb.profile.name, measured, model)
        assert abs(measured - model) <= 2, f"DMA read of {n} ({lat}, {tb.profile.name}): measured {measured}, model {model}"


GROUPS = [                        # single-direction, as the firmware starts them (see dma_group_cycles)
    (("write", 64), ("write", 1024)),
    (("write", 4096), ("write", 4096), ("write", 64)),   # each write waits for the one before
    (("read", 12), ("read", 64), ("read", 4096)),
    tuple(("read", 64) for _ in range(6)),               # more reads than the engine has contexts
    tuple(("read", 512) for _ in range(8)),
    (("read", 4096), ("read", 4096)),                    # completions share the link
]


@cocotb.test()
@cocotb.parametrize(lat=list(LATENCIES))
async def test_dma_groups_predicted(dut, lat: str):
    """DMAs started back to back and waited for together (as the firmware moves payloads):
    the time from the first submit to the last result reaped, within 2% (the model prices
    the engine's overlap: read contexts, the write engine one at a time, the shared link)."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat))
    cpu = tb.cpu
    await cpu.enable_interrupts(IntSource.DMA_DONE)
    host = tb.rc.mem_pool.alloc_region(1 << 16).get_absolute_address(0)

    async def run(group) -> None:
        tags = [await cpu.dma_start(host + 0x1000 * k, 0x1000 * k, n, DmaDir.READ if d == "read" else DmaDir.WRITE)
                for k, (d, n) in enumerate(group)]
        assert all(r == layout.DmaResult.OK for r in await cpu.dma_wait(tags))
    m = Model(tb)
    for group in GROUPS:
        m.mark()
        measured = await timed(tb, run(group))
        model = timing.dma_group_cycles(group, tb.latencies.device_read_ns, m.link, delays=m.delays(),
                                         tags=tb.params.dma_tags)
        serial = sum(timing.dma_group_cycles((g,), tb.latencies.device_read_ns, m.link) for g in group)
        tb.log.info("group %s (%s, %s): measured %d cycles, model %.1f, one at a time %.1f (no jitter)",
                    group, lat, tb.profile.name, measured, model, serial)
        assert abs(model - measured) <= max(2, 0.02 * measured), \
            f"{group} ({lat}, {tb.profile.name}): measured {measured}, model {model:.1f}"


BESIDE = [                        # both directions at once, as a push stream runs them (shared_rq)
    ((("read", 16384),) * 16 + (("write", 16384),) * 16, 1),
    ((("write", 16384),) * 16 + (("read", 16384),) * 16, 1),
    # a 4 KiB frame and its header: a 12-byte last TLP, which a request may overtake; run four
    # times under a host's jitter (see the test's docstring)
    ((("write", 4108),) * 16 + (("read", 4108),) * 16, 4),
    ((("write", 4108),) * 16, 1),                             # ... and alone: each write ends on its report
]


@cocotb.test()
@cocotb.parametrize(lat=list(LATENCIES))
async def test_reads_and_writes_beside_each_other_predicted(dut, lat: str):
    """Reads and writes submitted back to back and reaped as they end: when each direction's
    last result is reaped, within 1% (shared_rq.SharedRqEngine: the RQ shared request by TLP,
    the core's sink and its one-deep transmit queue, the link one TLP at a time, each write
    ending on its last TLP's sequence report), the host's read latency draws replayed.
    Measured (2026-12-07, Verilator): within 0.8% everywhere without jitter (`ideal`, `small`,
    `ideal@mps=256`: most within 3 cycles). Under `server` the 4,108-byte writes beside reads
    land -1.5% to +1.7% of the RTL run by run (49 runs): the link's DLLPs, which the engine
    does not price, shift TLPs by fractions of a cycle, and that decides whether a read
    request overtakes a write's 12-byte last TLP (9 to 14 cycles each time it does); summed
    over four runs, within 1.5% there (-0.8% to +0.4% over ten sums). Broken on purpose
    (2026-12-07), it fails with a request answered as if it went on the link at its RQ beat,
    not after the write TLP ahead of it (writes first, no host latency: the reads 2,567 cycles
    against 2,600). The cycle-level rules are test_rq_frames_go_as_the_engine_issues_them's:
    a write restart of five, a request a cycle late or a 4-DW header stay within 1% here."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat))
    cpu = tb.cpu
    await cpu.enable_interrupts(IntSource.DMA_DONE)
    host = tb.rc.mem_pool.alloc_region(1 << 20).get_absolute_address(0)
    m, params = Model(tb), tb.params
    jitter = bool(tb.profile.read_jitter_ns)

    async def run(group) -> dict[str, float]:
        t0 = tb.now_ns()
        pending = {await cpu.dma_start(host + 0x4000 * k, 0x4000 * (k % 16), n,
                                       DmaDir.READ if d == "read" else DmaDir.WRITE): d
                   for k, (d, n) in enumerate(group)}
        reaped: dict[str, float] = {}
        while pending:
            tag, result = await cpu.dma_done()
            assert result == layout.DmaResult.OK, f"DMA {tag}: {result!r}"
            reaped[pending.pop(tag)] = tb.cycles(t0, tb.now_ns())
        return reaped

    for group, runs in BESIDE:
        runs = runs if jitter else 1
        measured = {d: 0.0 for d, _ in group}
        model = dict(measured)
        for _ in range(runs):
            m.mark()
            for direction, cycles in (await run(group)).items():
                measured[direction] += cycles
            priced = shared_rq.group_reaped(group, tb.latencies.device_read_ns, m.link, tags=params.dma_tags,
                                            read_descs=params.dma_read_descs, desc_depth=params.dma_desc_depth,
                                            delays=m.delays())
            for direction, cycles in priced.items():
                model[direction] += cycles
        bound = 0.015 if runs > 1 else 0.01
        for direction in measured:
            tb.log.info("%s first, %s (%s, %s, %d runs): measured %d cycles, model %.1f", group[0][0], direction,
                        lat, tb.profile.name, runs, measured[direction], model[direction])
            assert abs(model[direction] - measured[direction]) <= bound * measured[direction], \
                f"{group[0][0]}s first, the {direction}s ({lat}, {tb.profile.name}, {runs} runs): measured " \
                f"{measured[direction]}, model {model[direction]:.1f}"


RQ_REQ_TYPE = slice(75, 79)         # an RQ descriptor's Req Type (layout.ReqType), DW2 bits 14:11 (PG213)


@cocotb.test()
@cocotb.parametrize(lat=list(LATENCIES))
async def test_rq_frames_go_as_the_engine_issues_them(dut, lat: str):
    """The shared engine's RQ, TLP by TLP: 16 writes of 4,108 bytes and 16 reads of as many
    submitted together, the host's read latency draws replayed; each TLP's kind and the clock
    edge of its last RQ beat as the RTL issues them, exactly (relative to the first), until a
    DLLP first holds a TLP back on either side of the link (ACKs and flow-control updates,
    which the engine does not price, shift the link by a fraction of a cycle from there):
    28 to 122 TLPs in, each time just before the first request that waits for a tag (the
    root port's first DLLPs hold back the first completions). So it checks, cycle by cycle, a
    read request ahead of a write TLP where both are ready, one request a cycle from a read's
    first on a write's first beat's cycle, the idle cycle between reads, the core's RQ sink
    (tready from the edge before) and one-deep transmit queue, the link's pace, a write
    restarting six cycles after its last TLP was queued. Broken on purpose (2026-12-07), it
    fails with a restart of five (the engine until then: the second write's first TLP a cycle
    early) and with the sink counting the TLP that ended at the edge before (`ideal` and
    `server`). Not reached here, and checked on a one-off probe of every TLP on both sides of
    the core (requests, completions on the link, RC beats, sequence reports; `server`, default
    latencies, the draws replayed), where the engine matched the RTL's first 135 TLPs exactly,
    18 requests that waited for a tag among them: a tag's request four cycles after its last
    completion beat, the answer a request's wire time and the link's delay each way after it
    goes on the link, a report counted from the edge at or before its TLP was queued, a 3-DW
    header on the wire."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat))
    cpu = tb.cpu
    await cpu.enable_interrupts(IntSource.DMA_DONE)
    host = tb.rc.mem_pool.alloc_region(1 << 20).get_absolute_address(0)
    m, params = Model(tb), tb.params
    group = (("write", 4108),) * 16 + (("read", 4108),) * 16
    held: list[float] = []                  # when a DLLP held a TLP back, either way on the link
    for port in (tb.dev.upstream_port, tb.dev.upstream_port.other):
        put, transmit, after_dllp = port.tx_queue.put, port.handle_tx, [None]

        async def queue(pkt, put=put):       # a TLP into the port's one-deep transmit queue
            pkt.queued_ns = tb.now_ns()
            await put(pkt)

        async def handle_tx(pkt, transmit=transmit, after_dllp=after_dllp):
            if not isinstance(pkt, Dllp) and tb.now_ns() == after_dllp[0] and pkt.queued_ns < tb.now_ns():
                held.append(tb.now_ns())
            await transmit(pkt)
            after_dllp[0] = tb.now_ns() if isinstance(pkt, Dllp) else None
        port.tx_queue.put, port.handle_tx = queue, handle_tx
    frames: list[tuple[str, int, float]] = []   # (kind, edge of its last RQ beat, ns) as the RTL issues them
    done = Event()

    async def watch() -> None:
        d, first, edge, kind = dut, True, 0, ""
        while not done.is_set():
            await RisingEdge(d.clk)
            edge += 1
            if int(d.m_axis_rq_tvalid.value) and int(d.m_axis_rq_tready.value):
                if first:
                    req_type = d.m_axis_rq_tdata.value.to_unsigned() >> RQ_REQ_TYPE.start & 0xF
                    kind = "read" if req_type == layout.ReqType.MEM_READ else "write"
                first = bool(int(d.m_axis_rq_tlast.value))
                if first:
                    frames.append((kind, edge, tb.now_ns()))
    m.mark()
    watcher = cocotb.start_soon(watch())
    tags = [await cpu.dma_start(host + 0x4000 * k, 0x4000 * (k % 16), n, DmaDir.READ if d == "read" else DmaDir.WRITE)
            for k, (d, n) in enumerate(group)]
    assert all(r == layout.DmaResult.OK for r in await cpu.dma_wait(tags))
    done.set()
    await watcher
    engine = shared_rq.SharedRqEngine(tb.latencies.device_read_ns, m.link, tags=params.dma_tags,
                                      read_descs=params.dma_read_descs, desc_depth=params.dma_desc_depth,
                                      delays=m.delays())
    for i, _ in shared_rq.submit_group(engine, group)[0]:
        engine.end(i)
    first_held = min((t for t in held if t > frames[0][2]), default=math.inf)
    rtl = [(kind, edge - frames[0][1]) for kind, edge, ns in frames if ns < first_held]
    priced = [(kind, at - engine.lasts[0]) for kind, at in zip(engine.frames, engine.lasts)][:len(rtl)]
    tb.log.info("%d of %d TLPs before a DLLP held one back (%s, %s)", len(rtl), len(frames), lat, tb.profile.name)
    assert len(rtl) >= 24, f"only {len(rtl)} TLPs before a DLLP held one back: the check would see little"
    for k, (seen, model) in enumerate(zip(rtl, priced)):
        assert seen == model, f"TLP {k} ({lat}, {tb.profile.name}): the RTL issued {seen}, the engine {model}"


@cocotb.test()
@cocotb.parametrize(lat=list(LATENCIES))
async def test_notification_paths(dut, lat: str):
    """Host doorbell write to irq, a watched push-ring write of 1 to 3 slots to irq, and the
    MSI REQUEST write to the host's handler."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat))
    cpu = tb.cpu
    await cpu.enable_interrupts(IntSource.DB_PENDING)

    async def to_irq(write) -> float:
        t0 = tb.now_ns()
        cocotb.start_soon(write)
        await with_timeout(RisingEdge(dut.irq), 10_000, "ns")
        cycles = tb.cycles(t0, tb.now_ns())
        await cpu.take_doorbells(tb.params.db_slots)
        return cycles

    assert await to_irq(tb.host.ring_doorbell(4, 7)) == timing.notify_to_irq(4)
    window = Region.DOORBELL + DbReg.WATCH
    await cpu.write32(window + DbWatch.BASE, layout.PUSH_RING_AREA)
    await cpu.write32(window + DbWatch.ENTRY_LOG2, layout.PushEntry.SIZE.bit_length() - 1)
    await cpu.write32(window + DbWatch.SLOT, 9)
    await cpu.write32(window + DbWatch.SIZE, 16 * layout.PushEntry.SIZE)
    for slots in (1, 2, 3):
        n = slots * layout.PushEntry.SIZE
        measured = await to_irq(tb.host.write(layout.BAR_SRAM, layout.PUSH_RING_AREA + 4 * n, bytes(n)))
        model = timing.notify_to_irq(n, timing.Link.for_profile(tb.profile))
        assert measured == model, f"{slots}-slot watched write ({tb.profile.name}): {measured}, model {model}"
    sent = tb.host.msi_count(2)
    await cpu.write32(Region.MSI + MsiReg.REQUEST, 2)
    t0 = tb.now_ns()
    t1 = await tb.host.wait_msi(2, sent + 1, 10_000)
    model = timing.Bus().msi_to_host + tb.latencies.msi_ns / timing.CLK_NS
    assert abs(tb.cycles(t0, t1) - model) < 0.01, f"MSI to host: {tb.cycles(t0, t1)}, model {model}"


def frame_of(size: int, k: int = 0) -> bytes:
    return bytes((i * 7 + k) & 0xFF for i in range(size))


def timeline(tb: EndpointTb, recs, t0: float) -> dict[str, float]:
    """Cycle of the first doorbell, device TLP, used-ring write and MSI of a request."""
    bar2 = tb.host.dev.bar_addr[layout.BAR_DOORBELL]
    msi = tb.rc.msi_region.get_absolute_address(0)
    marks: dict[str, float] = {}
    for r in recs:
        if r.direction == "down" and r.kind == "mem_write" and bar2 <= r.tlp.address < bar2 + layout.BAR2_SIZE:
            marks.setdefault("doorbell", r.time_ns)
        elif r.direction == "up" and r.tlp.address == msi:
            marks.setdefault("msi", r.time_ns)
        elif r.direction == "up":
            marks.setdefault("first_device_tlp", r.time_ns)
    return {k: tb.cycles(t0, v) for k, v in marks.items()}


@cocotb.test()
@cocotb.parametrize(mode=list(MODE_NAMES), lat=list(LATENCIES))
async def test_request_latency_predicted(dut, mode: str, lat: str):
    """Per request (the benchmark's net loopback): the firmware's operations equal the
    model's, field by field, and the predicted latency is within 2% of the measured one."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat), profile=without_jitter(RunConfig.current().host_profile))
    bench, net = await bench_net(tb, mode_by_name(mode), 4096)
    link = timing.Link.for_profile(tb.profile)
    for size in (64, 1024, 4096):
        start, mark = tb.now_ns(), tb.tlps.mark()
        measured, recs, ops = await timed_loopback(tb, net, [frame_of(size)])
        model = timing.net_loopback_ops(mode, size, tb.cpu.costs, tb.params.db_slots)
        for key in ("reads", "writes", "write_words", "compute", "dma_reads", "dma_writes", "dma_groups"):
            assert getattr(ops, key) == getattr(model, key), f"{mode} {size}: {key} {getattr(ops, key)}, model {getattr(model, key)}"
        predicted = timing.request_latency(model, tb.latencies, link)
        error = (predicted - measured) / measured
        tb.log.info("%s %d B (%s): measured %.1f cycles, predicted %.1f (%+.2f%%); timeline %s", mode, size, lat,
                    measured, predicted, 100 * error, timeline(tb, tb.tlps.since(mark), start))
        assert abs(error) < 0.02, f"{mode} {size} B: measured {measured}, predicted {predicted:.1f} ({100 * error:+.2f}%)"
    await bench.stop()


@cocotb.test()
@cocotb.parametrize(mode=list(MODE_NAMES), lat=list(LATENCIES))
async def test_sustained_throughput_predicted(dut, mode: str, lat: str):
    """Eight frames in flight at once: the predicted throughput (payload / time to the last
    frame back) is within 5% of the measured one. Split and packed: the eight doorbells
    arrive before the firmware takes them, one pass per queue, and the firmware's operations
    equal the model's. Push: each request's slots cross the link before its doorbell, so
    later requests arrive while the firmware works and it takes the burst in more than one
    pass; the model does not predict the arrival pattern, so it takes the number of passes
    from the run (two MSIs each: TX and RX) and prices each extra pass's fixed work (one
    pass of one frame, less the per-frame work)."""
    tb = await EndpointTb.start(dut, latencies=latency_setting(lat), profile=without_jitter(RunConfig.current().host_profile))
    bench, net = await bench_net(tb, mode_by_name(mode), 1024)
    # the model follows the firmware that takes a burst, waits, and delivers it; steps
    # overlapping in flight (NetLoopback.stream) are not modelled yet (issue 17)
    bench.fw.backend.pipelined = False
    frames = 8
    link = timing.Link.for_profile(tb.profile)
    for size in (256, 1024):
        measured, recs, ops = await timed_loopback(tb, net, [frame_of(size, k) for k in range(frames)])
        model = timing.net_loopback_ops(mode, size, tb.cpu.costs, tb.params.db_slots, frames)
        predicted = timing.request_latency(model, tb.latencies, link)
        if mode in ("push", "push_self"):
            msi = tb.rc.msi_region.get_absolute_address(0)
            passes = max(1, sum(r.direction == "up" and r.tlp.address == msi for r in recs) // 2)
            one, two = (timing.firmware_cycles(timing.net_loopback_ops(mode, size, tb.cpu.costs, tb.params.db_slots, n),
                                               tb.latencies, link) for n in (1, 2))
            predicted += (passes - 1) * (2 * one - two)
        got_tp = timing.throughput_mbps(frames * size, measured)
        want_tp = timing.throughput_mbps(frames * size, predicted)
        error = want_tp / got_tp - 1
        tb.log.info("%s %d x %d B (%s): measured %.1f MB/s, predicted %.1f (%+.2f%%)%s", mode, frames,
                    size, lat, got_tp, want_tp, 100 * error, f", {passes} passes" if mode.startswith("push") else "")
        if mode in ("split", "packed"):
            for key in ("reads", "writes", "write_words", "compute", "dma_reads", "dma_writes", "dma_groups"):
                assert getattr(ops, key) == getattr(model, key), f"{mode} {frames} x {size}: {key} differs"
        assert abs(error) < 0.05, f"{mode} {frames} x {size} B: measured {got_tp:.1f} MB/s, predicted {want_tp:.1f}"
    await bench.stop()


@cocotb.test()
@cocotb.parametrize(mode=list(MODE_NAMES))
async def test_local_bus_words_do_not_grow_with_payload(dut, mode: str):
    """Payloads move between host memory and device memory by DMA only (issue 15): the
    local-bus reads and written words of a loopback request are the same at 1 KiB and
    16 KiB (above the push ring's inline size), while the DMA moves every byte both ways."""
    tb = await EndpointTb.start(dut)
    bench, net = await bench_net(tb, mode_by_name(mode), 16384 + layout.NetHdr.SIZE)
    seen = {}
    for size in (1024, 4096, 16384):
        _, _, ops = await timed_loopback(tb, net, [frame_of(size)])
        seen[size] = (ops.reads, ops.write_words)
        frame = size + layout.NetHdr.SIZE
        assert sum(ops.dma_reads) >= (frame if mode in ("split", "packed") else size), \
            f"{mode} {size} B: {sum(ops.dma_reads)} bytes read by DMA"
        assert sum(ops.dma_writes) >= frame, f"{mode} {size} B: {sum(ops.dma_writes)} bytes written by DMA"
    assert len(set(seen.values())) == 1, f"{mode}: local-bus (reads, written words) per request by size: {seen}"
    await bench.stop()
