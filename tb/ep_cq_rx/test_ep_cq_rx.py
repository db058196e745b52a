"""Block testbench of ep_cq_rx: requests built by cocotbext-pcie's own UltraScale+ packer
(Tlp_us.pack_us_cq) sent on the CQ interface with its CqSource; a monitor applies the
block's SRAM writes to a mirror and collects its non-posted requests, doorbells and
statistics. Checked: BAR0 writes of any length and alignment land byte-exact, BAR0 reads
become completer requests with the PCIe byte-count rules, BAR2 dword writes ring their
slot and anything else on BAR2 is counted bad, requests beyond the SRAM or of other types
answer UR (non-posted) or are dropped (posted), write-watch windows ring their slot with
the first incomplete entry, and nothing is decoded during a function-level reset."""

from __future__ import annotations

import logging
from collections import Counter

import cocotb
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us.interface import CqSource
from cocotbext.pcie.xilinx.us.tlp import ReqType, Tlp_us

from virtio_ep import simrun
from virtio_ep.layout import BAR_DOORBELL, BAR_SRAM, DB_SLOT_STRIDE, NpKind
from virtio_ep.testbench import rng_for_test
from virtio_ep.testbench.blocks import start_clock_and_reset

REQUESTER = PcieId(0, 0, 0)
SETTLE_CYCLES = 8                   # the block's outputs follow a request within a few cycles


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.sram_size, self.slots = int(dut.SRAM_SIZE.value), int(dut.DB_SLOTS.value)
        self.bar0_aperture = 2 * self.sram_size             # the BAR is larger than the SRAM
        self.row_width = int(dut.ROW_WIDTH.value)
        self.cq = CqSource(AxiStreamBus.from_prefix(dut, "s_axis_cq"), dut.clk, dut.rst)
        self.cq.log.setLevel(logging.WARNING)
        self.ram = bytearray(self.sram_size)
        self.np: list[dict] = []
        self.doorbells: list[tuple[int, int]] = []
        self.stats: Counter = Counter()
        self.tag = 0
        self.sent = self.taken = 0          # CQ frames queued and frames the block accepted
        dut.quiesce.value = 0
        dut.np_ready.value = 1
        for name in ("watch_base", "watch_size", "watch_log2", "watch_slot"):
            getattr(dut, name).value = 0

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)
        cocotb.start_soon(self.monitor())

    async def monitor(self) -> None:
        """Samples the block's outputs every cycle (a bench-only model of what is attached)."""
        d, rw = self.dut, self.row_width
        while True:
            await RisingEdge(d.clk)
            await ReadOnly()
            self.taken += int(d.s_axis_cq_tvalid.value) & int(d.s_axis_cq_tready.value) & int(d.s_axis_cq_tlast.value)
            en = int(d.ram_wr_en.value)
            if en:
                we, rows, data = int(d.ram_wr_we.value), int(d.ram_wr_row.value), int(d.ram_wr_data.value)
                for b in range(8):
                    if en >> b & 1:
                        dword = ((rows >> (b * rw)) & ((1 << rw) - 1)) * 8 + b
                        for k in range(4):
                            if we >> (4 * b + k) & 1:
                                self.ram[4 * dword + k] = data >> (32 * b + 8 * k) & 0xFF
            if int(d.np_valid.value):
                self.np.append({n: int(getattr(d, f"np_{n}").value) for n in
                                ("kind", "requester_id", "tag", "dw_addr", "byte_addr", "byte_count")})
            if int(d.db_valid.value):
                self.doorbells.append((int(d.db_slot.value), int(d.db_value.value)))
            for s in ("db_bad", "stat_mem_rd", "stat_mem_wr", "stat_posted_drop", "stat_np_ur"):
                self.stats[s] += int(getattr(d, s).value)

    async def send(self, fmt_type: TlpType, bar: int, addr: int, data: bytes = b"", length: int = 4,
                   aperture: int | None = None) -> int:
        tlp = Tlp_us()
        tlp.fmt_type = fmt_type
        tlp.requester_id, tlp.completer_id = REQUESTER, PcieId(0, 0, 0)
        tlp.tag = self.tag = (self.tag + 1) & 0xFF
        tlp.bar_id = bar
        tlp.bar_aperture = ((aperture or (self.bar0_aperture if bar == BAR_SRAM else 4096)) - 1).bit_length()
        if data:
            tlp.set_addr_be_data(addr, data)
        else:
            tlp.set_addr_be(addr, length)
        await self.cq.send(tlp.pack_us_cq())
        self.sent += 1
        return tlp.tag

    async def send_message(self, req_type: int, data: bytes) -> None:
        """A message request with data, aimed at BAR0 offset 0. The packer knows no message
        types: a posted write's frame with its request-type field (descriptor bits [78:75],
        PG213's CQ descriptor) set to a message type."""
        tlp = Tlp_us()
        tlp.fmt_type = TlpType.MEM_WRITE
        tlp.requester_id, tlp.completer_id, tlp.bar_id = REQUESTER, PcieId(0, 0, 0), BAR_SRAM
        tlp.bar_aperture = (self.bar0_aperture - 1).bit_length()
        tlp.set_addr_be_data(0, data)
        frame = tlp.pack_us_cq()
        frame.data[2] = frame.data[2] & ~(0xF << 11) | req_type << 11
        await self.cq.send(frame)
        self.sent += 1

    async def settle(self, limit_cycles: int = 100_000) -> None:
        """Until the block has taken every frame sent, and a few cycles more."""
        for _ in range(limit_cycles // 16):
            if self.taken == self.sent:
                await ClockCycles(self.dut.clk, SETTLE_CYCLES)
                return
            await ClockCycles(self.dut.clk, 16)
        raise AssertionError(f"the block took {self.taken} of {self.sent} CQ frames in {limit_cycles} cycles")


@cocotb.test()
async def writes_land_byte_exact(dut):
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    expect = bytearray(tb.sram_size)
    for n in range(150):
        length = rng.choice([1, 2, 3, 4, 5, 31, 32, 33, 64, rng.randrange(1, 600)])
        off = rng.randrange(0, tb.sram_size - length + 1)
        if n % 7 == 0:                                       # the SRAM's last bytes
            off = tb.sram_size - length
        data = bytes(rng.randrange(256) for _ in range(length))
        await tb.send(TlpType.MEM_WRITE, BAR_SRAM, off, data)
        expect[off:off + length] = data
    await tb.settle()
    assert tb.ram == expect, "the SRAM differs from the writes sent"
    assert tb.stats["stat_mem_wr"] == 150 and tb.np == [] and tb.doorbells == []


@cocotb.test()
async def reads_become_completer_requests(dut):
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    sent = []
    for _ in range(40):
        length = rng.choice([1, 2, 3, 4, 6, 100, 512, 4096])
        off = rng.randrange(0, tb.sram_size - length + 1) if length < 4096 else 0
        sent.append((await tb.send(TlpType.MEM_READ, BAR_SRAM, off, length=length), off, length))
    await tb.settle()
    assert len(tb.np) == len(sent), f"{len(tb.np)} requests for {len(sent)} reads"
    for got, (tag, off, length) in zip(tb.np, sent):
        want = {"kind": NpKind.SRAM, "requester_id": int(REQUESTER), "tag": tag, "dw_addr": off >> 2,
                "byte_addr": off & 0xFFF, "byte_count": length}
        assert got == want, f"read of {length} at {off:#x}: {got}, expected {want}"
    assert tb.stats["stat_mem_rd"] == len(sent)


@cocotb.test()
async def doorbells_and_bad_writes(dut):
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    slots = sorted({0, tb.slots - 1, *(rng.randrange(tb.slots) for _ in range(10))})
    want = []
    for slot in slots:
        value = rng.randrange(1 << 32)
        await tb.send(TlpType.MEM_WRITE, BAR_DOORBELL, DB_SLOT_STRIDE * slot, value.to_bytes(4, "little"))
        want.append((slot, value))
    bad = 0
    if tb.slots < 256:                                        # a slot beyond the block's
        await tb.send(TlpType.MEM_WRITE, BAR_DOORBELL, DB_SLOT_STRIDE * tb.slots, bytes(4))
        bad += 1
    await tb.send(TlpType.MEM_WRITE, BAR_DOORBELL, 0, bytes(8))   # two dwords
    bad += 1
    tag = await tb.send(TlpType.MEM_READ, BAR_DOORBELL, 0, length=4)
    await tb.settle()
    assert tb.doorbells == want
    assert tb.stats["db_bad"] == bad
    assert [(r["kind"], r["tag"]) for r in tb.np] == [(NpKind.ZERO, tag)]


@cocotb.test()
async def unsupported_requests(dut):
    """Beyond the SRAM, other BARs, other request types, messages: non-posted ones answer
    UR, posted ones are dropped and counted; the SRAM is untouched."""
    tb = TB(dut)
    await tb.start()
    beyond = tb.sram_size + 64
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, beyond, bytes([1]) * 16)
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, tb.sram_size - 4, bytes([1]) * 8)     # straddles the end
    await tb.send(TlpType.MEM_WRITE, 1, 0, bytes([1]) * 4)                           # a BAR that is not there
    tags = [await tb.send(TlpType.MEM_READ, BAR_SRAM, beyond, length=8),
            await tb.send(TlpType.IO_READ, BAR_SRAM, 0, length=4),
            await tb.send(TlpType.MEM_READ, 4, 0, length=4)]
    await tb.settle()
    assert tb.ram == bytearray(tb.sram_size), "a dropped write reached the SRAM"
    assert tb.stats["stat_posted_drop"] == 3
    assert [(r["kind"], r["tag"]) for r in tb.np] == [(NpKind.UR, t) for t in tags]
    assert tb.stats["stat_np_ur"] == 3
    # messages (plain, vendor-defined, ATS) are posted: dropped and counted, never written
    writes = tb.stats["stat_mem_wr"]
    for req_type in (ReqType.MSG, ReqType.MSG_VENDOR, ReqType.MSG_ATS):
        await tb.send_message(req_type, bytes([3]) * 8)
    await tb.settle()
    assert tb.ram == bytearray(tb.sram_size), "a message's data reached the SRAM"
    assert tb.stats["stat_posted_drop"] == 6 and tb.stats["stat_mem_wr"] == writes and len(tb.np) == 3
    # during a function-level reset nothing decodes: a read is UR, a write is dropped
    tb.dut.quiesce.value = 1
    tag = await tb.send(TlpType.MEM_READ, BAR_SRAM, 0, length=4)
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, 0, bytes([2]) * 4)
    await tb.settle()
    assert tb.np[-1]["kind"] == NpKind.UR and tb.np[-1]["tag"] == tag
    assert tb.ram == bytearray(tb.sram_size) and tb.stats["stat_posted_drop"] == 7


@cocotb.test()
async def watch_window_rings_with_first_incomplete_entry(dut):
    """A window of 4 entries of 64 bytes: writes that complete entries ring its slot with the
    index of the first entry not completely written (modulo the window's entries)."""
    tb = TB(dut)
    await tb.start()
    base, entry, entries, slot = 256, 64, 4, tb.slots - 1
    d = tb.dut
    d.watch_base.value, d.watch_size.value = base, entry * entries     # window 0
    d.watch_log2.value, d.watch_slot.value = entry.bit_length() - 1, slot
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, base, bytes(entry))             # entry 0 complete
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, base + entry, bytes(entry // 2))  # half of entry 1
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, base + entry, bytes(3 * entry))   # entries 1-3
    await tb.send(TlpType.MEM_WRITE, BAR_SRAM, base - 64, bytes(16))             # outside the window
    await tb.settle()
    assert tb.doorbells == [(slot, 1), (slot, 1), (slot, 0)], tb.doorbells


TOPLEVEL = "ep_cq_rx"
POINTS = [{"SRAM_SIZE": size, "DB_SLOTS": slots} for size, slots in ((4096, 1), (65536, 64), (131072, 256))]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_cq_rx(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params)
