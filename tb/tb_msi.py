"""MSI generator: every vector from a firmware request to the host's callback, latency,
queued concurrent requests, per-vector masking, MSI disabled, and bad vectors."""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import Timer

from virtio_ep.testbench import EndpointTb
from virtio_ep.layout import IntSource, MsiReg, MsiStatus, Region

MSI_INT_CYCLES = 3              # README, "Measured figures": REQUEST write to cfg_interrupt_msi_int


@cocotb.test()
async def test_every_vector(dut):
    """Each vector requested by the CPU arrives at the host as that vector, once."""
    tb = await EndpointTb.start(dut)
    nvec = tb.params.msi_vectors
    status = await tb.cpu.msi_reg(MsiReg.STATUS)
    assert status & MsiStatus.ENABLE, f"MSI STATUS 0x{status:x}: the host enabled MSI but the RTL does not see it"
    for v in range(nvec):
        await tb.cpu.request_msi(v)
        await tb.host.wait_msi(v, 1, timeout_ns=10_000)
    assert [tb.host.msi_count(v) for v in range(nvec)] == [1] * nvec
    assert await tb.cpu.msi_reg(MsiReg.SENT) == nvec
    assert await tb.cpu.msi_reg(MsiReg.FAILED) == 0


@cocotb.test()
async def test_latency(dut):
    """MSI REQUEST write to cfg_interrupt_msi_int within 4 cycles; then to the host callback."""
    tb = await EndpointTb.start(dut)
    to_int, to_host = [], []
    for v in (0, 7, 31):
        req = cocotb.start_soon(tb.cpu.request_msi(v))
        t_write = await tb.wait_cycle(tb.axil_write_handshake, 200, "the MSI REQUEST write")
        t_int = await tb.wait_cycle(tb.msi_int_active, 50, "cfg_interrupt_msi_int")
        await req
        t_host = await tb.host.wait_msi(v, 1, timeout_ns=10_000)
        to_int.append(tb.cycles(t_write, t_int))
        to_host.append(tb.cycles(t_int, t_host))
    tb.log.info("MSI REQUEST write to cfg_interrupt_msi_int: %s cycles; to host callback: %s cycles", to_int, to_host)
    assert max(to_int) <= 4, f"MSI request to cfg_interrupt_msi_int took {to_int} cycles"
    # the README's "Measured figures" table states 3 cycles: a change must show here
    assert all(round(c) == MSI_INT_CYCLES for c in to_int), f"MSI request to msi_int {to_int} cycles, README states {MSI_INT_CYCLES}"


@cocotb.test()
async def test_concurrent_requests_are_queued(dut):
    """Requests for several vectors made back to back are all sent, lowest vector first."""
    tb = await EndpointTb.start(dut)
    vectors = [9, 3, 17, 4, 30, 1]
    for v in vectors:
        await tb.cpu.request_msi(v)
    for v in vectors:
        await tb.host.wait_msi(v, 1, timeout_ns=20_000)
    order = sorted(vectors, key=lambda v: tb.host.msi_vectors[v].times_ns[0])
    assert order[0] == vectors[0], f"first MSI sent was {order[0]}, expected the first request {vectors[0]}"
    assert [tb.host.msi_count(v) for v in vectors] == [1] * len(vectors)
    assert await tb.cpu.msi_reg(MsiReg.PENDING) == 0
    assert await tb.cpu.msi_reg(MsiReg.SENT) == len(vectors)


@cocotb.test()
async def test_masked_vector_sent_on_unmask(dut):
    """A masked vector stays pending (no MSI) and is delivered once the host unmasks it; the
    host sees it pending in the capability's Pending Bits meanwhile."""
    tb = await EndpointTb.start(dut)
    assert await tb.host.msi_pending() == 0
    await tb.host.set_msi_mask(1 << 5)
    await Timer(100, "ns")
    assert await tb.cpu.msi_reg(MsiReg.MASK) == 1 << 5, "mask bits not visible to the RTL"
    await tb.cpu.request_msi(5)
    await tb.cpu.request_msi(6)
    await tb.host.wait_msi(6, 1, timeout_ns=10_000)
    await Timer(2000, "ns")
    assert tb.host.msi_count(5) == 0, "a masked vector was sent"
    assert await tb.cpu.msi_reg(MsiReg.PENDING) == 1 << 5
    assert await tb.host.msi_pending() == 1 << 5, "Pending Bits do not show the masked vector"
    await tb.host.set_msi_mask(0)
    await tb.host.wait_msi(5, 1, timeout_ns=10_000)
    assert await tb.cpu.msi_reg(MsiReg.PENDING) == 0
    assert await tb.host.msi_pending() == 0, "Pending Bits still set after the MSI was sent"
    assert await tb.cpu.msi_reg(MsiReg.FAILED) == 0


@cocotb.test()
async def test_disabled_msi_reports_failure(dut):
    """With MSI disabled a request fails at once, is counted and flagged; no hang, no MSI."""
    tb = await EndpointTb.start(dut)
    await tb.cpu.enable_interrupts(IntSource.MSI_FAIL)
    await tb.host.set_msi_enable(False)
    await Timer(100, "ns")
    assert not (await tb.cpu.msi_reg(MsiReg.STATUS)) & MsiStatus.ENABLE
    await tb.cpu.request_msi(3)
    await tb.cpu.wait_irq(100, "the MSI failure interrupt")
    assert await tb.cpu.msi_reg(MsiReg.FAILED) == 1
    assert await tb.cpu.msi_reg(MsiReg.FAILED_VECTORS) == 1 << 3
    assert await tb.cpu.msi_reg(MsiReg.PENDING) == 0
    assert tb.host.msi_count(3) == 0
    # acknowledge, re-enable, and the same vector goes through
    await tb.cpu.write32(Region.MSI + MsiReg.FAILED_VECTORS, 1 << 3)
    assert await tb.cpu.msi_reg(MsiReg.FAILED_VECTORS) == 0
    await tb.host.set_msi_enable(True)
    await Timer(100, "ns")
    await tb.cpu.request_msi(3)
    await tb.host.wait_msi(3, 1, timeout_ns=10_000)


@cocotb.test()
async def test_vector_out_of_range_fails(dut):
    """A request for a vector the generator does not have is counted as failed."""
    tb = await EndpointTb.start(dut)
    await tb.cpu.request_msi(tb.params.msi_vectors + 3)
    assert await tb.cpu.msi_reg(MsiReg.FAILED) == 1
    assert await tb.cpu.msi_reg(MsiReg.PENDING) == 0


@cocotb.test()
async def test_moderation_through_the_host(dut):
    """Moderation set by the firmware, seen by the host: a burst of requests arrives as one
    MSI per COUNT (the rest after the timer), a lone request arrives within the timer, and
    MSIs per request (SENT / REQUESTS) drop accordingly."""
    tb = await EndpointTb.start(dut)
    v, count, time = 2, 8, 500
    await tb.cpu.moderate_msi(v, count, time)
    for _ in range(20):
        await tb.cpu.request_msi(v)
    await tb.host.wait_msi(v, 3, timeout_ns=20 * time)
    await Timer(20 * time, "ns")
    assert tb.host.msi_count(v) == 3, f"20 requests, count {count}: {tb.host.msi_count(v)} MSIs, expected 3"

    async def to_host(vector: int) -> float:
        """Cycles from a lone request's REQUEST write to the host's MSI."""
        req = cocotb.start_soon(tb.cpu.request_msi(vector))
        t_write = await tb.wait_cycle(tb.axil_write_handshake, 200, "the MSI REQUEST write")
        await req
        return tb.cycles(t_write, await tb.host.wait_msi(vector, tb.host.msi_count(vector) + 1, timeout_ns=20 * time))
    base, late = await to_host(v + 1), await to_host(v)
    assert round(late - base) == time, f"a lone moderated request reached the host {late:.0f} cycles after its write, " \
        f"an unmoderated one {base:.0f}: the timer is {time}"
    sent, requests = await tb.cpu.msi_reg(MsiReg.SENT), await tb.cpu.msi_reg(MsiReg.REQUESTS)
    assert (sent, requests) == (5, 22), f"SENT {sent}, REQUESTS {requests}"
    with pytest.raises(ValueError):
        await tb.cpu.moderate_msi(v, 256, 0)
