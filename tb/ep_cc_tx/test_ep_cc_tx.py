"""Block testbench of ep_cc_tx: completer requests driven as the request decoder drives
them, the SRAM's port A as a model (read data one cycle after the read, never while the
port is busy writing), completions taken by cocotbext-pcie's CcSink with back-pressure and
unpacked by its own Tlp_us.unpack_us_cc. Checked: every read's completions carry the
SRAM's bytes, split at max payload size with every completion but the last ending on a
max-payload boundary, byte counts and lower addresses by the PCIe rules, at 128, 256 and
512 bytes max payload; UR and zero completions; non-posted credits to the core exactly
NP_FIFO_DEPTH at reset and one per retired request."""

from __future__ import annotations

import logging
import random

import cocotb
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core.tlp import CplStatus
from cocotbext.pcie.xilinx.us.interface import CcSink
from cocotbext.pcie.xilinx.us.tlp import Tlp_us

from virtio_ep import simrun
from virtio_ep.layout import NpKind
from virtio_ep.testbench import rng_for_test
from virtio_ep.testbench.blocks import start_clock_and_reset

REQUESTER_ID = 0x0100
COMPLETION_TIMEOUT_CYCLES = 50_000


class TB:
    def __init__(self, dut, rng: random.Random):
        self.dut, self.rng = dut, rng
        self.sram_size, self.depth = int(dut.SRAM_SIZE.value), int(dut.NP_FIFO_DEPTH.value)
        self.row_width = int(dut.ROW_WIDTH.value)
        self.sram = bytes(rng.randrange(256) for _ in range(self.sram_size))
        self.cc = CcSink(AxiStreamBus.from_prefix(dut, "m_axis_cc"), dut.clk, dut.rst)
        self.cc.log.setLevel(logging.WARNING)
        self.credits = 0
        self.busy_conflicts = 0
        dut.np_valid.value = dut.ram_busy.value = 0
        dut.cfg_max_payload.value = 2
        for name in ("kind", "requester_id", "tag", "func", "tc", "attr", "dw_addr", "byte_addr", "byte_count"):
            getattr(dut, f"np_{name}").value = 0

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)
        cocotb.start_soon(self.sram_port())

    async def sram_port(self) -> None:
        """Port A of the banked SRAM: the row of each enabled bank, one cycle after the read;
        ram_busy (a host write using the port) is raised at random and must be respected.
        Also counts the credits the block grants the core."""
        d, rw = self.dut, self.row_width
        while True:
            await RisingEdge(d.clk)
            en = int(d.ram_rd_en.value)
            if en and int(d.ram_busy.value):
                self.busy_conflicts += 1
            self.credits += int(d.pcie_cq_np_req.value) & 1
            if en:
                rows, data = int(d.ram_rd_row.value), 0
                for b in range(8):
                    dword = ((rows >> (b * rw)) & ((1 << rw) - 1)) * 8 + b
                    data |= int.from_bytes(self.sram[4 * dword:4 * dword + 4], "little") << (32 * b)
                d.ram_rd_data.value = data
            d.ram_busy.value = int(self.rng.random() < 0.2)

    async def request(self, kind: NpKind, tag: int, addr: int, count: int) -> None:
        """One completer request (addr: byte address of the first byte, in the SRAM)."""
        d = self.dut
        fields = {"kind": kind, "requester_id": REQUESTER_ID, "tag": tag, "func": 0, "tc": 0, "attr": 0,
                  "dw_addr": (addr >> 2) % (self.sram_size // 4), "byte_addr": addr & 0xFFF, "byte_count": count}
        for name, value in fields.items():
            getattr(d, f"np_{name}").value = value
        d.np_valid.value = 1
        while True:
            await RisingEdge(d.clk)
            if int(d.np_ready.value):
                break
        d.np_valid.value = 0

    async def completions(self, n_requests: int) -> dict[int, list]:
        """Every completion TLP, by tag, until each request's last one (byte count covered)."""
        by_tag: dict[int, list] = {}
        done = 0
        for _ in range(COMPLETION_TIMEOUT_CYCLES):
            if done == n_requests:
                return by_tag
            if self.cc.empty():
                await RisingEdge(self.dut.clk)
                continue
            tlp = Tlp_us.unpack_us_cc(await self.cc.recv())
            by_tag.setdefault(tlp.tag, []).append(tlp)
            if tlp.status != CplStatus.SC or tlp.byte_count <= tlp.length * 4 - (tlp.lower_address & 3):
                done += 1
        raise AssertionError(f"{done} of {n_requests} requests completed in {COMPLETION_TIMEOUT_CYCLES} cycles")


def check_read(tb: TB, tag: int, addr: int, count: int, mps: int, cpls: list) -> None:
    """The PCIe rules for a read's completions (PCIe Base 4.0, 2.3.1.1 and 2.2.9)."""
    data, cur, left = b"", addr, count
    for i, c in enumerate(cpls):
        where = f"tag {tag}, read of {count} at {addr:#x}, completion {i}"
        assert c.status == CplStatus.SC and int(c.requester_id) == REQUESTER_ID, where
        assert c.byte_count == left, f"{where}: byte count {c.byte_count}, {left} remain"
        assert c.lower_address == cur & 0x7F, f"{where}: lower address {c.lower_address:#x}"
        assert len(c.data) <= mps, f"{where}: {len(c.data)} bytes above max payload {mps}"
        payload = bytes(c.data)[cur & 3:]
        take = min(left, len(payload))
        if take < left:                                    # not the last: ends on a max-payload boundary
            assert (cur + take) % mps == 0, f"{where}: ends at {cur + take:#x}, not on a {mps}-byte boundary"
        data += payload[:take]
        cur, left = cur + take, left - take
    assert left == 0, f"tag {tag}: {left} bytes never completed"
    assert data == tb.sram[addr:addr + count], f"tag {tag}: read of {count} at {addr:#x} returned other bytes"


@cocotb.test()
async def reads_split_at_max_payload(dut):
    rng = rng_for_test()
    tb = TB(dut, rng)
    await tb.start()
    tb.cc.set_pause_generator(rng.random() < 0.3 for _ in iter(int, 1))     # back-pressure
    cases = 0
    for mps_code, mps in ((0, 128), (1, 256), (2, 512)):
        dut.cfg_max_payload.value = mps_code
        # the block registers the setting and sizes a request's first completion as it is
        # queued; the host changes it only while no request is outstanding (PCIe base spec,
        # Device Control: Max_Payload_Size)
        await ClockCycles(dut.clk, 2)
        reads = []
        for tag in range(24):
            count = rng.choice([1, 2, 3, 4, 5, 64, 127, 128, 129, mps, mps + 1, 1000, 4096])
            count = min(count, tb.sram_size)
            addr = rng.randrange(0, tb.sram_size - count + 1)
            reads.append((tag, addr, count))
            await tb.request(NpKind.SRAM, tag, addr, count)
        got = await tb.completions(len(reads))
        for tag, addr, count in reads:
            check_read(tb, tag, addr, count, mps, got.get(tag, []))
            cases += 1
    assert tb.busy_conflicts == 0, f"{tb.busy_conflicts} SRAM reads while the port was busy writing"
    assert cases == 72


@cocotb.test()
async def unsupported_and_zero_completions(dut):
    tb = TB(dut, rng_for_test())
    await tb.start()
    await tb.request(NpKind.UR, 1, 0x40, 8)
    await tb.request(NpKind.ZERO, 2, 0x10, 4)
    got = await tb.completions(2)
    [ur], [zero] = got[1], got[2]
    assert ur.status == CplStatus.UR and ur.length == 0, ur
    assert zero.status == CplStatus.SC and bytes(zero.data) == bytes(4) and zero.byte_count == 4, zero


@cocotb.test()
async def credits_one_per_retired_request(dut):
    """NP_FIFO_DEPTH credits at reset; a retired request returns one; with the completions
    held (no tready) the output FIFO and then the queue fill and np_ready falls."""
    tb = TB(dut, rng_for_test())
    await tb.start()
    await ClockCycles(dut.clk, 2 * tb.depth + 4)
    assert tb.credits == tb.depth, f"{tb.credits} credits at reset, queue of {tb.depth}"
    tb.cc.pause = True
    n = tb.depth + 8        # more than the queue, the request in service and the output FIFO hold
    sent = 0
    for tag in range(n):
        dut.np_valid.value, dut.np_kind.value, dut.np_tag.value, dut.np_byte_count.value = 1, NpKind.ZERO, tag, 4
        await ReadOnly()                               # will the block take it at this edge?
        accepted = int(dut.np_ready.value)
        await RisingEdge(dut.clk)
        dut.np_valid.value = 0
        sent += accepted
        await RisingEdge(dut.clk)
    assert sent < n, "the request queue never filled"
    tb.cc.pause = False
    await tb.completions(sent)
    await ClockCycles(dut.clk, 2 * sent + 4)
    assert tb.credits == tb.depth + sent, f"{tb.credits} credits after {sent} retired requests"


TOPLEVEL = "ep_cc_tx"
POINTS = [{"SRAM_SIZE": size, "NP_FIFO_DEPTH": depth} for size, depth in ((4096, 2), (65536, 16), (131072, 32))]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_cc_tx(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params)
