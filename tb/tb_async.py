"""Async one-writer transport: every operation of docs/transport.md end to end, and every
error path: refused features, bad status transitions, invalid queues, config seqlock,
device-initiated reset, mailbox errors, a driver dying mid-sequence, unload, a stalled
firmware. The driver's host reads touch only the device page."""

from __future__ import annotations

import cocotb
from cocotb.triggers import Timer

from virtio_ep.scenarios.bring_up import start_firmware
from virtio_ep.testbench import EndpointTb, OpRecorder
from virtio_ep import layout
from virtio_ep.devices import DEVICES, bit
from virtio_ep.firmware.async_fw import AsyncTransportFirmware
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.virtio_core import (DeviceNeedsReset, FeaturesRefused, QueueConfig, TransportError,
                                        TransportTimeout, default_driver_features, virtio_probe)
from virtio_ep.transports import transport
from virtio_ep.layout import (AsyncDevicePage as DEV, AsyncDriverPage as DRV, AsyncQueueError, AsyncReason,
                              AsyncResult, MboxOp, MboxStatus, NetConfig, QueueMode, VirtioFeature,
                              VirtioStatus)


class Bench:
    def __init__(self, tb: EndpointTb, dev, fw, task):
        self.tb, self.dev, self.fw, self.task = tb, dev, fw, task
        self.drv = AsyncTransport(tb.host)
        self.rec = OpRecorder(tb)

    def alloc(self, nbytes: int) -> int:
        return self.tb.alloc_host(nbytes)

    async def probe(self):
        return await virtio_probe(self.drv, default_driver_features(), self.alloc, self.rec)

    async def stop(self):
        self.fw.stop.set()
        await self.task


async def bench(dut, device: str = "net") -> Bench:
    """Endpoint up, firmware booted (its page published), driver not yet loaded."""
    tb, dev = await EndpointTb.start(dut), DEVICES[device]()
    return Bench(tb, dev, *await start_firmware(tb, transport("async"), dev))


def assert_reads_only_device_page(ops) -> None:
    for op in ops:
        for off, n in op.read_offsets:
            assert DEV.BASE <= off and off + n <= DEV.BASE + DEV.SIZE, (
                f"{op.name}: host read of {n} bytes at BAR0+0x{off:x}, outside the device page")


@cocotb.test()
@cocotb.parametrize(device=["net", "block", "entropy"])
async def test_probe_every_device(dut, device: str):
    """Discovery, reset, features, queues, DRIVER_OK and config for net, block and entropy."""
    if True:
        b = await bench(dut, device)
        res = await b.probe()
        assert res.info.device_id == b.dev.device_id
        assert res.info.features == b.dev.features, f"{device}: features 0x{res.info.features:x}"
        assert res.features == b.dev.features & default_driver_features()
        assert res.config == bytes(b.dev.config), f"{device}: config {res.config.hex()}"
        st = b.fw.st
        assert st.status == VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK
        assert st.features == res.features
        assert sorted(st.queues) == list(range(b.dev.num_queues))
        for q in res.queues:
            fq = st.queues[q.index]
            assert (fq.desc, fq.driver, fq.device, fq.size, fq.msi_vector) == (q.desc, q.driver, q.device, q.size, q.msi_vector)
        assert_reads_only_device_page(b.rec.ops)
        for op in b.rec.ops:
            b.tb.log.info("%-8s %-12s reads %d writes %d doorbells %d MSIs %d cycles %.0f (firmware %d)",
                          device, op.name, op.host_reads, op.host_writes, op.doorbells, op.msis, op.cycles,
                          op.firmware_cycles)
        await b.stop()


@cocotb.test()
async def test_ack_latency_bound(dut):
    """A status change is acknowledged within the firmware's modelled cost + 200 cycles."""
    b = await bench(dut)
    await b.drv.discover()
    for status in (0, VirtioStatus.ACKNOWLEDGE, VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER):
        t0, busy0 = b.tb.now_ns(), b.tb.cpu.busy_cycles
        msis = b.tb.host.msi_count(0)
        await b.drv.change(status)
        t_msi = b.tb.host.msi_vectors[0].times_ns[msis]
        bus = b.tb.cycles(t0, t_msi) - (b.tb.cpu.busy_cycles - busy0)
        b.tb.log.info("status 0x%02x acknowledged: %.0f cycles, %d of them firmware", status,
                      b.tb.cycles(t0, t_msi), b.tb.cpu.busy_cycles - busy0)
        assert bus <= 200, f"status change took {bus:.0f} cycles of bus time beyond the firmware cost"
    await b.stop()


@cocotb.test()
async def test_features_refused(dut):
    """FEATURES_OK with an unoffered bit, or without VERSION_1, is refused; a subset is accepted."""
    b = await bench(dut)
    await b.drv.discover()
    await b.drv.reset()
    for bad in (b.dev.features | bit(70), b.dev.features & ~bit(VirtioFeature.VERSION_1)):
        try:
            await b.drv.set_features(bad)
        except FeaturesRefused as exc:
            assert exc.code == AsyncResult.FEATURES_REFUSED
        else:
            raise AssertionError(f"features 0x{bad:x} were accepted")
        assert not b.fw.st.status & VirtioStatus.FEATURES_OK
        await b.drv.reset()
    await b.drv.set_features(bit(VirtioFeature.VERSION_1))
    assert b.fw.st.features == bit(VirtioFeature.VERSION_1)
    await b.stop()


@cocotb.test()
async def test_bad_status_transitions(dut):
    """DRIVER_OK before FEATURES_OK and clearing a bit without reset: BAD_STATE."""
    b = await bench(dut)
    await b.drv.discover()
    await b.drv.reset()
    ack = await b.drv.change(VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.DRIVER_OK)
    assert ack.result == AsyncResult.BAD_STATE
    assert not b.fw.st.status & VirtioStatus.DRIVER_OK
    await b.drv.reset()
    await b.drv.set_features(b.dev.features)
    ack = await b.drv.change(VirtioStatus.ACKNOWLEDGE)
    assert ack.result == AsyncResult.BAD_STATE, ack
    await b.stop()


@cocotb.test()
async def test_invalid_queues(dut):
    """Bad size, bad mode, bad address, packed without RING_PACKED: refused with a reason."""
    b = await bench(dut)
    await b.drv.discover()
    await b.drv.reset()
    await b.drv.set_features(b.dev.features & ~bit(VirtioFeature.RING_PACKED))
    good = dict(desc=b.alloc(4096), driver=b.alloc(1024), device=b.alloc(4096), msi_vector=1)
    cases = [
        (QueueConfig(0, 0, **good), AsyncQueueError.BAD_SIZE),
        (QueueConfig(0, 100, **good), AsyncQueueError.BAD_SIZE),
        (QueueConfig(0, 4 * b.dev.max_queue_size, **good), AsyncQueueError.BAD_SIZE),
        (QueueConfig(0, 64, **good, mode=QueueMode.PACKED), AsyncQueueError.BAD_MODE),
        (QueueConfig(0, 64, **good, mode=7), AsyncQueueError.BAD_MODE),                 # no such mode
        (QueueConfig(0, 2 * layout.PUSH_RING_SLOTS, **good, mode=QueueMode.PUSH), AsyncQueueError.BAD_SIZE),
        (QueueConfig(0, 64, **{**good, "device": 0}, mode=QueueMode.PUSH), AsyncQueueError.BAD_ADDRESS),
        (QueueConfig(0, 64, **{**good, "desc": good["desc"] + 8}), AsyncQueueError.BAD_ADDRESS),
        (QueueConfig(0, 64, **{**good, "device": 0}), AsyncQueueError.BAD_ADDRESS),
    ]
    for q, err in cases:
        try:
            await b.drv.setup_queues([q])
        except TransportError as exc:
            assert exc.code == AsyncResult.QUEUE_INVALID, exc
        else:
            raise AssertionError(f"queue {q} was accepted")
        assert await b.drv.queue_error(0) == err
        assert 0 not in b.fw.st.queues
        # the entry stays requested-but-refused: withdraw it before the next try
        await b.drv.write_queue_entry(q, enable=False)
    ok = QueueConfig(0, 64, **good)
    await b.drv.setup_queues([ok])
    assert await b.drv.queue_error(0) == AsyncQueueError.NONE and 0 in b.fw.st.queues
    await b.drv.disable_queue(ok)
    assert 0 not in b.fw.st.queues
    await b.stop()


@cocotb.test()
async def test_config_change_seqlock(dut):
    """A config update bumps the generation by 2 and sends MSI 0; a read racing the update
    never returns a torn config."""
    b = await bench(dut)
    res = await b.probe()
    gen0 = b.drv.config_gen
    new = bytearray(b.dev.config)
    new[NetConfig.MTU.offset:NetConfig.MTU.offset + 2] = (9000).to_bytes(2, "little")
    new[NetConfig.MAC.offset:NetConfig.MAC.offset + 6] = bytes.fromhex("02aabbccddee")
    old = bytes(b.dev.config)
    update = cocotb.start_soon(b.fw.update_config(bytes(new)))
    seen = []
    for _ in range(20):
        seen.append(await b.drv.read_config(len(new)))
        if update.done():
            break
    await update
    await b.drv.wait_event(20_000)
    assert all(c in (old, bytes(new)) for c in seen), "a torn config was returned"
    assert await b.drv.read_config(len(new)) == bytes(new)
    assert b.drv.config_gen == gen0 + 2
    assert res.config == old
    await b.stop()


@cocotb.test()
async def test_device_initiated_reset(dut):
    """NEEDS_RESET with a reason: the driver is told, every change but reset is refused,
    reset clears it and the device works again."""
    b = await bench(dut)
    await b.probe()
    await b.fw.needs_reset(AsyncReason.BACKEND_FAILURE)
    state = await b.drv.wait_event(20_000)
    assert state.needs_reset and state.reason == AsyncReason.BACKEND_FAILURE
    try:
        await b.drv.driver_ok()
    except DeviceNeedsReset as exc:
        assert exc.reason == AsyncReason.BACKEND_FAILURE
    else:
        raise AssertionError("a change other than reset was accepted while NEEDS_RESET")
    await b.drv.reset()
    state = await b.drv.device_state()
    assert not state.needs_reset and state.reason == AsyncReason.NONE
    b.rec.ops.clear()
    await b.probe()
    assert b.fw.st.status & VirtioStatus.DRIVER_OK
    await b.stop()


@cocotb.test()
async def test_mailbox(dut):
    """ECHO, SET_CONFIG of a writable field (with seqlock), and every mailbox error."""
    b = await bench(dut)
    await b.probe()
    payload = bytes(range(200))
    assert await b.drv.mailbox(MboxOp.ECHO, payload) == (MboxStatus.OK, payload)
    assert await b.drv.mailbox(MboxOp.NOP) == (MboxStatus.OK, b"")
    mac = bytes.fromhex("02deadbeef01")
    req = NetConfig.MAC.offset.to_bytes(2, "little") + len(mac).to_bytes(2, "little") + mac
    assert (await b.drv.mailbox(MboxOp.SET_CONFIG, req))[0] == MboxStatus.OK
    cfg = await b.drv.read_config(NetConfig.SIZE)
    assert cfg[NetConfig.MAC.offset:NetConfig.MAC.offset + 6] == mac
    mtu = NetConfig.MTU.offset.to_bytes(2, "little") + (2).to_bytes(2, "little") + (100).to_bytes(2, "little")
    assert (await b.drv.mailbox(MboxOp.SET_CONFIG, mtu))[0] == MboxStatus.DENIED
    assert (await b.drv.mailbox(MboxOp.SET_CONFIG, req[:5]))[0] == MboxStatus.BAD_LENGTH
    assert (await b.drv.mailbox(0x7777))[0] == MboxStatus.UNSUPPORTED
    assert (await b.drv.mailbox_raw_length(MboxOp.ECHO, 0x10000))[0] == MboxStatus.BAD_LENGTH
    await b.stop()


@cocotb.test()
async def test_driver_dies_mid_sequence(dut):
    """A driver that wrote half a change (features and a queue entry, no doorbell) and died:
    the device never acted; a new driver instance resets and completes a normal probe."""
    b = await bench(dut)
    await b.drv.discover()
    await b.drv.reset()
    await b.tb.host.write(layout.BAR_SRAM, DRV.DRIVER_FEATURES.offset, (b.dev.features | bit(90)).to_bytes(16, "little"))
    await b.drv.write_queue_entry(QueueConfig(0, 3, 0x10, 0x20, 0x30, 1))
    await b.tb.host.write32(layout.BAR_SRAM, DRV.DRIVER_STATUS.offset, 0x1234_5678)    # garbage, no doorbell
    await Timer(2000, "ns")
    assert b.fw.st.status == 0 and not b.fw.st.queues and b.fw.config_ops == 1
    fresh = AsyncTransport(b.tb.host)
    b.drv = fresh
    res = await b.probe()
    assert res.features == b.dev.features & default_driver_features()
    await b.stop()


@cocotb.test()
async def test_unload_releases_device(dut):
    """Unload resets: the device drops its queues (no reference to host memory remains)."""
    b = await bench(dut)
    await b.probe()
    assert b.fw.st.queues
    await b.drv.unload()
    assert b.fw.st.status == 0 and not b.fw.st.queues
    for q in range(b.dev.num_queues):
        assert await b.drv.queue_error(q) == AsyncQueueError.NONE
    await b.stop()


@cocotb.test()
async def test_stalled_firmware_times_out(dut):
    """No firmware answering: the driver gets a clear timeout naming the sequence number."""
    b = await bench(dut)
    await b.drv.discover()
    await b.stop()                                   # the firmware stops serving doorbells
    b.drv.timeout_ns = 20_000
    try:
        await b.drv.reset()
    except TransportTimeout as exc:
        assert f"seq {b.drv.seq}" in str(exc), exc
    else:
        raise AssertionError("reset succeeded without firmware")


@cocotb.test()
async def test_discovery_waits_for_late_firmware(dut):
    """A driver probing before the firmware published its page sleeps until MSI 0."""
    tb = await EndpointTb.start(dut)
    await tb.cpu.write_sram_u32(DEV.MAGIC.offset, 0)      # SRAM keeps the previous test's page
    drv = AsyncTransport(tb.host, boot_timeout_ns=50_000)
    probe = cocotb.start_soon(drv.discover())
    await Timer(5_000, "ns")
    assert not probe.done()
    fw = AsyncTransportFirmware(tb.cpu, DEVICES["block"](), tb.params.db_slots)
    task = cocotb.start_soon(fw.run())
    info = await probe
    assert info.device_id == fw.dev.device_id
    fw.stop.set()
    await task


@cocotb.test()
async def test_firmware_restart_detected(dut):
    """The firmware restarts under a running driver: the new one republishes its page with
    NEEDS_RESET (FIRMWARE_RESTART) and MSI 0; the driver's next change is refused with that
    reason; reset and a new probe bring the device back."""
    b = await bench(dut)
    await b.probe()
    await b.stop()                                               # the old firmware is gone
    b.fw = AsyncTransportFirmware(b.tb.cpu, b.dev, b.tb.params.db_slots, restarted=True)
    b.task = cocotb.start_soon(b.fw.run())
    state = await b.drv.wait_event(50_000)
    assert state.needs_reset and state.reason == AsyncReason.FIRMWARE_RESTART, state
    try:
        await b.drv.driver_ok()
    except DeviceNeedsReset as exc:
        assert exc.reason == AsyncReason.FIRMWARE_RESTART
    else:
        raise AssertionError("the restarted device accepted a change without reset")
    b.rec.ops.clear()
    await b.probe()
    assert b.fw.st.status & VirtioStatus.DRIVER_OK and not b.fw.st.needs_reset
    await b.stop()
