"""Resource-table transport end to end, for every device class; and its one blind spot:
the driver cannot learn that the device refused its features."""

from __future__ import annotations

import cocotb
from cocotb.triggers import Timer

from virtio_ep.devices import DEVICES, bit
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.layout import VirtioFeature, VirtioStatus
from virtio_ep.runconfig import RunConfig
from virtio_ep.scenarios.bring_up import bring_up, start_firmware
from virtio_ep.scenarios.control import APPLIED_TIMEOUT_NS     # the device applies a set-up within this
from virtio_ep.scenarios.exercise import exercise
from virtio_ep.testbench import EndpointTb, OpRecorder, rng_for_test
from virtio_ep.transports import Options, transport

REQUESTS = RunConfig.current().request_count(30)     # CI time; REQUESTS=N (tb/test_sim.py) sets it
LIVE = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK


async def start(dut, device: str):
    tb = await EndpointTb.start(dut)
    spec = transport("restable")
    fw, task = await start_firmware(tb, spec, DEVICES[device]())
    return tb, fw, task, spec.make_driver(tb.host, Options())


async def settled(tb: EndpointTb, fw, status: int) -> None:
    """The transport has no acknowledgement, so there is nothing a driver could wait on: the
    bench lets the set-up's time pass, then looks at the firmware (a check, not a wait)."""
    await Timer(APPLIED_TIMEOUT_NS + tb.latencies.firmware_wake_ns, "ns")
    assert fw.status == status, f"firmware status 0x{fw.status:x} {APPLIED_TIMEOUT_NS} ns after the set-up, expected 0x{status:x}"


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_probe_every_device(dut, device: str):
    tb, fw, task, drv = await start(dut, device)
    rec = OpRecorder(tb)
    res = await virtio_probe(drv, default_driver_features(), tb.alloc_host, rec)
    assert res.info.device_id == fw.dev.device_id and res.info.features == fw.dev.features
    assert res.config == bytes(fw.dev.config)
    assert [(q.desc, q.driver, q.device, q.size, q.notify_slot) for q in res.queues] == \
           [(v.desc, v.driver, v.device, v.num, v.notify_slot) for v in fw.vrings]
    await settled(tb, fw, LIVE)
    assert fw.features == res.features
    reads = sum(op.host_reads for op in rec.ops)
    assert reads == 1, f"the table is read once; {reads} host reads"
    fw.stop.set()
    await task


@cocotb.test()
async def test_refusal_is_invisible_to_the_driver(dut):
    tb, fw, task, drv = await start(dut, "net")
    await drv.discover()
    await drv.set_features(fw.dev.features & ~bit(VirtioFeature.VERSION_1))
    await drv.driver_ok()                     # completes: nothing tells the driver otherwise
    await settled(tb, fw, 0)
    assert fw.refused == 1
    fw.stop.set()
    await task


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_data_path(dut, device: str):
    """Requests through the device-placed split rings in BAR0: the driver writes them with
    posted writes and reads the used ring back over the link; the device reads its own SRAM."""
    bench = await bring_up(await EndpointTb.start(dut), "restable", device)
    count = 4 if device == "entropy" else REQUESTS
    # requests posted right after the set-up (nothing tells the driver the device is live)
    await exercise(device, bench.queues, bench.fw.backend, count, rng_for_test())
    assert bench.fw.status == LIVE, f"firmware status 0x{bench.fw.status:x}"
    assert bench.fw.ring_errors == []
    await bench.stop()
