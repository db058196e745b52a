"""Linux's own drivers through the RTL: User-Mode Linux's virtio_uml talks vhost-user to the
project's back end (linux/vhost_user.py), which this bridge turns into the device's
bring-up over the async transport, doorbells and MSIs, while UML runs in real time beside
the simulation.

- UML's memory is registered in the root complex model at its guest (physical) addresses,
  so the RTL's DMA reads and writes what Linux's drivers see; the bench's own host memory
  moves above 4 GiB to make room (UML's physical memory starts near 0).
- UML's features, queue sizes and ring addresses (vhost-user) become the async
  transport's bring-up: reset, features, the queue table, DRIVER_OK.
- A kick (UML's eventfd) becomes a doorbell TLP; an MSI of a queue's vector becomes a write
  to that queue's call pipe.

The vhost-user back end runs in a thread; what it learns reaches the simulation through a
queue the bridge looks at every POLL_NS of simulated time (the simulation never waits on
the wall clock, and UML never waits on the simulation but for its requests).
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
from cocotb.triggers import Timer
from cocotbext.axi import MemoryRegion

from ..devices import bit
from ..host.pcie_host import HostTimeout
from ..host.virtio_core import QueueConfig
from ..layout import ASYNC_DOORBELL_QUEUE0, QueueMode, VirtioFeature
from ..linux import uml
from ..linux.vhost_user import GuestMemory, VhostUserBackend, Vring
from ..transports import Options, transport
from .bring_up import start_firmware

POLL_NS = 2_000                 # simulated time between looks at what UML sent
HIGH_HOST_MEMORY = 1 << 32      # where the bench's own host memory moves (UML's is below)
HOST_MEMORY_SIZE = 1 << 31


def move_host_memory_above_4g(rc) -> None:
    """The root complex model's allocation pool (0 to 2 GiB by default) moved to 4 GiB, so
    UML's physical memory can be registered where Linux's addresses point."""
    space = rc.mem_address_space
    space.regions = [r for r in space.regions if r[3] is not rc.mem_pool]
    rc.mem_pool = space.create_pool(HIGH_HOST_MEMORY, HOST_MEMORY_SIZE)


@dataclass
class BridgedDevice:
    """The back end's device (BackendDevice): what the firmware offers, less what UML cannot
    take; what UML sets up is queued for the simulation."""

    features: int
    queues: int
    config_bytes: bytes
    events: queue.Queue = field(default_factory=queue.Queue)

    def config(self) -> bytes:
        return self.config_bytes

    def set_features(self, features: int) -> None:
        self.events.put(("features", features))

    def vring_enabled(self, vring: Vring, memory: GuestMemory) -> None:
        self.events.put(("enabled", vring, memory))

    def vring_stopped(self, vring: Vring) -> int:
        return vring.base           # UML 6.1 never asks (it disables its queues instead)

    def kicked(self, vring: Vring) -> None:
        self.events.put(("kick", vring.index))


@dataclass
class UmlResult:
    console: list[str]
    kicks: dict[int, int]
    calls: dict[int, int]
    wall_s: float
    sim_ns: float


class UmlBridge:
    """One UML boot against one device of the async transport's firmware."""

    def __init__(self, tb, device, mode: QueueMode, workdir: Path, opts: Options = Options()):
        if mode not in (QueueMode.SPLIT, QueueMode.PACKED):
            raise ValueError(f"Linux's drivers use split or packed rings, not {mode.name}")
        self.tb, self.device, self.mode, self.workdir, self.opts = tb, device, mode, workdir, opts
        self.up = False
        self.pending_kicks: list[int] = []
        self.vrings: dict[int, Vring] = {}
        self.features: int | None = None
        self.registered: set[int] = set()
        self.msi_tasks = []
        self.stopping = False

    async def start(self) -> None:
        """Firmware running and discovered (its features and config, which UML asks for
        before it sets anything up); the back end listening."""
        move_host_memory_above_4g(self.tb.rc)
        spec = transport("async")
        self.fw, self.task = await start_firmware(self.tb, spec, self.device, self.opts)
        self.driver = spec.make_driver(self.tb.host, self.opts)
        self.info = await self.driver.discover()
        config = await self.driver.read_config(self.info.config_len)
        not_offered = uml.UML_NOT_OFFERED | (bit(VirtioFeature.RING_PACKED) if self.mode == QueueMode.SPLIT else 0)
        self.bridged = BridgedDevice(self.info.features & (1 << 64) - 1 & ~not_offered, self.info.num_queues,
                                     bytes(config))
        # a unix socket's path has at most 107 bytes: a short folder of its own, not the work dir
        self.sockdir = Path(tempfile.mkdtemp(prefix="virtio-ep-uml-"))
        self.backend = VhostUserBackend(self.sockdir / f"{self.device.name}.sock", self.bridged)
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.backend.serve(accept_timeout_s=60)
        except BaseException as exc:        # the bridge fails the run with it
            self.errors.append(exc)

    async def run(self, script: str, modules: list[str], timeout_s: float) -> UmlResult:
        """Boot UML with `script` as init; serve it until it prints DONE (or fail after
        `timeout_s` of wall time, with its console's last lines)."""
        initrd = self.workdir / "initrd.gz"
        uml.build_initramfs(script, modules, initrd)
        t0, sim0 = time.monotonic(), self.tb.now_ns()
        run = uml.UmlRun(initrd, [(self.backend.path, int(self.info.device_id))], self.workdir / "uml.log")
        def done() -> bool:
            return any(line.startswith("DONE") for line in run.lines)
        try:
            while not done():
                if self.errors:
                    raise AssertionError(f"vhost-user back end failed: {self.errors[0]}\n{run.tail()}")
                if run.proc.poll() is not None and not done():       # DONE may come with the exit
                    raise AssertionError(f"UML exited ({run.proc.returncode}) before DONE:\n{run.tail()}")
                if time.monotonic() - t0 > timeout_s:
                    raise AssertionError(f"UML printed no DONE in {timeout_s} s of wall time "
                                         f"({(self.tb.now_ns() - sim0) / 1e3:.0f} us simulated):\n{run.tail()}")
                await self._pump()
                await Timer(POLL_NS, "ns")
        finally:
            run.stop()
            self.backend.stop()
            self.thread.join(timeout=10)
            shutil.rmtree(self.sockdir, ignore_errors=True)
            self.stopping = True
            for t in self.msi_tasks:
                await t
        return UmlResult(list(run.lines), {i: v.kicks for i, v in self.vrings.items()},
                         {i: v.calls for i, v in self.vrings.items()}, time.monotonic() - t0, self.tb.now_ns() - sim0)

    async def _pump(self) -> None:
        """Everything the back end queued since the last look, in order."""
        while True:
            try:
                event = self.bridged.events.get_nowait()
            except queue.Empty:
                return
            kind = event[0]
            if kind == "features":
                self.features = event[1]
            elif kind == "enabled":
                vring, memory = event[1], event[2]
                self._register(memory)
                self.vrings[vring.index] = vring
                if len(self.vrings) == self.info.num_queues and not self.up:
                    await self._bring_up()
            elif kind == "kick":
                if self.up:
                    await self._doorbell(event[1])
                else:
                    self.pending_kicks.append(event[1])

    def _register(self, memory: GuestMemory) -> None:
        for r in memory.regions:
            if r.guest_addr not in self.registered:
                # UML's mapping itself is the root complex's memory there: the RTL's DMA
                # and Linux share the bytes
                self.tb.rc.mem_address_space.register_region(MemoryRegion(r.size, mem=r.view), r.guest_addr)
                self.registered.add(r.guest_addr)

    async def _bring_up(self) -> None:
        """UML's set-up as the async transport's: reset, its features, its rings, DRIVER_OK;
        then the kicks that came meanwhile, and one task per queue forwarding its MSIs."""
        if self.features is None:
            raise AssertionError("UML enabled its queues before setting features")
        await self.driver.reset()
        await self.driver.set_features(self.features)
        configs = await self.driver.setup_queues([
            QueueConfig(i, v.num, v.desc, v.avail, v.used, msi_vector=1 + i, mode=self.mode)
            for i, v in sorted(self.vrings.items())])
        await self.driver.driver_ok()
        self.up = True
        for q in configs:
            self.msi_tasks.append(cocotb.start_soon(self._forward_msis(q.index, q.msi_vector)))
        for index in self.pending_kicks:
            await self._doorbell(index)
        self.pending_kicks.clear()

    async def _doorbell(self, index: int) -> None:
        await self.tb.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + index, 0)

    async def _forward_msis(self, index: int, vector: int) -> None:
        """Each MSI of the queue's vector as a write to its call pipe (several MSIs seen at
        once as one: Linux's interrupt handler takes every used buffer); ends with the run."""
        seen = self.tb.host.msi_count(vector)
        while not self.stopping:
            try:
                await self.tb.host.wait_msi(vector, seen + 1, 10 * POLL_NS)
            except HostTimeout:
                continue
            seen = self.tb.host.msi_count(vector)
            self.backend.call(index)

    async def stop(self) -> None:
        self.fw.stop.set()
        await self.task


# -- workloads ------------------------------------------------------------------------------

PREAMBLE = """#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in $($bb cat /lib/modules/order); do $bb insmod /lib/modules/$m || echo "FAILED insmod $m"; done
"""
ICMP_FRAME_OVERHEAD = 14 + 20 + 8       # Ethernet, IPv4 and ICMP headers around ping's payload


def net_script(frames: int, settle_s: int = 120) -> str:
    """eth0 up with a static neighbour (no ARP), then `frames` ICMP echo requests of 60 to
    1514 bytes on the wire, sent at once; the device loops every frame back (to a MAC not
    ours: counted by virtio_net, then dropped by the stack). Waits until every frame went out
    and as many came back, then prints Linux's counters."""
    sizes = [18 + (1472 - 18) * k // max(frames - 1, 1) for k in range(frames)]
    return PREAMBLE + f"""$bb ip link set eth0 up
$bb ip addr add 10.0.0.1/24 dev eth0
$bb arp -s 10.0.0.2 02:00:00:00:00:02
for s in {' '.join(map(str, sizes))}; do $bb ping -c 1 -w 1 -s $s 10.0.0.2 >/dev/null 2>&1 & done
wait
st=/sys/class/net/eth0/statistics
n=0
# frames the TX ring had no room for wait in the qdisc after their ping exited: wait for all
while {{ [ $($bb cat $st/tx_packets) -lt {frames} ] || [ $($bb cat $st/rx_packets) -lt $($bb cat $st/tx_packets) ]; }} \
      && [ $n -lt {settle_s} ]; do $bb sleep 1; n=$((n+1)); done
echo "NETSTATS $($bb cat $st/tx_packets) $($bb cat $st/rx_packets) $($bb cat $st/tx_bytes) $($bb cat $st/rx_bytes)"
echo DONE
$bb sleep 3600
"""


@dataclass
class NetOutcome:
    frames_sent: int                # ICMP requests the workload sent
    tx_packets: int                 # Linux's counters
    rx_packets: int
    tx_bytes: int
    rx_bytes: int
    delivered: int                  # the device's
    delivered_bytes: int
    result: UmlResult


async def uml_net(tb, mode: QueueMode, workdir: Path, frames: int = 200, timeout_s: float = 600) -> NetOutcome:
    """virtio_net in UML sends `frames` frames of 60 to 1514 bytes through the RTL's loopback;
    Linux's counters and the device's must agree (AssertionError saying which differ)."""
    from ..devices import net_device
    bridge = UmlBridge(tb, net_device(), mode, workdir)
    await bridge.start()
    result = await bridge.run(net_script(frames), ["virtio_net"], timeout_s)
    await bridge.stop()
    line = next((x for x in result.console if x.startswith("NETSTATS")), None)
    failed = [x for x in result.console if x.startswith("FAILED")]
    if failed or line is None:
        raise AssertionError(f"net workload: {failed or 'no NETSTATS line'}\n" + "\n".join(result.console[-30:]))
    tx, rx, txb, rxb = (int(v) for v in line.split()[1:])
    backend = bridge.fw.backend
    out = NetOutcome(frames, tx, rx, txb, rxb, backend.delivered, backend.delivered_bytes, result)
    problems = []
    if tx < frames:
        problems.append(f"Linux sent {tx} frames, fewer than the workload's {frames}")
    if rx != tx or txb != rxb:
        problems.append(f"Linux sent {tx} frames ({txb} bytes) and received {rx} ({rxb} bytes)")
    if backend.delivered != rx or backend.delivered_bytes != rxb:
        problems.append(f"the device delivered {backend.delivered} frames ({backend.delivered_bytes} bytes), "
                        f"Linux received {rx} ({rxb} bytes)")
    if problems:
        raise AssertionError("; ".join(problems) + f"; UML's console (uml.log in {workdir}) ends:\n"
                             + "\n".join(result.console[-15:]))
    return out
