"""The timing model under load: the net loopback's closed loop (`make bench load`)
predicted without the RTL, from the firmware's turns priced with the primitives timing.py
checks against the RTL.

A turn (one pass of the doorbell loop, SoftCpu.wakes) is priced analytically: local-bus
words and modelled compute (the CPU's work), DMA waits for the ring's small reads (host
round trips), waits that sleep (the CPU's wake latency each), and the payload's transfers,
which the firmware either waits for in full (fewer chains than a step: fetch all, then
store all) or overlaps in steps (NetLoopback.stream). Those are sums, maxima and minima of terms
for a ring in host memory; a push ring's stream turn of several steps is walked step by step
on a model of the DMA engine with both directions beside each other (push_walk).

Which turns the loop runs is where a queue of events is needed, for push rings: a push
ring's producer index reaches the firmware only in the doorbell value a turn reads as it
starts, so the frames in flight split into cohorts that take turns (load_loop plays the
loop: the host's writes on the link, the CPU's wake and doorbell read, the frames back after
each turn). A ring in host memory is read again at each intake, so its turn takes the frames
in flight up to its budget (WEIGHT) and, when that is all of them, waits out the host's
turnaround after it (its MSIs go out at its end).

Fitted, on the calibration set only (is_calibration: default latencies, the `ideal` host,
default RTL parameters, payloads CAL_SIZES, depths cal_depths): per ring mode, how many
local-bus words, compute cycles, DMA waits and small-read round trips a turn has, as a
linear function of its chains, steps and intake batches and whether it streams (TurnCounts;
least squares per request, each calibration point's figures the mean over the turns it
runs: for a push ring the turns its loop plays, fitted again with them), the cycles a bus
word costs, and how long the turn runs after its last MSI; for rings in host memory, how
much of its transfers a stream turn overlaps (see `payload`). Everything else is computed: the
round trip of a small read and the payload transfers (dma_group_cycles: the link, the max
payload and read request sizes, the engine's read contexts, tags and descriptor queues),
the host's writes on the link, its turnaround (the MSI and notification paths,
HostLatencies), the CPU's wake latency and cost scale.

A full descriptor queue (DMA_DESC_DEPTH) is priced in a group of DMAs, where it delays only
the submits, and in a push stream's walk, where it holds the CPU's submits; not modelled: its
hold on a ring in host memory's turn (the RTL at 16 deep ran split 64 KiB as at 64), several
queue pairs, MSI moderation: docs/load_model.md shows where the model misses.
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import astuple, dataclass, replace

import numpy as np

from . import push_walk, stream_walk
from .costs import FirmwareCosts
from .firmware.backends import NetLoopback
from .layout import (DEFAULT_PARAMS, DMA_CHUNK, PUSH_INLINE_MAX, USER_CLK_HZ, EndpointParams, HostLatencies, NetHdr, PushEntry,
                     SplitUsed, host_profile, latency_setting)
from .layout.config import HostProfile
from .load_loop import HostSends, LoopTiming, Wire, play, send_again, timed_latencies
from .packed_intake import windows as packed_windows
from .scenarios.load import max_depth, measured_requests, percentile
from .timing import (CLK_NS, Bus, Link, RtlStages, dma_group_cycles, dma_reap_cycles, mean_read_ns, dma_submit_cycles, dma_submit_to_rq,
                     doorbell_to_irq, notify_to_irq, request_turnaround, tlp_payloads)

MODES = ("split", "packed", "push", "push_self")
WEIGHT = NetLoopback.WEIGHT
BUS = Bus()
OVERLAPS = tuple(k / 10 for k in range(11))     # the overlap shares the fit tries
SUBMIT_WORDS = BUS.dma_submit_reads + BUS.dma_submit_writes     # a DMA's work words (its reap is in the wait)
SMALL_READ = 64         # bytes of a ring read whose round trip prices the ring's waits


def step_of(mode: str) -> int:
    """Chains per step of NetLoopback.stream: host rings read by DMA step more at once."""
    return NetLoopback.STEP_SRAM if mode.startswith("push") else NetLoopback.STEP_HOST


def frame_bytes(size: int) -> int:
    """A TX frame as the load bench sends it: header and payload in one buffer."""
    return NetHdr.SIZE + size


def inline(mode: str, size: int) -> bool:
    """Push rings carry a frame this small in the slot itself (no DMA fetch)."""
    return mode.startswith("push") and frame_bytes(size) <= PUSH_INLINE_MAX


@dataclass(frozen=True)
class Setting:
    """Where a point runs: latencies, host profile, RTL parameters."""

    latencies: str = "default"
    profile: str = "ideal"
    params: EndpointParams = DEFAULT_PARAMS

    @property
    def host(self) -> HostLatencies:
        return latency_setting(self.latencies)

    @property
    def host_profile(self) -> HostProfile:
        return host_profile(self.profile)

    @property
    def link(self) -> Link:
        return Link.for_profile(self.host_profile)

    @property
    def read_ns(self) -> float:
        """A device read's host latency, the profile's mean jitter added (capped draws)."""
        return mean_read_ns(self.host.device_read_ns, self.host_profile)


@dataclass(frozen=True)
class Shape:
    """One turn of the firmware: chains, stream steps (0: the serial path), intake batches.
    Its features: those and a constant for every turn and for every stream turn (setting up
    and ending the stream, apart from its steps)."""

    chains: int
    steps: float        # a push ring's: the fraction of its chains they are (see push_shape)
    intakes: int
    in_flight: int = 0  # a ring in host memory's frames in flight (its intake windows; 0: its chains)
    held: int = 0       # a push ring's chains taken with no RX buffer: fetched, stored in a later turn

    def features(self) -> np.ndarray:
        return np.array([1.0, self.chains, self.steps, self.intakes, float(self.steps > 0)])

    def regimes(self) -> np.ndarray:
        """The turn's regime (the calibration depths' four: serial, one stream step, several
        steps taking every frame in flight, several with frames left over), a serial turn's
        chains beside: what a turn's sleeps depend on (TurnCounts.slept)."""
        serial, several = self.steps == 0, self.steps > 1
        return np.array([float(serial), serial * float(self.chains), float(0 < self.steps <= 1),
                         float(several and self.intakes >= self.steps), float(several and self.intakes < self.steps)])


# rings whose publish looks at the ring again (DeviceQueue.publish: a split ring with event
# index re-enables notifications, as Linux's vhost_enable_notify, and takes what the driver
# added meanwhile; the load bench negotiates EVENT_IDX, as Linux asks it whenever offered)
RECHECKED = ("split",)


def turn_shape(mode: str, depth: int, more: bool = True) -> Shape:
    """A ring in host memory's turn at `depth` in flight: every frame in flight is back
    before the firmware looks again, up to its budget (a push ring's turns: load_loop; this
    shape only starts its fit). Rings in host memory are read a batch at a time: what is
    available when the firmware looks, which, while two steps fetch and two store, is the
    frames in flight beyond this turn's, a step at least (two where frames are left over).
    `more`: the host sends frames again as they come back (not after its last send), which a
    ring that looks again takes in the same turn (RECHECKED)."""
    step = step_of(mode)
    # a host ring's queue is served WEIGHT chains a turn; a push ring's turn goes on while
    # its slots hold frames (the RTL: 128 chains a turn at 128 in flight)
    b = depth if mode.startswith("push") else min(depth, WEIGHT)
    if b < step:
        return Shape(b, 0, 1, depth)
    steps = -(-b // step)
    if mode.startswith("push"):
        return Shape(b, steps, steps)       # slots read over the local bus, a step at a time
    if more and mode in RECHECKED and b < WEIGHT and steps > NetLoopback.LANES:
        # the ring looked at again as each step publishes: with more steps than lanes, the
        # first step's frames are back (an MSI a step) before the last step's publish, and
        # the turn takes them, and theirs, up to its budget (traced: split 256 B at 48 in
        # flight, turns of 64; at 32 and 24 in flight, two steps, turns of 32 and 24)
        b, steps = WEIGHT, -(-WEIGHT // step)
    # with frames left over, the turn starts on the frames back from the turn before, all
    # available: its first intake fills both fetch lanes (traced: split 256 B at 72 in
    # flight, slow-fw, 2026-12-05: 32 fetches, then one intake more, 23 waits a turn; a step
    # an intake priced 27.75 and the point -26.5%)
    ahead = min(b, max(NetLoopback.LANES * step if depth > b else step, depth - b))
    return Shape(b, steps, -(-b // ahead), depth)


@dataclass(frozen=True)
class TurnCounts:
    """What a turn does besides its payload, per ring mode: coefficients of Shape.features
    (1, chains, steps, intakes, stream) for each count; the cycles of a bus word (but a packed
    ring's window words: an AXI4-Lite read each); how long a turn
    runs on after its last MSI."""

    words: tuple[float, ...]
    compute: tuple[float, ...]
    # DMA waits that stall the CPU, and those among them that slept (SoftCpu waits_slept): a
    # turn is charged one wake latency for each that slept (`wakes`). At the default latencies a
    # wait sleeps once per completion it reaps that had not ended (split 1 KiB, 16 in flight: 32
    # sleeps a turn in 12 of its 14 waits); with a wake of microseconds the DMAs a wait started
    # before it have ended when the CPU runs again, so a wait that slept there sleeps once (unless
    # they outlast the wake: 64 KiB). A wait that did not sleep there found a completion pending
    # when it began or at each reap (irq up: SoftCpu.wait_irq returns at once), as a wait for a
    # few short writes, or a push ring's stream, whose steps keep DMAs in flight (1 KiB, 16 in
    # flight: 0.5 of 6.4 waits a turn slept); with a longer wake it does not sleep either (traced:
    # split and push 1 KiB at 16 in flight sleep 0.75 and 0.0625 times a frame with a wake of
    # 10 us, as many as their waits slept at the default latencies), unless the wake empties a
    # push stream of fetches longer than a step's work (`wake_cycles`). The waits that slept are
    # a count per regime (Shape.regimes), not a line through the features: a stream turn's
    # waits sleep until a notification holds the interrupt line up, near its start where it
    # takes every frame in flight (a step's frames come back while the others run: packed, 1
    # a turn at 64 in flight), so their number does not grow with its steps; a line through
    # the five calibration depths put 48 a turn at 32 in flight (make trace MODE=packed
    # SIZE=1024 DEPTH=32 LATENCIES=slow-fw, 2026-12-05: 1 a turn, the model -89% with it)
    waits: tuple[float, ...]
    round_trips: tuple[float, ...]   # the ring's waits, in small-read round trips
    word_cycles: float
    tail: float
    # for the load bench's table (they do not enter the time): DMA descriptors besides the
    # payload's, MSIs and doorbells per turn
    dmas: tuple[float, ...] = ()
    msis: tuple[float, ...] = ()
    doorbells: tuple[float, ...] = ()
    overlap: float = 0.0             # share of its stores a ring in host memory's stream turn hides (see `payload`)
    slept: tuple[float, ...] = ()
    stream_tail: float = 0.0         # a ring in host memory's `tail` after a stream turn's last MSI (see frames_back)

    def count(self, name: str, shape: Shape) -> float:
        return counted(getattr(self, name), shape.features())

    def wakes(self, shape: Shape) -> float:
        """Waits of a turn that sleep (see `waits`)."""
        waits = self.count("waits", shape)
        return min(waits, counted(self.slept, shape.regimes())) if self.slept else waits


def counted(coefficients, features: np.ndarray) -> float:
    """A count from its fitted coefficients and a turn's features (never below zero)."""
    return max(0.0, float(np.dot(coefficients, features)))


# -- payload transfers --------------------------------------------------------------------

def _group(direction: str, frames: int, size: int) -> tuple[tuple[str, int], ...]:
    return tuple((direction, c) for _ in range(frames) for c in tlp_payloads(frame_bytes(size), DMA_CHUNK))


def payload_dmas(mode: str, size: int) -> int:
    """DMA descriptors one frame costs: its fetch (none when inline) and its store."""
    per_way = len(tlp_payloads(frame_bytes(size), DMA_CHUNK))
    return per_way * (1 if inline(mode, size) else 2)


@functools.lru_cache(maxsize=4096)
def transfer_wait(direction: str, frames: int, size: int, s: Setting) -> float:
    """Cycles the CPU waits for `frames` frames' DMAs in one direction, started together."""
    return group_wait(_group(direction, frames, size), s) if frames > 0 else 0.0


def spare_tags(s: Setting) -> Setting:
    """`s` with more tags than any group's requests."""
    return replace(s, params=replace(s.params, dma_tags=10_000))


def round_trip(s: Setting) -> float:
    """A small ring read as the CPU waits for it."""
    return group_wait((("read", SMALL_READ),), s)


def group_wait(group, s: Setting, waited: int | None = None) -> float:
    """A group of DMAs' time (dma_group_cycles; the first `waited` waited for, if given) less
    the CPU's submit accesses, which the turn counts as bus words. Its reaps stay in: the
    firmware takes each result inside its wait (SoftCpu.dma_wait, a DONE_HEAD read and a
    DONE_POP write each), and SoftCpu counts accesses made while waiting as DMA wait, not as
    work words (at 64 KiB, 8 more DMAs a frame add 48 words on the RTL, 6 each: the submit's)."""
    p = s.params
    reading = any(direction == "read" for direction, _ in group)
    total = dma_group_cycles(group, s.read_ns if reading else 0.0, s.link, BUS, read_descs=p.dma_read_descs,
                             tags=p.dma_tags, desc_depth=p.dma_desc_depth, waited=waited)
    return max(0.0, total - len(group) * dma_submit_cycles(BUS))


def read_bound(frames: int, size: int, s: Setting) -> str:
    """What limits a batch of fetches: the engine's tags, or the link."""
    return "DMA tags" if transfer_wait("read", frames, size, s) > 1.02 * transfer_wait("read", frames, size, spare_tags(s)) \
        else "link h2d"


# -- a point ---------------------------------------------------------------------------------

@dataclass
class Prediction:
    mode: str
    payload: int
    depth: int
    req_per_s: float
    turn_cycles: float              # a turn, idle included
    fw_cycles_per_req: float        # awake
    parts: dict[str, float]         # cycles per turn by cause
    bottleneck: str
    # a frame's latency, median: a push ring's as the bench times its played loop's frames;
    # a ring in host memory's over its steady turns, timed the same way (steady_latencies)
    latency_ns: float
    per_req: dict[str, float]       # the load bench's budget columns: bus words, DMAs, MSIs, doorbells, DMA wait
    turns: tuple[int, ...] = ()     # a push ring's turns, in chains, as the loop ran them (load_loop)
    p99_ns: float = 0.0             # 0: the median's
    costs: tuple[float, ...] = ()   # cycles of each of `turns` as the loop played it (its first fetch's hold included)
    held: tuple[int, ...] = ()      # each of `turns`' chains taken with no RX buffer (Shape.held)

    @property
    def shapes(self) -> list["Shape"]:
        """A push ring's turns as the loop ran them."""
        return [push_shape(b, h) for b, h in zip(self.turns, self.held)]

    @property
    def latency_p99_ns(self) -> float:
        return self.p99_ns or self.latency_ns

    @property
    def fw_busy(self) -> float:
        return self.fw_cycles_per_req / (USER_CLK_HZ / self.req_per_s)


def msi_to_driver(s: Setting) -> float:
    """A turn's MSI request to the driver's handler running (and sending its frames again)."""
    return BUS.msi_to_host + s.host.msi_ns / CLK_NS


def turnaround(s: Setting, costs: FirmwareCosts = FirmwareCosts()) -> float:
    """From the firmware's last MSI request of a turn to it running on the frames sent
    again: MSI to the driver's handler, the driver's notification to irq, the CPU's wake
    and interrupt entry."""
    host = s.host
    notify = notify_to_irq(4, s.link, BUS)
    return msi_to_driver(s) + notify + host.firmware_wake_ns / CLK_NS + costs.irq_entry * host.firmware_cost_scale


def payload(mode: str, size: int, shape: Shape, firmware: float, s: Setting,
            overlap: float = 0.0, prologue: float = 0.0) -> tuple[float, float, float]:
    """(cycles the turn waits on fetches, on stores, the turn's busy cycles) given the
    firmware's own cycles in the turn (work, ring round trips, wakes).

    Serial path, and a stream of one step: the fetches waited for, then the stores. Stream,
    rings in host memory: the ring's reads queue behind the fetches in flight, so the fetches
    add to the firmware's time; the stores run beside them, `overlap` of them hidden (fitted on
    the calibration set, see `fit`), the last step's waited for. Before the share, three fixed
    forms were compared on the calibration set alone: all added up, as now with overlap 0
    (mean error 7.2%), the same with the push rings' transfers fully overlapped (10.5%), and
    the host rings' stores all hidden (8.5%). Stream of several steps, push rings (intake over
    the local bus): walked in the firmware's order on the DMA engine (push_walk), the turn's
    work spread over its operations, `prologue` of it (the turn's own, not its steps') before
    the first. A push turn's frames that found no RX buffer (`shape.held`, the last it took)
    are fetched and not stored: the next turn's RX handler stores them (load_loop's
    `deliver`)."""
    b = shape.chains
    frames = 0 if inline(mode, size) else b
    stored = b - shape.held         # the frames with no RX buffer are stored in a later turn
    reads = transfer_wait("read", frames, size, s)
    writes = transfer_wait("write", stored, size, s)
    if shape.steps <= 1:
        return reads, writes, firmware + reads + writes
    if mode in ("split", "packed"):
        last_store = transfer_wait("write", min(step_of(mode), stored), size, s)
        return reads, writes, firmware + reads + last_store + (1 - overlap) * (writes - last_store)
    return reads, writes, push_turn(mode, size, shape, firmware, prologue, s)


def push_turn(mode: str, size: int, shape: Shape, firmware: float, prologue: float, s: Setting,
              wake: float = 0.0, rung: float = math.inf) -> float:
    """A push stream turn of several steps walked on the engine (push_walk), the CPU's cycles
    `firmware` (its used-ring writes' wait in them: the walk posts those writes itself); the
    host profile's read jitter as the engine prices it (shared_rq), not as its mean."""
    return push_walk.turn_cycles(shape.chains, frame_bytes(size), DMA_CHUNK, not inline(mode, size), shape.held,
                                 firmware - used_ring_waits(mode, shape, s), prologue, s.host.device_read_ns, s.link,
                                 BUS, s.params, (SplitUsed.ENTRY, SplitUsed.IDX.size), wake, rung,
                                 (s.host_profile.read_jitter_ns, s.host_profile.read_jitter_cap_ns))



def read_latency(s: Setting) -> float:
    """A fetch's request going on the link to its first completion (timing.request_turnaround:
    the request's wire time, the link's delay each way, the host's read latency)."""
    return request_turnaround(s.link, s.read_ns)


def price(mode: str, size: int, shape: Shape, counts: TurnCounts, s: Setting,
          rung: float = math.inf) -> tuple[float, float, dict[str, float]]:
    """One turn of `shape`, the CPU awake, a notification arriving `rung` cycles into it:
    (busy cycles, the CPU's own work, cycles by cause)."""
    host = s.host
    # a packed ring's intake windows are local-bus reads, one AXI4-Lite read a word; the rest
    # of the turn's words, reads and writes, cost the fitted mean (see fit_counts)
    window = intake_windows(mode, size, shape)[0]
    work = counts.word_cycles * (counts.count("words", shape) + extra_words(mode, size, shape) - window) \
        + BUS.axil_read * window \
        + host.firmware_cost_scale * (counts.count("compute", shape) + extra_compute(mode, size, shape))
    rt = (counts.count("round_trips", shape) + extra_round_trips(mode, size, shape, s)) * round_trip(s) \
        + used_ring_waits(mode, shape, s)
    wake = wake_cycles(mode, size, shape, counts, work, rt, s, rung)
    parts = {"fw work": work, "ring round trips": rt, "fw wake": wake}
    # the walk's wake cost is already net of the transfers a sleep overlaps: it adds to the
    # turn, not to the CPU time the stream overlaps again
    fetch, store, busy = payload(mode, size, shape, work + rt, s, counts.overlap, turn_prologue(counts, s))
    busy += wake
    parts.update(fetch=fetch, store=store)
    return busy, work, parts


def turn_prologue(counts: TurnCounts, s: Setting) -> float:
    """The CPU's cycles of a turn before its first step: the fitted words and compute of every
    turn (the features' constant), as the RTL spends its set-up (traced, push 1 KiB and 4 KiB at
    16 and 128 in flight: 151 cycles from the wake to the first submit)."""
    if not counts.words:
        return 0.0
    return max(0.0, counts.word_cycles * counts.words[0] + s.host.firmware_cost_scale * counts.compute[0])


def wake_cycles(mode: str, size: int, shape: Shape, counts: TurnCounts, work: float, rt: float, s: Setting,
                rung: float = math.inf) -> float:
    """Cycles a turn loses to the CPU's wake in its DMA waits: what its turn walked in the
    firmware's order loses (stream_walk: a wait that sleeps runs again a wake after the next
    DMA ends, so a wake overlaps the transfers in flight, and after a long one every DMA
    submitted before it has ended); a ring in host memory's ring reads sleep a calibrated count
    (host_ops). The walk replaced a rule read off one trace (a push ring sleeping every second
    step where a step's fetch outlasts a step's work): the RTL sleeps in 2 of 3 steps there
    (make trace MODE=push SIZE=4096 DEPTH=64 LATENCIES=slow-fw). A push stream of several
    steps is walked on the engine (push_walk), with and without the wake."""
    wake = s.host.firmware_wake_ns / CLK_NS
    if not wake:
        return 0.0
    if mode.startswith("push") and shape.steps > 1:
        prologue = turn_prologue(counts, s)
        return push_turn(mode, size, shape, work + rt, prologue, s, wake, rung) \
            - push_turn(mode, size, shape, work + rt, prologue, s, 0.0, rung)
    if mode.startswith("push"):
        return stream_walk.wake_cost(shape.chains, stream_ops(mode, size, shape, work, s), wake, rung)
    return stream_walk.wake_cost(shape.chains, host_ops(mode, size, shape, work + rt, counts.wakes(shape), s), wake)


def waits_asleep(mode: str, size: int, shape: Shape, counts: TurnCounts, s: Setting) -> float:
    """Waits a ring in host memory's turn sleeps under `s`: its ring reads' (TurnCounts.wakes)
    and the payload waits its walk finds asleep (host_ops)."""
    return counts.wakes(shape) + host_walked(mode, size, shape, counts, s).waits_slept


def host_walked(mode: str, size: int, shape: Shape, counts: TurnCounts, s: Setting) -> stream_walk.Walk:
    """A ring in host memory's turn of `shape` walked under `s`'s wake (host_ops), its CPU
    cycles and ring sleeps as `price` and TurnCounts.wakes have them."""
    _, work, parts = price(mode, size, shape, counts, s)
    ops = host_ops(mode, size, shape, work + parts["ring round trips"], counts.wakes(shape), s)
    return stream_walk.walk(shape.chains, ops, s.host.firmware_wake_ns / CLK_NS)


def host_ops(mode: str, size: int, shape: Shape, cpu: float, ring_sleeps: float,
             s: Setting) -> stream_walk.StreamOps:
    """A ring in host memory's turn for its walk in the firmware's order (stream_walk): the
    CPU's cycles (`cpu`: work and the ring's round trips) spread evenly over its operations (a
    take and a finish a direction a step), and its ring reads' sleeps, a wake each, from the
    first operation on until `ring_sleeps` (TurnCounts.slept) run out; from then on a
    notification holds the interrupt line up. Its payload waits sleep as the walk finds them:
    a step's stores, waited for as soon as they are submitted, sleep when they end further
    apart than the CPU reaps them (split, turns of 24 frames, the CPU waking 10 us late,
    traced: 11 waits slept at 128 B, 13 at 8 KiB, the two store waits; make trace MODE=split
    SIZE=128|8192 DEPTH=24 LATENCIES=slow-fw, 2026-12-05), and a sleep in a ring read overlaps
    the transfers in flight (the 8 KiB turn: 44,670 cycles, where a wake per wait and every
    transfer added up to 49,109)."""
    step = step_of(mode)
    operations = 4 * max(1, -(-shape.chains // step))
    if ring_sleeps >= operations:
        asleep = (ring_sleeps / operations,) * operations
    else:
        whole, part = divmod(ring_sleeps, 1.0)
        asleep = (1.0,) * int(whole) + ((part,) if part else ())
    per_way = len(tlp_payloads(frame_bytes(size), DMA_CHUNK))
    return stream_walk.StreamOps(
        step, *(cpu / operations,) * 3,
        lambda n: transfer_wait("read", n, size, s), lambda n: transfer_wait("write", n, size, s),
        read_latency(s), dma_reap_cycles(BUS), per_way, NetLoopback.LANES, asleep, posted=True)


def stream_ops(mode: str, size: int, shape: Shape, work: float, s: Setting) -> stream_walk.StreamOps:
    """A push turn's operations for its walk: a step's take costs its slots' header reads
    (PushEntry.INLINE bytes each) and its DMA submits (a frame above DMA_CHUNK has two a
    direction: its payload and the rest); the rest of a step's work (`work` over the turn's
    steps) is split evenly between finishing its fetch and its store (traced at 4 KiB: about
    140, 75, 150 and 75 cycles for the four)."""
    step = NetLoopback.STEP_SRAM
    fetched = not inline(mode, size)
    per_way = len(tlp_payloads(frame_bytes(size), DMA_CHUNK))
    take_tx = slots_taken(per_way if fetched else 0)
    take_rx = step * per_way * dma_submit_cycles(BUS)
    per_step = work * step / shape.chains if shape.chains else 0.0
    return stream_walk.StreamOps(
        step, take_tx, take_rx, max(0.0, (per_step - take_tx - take_rx) / 2),
        lambda n: transfer_wait("read", n, size, s) if fetched else 0.0,
        lambda n: transfer_wait("write", n, size, s),
        read_latency(s), dma_reap_cycles(BUS), per_way, NetLoopback.LANES)


def slots_taken(submits: int) -> float:
    """A push ring's step of slots taken: each slot's header (PushEntry.INLINE bytes) read
    over the local bus and its `submits` fetch DMAs submitted."""
    return NetLoopback.STEP_SRAM * (PushEntry.INLINE // 4 * BUS.axil_read + submits * dma_submit_cycles(BUS))


def push_shape(chains: int, held: int = 0) -> Shape:
    """A push ring's turn of `chains`: stream steps of STEP_SRAM, each one intake of slots.
    Its steps count as the fraction of its chains they are (a last step's few chains cost
    what they do, not a whole step's: the RTL's turns of 14 frames, four steps, and of 56)."""
    steps = chains / NetLoopback.STEP_SRAM if chains >= NetLoopback.STEP_SRAM else 0
    return Shape(chains, steps, math.ceil(steps) or 1, held=held)


def predict(mode: str, size: int, depth: int, counts: TurnCounts, s: Setting = Setting()) -> Prediction:
    """Requests per second of the closed loop at `depth`, and where a turn's cycles go."""
    if mode.startswith("push"):
        return predict_loop(mode, size, depth, counts, s)
    shape = turn_shape(mode, depth)
    b = shape.chains
    busy, work, parts = price(mode, size, shape, counts, s)
    # with frames left over, the next turn has work
    idle = frames_back(shape, busy, counts, s) if b >= depth else 0.0
    parts["host turnaround"] = idle
    steady = busy + idle
    # the bench's window ends on frames the host sends no more after (its turns' wakes, shared
    # over the window's turns)
    requests = measured_requests(size, depth)
    drain = drain_sleeps(mode, depth, requests, counts) * s.host.firmware_wake_ns / CLK_NS * b / requests
    parts["fw wake"] += drain
    cycles = steady + drain
    if depth > b and mode == "split":
        # the window opens as the depth-th frame comes back, with its step late in its turn
        cycles += steady * (window_frames(mode, size, depth, requests, shape, counts, s) - requests) / requests
    last = last_turn(mode, depth, b, requests)
    if last:
        # the window's last turn takes what is left of its frames, and costs what a turn of
        # them does, not its share of a full turn's
        busy_last, _, lasts = price(mode, size, turn_shape(mode, last, more=False), counts, s)
        for k in parts:
            parts[k] += (lasts.get(k, 0.0) * b - parts[k] * last) / requests
        cycles += (busy_last * b - cycles * last) / requests
    req_per_s = b * USER_CLK_HZ / cycles
    per_req = budget_per_request(mode, size, [shape], counts)
    per_req["dma_wait"] = (busy - work) / b
    ns = [c * CLK_NS for c in steady_latencies(mode, size, depth, shape, counts, s, busy, steady, requests)]
    return Prediction(mode, size, depth, req_per_s, cycles, busy / b, parts, bottleneck_of(parts, mode, size, b, s),
                      statistics.median(ns), per_req, p99_ns=percentile(ns, 0.99))


def steady_latencies(mode: str, size: int, depth: int, shape: Shape, counts: TurnCounts, s: Setting,
                     busy: float, steady: float, requests: int) -> list[float]:
    """A ring in host memory's frames timed as the bench times them (load_loop.timed_latencies)
    over steady turns, one every `steady` cycles, each turn's steps back with the host as its
    walk's MSIs announce them (step_returns). Where a turn takes frames sent again during it (a
    split ring's turn of 64 at 48 in flight) or leaves frames over, a frame's latency is not
    the turn's length: traced at split 128 B, 48 in flight, `slow-fw` (make trace, 2026-12-05),
    a turn's 64 frames back in steps of 16, 16 and 32 at 0.65, 0.87 and 0.99 of a 171 us
    cycle, timed 145, 152, 171 and 44 us in fours of 16, median 148.9 us, where depth /
    throughput says 132 us (the median frame is not one of the window's last turns)."""
    b = shape.chains
    returns = step_returns(mode, size, shape, counts, s)
    turns = -(-(depth + requests) // b) + 1
    backs = [(k * steady + share * busy, n) for k in range(turns) for share, n in returns]
    return timed_latencies(backs, depth, requests)


def window_frames(mode: str, size: int, depth: int, requests: int, shape: Shape, counts: TurnCounts,
                  s: Setting) -> float:
    """The turns' worth of frames the bench's window spans where frames are left over a turn:
    it opens as the depth-th frame is back with the host and ends with the last. A turn's
    frames are back a step at a time as the host sees the step's MSI, late in the turn
    (step_returns). Measured at
    the host (make trace, `backs`, 2026-12-05): split 4 KiB at 76 in flight, default latencies,
    a turn's steps back at 0.65, 0.87 and 0.99 (the last two together) of its length, 128 B at
    96 at 0.73, 0.89, 0.99; under `slow-fw`, 384 B at 84, at 0.89, 0.96, 1.0. The frame's share
    of its turn (what `requests` turns of frames assume) opened the window at 0.19 of the turn
    at 76 in flight, not 0.65: the model -6.3%, with this +0.9%. A packed ring's turn is back
    otherwise (384 B at 100, slow-fw: 13 of a turn's frames back as the next turn starts), and
    priced so its points drift +1% to +8% (packed 256 B at 88, default latencies, +6.3% to
    +14.3%): not applied to it."""
    b = shape.chains
    at, back = 1.0, 0
    for t, n in step_returns(mode, size, shape, counts, s):
        back += n
        if back > (depth - 1) % b:
            at = t
            break
    return depth + requests - ((depth - 1) // b + 1) * b + (1 - at) * b


def step_returns(mode: str, size: int, shape: Shape, counts: TurnCounts, s: Setting) -> list[tuple[float, int]]:
    """A ring in host memory's turn walked (host_walked): each step's chains back with the host
    as a share of the turn. A stream turn's are announced by the MSI the next finish pays
    (stream_walk.Walk.announced; traced at split 128 B, 96 in flight, slow-fw, 2026-12-06: RX
    publishes at 0.55, 0.94 and 0.98 of the turn, MSIs at 0.90, 0.96 and 1.0, the host's
    receives with them); a serial turn's as it publishes."""
    w = host_walked(mode, size, shape, counts, s)
    return [(t / w.cycles, n) for t, n in (w.announced() if shape.steps else w.published)]


def last_turn(mode: str, depth: int, turn: int, requests: int) -> int:
    """Frames of the bench window's last turn where it is short of a turn of `turn` frames:
    the host sends `depth` frames and then one for each that comes back, `depth + requests`
    in all, and a ring in host memory takes them a turn at a time (split 2 KiB at 12 in
    flight, 64 measured: turns of 12 and a last of 4 that ran as long, 51,344 cycles against
    52,113; split 512 B at 40, turns of 64 and a last of 8; make trace LATENCIES=slow-fw,
    2026-12-05). 0 when it is a whole turn, and with frames left over (drain_chunks)."""
    if depth > WEIGHT or mode.startswith("push"):
        return 0
    return turns_sent(turn, depth, requests)[-1] % turn


def turns_sent(turn: int, depth: int, requests: int) -> list[int]:
    """Frames of each turn that serves the `depth + requests` frames the bench sends, `turn` a
    turn, the last short where they do not fill it."""
    total = depth + requests
    return [turn] * (total // turn) + ([total % turn] if total % turn else [])


def drain_chunks(mode: str, depth: int, requests: int) -> list[Shape]:
    """The turns a ring in host memory serves with no notification to come, where steady turns
    leave frames over. The host sends `depth + requests` frames, the ring takes them a turn at a
    time (the last short where they do not fill it), and the host's last send goes out as the
    `requests`-th frame comes back: the turns after the one that brings it back run with none
    (its notification, if it came mid-turn, was read as the next turn started); where it is a
    turn's last frame, the next turn still starts with that notification pending. Traced
    (make trace LATENCIES=slow-fw, 2026-12-05): packed 256 B at 128 in flight, 512 measured,
    the window's last turn of 64 drains and the one before does not; packed 1.5 KiB at 70, 280
    measured, a last turn of 30 frames, 126 of its 127 waits asleep; split 2 KiB at 100, a last
    of 52, 20 of 25."""
    b = min(depth, WEIGHT)
    if depth <= b:
        return []
    first = (requests - 1) // b + 1 + (requests % b == 0)
    # the frames left over were read in batches as steady turns read them (the batch intake
    # takes every chain available), so a last turn takes its frames in as many batches as a
    # steady turn takes as many frames in, not as a turn of its frames alone in flight would
    # (one a step). Traced at split 64 B, 256 in flight: last turns of 23, 17 and 21 waits,
    # steady turns 19.0 on average (17, or 23 to 25 in one of three or four that reads a batch)
    steady = turn_shape(mode, depth)
    per_intake = steady.chains / steady.intakes
    return [replace(sh, intakes=math.ceil(sh.chains / per_intake))
            for sh in (turn_shape(mode, chains, more=False) for chains in turns_sent(b, depth, requests)[first:])]


def drain_sleeps(mode: str, depth: int, requests: int, counts: TurnCounts) -> float:
    """Waits the bench's last turns sleep beyond what steady turns of their frames would. With
    frames left over, a turn's waits sleep until a notification holds the interrupt line up
    (TurnCounts.waits); in the turns that drain_chunks names none comes, so every wait sleeps
    but the ring writes' (drain_asleep; make trace MODE=packed SIZE=256 DEPTH=128
    LATENCIES=slow-fw, 2026-12-05: steady turns of 64 frames 0 or 1 sleep, the window's last
    260 of its 269 waits, 677k cycles against 16k to 29k)."""
    b = min(depth, WEIGHT)
    steady = counts.wakes(turn_shape(mode, depth))
    return max(0.0, sum(drain_asleep(sh, counts.count("waits", sh)) - sh.chains / b * steady
                        for sh in drain_chunks(mode, depth, requests)))


def drain_asleep(shape: Shape, waits: float) -> float:
    """Waits of a turn with no notification to come that sleep: all but its publishes' waits
    for their ring writes, one a step for each of the TX and RX queues (a few posted writes:
    they end while the CPU polls the engine, 21 to 161 cycles traced, none asleep). Traced
    (make trace MODE=split SIZE=128 DEPTH=96 LATENCIES=slow-fw, 2026-12-05): the window's last turns, 64 and 32 frames, slept 15 of 23 and 10 of 14 waits,
    the 8 and 4 they did not the ring writes' (a steady turn slept 10: its last reads found a
    notification pending); packed 256 B at 128, 260 of 269. A publish posted behind payload
    stores still in flight waits for them and may sleep (split 2 KiB at 100, a last turn of 52
    frames: 20 of 25 asleep, this rule 17)."""
    publishes = 2 * max(1, math.ceil(shape.steps))
    return max(0.0, waits - publishes)


def frames_back(shape: Shape, busy: float, counts: TurnCounts, s: Setting) -> float:
    """The CPU's idle after a turn of a ring in host memory that took every frame in flight,
    until it runs on them again. A turn of one step owes its MSIs until its ring writes have
    ended, mostly at its end (docs/load_model.md): its frames come back together after the
    host's turnaround and the CPU, finding none, sleeps and runs a wake after the
    notification. A turn of several steps sends an MSI a step (NetLoopback.stream), so the
    next turn's first step waits on the turnaround after this turn's first step only; the
    rest of the turn hides it, and where it does, the CPU finds the frames when it looks
    and never sleeps (the RTL at 64 in flight, packed 256 B: turns back to back, with and
    without a wake of 10 us, the wake's one sleep a turn in its first descriptor read).
    A serial turn (less than a step: no stream defers its MSIs) sends them as it publishes
    and runs on in the ring reads that look for more (its `tail`, fitted at depth 1): a wait
    each, which sleeps under a wake, and the frames come back meanwhile (split 2 KiB at 12 in
    flight, the CPU waking 10 us late: turns back to back, the last two reads asleep; 1 KiB at
    16 in flight, a stream step, 2,752 cycles between turns: make trace LATENCIES=slow-fw,
    2026-12-05). A stream turn publishes, and looks at the ring again, before its MSIs, and
    ends on them: its tail is its own (`stream_tail`, fitted on the calibration points whose
    turns are one step, 16 in flight: 36 cycles for both rings, as a packed ring's serial
    tail; a split ring's serial tail, 288, is its look after the MSI). Traced at 16 in flight
    (make trace SIZE=256 DEPTH=16, 2026-12-06): 252 cycles from a turn's end to the next one's
    start, split and packed alike, where the serial tail had left the split ring none."""
    wake = s.host.firmware_wake_ns / CLK_NS
    hidden = busy * (1 - 1 / shape.steps) if shape.steps > 1 else 0.0
    asleep = wake * math.floor(counts.tail / round_trip(s)) if not shape.steps else 0.0
    tail = counts.stream_tail if shape.steps else counts.tail
    idle = max(0.0, turnaround(s) - wake - tail - hidden - asleep)
    return idle + wake if idle or not (hidden or asleep) else 0.0


def bottleneck_of(parts: dict[str, float], mode: str, size: int, chains: int, s: Setting) -> str:
    neck = max(parts, key=parts.get)
    if neck == "fetch":
        return read_bound(0 if inline(mode, size) else chains, size, s)
    return "link d2h" if neck == "store" else neck


def budget_per_request(mode: str, size: int, shapes: list[Shape], counts: TurnCounts) -> dict[str, float]:
    """The load bench's budget columns over turns of `shapes`: bus words, DMAs, MSIs, doorbells."""
    frames = sum(sh.chains for sh in shapes)
    total = lambda name: sum(counts.count(name, sh) for sh in shapes)      # noqa: E731
    return {"bus_words": (total("words") + sum(extra_words(mode, size, sh) for sh in shapes)) / frames,
            "dmas": (total("dmas") + frames * payload_dmas(mode, size)) / frames,
            "msis": total("msis") / frames, "doorbells": total("doorbells") / frames}


def loop_timing(mode: str, size: int, counts: TurnCounts, s: Setting,
                costs: FirmwareCosts = FirmwareCosts()) -> LoopTiming:
    """The push ring's loop (load_loop): the host's sends on the link, the CPU's wake for a
    notification and its read of the doorbells (interrupt entry, the pending word, the RX
    and the TX slot), the host's frames back after the turn's last MSI (`tail` before its end)."""
    host = s.host
    sends = HostSends.of(mode, frame_bytes(size), PUSH_INLINE_MAX)
    wake = doorbell_to_irq() + host.firmware_wake_ns / CLK_NS
    # the TX slot's TAKE read, after the pending word's and the RX slot's: its value taken as
    # its address is accepted, a cycle into the read (the RTL's first turn at push_self 64 B,
    # 4 in flight, missed a slot write latched a cycle after that; halfway through the read
    # would have taken it)
    snapshot = costs.irq_entry * host.firmware_cost_scale + 2 * BUS.axil_read + 1
    stages = RtlStages()
    latch = stages.cq_decode + stages.ring_stage + stages.doorbell_latch
    back = msi_to_driver(s) - counts.tail
    # a turn that finds RX buffers only: interrupt entry, the three reads, the RX slot's
    # dispatch (its handler has nothing to deliver), interrupt exit
    empty = (costs.irq_entry + costs.doorbell_dispatch + costs.irq_exit) * host.firmware_cost_scale + 3 * BUS.axil_read
    # the first fetch's completions queued at the host: the first step's slots read (a
    # 16-byte header each) and its DMAs submitted, the request on RQ and the read latency
    # (traced at 1 KiB: 370 cycles into a push ring's turn, 390 into a self-doorbelling one's)
    ready = 0.0 if inline(mode, size) else snapshot + slots_taken(1) + dma_submit_to_rq() + read_latency(s)
    # frames held in device memory for an RX buffer: their stores, submitted and waited for,
    # then published as a serial turn publishes, the used entries' write and the index's
    # each submitted and waited for (traced at push 1 KiB, 16 in flight, `none`: waits of 48,
    # 14 and 14 cycles)
    per_way = len(tlp_payloads(frame_bytes(size), DMA_CHUNK))

    def deliver(n: int) -> float:
        published = writes_wait((n * SplitUsed.ENTRY,), s) + writes_wait((SplitUsed.IDX.size,), s)
        return transfer_wait("write", n, size, s) + (n * per_way + 2) * dma_submit_cycles(BUS) + published
    return LoopTiming(sends, s.link, wake, snapshot, BUS.axil_read, latch, back, WEIGHT, empty, ready, deliver)


def predict_loop(mode: str, size: int, depth: int, counts: TurnCounts, s: Setting) -> Prediction:
    """A push ring's closed loop played turn by turn (load_loop.play), each turn priced (under
    a wake, by when a notification arrives in it, too: see stream_walk.walk)."""
    priced: dict[tuple[int, float, int], tuple[float, float, dict[str, float]]] = {}
    walked = bool(s.host.firmware_wake_ns)

    def turn(b: int, rung: float = math.inf, held: int = 0) -> tuple[float, float, dict[str, float]]:
        key = (b, rung if walked else math.inf, held)
        if key not in priced:
            priced[key] = price(mode, size, push_shape(b, held), counts, s, key[1])
        return priced[key]
    requests = measured_requests(size, depth)
    played = play(depth, requests, lambda b, rung, held: turn(b, rung, held)[0], loop_timing(mode, size, counts, s))
    frames = sum(played.turns)
    ran = list(zip(played.turns, played.rungs, played.held))
    parts: dict[str, float] = {}
    for b, rung, held in ran:
        for k, v in turn(b, rung, held)[2].items():
            parts[k] = parts.get(k, 0.0) + v / len(played.turns)
    parts["host turnaround"] = (played.cycles - played.busy) / len(played.turns)
    req_per_s = played.frames * USER_CLK_HZ / played.cycles
    per_req = budget_per_request(mode, size, [push_shape(b, held) for b, _, held in ran], counts)
    per_req["dma_wait"] = sum(turn(*x)[0] - turn(*x)[1] for x in ran) / frames
    ns = [c * CLK_NS for c in played.latencies]
    return Prediction(mode, size, depth, req_per_s, played.cycles / len(played.turns), played.busy / played.frames, parts,
                      bottleneck_of(parts, mode, size, frames // len(played.turns), s), statistics.median(ns),
                      per_req, tuple(played.turns), percentile(ns, 0.99), tuple(played.costs), tuple(played.held))


def extra_words(mode: str, size: int, shape: Shape) -> float:
    """Bus words a turn adds to its fitted counts, which hold one DMA each way per frame and
    grow with the turn's features as a line: inline frames copied into device memory and read
    from the slot (push), with no fetch DMA (negative), DMA descriptors beyond one per way per
    frame, and a packed ring's intake windows (packed_intake: they double with the last take,
    not a line in the chains; the fit's line through the serial calibration depths, 1 and 4,
    put a turn of 8 frames 8 words a frame short, the point +6.9%)."""
    words = 0
    if inline(mode, size):
        words += 2 * -(-frame_bytes(size) // 4)
    words += SUBMIT_WORDS * (payload_dmas(mode, size) - 2)
    return shape.chains * words + intake_windows(mode, size, shape)[0]


def intake_windows(mode: str, size: int, shape: Shape) -> tuple[float, float]:
    """(bus words, intakes) of a packed ring's intake windows in a turn, the mean over the
    turns of the bench's window (packed_intake.in_window: fitted with a steady turn's windows,
    256 descriptors at 64 in flight where the calibration point's window read 200 a turn, the
    line through the calibration depths put the held-out turns at 24 and 48 in flight 3.1 and
    2.1 words a frame short); none for the other rings, whose intakes read what an index says
    is there."""
    if mode != "packed":
        return 0.0, 0.0
    depth = shape.in_flight or shape.chains
    return packed_windows(depth, shape.chains, measured_requests(size, depth))


def extra_round_trips(mode: str, size: int, shape: Shape, s: Setting) -> float:
    """Ring reads a turn waits for beyond its fitted counts: a packed ring's intakes, one
    window read each (packed_intake); less the read a split ring's serial turn saves where its
    last look finds the driver's next frames (looked_ahead)."""
    return intake_windows(mode, size, shape)[1] - looked_ahead(mode, shape, s)


def used_ring_waits(mode: str, shape: Shape, s: Setting) -> float:
    """Cycles a push ring's turn waits for its used-ring writes (PushDevice.publish_used: the
    batch's used entries, then the used index, DMA writes to host memory). A serial turn
    publishes TX, then RX, each write waited for (DeviceQueue.publish); a stream turn posts
    them behind its stores (DeviceQueue.defer) and waits once, at its end, for the last
    step's (pay_interrupt(wait=True); the earlier steps' have ended by then). Traced (make
    trace, default latencies, 2026-12-06): push_self 128 B at 8 in flight, a turn of 3 frames
    waits 15 cycles for each of its four writes (priced 15, 14, 15, 14), one of 5 frames (a
    stream) once, 28 cycles after its last two are submitted (priced 14, as the engine's model
    prices two writes together; priced as two waits, 29, the calibration set errs 0.69%, not
    0.64%); push 1 KiB at 16, turns of 7 and 9 frames, once each, 28 cycles. Rings in host
    memory: in their fitted round trips (their waits read the ring too)."""
    if not mode.startswith("push"):
        return 0.0
    index = SplitUsed.IDX.size
    if shape.steps:
        last = shape.chains % NetLoopback.STEP_SRAM or NetLoopback.STEP_SRAM
        return writes_wait((last * SplitUsed.ENTRY, index), s)
    return 2 * (writes_wait((shape.chains * SplitUsed.ENTRY,), s) + writes_wait((index,), s))


@functools.lru_cache(maxsize=1024)
def writes_wait(sizes: tuple[int, ...], s: Setting) -> float:
    """Cycles the CPU waits for DMA writes of `sizes` bytes, submitted together."""
    return group_wait(tuple(("write", n) for n in sizes), s)


def look_margin(s: Setting) -> float:
    """Cycles by which a serial turn's last look at the ring reaches host memory before the
    driver, woken by the turn's MSI, has refilled it. The firmware submits the look (a small
    read) as soon as it has written the MSI request: the MSI reaches the driver after
    msi_to_driver; the look is read after its submit's bus accesses, the engine's stages to
    the link, the request's way into the root complex (half its turnaround, the other half
    taken as the completion's way out) and the host's read latency. Checked on traces (make
    trace MODE=split SIZE=256 DEPTH=1, 2026-12-06; not fitted): at the default latencies the
    look is read 70 ns before the driver runs (this: 17.5 cycles, 70 ns), at `half` 4.5 ns after
    (this: -1.2 cycles) and then every turn takes the next chains ahead."""
    look = (dma_submit_cycles(BUS) + dma_submit_to_rq() + BUS.rc_turnaround / 2
            + s.host.device_read_ns / CLK_NS)
    return msi_to_driver(s) - look


def looked_ahead(mode: str, shape: Shape, s: Setting) -> float:
    """The chance a split ring's serial turn saves a ring read: a turn that took every frame
    in flight sends them back with its MSI and ends looking at the ring once more (the
    avail index: Linux's vhost_enable_notify, DeviceQueue.publish). If that read reaches host
    memory after the driver has refilled it, the firmware takes the next chains there and
    then, and the next turn does not read the index again (12 ring and payload reads a frame
    become 11: traced split 256 B at 1 in flight under `server`, 2026-12-06: 11.36, the look's
    jitter past the margin in 59% of turns). The look is late by the profile's read jitter
    (min(Exp(mean), cap)): P(jitter > look_margin), or 1 where the margin is below zero.
    Rings in host memory other than split read no separate index; a stream turn sends an
    MSI a step, so its frames come back while it runs."""
    if mode not in RECHECKED or shape.steps or shape.chains < shape.in_flight:
        return 0.0
    margin = look_margin(s) * CLK_NS
    p = s.host_profile
    if margin <= 0:
        return 1.0
    if not p.read_jitter_ns or margin >= p.read_jitter_cap_ns:
        return 0.0
    return math.exp(-margin / p.read_jitter_ns)


def turn_waits(mode: str, shape: Shape, counts: TurnCounts, s: Setting) -> float:
    """DMA waits of a turn under `s`: the fitted count less the read a look ahead saves. (Under
    a late wake that read's sleep would go too; TurnCounts.wakes does not take it off, as no
    point on record has both a late wake and a look ahead.)"""
    return counts.count("waits", shape) - looked_ahead(mode, shape, s)


def extra_compute(mode: str, size: int, shape: Shape, costs: FirmwareCosts = FirmwareCosts()) -> float:
    """Compute cycles a turn adds to its fitted counts: an inline frame's bytes are read out
    of its slot a word at a time (PushDevice.next_chain through SoftCpu.read_bytes,
    `per_word_copy` a word; the RTL's 64 B frames, inline, cost 17.8 to 19.0 cycles of compute
    more than 256 B ones at every depth), and so are a packed ring's intake windows (extra_words)."""
    copied = shape.chains * -(-frame_bytes(size) // 4) if inline(mode, size) else 0.0
    return costs.per_word_copy * (copied + intake_windows(mode, size, shape)[0])


# -- calibration ---------------------------------------------------------------------------

CAL_SIZES = (64, 4096)


def cal_depths(mode: str) -> tuple[int, ...]:
    """Depths that cover each regime of the firmware's turn: serial (1 and 4), one stream step
    (a step's worth of frames), several steps (64), and the deepest (turns capped by the
    budget, or by the push ring's slots)."""
    return tuple(sorted({1, 4, 16, 64, min(256, max_depth(mode))}))


def is_calibration(mode: str, payload: int, depth: int) -> bool:
    """A point of the calibration set (at the load bench's setting, Setting())."""
    return payload in CAL_SIZES and depth in cal_depths(mode)


def fit(rows) -> dict[str, TurnCounts]:
    """TurnCounts per mode from the calibration rows among `rows` (LoadRow with the turn
    counters): for rings in host memory the counts of each overlap share in OVERLAPS and the
    share whose predictions of their calibration points err least; for push rings, the counts. A fit is remembered by its rows' values
    (it takes seconds, and the tests and benches fit the same rows again)."""
    cal = [r for r in rows if is_calibration(r.mode, r.payload, r.depth)]
    key = tuple(astuple(r) for r in cal)        # a LoadRow is not hashable; its values are
    if key not in _FITS:
        _FITS[key] = _fit(cal)
    return dict(_FITS[key])


_FITS: dict[tuple, dict[str, TurnCounts]] = {}


def _fit(cal: list) -> dict[str, TurnCounts]:
    out = {}
    for kind, shares in ((("split", "packed"), OVERLAPS), (("push", "push_self"), (0.0,))):
        best = None
        for overlap in shares:
            counts = {m: c for m in kind if (c := fit_mode(cal, m, overlap)) is not None}
            errors = [abs(predict(r.mode, r.payload, r.depth, counts[r.mode]).req_per_s / r.req_per_s - 1)
                      for r in cal if r.mode in counts]
            if errors and (best is None or np.mean(errors) < best[0]):
                best = (float(np.mean(errors)), counts)
        if best:
            out.update(best[1])
    return out


def loop_idle(mode: str, size: int, s: Setting) -> float:
    """A push ring's idle at depth 1 besides `back`: the frame's refill and send, the wake."""
    t = loop_timing(mode, size, TurnCounts((), (), (), (), 0.0, 0.0), s)
    return send_again(Wire(s.link), t.sends, 0.0)[1] + t.wake


LOOP_FITS = 4           # a push ring's fit and its loop's turns, played again with the counts fitted


def fit_mode(cal, mode: str, overlap: float) -> TurnCounts | None:
    """TurnCounts of `mode`. A push ring's turns at a calibration point are the loop's
    (load_loop), which depend on the counts: fitted first over turns of every frame in
    flight, then again over the turns the loop plays with the counts so far (and their
    walks with the prologue those counts give)."""
    rows = [r for r in cal if r.mode == mode]
    if not rows:
        return None
    counts = fit_counts(rows, mode, overlap, 0.0, lambda r: [turn_shape(mode, r.depth)])
    if mode.startswith("push"):
        for _ in range(LOOP_FITS):
            counts = fit_counts(rows, mode, overlap, turn_prologue(counts, Setting()),
                                lambda r, c=counts: predict_loop(mode, r.payload, r.depth, c, Setting()).shapes)
    return counts


def fit_round_trips(mode: str, X: np.ndarray, rts: np.ndarray) -> tuple[float, ...]:
    """The round-trips count of a turn (least squares over the features X, rows the
    calibration points): a ring in host memory's ring reads. A push ring reads no ring by DMA:
    what its turns wait for beyond the payload and the used-ring writes (used_ring_waits) is a residual of 3 to 4 cycles a
    frame (its 10 calibration points per mode: -5 to +10), fitted on the chains alone. The
    line through every feature had fitted it per turn and per stream turn from the few turn
    shapes of the calibration loops (push_self: 0.47 round trips, 112 cycles, on every
    stream turn; its turn of 5 frames at 128 B, 8 in flight, priced 1,191 cycles against
    1,031 traced)."""
    if not mode.startswith("push"):
        return tuple(np.linalg.lstsq(X, rts, rcond=None)[0])
    chains = np.linalg.lstsq(X[:, 1:2], rts, rcond=None)[0][0]
    return tuple(float(chains) if k == 1 else 0.0 for k in range(X.shape[1]))


RING_FITS = 3           # a host ring's sleep count, fitted again with the payload waits its walk sleeps


def payload_slept(r, turns: list[Shape], frames: int, rt: float, slept: tuple[float, ...]) -> float:
    """Payload waits a request's turns at calibration row `r` sleep as walked (host_ops, at
    the row's setting: no wake), the ring's sleeps counted per regime by `slept`, the CPU's
    cycles the row's work and its ring round trips (`rt` cycles a request)."""
    cpu = r.fw_cycles_per_req - r.dma_wait_per_req + rt
    return sum(stream_walk.walk(sh.chains, host_ops(r.mode, r.payload, sh, cpu * sh.chains, counted(slept, sh.regimes()),
                                                    Setting()), 0.0).waits_slept for sh in turns) / frames


def fit_counts(rows, mode: str, overlap: float, prologue: float, turns_of) -> TurnCounts:
    """TurnCounts of `mode` from its calibration rows, each row's per-request figures the
    mean over the turns `turns_of(row)` (a list of Shape): least squares per request, so
    that a deep turn's thousands of words do not outweigh a shallow one's relative error.
    `prologue`: a push turn's work before its first step, as the counts so far put it."""
    s = Setting()
    turns = [turns_of(r) for r in rows]
    frames = [sum(sh.chains for sh in ts) for ts in turns]
    X = np.array([sum(sh.features() for sh in ts) / n for ts, n in zip(turns, frames)])
    if mode.startswith("push"):
        X[:, 3] = 0.0       # a push ring's intakes are its steps (one intake of slots a step)
    extra = lambda r, ts, n: sum(extra_words(mode, r.payload, sh) for sh in ts) / n     # noqa: E731
    words = np.array([r.bus_words_per_req - extra(r, ts, n) for r, ts, n in zip(rows, turns, frames)])
    compute = np.array([r.compute_per_req - sum(extra_compute(mode, r.payload, sh) for sh in ts) / n
                        for r, ts, n in zip(rows, turns, frames)])
    waits = np.array([r.waits_per_req for r in rows])
    # the ring's round trips: the DMA wait less what the payload's transfers explain beside
    # the CPU's measured work (a push ring's stream turn hides its middle steps behind it, as
    # `predict` prices them)
    rts = []
    for r, ts, n in zip(rows, turns, frames):
        work = r.fw_cycles_per_req - r.dma_wait_per_req
        # the turn with its used-ring writes waited for as `price` has them (a push stream's
        # walk posts them itself)
        waited = sum(payload(mode, r.payload, sh, work * sh.chains + used_ring_waits(mode, sh, s), s, overlap,
                             prologue)[2] - work * sh.chains for sh in ts) / n
        rts.append(max(0.0, r.dma_wait_per_req - waited) / round_trip(s)
                   - sum(extra_round_trips(mode, r.payload, sh, s) for sh in ts) / n)
    solve = lambda y: tuple(np.linalg.lstsq(X, y, rcond=None)[0])     # noqa: E731
    # the cycles of a bus word: the mean over the rows, a packed ring's window words taken out
    # at an AXI4-Lite read each (Bus.axil_read). Left in, they made a word cost 3.63 cycles at 1
    # in flight, where windows are most of the words, and 3.24 at 256; the fit's mean, 3.38,
    # overpriced the deep turns' work (packed 1 KiB at 256 in flight: 11,860 cycles a turn
    # against 11,382 traced). Taken out, the rest cost 3.10 to 3.19 at every depth.
    window = [sum(intake_windows(mode, r.payload, sh)[0] for sh in ts) / n for r, ts, n in zip(rows, turns, frames)]
    word_cycles = float(np.mean([(r.fw_cycles_per_req - r.dma_wait_per_req - r.compute_per_req - BUS.axil_read * w)
                                 / (r.bus_words_per_req - w) for r, w in zip(rows, window)]))
    ones = [r for r in rows if r.depth == 1]
    idle = lambda r: USER_CLK_HZ / r.req_per_s - r.fw_cycles_per_req       # noqa: E731
    if mode.startswith("push"):         # the loop's idle at depth 1: back, the sends, the wake
        tail = float(np.mean([msi_to_driver(s) + loop_idle(mode, r.payload, s) - idle(r)
                              for r in ones])) if ones else 0.0
    else:
        tail = float(np.mean([turnaround(s) - idle(r) for r in ones])) if ones else 0.0
    # a ring in host memory's stream turn of one step: its own tail (frames_back), from the
    # calibration points that run such turns (16 in flight), its idle a turn's
    one_step = [(r, ts[0].chains) for r, ts in zip(rows, turns) if len(ts) == 1 and ts[0].steps == 1]
    stream_tail = float(np.mean([turnaround(s) - idle(r) * b for r, b in one_step])) if one_step else tail
    regimes = np.array([sum(sh.regimes() for sh in ts) / n for ts, n in zip(turns, frames)])
    # a ring in host memory's window ends on turns whose every wait sleeps but the ring
    # writes' (drain_sleeps): a steady turn's are the rest, over the rest of its frames
    fitted_waits = solve(waits)
    steady_slept = []
    for r in rows:
        requests = measured_requests(r.payload, r.depth)
        drained = [] if mode.startswith("push") else drain_chunks(mode, r.depth, requests)
        left = sum(sh.chains for sh in drained)
        asleep = sum(drain_asleep(sh, counted(fitted_waits, sh.features())) for sh in drained)
        steady_slept.append(max(0.0, r.waits_slept_per_req * requests - asleep) / (requests - left))
    slept = tuple(np.linalg.lstsq(regimes, np.array(steady_slept), rcond=None)[0])
    if not mode.startswith("push"):
        # a ring in host memory's payload waits sleep as its walk finds them (host_ops): the
        # regime count is its ring reads', net of them (the walk places the notification
        # where the ring's sleeps run out, so the count is fitted again with the walk's)
        for _ in range(RING_FITS):
            net = [y - payload_slept(r, ts, n, rt * round_trip(s), slept) for r, ts, n, rt, y
                   in zip(rows, turns, frames, rts, steady_slept)]
            slept = tuple(np.linalg.lstsq(regimes, np.array(net), rcond=None)[0])
    dmas = np.array([r.dmas_per_req - payload_dmas(mode, r.payload) for r in rows])
    msis = np.array([r.msis_per_req for r in rows])
    doorbells = np.array([r.doorbells_per_req for r in rows])
    return TurnCounts(solve(words), solve(compute), solve(waits), fit_round_trips(mode, X, np.array(rts)), word_cycles, tail,
                      solve(dmas), solve(msis), solve(doorbells), overlap,
                      slept, stream_tail)
