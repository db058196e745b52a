"""Block testbench of ep_doorbell, driven as the request decoder and the local bus drive it:
every slot's value and pending bit, TAKE and write-one-to-clear clearing bits, coalescing, the ordered FIFO
with its overflow flag and drop counter, a host write racing a TAKE, bad writes counted,
the enable mask gating irq_pending, and the write-watch registers."""

from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from virtio_ep import simrun
from virtio_ep.layout import DB_SLOT_STRIDE, DB_WATCH_STRIDE, DbFifoHead, DbFifoStatus, DbReg, DbWatch
from virtio_ep.testbench import rng_for_test
from virtio_ep.testbench.blocks import RegBus, start_clock_and_reset


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.slots, self.depth = int(dut.SLOTS.value), int(dut.FIFO_DEPTH.value)
        self.bus = RegBus(dut)
        dut.db_valid.value = dut.db_bad.value = 0
        dut.db_slot.value = dut.db_value.value = 0

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)

    async def doorbell(self, slot: int, value: int) -> None:
        """One host write to a slot, as the decoder reports it (one cycle)."""
        d = self.dut
        d.db_valid.value, d.db_slot.value, d.db_value.value = 1, slot, value
        await RisingEdge(d.clk)
        d.db_valid.value = 0

    async def pending(self, slot: int) -> bool:
        return bool(await self.bus.read(DbReg.PENDING + 4 * (slot // 32)) >> (slot % 32) & 1)

    async def fifo_entries(self) -> list[tuple[int, int]]:
        out = []
        while True:
            head = await self.bus.read(DbReg.FIFO_HEAD_SLOT)
            if not head & DbFifoHead.VALID:
                return out
            out.append((head & DbFifoHead.SLOT_MASK, await self.bus.read(DbReg.FIFO_HEAD_VALUE)))
            await self.bus.write(DbReg.FIFO_POP, 0)


def sample_slots(tb: TB, rng: random.Random) -> list[int]:
    """Every slot when there are few; otherwise both ends and a random sample."""
    if tb.slots <= 32:
        return list(range(tb.slots))
    return sorted({0, tb.slots - 1, *rng.sample(range(tb.slots), 24)})


@cocotb.test()
async def values_pending_and_take(dut):
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    for slot in sample_slots(tb, rng):
        value = rng.randrange(1 << 32)
        await tb.doorbell(slot, value)
        assert await tb.pending(slot), f"slot {slot}: not pending after a write"
        assert await tb.bus.read(DbReg.VALUE + DB_SLOT_STRIDE * slot) == value, f"slot {slot}: VALUE"
        assert await tb.pending(slot), f"slot {slot}: VALUE must not clear the pending bit"
        assert await tb.bus.read(DbReg.TAKE + DB_SLOT_STRIDE * slot) == value, f"slot {slot}: TAKE"
        assert not await tb.pending(slot), f"slot {slot}: TAKE did not clear the pending bit"
    await tb.fifo_entries()
    # two writes to one slot: one pending bit, the last value, both in the FIFO in order
    slot = tb.slots - 1
    await tb.doorbell(slot, 0x1111)
    await tb.doorbell(slot, 0x2222)
    assert await tb.bus.read(DbReg.TAKE + DB_SLOT_STRIDE * slot) == 0x2222
    assert not await tb.pending(slot)
    assert (await tb.fifo_entries())[-2:] == [(slot, 0x1111), (slot, 0x2222)]


@cocotb.test()
async def fifo_order_overflow_and_drops(dut):
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    sent = [(rng.randrange(tb.slots), rng.randrange(1 << 32)) for _ in range(tb.depth + 3)]
    for slot, value in sent:
        await tb.doorbell(slot, value)
    status = await tb.bus.read(DbReg.FIFO_STATUS)
    assert status & DbFifoStatus.COUNT_MASK == tb.depth and status & DbFifoStatus.FULL, f"status {status:#x}"
    assert status & DbFifoStatus.OVERFLOW, "no overflow flag after dropping entries"
    assert await tb.bus.read(DbReg.FIFO_DROPS) == 3
    assert await tb.bus.read(DbReg.WRITES) == len(sent)
    assert await tb.fifo_entries() == sent[:tb.depth], "FIFO order (the first entries are kept)"
    # every slot written is still pending: nothing is lost, whatever the FIFO dropped
    for slot in {s for s, _ in sent}:
        assert await tb.pending(slot), f"slot {slot} lost its notification"
    await tb.bus.write(DbReg.FIFO_STATUS, DbFifoStatus.OVERFLOW)
    status = await tb.bus.read(DbReg.FIFO_STATUS)
    assert status & DbFifoStatus.EMPTY and not status & DbFifoStatus.OVERFLOW, f"status {status:#x}"


@cocotb.test()
async def pending_write_one_to_clear(dut):
    """A write to a PENDING word clears the bits written as 1 and only those."""
    tb = TB(dut)
    await tb.start()
    rng = rng_for_test()
    slots = sorted(set(sample_slots(tb, rng)[:8]) | {0, tb.slots - 1})
    for slot in slots:
        await tb.doorbell(slot, slot + 1)
    cleared = set(slots[::2])
    for word in {s // 32 for s in slots}:
        await tb.bus.write(DbReg.PENDING + 4 * word, sum(1 << (s % 32) for s in cleared if s // 32 == word))
    for slot in slots:
        assert await tb.pending(slot) == (slot not in cleared), (
            f"slot {slot}: pending {'not ' if slot in cleared else ''}expected after clearing {sorted(cleared)}")
    await tb.fifo_entries()


@cocotb.test()
async def write_racing_take_stays_pending(dut):
    """A host write in the very cycle the CPU's TAKE clears the slot wins."""
    tb = TB(dut)
    await tb.start()
    d, slot = dut, tb.slots // 2
    await tb.doorbell(slot, 5)
    # TAKE and the doorbell in the same cycle
    d.rb_sel.value, d.rb_rd.value, d.rb_offset.value = 1, 1, DbReg.TAKE + DB_SLOT_STRIDE * slot
    d.db_valid.value, d.db_slot.value, d.db_value.value = 1, slot, 6
    await RisingEdge(d.clk)
    d.rb_sel.value = d.rb_rd.value = d.db_valid.value = 0
    await ReadOnly()
    assert int(d.rb_rdata.value) == 5, "TAKE returns the value before the racing write"
    await RisingEdge(d.clk)
    assert await tb.pending(slot), "the racing write was lost"
    assert await tb.bus.read(DbReg.VALUE + DB_SLOT_STRIDE * slot) == 6


@cocotb.test()
async def enable_mask_bad_writes_and_watch(dut):
    tb = TB(dut)
    await tb.start()
    d, slot = dut, tb.slots - 1
    word, bit = DbReg.ENABLE + 4 * (slot // 32), 1 << (slot % 32)
    await tb.bus.write(word, 0)
    await tb.doorbell(slot, 1)
    await ReadOnly()
    assert not int(d.irq_pending.value), "a disabled slot raised irq_pending"
    assert int(d.irq_fifo.value), "the FIFO entry raises irq_fifo"
    await RisingEdge(d.clk)
    await tb.bus.write(word, bit)
    await ReadOnly()
    assert int(d.irq_pending.value), "enabling a pending slot must raise irq_pending"
    await RisingEdge(d.clk)
    for _ in range(3):
        d.db_bad.value = 1
        await RisingEdge(d.clk)
    d.db_bad.value = 0
    assert await tb.bus.read(DbReg.BAD_WRITES) == 3
    for w in range(4):
        base = DbReg.WATCH + DB_WATCH_STRIDE * w
        fields = {DbWatch.BASE: 0x2000 + 0x400 * w, DbWatch.SIZE: 0x400, DbWatch.ENTRY_LOG2: 7, DbWatch.SLOT: w + 1}
        for f, v in fields.items():
            await tb.bus.write(base + f, v)
        for f, v in fields.items():
            assert await tb.bus.read(base + f) == v, f"watch {w} {f.name}"


TOPLEVEL = "ep_doorbell"
POINTS = [{"SLOTS": slots, "FIFO_DEPTH": depth} for slots, depth in ((1, 2), (64, 16), (256, 64))]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_doorbell(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params)
