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

import functools
import hashlib
import queue
import random
import shutil
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cocotb
from cocotb.triggers import Timer
from cocotbext.axi import MemoryRegion

from ..devices import bit
from ..firmware.datapath import DmaMemory
from ..host.pcie_host import HostTimeout
from ..host.virtio_core import QueueConfig
from ..layout import ASYNC_DOORBELL_QUEUE0, BLK_SECTOR_SIZE, QueueMode, VirtioDeviceId, VirtioFeature, feature_names
from ..linux import uml
from ..linux.vhost_user import GuestMemory, VhostUserBackend, VhostUserError, Vring
from ..transports import Options, transport
from .bring_up import start_firmware

POLL_NS = 2_000                 # simulated time between looks at what UML sent
# a queue whose available buffers the device has not taken for this long (wall time) has
# stalled: Linux's block layer times a request out after 30 s (blk-mq's default, 30 * HZ; virtio_blk 6.1
# sets none of its own), and hangs on it without a message
STALL_S = 30.0
# faults the bridge can inject, to show how a run fails (tb/test_uml.py)
FAULTS = {
    "drop-kicks": "kicks after the first few are not rung as doorbells: the queue stalls",
    "close-socket": "the back end hangs up on UML after the device is up",
}
KICKS_BEFORE_FAULT = 4
FAULT_STALL_S = 5.0             # with a fault injected the stall is reported sooner (its test waits less)
FAULT_TIMEOUT_S = 180.0         # and a run that still hangs fails in minutes, not ten
HIGH_HOST_MEMORY = 1 << 32      # where the bench's own host memory moves (UML's is below)
HOST_MEMORY_SIZE = 1 << 31
# virtio_uml sets every queue up with 256 entries (MAX_SUPPORTED_QUEUE_SIZE in
# arch/um/drivers/virtio_uml.c, Linux 6.1): the device must allow that many
UML_QUEUE_SIZE = 256
BLOCK_CAPACITY = 1 << 20        # the RAM disk (in the device's 2 MiB of memory)
PAGE = 4096                     # UML's page size


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
        self.events.put(("kick", vring.index, time.monotonic()))


@dataclass
class Answer:
    """Completions the bridge saw on a queue (it looks every POLL_NS): `requests` the device
    completed since its last look, and how long the oldest kick still waiting had waited
    (simulated and wall time; None when no kick waited, as when the device found the work
    by itself, and on virtio_net's RX queues, whose kicks post buffers). With one request in flight that is the request's time from kick to
    completion; when the driver batches, the oldest kick's."""

    queue: int
    requests: int
    sim_ns: float | None
    wall_s: float | None


@dataclass
class UmlResult:
    console: list[str]
    kicks: dict[int, int]
    calls: dict[int, int]
    wall_s: float
    sim_ns: float
    answers: list[Answer]
    features: list[str]             # what Linux negotiated, by name

    def longest(self) -> Answer | None:
        """The completions whose kick had waited longest in wall time."""
        return max((a for a in self.answers if a.wall_s is not None), key=lambda a: a.wall_s, default=None)


class UmlBridge:
    """One UML boot against one device of the async transport's firmware."""

    def __init__(self, tb, device, mode: QueueMode, workdir: Path, opts: Options = Options(),
                 stall_s: float = STALL_S, fault: str | None = None):
        if mode not in (QueueMode.SPLIT, QueueMode.PACKED):
            raise ValueError(f"Linux's drivers use split or packed rings, not {mode.name}")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"fault {fault!r}: use one of {', '.join(FAULTS)}")
        self.tb, self.device, self.mode, self.workdir, self.opts = tb, device, mode, workdir, opts
        self.stall_s, self.fault = stall_s, fault
        self.rung = 0                   # kicks rung as doorbells
        self.completed: dict[int, int] = {}     # the device's completions per queue at the last look
        self.untaken_since: dict[int, float] = {}   # queue: wall time its buffers were first seen untaken
        self.memory: GuestMemory | None = None
        self.up = False
        self.pending_kicks: list[int] = []
        self.vrings: dict[int, Vring] = {}
        self.features: int | None = None
        self.registered: set[int] = set()
        self.msi_tasks = []
        self.stopping = False
        self.waiting: dict[int, deque[tuple[float, float]]] = {}    # kicks not yet answered: (sim ns, wall s)
        self.answers: list[Answer] = []
        self.request_log = None

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

    async def run(self, script: str, modules: list[str], timeout_s: float,
                  data: dict[str, bytes] | None = None) -> UmlResult:
        """Boot UML with `script` as init (and `data` under /data); serve it until it prints
        DONE (or fail after `timeout_s` of wall time, with its console's last lines). Each
        look that found completions is logged in requests.log beside UML's console log."""
        initrd = self.workdir / "initrd.gz"
        uml.build_initramfs(script, modules, initrd, data)
        self.request_log = (self.workdir / "requests.log").open("w")
        self.request_log.write("# completions per look: queue, requests completed since the last look, simulated us "
                               "and wall s since the oldest kick waiting (- if none)\n")
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
                if not self.thread.is_alive() and not done():
                    raise AssertionError("the vhost-user connection closed before DONE (UML hung up, or the back "
                                         f"end did); {self.queue_states()}\n{run.tail()}")
                if time.monotonic() - t0 > timeout_s:
                    raise AssertionError(f"UML printed no DONE in {timeout_s} s of wall time "
                                         f"({(self.tb.now_ns() - sim0) / 1e3:.0f} us simulated); "
                                         f"{self.queue_states()}\n{run.tail()}")
                await self._pump()
                self._watch(run)
                await Timer(POLL_NS, "ns")
        finally:
            run.stop()
            self.backend.stop()
            self.thread.join(timeout=10)
            shutil.rmtree(self.sockdir, ignore_errors=True)
            self.stopping = True
            for t in self.msi_tasks:
                await t
            self.request_log.close()
        return UmlResult(list(run.lines), {i: v.kicks for i, v in self.vrings.items()},
                         {i: v.calls for i, v in self.vrings.items()}, time.monotonic() - t0, self.tb.now_ns() - sim0,
                         self.answers, feature_names(self.features or 0, self.info.device_id))

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
                self.memory = memory
                self.vrings[vring.index] = vring
                if len(self.vrings) == self.info.num_queues and not self.up:
                    await self._bring_up()
            elif kind == "kick":
                self.waiting.setdefault(event[1], deque()).append((self.tb.now_ns(), event[2]))
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
        self.rung += 1
        if self.fault == "drop-kicks" and self.rung > KICKS_BEFORE_FAULT:
            return
        if self.fault == "close-socket" and self.rung > KICKS_BEFORE_FAULT:
            self.backend.stop()
        await self.tb.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + index, 0)

    def watched(self, index: int) -> bool:
        """Whether every kick of the queue asks the device for an answer: all but virtio_net's
        RX queues (even; an odd count of queues ends with the control queue), whose buffers
        wait for frames."""
        queues = self.info.num_queues
        control = queues % 2 == 1 and index == queues - 1
        return not (self.device.device_id == VirtioDeviceId.NET and index % 2 == 0 and not control)

    def _watch(self, run) -> None:
        """Completions since the last look, logged (`_completed`). A watched queue whose
        buffers the driver made available and the device has not taken for `stall_s` has
        stalled: fail now, as the guest would hang (AssertionError with the queues' state)."""
        now = time.monotonic()
        for index in self.vrings:
            total = self._requests(index)
            if total != self.completed.get(index, 0):
                self._completed(index, total - self.completed.get(index, 0))
                self.completed[index] = total
            if not (self.up and self.watched(index) and self._untaken(index)):
                self.untaken_since.pop(index, None)
                continue
            since = self.untaken_since.setdefault(index, now)
            if now - since > self.stall_s:
                raise AssertionError(f"queue {index} stalled: the driver made buffers available {now - since:.1f} s "
                                     f"ago (wall) and the device has not taken them; {self.queue_states()}\n"
                                     + run.tail())

    def _untaken(self, index: int) -> bool:
        """Whether UML's ring holds an entry the device has not taken (the bench reads UML's
        memory, as a checker may; the device's position is the firmware's)."""
        dq = self.fw.dq.get(index)
        if dq is None or self.memory is None:
            return False
        try:
            return dq.untaken_in(self.memory.read)
        except VhostUserError:
            return False                        # UML's memory is gone: the connection closed (run reports it)

    def _requests(self, index: int) -> int:
        """Requests the device has completed on queue `index` (0 before bring-up)."""
        return self.fw.dq[index].requests if self.up and index in self.fw.dq else 0

    def queue_states(self) -> str:
        """Each queue's kicks, calls and the device's completions (for failure messages)."""
        return "queues: " + ", ".join(
            f"{i}: {v.kicks} kicks, {v.calls} calls, {self._requests(i)} completed"
            for i, v in sorted(self.vrings.items()))

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

    def _completed(self, index: int, requests: int) -> None:
        """`requests` completions on queue `index` since the last look: logged with the wait of
        the oldest kick still waiting; as many kicks as requests leave the wait list."""
        waiting = self.waiting.setdefault(index, deque())
        if waiting and self.watched(index):        # an RX kick posts buffers: it asks no answer
            sim_ns, wall = waiting[0]
            answer = Answer(index, requests, self.tb.now_ns() - sim_ns, time.monotonic() - wall)
            self.request_log.write(f"q{index} {requests} {answer.sim_ns / 1e3:.2f} {answer.wall_s:.3f}\n")
        else:
            answer = Answer(index, requests, None, None)
            self.request_log.write(f"q{index} {requests} - -\n")
        self.answers.append(answer)
        for _ in range(min(requests, len(waiting))):
            waiting.popleft()

    async def stop(self) -> None:
        self.fw.stop.set()
        await self.task


def fault_args(fault: str | None) -> dict:
    return {"fault": fault, "stall_s": STALL_S if fault is None else FAULT_STALL_S}


def run_timeout(timeout_s: float, fault: str | None) -> float:
    return timeout_s if fault is None else min(timeout_s, FAULT_TIMEOUT_S)


# -- workloads ------------------------------------------------------------------------------

PREAMBLE = """#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in $($bb cat /lib/modules/order); do $bb insmod /lib/modules/$m || echo "FAILED insmod $m"; done
"""
PING_BATCH = 200                        # pings sent at once (frames in flight)


def net_script(frames: int, settle_s: int = 120) -> str:
    """eth0 up with a static neighbour (no ARP), then `frames` ICMP echo requests of 60 to
    1514 bytes on the wire, PING_BATCH at once; the device loops every frame back (to a MAC not
    ours: counted by virtio_net, then dropped by the stack). Waits until every frame went out
    and as many came back, then prints Linux's counters."""
    sizes = [18 + (1472 - 18) * k // max(frames - 1, 1) for k in range(frames)]
    # PING_BATCH pings at a time: UML's 128 MiB cannot fork a thousand at once
    batches = "\n".join(f"for s in {' '.join(map(str, sizes[k:k + PING_BATCH]))}; do "
                        "$bb ping -c 1 -w 1 -s $s 10.0.0.2 >/dev/null 2>&1 & done; wait"
                        for k in range(0, frames, PING_BATCH))
    return PREAMBLE + f"""$bb ip link set eth0 up
$bb ip addr add 10.0.0.1/24 dev eth0
$bb arp -s 10.0.0.2 02:00:00:00:00:02
{batches}
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


async def uml_net(tb, mode: QueueMode, workdir: Path, frames: int = 200, timeout_s: float = 600,
                  fault: str | None = None) -> NetOutcome:
    """virtio_net in UML sends `frames` frames of 60 to 1514 bytes through the RTL's loopback;
    Linux's counters and the device's must agree (AssertionError saying which differ)."""
    from ..devices import net_device
    bridge = UmlBridge(tb, net_device(), mode, workdir, **fault_args(fault))
    await bridge.start()
    result = await bridge.run(net_script(frames), ["virtio_net"], run_timeout(timeout_s, fault))
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


# -- block ----------------------------------------------------------------------------------

BLOCK_SIZES = (512, 4096, 8192, 16384, 32768, 65536)    # O_DIRECT request sizes; 64 KiB is SIZE_MAX
# writes in flight at once (a round); 8 of at most 64 KiB always fit apart on the 1 MiB disk
WRITES_PER_ROUND = 8


@dataclass
class BlockPlan:
    """What the block workload does: rounds of concurrent O_DIRECT writes (regions apart
    within a round, overlapping across rounds), a flush, then one O_DIRECT read at a time
    of every written region and of regions never written."""

    writes: list[list[tuple[int, bytes]]]       # per round: (byte offset, data)
    reads: list[tuple[int, int]]                # (byte offset, length)
    capacity: int

    @functools.cached_property
    def image(self) -> dict[int, bytes]:
        """Sector -> contents after every write (unwritten sectors read as zeros)."""
        sectors: dict[int, bytes] = {}
        for round_ in self.writes:
            for offset, data in round_:
                for k in range(0, len(data), BLK_SECTOR_SIZE):
                    sectors[(offset + k) // BLK_SECTOR_SIZE] = data[k:k + BLK_SECTOR_SIZE]
        return sectors

    def expected(self, offset: int, length: int) -> bytes:
        return b"".join(self.image.get(s, bytes(BLK_SECTOR_SIZE))
                        for s in range(offset // BLK_SECTOR_SIZE, (offset + length) // BLK_SECTOR_SIZE))


def block_plan(rng: random.Random, capacity: int, writes: int) -> BlockPlan:
    """`writes` writes of BLOCK_SIZES at random offsets (aligned to their size: O_DIRECT asks
    only 512 bytes, but a 1 MiB disk fits more of them so), WRITES_PER_ROUND to a round with
    no overlap inside a round; each round after the first starts with a write across the
    middle of an earlier one. Then reads of each written region and of as many random
    regions (some never written: zeros)."""
    rounds: list[list[tuple[int, bytes]]] = []
    for first in range(0, writes, WRITES_PER_ROUND):
        taken: list[tuple[int, int]] = []
        round_: list[tuple[int, bytes]] = []
        while len(round_) < min(WRITES_PER_ROUND, writes - first):
            size = rng.choice(BLOCK_SIZES)
            if rounds and not round_:         # across the middle of an earlier write
                at, data = rng.choice([w for r in rounds for w in r])
                offset = (at + len(data) // 2) // size * size
            else:
                offset = rng.randrange(capacity // size) * size
            if all(offset + size <= a or b <= offset for a, b in taken):
                taken.append((offset, offset + size))
                round_.append((offset, rng.randbytes(size)))
        rounds.append(round_)
    reads = [(o, len(d)) for round_ in rounds for o, d in round_]
    for _ in range(len(reads)):
        size = rng.choice(BLOCK_SIZES)
        reads.append((rng.randrange(capacity // BLK_SECTOR_SIZE - size // BLK_SECTOR_SIZE) * BLK_SECTOR_SIZE, size))
    return BlockPlan(rounds, reads, capacity)


def block_script(plan: BlockPlan) -> str:
    """The workload as init: writes from /data/wR_K (a round's in the background at once),
    a flush (fsync of the disk), reads one at a time with their MD5, Linux's I/O counters
    (/sys/block/vda/stat), DONE.

    busybox's dd (1.35, coreutils/dd.c: alloc_buf, clear_O_DIRECT) page-aligns only buffers
    of a page or more and, when O_DIRECT is refused (EINVAL), retries without it: requests
    of 512 bytes go through the page cache, which reads their 4 KiB page and writes it
    whole at the fsync; the larger ones reach the disk as O_DIRECT requests."""
    lines = ["[ -b /dev/vda ] || echo 'FAILED no /dev/vda'"]
    for r, round_ in enumerate(plan.writes):
        for k, (offset, data) in enumerate(round_):       # one request each: bs is the size
            lines.append(f"{{ $bb dd if=/data/w{r}_{k} of=/dev/vda bs={len(data)} count=1 seek={offset} "
                         f"oflag=seek_bytes,direct conv=notrunc 2>/dev/null || echo 'FAILED write {r}_{k}'; }} &")
        lines.append("wait")
    lines.append("$bb dd if=/dev/null of=/dev/vda conv=notrunc,fsync 2>/dev/null || echo 'FAILED flush'")
    for k, (offset, length) in enumerate(plan.reads):
        lines.append(f"echo \"BLKREAD {k} $($bb dd if=/dev/vda bs={length} count=1 skip={offset} "
                     f"iflag=skip_bytes,direct 2>/dev/null | $bb md5sum)\"")
    lines.append('echo "BLKSTAT $($bb cat /sys/block/vda/stat)"')
    return PREAMBLE + "\n".join(lines) + "\necho DONE\n$bb sleep 3600\n"


# /sys/block/<dev>/stat fields (Linux 6.1, Documentation/block/stat.rst): read I/Os, read
# sectors, write I/Os, write sectors, flush I/Os
STAT_FIELDS = (0, 2, 4, 6, 15)


@dataclass
class BlockOutcome:
    writes: int                     # the workload's
    buffered: int                   # writes busybox's dd made through the page cache (block_script)
    reads: int
    bytes_written: int
    bytes_read: int
    linux: tuple[int, ...]          # Linux's reads, sectors read, writes, sectors written, flushes
    device: tuple[int, ...]         # the RAM disk's, the same way
    result: UmlResult


async def uml_block(tb, mode: QueueMode, workdir: Path, writes: int = 24, seed: int = 1,
                    timeout_s: float = 600, fault: str | None = None) -> BlockOutcome:
    """virtio_blk in UML writes, flushes and reads the RTL's RAM disk (block_plan); every
    read's MD5 must be the plan's, Linux's read, write and flush counts the device's, and
    the RAM disk (read back by the device's DMA after the run) must hold what was written
    (AssertionError saying what differs)."""
    from ..devices import block_device
    plan = block_plan(random.Random(seed), BLOCK_CAPACITY, writes)
    bridge = UmlBridge(tb, block_device(BLOCK_CAPACITY, queue_size=UML_QUEUE_SIZE), mode, workdir, **fault_args(fault))
    await bridge.start()
    data = {f"w{r}_{k}": d for r, round_ in enumerate(plan.writes) for k, (_, d) in enumerate(round_)}
    result = await bridge.run(block_script(plan), ["virtio_blk"], run_timeout(timeout_s, fault), data)
    await bridge.stop()
    disk = bridge.fw.backend
    console = result.console
    problems = [x for x in console if x.startswith("FAILED")]
    got = {int(x.split()[1]): x.split()[2] for x in console if x.startswith("BLKREAD") and len(x.split()) > 2}
    for k, (offset, length) in enumerate(plan.reads):
        want = hashlib.md5(plan.expected(offset, length)).hexdigest()
        if got.get(k) != want:
            problems.append(f"read {k} ({length} bytes at {offset}): MD5 {got.get(k)}, the plan's {want}")
    stat = next((x.split()[1:] for x in console if x.startswith("BLKSTAT")), None)
    linux = tuple(int(stat[i]) for i in STAT_FIELDS) if stat else ()
    # Linux counts each fsync twice: its flush request, and the empty write (REQ_OP_WRITE |
    # REQ_PREFLUSH, blkdev_issue_flush) that carried it, ended as a write of no sectors
    device = (disk.reads, disk.sectors_read, disk.writes + disk.flushes, disk.sectors_written, disk.flushes)
    if linux != device:
        problems.append(f"Linux's reads, sectors read, writes, sectors written and flushes {linux}; "
                        f"the device's {device}")
    problems += await disk_differences(tb, bridge.fw, disk, plan.image)
    written = [d for round_ in plan.writes for _, d in round_]
    out = BlockOutcome(writes, sum(len(d) < PAGE for d in written), len(plan.reads), sum(map(len, written)),
                       sum(n for _, n in plan.reads), linux, device, result)
    if problems:
        raise AssertionError("block workload: " + "; ".join(problems[:8]) + f"; UML's console (uml.log in {workdir}) "
                             "ends:\n" + "\n".join(console[-15:]))
    return out


async def disk_differences(tb, fw, disk, image: dict[int, bytes]) -> list[str]:
    """The RAM disk against `image` (sector -> contents Linux wrote), read back by the
    device's own DMA into host memory after the firmware stopped. Every sector the plan
    wrote must be on the disk with its bytes; a sector the disk has that the plan did not
    write must hold zeros (Linux's page cache writes whole 4 KiB pages: a 512-byte write
    without O_DIRECT alignment comes back as its page, read first and written whole)."""
    written = [s for s, w in enumerate(disk.written) if w]
    missing = sorted(set(image) - set(written))
    problems = [f"sectors Linux wrote that the disk does not hold: {missing[:8]}"] if missing else []
    region = tb.rc.mem_pool.alloc_region(disk.capacity)
    host = region.get_absolute_address(0)
    mem = DmaMemory(fw.cpu)
    runs: list[list[int]] = []
    for s in written:
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + 1
        else:
            runs.append([s, s + 1])
    for first, end in runs:
        await mem.store(disk.base + first * BLK_SECTOR_SIZE, host + first * BLK_SECTOR_SIZE,
                        (end - first) * BLK_SECTOR_SIZE)
    await mem.drain()
    await mem.read(host, 4)         # a read's completion follows the posted writes before it
    for s in written:
        got = await region.read(s * BLK_SECTOR_SIZE, BLK_SECTOR_SIZE)
        if got != image.get(s, bytes(BLK_SECTOR_SIZE)):
            problems.append(f"sector {s} on the disk differs from what Linux wrote there")
    return problems
