"""The DMA engine with both directions beside each other, as a push stream runs them: read
requests and write TLPs share the requester request interface (RQ), served in time order as
ep_dma serves them, and pass through the PCIe core one at a time.

timing.DmaEngine prices each direction as if alone, which tb_timing checks against the RTL
exactly (writes) or within two cycles (reads). Beside each other, tb_timing checks this
engine TLP by TLP against the RTL's RQ (test_rq_frames_go_as_the_engine_issues_them: every
TLP's kind and last beat exactly, until a DLLP first holds one back) and by when each
direction's last result is reaped (test_reads_and_writes_beside_each_other_predicted, within
1%). Each rule below was read off the RTL or cocotbext-pcie's sources and checked on a
one-off probe of every TLP on both sides of the core (2026-12-07):

- ep_dma issues one beat a cycle to the RQ: a write TLP's beats back to back (a read request
  waits while one goes out: `wr_busy`), a read request (one beat) first wherever both are
  ready (the write engine sees `tx_room && !rd_issue`); a read's first request goes on the
  cycle a write's first beat would, its next ones a cycle apart; the read engine takes its
  next descriptor the cycle after its last request (`issuing_reg`), a cycle a write may take;
  a request that waited for a tag goes four cycles after the last completion beat that
  freed it (timing.dma_tag_to_rq);
- the core (cocotbext-pcie's usp_model and its port) takes a whole TLP from its RQ sink once
  it has queued the one before, queues it once the link has taken the TLP ahead from its
  one-deep transmit queue, and the link sends one TLP at a time at its line rate
  (Link.bytes_per_cycle; a TLP's wire bytes: its payload, a 3-DW header, as PCIe requires
  below 4 GiB, and 8 of framing); its sequence number is reported at the second clock edge
  after it is queued, one a cycle, and a write's next one starts six cycles after its last
  TLP was queued (RtlStages.dma_write_restart); the sink's tready for an edge is set at the
  edge before from the whole TLPs waiting in it, low while three do (so a fourth one-beat
  request may follow three);
- a request is answered its wire time, the link's delay each way (Link.delay_ns) and the
  host's latency after it goes on the link; so a read request goes on the link after the
  write TLP ahead of it, comes back later than alone and holds its tag longer, and with the
  tags all out the reads slow down as well as the writes (each direction 27.3 to 28.2 B a
  cycle beside the other, 29.1 and 29.7 alone);
- a read ends as its context's count takes its last completion beat, which the CPU sees at
  once, where a write's report is seen two edges after its last TLP is queued: as the CPU's
  reap counts them (Bus.dma_done_to_irq, from a write's TLP queued), a read ends two edges
  before its count (REPORT_EDGES; traced: a read's last RC beat to its result reaped 8 cycles,
  a write's last TLP queued to its reap 9);
- ep_dma_wr ends a write on the report of its last TLP, which waits while a request ahead of
  it sits in the transmit queue behind a write TLP on the link: a write ending on a 12-byte
  TLP beside reads ends a TLP's time later than alone (traced at push 4 KiB: 45 to 53 cycles
  from such a TLP to the next write's first, 18 to 29 after longer ones).

The engine is simulated lazily, one RQ issue at a time in time order, only as far as a
question needs (when a descriptor ends, when a queue has room): the CPU submits nothing while
it waits, so what is simulated up to the earliest end it waits for is not changed by a later
submit (but for one TLP that may already have gone past it). A host profile's read jitter is
priced as its quantiles, request by request (a van der Corput sequence: its mean over many
requests, and a spread, where a step waits for its slowest read), or a run's draws replayed,
and the completions go on the link in the order the requests are answered, each served once
no request issued later can be answered before it. Not priced: the link's DLLPs (ACKs and
flow-control updates, 8 bytes each, a pair about every 42 cycles each way while TLPs come
in): each shifts the TLPs behind it by a quarter cycle, which can decide whether a request
overtakes a write's last TLP (9 to 14 cycles each time), so 16 writes of 4,108 bytes beside
reads land within -1.5% to +1.7% of the RTL run by run under `server`; and at the link's
limit they take about 1% of it (16 reads of 16 KiB, `ideal`, no host latency: -0.75%); nor
TLPs cut at a buffer's unaligned start (tlp_payloads splits from an aligned one).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque

from .layout import DEFAULT_PARAMS
from .timing import (CLK_NS, REPORT_EDGES, Bus, CompletionPath, Link, RtlStages, dma_reap_cycles, dma_submit_cycles,
                     dma_submit_to_rq, dma_tag_to_rq, request_turnaround, tlp_payloads)

SINK_FRAMES = 3                 # usp_model's RQ sink: tready low while a third whole TLP waits (queue_occupancy_limit_frames = 2)


class SharedRqEngine:
    """The DMA engine as the CPU feeds it (timing.DmaEngine's queues, read contexts, tags and
    stages), both directions on one RQ. Descriptors are numbered in submit order; times in
    cycles."""

    def __init__(self, host_read_ns: float = 0.0, link: Link = Link(), bus: Bus = Bus(),
                 stages: RtlStages = RtlStages(), read_descs: int = DEFAULT_PARAMS.dma_read_descs, tags: int | None = None,
                 desc_depth: int | None = None, jitter: tuple[float, float] = (0.0, 0.0), delays=None):
        """`jitter`: the host's extra read latency, an exponential's mean and cap (ns),
        priced as its quantiles at a van der Corput sequence, request by request, on top of
        `host_read_ns`; or `delays`: the extra latency (ns) a run drew for each request, in
        issue order, replayed (timing.ReadDelays). Completions go on the link in the order
        the requests are answered."""
        self.link, self.stages, self.read_descs, self.tags, self.depth = link, stages, read_descs, tags, desc_depth
        self.jitter, self.delays = jitter, delays
        self.overhead = link.ep_header_bytes + link.framing_bytes   # a TLP's wire bytes besides its payload
        self.turnaround = request_turnaround(link, host_read_ns)
        self.tag_to_rq = dma_tag_to_rq(stages)
        self.completions = CompletionPath(link, None, stages)      # the link and RC, in the order served
        self.sizes: list[int] = []
        self.ready: list[float] = []                    # each descriptor's earliest start (its submit's)
        self.starts: list[float | None] = []            # when the engine takes it from its queue
        self.ends: list[float | None] = []
        self.queues: dict[str, list[int]] = {"read": [], "write": []}
        self.taken = {"read": 0, "write": 0}            # descriptors of each queue the engine took
        self.rq = -math.inf                             # the RQ's next free cycle
        # the read side: the descriptor issuing, its requests left to issue, the next one's index
        # in it; the requests issued, those answered but not served yet, the served ones' last RC
        # beats (for the tags), and each read's requests not served, its latest beat, its end
        self.reading: int | None = None
        self.requests: deque[int] = deque()
        self.request_index = 0
        self.issued = 0                                 # requests issued so far
        self.pending: list[tuple[float, int, int, int]] = []    # (answer, issue order, bytes, read) not yet served
        self.finished: list[float] = []                 # the served requests' last RC beats, sorted
        self.left: dict[int, int] = {}                  # each read's requests not served yet
        self.last_beat: dict[int, float] = {}           # each read's latest RC beat so far
        self.read_ends: list[float] = []
        self.prev_issued = -math.inf
        # the write side: the descriptor issuing and its TLPs left; the write engine free
        self.writing: int | None = None
        self.tlps: deque[int] = deque()
        self.write_free = -math.inf
        # the core: the last TLP it took from the RQ into its one-deep transmit queue (and
        # reported, if a write's), the last the link started and when the link is free
        self.queued = self.sent = self.link_free = self.reported = -math.inf
        self.lasts: list[float] = []                    # the edge of each TLP's last RQ beat
        self.frames: list[str] = []                     # each TLP's direction ("read": a request), in RQ order
        self.taken_in: list[float] = []                 # when the core took each TLP from its RQ sink

    # -- the CPU's side -------------------------------------------------------------------

    def submit(self, direction: str, n: int, t: float) -> int:
        """An n-byte descriptor whose SUBMIT write ends at cycle t; returns its handle."""
        i = len(self.sizes)
        self.sizes.append(n)
        self.ready.append(t + dma_submit_to_rq(self.stages))
        self.starts.append(None)
        self.ends.append(None)
        self.queues[direction].append(i)
        return i

    def room(self, direction: str) -> float:
        """When the direction's queue has room for one more descriptor (-inf: now)."""
        queue = self.queues[direction]
        if not self.depth or len(queue) < self.depth:
            return -math.inf
        head = queue[-self.depth]
        while self.starts[head] is None:
            self._step(f"the {direction} queue's room")
        return self.starts[head]

    def end(self, i: int) -> float:
        """The cycle descriptor i ends (a read: when its context's count does)."""
        while self.ends[i] is None:
            self._step(f"descriptor {i}'s end")
        return self.ends[i]

    def first_end(self, handles) -> tuple[float, int]:
        """(end, handle) of whichever of `handles` ends first: the engine simulated until no
        descriptor of them can end before it (one not ended yet ends after the RQ's cycle)."""
        while True:
            known = [(self.ends[i], i) for i in handles if self.ends[i] is not None]
            if known and (min(known)[0] <= self.rq or len(known) == len(handles)):
                return min(known)
            self._step("the first end of descriptors " + ", ".join(map(str, handles)))

    # -- the engine -----------------------------------------------------------------------

    def _take(self) -> None:
        """Each engine takes its queue's next descriptor once free (a read: the one before
        issued and a context free; a write: the one before ended and restarted)."""
        stages = self.stages
        reads = self.queues["read"]
        while self.reading is None and self.taken["read"] < len(reads):
            i = reads[self.taken["read"]]
            # the engine is free again the cycle after the last request (ep_dma_rd's
            # issuing_reg), a cycle the write engine may take the RQ in
            start = max(self.ready[i], self.prev_issued + 1,
                        self.starts[reads[self.taken["read"] - 1]] if self.taken["read"] else -math.inf)
            before = self.taken["read"]
            if before >= self.read_descs:                   # a context frees when its read ends
                start = max(start, self._nth_end(before - self.read_descs) + stages.dma_context_restart)
            self.starts[i] = start
            self.taken["read"] += 1
            if self.sizes[i]:
                self.reading, self.request_index = i, 0
                self.requests = deque(tlp_payloads(self.sizes[i], self.link.max_read_request))
                self.left[i] = len(self.requests)
            else:
                self.ends[i] = self.prev_issued = start + 1
                self.read_ends.append(start + 1)
        writes = self.queues["write"]
        if self.writing is None and self.taken["write"] < len(writes):
            i = writes[self.taken["write"]]
            self.starts[i] = max(self.ready[i], self.write_free,
                                 self.starts[writes[self.taken["write"] - 1]] if self.taken["write"] else -math.inf)
            self.taken["write"] += 1
            self.writing, self.tlps = i, deque(tlp_payloads(self.sizes[i], self.link.max_payload))

    def _request_ready(self) -> float:
        """The cycle the next read request may go on the RQ (inf: none to go)."""
        if self.reading is None:
            return math.inf
        wanted = self.starts[self.reading] + self.request_index         # one request a cycle
        k = self.issued
        if self.tags and k >= self.tags:                # a tag frees as the (k - tags + 1)-th request ends
            wanted = max(wanted, self._nth_finish(k - self.tags) + self.tag_to_rq - 1)
        return wanted

    def _nth_finish(self, n: int) -> float:
        """The (n+1)-th earliest last RC beat of the requests issued so far: answers are served
        in their order until no request still pending can end before it."""
        while len(self.finished) <= n or (self.pending and self.finished[n] > self.pending[0][0]):
            self._serve_next()
        return self.finished[n]

    def _nth_end(self, n: int) -> float:
        """The (n+1)-th earliest end of the reads taken so far (all issued)."""
        while len(self.read_ends) <= n or (self.pending and sorted(self.read_ends)[n] > self.pending[0][0]):
            self._serve_next()
        return sorted(self.read_ends)[n]

    def _serve_next(self) -> None:
        """The earliest answer pending served: its completions on the link and into RC."""
        answer, _, size, i = heapq.heappop(self.pending)
        done = self.completions.serve(answer, size)
        bisect.insort(self.finished, done)
        self.last_beat[i] = max(self.last_beat.get(i, -math.inf), done)
        self.left[i] -= 1
        if not self.left[i]:
            counted = self.last_beat[i] + self.stages.dma_read_count
            self.read_ends.append(counted)          # its context free
            self.ends[i] = counted - REPORT_EDGES   # as the CPU's reap counts it (timing.REPORT_EDGES)

    def _serve_safe(self) -> None:
        """Every pending answer no request issued later can precede (one issued after the
        RQ's cycle is answered a latency after it at the earliest)."""
        while self.pending and self.pending[0][0] <= self.rq + self.turnaround:
            self._serve_next()

    def _jitter(self, k: int) -> float:
        """Request k's extra latency in cycles: the jitter's quantile at the k-th point of a
        van der Corput sequence (its mean over many requests, and a spread, not a draw); or
        the run's draw replayed."""
        if self.delays is not None:
            return next(self.delays) / CLK_NS
        mean, cap = self.jitter
        if not mean:
            return 0.0
        u, f, n = 0.0, 0.5, k + 1
        while n:
            u += f * (n & 1)
            n >>= 1
            f /= 2
        return min(-mean * math.log(1 - u), cap) / CLK_NS

    def _step(self, what: str) -> None:
        """The RQ's next beat (a read request) or beats (a write TLP), whichever ep_dma issues
        next: a request wherever both are ready."""
        self._take()
        request = self._request_ready()
        tlp = self.starts[self.writing] if self.writing is not None else math.inf
        if math.isinf(request) and math.isinf(tlp):
            if not self.pending:
                raise RuntimeError(f"the DMA engine has nothing left to run, waiting for {what}")
            self._serve_next()          # nothing more to issue: the answers pending come in
            return
        at = self._beat_edge(math.ceil(max(self.rq, min(request, tlp))) + 1) - 1
        if request <= at:
            self._issue_request(at)
        else:
            self._issue_tlp(at)
        self._serve_safe()

    def _beat_edge(self, y: int) -> int:
        """The first clock edge from y at which the core's RQ sink takes a beat. Its tready
        for an edge is set at the edge before, from the TLPs that wait in it whole, not
        counting one whose last beat came in at that edge (usp_model's sink: low while more
        than queue_occupancy_limit_frames = 2 wait): a beat goes at edge y unless three TLPs
        that ended by edge y - 2 were not yet taken by the core at edge y - 1."""
        while True:
            k = bisect.bisect_right(self.lasts, y - 2)
            if k < SINK_FRAMES or self.taken_in[k - SINK_FRAMES] < y - 1:
                return y
            y = max(y + 1, math.floor(self.taken_in[k - SINK_FRAMES]) + 2)

    def _issue_request(self, at: float) -> None:
        self.rq = at + 1
        self.frames.append("read")
        size = self.requests.popleft()
        self.request_index += 1
        on_link = self._core(self.rq, self.overhead)
        answer = on_link + self.turnaround + self._jitter(self.issued)
        heapq.heappush(self.pending, (answer, self.issued, size, self.reading))
        self.issued += 1
        if not self.requests:
            self.prev_issued = self.rq
            self.reading = None

    def _issue_tlp(self, at: float) -> None:
        payload = self.tlps.popleft()
        self.frames.append("write")
        beats = self.link.rq_beats(payload)
        # its later beats stall while the sink is full (the TLP before it now counted)
        self.rq = at + beats if beats == 1 else self._beat_edge(at + 2) + beats - 2
        self._core(self.rq, self.overhead + payload)
        if self.tlps:
            return
        i = self.writing
        self.ends[i] = self.reported            # its last TLP's sequence report
        self.write_free = self.ends[i] + self.stages.dma_write_restart
        self.writing = None

    def _core(self, in_at: float, wire_bytes: int) -> float:
        """A TLP whose last RQ beat is in at `in_at` through the core (usp_model and its port):
        taken once the TLP before it is queued, queued (and reported) once the link has taken
        the TLP ahead from the one-deep transmit queue, sent once the link is free. Returns
        when it goes on the link. Times: the model's clock edges (`in_at`, `reported`) or
        between them (the link's)."""
        self.lasts.append(in_at)
        self.taken_in.append(max(in_at, self.queued))
        self.queued = max(in_at, self.queued, self.sent)
        # its sequence number is reported one a cycle (the core's report queue), counted from
        # the edge at or before the core queued it (dma_write_restart counts on from there)
        self.reported = max(math.floor(self.queued), self.reported + 1)
        self.sent = max(self.queued, self.link_free)
        self.link_free = self.sent + wire_bytes / self.link.bytes_per_cycle
        return self.sent

def group_reaped(group, host_read_ns: float = 0.0, link: Link = Link(), bus: Bus = Bus(),
                 tags: int | None = None, read_descs: int = DEFAULT_PARAMS.dma_read_descs, desc_depth: int | None = None,
                 jitter: tuple[float, float] = (0.0, 0.0), delays=None) -> dict[str, float]:
    """DMAs of either direction submitted back to back (`group`: (direction, bytes) in submit
    order), then every result reaped in the order they end, each seen `dma_done_to_irq` after
    it ends: the cycle each direction's last result is reaped, from the first submit
    (timing.dma_group_cycles, with both directions beside each other)."""
    engine = SharedRqEngine(host_read_ns, link, bus, read_descs=read_descs, tags=tags, desc_depth=desc_depth,
                            jitter=jitter, delays=delays)
    handles, t = submit_group(engine, group, bus)
    reaped: dict[str, float] = {}
    for end, direction in sorted((engine.end(i), direction) for i, direction in handles):
        t = reaped[direction] = max(t, end + bus.dma_done_to_irq) + dma_reap_cycles(bus)
    return reaped


def submit_group(engine: SharedRqEngine, group, bus: Bus = Bus()) -> tuple[list[tuple[int, str]], float]:
    """The CPU submits `group` ((direction, bytes) in order) back to back, each once its
    queue has room: each descriptor's handle and direction, and when the last submit ends."""
    t = 0.0
    handles = []
    for direction, n in group:
        t = max(t, engine.room(direction)) + dma_submit_cycles(bus)
        handles.append((engine.submit(direction, n, t), direction))
    return handles, t
