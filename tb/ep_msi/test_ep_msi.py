"""Block testbench of ep_msi against a model of the core's MSI interface (it answers each
one-hot cfg_interrupt_msi_int pulse with _sent, with _fail, or not at all): every vector
sent, lowest pending first, masked vectors held and sent on unmask, vectors beyond the
host's multiple-message enable and requests while MSI is off failed and flagged, the
core's fail and the timeout counted, a vector requested again in flight sent again."""

from __future__ import annotations

import cocotb
import pytest
from cocotb.triggers import ClockCycles, Event, RisingEdge, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_time

from virtio_ep import simrun
from virtio_ep.layout import MsiModerate, MsiReg, MsiStatus
from virtio_ep.testbench import CLK_NS
from virtio_ep.testbench.blocks import RegBus, start_clock_and_reset

ANSWER_CYCLES = 5          # the core's delay from the request to _sent / _fail


class CoreModel:
    """The core's side: records each MSI request; answers per `mode` (sent, fail, silent)."""

    def __init__(self, dut):
        self.dut = dut
        self.mode = "sent"
        self.answer_cycles = ANSWER_CYCLES
        self.sent: list[int] = []
        self.requests: list[int] = []
        self.times: list[float] = []        # sim time (ns) of each request
        self.requested = Event()            # set at each request the core takes
        dut.cfg_interrupt_msi_sent.value = dut.cfg_interrupt_msi_fail.value = 0
        cocotb.start_soon(self.run())

    async def run(self) -> None:
        d = self.dut
        while True:
            await d.cfg_interrupt_msi_int.value_change
            vec = int(d.cfg_interrupt_msi_int.value)
            if not vec:
                continue
            assert vec & (vec - 1) == 0, f"cfg_interrupt_msi_int {vec:#x} is not one-hot"
            self.requests.append(vec.bit_length() - 1)
            self.times.append(get_sim_time("ns"))
            self.requested.set()
            if self.mode == "silent":
                continue
            await ClockCycles(d.clk, self.answer_cycles)
            signal = d.cfg_interrupt_msi_sent if self.mode == "sent" else d.cfg_interrupt_msi_fail
            signal.value = 1
            await RisingEdge(d.clk)
            signal.value = 0
            if self.mode == "sent":
                self.sent.append(self.requests[-1])


class TB:
    def __init__(self, dut):
        self.dut = dut
        self.vectors, self.timeout = int(dut.VECTORS.value), int(dut.TIMEOUT_CYCLES.value)
        self.bus = RegBus(dut)
        dut.msi_enable.value, dut.msi_mmenable.value, dut.msi_mask.value = 1, 5, 0     # 32 vectors enabled
        self.core = CoreModel(dut)

    async def start(self) -> None:
        await start_clock_and_reset(self.dut)

    async def request(self, *vectors: int) -> None:
        for v in vectors:
            await self.bus.write(MsiReg.REQUEST, v)

    async def sent(self, count: int, limit: int) -> None:
        """Wait until the core has seen `count` requests in all (bounded)."""
        deadline = get_sim_time("ns") + limit * CLK_NS
        while len(self.core.requests) < count:
            self.core.requested.clear()
            try:
                await with_timeout(self.core.requested.wait(), max(1, deadline - get_sim_time("ns")), "ns")
            except SimTimeoutError:
                raise AssertionError(f"the core saw {len(self.core.requests)} MSI requests, not {count}, "
                                     f"within {limit} cycles") from None

    async def idle(self, limit: int = 20_000) -> None:
        """Wait until nothing is pending or in flight (bounded)."""
        for _ in range(limit // 8):
            if not await self.bus.read(MsiReg.PENDING) and not await self.bus.read(MsiReg.STATUS) & MsiStatus.BUSY:
                return
            await ClockCycles(self.dut.clk, 4)
        raise AssertionError(f"MSIs still pending or busy after {limit} cycles")


@cocotb.test()
async def every_vector_lowest_first(dut):
    tb = TB(dut)
    await tb.start()
    await tb.request(*range(tb.vectors))
    await tb.idle()
    assert tb.core.sent == list(range(tb.vectors)), f"sent {tb.core.sent}"
    # requested in reverse order while all are masked, then unmasked: lowest pending first
    order = list(reversed(range(tb.vectors)))
    tb.core.sent.clear()
    dut.msi_mask.value = 0xFFFF_FFFF
    await tb.request(*order)
    # a request is pending a cycle after its write: all are, as PENDING shows, before the unmask
    pending = await tb.bus.read(MsiReg.PENDING)
    assert pending == (1 << tb.vectors) - 1, f"pending {pending:#x} while masked"
    dut.msi_mask.value = 0
    await tb.idle()
    assert tb.core.sent == sorted(order), tb.core.sent
    assert await tb.bus.read(MsiReg.SENT) == 2 * tb.vectors
    assert await tb.bus.read(MsiReg.FAILED) == 0


@cocotb.test()
async def masked_vector_waits_for_unmask(dut):
    tb = TB(dut)
    await tb.start()
    v = tb.vectors - 1
    dut.msi_mask.value = 1 << v
    await tb.request(v)
    await ClockCycles(dut.clk, 50)
    assert tb.core.requests == [], "a masked vector was sent"
    assert await tb.bus.read(MsiReg.PENDING) == 1 << v
    assert await tb.bus.read(MsiReg.MASK) == 1 << v
    dut.msi_mask.value = 0
    await tb.idle()
    assert tb.core.sent == [v]


@cocotb.test()
async def disabled_and_beyond_enabled_fail(dut):
    tb = TB(dut)
    await tb.start()
    dut.msi_enable.value = 0
    await tb.request(0)
    await tb.idle()
    assert tb.core.requests == [] and await tb.bus.read(MsiReg.FAILED) == 1
    assert await tb.bus.read(MsiReg.FAILED_VECTORS) == 1 and int(dut.irq_fail.value)
    await tb.bus.write(MsiReg.FAILED_VECTORS, 1)
    assert await tb.bus.read(MsiReg.FAILED_VECTORS) == 0 and not int(dut.irq_fail.value)
    dut.msi_enable.value, dut.msi_mmenable.value = 1, 0          # the host enabled one vector
    if tb.vectors > 1:
        await tb.request(1, 0)
        await tb.idle()
        assert tb.core.sent == [0], f"sent {tb.core.sent}"
        assert await tb.bus.read(MsiReg.FAILED_VECTORS) == 0b10
    await tb.request(tb.vectors)                                  # no such vector
    assert await tb.bus.read(MsiReg.FAILED) == 1 + (tb.vectors > 1) + 1


@cocotb.test()
async def core_fail_timeout_and_rerequest(dut):
    tb = TB(dut)
    await tb.start()
    v = tb.vectors - 1
    tb.core.mode = "fail"
    await tb.request(v)
    await tb.idle()
    assert await tb.bus.read(MsiReg.FAILED_VECTORS) == 1 << v and await tb.bus.read(MsiReg.FAILED) == 1
    tb.core.mode = "silent"
    start = cocotb.utils.get_sim_time("ns")
    await tb.request(0)
    await tb.idle(tb.timeout + 1000)
    waited = (cocotb.utils.get_sim_time("ns") - start) / 4
    assert tb.timeout <= waited <= tb.timeout + 100, f"gave up after {waited:.0f} cycles, timeout {tb.timeout}"
    assert await tb.bus.read(MsiReg.FAILED) == 2
    # requested again while in flight (the core answers late, the second request lands
    # between the core taking the first and its answer): pending again, sent again
    tb.core.mode, tb.core.answer_cycles = "sent", 40
    tb.core.sent.clear()
    tb.core.requested.clear()
    await tb.request(0)
    try:
        await with_timeout(tb.core.requested.wait(), 20 * CLK_NS, "ns")
    except SimTimeoutError:
        raise AssertionError("the core never saw the first request within 20 cycles") from None
    assert await tb.bus.read(MsiReg.STATUS) & MsiStatus.BUSY, "the first MSI is not in flight"
    await tb.request(0)
    assert not tb.core.sent, "the core answered before the second request: the test proves nothing"
    await tb.idle()
    assert tb.core.sent == [0, 0], f"sent {tb.core.sent}: the request made in flight was lost"


async def moderate(tb: TB, vector: int, count: int, time: int) -> None:
    await tb.bus.write(MsiReg.MODERATE_SELECT, vector)
    await tb.bus.write(MsiReg.MODERATE, time << MsiModerate.TIME_SHIFT | count)


@cocotb.test()
async def moderation_by_time_and_count(dut):
    """A moderated vector's lone request is sent exactly TIME cycles later than an
    unmoderated one; a burst is sent as one MSI per COUNT requests, the rest after the
    timer; turning moderation off sends what is held at once; other vectors are untouched."""
    tb = TB(dut)
    await tb.start()
    v, time = tb.vectors - 1, 200

    async def delay(vector: int) -> float:
        """Cycles from the REQUEST write to the core seeing the vector."""
        n, start = len(tb.core.requests), get_sim_time("ns")
        await tb.request(vector)
        await tb.sent(n + 1, time + 100)
        await tb.idle()
        assert tb.core.requests[n:] == [vector], f"requests {tb.core.requests[n:]}"
        return (tb.core.times[n] - start) / CLK_NS

    base = await delay(v)
    await moderate(tb, v, 0, time)
    await tb.bus.write(MsiReg.MODERATE_SELECT, v)
    assert await tb.bus.read(MsiReg.MODERATE) == time << MsiModerate.TIME_SHIFT, "setting not read back"
    held = await delay(v)
    assert held - base == time, f"a lone request sent {held - base:.0f} cycles later than unmoderated, time {time}"
    if tb.vectors > 1:
        assert await delay(0) == base, "moderating one vector delayed another"

    # a burst of 10 with COUNT 4: MSIs at the 4th and 8th requests, the last 2 after the timer
    await moderate(tb, v, 4, time)
    n, start = len(tb.core.requests), get_sim_time("ns")
    await tb.request(*[v] * 10)
    await tb.sent(n + 3, 4 * time)
    await ClockCycles(dut.clk, 2 * time)           # nothing more comes
    times = [(t - start) / CLK_NS for t in tb.core.times[n:]]
    assert tb.core.requests[n:] == [v] * 3, f"a burst of 10 with count 4 gave MSIs {tb.core.requests[n:]}"
    assert times[1] < 10 + base + ANSWER_CYCLES + 4, f"MSIs at cycles {times}: the count did not send early"
    assert times[2] >= 8 + time, f"MSIs at cycles {times}: the last two were not held for the timer"

    # held requests are sent at once when moderation is turned off
    await moderate(tb, v, 0, 0xFFFF)
    n, start = len(tb.core.requests), get_sim_time("ns")
    await tb.request(v, v)
    await ClockCycles(dut.clk, 50)
    assert tb.core.requests[n:] == [], "held requests were sent before the timer"
    await moderate(tb, v, 0, 0)
    await tb.sent(n + 1, 20)
    await ClockCycles(dut.clk, 50)
    assert tb.core.requests[n:] == [v], f"turning moderation off sent {tb.core.requests[n:]}"
    assert await tb.bus.read(MsiReg.REQUESTS) == 2 + (tb.vectors > 1) + 10 + 2
    assert await tb.bus.read(MsiReg.SENT) == len(tb.core.sent)


TOPLEVEL = "ep_msi"
POINTS = [{"VECTORS": vectors, "TIMEOUT_CYCLES": timeout} for vectors, timeout in ((1, 64), (8, 256), (32, 4096))]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_msi(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params)
