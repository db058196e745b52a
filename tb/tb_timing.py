"""The timing model's fixed-latency paths against the RTL, cycle for cycle."""

from __future__ import annotations

import cocotb

from ep_tb import EndpointTb
from virtio_ep import layout, timing
from virtio_ep.layout import DmaDir, IntSource, Region


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
