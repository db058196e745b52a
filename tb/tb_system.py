"""System scenario (also the `make sim TRANSPORT=echo` demo, virtio_ep.scenarios.echo): the
host writes a message into BAR0 and rings a doorbell; the firmware, woken by irq, reads it
through the local-bus window, writes a reply and requests an MSI; the host reads the reply.
Each reply is checked, each request timed at the RTL's ports."""

from __future__ import annotations

import cocotb

from virtio_ep.scenarios.echo import run_echo
from virtio_ep.testbench import EndpointTb, rng_for_test


@cocotb.test()
async def test_echo_scenario(dut):
    tb = await EndpointTb.start(dut)
    tb.log.info(await run_echo(tb, rng_for_test(), cocotb.SIM_NAME))
