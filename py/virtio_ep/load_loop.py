"""The load bench's closed loop on a push ring, played turn by turn: how many frames each
turn of the firmware takes, which the loop settles to from the way it starts.

Why it is needed: a push ring's producer index reaches the firmware only in a doorbell's
value, read once when a turn starts (SoftCpu.take_doorbells); a turn takes the frames rung
by then and no more, and owes its MSIs until its end. The frames it did not see come back
to the host with the next turn, so the frames in flight split into cohorts that take turns
(the RTL at push 256 B, 64 in flight: turns of 17 and 47 frames, from the 17 whose
doorbells had arrived when the first turn started). One cohort (every frame in one turn, the
CPU idle while the host turns them around) and two or more are all steady; which one the
loop runs is set by how it started: the host's first burst of refills and sends, serialized
on the link, against the CPU's wake.

Played here: the host's posted writes (slot writes and doorbells, one TLP each) arrive one
after another as the link and the completer interface pass them (Wire);
a turn starts when the CPU wakes for the first notification, an RX refill's or a frame's
(or at once when the last turn left notifications pending), reads the RX doorbell and,
`snapshot` cycles after its start, the TX doorbell; it takes the frames rung by then (at
most the queue's budget), delivers each into an RX buffer seen (a frame with none waits
for the next turn's RX handler) and runs `busy(chains, rung, held)` cycles in all (`rung`:
when, from its start, the next notification arrives; `held`: its frames that found no RX
buffer, fetched and not stored), `empty` if it found
RX buffers only; the host has its frames `back` cycles after the turn's end and sends them
again, each with its RX refill, until it has sent every frame the bench times (as
scenarios.load.closed_loop: the run's last turn takes what is left, 47 frames at push 1 KiB,
128 in flight, on the RTL and here). The turn's price (`busy`) is the load model's, plus
the time its first fetch's completions wait at the host behind the host's writes sent
before them: the root complex sends its TLPs in one queue, in order, and a completion does
not pass a posted write (PCI Express Base Specification 3.0, 2010, section 2.4.1, ordering
rules). Traced at push_self 1 KiB, 127 in flight: a turn's 63 frames back, the host sent
126 slot writes of 128 B at once, and the turn's first fetch, answered 150 cycles later,
came in behind all of them (its wait 604 cycles, against 56 to 70 for the fetches after it).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .layout import PushEntry
from .timing import Link

DOORBELL_BYTES = 4      # a doorbell is one 32-bit write (PcieHost.ring_doorbell)


@dataclass(frozen=True)
class HostSends:
    """The host's posted writes, in bytes, one TLP each: a frame sent (its TX slot, and its
    doorbell unless the slot write rings), an RX buffer refilled (the same), and whether a
    refill batch ends with an RX kick."""

    tx: tuple[int, ...]
    rx: tuple[int, ...]
    kick: bool

    @classmethod
    def of(cls, mode: str, frame: int, inline_max: int) -> "HostSends":
        """As PushDriver.add writes them: an entry (its inline bytes with it) and, for a
        self-doorbelling ring, the whole slot; a doorbell is one 32-bit write."""
        whole = mode == "push_self"
        entry = PushEntry.INLINE + (frame if frame <= inline_max else 0)
        kick = () if whole else (DOORBELL_BYTES,)
        return cls((PushEntry.SIZE if whole else entry, *kick), (PushEntry.SIZE if whole else PushEntry.INLINE, *kick),
                   not whole)


class Wire:
    """Host writes on their way in: the link serializes them, the completer interface takes
    each in its beats once it is in; returns when each has arrived (its last beat)."""

    def __init__(self, link: Link):
        self.link = link
        self.wire = self.cq = 0.0
        self.sent: list[tuple[float, float]] = []      # (when each write was sent, when the link had passed it)

    def send(self, n: int, at: float = 0.0) -> float:
        """Sends are made in the order of `at`."""
        link = self.link
        self.wire = max(self.wire, at) + (n + link.mwr_header_bytes + link.framing_bytes) / link.bytes_per_cycle
        self.cq = max(self.wire, self.cq + math.ceil((link.cq_descriptor_bytes + n) / link.beat_bytes))
        self.sent.append((at, self.wire))
        return self.cq

    def free_for(self, at: float) -> float:
        """When the link has passed every write sent by `at` (a TLP queued then goes after them)."""
        k = bisect.bisect_right(self.sent, (at, math.inf))
        return max(at, self.sent[k - 1][1]) if k else at


def send_again(wire: Wire, sends: HostSends, at: float) -> tuple[float, float]:
    """A frame back with the host at cycle `at`: its RX buffer refilled, the frame sent
    again; returns when its RX buffer's and its TX notification have arrived."""
    rx = tx = at
    for n in sends.rx:
        rx = wire.send(n, at)
    for n in sends.tx:
        tx = wire.send(n, at)
    return rx, tx


@dataclass(frozen=True)
class LoopTiming:
    sends: HostSends
    link: Link
    wake: float         # a notification's arrival to the turn's start, the CPU asleep
    snapshot: float     # a turn's start to its read of the TX doorbell
    rx_ahead: float     # the RX doorbell's read before the TX doorbell's
    latch: float        # a notification's arrival to its value in the doorbell block
    back: float         # a turn's end to the host sending its frames again
    budget: int         # chains a turn takes at most
    empty: float        # a turn that finds no frame to take or deliver (RX buffers only)
    fetch_ready: float = 0.0    # a turn's start to its first fetch's completions queued at the host (0: no fetch)
    # n frames held in device memory delivered by the RX handler: their stores, submitted and
    # waited for (the frames were fetched in the turn that took them), and their publish.
    # None: priced as a turn
    deliver: Callable[[int], float] | None = None


@dataclass
class Played:
    turns: list[int]            # chains of each turn in the measured window
    cycles: float               # the window: from the warm-up's last frame back to the last frame back
    busy: float                 # cycles the CPU ran in the window (its turns' cycles in it, as the bench's counters take them)
    frames: int                 # frames the window timed
    latencies: list[float]      # each timed frame's, as the bench times it (cycles)
    costs: list[float]          # each of `turns`' cycles
    rungs: list[float]          # each of `turns`' first notification after its doorbell read (cycles in)
    held: list[int]             # each of `turns`' frames taken with no RX buffer (fetched, not stored)


def _seen(rung: deque[float], by: float, most: int | None = None) -> int:
    """Notifications of `rung` (in arrival order) latched by `by`, at most `most`; taken off it."""
    n = 0
    while rung and rung[0] <= by and (most is None or n < most):
        rung.popleft()
        n += 1
    return n


def play(depth: int, requests: int, busy: Callable[[int, float, int], float], t: LoopTiming) -> Played:
    """`depth` frames in flight: the host refills `depth` RX buffers and sends `depth` frames
    at once, then sends each frame again, with its RX refill, when it is back; the first
    `depth` frames back are the warm-up, the next `requests` the window (as
    scenarios.load.closed_loop).

    A turn reads the RX doorbell, then the TX one: the RX handler runs first and delivers
    the frames that waited for an RX buffer, then the TX handler takes the frames rung and
    delivers each into an RX buffer seen; a frame with none waits for the next turn (its
    buffer was rung after the RX doorbell's read) in device memory, fetched. Its RX
    handler's frames, stored and waited for first (`t.deliver`), are back with the host
    before the rest."""
    wire = Wire(t.link)
    rx_rung: deque[float] = deque()
    tx_rung: deque[float] = deque()
    if t.sends.kick:                                             # the refills, then one kick
        for _ in range(depth):
            wire.send(t.sends.rx[0])
        rx_rung.extend([wire.send(DOORBELL_BYTES)] * depth)
    else:
        for _ in range(depth):
            for n in t.sends.rx:
                arrived = wire.send(n)
            rx_rung.append(arrived)
    for _ in range(depth):
        for n in t.sends.tx:
            arrived = wire.send(n)
        tx_rung.append(arrived)
    start = min(rx_rung[0], tx_rung[0]) + t.wake
    turns: list[tuple[float, int, float, float, int]] = []     # (start, chains, busy, rung, held)
    backs: list[tuple[float, int]] = []             # (frames back with the host, how many)
    free = waiting = done = 0
    sent = depth
    while done < depth + requests:
        seen = start + t.snapshot - t.latch
        free += _seen(rx_rung, seen - t.rx_ahead)
        early = min(waiting, free)                                # the RX handler's deliveries
        taken = _seen(tx_rung, seen, t.budget)
        now = min(taken, free - early)
        free -= early + now
        waiting += taken - now - early
        chains = early + taken
        # the first notification after the doorbells' read, from the turn's start: it holds
        # the CPU's interrupt line up for the rest of the turn
        later = [q[0] for q in (rx_rung, tx_rung) if q and q[0] > seen]
        rung = min(later) - start if later else math.inf
        if early and t.deliver is not None:
            # the RX handler first: the held frames' stores, waited for; then the TX handler
            held = t.deliver(early)
            cost = held + (busy(taken, rung - held, taken - now) if taken else t.empty)
            early_back = start + t.snapshot + held + t.back
        else:
            cost = busy(chains, rung, taken - now) if chains else t.empty
            early_back = start + busy(early, rung, 0) + t.back
        if taken and t.fetch_ready:             # its first fetch behind the host's writes
            ready = start + t.fetch_ready
            cost += wire.free_for(ready) - ready
        end = start + cost
        turns.append((start, chains, cost, rung, taken - now))
        for at, n in ((early_back, early if taken else 0), (end + t.back, now + (0 if taken else early))):
            backs.append((at, n))
            done += n
            for _ in range(min(n, depth + requests - sent)):    # the host sends them again
                sent += 1
                rx, tx = send_again(wire, t.sends, at)
                rx_rung.append(rx)
                tx_rung.append(tx)
        # notifications left pending: the next turn starts at once; else the CPU sleeps
        heads = [q[0] for q in (rx_rung, tx_rung) if q]
        if done >= depth + requests:
            break
        if not heads:
            raise RuntimeError(f"the loop stalled after {done} of {depth + requests} frames back: "
                               f"{waiting} taken and waiting for an RX buffer, nothing rung")
        start = end if min(heads) <= end else min(heads) + t.wake
    # the window: from the depth-th frame back to the (depth + requests)-th, as the bench
    # times it, and the turns that ran in it (at least the last)
    count, t0, t1 = 0, None, None
    for back, n in sorted(backs):
        count += n
        if t0 is None and count >= depth:
            t0 = back
        if t1 is None and count >= depth + requests:
            t1 = back
    latencies = timed_latencies(backs, depth, requests)
    last = next(x for x in reversed(turns) if x[1])
    inside = [x[1:] for x in turns if t0 <= x[0] < t1] or [last[1:]]
    spent = sum(cost for _, cost, _, _ in inside)
    ran = [x for x in inside if x[0]]
    chains, costs, rungs, held = ([x[k] for x in ran] for k in (0, 1, 2, 3))
    if t1 <= t0:                # the window within one turn's frames: the turns' own pace
        return Played(chains, spent, spent, sum(chains), latencies, costs, rungs, held)
    # the CPU's cycles in the window: a turn that straddles its start or end counts its part
    # in it (the bench reads the CPU's awake counter at both ends; summing the turns that
    # start in it put the CPU at 103% of the window at push 1 KiB, 128 in flight)
    awake = sum(max(0.0, min(start + cost, t1) - max(start, t0)) for start, _, cost, _, _ in turns)
    return Played(chains, t1 - t0, awake, requests, latencies, costs, rungs, held)


def timed_latencies(backs: list[tuple[float, int]], depth: int, requests: int) -> list[float]:
    """As scenarios.load.closed_loop times them: the j-th frame back against the j-th send,
    first in first out; the first `depth` sends at the start (cycle 0), each later one as the
    frame `depth` before it is back."""
    times = [at for at, n in sorted(backs) for _ in range(n)]
    return [times[j] - times[j - depth] for j in range(depth, min(depth + requests, len(times)))]
