"""Control plane of the async transport for every device class: the virtio probe
(discovery, reset, features, queues, DRIVER_OK, config read) measured per operation, as
`make sim`, `make bench` and `make report` run it (virtio_ep.scenarios.control); the
driver must read the device's config and every change must be acknowledged. The other
transports' set-up runs in tb/test_report.py (the report's headline claims), the same
measurement on every transport."""

from __future__ import annotations

import cocotb

from virtio_ep.scenarios.control import measure_setup
from virtio_ep.testbench import EndpointTb


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_async_every_device(dut, device: str):
    tb = await EndpointTb.start(dut, enumerate=False)
    row = await measure_setup(tb, "async", device)
    assert [op["name"] for op in row.ops] == ["discovery", "reset", "features", "queue setup", "driver ok",
                                              "read config"], row.ops
    # every change is acknowledged by an MSI: reset, features, queue setup, DRIVER_OK
    assert row.msis == 4 and row.doorbells == 4, row
