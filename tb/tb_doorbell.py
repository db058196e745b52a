"""BAR2 doorbells: every slot, floods beyond the FIFO, ordering against BAR0 writes,
the CPU interrupt and its latency, masking, bad writes, and no lost notification."""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import Event, Timer

from virtio_ep.testbench import EndpointTb, rerun_note
from virtio_ep import layout
from virtio_ep.layout import DbFifoStatus, DbReg, IntSource, Region

IRQ_CYCLES = 4                  # README, "Measured figures": doorbell TLP last beat to irq


def seeded_rng() -> random.Random:
    cocotb.log.info("random seed %d (%s)", cocotb.RANDOM_SEED, rerun_note())
    return random.Random(cocotb.RANDOM_SEED)


async def flush(tb: EndpointTb) -> None:
    """A host read completes only after every earlier posted write has landed."""
    await tb.host.read(layout.BAR_SRAM, 0, 4)


@cocotb.test()
async def test_every_slot(dut):
    """Each slot latches its own value and sets its own pending bit; TAKE clears it."""
    tb = await EndpointTb.start(dut)
    slots = tb.params.db_slots
    values = {k: 0xD000_0000 | (k << 8) | (k ^ 0x5A) for k in range(slots)}
    for k in range(slots):
        await tb.host.ring_doorbell(k, values[k])
    await flush(tb)
    for w in range((slots + 31) // 32):
        bits = await tb.cpu.db_reg(DbReg.PENDING + 4 * w)
        expect = (1 << min(32, slots - 32 * w)) - 1
        assert bits == expect, f"pending word {w}: 0x{bits:08x}, expected 0x{expect:08x}"
    for k in range(slots):
        got = await tb.cpu.read32(Region.DOORBELL + DbReg.VALUE + 4 * k)
        assert got == values[k], f"slot {k}: VALUE 0x{got:08x}, host wrote 0x{values[k]:08x}"
    taken = await tb.cpu.take_doorbells(slots)
    assert taken == sorted(values.items()), "TAKE did not return every slot's value once"
    assert await tb.cpu.take_doorbells(slots) == [], "pending bits survived TAKE"
    assert await tb.cpu.db_reg(DbReg.WRITES) == slots


@cocotb.test()
async def test_flood_beyond_fifo(dut):
    """3x the FIFO depth back to back: FIFO keeps the oldest in order, flags and counts the
    rest, and the pending bits still hold every slot's latest value."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    depth = tb.params.db_fifo_depth
    ring = [(rng.randrange(tb.params.db_slots), 0x1000 + n) for n in range(3 * depth)]
    for slot, value in ring:
        await tb.host.ring_doorbell(slot, value)
    await flush(tb)

    status = await tb.cpu.db_reg(DbReg.FIFO_STATUS)
    assert status & DbFifoStatus.OVERFLOW, f"FIFO_STATUS 0x{status:08x}: overflow not flagged"
    assert status & DbFifoStatus.FULL and (status & DbFifoStatus.COUNT_MASK) == depth, f"FIFO_STATUS 0x{status:08x}"
    drops = await tb.cpu.db_reg(DbReg.FIFO_DROPS)
    assert drops == len(ring) - depth, f"FIFO_DROPS {drops}, expected {len(ring) - depth}"
    fifo = []
    while (entry := await tb.cpu.pop_doorbell_fifo()) is not None:
        fifo.append(entry)
    assert fifo == ring[:depth], "FIFO did not keep the oldest entries in order"
    # clear the sticky overflow flag (write 1) and check the FIFO is empty again
    await tb.cpu.write32(Region.DOORBELL + DbReg.FIFO_STATUS, int(DbFifoStatus.OVERFLOW))
    status = await tb.cpu.db_reg(DbReg.FIFO_STATUS)
    assert status == DbFifoStatus.EMPTY, f"FIFO_STATUS after drain and clear: 0x{status:08x}"

    latest = {}
    for slot, value in ring:
        latest[slot] = value
    taken = dict(await tb.cpu.take_doorbells(tb.params.db_slots))
    assert taken == latest, "a slot's latest notification was lost in the flood"


@cocotb.test()
async def test_data_written_before_doorbell_is_visible(dut):
    """No flush between data and doorbell: the CPU, woken by irq, reads the new data."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    await tb.cpu.enable_interrupts(IntSource.DB_PENDING)
    for n, length in enumerate((4, 61, 512, 2048, 4096)):
        off = rng.randrange(0, 0x8000 // 64) * 64 + rng.randrange(4)
        data = bytes(rng.randrange(256) for _ in range(length))
        await tb.host.write(layout.BAR_SRAM, off, data)
        await tb.host.ring_doorbell(7, n)
        await tb.cpu.wait_irq(2000, "doorbell interrupt")
        taken = await tb.cpu.take_doorbells(tb.params.db_slots)
        assert taken == [(7, n)], f"doorbell {n}: took {taken}"
        got = await tb.cpu.read_sram(off, length)
        assert got == data, f"{length} bytes written before doorbell {n} were not all visible to the CPU"


@cocotb.test()
async def test_irq_latency_and_masking(dut):
    """Doorbell TLP last beat to irq within 8 cycles; a disabled slot stays pending silently."""
    tb = await EndpointTb.start(dut)
    await tb.cpu.enable_interrupts(IntSource.DB_PENDING)
    latencies = []
    for slot in (0, 1, tb.params.db_slots - 1):
        ring = cocotb.start_soon(tb.host.ring_doorbell(slot, 0xABC0 + slot))
        t_beat = await tb.wait_cycle(tb.cq_last_beat, 2000, "the doorbell write on CQ")
        t_irq = await tb.wait_cycle(lambda: dut.irq.value == 1, 100, "irq after the doorbell")
        await ring
        latencies.append(tb.cycles(t_beat, t_irq))
        assert await tb.cpu.take_doorbells(tb.params.db_slots) == [(slot, 0xABC0 + slot)]
        await tb.wait_cycle(lambda: dut.irq.value == 0, 20, "irq to drop after TAKE")
    tb.log.info("doorbell last beat to irq: %s cycles", latencies)
    assert max(latencies) <= 8, f"doorbell to irq latency {latencies} cycles exceeds 8"
    # the README's "Measured figures" table states 4 cycles: a change must show here
    assert all(round(c) == IRQ_CYCLES for c in latencies), f"doorbell to irq {latencies} cycles, README states {IRQ_CYCLES}"

    # disable slot 5: a doorbell there is latched but raises no interrupt until enabled
    await tb.cpu.write32(Region.DOORBELL + DbReg.ENABLE, 0xFFFF_FFFF & ~(1 << 5))
    await tb.host.ring_doorbell(5, 0x55)
    await flush(tb)
    await Timer(200, "ns")
    assert dut.irq.value == 0, "irq raised for a disabled slot"
    assert await tb.cpu.db_reg(DbReg.PENDING) == 1 << 5
    await tb.cpu.write32(Region.DOORBELL + DbReg.ENABLE, 0xFFFF_FFFF)
    await tb.cpu.wait_irq(100, "irq after re-enabling slot 5")
    assert await tb.cpu.take_doorbells(tb.params.db_slots) == [(5, 0x55)]


@cocotb.test()
async def test_bad_doorbell_writes(dut):
    """Writes beyond the last slot or wider than a slot are dropped and counted."""
    tb = await EndpointTb.start(dut)
    slots = tb.params.db_slots
    await tb.host.write(layout.BAR_DOORBELL, slots * layout.DB_SLOT_STRIDE, (1).to_bytes(4, "little"))
    await tb.host.write(layout.BAR_DOORBELL, layout.BAR2_SIZE - 4, (2).to_bytes(4, "little"))
    await tb.host.write(layout.BAR_DOORBELL, 0, (3).to_bytes(8, "little"))  # two slots in one TLP
    await flush(tb)
    assert await tb.cpu.db_reg(DbReg.BAD_WRITES) == 3
    assert await tb.cpu.db_reg(DbReg.WRITES) == 0
    assert await tb.cpu.take_doorbells(slots) == []
    assert await tb.cpu.csr(layout.Csr.CNT_CQ_POSTED_DROP) == 3


@cocotb.test()
async def test_no_notification_lost_under_concurrent_service(dut):
    """The host keeps ringing while the firmware services: every slot's last value is seen."""
    tb = await EndpointTb.start(dut)
    rng = seeded_rng()
    slots = [0, 1, 2, 9]
    seen: dict[int, int] = {}
    stop = Event()

    async def handler(slot: int, value: int) -> None:
        seen[slot] = value

    service = cocotb.start_soon(tb.cpu.service_doorbells(tb.params.db_slots, handler, stop))
    last: dict[int, int] = {}
    for n in range(120):
        slot = rng.choice(slots)
        last[slot] = n
        await tb.host.ring_doorbell(slot, n)
        if rng.random() < 0.3:
            await Timer(rng.randrange(4, 200), "ns")
    await flush(tb)
    for _ in range(200):
        if seen == last:
            break
        await Timer(100, "ns")
    stop.set()
    await service
    assert seen == last, f"last values seen by firmware {seen} differ from last rung {last}"


@cocotb.test()
async def test_write_watch_window(dut):
    """A BAR0 write ending inside a watch window rings its slot with the index of the first
    entry not completely written: a partly written entry is not announced; the data is
    readable when the interrupt arrives."""
    tb = await EndpointTb.start(dut)
    await tb.cpu.enable_interrupts(IntSource.DB_PENDING)
    base, entry, entries, slot = 0x3000, 128, 16, 9
    regs = Region.DOORBELL + DbReg.WATCH + layout.DB_WATCH_STRIDE * 2
    await tb.cpu.write32(regs + layout.DbWatch.BASE, base)
    await tb.cpu.write32(regs + layout.DbWatch.ENTRY_LOG2, entry.bit_length() - 1)
    await tb.cpu.write32(regs + layout.DbWatch.SLOT, slot)
    await tb.cpu.write32(regs + layout.DbWatch.SIZE, entry * entries)
    assert await tb.cpu.read32(regs + layout.DbWatch.SIZE) == entry * entries

    async def write_and_take(offset: int, data: bytes) -> list[tuple[int, int]]:
        await tb.host.write(layout.BAR_SRAM, base + offset, data)
        await flush(tb)
        return await tb.cpu.take_doorbells(tb.params.db_slots)

    payload = bytes(range(256)) * 2
    assert await write_and_take(0, payload[:entry]) == [(slot, 1)]              # entry 0 complete
    assert await write_and_take(entry, payload[:64]) == [(slot, 1)]             # entry 1 half: still 1
    assert await write_and_take(entry + 64, payload[:64]) == [(slot, 2)]        # entry 1 complete
    assert await write_and_take(2 * entry, payload[:3 * entry]) == [(slot, 5)]  # three at once
    assert await write_and_take((entries - 1) * entry, payload[:entry]) == [(slot, 0)]   # wraps to 0
    assert await write_and_take(entries * entry, payload[:entry]) == []         # after the window: nothing
    assert await write_and_take(-entry, payload[:entry]) == []                  # before it: nothing
    # the announced entry's data is in the SRAM when the CPU is interrupted
    t = cocotb.start_soon(tb.host.write(layout.BAR_SRAM, base + 5 * entry, payload[:entry]))
    await tb.cpu.wait_irq(2000, "the watched write's doorbell")
    await t
    assert await tb.cpu.read_sram(base + 5 * entry, entry) == payload[:entry]
    assert await tb.cpu.take_doorbells(tb.params.db_slots) == [(slot, 6)]
    await tb.cpu.write32(regs + layout.DbWatch.SIZE, 0)
    assert await write_and_take(7 * entry, payload[:entry]) == [], "a disabled window still rang"
