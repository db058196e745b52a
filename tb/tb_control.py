"""Control plane of every registered transport: the virtio probe (discovery, reset, features,
queues, DRIVER_OK, config read) measured per operation, as `make sim`, `make bench` and
`make report` run it (virtio_ep.scenarios.control); the driver must read the device's
config, and the stock virtio-pci driver must still get something wrong."""

from __future__ import annotations

import cocotb

from virtio_ep.scenarios.control import measure_setup
from virtio_ep.testbench import EndpointTb
from virtio_ep.transports import TRANSPORTS


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_async_every_device(dut, device: str):
    tb = await EndpointTb.start(dut, enumerate=False)
    row = await measure_setup(tb, "async", device)
    assert [op["name"] for op in row.ops] == ["discovery", "reset", "features", "queue setup", "driver ok",
                                              "read config"], row.ops
    # every change is acknowledged by an MSI: reset, features, queue setup, DRIVER_OK
    assert row.msis == 4 and row.doorbells == 4, row


@cocotb.test()
@cocotb.parametrize(transport=list(TRANSPORTS))
async def test_every_transport(dut, transport: str):
    tb = await EndpointTb.start(dut, enumerate=False)
    row = await measure_setup(tb, transport, "net")
    if transport == "virtio-pci":
        assert row.failures, "the stock virtio-pci driver hit no failure: the baseline no longer breaks"
    if TRANSPORTS[transport].posted_setup:
        assert row.applied_after is not None and row.applied_after > 0, row.applied_after
