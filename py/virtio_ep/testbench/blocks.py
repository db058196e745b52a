"""Helpers of the block testbenches (tb/<module>/test_<module>.py): the clock and reset every
block has, and a driver of the register bus the register blocks share (rb_sel, rb_wr,
rb_rd, rb_offset, rb_wdata; read data one cycle after rb_rd), as the local bus decode
drives it in virtio_ep_top."""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

from .. import layout

CLK_NS = 1e9 / layout.USER_CLK_HZ


async def start_clock_and_reset(dut, cycles: int = 4) -> None:
    """A 250 MHz clock on dut.clk and a synchronous reset held for `cycles` cycles."""
    Clock(dut.clk, CLK_NS, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


class RegBus:
    """One access per call, as the local bus issues them (one cycle each)."""

    def __init__(self, dut, prefix: str = "rb_"):
        self.clk = dut.clk
        self.sel, self.wr, self.rd = (getattr(dut, f"{prefix}{n}") for n in ("sel", "wr", "rd"))
        self.offset, self.wdata, self.rdata = (getattr(dut, f"{prefix}{n}") for n in ("offset", "wdata", "rdata"))
        for sig in (self.sel, self.wr, self.rd, self.offset, self.wdata):
            sig.value = 0

    async def write(self, offset: int, value: int) -> None:
        self.sel.value, self.wr.value, self.offset.value, self.wdata.value = 1, 1, offset, value & 0xFFFF_FFFF
        await RisingEdge(self.clk)
        self.sel.value = self.wr.value = 0

    async def read(self, offset: int) -> int:
        self.sel.value, self.rd.value, self.offset.value = 1, 1, offset
        await RisingEdge(self.clk)
        self.sel.value = self.rd.value = 0
        await ReadOnly()
        value = int(self.rdata.value)
        await RisingEdge(self.clk)
        return value
