"""A packed ring's intake windows in the load bench's closed loop: how many descriptors the
firmware reads a turn, for the load model's count of local-bus words.

Why it is needed: a packed ring has no index to say how many chains are there, so each
intake (firmware.batch.take_packed) reads a window of descriptors, twice as many as the
last intake took (at least firmware.batch.PACKED_WINDOW_MIN), and takes what is available in it; every
descriptor read is copied over the local bus. The reads per frame so do not fall as a line
in the turn's chains, as the rest of a turn's words do (the model's fitted counts): traced
(make trace MODE=packed SIZE=128 DEPTH=8 and SIZE=768 DEPTH=14, default latencies,
2026-12-05), a serial turn of 8 frames reads windows of 8 and 16 descriptors on TX and 16
on RX, 40 in all, where a turn of 4 reads 24; a turn of 14 reads 8, 16, 12 on TX and on RX
8 and 16, then 12 and 24 in the next turn, the last take's window doubled; turns of 48
read 8, 16, 32 and 48 on TX and 96 on RX (SIZE=128 DEPTH=48); of 64, 128 a queue.

Played here as the firmware asks for chains: TX a step at a time (NetLoopback.stream; the
serial path asks for a step's worth too) until a request comes back short or the queue's
budget is spent; RX a step's frames at a time. An intake happens when the chains taken
ahead have run out; all the frames in flight not yet taken are available at a turn's start
(the previous turn's are back: frames that come back during a turn are not counted).
The windows grow from the loop's start, and at 64 in flight they are still growing in the
bench's window, so a turn is charged the mean over the window's turns, not a steady turn's
(in_window).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .firmware.backends import NetLoopback
from .firmware.batch import packed_window
from .firmware.soft_cpu import WORD_BYTES
from .layout import PackedDesc
from .scenarios.load import LOAD_QUEUE_SIZE

WORDS_PER_DESC = PackedDesc.SIZE // WORD_BYTES     # a descriptor read is copied over the local bus
TURNS = 16              # turns played; the mean is over the second half (a pattern may alternate)


@dataclass
class Intake:
    """One queue's intake state: the last window's take and the chains taken ahead."""

    size: int = LOAD_QUEUE_SIZE
    last: int = 0           # chains (one descriptor each) the last intake took
    ahead: int = 0          # chains taken and not yet handed out
    available: int = 0      # chains in the ring not yet taken
    read: int = 0           # descriptors read, in all
    takes: int = 0          # intakes, in all

    def take(self) -> int:
        window = packed_window(self.size, self.last)
        self.read += window
        self.takes += 1
        self.last = min(window, self.available)
        self.available -= self.last
        self.ahead += self.last
        return self.last

    def ask(self, n: int) -> int:
        """Up to n chains handed out, taking a window whenever none is ahead; fewer if an
        intake finds none."""
        got = 0
        while got < n:
            if not self.ahead and not self.take():
                break
            k = min(n - got, self.ahead)
            self.ahead -= k
            got += k
        return got


@functools.lru_cache(maxsize=None)
def per_turn(depth: int, chains: int, turns: int) -> tuple[tuple[int, int], ...]:
    """(descriptors read, intakes) of each of the loop's first `turns` turns of `chains`, on
    its TX and RX queues together, `depth` frames in flight, from the start (every window
    at its least)."""
    step, weight = NetLoopback.STEP_HOST, NetLoopback.WEIGHT
    tx, rx = Intake(), Intake()
    played_turns = []
    for _ in range(turns):
        before = (tx.read + rx.read, tx.takes + rx.takes)
        tx.available, rx.available = depth - tx.ahead, depth - rx.ahead
        budget = weight
        while budget:
            ask = min(step, budget)
            got = tx.ask(ask)
            budget -= got
            if got < ask:
                break
        for k in range(0, chains, step):
            rx.ask(min(step, chains - k))
        played_turns.append((tx.read + rx.read - before[0], tx.takes + rx.takes - before[1]))
    return tuple(played_turns)


def played(depth: int, chains: int) -> tuple[float, float]:
    """(descriptors read, intakes) of a steady turn (the mean over alternating turns, late
    in a long run)."""
    late = per_turn(depth, chains, TURNS)[TURNS // 2:]
    return sum(r for r, _ in late) / len(late), sum(t for _, t in late) / len(late)


def in_window(depth: int, chains: int, requests: int) -> tuple[float, float]:
    """(descriptors read, intakes) of a turn in the bench's window, the mean over the turns
    that bring back its frames: the window opens as the `depth`-th frame is back, a turn of
    `chains` at a time, when the windows may still be growing from the loop's start (traced,
    make trace MODE=packed SIZE=64 DEPTH=64, default latencies, 2026-12-06: the window's
    turns read 192, 192, 160 and 256 descriptors, 200 a turn, where a steady turn reads 256;
    played here 224, 192, 128, 256)."""
    first, end = depth // chains, -(-(depth + requests) // chains)
    turns = per_turn(depth, chains, end)[first:end]
    return sum(r for r, _ in turns) / len(turns), sum(t for _, t in turns) / len(turns)


def windows(depth: int, chains: int, requests: int) -> tuple[float, float]:
    """(local-bus words, intakes) a packed ring's turn spends on its intake windows, the mean
    over the bench's window."""
    descriptors, takes = in_window(depth, chains, requests)
    return WORDS_PER_DESC * descriptors, takes
