"""The pyuvm environment for virtio requests: net frames, block requests and entropy reads
run through a real driver, transport and firmware over the RTL; the transport and ring
mode are a `Variant` chosen by factory override; a scoreboard checks every response
against reference models (the frame sent, a mirror of the disk, the lengths asked) and the
firmware's own counts in `check_phase`; coverage counts request types, sizes, statuses,
modes, transports, intake, ring wrap and error kinds."""

from __future__ import annotations

from dataclasses import dataclass

from pyuvm import ConfigDB, uvm_analysis_port, uvm_driver, uvm_env, uvm_object, uvm_sequencer, uvm_subscriber

from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.kernel_queue import KernelQueue
from virtio_ep.host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from virtio_ep.layout import ASYNC_DOORBELL_QUEUE0, BLK_SECTOR_SIZE, ENTROPY_MAX_REQUEST, NET_RX_QUEUE, NET_TX_QUEUE, \
    AsyncReason, BlkStatus, DescFlag, QueueMode, mode_name
from virtio_ep.rings.packed import PackedDriver, avail_flags, pack_desc as packed_desc
from virtio_ep.rings.push import PushDriver
from virtio_ep.rings.push import pack_entry
from virtio_ep.scenarios import bring_up as scenario
from virtio_ep.transports import TRANSPORTS, Options

from .covermodel import Group
from .env import Coverage, corrupt_last_byte, origin, tb_ready
from .items import BlkRequest, EntropyRead, NetFrame, RingCorruption, RingFill

QUEUE_SIZE = 16          # small rings: a seed's requests wrap every ring index several times
EVENT_TIMEOUT_NS = 500_000


@dataclass
class Bench:
    """What the driver and scoreboard work on: the running device (firmware, driver queues)
    brought up by the one bring-up, the device's name and the variant."""

    run: scenario.Bench
    device: str
    variant: "Variant"

    tb = property(lambda self: self.run.tb)
    fw = property(lambda self: self.run.fw)
    queues = property(lambda self: self.run.queues)


class Variant(uvm_object):
    """Async transport, split rings (the default). Subclasses select other variants; a test
    picks one with `uvm_factory().set_type_override_by_type(Variant, Other)`."""

    transport = "async"           # transports.TRANSPORTS name
    mode = QueueMode.SPLIT
    batch = False                 # firmware takes chains through the vectorized processors
    driver = "project"            # whose ring code drives the rings: the project's or Linux's

    @property
    def recoverable(self) -> bool:
        """A ring corruption can be staged and recovered: the transport lets the driver reset
        the device (the resource table does not) and the ring code is the project's (the
        corruption is written through its ring state)."""
        return TRANSPORTS[self.transport].acknowledges and self.driver == "project"

    def probe_options(self) -> dict:
        linux = {"event_idx": True, "indirect": True} if self.driver == "linux" else {}
        return {"queue_size": QUEUE_SIZE, "driver": self.driver, **linux}

    async def bring_up(self, tb, device: str) -> Bench:
        run = await scenario.bring_up(tb, self.transport, device, self.mode, Options(batch=self.batch),
                                      **self.probe_options())
        return Bench(run, device, self)

    async def probe(self, bench: Bench) -> None:
        """Reset, negotiate, set up every queue again (the driver-side queues in bench)."""
        await scenario.probe(bench.run, self.mode, **self.probe_options())

    def label(self) -> tuple[str, str, str, str]:
        return self.transport, mode_name(self.mode), "batch" if self.batch else "scalar", self.driver


class PackedVariant(Variant):
    mode = QueueMode.PACKED


class PushVariant(Variant):
    mode = QueueMode.PUSH


class PushSelfVariant(Variant):
    mode = QueueMode.PUSH_SELF


class BatchVariant(Variant):
    """Async split rings, the firmware taking chains a batch at a time (vectorized)."""

    batch = True


class PackedBatchVariant(Variant):
    mode = QueueMode.PACKED
    batch = True


class RestableVariant(Variant):
    """Resource-table transport: split rings the device placed in its BAR0."""

    transport = "restable"


class LinuxVariant(Variant):
    """Async split rings driven by Linux's own virtio_ring.c (event index, indirect)."""

    driver = "linux"


class LinuxPackedVariant(Variant):
    mode = QueueMode.PACKED
    driver = "linux"


VARIANTS = (Variant, PackedVariant, PushVariant, PushSelfVariant, BatchVariant, PackedBatchVariant, RestableVariant,
            LinuxVariant, LinuxPackedVariant)


async def get_bench() -> Bench:
    await tb_ready().wait()
    return ConfigDB().get(None, "", "BENCH")


class VirtioDriver(uvm_driver):
    """Runs virtio request items through the host's virtio drivers."""

    def build_phase(self):
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        bench = await get_bench()
        self.attach(bench)
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.execute(bench, item)
            self.ap.write(item)
            self.seq_item_port.item_done()

    def attach(self, bench: Bench) -> None:
        q = bench.queues
        self.net = NetDriver(q) if bench.device == "net" else None
        self.blk = BlkDriver(q[0]) if bench.device == "block" else None
        self.rng = RngDriver(q[0]) if bench.device == "entropy" else None

    def frame(self, item: NetFrame) -> bytes:
        return item.payload

    async def execute(self, bench: Bench, item) -> None:
        if isinstance(item, NetFrame):
            if self.net.rx_posted < 2:
                await self.net.fill_rx(4)
            await self.net.send(self.frame(item), item.cuts or None)
            item.result = (await self.net.receive(1))[0]
            await self.net.reap_tx(1)
        elif isinstance(item, BlkRequest):
            if item.op == "read":
                item.status, item.result = await self.blk.read(item.sector, item.count)
            elif item.op == "write":
                item.status = await self.blk.write(item.sector, item.data)
            elif item.op == "flush":
                item.status = await self.blk.flush()
            elif item.op == "get_id":
                item.status, item.result = await self.blk.get_id()
            else:
                item.status = await self.blk.raw(0x55, item.sector, 1)
        elif isinstance(item, EntropyRead):
            item.result = await self.rng.read(item.length)
        elif isinstance(item, RingCorruption):
            await self.corrupt(bench, item)
        elif isinstance(item, RingFill):
            await self.fill(bench, item)

    async def fill(self, bench: Bench, item: RingFill) -> None:
        """Post requests until the ring has no room, then wait for them all."""
        if bench.device == "net":
            tx, rx = bench.queues[NET_TX_QUEUE], bench.queues[NET_RX_QUEUE]
            await self.net.fill_rx(room(rx))
            n = min(room(tx) // 2, self.net.rx_posted)      # a frame takes a header and a payload buffer
            item.payloads = [bytes((k * 31 + i) & 0xFF for i in range(item.size)) for k in range(n)]
            for frame in item.payloads:
                await self.net.send(frame)
            item.full = room(tx) < 2
            item.results = await self.net.receive(n)
            await self.net.reap_tx(n)
        else:
            q = bench.queues[0]
            n = room(q)
            for _ in range(n):
                await q.add([], [item.size])
            item.payloads, item.full = [b""] * n, room(q) == 0
            await q.kick()
            item.results = [length for _, length in await q.wait_used(n, 1_000_000)]

    async def corrupt(self, bench: Bench, item: RingCorruption) -> None:
        """Break a ring the device reads on notification (net: TX; the device looks at RX
        only when it has a frame) the way its mode allows, wait for the device's NEEDS_RESET,
        then reset and set the device up again."""
        q = bench.queues[NET_TX_QUEUE if bench.device == "net" else 0]
        tb, ring = bench.tb, q.ring
        transport = AsyncTransport(tb.host)
        await transport.discover()
        if q.mode == QueueMode.SPLIT:             # avail.idx far past the ring size
            r = ring.ring
            await q.mem.write(r.avail + 2, ((ring.avail_idx + r.size + 5) & 0xFFFF).to_bytes(2, "little"))
        elif q.mode == QueueMode.PACKED:          # a chain whose second descriptor never arrives
            r = ring.ring
            await q.mem.write(r.slot(ring.next_avail), packed_desc(0x1000, 64, 0, avail_flags(ring.avail_wrap) | DescFlag.NEXT))
        else:                                     # a slot with flags the device does not know
            await ring.bar_write(ring.ring.slot(ring.prod), pack_entry(0, 0x40, 64) + bytes(112))
            ring.prod = (ring.prod + 1) & 0xFFFF
        if q.mode != QueueMode.PUSH_SELF:         # (self-doorbelling: the slot write was the notification)
            # the doorbell directly: the driver's kick would rewrite avail.idx
            await tb.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + q.cfg.index, ring.prod if q.mode == QueueMode.PUSH else 0)
        state = await transport.wait_event(EVENT_TIMEOUT_NS)
        item.reason = state.reason if state.needs_reset else None
        await bench.variant.probe(bench)
        self.attach(bench)


class CorruptingVirtioDriver(VirtioDriver):
    """A known bug, injected by factory override: every frame's last byte is flipped on the
    way out. The scoreboard must catch it."""

    def frame(self, item: NetFrame) -> bytes:
        return corrupt_last_byte(item.payload)


class VirtioScoreboard(uvm_subscriber):
    """Reference models: the frame sent, a mirror of the disk, the length asked; and, in
    check_phase, the firmware's counts (no request lost or duplicated)."""

    def build_phase(self):
        self.errors: list[str] = []
        self.disk: dict[int, bytes] = {}
        self.frames = self.entropy_bytes = self.flushes = 0

    def write(self, item) -> None:
        if isinstance(item, NetFrame):
            self.frames += 1
            if item.result != item.payload:
                self.errors.append(f"{item}: came back different")
        elif isinstance(item, BlkRequest):
            self.check_blk(item)
        elif isinstance(item, EntropyRead):
            self.entropy_bytes += item.length
            if len(item.result) != item.length:
                self.errors.append(f"{item}: got {len(item.result)} bytes")
        elif isinstance(item, RingFill):
            self.check_fill(item)
        elif isinstance(item, RingCorruption) and item.reason != AsyncReason.BAD_RING:
            self.errors.append(f"ring corruption: device reported {item.reason}, expected BAD_RING")

    def check_fill(self, item: RingFill) -> None:
        if not item.payloads:
            self.errors.append(f"{item}: the ring had no room at all")
        if item.payloads and item.payloads[0]:                 # net: the frames, in order
            self.frames += len(item.payloads)
            if item.results != item.payloads:
                self.errors.append(f"{item}: frames came back different")
        else:                                                   # entropy: lengths
            self.entropy_bytes += sum(item.results)
            want = [min(item.size, ENTROPY_MAX_REQUEST)] * len(item.payloads)
            if item.results != want:
                self.errors.append(f"{item}: lengths {item.results}, expected {want}")

    def check_blk(self, item: BlkRequest) -> None:
        capacity = self.capacity
        inside = item.sector + item.count <= capacity
        expect = {"read": BlkStatus.OK if inside else BlkStatus.IOERR,
                  "write": BlkStatus.OK if inside else BlkStatus.IOERR,
                  "flush": BlkStatus.OK, "get_id": BlkStatus.OK, "unsupported": BlkStatus.UNSUPP}[item.op]
        if item.status != expect:
            self.errors.append(f"{item}: status {item.status}, expected {expect!r}")
            return
        if item.op == "flush":
            self.flushes += 1
        if item.op == "write" and inside:
            for k in range(item.count):
                self.disk[item.sector + k] = item.data[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE]
        if item.op == "read" and inside:
            for k in range(item.count):
                want = self.disk.get(item.sector + k, bytes(BLK_SECTOR_SIZE))
                if item.result[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE] != want:
                    self.errors.append(f"{item}: sector {item.sector + k} differs from the mirror")

    @property
    def capacity(self) -> int:
        return ConfigDB().get(None, "", "BENCH").fw.backend.capacity // BLK_SECTOR_SIZE

    def check_phase(self):
        backend = ConfigDB().get(None, "", "BENCH").fw.backend
        if hasattr(backend, "delivered") and backend.delivered != self.frames:
            self.errors.append(f"firmware delivered {backend.delivered} frames, {self.frames} were sent")
        if hasattr(backend, "bytes_delivered") and backend.bytes_delivered != self.entropy_bytes:
            self.errors.append(f"firmware delivered {backend.bytes_delivered} entropy bytes, {self.entropy_bytes} asked")
        if hasattr(backend, "flushes") and backend.flushes != self.flushes:
            self.errors.append(f"firmware flushed {backend.flushes} times, {self.flushes} asked")
        for e in self.errors[:10]:
            self.logger.error(e)
        assert not self.errors, f"scoreboard: {len(self.errors)} mismatches (first: {self.errors[0]})"


class InjectedBugVirtioScoreboard(VirtioScoreboard):
    """For the injected-bug test: the scoreboard must report every frame the corrupting
    driver sent, and each report must be that corruption (the frame came back with its last
    byte flipped); other mismatches, or none, fail the test."""

    def build_phase(self):
        super().build_phase()
        self.corrupted_frames = 0
        self.unexplained: list[str] = []

    def write(self, item) -> None:
        before = len(self.errors)
        super().write(item)
        if isinstance(item, NetFrame):
            self.corrupted_frames += 1
            if item.result != corrupt_last_byte(item.payload):
                self.unexplained.append(f"{item}: not the injected corruption")
        elif len(self.errors) != before:
            self.unexplained.extend(self.errors[before:])

    def check_phase(self):
        caught = len(self.errors)
        assert self.corrupted_frames, "no frame went through the corrupting driver"
        assert caught == self.corrupted_frames, (f"the scoreboard reported {caught} mismatches for "
                                                 f"{self.corrupted_frames} corrupted frames")
        assert not self.unexplained, f"mismatches not caused by the injected bug: {self.unexplained[:3]}"
        self.logger.info("scoreboard caught all %d corrupted frames", caught)


def room(q) -> int:
    """Descriptors (or push slots) the driver's ring has free."""
    return q.room


def wrapped(q) -> bool:
    """Has the driver's producer index gone past the end of the ring since set-up?"""
    if isinstance(q, KernelQueue):
        return q.added >= q.vq.size
    ring = q.ring
    if isinstance(ring, PackedDriver):
        return ring.avail_wrap == 0
    if isinstance(ring, PushDriver):
        return ring.prod >= ring.ring.slots
    return ring.avail_idx >= ring.ring.size


def size_bin(n: int) -> str:
    for hi, label in ((63, "<64"), (255, "64-255"), (1023, "256-1023")):
        if n <= hi:
            return label
    return "1024+"


class VirtioCoverage(Coverage):
    """Virtio coverage (cocotb-coverage): request kind, payload size, net buffers, block
    status, error kind, and the variant (transport, ring mode, device, intake, driver), with
    the crosses transport x mode x device and error kind x mode; ring wrap and a full ring.
    Directed and random items apart."""

    TOP = "virtio"
    # the resource table places split rings only
    IMPOSSIBLE = [("restable", m, None) for m in ("packed", "push", "push_self")]

    def build_phase(self):
        self.request = Group(self.TOP, "request", {
            "kind": ["net_frame", "blk_read", "blk_write", "blk_flush", "blk_get_id", "blk_unsupported", "entropy"],
            "payload": ["<64", "64-255", "256-1023", "1024+"],
            "net_buffers": ["1", "2+"],
            "blk_status": ["OK", "IOERR", "UNSUPP"],
            "error_kind": ["blk_ioerr", "blk_unsupp", "bad_ring"],
            "transport": ["async", "restable"],
            "mode": ["split", "packed", "push", "push_self"],
            "device": ["net", "block", "entropy"],
            "intake": ["scalar", "batch"],
            "driver": ["project", "linux"],
            "ring_wrap": ["wrapped"],
            "stress": ["ring_full"],
        }, crosses=(("transport", "mode", "device"), ("error_kind", "mode")),
            ignore={("transport", "mode", "device"): self.IMPOSSIBLE})

    def write(self, item):
        bench = ConfigDB().get(None, "", "BENCH")
        transport, mode, intake, driver = bench.variant.label()
        v = {"transport": transport, "mode": mode, "intake": intake, "driver": driver, "device": bench.device}
        if isinstance(item, NetFrame):
            v.update(kind="net_frame", payload=size_bin(len(item.payload)), net_buffers="1" if not item.cuts else "2+")
        elif isinstance(item, BlkRequest):
            v["kind"] = f"blk_{item.op}"
            if item.status is not None:
                v["blk_status"] = BlkStatus(item.status).name
                v["error_kind"] = {BlkStatus.IOERR: "blk_ioerr", BlkStatus.UNSUPP: "blk_unsupp"}.get(item.status)
        elif isinstance(item, EntropyRead):
            v.update(kind="entropy", payload=size_bin(item.length))
        elif isinstance(item, RingCorruption) and item.reason == AsyncReason.BAD_RING:
            v["error_kind"] = "bad_ring"
        elif isinstance(item, RingFill) and item.full:
            v["stress"] = "ring_full"
        if any(wrapped(q) for q in bench.queues.values()):
            v["ring_wrap"] = "wrapped"
        self.request.sample(origin(item), **v)


class VirtioEnv(uvm_env):
    def build_phase(self):
        self.seqr = uvm_sequencer("seqr", self)
        ConfigDB().set(None, "*", "SEQR", self.seqr)
        self.driver = VirtioDriver.create("driver", self)
        self.scoreboard = VirtioScoreboard.create("scoreboard", self)
        self.coverage = VirtioCoverage("coverage", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)
        self.driver.ap.connect(self.scoreboard.analysis_export)
        self.driver.ap.connect(self.coverage.analysis_export)
