"""Control-plane run of one transport (TRANSPORT=async, restable, virtio-pci, virtio-pci-ack,
mailbox or virtio-msg) for every device class: the virtio probe, measured per operation.
Used by `make sim` (readable summary) and `make bench` (comparison table). With CONTROL_RESULTS set, one JSON line
per device is appended to that file.

For virtio-pci the stock driver runs first and every way its view differs from the
device's is recorded as a failure; then a patched driver (waits a polling period after
each select/status write) is measured.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

import cocotb
from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout

from ep_tb import EndpointTb, OpRecorder
from virtio_ep import layout
from virtio_ep.devices import DEVICES
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.firmware.command_fw import MailboxFirmware, MessageFirmware
from virtio_ep.firmware.restable_fw import ResourceTableFirmware
from virtio_ep.firmware.virtio_pci_fw import VirtioPciPollingFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.command_transports import MailboxTransport, MessageTransport
from virtio_ep.host.restable import ResourceTableTransport
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_pci import VirtioPciAckTransport, VirtioPciTransport
from virtio_ep.layout import VirtioStatus

POLL_PERIOD = int(os.environ.get("POLL_PERIOD", "1000"))     # virtio-pci firmwares' polling period, cycles
FEATURE_MASK_64 = (1 << 64) - 1


async def stock_virtio_pci_failures(tb: EndpointTb, fw: VirtioPciPollingFirmware, dev) -> list[str]:
    """Probe with the unpatched driver; list every disagreement with the device."""
    failures = []
    drv = VirtioPciTransport(tb.host)
    try:
        res = await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    except Exception as exc:                                  # the probe itself may give up
        return [f"stock probe aborted: {exc}"]
    await ClockCycles(tb.dut.clk, 3 * POLL_PERIOD)            # let the device catch up
    if res.info.features != dev.features & FEATURE_MASK_64:
        failures.append(f"device features read as 0x{res.info.features:x}, device offers "
                        f"0x{dev.features & FEATURE_MASK_64:x} (stale device_feature window)")
    if fw.driver_features() != res.features:
        failures.append(f"device recorded driver features 0x{fw.driver_features():x}, driver wrote "
                        f"0x{res.features:x} (driver_feature window)")
    wrong = [(q.index, q.notify_slot) for q in res.queues if q.notify_slot != 1 + q.index]
    if wrong:
        failures.append(f"queue notify slots read as {wrong} (stale queue window)")
    missing = [q.index for q in res.queues if q.index not in fw.st.queues]
    if missing:
        failures.append(f"queues {missing} never enabled in the device (queue window overwritten)")
    if not fw.st.status & VirtioStatus.DRIVER_OK:
        failures.append(f"device status 0x{fw.st.status:02x} after the driver set DRIVER_OK")
    return failures


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_control_plane(dut, device: str):
    transport = os.environ.get("TRANSPORT", "async")
    tb = await EndpointTb.start(dut, enumerate=False)
    dev = DEVICES[device]()
    if transport.startswith("virtio-pci"):
        tb.dev.functions[0].vendor_id = layout.PCI_VENDOR_ID_VIRTIO
        tb.dev.functions[0].device_id = layout.PCI_DEVICE_ID_MODERN_BASE + dev.device_id
    await tb.init()
    failures: list[str] = []
    if transport == "async":
        fw = AsyncTransportFirmware(tb.cpu, dev, tb.params.db_slots)
        drv = AsyncTransport(tb.host)
    elif transport == "restable":
        fw = ResourceTableFirmware(tb.cpu, dev, tb.params.db_slots)
        drv = ResourceTableTransport(tb.host)
    elif transport == "virtio-pci":
        fw = VirtioPciPollingFirmware(tb.cpu, dev, POLL_PERIOD)
        drv = VirtioPciTransport(tb.host, settle_cycles=POLL_PERIOD + 400)
    elif transport == "virtio-pci-ack":
        fw = VirtioPciPollingFirmware(tb.cpu, dev, POLL_PERIOD, ack_word=True)
        drv = VirtioPciAckTransport(tb.host)
    elif transport == "mailbox":
        fw = MailboxFirmware(tb.cpu, dev, tb.params.db_slots)
        drv = MailboxTransport(tb.host)
    elif transport == "virtio-msg":
        fw = MessageFirmware(tb.cpu, dev, tb.params.db_slots)
        drv = MessageTransport(tb.host)
    else:
        raise ValueError(f"TRANSPORT={transport!r}: use async, restable, virtio-pci, virtio-pci-ack, mailbox "
                         "or virtio-msg")
    task = cocotb.start_soon(fw.run())
    await with_timeout(fw.published.wait(), 50_000, "ns")
    await ClockCycles(dut.clk, 50)        # the async firmware's "page published" MSI lands
    if transport == "virtio-pci":
        failures = await stock_virtio_pci_failures(tb, fw, dev)
    rec = OpRecorder(tb)
    awake0 = tb.cpu.awake_ns
    res = await virtio_probe(drv, default_driver_features(), tb.alloc_host, rec)
    assert res.config == bytes(dev.config), f"{transport}/{device}: config differs"
    applied_after = None
    if transport == "restable":
        # no acknowledgement exists: the test bench watches the firmware to see when the
        # device had actually applied the driver's final status
        t_ok = next(op.start_ns for op in rec.ops if op.name == "driver ok")
        bound_cycles = 2000 + int(tb.latencies.firmware_wake_ns / 4)     # the CPU may wake late
        for _ in range(bound_cycles // 4):
            if fw.status & VirtioStatus.DRIVER_OK:
                break
            await ClockCycles(dut.clk, 4)
        assert fw.status & VirtioStatus.DRIVER_OK, f"the device did not apply DRIVER_OK within {bound_cycles} cycles"
        applied_after = tb.cycles(t_ok, tb.now_ns())
    try:          # the firmware's busy time is complete once it sleeps again
        await with_timeout(tb.cpu.asleep.wait(), 200_000, "ns")
    except SimTimeoutError:
        raise AssertionError(f"{transport}: the firmware did not go back to sleep within 200 us") from None
    firmware_busy_ns = tb.cpu.awake_ns - awake0
    fw.stop.set()
    await task
    if transport == "virtio-pci":
        assert failures, "the stock virtio-pci driver hit no failure: the baseline no longer breaks"
    row = {"transport": transport, "device": device, "failures": failures, "applied_after": applied_after,
           "poll_period": POLL_PERIOD, "firmware_busy_ns": firmware_busy_ns,
           "ops": [{k: v for k, v in asdict(op).items() if k not in ("read_offsets", "start_ns")} for op in rec.ops],
           "read_offsets": sorted({off for op in rec.ops for off, _ in op.read_offsets})}
    for op in rec.ops:
        tb.log.info("%s %-8s %-12s reads %d writes %d doorbells %d MSIs %d cycles %.0f", transport, device,
                    op.name, op.host_reads, op.host_writes, op.doorbells, op.msis, op.cycles)
    for f in failures:
        tb.log.info("%s %s: stock driver failure: %s", transport, device, f)
    if os.environ.get("CONTROL_RESULTS"):
        with open(os.environ["CONTROL_RESULTS"], "a") as f:
            f.write(json.dumps(row) + "\n")
