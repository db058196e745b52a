"""virtio-pci baseline on a CPU-driven endpoint: each way it breaks, reproduced
deterministically (each test fails if the failure stops happening), the patched driver
that waits long enough, and how long that wait has to be for a polling firmware."""

from __future__ import annotations

import cocotb
from cocotb.triggers import with_timeout

from virtio_ep.testbench import CLK_NS, EndpointTb, OpRecorder
from virtio_ep import layout
from virtio_ep.devices import DEVICES, bit
from virtio_ep.firmware.virtio_pci_fw import VirtioPciPollingFirmware
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_pci import VirtioPciAckTransport, VirtioPciTransport
from virtio_ep.layout import PciCommonCfg as CC, VirtioFeature, VirtioStatus
from virtio_ep.scenarios.control import select_wait_table, virtio_pci_select_waits
from virtio_ep.scenarios.bring_up import start_firmware
from virtio_ep.transports import VIRTIO_PCI_POLL as POLL, VIRTIO_PCI_SETTLE_MARGIN, Options, transport


def settle_for(fw: VirtioPciPollingFirmware) -> int:
    """A wait that always covers one polling period plus one polling pass."""
    return fw.poll_period + VIRTIO_PCI_SETTLE_MARGIN


class Bench:
    def __init__(self, tb: EndpointTb, dev, fw, task):
        # the device as the firmware offers it (a transport whose kicks carry no value
        # withdraws VIRTIO_F_NOTIFICATION_DATA: TransportSpec.make_firmware)
        self.tb, self.dev, self.fw, self.task = tb, fw.dev, fw, task
        self.stock = VirtioPciTransport(tb.host)
        self.patched = VirtioPciTransport(tb.host, settle_cycles=settle_for(self.fw))

    async def wait_polls(self, n: int = 2) -> None:
        for _ in range(n):
            self.fw.pass_done.clear()
            await with_timeout(self.fw.pass_done.wait(), (self.fw.poll_period + 2000) * CLK_NS, "ns")

    async def stop(self) -> None:
        self.fw.stop.set()
        await self.task


async def bench(dut, device: str = "net", poll: int = POLL) -> Bench:
    tb = await EndpointTb.start(dut, enumerate=False)
    dev = DEVICES[device]()
    fn = tb.dev.functions[0]
    fn.vendor_id = layout.PCI_VENDOR_ID_VIRTIO
    fn.device_id = layout.PCI_DEVICE_ID_MODERN_BASE + dev.device_id
    await tb.init()
    return Bench(tb, dev, *await start_firmware(tb, transport("virtio-pci"), dev, Options(poll_cycles=poll)))


@cocotb.test()
async def test_stale_device_feature_window(dut):
    """device_feature read right after device_feature_select=1 still shows word 0."""
    b = await bench(dut)
    got = await b.stock.read_device_features()
    lo, hi = got & 0xFFFF_FFFF, got >> 32
    true_hi = b.dev.features >> 32
    assert hi == lo and hi != true_hi, (f"expected the stale window (high word == low word 0x{lo:x}); "
                                        f"read 0x{hi:x}, device offers 0x{true_hi:x}")
    assert not got & bit(VirtioFeature.VERSION_1), "the stock driver should miss VERSION_1 here"
    assert await b.patched.read_device_features() == b.dev.features & ((1 << 64) - 1)
    await b.stop()


@cocotb.test()
async def test_stale_queue_window(dut):
    """queue_notify_off read right after queue_select=1 is still queue 0's: the driver
    would ring the wrong doorbell."""
    b = await bench(dut)
    await b.stock.wr(CC.QUEUE_SELECT, 1)
    stale = await b.stock.rd(CC.QUEUE_NOTIFY_OFF)
    assert stale == 1, f"expected queue 0's notify_off (1) right after the select, read {stale}"
    await b.wait_polls()
    assert await b.stock.rd(CC.QUEUE_NOTIFY_OFF) == 2
    await b.stop()


@cocotb.test()
async def test_driver_feature_window_loses_words(dut):
    """driver_feature_select/driver_feature written back to back: the polling device only
    ever sees the last select's word; the low 32 feature bits are lost."""
    b = await bench(dut)
    features = b.dev.features & default_driver_features()
    for sel in range(2):
        await b.stock.wr(CC.DRIVER_FEATURE_SELECT, sel)
        await b.stock.wr(CC.DRIVER_FEATURE, (features >> (32 * sel)) & 0xFFFF_FFFF)
    await b.wait_polls()
    seen = b.fw.driver_features()
    assert seen == features & ~0xFFFF_FFFF, f"device recorded 0x{seen:x}; expected only the high word of 0x{features:x}"
    await b.stop()


@cocotb.test()
async def test_reset_readback_shows_no_reaction(dut):
    """After writing device_status = 0 the driver reads 0 at once and proceeds, while the
    device is still running with its queues enabled."""
    b = await bench(dut)
    await virtio_probe(b.patched, default_driver_features(), b.tb.alloc_host)
    assert b.fw.st.status & VirtioStatus.DRIVER_OK and b.fw.st.queues
    await b.stock.reset()                     # returns as soon as status reads 0
    assert b.fw.st.status & VirtioStatus.DRIVER_OK and b.fw.st.queues, (
        "expected the device not to have reset yet when the driver's reset returned")
    await b.wait_polls()
    assert b.fw.st.status == 0 and not b.fw.st.queues
    await b.stop()


@cocotb.test()
async def test_features_ok_readback_before_refusal(dut):
    """FEATURES_OK with features the device refuses reads back set (the driver continues);
    only a polling period later does the device clear it."""
    b = await bench(dut)
    bad = b.dev.features & ~bit(VirtioFeature.VERSION_1)
    for sel in range(2):
        await b.patched.wr(CC.DRIVER_FEATURE_SELECT, sel)
        await b.patched.settle()
        await b.patched.wr(CC.DRIVER_FEATURE, (bad >> (32 * sel)) & 0xFFFF_FFFF)
        await b.patched.settle()
    base = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER
    await b.stock.set_status(base | VirtioStatus.FEATURES_OK)
    assert await b.stock.get_status() & VirtioStatus.FEATURES_OK, "expected FEATURES_OK to read back set at once"
    await b.wait_polls()
    assert b.fw.st.refused == 1
    assert not await b.stock.get_status() & VirtioStatus.FEATURES_OK
    await b.stop()


@cocotb.test()
async def test_device_status_lost_update(dut):
    """Both sides read-modify-write device_status: the device's DEVICE_NEEDS_RESET is lost."""
    b = await bench(dut, poll=1 << 20)        # no polling pass interferes with the interleaving
    await b.stock.set_status(VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK)
    seen = await b.stock.get_status()                    # driver: read ...
    await b.fw.set_needs_reset()                         # device: read, modify, write
    await b.stock.set_status(seen | VirtioStatus.DRIVER_OK)   # driver: ... modify, write
    final = await b.stock.get_status()
    assert final & VirtioStatus.DRIVER_OK and not final & VirtioStatus.DEVICE_NEEDS_RESET, (
        f"expected DEVICE_NEEDS_RESET to be lost, status reads 0x{final:02x}")
    await b.stop()


@cocotb.test()
async def test_patched_driver_works(dut):
    """A driver that waits a polling period after every select and status write gets the
    right answers: features, queues and config all match the device."""
    b = await bench(dut)
    rec = OpRecorder(b.tb)
    res = await virtio_probe(b.patched, default_driver_features(), b.tb.alloc_host, rec)
    assert res.info.features == b.dev.features & ((1 << 64) - 1)
    assert b.fw.driver_features() == res.features
    assert sorted(b.fw.st.queues) == list(range(b.dev.num_queues))
    assert [q.notify_slot for q in res.queues] == [1 + q.index for q in res.queues]
    assert res.config == bytes(b.dev.config)
    for op in rec.ops:
        b.tb.log.info("virtio-pci %-12s reads %d writes %d cycles %.0f", op.name, op.host_reads, op.host_writes, op.cycles)
    await b.stop()


@cocotb.test()
async def test_reaction_time_vs_poll_period(dut):
    """How long a driver must wait after a select write, for a polling firmware, measured
    for several polling periods: between 0 and one period plus one polling pass (the
    scenario asserts the bound), and longer for a longer period."""
    tb = await EndpointTb.start(dut, enumerate=False)
    rows = await virtio_pci_select_waits(tb, "net")
    tb.log.info(select_wait_table(rows))
    means = [mean for _, _, mean, _ in rows]
    assert means == sorted(means) and means[0] < means[-1], f"mean waits {means} do not grow with the period"


@cocotb.test()
async def test_ack_word_workaround_works(dut):
    """The OCTEON workaround (driver sets an acknowledge word after each select or status
    write and polls it until the firmware clears it) gets right answers, at the price of
    host reads that poll."""
    b = await bench(dut)
    b.fw.stop.set()
    await b.task
    b.fw = VirtioPciPollingFirmware(b.tb.cpu, b.dev, POLL, ack_word=True)
    b.task = cocotb.start_soon(b.fw.run())
    await with_timeout(b.fw.published.wait(), 50_000, "ns")
    drv = VirtioPciAckTransport(b.tb.host)
    res = await virtio_probe(drv, default_driver_features(), b.tb.alloc_host)
    assert res.info.features == b.dev.features & ((1 << 64) - 1)
    assert b.fw.driver_features() == res.features
    assert sorted(b.fw.st.queues) == list(range(b.dev.num_queues))
    assert drv.polls > 0, "the driver never had to poll: the test proves nothing"
    await b.stop()
