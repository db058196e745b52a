"""A turn walked step by step in the firmware's order (NetLoopback.stream), for the one
question the load model's sums cannot answer: what a CPU that wakes microseconds after its
interrupt loses in the turn's DMA waits (load_model.wake_cycles), for a ring in host memory
and a push ring's turn of one step (a push stream of several steps is walked on the DMA
engine itself: push_walk).

A DMA wait (SoftCpu.dma_wait) reaps results as they end, its own and the other steps' alike;
with no result pending it sleeps until the next DMA ends and runs again a wake later. So a
wait whose DMAs outlast the wake sleeps more than once, while a DMA submitted before a long
sleep has ended when the CPU runs again: whether the next wait sleeps depends on what the
CPU submitted since and on the work between. The walk follows the loop's four operations (a
step's TX slots taken and its fetches submitted; the oldest fetching step finished; the RX
slots taken and the stores submitted; the oldest storing step finished; each lane holding at
most two steps), each step's DMAs ending evenly over its transfer, one direction's steps
through the link in turn. It times the turn with and without the wake; the difference is
the wake's cost, which the load model adds to its price of the turn. A ring in host memory's
turn is walked the same way (load_model.host_ops), its ring reads' sleeps a calibrated count
placed over the operations (StreamOps.asleep) and a finish waiting for the stores in flight
(StreamOps.posted).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

@dataclass(frozen=True)
class StreamOps:
    """What a turn's walk needs, in CPU cycles."""

    step: int                               # chains per step (NetLoopback.STEP_SRAM)
    take_tx: float                          # a step's TX slots read and its fetches submitted
    take_rx: float                          # a step's RX slots read and its stores submitted
    finish: float                           # a step's fetch or store finished (ring entries posted)
    fetch: Callable[[int], float]           # n chains' fetches, submit to their last result reaped (0: inline)
    store: Callable[[int], float]           # n chains' stores, the same
    read_latency: float                     # the part of a fetch that a fetch behind it overlaps
    reap: float                             # one result reaped
    dmas_per_chain: int                     # DMAs of one chain in one direction
    lanes: int                              # steps in flight a direction (NetLoopback.LANES)
    # a ring in host memory's: the times its ring reads sleep in each operation (a wake each),
    # in the turn's order (takes and finishes); when they run out, a notification holds the
    # interrupt line up (its waits slept until then: TurnCounts.slept) for the rest of the turn
    asleep: tuple[float, ...] | None = None
    # a ring in host memory's: a finish's ring writes are posted behind the stores in flight
    # (DeviceQueue.defer), and it waits for them to end
    posted: bool = False


@dataclass
class Walk:
    cycles: float = 0.0                     # the turn, from its first take to its last finish
    sleeps: int = 0                         # times the CPU slept in a DMA wait
    waits_slept: int = 0                    # DMA waits that slept at least once
    # each step's chains published (its store finished), and when
    published: list[tuple[float, int]] = field(default_factory=list)
    # when each finish (a fetch's or a store's) ends: where the firmware pays an MSI its
    # posted ring writes owe (see announced)
    finishes: list[float] = field(default_factory=list)

    def announced(self) -> list[tuple[float, int]]:
        """Each step's chains as the host learns of them: a stream's ring writes are posted and
        its MSI owed until they have ended (DeviceQueue.defer), paid by the first finish after
        (pay_interrupt(wait=False) looks right after a finish, when the writes it just posted
        have not ended), the last step's as the turn ends (pay_interrupt(wait=True))."""
        return [(next((e for e in self.finishes if e > t), self.cycles), n) for t, n in self.published]


def walk(chains: int, ops: StreamOps, wake: float, rung: float = math.inf) -> Walk:
    """A turn of `chains` under a wake of `wake` cycles, a notification arriving `rung` cycles
    into it: from then on the interrupt line stays up (a doorbell pending, ep_csr's irq is
    any enabled source) and a wait polls instead of sleeping (SoftCpu.wait_irq returns at
    once); a CPU asleep then wakes for it. A turn of fewer chains than a step fetches all,
    then stores all, as NetLoopback.stream does."""
    out = Walk()
    t = 0.0
    ring = iter(ops.asleep or ())
    last = {"fetch": 0.0, "store": 0.0}     # each direction's last DMA end so far
    unreaped: list[tuple[float, int]] = []  # (end, step) of DMAs whose results are not reaped yet
    steps = itertools.count()
    stores: set[int] = set()                # steps that store

    def submit(kind: str, n: int) -> int:
        step = next(steps)
        cost = ops.fetch(n) if kind == "fetch" else ops.store(n)
        if cost:
            # a step behind another in the same direction ends a transfer after it (a fetch's
            # read latency overlaps the one before); its DMAs end evenly over its transfer
            m = n * ops.dmas_per_chain
            lead = ops.read_latency if kind == "fetch" else 0.0
            end = last[kind] = max(t + cost, last[kind] + cost - lead) - m * ops.reap
            spread = max(0.0, cost - lead - m * ops.reap) / m
            unreaped.extend((end - (m - 1 - k) * spread, step) for k in range(m))
        if kind == "store":
            stores.add(step)
        return step

    def wait(step: int) -> None:
        nonlocal t
        slept = False
        behind = stores if ops.posted else set()
        while any(s == step or s in behind for _, s in unreaped):
            ended = [d for d in unreaped if d[0] <= t]
            if ended:                       # a result pending: reaped at once
                unreaped.remove(min(ended))
                t += ops.reap
                continue
            if t >= rung:                   # none, the irq up: poll until the next ends
                t = min(unreaped)[0]
                continue
            out.sleeps += 1                 # none: sleep until the next DMA ends (or a doorbell), then the wake
            slept = True
            t = min(min(unreaped)[0], rung) + wake
        out.waits_slept += slept

    def run(cost: float) -> None:
        """An operation of the CPU, its ring reads' sleeps first (see StreamOps.asleep)."""
        nonlocal t, rung
        if ops.asleep is not None:
            slept = next(ring, None)
            if slept is None:
                rung = min(rung, t)
            t += (slept or 0.0) * wake
        t += cost

    if chains < ops.step:
        run(ops.take_tx)
        wait(submit("fetch", chains))
        run(ops.finish)
        run(ops.take_rx)
        wait(submit("store", chains))
        run(ops.finish)
        out.published.append((t, chains))
        out.cycles = t
        return out
    todo = deque([ops.step] * (chains // ops.step) + ([chains % ops.step] if chains % ops.step else []))
    fetching: deque[tuple[int, int]] = deque()      # (chains, step)
    storing: deque[int] = deque()
    fetched: deque[int] = deque()
    while todo or fetching or fetched or storing:
        if todo and len(fetching) < ops.lanes:
            run(ops.take_tx)
            n = todo.popleft()
            fetching.append((n, submit("fetch", n)))
        if fetching and (len(fetching) == ops.lanes or not todo):
            n, step = fetching.popleft()
            wait(step)
            run(ops.finish)
            out.finishes.append(t)
            fetched.append(n)
        if fetched and len(storing) < ops.lanes:
            run(ops.take_rx)
            n = fetched.popleft()
            storing.append((n, submit("store", n)))
        if storing and (len(storing) == ops.lanes or not fetching):
            n, step = storing.popleft()
            wait(step)
            run(ops.finish)
            out.published.append((t, n))
            out.finishes.append(t)
    out.cycles = t
    return out


def wake_cost(chains: int, ops: StreamOps, wake: float, rung: float = math.inf) -> float:
    """Cycles a wake of `wake` adds to a turn of `chains` (a notification `rung` cycles into
    it): the walk timed with it, less without."""
    return walk(chains, ops, wake, rung).cycles - walk(chains, ops, 0.0, rung).cycles
