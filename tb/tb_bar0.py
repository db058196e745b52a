"""BAR0 SRAM: host accesses of every length and alignment against a Python mirror,
host and CPU sharing the SRAM, the unbacked tail of the BAR, completion splitting,
read latency and streaming."""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge

from cocotbext.pcie.core.tlp import CplStatus, TlpType

from virtio_ep.testbench import EndpointTb, inject_request, rerun_note
from virtio_ep import layout
from virtio_ep.host.pcie_host import HostAccessError

GUARD = 16
READ_FIRST_BEAT_CYCLES = 5      # README, "Measured figures": request's last beat to first completion beat
MPS = 512                       # EndpointTb's default max payload size
CC_DESCRIPTOR_BYTES = 12        # UltraScale+ completer completion descriptor (3 DW, PG213)
BEAT_BYTES = 32                 # 256-bit AXI4-Stream


def completion_beats(n: int) -> int:
    """CC beats of a read of n bytes from a dword-aligned offset: one completion per MPS
    bytes, each its descriptor and payload packed on 32-byte beats (2 KiB: 4 x 17 = 68)."""
    pieces = [min(MPS, n - k) for k in range(0, n, MPS)]
    return sum(-(-(CC_DESCRIPTOR_BYTES + p) // BEAT_BYTES) for p in pieces)


def seeded_rng() -> random.Random:
    seed = cocotb.RANDOM_SEED
    cocotb.log.info("random seed %d (%s)", seed, rerun_note())
    return random.Random(seed)


async def fill(tb: EndpointTb, mirror: bytearray, base: int, rng: random.Random) -> None:
    """Write random data over [base, base+len(mirror)) with max-payload host writes."""
    for k in range(len(mirror)):
        mirror[k] = rng.randrange(256)
    await tb.host.write(layout.BAR_SRAM, base, bytes(mirror))


@cocotb.test()
async def test_identity_and_parameters(dut):
    """The CPU reads the endpoint's identity and build parameters at layout.py's offsets."""
    tb = await EndpointTb.start(dut)
    p = tb.params
    expect = {
        layout.Csr.ID: layout.EP_ID,
        layout.Csr.VERSION: layout.EP_VERSION,
        layout.Csr.BAR0_SIZE: p.bar0_sram_size,
        layout.Csr.DB_SLOTS: p.db_slots,
        layout.Csr.DB_FIFO_DEPTH: p.db_fifo_depth,
        layout.Csr.MSI_VECTORS: p.msi_vectors,
        layout.Csr.NP_FIFO_DEPTH: p.np_fifo_depth,
    }
    for reg, value in expect.items():
        got = await tb.cpu.csr(reg)
        assert got == value, f"CSR {reg.name}: read 0x{got:x}, layout.py says 0x{value:x}"
    # an address that decodes to nothing is a bus error, not a silent zero
    try:
        await tb.cpu.read32(layout.Region.DMA_BUF - 4)       # between the register blocks and DMA_BUF
    except Exception as exc:  # BusError
        assert "DECERR" in str(exc), exc
    else:
        raise AssertionError("read of an unmapped local-bus address did not fail")


@cocotb.test()
async def test_reset_event(dut):
    """Every reset of the endpoint's logic leaves RESET_EVENT pending with its interrupt
    enabled, so a CPU that was not reset wakes; acknowledging clears it and drops irq."""
    tb = await EndpointTb.start(dut)
    csr, Csr, src = tb.cpu.csr, layout.Csr, layout.IntSource
    for round_ in ("power-on", "second reset"):
        assert await csr(Csr.RESET_EVENT) == layout.ResetEventBit.PENDING, round_
        assert await csr(Csr.INT_STATUS) & src.RESET and await csr(Csr.INT_ENABLE) == src.RESET, round_
        await tb.wait_cycle(lambda: tb.dut.irq.value == 1, 4, f"irq after the {round_}")
        await tb.cpu.write32(layout.Region.CSR + Csr.RESET_EVENT, 0)          # writing 0 keeps it
        assert await csr(Csr.RESET_EVENT) == layout.ResetEventBit.PENDING, round_
        await tb.cpu.acknowledge_reset(src.DB_PENDING)
        assert await csr(Csr.RESET_EVENT) == 0 and not await csr(Csr.INT_STATUS) & src.RESET, round_
        assert await csr(Csr.INT_ENABLE) == src.DB_PENDING | src.RESET, round_
        await tb.wait_cycle(lambda: tb.dut.irq.value == 0, 4, f"irq to drop after acknowledging the {round_}")
        if round_ == "power-on":   # the root port's secondary bus reset (HotResetEmulator)
            await tb.host.hot_reset(hold_ns=500, wait_ns=2_000)


@cocotb.test()
async def test_random_access_mirror(dut):
    """Random lengths 1..max payload at every alignment, checked with guard bytes."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    mps = 128 << tb.dev.functions[0].pcie_cap.max_payload_size
    region = 2048
    base = 0x800
    mirror = bytearray(region)
    await fill(tb, mirror, base, rng)

    lengths = [1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 128, 129, mps - 1, mps]
    cases = [(a, n) for a in range(8) for n in lengths]
    cases += [(rng.randrange(8), rng.randint(1, mps)) for _ in range(40)]
    for align, length in cases:
        off = GUARD + rng.randrange(0, (region - 2 * GUARD - length) // 8) * 8 + align
        data = bytes(rng.randrange(256) for _ in range(length))
        await tb.host.write(layout.BAR_SRAM, base + off, data)
        mirror[off:off + length] = data
        lo, hi = off - GUARD, off + length + GUARD
        got = await tb.host.read(layout.BAR_SRAM, base + lo, hi - lo)
        assert got == bytes(mirror[lo:hi]), (
            f"write of {length} bytes at +{off} (alignment {align}): host read-back of "
            f"[{lo}, {hi}) differs from the mirror")
    # reads of every length and alignment
    for align in range(8):
        for length in lengths:
            off = GUARD + align
            got = await tb.host.read(layout.BAR_SRAM, base + off, length)
            assert got == bytes(mirror[off:off + length]), f"read of {length} at +{off}"
    # whole region, through the CPU's window as well
    assert await tb.host.read(layout.BAR_SRAM, base, region) == bytes(mirror)
    assert await tb.cpu.read_sram(base, region) == bytes(mirror)


@cocotb.test()
async def test_host_and_cpu_share_sram(dut):
    """Bytes written by either port are read back identically by the other."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    for _ in range(12):
        off = rng.randrange(0, tb.params.bar0_sram_size - 64)
        n = rng.randint(1, 64)
        data = bytes(rng.randrange(256) for _ in range(n))
        if rng.random() < 0.5:
            await tb.cpu.write_sram(off, data)
            got = await tb.host.read(layout.BAR_SRAM, off, n)
            assert got == data, f"CPU wrote {n} bytes at 0x{off:x}; the host read {got.hex()}"
        else:
            await tb.host.write(layout.BAR_SRAM, off, data)
            # posted writes may still be in flight: a read flushes them (PCIe ordering)
            await tb.host.read(layout.BAR_SRAM, off, 1)
            got = await tb.cpu.read_sram(off, n)
            assert got == data, f"host wrote {n} bytes at 0x{off:x}; the CPU read {got.hex()}"


@cocotb.test()
async def test_unbacked_tail_and_end_of_sram(dut):
    """With a BAR larger than the SRAM, the tail answers UR / drops writes; nothing changes."""
    size = layout.DEFAULT_PARAMS.bar0_sram_size
    tb = await EndpointTb.start(dut, bar0_aperture=2 * size)
    rng = seeded_rng()
    end_region = bytearray(256)
    await fill(tb, end_region, size - 256, rng)
    drops0 = await tb.cpu.csr(layout.Csr.CNT_CQ_POSTED_DROP)
    ur0 = await tb.cpu.csr(layout.Csr.CNT_CQ_NP_UR)

    for off, n in ((size, 4), (size + 100, 17), (2 * size - 4, 4)):
        try:
            await tb.host.read(layout.BAR_SRAM, off, n, timeout_ns=20_000)
        except HostAccessError as exc:
            assert "Unsuccessful completion" in str(exc), exc
        else:
            raise AssertionError(f"read beyond the SRAM at 0x{off:x} did not fail")
        await tb.host.write(layout.BAR_SRAM, off, bytes(n))

    # a write that crosses the end: the in-range part lands, the rest is dropped
    data = bytes(rng.randrange(256) for _ in range(64))
    await tb.host.write(layout.BAR_SRAM, size - 32, data)
    end_region[-32:] = data[:32]
    assert await tb.host.read(layout.BAR_SRAM, size - 256, 256) == bytes(end_region)
    assert await tb.cpu.read_sram(size - 256, 256) == bytes(end_region)

    drops = await tb.cpu.csr(layout.Csr.CNT_CQ_POSTED_DROP) - drops0
    urs = await tb.cpu.csr(layout.Csr.CNT_CQ_NP_UR) - ur0
    assert drops == 4, f"expected 4 dropped writes beyond the SRAM, counter says {drops}"
    assert urs == 3, f"expected 3 UR reads beyond the SRAM, counter says {urs}"


@cocotb.test()
async def test_doorbell_bar_reads_zero(dut):
    """BAR2 is write-only: a read (e.g. to flush posted writes) completes with zeros."""
    tb = await EndpointTb.start(dut)
    await tb.host.ring_doorbell(3, 0x1234_5678)
    assert await tb.host.read(layout.BAR_DOORBELL, 3 * layout.DB_SLOT_STRIDE, 4) == bytes(4)
    assert await tb.host.read(layout.BAR_DOORBELL, 0, 64) == bytes(64)


@cocotb.test()
async def test_completion_split(dut):
    """Every completion <= max payload; every one but the last ends on the RCB."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    cap = tb.dev.functions[0].pcie_cap
    mps = 128 << cap.max_payload_size
    rcb = 128 if cap.read_completion_boundary else 64
    await fill(tb, bytearray(4096), 0, rng)
    for off, n in ((0, 4096), (3, 1000), (61, 700), (130, 64), (1, 1), (4095 - 511, 511)):
        mark = tb.tlps.mark()
        await tb.host.read(layout.BAR_SRAM, off, n)
        cpls = [r.tlp for r in tb.tlps.since(mark) if r.kind == "completion"]
        total = 0
        for i, c in enumerate(cpls):
            nbytes = min(c.byte_count, c.length * 4 - (c.lower_address & 3))
            assert c.length * 4 <= mps, f"completion of {c.length} dwords above max payload {mps}"
            total += nbytes
            end = (c.lower_address & ~3) + c.length * 4
            if i < len(cpls) - 1 and c.byte_count > nbytes:
                assert end % rcb == 0, (f"read {n}@{off}: completion {i} ends at lower address "
                                        f"0x{end:x}, not on the {rcb}-byte RCB")
        assert total >= n, f"read {n}@{off}: completions carried {total} bytes"


@cocotb.test()
async def test_read_latency_and_streaming(dut):
    """First completion beat within 8 cycles of the request; long reads stream."""
    tb = await EndpointTb.start(dut)
    results = []
    for n in (4, 512, 2048):
        read = cocotb.start_soon(tb.host.read(layout.BAR_SRAM, 0, n))
        t_req = None
        beats = []
        valid_gaps = 0
        in_cpl = False
        for _ in range(4000):
            await RisingEdge(dut.clk)
            if t_req is None:
                if dut.s_axis_cq_tvalid.value and dut.s_axis_cq_tready.value and dut.s_axis_cq_tlast.value:
                    t_req = tb.now_ns()
                continue
            v, r = int(dut.m_axis_cc_tvalid.value), int(dut.m_axis_cc_tready.value)
            if v and r:
                beats.append(tb.now_ns())
                in_cpl = not int(dut.m_axis_cc_tlast.value)
            elif in_cpl and not v:
                valid_gaps += 1
            if read.done():
                break
        await read
        assert t_req is not None and beats, "no read request or completion seen"
        first = tb.cycles(t_req, beats[0])
        results.append((n, first, len(beats), tb.cycles(beats[0], beats[-1]) + 1))
        assert first <= 8, f"{n}-byte read: first completion beat {first:.0f} cycles after the request"
        assert valid_gaps == 0, f"{n}-byte read: tvalid dropped {valid_gaps} times inside a completion"
        # the README's "Measured figures" table states these exactly: a change must show here
        want = completion_beats(n)
        assert round(first) == READ_FIRST_BEAT_CYCLES, f"{n}-byte read: first beat after {first:.0f} cycles, README states {READ_FIRST_BEAT_CYCLES}"
        span = tb.cycles(beats[0], beats[-1]) + 1
        assert (len(beats), round(span)) == (want, want), f"{n}-byte read: {len(beats)} beats in {span:.0f} cycles, expected {want} in {want}"
    for n, first, nbeats, span in results:
        tb.log.info("read %5d bytes: first beat after %.0f cycles, %d beats in %.0f cycles", n, first, nbeats, span)


@cocotb.test()
async def test_unsupported_requests(dut):
    """I/O, atomic and locked requests, and requests to BARs the endpoint does not decode:
    non-posted ones get Unsupported Request, posted ones are dropped and counted; the SRAM
    is unchanged."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    mirror = bytearray(64)
    await fill(tb, mirror, 0, rng)
    cases = [
        (TlpType.IO_READ, layout.BAR_SRAM, b""),
        (TlpType.IO_WRITE, layout.BAR_SRAM, b"\x11\x22\x33\x44"),
        (TlpType.FETCH_ADD, layout.BAR_SRAM, b"\x01\x00\x00\x00"),
        (TlpType.CAS, layout.BAR_SRAM, bytes(8)),
        (TlpType.MEM_READ_LOCKED, layout.BAR_SRAM, b""),
        (TlpType.MEM_READ, 4, b""),
    ]
    for fmt_type, bar, data in cases:
        cpl = await inject_request(tb, fmt_type, bar, 0x10, data)
        assert cpl.status == CplStatus.UR, f"{fmt_type.name} to BAR{bar}: completion status {cpl.status!r}, expected UR"
    await inject_request(tb, TlpType.MEM_WRITE, 1, 0x10, b"\xff" * 8)
    assert await tb.host.read(layout.BAR_SRAM, 0, 64) == bytes(mirror), "an unsupported request changed the SRAM"
    assert await tb.cpu.csr(layout.Csr.CNT_CQ_NP_UR) == len(cases)
    assert await tb.cpu.csr(layout.Csr.CNT_CQ_POSTED_DROP) == 1


@cocotb.test()
async def test_writes_at_full_rate(dut):
    """A long host write is accepted one beat per cycle: CQ is never back-pressured."""
    tb = await EndpointTb.start(dut)
    data = bytes(range(256)) * 16
    mps = 128 << tb.dev.functions[0].pcie_cap.max_payload_size
    tlps = len(data) // mps
    stalls = beats = lasts = 0
    write = cocotb.start_soon(tb.host.write(layout.BAR_SRAM, 0x2000, data))
    await tb.wait_cycle(lambda: bool(dut.s_axis_cq_tvalid.value), 2000, "the first CQ beat")
    for _ in range(2000):
        v, r = int(dut.s_axis_cq_tvalid.value), int(dut.s_axis_cq_tready.value)
        beats += v and r
        lasts += v and r and int(dut.s_axis_cq_tlast.value)
        stalls += v and not r
        if lasts == tlps:
            break
        await RisingEdge(dut.clk)
    await write
    assert lasts == tlps, f"saw {lasts} of {tlps} write TLPs on CQ"
    assert stalls == 0, f"CQ was back-pressured for {stalls} cycles during a {len(data)}-byte write"
    # header (4 dwords) + payload, 8 dwords per beat
    assert beats == tlps * ((4 + mps // 4 + 7) // 8), f"{beats} beats for {tlps} TLPs"
    assert await tb.host.read(layout.BAR_SRAM, 0x2000, len(data)) == data


@cocotb.test()
async def test_host_and_cpu_write_concurrently(dut):
    """The host streams writes while the CPU writes its own words in the same SRAM: both land."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    host_data = bytes(rng.randrange(256) for _ in range(4096))
    cpu_words = {0x3000 + 8 * k: rng.randrange(1 << 32) for k in range(48)}
    host = cocotb.start_soon(tb.host.write(layout.BAR_SRAM, 0x1000, host_data))
    for off, word in cpu_words.items():
        await tb.cpu.write32(layout.Region.SRAM_WINDOW + off, word)
    await host
    assert await tb.host.read(layout.BAR_SRAM, 0x1000, len(host_data)) == host_data
    for off, word in cpu_words.items():
        got = await tb.host.read32(layout.BAR_SRAM, off)
        assert got == word, f"CPU word at 0x{off:x}: host reads 0x{got:08x}, CPU wrote 0x{word:08x}"
