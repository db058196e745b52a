"""A push ring's stream turn of several steps, walked as a discrete-event simulation in the
firmware's order (NetLoopback.stream) with the DMA engine both directions beside each other
and the PCIe core's queue and link behind it (shared_rq.SharedRqEngine): what load_model
prices such a turn at.

The CPU is a serial server: the turn's set-up (`prologue`), then a step's TX slots taken (each
slot's header read over the local bus) and its fetches submitted, the oldest fetching step
waited for and finished, its RX slots taken and its stores submitted, the oldest storing step
waited for and finished, each lane holding at most two steps (NetLoopback.LANES), a submit
waiting for room in the engine's queue (DMA_DESC_DEPTH), a wait reaping results as they end.
The engine takes each direction's descriptors in order with its read contexts and tags, the
RQ and the link shared. The CPU's cycles are the turn's fitted work (load_model.TurnCounts:
words and compute, a line in the turn's features): its constant before the first take, the
rest spread over the steps' takes and finishes. Nothing in the walk is fitted to timing.

It replaced a queueing network (exact mean value analysis, with a fitted count of steps in
flight) and a flow shop (each direction one step at a time), of which the turn took the lower
price, with a fitted share of the second step's take hidden behind the first fetch: fitted on
the calibration set they erred -0.8% to +11.8% on the traced turns of
tb/test_load_model.py's TRACED_PUSH_TURNS (push 1 KiB at 16 in flight with doubled
latencies: +11.8%), the walk -3.0% to +3.6%. With no host latency it runs short (push 1 KiB
at 16 in flight, `none`: the loop's turns of 9 and 15 frames 5.6% and 6.6% short of the
RTL's; one of 8 that began by delivering a frame held from the turn before, -2.3% with that
delivery).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import deque

from .firmware.backends import NetLoopback
from .layout import PushEntry
from .shared_rq import SharedRqEngine
from .timing import Bus, dma_reap_cycles, dma_submit_cycles, tlp_payloads


@functools.lru_cache(maxsize=4096)
def turn_cycles(chains: int, frame: int, chunk: int, fetched: bool, held: int, cpu: float, prologue: float,
                read_ns: float, link, bus: Bus, params, used: tuple[int, int] = (0, 0), wake: float = 0.0,
                rung: float = math.inf, jitter: tuple[float, float] = (0.0, 0.0)) -> float:
    """Cycles of a push turn of `chains` frames of `frame` bytes (DMAs of at most `chunk`),
    from its first operation to its last finish: `fetched` whether its frames are fetched by
    DMA (not carried in the slot), `held` of its last frames fetched and not stored (no RX
    buffer: the next turn stores them), `cpu` the CPU's cycles in the turn (`prologue` of them
    before its first take), `read_ns` a read's host latency, `params` the RTL's; `used` the
    bytes of a used entry and of the used index: each finish posts its step's used entries,
    then the index, as DMA writes behind the stores (DeviceQueue.defer), their submits in
    `cpu`, and the turn ends once the last have ended (pay_interrupt(wait=True)). `wake`: the
    CPU's wake latency; a wait that finds no result pending sleeps until the next DMA ends and
    runs again a wake later (SoftCpu.dma_done: a DONE_HEAD read, then wait_irq), unless a
    notification `rung` cycles into the turn holds the interrupt line up."""
    engine = SharedRqEngine(read_ns, link, bus, read_descs=params.dma_read_descs, tags=params.dma_tags,
                            desc_depth=params.dma_desc_depth, jitter=jitter)
    step = NetLoopback.STEP_SRAM
    chunks = tlp_payloads(frame, chunk)
    submit_cycles, reap = dma_submit_cycles(bus), dma_reap_cycles(bus)
    header = PushEntry.INLINE // 4 * bus.axil_read          # a slot's header, read a word at a time
    take_tx = header + (len(chunks) * submit_cycles if fetched else 0)     # a frame's, the submits apart
    take_rx = len(chunks) * submit_cycles
    finish = max(0.0, ((cpu - prologue) / chains - take_tx - take_rx) / 2)  # a frame's share of each finish
    t = prologue
    unreaped: list[tuple[int, int]] = []            # (descriptor, step) whose result is not reaped yet
    steps = itertools.count()

    def submit(direction: str, n: int) -> int:
        nonlocal t
        k = next(steps)
        if direction == "read" and not fetched:
            return k
        for _ in range(n):
            for c in chunks:
                t = max(t, engine.room(direction)) + submit_cycles
                unreaped.append((engine.submit(direction, c, t), k))
        return k

    def publish(n: int) -> None:
        entry, index = used
        for size in (n * entry, index) if entry else ():
            unreaped.append((engine.submit("write", size, t), -1))

    def wait(k: int) -> None:
        nonlocal t
        while any(s == k for _, s in unreaped):
            end, d = engine.first_end([i for i, _ in unreaped])
            seen, s = end + bus.dma_done_to_irq, dict(unreaped)[d]
            # none ended by the end of the DONE_HEAD read that looks, nor a notification: asleep
            # (a DMA ending during the read raises the irq the wait then finds up)
            if wake and seen > t + bus.axil_read and t < rung:
                t = min(seen, rung) + wake
                continue
            t = max(t, seen) + reap
            unreaped.remove((d, s))

    def finish_oldest(lane: deque[tuple[int, int]]) -> int:
        """The lane's oldest step waited for and finished, its used entries posted."""
        nonlocal t
        n, k = lane.popleft()
        wait(k)
        t += finish * n
        publish(n)
        return n

    todo = deque([step] * (chains // step) + ([chains % step] if chains % step else []))
    storable = chains - held
    fetching: deque[tuple[int, int]] = deque()
    fetched_steps: deque[int] = deque()
    storing: deque[tuple[int, int]] = deque()
    lanes = NetLoopback.LANES
    while todo or fetching or fetched_steps or storing:
        if todo and len(fetching) < lanes:
            n = todo.popleft()
            t += header * n
            fetching.append((n, submit("read", n)))
        if fetching and (len(fetching) == lanes or not todo):
            fetched_steps.append(finish_oldest(fetching))
        if fetched_steps and len(storing) < lanes:
            n = min(fetched_steps.popleft(), storable)
            storable -= n
            if n:
                storing.append((n, submit("write", n)))
        if storing and (len(storing) == lanes or not fetching):
            finish_oldest(storing)
    wait(-1)
    return t
