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
a turn starts when the CPU wakes for the first notification (or at once when the last turn
left notifications pending), reads the doorbells `snapshot` cycles later, takes the frames
rung by then (at most the queue's budget) and runs `busy(chains)` cycles in all; the host
has its frames `back` cycles after the turn's end and sends them again, each with its RX
refill. The turn's price (`busy`) is the load model's.
"""

from __future__ import annotations

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

    def send(self, n: int, at: float = 0.0) -> float:
        link = self.link
        self.wire = max(self.wire, at) + (n + link.mwr_header_bytes + link.framing_bytes) / link.bytes_per_cycle
        self.cq = max(self.wire, self.cq + math.ceil((link.cq_descriptor_bytes + n) / link.beat_bytes))
        return self.cq


def send_again(wire: Wire, sends: HostSends, at: float) -> float:
    """A frame back with the host at cycle `at`: its RX buffer refilled, the frame sent
    again; returns when its TX notification has arrived."""
    for n in (*sends.rx, *sends.tx):
        arrived = wire.send(n, at)
    return arrived


@dataclass(frozen=True)
class LoopTiming:
    sends: HostSends
    link: Link
    wake: float         # a notification's arrival to the turn's start, the CPU asleep
    snapshot: float     # a turn's start to its read of the doorbells
    latch: float        # a notification's arrival to its value in the doorbell block
    back: float         # a turn's end to the host sending its frames again
    budget: int         # chains a turn takes at most


@dataclass
class Played:
    turns: list[int]            # chains of each turn in the measured window
    cycles: float               # the window: from the warm-up's last frame back to the last frame back
    busy: float                 # cycles the turns of the window ran
    frames: int                 # frames the window timed


def play(depth: int, requests: int, busy: Callable[[int], float], t: LoopTiming) -> Played:
    """`depth` frames in flight: the host refills `depth` RX buffers and sends `depth` frames
    at once, then sends each frame again when it is back; the first `depth` frames back are
    the warm-up, the next `requests` the window (as scenarios.load.closed_loop)."""
    wire = Wire(t.link)
    first = None
    for _ in range(depth):                                       # the refills, then one kick
        for n in (t.sends.rx[:1] if t.sends.kick else t.sends.rx):
            arrived = wire.send(n)
            first = arrived if first is None else first
    if t.sends.kick:
        first = wire.send(DOORBELL_BYTES)                        # what wakes the CPU first
    rung: deque[float] = deque()
    for _ in range(depth):
        for n in t.sends.tx:
            arrived = wire.send(n)
        rung.append(arrived)
    start = first + t.wake
    turns: list[tuple[float, int, float, float]] = []      # (start, chains, busy, back with the host)
    done = 0
    while done < depth + requests:
        seen = start + t.snapshot - t.latch
        b = min(t.budget, sum(1 for x in rung if x <= seen))       # `rung` is in arrival order
        if not b:                                                # nothing rung yet: asleep again
            start = max(start, rung[0] + t.wake)
            continue
        for _ in range(b):
            rung.popleft()
        cost = busy(b)
        end = start + cost
        turns.append((start, b, cost, end + t.back))
        done += b
        for _ in range(b):                                       # the host sends them again
            rung.append(send_again(wire, t.sends, end + t.back))
        # notifications left pending: the next turn starts at once; else the CPU sleeps
        start = end if rung[0] <= end else rung[0] + t.wake
    # the window: from the depth-th frame back to the (depth + requests)-th, as the bench
    # times it, and the turns that ran in it (at least the last)
    count, t0, t1 = 0, None, None
    for _, b, _, back in turns:
        count += b
        if t0 is None and count >= depth:
            t0 = back
        if count >= depth + requests:
            t1 = back
    inside = [(b, cost) for at, b, cost, _ in turns if t0 <= at < t1] or [turns[-1][1:3]]
    spent = sum(cost for _, cost in inside)
    if t1 - t0 < spent:         # the window within one turn's frames: the turns' own pace
        return Played([b for b, _ in inside], spent, spent, sum(b for b, _ in inside))
    return Played([b for b, _ in inside], t1 - t0, spent, requests)
