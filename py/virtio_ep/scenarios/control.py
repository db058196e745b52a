"""The control-plane measurement `make sim`, `make bench` and `make report` run, and
tb_control checks: one registered transport's driver probes one device, each operation
(discovery, reset, features, queue setup, DRIVER_OK, config read) measured apart.

For virtio-pci the stock driver runs first and every way its view differs from the
device's is recorded as a failure; then a patched driver (waits a polling period after
each select and status write) is measured."""

from __future__ import annotations

import statistics
from dataclasses import asdict

from cocotb.triggers import ClockCycles, SimTimeoutError, with_timeout

from .. import layout
from ..devices import DEVICES
from ..host.virtio_core import default_driver_features, virtio_probe
from ..host.virtio_pci import VirtioPciTransport
from ..layout import PciCommonCfg, VirtioStatus
from ..runconfig import ResultRow
from ..testbench import OpRecorder
from ..transports import VIRTIO_PCI_SETTLE_MARGIN, Options, transport
from .bring_up import start_firmware, wait_driver_ok_applied

FEATURE_MASK_64 = (1 << 64) - 1
PUBLISHED_MSI_CYCLES = 50            # the async firmware's "page published" MSI lands
APPLIED_TIMEOUT_NS = 8_000          # unacknowledged set-up: the device applies DRIVER_OK within this
ASLEEP_TIMEOUT_NS = 200_000


async def stock_virtio_pci_failures(tb, fw, dev, poll_cycles: int) -> list[str]:
    """Probe with the unpatched driver; list every disagreement with the device."""
    failures = []
    drv = VirtioPciTransport(tb.host)
    try:
        res = await virtio_probe(drv, default_driver_features(), tb.alloc_host)
    except Exception as exc:                                  # the probe itself may give up
        return [f"stock probe aborted: {exc}"]
    await ClockCycles(tb.dut.clk, 3 * poll_cycles)            # let the device catch up
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


async def measure_setup(tb, transport_name: str, device: str, opts: Options = Options(),
                        latencies: str = "none") -> ResultRow:
    """Start the firmware, probe with the transport's driver, measure each operation.
    The bench must have been started without enumeration (virtio-pci sets the function's
    identity first). Checks that the driver read the device's config."""
    spec = transport(transport_name)
    dev = DEVICES[device]()
    if spec.virtio_pci_identity:
        tb.dev.functions[0].vendor_id = layout.PCI_VENDOR_ID_VIRTIO
        tb.dev.functions[0].device_id = layout.PCI_DEVICE_ID_MODERN_BASE + dev.device_id
    await tb.init()
    fw, task = await start_firmware(tb, spec, dev, opts)
    await ClockCycles(tb.dut.clk, PUBLISHED_MSI_CYCLES)
    poll = spec.poll_cycles(opts)
    failures = await stock_virtio_pci_failures(tb, fw, dev, poll) if spec.name == "virtio-pci" else []
    rec = OpRecorder(tb)
    awake0 = tb.cpu.awake_ns
    res = await virtio_probe(spec.make_driver(tb.host, opts), default_driver_features(), tb.alloc_host, rec)
    assert res.config == bytes(dev.config), f"{spec.name}/{device}: config differs"
    applied_after = None
    if spec.posted_setup:
        # no acknowledgement exists: the bench watches the firmware to see when the device
        # had actually applied the driver's final status
        t_ok = next(op.start_ns for op in rec.ops if op.name == "driver ok")
        seen = await wait_driver_ok_applied(tb, fw, APPLIED_TIMEOUT_NS, step=lambda: ClockCycles(tb.dut.clk, 4))
        applied_after = tb.cycles(t_ok, seen)
    try:          # the firmware's busy time is complete once it sleeps again
        await with_timeout(tb.cpu.asleep.wait(), ASLEEP_TIMEOUT_NS, "ns")
    except SimTimeoutError:
        raise AssertionError(f"{spec.name}: the firmware did not go back to sleep within 200 us") from None
    firmware_busy_ns = tb.cpu.awake_ns - awake0
    fw.stop.set()
    await task
    ops = [{k: v for k, v in asdict(op).items() if k not in ("read_offsets", "start_ns")} for op in rec.ops]
    totals = {k: sum(op[k] for op in ops) for k in ("host_reads", "host_writes", "doorbells", "msis",
                                                    "device_reads", "device_writes", "host_stall_ns")}
    for op in rec.ops:
        tb.log.info("%s %-8s %-12s reads %d writes %d doorbells %d MSIs %d cycles %.0f", spec.name, device,
                    op.name, op.host_reads, op.host_writes, op.doorbells, op.msis, op.cycles)
    for f in failures:
        tb.log.info("%s %s: stock driver failure: %s", spec.name, device, f)
    return ResultRow("setup", spec.name, device, latencies=latencies, poll_cycles=poll, **totals,
                     firmware_busy_ns=firmware_busy_ns, latency_cycles=sum(op["cycles"] for op in ops), ops=ops,
                     failures=failures, read_offsets=sorted({off for op in rec.ops for off, _ in op.read_offsets}),
                     applied_after=applied_after)


WAIT_SAMPLES = 8


async def virtio_pci_select_waits(tb, device: str, periods=(256, 1024, 4096)) -> list[tuple[int, float, float, float]]:
    """How long a virtio-pci driver must wait after a select write for a polling firmware to
    refresh the window behind it: for each polling period, WAIT_SAMPLES selects at varied
    phases; (period, min, mean, max) in cycles. Each wait is at most one period plus one
    polling pass (VIRTIO_PCI_SETTLE_MARGIN), else AssertionError. The bench must have been
    started without enumeration."""
    spec = transport("virtio-pci")
    dev = DEVICES[device]()
    tb.dev.functions[0].vendor_id = layout.PCI_VENDOR_ID_VIRTIO
    tb.dev.functions[0].device_id = layout.PCI_DEVICE_ID_MODERN_BASE + dev.device_id
    await tb.init()
    stock = VirtioPciTransport(tb.host)
    rows = []
    for period in periods:
        fw, task = await start_firmware(tb, spec, dev, Options(poll_cycles=period))
        waits = []
        for n in range(WAIT_SAMPLES):
            q = (n + 1) % 2
            t0 = tb.now_ns()
            await stock.wr(PciCommonCfg.QUEUE_SELECT, q)
            while await stock.rd(PciCommonCfg.QUEUE_NOTIFY_OFF) != 1 + q:
                assert tb.cycles(t0, tb.now_ns()) < 4 * period + 5000, "window never updated"
            waits.append(tb.cycles(t0, tb.now_ns()))
            await ClockCycles(tb.dut.clk, (1 + n * 37 % 11) * period // 11)    # vary the phase
        rows.append((period, min(waits), statistics.mean(waits), max(waits)))
        assert max(waits) <= period + VIRTIO_PCI_SETTLE_MARGIN, f"period {period}: waited {max(waits):.0f} cycles"
        fw.stop.set()
        await task
    return rows


def select_wait_table(rows) -> str:
    lines = ["poll period  min wait  mean wait  max wait   (cycles of 4 ns; firmware pass cost included)"]
    lines += [f"{p:11d} {lo:9.0f} {mean:10.0f} {hi:9.0f}" for p, lo, mean, hi in rows]
    return "\n".join(lines) + "\n"
