"""Block testbench of ep_fifo: random pushes and pops with back-pressure both ways against
a Python queue: every entry comes out once, in order; count, in_ready (not full) and
out_valid (not empty) follow the queue every cycle; a push into a full FIFO is refused."""

from __future__ import annotations

import random
from collections import deque

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from virtio_ep import simrun
from virtio_ep.testbench import rng_for_test
from virtio_ep.testbench.blocks import start_clock_and_reset

CYCLES = 1500


@cocotb.test()
async def order_and_flags(dut):
    depth, width = int(dut.DEPTH.value), int(dut.WIDTH.value)
    rng: random.Random = rng_for_test()
    dut.in_valid.value = dut.out_ready.value = 0
    dut.in_data.value = 0
    await start_clock_and_reset(dut)
    model: deque[int] = deque()
    refused = popped = 0
    # phases: fill (mostly pushes), drain (mostly pops), mixed
    for cycle in range(CYCLES):
        push_p, pop_p = [(0.9, 0.1), (0.1, 0.9), (0.5, 0.5)][cycle * 3 // CYCLES]
        push, pop = rng.random() < push_p, rng.random() < pop_p
        value = rng.randrange(1 << width)
        dut.in_valid.value, dut.in_data.value, dut.out_ready.value = int(push), value, int(pop)
        await ReadOnly()
        assert int(dut.count.value) == len(model), f"cycle {cycle}: count {int(dut.count.value)}, model {len(model)}"
        assert bool(dut.in_ready.value) == (len(model) < depth), f"cycle {cycle}: in_ready with {len(model)} held"
        assert bool(dut.out_valid.value) == bool(model), f"cycle {cycle}: out_valid with {len(model)} held"
        if model:
            assert int(dut.out_data.value) == model[0], f"cycle {cycle}: head {int(dut.out_data.value):#x}, expected {model[0]:#x}"
        full = len(model) == depth              # a push is refused when full, even with a pop
        if pop and model:
            model.popleft()
            popped += 1
        if push:
            if full:
                refused += 1
            else:
                model.append(value)
        await RisingEdge(dut.clk)
    assert refused > 0, "the FIFO was never full: the test proves nothing about refusals"
    assert popped > depth, f"only {popped} entries came out"


TOPLEVEL = "ep_fifo"
POINTS = [{"WIDTH": 12, "DEPTH": depth} for depth in (2, 16, 64)]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_fifo(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params)
