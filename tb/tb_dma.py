"""DMA engine: reads and writes of every length and alignment against host memory,
TLP splitting rules, every error status (UR, CA, poisoned, timeout, bus mastering off,
bad descriptors) with the engine continuing afterwards, and throughput."""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge
from cocotbext.pcie.core.tlp import Tlp, TlpType
from cocotbext.pcie.core.utils import PcieId

from virtio_ep.testbench import EndpointTb, rerun_note
from virtio_ep import layout
from virtio_ep.layout import DmaDir, DmaResult, IntSource, Region

GUARD = 16


def rng_for_test() -> random.Random:
    cocotb.log.info("random seed %d (%s)", cocotb.RANDOM_SEED, rerun_note())
    return random.Random(cocotb.RANDOM_SEED)


async def delivered(tb: EndpointTb, vector: int = 1) -> None:
    """A DMA completion means the core has sent the last TLP; the host learns its data is in
    memory the way a driver does: from an MSI requested afterwards (posted writes stay in
    order)."""
    before = tb.host.msi_count(vector)
    await tb.cpu.request_msi(vector)
    await tb.host.wait_msi(vector, before + 1, timeout_ns=50_000)


async def start(dut) -> tuple[EndpointTb, object, int]:
    tb = await EndpointTb.start(dut)
    await tb.cpu.enable_interrupts(IntSource.DMA_DONE)
    region = tb.rc.mem_pool.alloc_region(64 * 1024)
    return tb, region, region.get_absolute_address(0)


@cocotb.test()
async def test_read_every_alignment(dut):
    """Host memory to buffer: lengths 1..2 KiB at every alignment, guard bytes intact."""
    tb, mem, base = await start(dut)
    rng = rng_for_test()
    host_data = bytes(rng.randrange(256) for _ in range(16 * 1024))
    await mem.write(0, host_data)
    lengths = [1, 2, 3, 4, 5, 7, 8, 31, 64, 127, 128, 129, 511, 512, 513, 1000, 2048]
    for n, length in enumerate(lengths * 2):
        align = n % 4
        hoff = rng.randrange(0, (len(host_data) - length - 64) // 4) * 4 + align
        local = 0x1000 + align + 4 * rng.randrange(0, 64)
        fill = bytes([0xA5]) * (length + 2 * GUARD)
        await tb.cpu.write_bytes(Region.DMA_BUF + local - GUARD, fill)
        result = await tb.cpu.dma(base + hoff, local, length, DmaDir.READ, tag=n)
        assert result == DmaResult.OK, f"read of {length} at +{hoff}: {result.name}"
        got = await tb.cpu.read_bytes(Region.DMA_BUF + local - GUARD, length + 2 * GUARD)
        assert got[GUARD:GUARD + length] == host_data[hoff:hoff + length], f"read of {length} bytes at +{hoff}: data differs"
        assert got[:GUARD] == fill[:GUARD] and got[-GUARD:] == fill[-GUARD:], f"read of {length}: guard bytes overwritten"


@cocotb.test()
async def test_write_every_alignment(dut):
    """Buffer to host memory: lengths 1..4 KiB at every alignment, guard bytes intact."""
    tb, mem, base = await start(dut)
    rng = rng_for_test()
    lengths = [1, 2, 3, 4, 5, 9, 63, 64, 65, 255, 256, 511, 512, 513, 1500, 4096]
    for n, length in enumerate(lengths * 2):
        align = n % 4
        data = bytes(rng.randrange(256) for _ in range(length))
        local = 0x2000 + align
        await tb.cpu.write_bytes(Region.DMA_BUF + local, data)
        hoff = 0x100 + 4 * rng.randrange(0, 2048) + align
        await mem.write(hoff - GUARD, bytes([0x5A]) * (length + 2 * GUARD))
        result = await tb.cpu.dma(base + hoff, local, length, DmaDir.WRITE, tag=n)
        assert result == DmaResult.OK, f"write of {length}: {result.name}"
        await delivered(tb)
        got = await mem.read(hoff - GUARD, length + 2 * GUARD)
        assert got[GUARD:GUARD + length] == data, f"write of {length} bytes at +{hoff}: data differs"
        assert got[:GUARD] == bytes([0x5A]) * GUARD and got[-GUARD:] == bytes([0x5A]) * GUARD, "guard bytes overwritten"


@cocotb.test()
async def test_split_rules(dut):
    """Write TLPs at most max payload, read requests at most max read request; none crosses 4 KiB."""
    tb, mem, base = await start(dut)
    cap = tb.dev.functions[0].pcie_cap
    mps, mrrs = 128 << cap.max_payload_size, 128 << cap.max_read_request_size
    await tb.cpu.write_bytes(Region.DMA_BUF + 3, bytes(range(256)) * 40)
    for direction in (DmaDir.WRITE, DmaDir.READ):
        for hoff, length in ((3, 10000), (4096 - 100, 300), (0, 4096)):
            mark = tb.tlps.mark()
            assert await tb.cpu.dma(base + hoff, 0x4000 + hoff % 4, length, direction) == DmaResult.OK
            await delivered(tb)
            kind = "mem_write" if direction == DmaDir.WRITE else "mem_read"
            tlps = [r.tlp for r in tb.tlps.since(mark) if r.direction == "up" and r.kind == kind]
            limit = mps if direction == DmaDir.WRITE else mrrs
            total = 0
            for t in tlps:
                nbytes = len(t.data) if direction == DmaDir.WRITE else t.length * 4
                assert t.length * 4 <= limit, f"{kind} of {t.length} dwords above {limit} bytes"
                assert t.address // 4096 == (t.address + t.length * 4 - 1) // 4096, f"{kind} at 0x{t.address:x} crosses 4 KiB"
                total += nbytes
            assert total >= length, f"{kind}s carried {total} bytes for a {length}-byte descriptor"


def answer_with(tb: EndpointTb, mode: str) -> None:
    """Replace the root complex's memory-read handler: 'ca', 'poison' or 'drop'."""

    async def handler(tlp):
        if mode == "drop":
            return                                   # the requester sees a timeout
        if mode == "ca":
            await tb.rc.send(Tlp.create_ca_completion_for_tlp(tlp, PcieId(0, 0, 0)))
            return
        cpl = Tlp.create_completion_data_for_tlp(tlp, PcieId(0, 0, 0))   # poisoned data
        cpl.set_data(bytes(tlp.length * 4))
        cpl.byte_count = tlp.get_be_byte_count()
        cpl.lower_address = (tlp.address + tlp.get_first_be_offset()) & 0x7F
        cpl.ep = True
        await tb.rc.send(cpl)

    for t in (TlpType.MEM_READ, TlpType.MEM_READ_64):
        tb.rc.register_rx_tlp_handler(t, handler)


@cocotb.test()
async def test_error_statuses_and_recovery(dut):
    """UR, CA, poisoned and no answer each end the descriptor with their status; the next
    descriptor works."""
    tb, mem, base = await start(dut)
    await mem.write(0, bytes(range(256)))
    # UR straight from the root complex: an address no host memory backs
    assert await tb.cpu.dma(0x1_0000_0000_0000, 0x100, 64, DmaDir.READ) == DmaResult.UR
    assert await tb.cpu.dma(base, 0x100, 64, DmaDir.READ) == DmaResult.OK
    normal = dict(tb.rc.rx_tlp_handler)
    for mode, expect in (("ca", DmaResult.CA), ("poison", DmaResult.POISONED), ("drop", DmaResult.TIMEOUT)):
        answer_with(tb, mode)
        result = await tb.cpu.dma(base, 0x100, 256, DmaDir.READ, timeout_cycles=4 * tb.params.dma_timeout_cycles)
        assert result == expect, f"{mode}: {result.name}, expected {expect.name}"
        tb.rc.rx_tlp_handler.update(normal)
        assert await tb.cpu.dma(base, 0x200, 256, DmaDir.READ) == DmaResult.OK, f"engine stuck after {mode}"
        assert await tb.cpu.read_bytes(Region.DMA_BUF + 0x200, 256) == bytes(range(256))
    errors = await tb.cpu.read32(Region.DMA + layout.DmaReg.CNT_ERRORS)
    assert errors == 4, f"CNT_ERRORS {errors}"


@cocotb.test()
async def test_bus_master_disabled(dut):
    """With bus mastering off a descriptor fails at once and sends nothing."""
    tb, mem, base = await start(dut)
    await tb.host.dev.clear_master()
    await tb.wait_cycle(lambda: not int(dut.cfg_function_status.value) & 4, 200, "bus master enable to drop")
    mark = tb.tlps.mark()
    for direction in (DmaDir.READ, DmaDir.WRITE):
        assert await tb.cpu.dma(base, 0x100, 128, direction) == DmaResult.NO_BUS_MASTER
    assert not [r for r in tb.tlps.since(mark) if r.direction == "up"], "a TLP was sent without bus mastering"
    await tb.host.dev.set_master()
    await tb.wait_cycle(lambda: bool(int(dut.cfg_function_status.value) & 4), 200, "bus master enable")
    assert await tb.cpu.dma(base, 0x100, 128, DmaDir.WRITE) == DmaResult.OK


@cocotb.test()
async def test_bad_descriptors(dut):
    tb, mem, base = await start(dut)
    size = tb.params.dma_buf_size
    for host, local, length in ((base, 0, 0), (base, size - 8, 16), (base + 1, 2, 8), (base, 0, layout.DMA_MAX_LENGTH + 4)):
        assert await tb.cpu.dma(host, local, length, DmaDir.READ) == DmaResult.BAD_DESCRIPTOR, (host, local, length)
    assert await tb.cpu.dma(base, 0, 16, DmaDir.READ) == DmaResult.OK


@cocotb.test()
async def test_write_rate(dut):
    """A 4 KiB write: no idle beat of the engine's own while RQ is ready (>= 95% of the rate
    max payload allows, header beats counted)."""
    tb, mem, base = await start(dut)
    mps = 128 << tb.dev.functions[0].pcie_cap.max_payload_size
    length = 4096
    task = cocotb.start_soon(tb.cpu.dma(base, 0, length, DmaDir.WRITE))
    await tb.wait_cycle(lambda: bool(dut.m_axis_rq_tvalid.value), 2000, "the first RQ beat")
    beats = idle = lasts = 0
    tlps = length // mps
    while lasts < tlps:
        v, r = int(dut.m_axis_rq_tvalid.value), int(dut.m_axis_rq_tready.value)
        if v and r:
            beats += 1
            lasts += int(dut.m_axis_rq_tlast.value)
        elif r and not v:
            idle += 1
        await RisingEdge(dut.clk)
    assert await task == DmaResult.OK
    ideal = tlps * ((4 + mps // 4 + 7) // 8)
    rate = ideal / (beats + idle)
    tb.log.info("4 KiB write: %d beats, %d idle cycles with RQ ready: %.1f%% of the max-payload rate", beats, idle, 100 * rate)
    assert beats == ideal and rate >= 0.95, f"{beats} beats, {idle} idle cycles"


@cocotb.test()
async def test_read_tags_outstanding(dut):
    """A 4 KiB read: the engine has every request in flight that its tags allow, never
    back-pressures RC, and so moves completions at the rate the root complex delivers them."""
    tb, mem, base = await start(dut)
    mrrs = 128 << tb.dev.functions[0].pcie_cap.max_read_request_size
    await mem.write(0, bytes(range(256)) * 16)
    task = cocotb.start_soon(tb.cpu.dma(base, 0, 4096, DmaDir.READ))
    stalls = active = max_active = rc_beats = 0
    rq_first = rc_first = True      # the next beat on each interface starts a TLP
    while not task.done():
        # Counted at the core's interfaces: a read request leaves on RQ (request type 0000 in
        # descriptor bits 78:75); its last completion carries "request completed" (bit 30).
        if int(dut.m_axis_rq_tvalid.value) and int(dut.m_axis_rq_tready.value):
            if rq_first and (int(dut.m_axis_rq_tdata.value) >> 75) & 0xF == 0:
                active += 1
            rq_first = bool(int(dut.m_axis_rq_tlast.value))
        if int(dut.s_axis_rc_tvalid.value):
            rc_beats += 1
            stalls += not int(dut.s_axis_rc_tready.value)
            if int(dut.s_axis_rc_tready.value):
                if rc_first and (int(dut.s_axis_rc_tdata.value) >> 30) & 1:
                    active -= 1
                rc_first = bool(int(dut.s_axis_rc_tlast.value))
        max_active = max(max_active, active)
        await RisingEdge(dut.clk)
    assert await task == DmaResult.OK
    requests = 4096 // mrrs
    tb.log.info("4 KiB read, MRRS %d: %d requests, at most %d in flight; %d RC beats, %d stalls",
                mrrs, requests, max_active, rc_beats, stalls)
    assert stalls == 0, "the engine back-pressured completions"
    assert max_active >= min(requests, tb.params.dma_tags), f"at most {max_active} requests in flight"
    assert await tb.cpu.read_bytes(Region.DMA_BUF, 4096) == bytes(range(256)) * 16
