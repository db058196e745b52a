"""The async transport with its device page mirrored into host memory (docs/transport.md,
"The mirror page"): a whole probe and traffic with no host MMIO read, config changes and
mailbox answers seen in RAM, and the error paths (an address not page aligned, writes the
host drops, the engine refusing a mirror write with bus mastering off, a reset while
mirror writes are in flight, a function-level reset)."""

from __future__ import annotations

import cocotb
from cocotb.triggers import Timer

from virtio_ep import layout
from virtio_ep.devices import DEVICES
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.virtio_core import default_driver_features, virtio_probe
from virtio_ep.host.virtio_drivers import NetDriver
from virtio_ep.layout import (ASYNC_STATE_MIRROR_FAILED, AsyncDevicePage as DEV, AsyncResult, MboxOp, MboxStatus,
                              NetConfig, QueueMode)
from virtio_ep.scenarios.bring_up import Bench, probe, start_firmware
from virtio_ep.testbench import EndpointTb
from virtio_ep.transports import Options, transport

MIRROR = Options(mirror=True)


def host_reads(tb, mark: int) -> list:
    """Host MMIO reads (non-posted requests down the link) since `mark`."""
    return [r for r in tb.tlps.since(mark) if r.direction == "down" and r.kind == "mem_read"]


def mirror_writes(tb, mark: int, page: int) -> list:
    return [r for r in tb.tlps.since(mark) if r.direction == "up" and r.kind == "mem_write"
            and page <= r.tlp.address < page + DEV.SIZE]


async def booted(dut):
    tb, dev = await EndpointTb.start(dut), DEVICES["net"]()
    fw, task = await start_firmware(tb, transport("async"), dev, MIRROR)
    return tb, dev, fw, task


def watch_msi_requests(tb, fw) -> list[int]:
    """Record, at every MSI 0 the firmware requests, the mirror writes it has started and
    not seen end (the bench observes, it does not drive): an MSI must follow them all."""
    unsettled: list[int] = []
    request = tb.cpu.request_msi

    async def checked(vector: int, *args, **kwargs):
        if vector == layout.ASYNC_MSI_CONFIG and fw.page.in_flight:
            unsettled.append(len(fw.page.in_flight))
        return await request(vector, *args, **kwargs)
    tb.cpu.request_msi = checked
    return unsettled


async def ram(tb, addr: int, n: int) -> bytes:
    return bytes(await tb.rc.mem_address_space.read(addr, n))


@cocotb.test()
async def test_probe_and_traffic_without_mmio_reads(dut):
    """The virtio-net probe, frames through the loopback, a config change and a mailbox
    echo: not one host MMIO read; the mirror holds what BAR0 holds."""
    tb = await EndpointTb.start(dut)
    mark = tb.tlps.mark()
    spec = transport("async")
    fw, task = await start_firmware(tb, spec, DEVICES["net"](), MIRROR)
    unsettled = watch_msi_requests(tb, fw)
    bench = Bench(tb, spec, MIRROR, fw, task, spec.make_driver(tb.host, MIRROR))
    await probe(bench, QueueMode.SPLIT)
    drv = bench.driver
    assert drv.mirror and drv.mirror == fw.page.addr, "the mirror is not in use"
    net = NetDriver(bench.queues)
    await net.fill_rx(4)
    for k in range(4):
        frame = bytes((k + i) & 0xFF for i in range(60 + 40 * k))
        await net.send(frame)
        assert await net.receive(1) == [frame]
    new = bytearray(fw.dev.config)
    new[NetConfig.MTU.offset:NetConfig.MTU.offset + 2] = (4000).to_bytes(2, "little")
    await fw.update_config(bytes(new))
    await drv.wait_event(50_000)
    assert await drv.read_config(len(new)) == bytes(new)
    assert await drv.mailbox(MboxOp.ECHO, b"mirror") == (MboxStatus.OK, b"mirror")
    reads = host_reads(tb, mark)
    assert reads == [], f"{len(reads)} host MMIO reads, first at 0x{reads[0].tlp.address:x}"
    assert unsettled == [], f"MSI 0 requested with mirror writes not yet ended: {unsettled}"
    span = DEV.CONFIG_GENERATION.offset + 4 + len(new)
    bar0 = await tb.host.read(layout.BAR_SRAM, DEV.BASE, span)      # the bench checks: after the driver ran
    assert await ram(tb, drv.mirror, span) == bar0, "the mirror differs from the device page"
    await bench.stop()


@cocotb.test()
async def test_address_not_page_aligned(dut):
    """MIRROR_ADDR off a page boundary: MIRROR_INVALID, the driver goes on in BAR0."""
    tb, dev, fw, task = await booted(dut)
    drv = AsyncTransport(tb.host)
    await drv.discover()
    base = tb.alloc_host(2 * DEV.SIZE)
    ack = await drv.set_mirror(base + 0x40)
    assert ack.result == AsyncResult.MIRROR_INVALID and not drv.mirror and not fw.page.addr
    assert await tb.host.read32(layout.BAR_SRAM, DEV.DEVICE_STATE.offset) & ASYNC_STATE_MIRROR_FAILED
    res = await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    assert res.config == bytes(dev.config)
    fw.stop.set()
    await task


@cocotb.test()
async def test_writes_the_host_drops(dut):
    """The host drops every write into the page (as an IOMMU does for a page the driver did
    not map for the device: a posted write gets no answer, so the device cannot know). The
    driver, its ACK never appearing in RAM, finds it in BAR0 once the device has been
    quiet a while and goes on there (mirror_lost): a clear record, not a hang."""
    tb, dev, fw, task = await booted(dut)
    drv = AsyncTransport(tb.host, mirror=True)
    drv.mirror_page = tb.alloc_host(DEV.SIZE)       # zeroed RAM, page aligned (buddy allocator)
    space = drv.host.rc.mem_address_space
    space.write = _dropping(space.write, drv.mirror_page)
    info = await drv.discover()
    assert drv.mirror_lost and not drv.mirror
    assert info.device_id == dev.device_id
    res = await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    assert res.config == bytes(dev.config)
    fw.stop.set()
    await task


def _dropping(write, page: int):
    """The host's RAM writer, dropping every write into the page (the device's and the
    driver's zeroing of it, which changes nothing: it is zero already)."""
    async def write_unless_page(addr: int, data: bytes) -> None:
        if not page <= addr < page + DEV.SIZE:
            await write(addr, data)
    return write_unless_page


@cocotb.test()
async def test_engine_refuses_a_mirror_write(dut):
    """Bus mastering off while the device changes its config: the engine refuses the mirror
    writes (NO_BUS_MASTER), the device turns the mirror off and sets MIRROR_FAILED; the
    driver's next change, woken with nothing new in RAM, reads BAR0's state and goes on
    there."""
    tb, dev, fw, task = await booted(dut)
    drv = AsyncTransport(tb.host, mirror=True)
    await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    assert drv.mirror
    cmd = await tb.host.dev.config_read_word(layout.PciHeader.COMMAND)
    await tb.host.dev.config_write_word(layout.PciHeader.COMMAND, cmd & ~layout.PCI_COMMAND_MASTER)
    new = bytearray(dev.config)
    new[NetConfig.MTU.offset:NetConfig.MTU.offset + 2] = (2000).to_bytes(2, "little")
    await fw.update_config(bytes(new), notify=False)
    await fw.page.settle()
    assert fw.page.failed and not fw.page.addr
    await tb.host.dev.config_write_word(layout.PciHeader.COMMAND, cmd)
    await drv.mailbox(MboxOp.NOP)
    assert drv.mirror_lost and not drv.mirror
    assert await drv.read_config(len(new)) == bytes(new)
    fw.stop.set()
    await task


@cocotb.test()
async def test_reset_while_mirror_writes_are_in_flight(dut):
    """A config rewrite (mirror writes started) and the driver's reset right behind it: the
    reset's ACK is the last write into the mirror, the mirror equals BAR0 after it, and
    after "mirror off" nothing more is written to the page."""
    tb, dev, fw, task = await booted(dut)
    drv = AsyncTransport(tb.host, mirror=True)
    await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    page = drv.mirror
    new = bytes(range(len(dev.config)))
    update = cocotb.start_soon(fw.update_config(new))
    await drv.reset()
    await update
    await Timer(2000, "ns")
    span = DEV.CONFIG_GENERATION.offset + 4 + len(new)
    assert await ram(tb, page, span) == await tb.host.read(layout.BAR_SRAM, DEV.BASE, span)
    await drv.unload()                      # reset, then mirror off
    mark = tb.tlps.mark()
    await fw.update_config(bytes(dev.config))
    await Timer(5000, "ns")
    assert mirror_writes(tb, mark, page) == [], "the device wrote the page after the mirror was turned off"
    fw.stop.set()
    await task


@cocotb.test()
async def test_function_level_reset_ends_the_mirror(dut):
    """After an FLR the device has forgotten the mirror: its fresh page goes to BAR0 only."""
    tb, dev, fw, task = await booted(dut)
    drv = AsyncTransport(tb.host, mirror=True)
    await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    page = drv.mirror
    await tb.host.function_level_reset(wait_ns=100_000)
    mark = tb.tlps.mark()
    await fw.update_config(bytes(dev.config))
    await Timer(5000, "ns")
    assert not fw.page.addr and mirror_writes(tb, mark, page) == []
    fw.stop.set()
    await task
