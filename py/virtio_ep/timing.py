"""Analytic timing model: named parameters (clock, link, TLP overheads, local-bus costs,
root-complex latencies, firmware costs) and the latencies they add up to.

Three levels, each checked against the RTL simulation (tb/tb_timing.py):
- fixed paths through the RTL (doorbell to irq, MSI request to the core, DMA submit to
  the first RQ beat): register stages read off the RTL, predicted exactly;
- primitives the firmware uses (a local-bus read or write, a DMA read or write of n
  bytes): bus handshakes, RQ beats, link serialization of the completions;
- a whole request: the operations the firmware performs for it (`request_ops`, derived
  from the ring layouts and the firmware's algorithm, and checked against what the
  firmware did) priced with the primitives, plus the doorbell and MSI paths.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .costs import FirmwareCosts, OpCounts
from .layout import (DEFAULT_PARAMS, DEVICE_POOL_BASE, DMA_CHUNK, EVENT_WORD, NO_LATENCY, PUSH_INLINE_MAX, USER_CLK_HZ, HostLatencies, NetHdr, PackedDesc,
                     PackedEvent, PushEntry, SplitAvail, SplitDesc, SplitUsed)
from .layout.config import HostProfile

CLK_NS = 1e9 / USER_CLK_HZ
ReadDelays = Iterator[float] | None     # extra host latency (ns) per device read request, in issue order


@dataclass(frozen=True)
class RtlStages:
    """Register stages on each path, in user_clk cycles (read off the RTL)."""

    cq_decode: int = 1          # CQ beat accepted -> registered decoder outputs (ep_cq_rx)
    ring_stage: int = 1         # a single-beat TLP's decoded ring -> doorbell out (ep_cq_rx stage A;
                                # a longer TLP rings with its last beat, this stage already passed)
    doorbell_latch: int = 1     # decoder's doorbell -> pending bit (ep_doorbell)
    irq_register: int = 1       # pending bit -> irq output (ep_csr)
    msi_pending: int = 2        # MSI REQUEST write on the local bus -> request register -> pending bit (ep_msi)
    msi_pulse: int = 1          # pending bit -> cfg_interrupt_msi_int (ep_msi)
    dma_queue: int = 1          # SUBMIT write -> descriptor at the queue's head (ep_fifo)
    dma_start: int = 1          # queue head -> engine issuing (ep_dma, IDLE state)
    dma_ram_stage: int = 1      # issue -> buffer-RAM read stage (ep_dma s1)
    dma_out_fifo: int = 1       # read stage -> RQ output FIFO head, tvalid (ep_fifo)
    dma_read_count: int = 1     # a read's last RC beat -> its context's count (events registered, ep_dma_rd)
    dma_tag_free: int = 2       # a request's last RC beat -> its tag free, then chosen for the next (ep_dma_rd)
    # a write's last TLP taken (its end) -> the next write's first RQ beat: the core's
    # sequence report (usp_model drives it at the edge after, ep_dma_wr's DRAIN -> DONE at
    # the next), result taken (-> IDLE), next start, RAM stage, out FIFO (ep_dma_wr). Five
    # until 2026-12-07, a cycle short: 16 writes of 4,108 bytes back to back ran 15 cycles
    # short of the RTL's 2,442 (tb_timing's test_rq_frames_go_as_the_engine_issues_them)
    dma_write_restart: int = 6
    # a read's count updated -> the first RQ beat of a descriptor waiting for a context:
    # result taken (context free), start, request stage, out FIFO (ep_dma_rd)
    dma_context_restart: int = 4


def doorbell_to_irq(s: RtlStages = RtlStages()) -> int:
    """Cycles from a doorbell TLP's last CQ beat to irq."""
    return s.cq_decode + s.ring_stage + s.doorbell_latch + s.irq_register


def msi_request_to_int(s: RtlStages = RtlStages()) -> int:
    """Cycles from the MSI REQUEST write's AXI handshake to cfg_interrupt_msi_int."""
    return s.msi_pending + s.msi_pulse


def dma_submit_to_rq(s: RtlStages = RtlStages()) -> int:
    """Cycles from the SUBMIT write's AXI handshake to the first RQ beat (tvalid)."""
    return s.dma_queue + s.dma_start + s.dma_ram_stage + s.dma_out_fifo


def dma_tag_to_rq(s: RtlStages = RtlStages()) -> int:
    """Cycles from a request's last RC beat to the RQ beat of a request waiting for its tag."""
    return s.dma_tag_free + s.dma_ram_stage + s.dma_out_fifo


# -- link and local bus ---------------------------------------------------------------------

GEN_BITS_PER_S = {1: 2.5e9 * 8 / 10, 2: 5e9 * 8 / 10, 3: 8e9 * 128 / 130, 4: 16e9 * 128 / 130}


@dataclass(frozen=True)
class Link:
    """The PCIe link and the UltraScale+ user interface (as the test bench configures them)."""

    gen: int = 3
    lanes: int = 8
    framing_bytes: int = 8          # per TLP on the wire besides its header (start, sequence, LCRC)
    cpl_header_bytes: int = 12      # completion header, 3 DW
    rq_descriptor_bytes: int = 16   # RQ descriptor, 4 DW
    rc_descriptor_bytes: int = 12   # RC descriptor, 3 DW
    beat_bytes: int = 32            # 256-bit AXI-Stream interfaces
    max_payload: int = 512
    max_read_request: int = 512
    rcb: int = 0                    # completions cut at every rcb bytes (a host profile's split_at_rcb); 0: up to max_payload
    mwr_header_bytes: int = 12      # a host's write to a BAR below 4 GiB: 3 DW header
    # the endpoint's requests to host memory: 3 DW header, the form PCIe requires below 4 GiB
    # (the bench's host memory is below 2 GiB; cocotbext-pcie's core model picks the form)
    ep_header_bytes: int = 12
    delay_ns: float = 10.0          # each way: cocotbext-pcie's SimPort, 5 ns at each port (port_delay)
    cq_descriptor_bytes: int = 16   # CQ descriptor, 4 DW

    @property
    def bytes_per_cycle(self) -> float:
        return GEN_BITS_PER_S[self.gen] * self.lanes / 8 * CLK_NS * 1e-9

    @classmethod
    def for_profile(cls, profile: HostProfile, **kw) -> "Link":
        """The link as a host profile shapes it: its max payload and read request sizes, and
        completions cut at its read completion boundary where it does so."""
        return cls(max_payload=profile.max_payload, max_read_request=profile.max_read_request,
                   rcb=profile.rcb if profile.split_at_rcb else 0, **kw)

    def rq_beats(self, payload: int) -> int:
        """Beats of one TLP on RQ: its descriptor and `payload` bytes."""
        return math.ceil((self.rq_descriptor_bytes + payload) / self.beat_bytes)

    def completion_payloads(self, request: int) -> list[int]:
        """The completions answering one read request (aligned), as the root complex cuts them."""
        return tlp_payloads(request, self.rcb or self.max_payload)


@dataclass(frozen=True)
class Bus:
    """Costs in cycles of the local CPU's operations and of the fixed paths around them
    (each measured once by tb_timing.py, which fails if it changes)."""

    axil_read: int = 4              # one AXI4-Lite read: address handshake, slave, data
    axil_write_base: int = 1        # one AXI4-Lite write call: 1 + axil_write_word per word
    axil_write_word: int = 2
    dma_submit_reads: int = 1       # STATUS (queue full?) before a submit
    dma_submit_writes: int = 5      # HOST_LO, HOST_HI, LOCAL, LENGTH, SUBMIT
    dma_done_reads: int = 1         # DONE_HEAD
    dma_done_writes: int = 1        # DONE_POP
    dma_done_to_irq: int = 2        # last TLP accepted (write) / placed (read) to the CPU running again (result taken and pushed in one cycle)
    # a read request's RQ beat to its first completion starting back, as a whole: only
    # load_model.look_margin uses it (half of it as the request's way in, checked on traces);
    # the DMA engines answer a request after request_turnaround from when it goes on the link
    rc_turnaround: float = 4.5
    doorbell_to_irq: float = 9.0    # host doorbell write issued to irq high (link, CQ, RTL stages)
    msi_to_host: float = 5.26       # MSI REQUEST write done to the host's handler (before HostLatencies.msi_ns)


def write_cost(words: int, bus: Bus = Bus()) -> int:
    return bus.axil_write_base + bus.axil_write_word * words


def dma_submit_cycles(bus: Bus = Bus()) -> int:
    """The CPU's bus accesses to submit one DMA descriptor."""
    return bus.axil_read * bus.dma_submit_reads + write_cost(1, bus) * bus.dma_submit_writes


def dma_reap_cycles(bus: Bus = Bus()) -> int:
    """The CPU's bus accesses to take one DMA result."""
    return bus.axil_read * bus.dma_done_reads + write_cost(1, bus) * bus.dma_done_writes


def mean_read_ns(device_read_ns: float, profile) -> float:
    """A device read's mean host latency under a host profile: its jitter's mean added (the
    mean of min(Exp(mean), cap), as the host draws it)."""
    if not profile.read_jitter_ns:
        return device_read_ns
    return device_read_ns + profile.read_jitter_ns * (1 - math.exp(-profile.read_jitter_cap_ns / profile.read_jitter_ns))


def tlp_payloads(n: int, limit: int) -> list[int]:
    """Split n bytes (from an address aligned to `limit`) into TLP payloads."""
    return [min(limit, n - off) for off in range(0, n, limit)] or [0]


class CompletionPath:
    """Completions on their way in: the link serializes them, RC takes them one beat per
    cycle from the next clock edge; link and RC overlap across completions and reads.
    Read requests are answered in the order they reach the host's memory (a profile's
    jitter reorders them across tags); each request's completions go out back to back."""

    def __init__(self, link: Link = Link(), tags: int | None = None, stages: RtlStages = RtlStages()):
        """`tags`: read requests outstanding at most (the engine's DMA_TAGS; None: no limit).
        The engine takes whichever tag frees first (ep_dma_rd): request k waits for the
        (k - tags + 1)-th request to finish, its last completion beat in."""
        self.link = link
        self.tags = tags
        self.tag_to_rq = dma_tag_to_rq(stages)
        self.requests: list[tuple[float, int, int, int, float]] = []   # (answer time, issue order, read, bytes, latency)
        self.reads = 0
        # requests answered in issue order (no jitter) are served incrementally: what `ends`
        # served so far, the link's and RC's times, each request's last beat, each read's end
        self._in_order = True
        self._served, self._t_link, self._t_rc = 0, 0.0, 0.0
        self._done: list[float] = []
        self._ends: list[float] = []
        self._issued: list[float] = []      # each read's last request's issue cycle (see `issued`)

    def read(self, n: int, first: float, delays: ReadDelays = None, latency: float = 0.0) -> int:
        """Add an n-byte read whose first request may be answered on the link at `first`,
        the next ones a cycle apart (one request a cycle), each later by its `delays`
        draw (ns, in issue order) if given; `latency`: issue to answer, which a request
        held for a tag waits again. Returns the read's handle for `ends`."""
        for k, request in enumerate(tlp_payloads(n, self.link.max_read_request)):
            extra = next(delays) / CLK_NS if delays is not None else 0.0
            answer = first + k + extra
            self._in_order &= not self.requests or answer >= self.requests[-1][0]
            self.requests.append((answer, len(self.requests), self.reads, request, latency + extra))
        self.reads += 1
        return self.reads - 1

    def ends(self) -> list[float]:
        """The cycle of each read's last RC beat, the link serving requests as they are answered."""
        if not self._in_order:
            return self._ends_by_answer()
        ends = self._ends + [0.0] * (self.reads - len(self._ends))
        issued = self._issued + [0.0] * (self.reads - len(self._issued))
        done = self._done               # last RC beat of each request, in issue order = end order
        for answer, k, read, request, latency in self.requests[self._served:]:
            if self.tags and k >= self.tags:
                answer = max(answer, done[k - self.tags] + self.tag_to_rq + latency)
            issued[read] = answer - latency
            done.append(self.serve(answer, request))
            ends[read] = done[-1]
        self._served, self._done, self._ends, self._issued = len(self.requests), done, ends, issued
        return list(ends)

    def issued(self, read: int) -> float:
        """The cycle read `read`'s last request is issued: a request held for a tag goes out as
        one frees (the engine takes its next descriptor only then: ep_dma_rd's `ready`)."""
        self.ends()
        return self._issued[read]

    def _ends_by_answer(self) -> list[float]:
        """`ends` when jitter reorders the answers: events in time order, the link serving the
        earliest answer first, a request held for a tag issued once enough requests ended. A
        held request answers after any answer already pending that can be served first (the
        freed tag's request ended at or after it), so serving the earliest pending one is safe."""
        self._t_link = self._t_rc = 0.0
        ends = [0.0] * self.reads
        self._issued = [0.0] * self.reads
        finished: list[float] = []      # last RC beat of each request, in the order they end
        pending: list[tuple[float, int, int, int]] = []
        issued = 0
        while issued < len(self.requests) or pending:
            if issued < len(self.requests) and (not self.tags or len(finished) > issued - self.tags):
                answer, k, read, request, latency = self.requests[issued]
                if self.tags and k >= self.tags:
                    answer = max(answer, finished[k - self.tags] + self.tag_to_rq + latency)
                self._issued[read] = max(self._issued[read], answer - latency)
                heapq.heappush(pending, (answer, k, read, request))
                issued += 1
                continue
            answer, _, read, request = heapq.heappop(pending)
            finished.append(self.serve(answer, request))
            ends[read] = max(ends[read], finished[-1])
        return ends

    def serve(self, answer: float, request: int) -> float:
        """One request's completions on the link and into RC, from its answer; its last beat."""
        link = self.link
        self._t_link = max(self._t_link, answer)
        for p in link.completion_payloads(request):
            self._t_link += (p + link.cpl_header_bytes + link.framing_bytes) / link.bytes_per_cycle
            self._t_rc = max(self._t_rc, math.ceil(self._t_link)) + math.ceil((p + link.rc_descriptor_bytes) / link.beat_bytes)
        return self._t_rc


def dma_read_cycles(n: int, host_read_ns: float = 0.0, link: Link = Link(), bus: Bus = Bus(),
                    delays: ReadDelays = None, tags: int | None = None) -> float:
    """A DMA read: submit, the read request on RQ (one beat), the root complex's turnaround
    plus the host memory latency, the completions streamed in, the completion seen by the CPU."""
    return dma_group_cycles((("read", n),), host_read_ns, link, bus, delays=delays, tags=tags)


# a write's sequence number is reported at the second clock edge after the core queued its
# TLP (usp_model drives it at the edge after), and Bus.dma_done_to_irq counts a write's end
# from that TLP queued; a read's count is seen at once, so a read ends, as the CPU's reap
# counts it, REPORT_EDGES before its count (traced: a read's last RC beat to its result
# reaped 8 cycles, a write's last TLP queued to its reap 9)
REPORT_EDGES = 2


def request_turnaround(link: Link, host_read_ns: float = 0.0) -> float:
    """A read request going on the link to its first completion starting back: the request's
    wire time (its header, 3 DW below 4 GiB, and framing), the link's delay each way
    (Link.delay_ns: cocotbext-pcie's SimPort) and the host's read latency."""
    return (link.ep_header_bytes + link.framing_bytes) / link.bytes_per_cycle \
        + (2 * link.delay_ns + host_read_ns) / CLK_NS


class DmaEngine:
    """The DMA engine as the CPU feeds it, one descriptor at a time in either direction
    (ep_dma): a queue per direction, `desc_depth` deep (the CPU waits for room); the engine
    takes a direction's descriptors in order, a read once a read context is free and the
    previous read is issued (one request a cycle), a write once the write engine finished the
    previous one; reads wait for their completions (host latency, the link shared, `tags`
    requests outstanding at most), writes for their last TLP. Times in cycles from 0.

    Not priced: a write beside reads shares the buffer RAM's port (completions first) and RQ
    TLP by TLP."""

    def __init__(self, host_read_ns: float = 0.0, link: Link = Link(),
                 stages: RtlStages = RtlStages(), read_descs: int = DEFAULT_PARAMS.dma_read_descs,
                 delays: ReadDelays = None, tags: int | None = None, desc_depth: int | None = None):
        self.link, self.stages, self.read_descs, self.delays, self.depth = link, stages, read_descs, delays, desc_depth
        self.host_read_ns = host_read_ns
        self.path = CompletionPath(link, tags, stages)
        self.latency = request_turnaround(link, host_read_ns)
        self.ends: list[float | None] = []      # None: a read whose end the completion path gives
        self.handles: dict[int, int] = {}       # descriptor -> its read's handle in `path`
        self.starts: dict[str, list[float]] = {"read": [], "write": []}
        self.reads: list[int] = []
        self.prev_issued = self.write_free = -math.inf

    def room(self, direction: str) -> float:
        """When the direction's queue has room for one more descriptor (-inf: now)."""
        starts = self.starts[direction]
        return starts[-self.depth] if self.depth and len(starts) >= self.depth else -math.inf

    def submit(self, direction: str, n: int, t: float) -> int:
        """An n-byte descriptor whose SUBMIT write ends at cycle t; returns its handle."""
        starts, stages = self.starts[direction], self.stages
        start = max(t + dma_submit_to_rq(stages), starts[-1] if starts else -math.inf)
        i = len(self.ends)
        if direction == "read":
            if len(self.reads) >= self.read_descs:              # a context frees when its read ends
                so_far = self.path.ends()
                start = max(start, sorted(self.end(j, so_far) for j in self.reads)[-self.read_descs]
                            + stages.dma_context_restart)
            start = max(start, self.prev_issued)
            self.reads.append(i)
            if n:
                self.handles[i] = self.path.read(n, start + 1 + self.latency, self.delays, self.latency)
            self.ends.append(None if n else start + 1)
            # the next read starts once this one's last request is out, which waits for a tag
            self.prev_issued = self.path.issued(self.handles[i]) if n else start + 1
        else:
            start = max(start, self.write_free)
            link = self.link
            beats = sum(link.rq_beats(p) for p in tlp_payloads(n, link.max_payload))
            self.ends.append(start + beats)
            self.write_free = self.ends[-1] + stages.dma_write_restart
        starts.append(start)
        return i

    def end(self, i: int, path_ends: list[float] | None = None) -> float:
        """The cycle descriptor i ends (a read: when its context's count does)."""
        if i not in self.handles:
            return self.ends[i]
        return (path_ends if path_ends is not None else self.path.ends())[self.handles[i]] + self.stages.dma_read_count \
            - REPORT_EDGES


def dma_group_cycles(group, host_read_ns: float = 0.0, link: Link = Link(), bus: Bus = Bus(),
                     stages: RtlStages = RtlStages(), read_descs: int = DEFAULT_PARAMS.dma_read_descs,
                     delays: ReadDelays = None, tags: int | None = None, desc_depth: int | None = None,
                     waited: int | None = None) -> float:
    """DMAs submitted back to back, then waited for together (firmware's dma_start /
    dma_wait): the CPU submits each (bus handshakes; a full queue waited out), the engine
    runs them (DmaEngine), the CPU then reaps the results in the order they end, each seen
    `dma_done_to_irq` after it ends; of the first `waited` only, if given (the rest are
    left running, as a stream's next step is).

    One direction per group, as the firmware starts them (DmaEngine does not price a write
    beside reads)."""
    if len({direction for direction, _ in group}) > 1:
        raise ValueError(f"DMA group {group}: reads and writes in one group are not modelled")
    submit, reap = dma_submit_cycles(bus), dma_reap_cycles(bus)
    engine = DmaEngine(host_read_ns, link, stages, read_descs, delays, tags, desc_depth)
    t = 0.0
    for direction, n in group:
        t = max(t, engine.room(direction)) + submit
        engine.submit(direction, n, t)
    path_ends = engine.path.ends()
    for end in sorted(engine.end(i, path_ends) for i in range(len(engine.ends) if waited is None else waited)):
        t = max(t, end + bus.dma_done_to_irq) + reap
    return t


def dma_write_cycles(n: int, link: Link = Link(), bus: Bus = Bus()) -> float:
    """A DMA write: submit, RQ beats (descriptor + payload per TLP, no idle beat), the core's
    sequence-number report, the completion seen by the CPU. Posted: no host latency."""
    return dma_group_cycles((("write", n),), 0.0, link, bus)


# -- a whole request ---------------------------------------------------------------------------

@dataclass
class Recipe(OpCounts):
    """Builds the operation counts of a request from what the firmware does, step by step
    (buffers are 4-byte aligned, as the driver allocates them)."""

    costs: FirmwareCosts = field(default_factory=FirmwareCosts)
    notify_bytes: int = 4           # the host write that wakes the firmware (a doorbell, or a watched slot)

    _open: list = field(default_factory=list)      # fetches and stores started, not yet waited for

    def local_read(self, n: int) -> None:
        """Read n bytes through the local-bus window: whole words, a copy step per word."""
        words = -(-n // 4)
        self.reads += words
        self.compute += self.costs.per_word_copy * words

    def host_read(self, n: int) -> None:
        """Host memory into the CPU: DMA reads of at most DMA_CHUNK, each waited for (after
        any started before) and copied out."""
        for c in tlp_payloads(n, DMA_CHUNK):
            self._dma("read", c, wait=True)
            self.local_read(c)

    def host_write(self, n: int) -> None:
        """CPU data to host memory: one bus write into the buffer RAM, then a DMA write, per chunk."""
        for c in tlp_payloads(n, DMA_CHUNK):
            self.writes += 1
            self.write_words += -(-c // 4)
            self._dma("write", c, wait=True)

    def local_write(self, n: int) -> None:
        """CPU bytes into the buffer RAM (a header field, an inline payload): one bus write."""
        self.writes += 1
        self.write_words += -(-n // 4)

    def fetch(self, n: int) -> None:
        """Host memory into device memory: DMA reads only, started (nothing crosses the local bus)."""
        for c in tlp_payloads(n, DMA_CHUNK):
            self._dma("read", c, wait=False)

    def store(self, n: int) -> None:
        """Device memory to host memory (aligned alike): DMA writes only, started."""
        for c in tlp_payloads(n, DMA_CHUNK):
            self._dma("write", c, wait=False)

    def wait(self) -> None:
        """Wait for every fetch and store started (DmaMemory.drain)."""
        if self._open:
            self.dma_groups.append(tuple(self._open))
            self._open = []

    def _dma(self, direction: str, n: int, wait: bool) -> None:
        (self.dma_reads if direction == "read" else self.dma_writes).append(n)
        if wait:
            self.wait()
            self.dma_groups.append(((direction, n),))
        else:
            self._open.append((direction, n))

    def msi(self) -> None:
        self.compute += self.costs.msi_request
        self.writes += 1
        self.write_words += 1


MODES = ("split", "packed", "push", "push_self")


DEVICE_POOL_BYTES = DEFAULT_PARAMS.dma_buf_size - DEVICE_POOL_BASE


def net_loopback_ops(mode: str, size: int, costs: FirmwareCosts = FirmwareCosts(), db_slots: int = 64,
                     frames: int = 1, pool_bytes: int = DEVICE_POOL_BYTES) -> Recipe:
    """What the firmware does, up to its last MSI request, for the benchmark's request: the
    driver posts `frames` RX buffers and sends `frames` frames (virtio-net header + `size`
    bytes, two buffers each), all notifications arrive before the firmware takes its
    doorbells (one interrupt), and the frames are looped back. Frames wait in device
    memory (`pool_bytes` of it: DMA in, header field written, DMA out) while they fit;
    the ones that do not are copied through the CPU."""
    r = Recipe(costs=costs)
    hdr = NetHdr.SIZE
    in_pool = [(k + 1) * (hdr + size) <= pool_bytes for k in range(frames)]
    take_in = [r.fetch if stored else r.host_read for stored in in_pool]

    def deliver(stored: bool) -> None:
        if stored:
            r.local_write(NetHdr.NUM_BUFFERS.size)       # num_buffers, in device memory
            r.store(hdr + size)
        else:
            r.host_write(hdr + size)
    r.compute += costs.irq_entry + 2 * costs.doorbell_dispatch
    r.reads += -(-db_slots // 32) + 2                   # PENDING words, TAKE of the RX and TX slots
    tx_bufs = [hdr, size]

    def take_in_all() -> None:                          # every frame's DMAs started, then waited for
        for k in range(frames):
            for b in tx_bufs:
                take_in[k](b)
        r.wait()

    def deliver_all() -> None:
        for k in range(frames):
            deliver(in_pool[k])
        r.wait()
    if mode == "split":
        for k in range(frames):                          # TX, per chain:
            r.host_read(SplitAvail.IDX.size)             # avail.idx: more to take?
            r.host_read(SplitAvail.ENTRY)                # the avail entry
            for b in tx_bufs:
                r.host_read(SplitDesc.SIZE)              # each descriptor
        r.host_read(SplitAvail.IDX.size)                 # avail.idx again: nothing more
        take_in_all()                                    # the frames, buffer by buffer

        def publish() -> None:                           # with the event index, as Linux negotiates it
            r.host_write(SplitUsed.ENTRY * frames)       # used entries, one write (no wrap in the bench)
            r.host_write(EVENT_WORD)                     # avail_event: notify me past what I took
            r.host_write(SplitUsed.IDX.size)             # publish used.idx
            r.host_read(EVENT_WORD)                      # used_event: does the driver want an interrupt?
            r.msi()
        publish()
        r.host_read(SplitAvail.IDX.size)                 # TX: avail.idx again after re-enabling (vhost_enable_notify)
        for k in range(frames):                          # RX, per frame waiting
            r.host_read(SplitAvail.IDX.size)
            r.host_read(SplitAvail.ENTRY)
            r.host_read(SplitDesc.SIZE)
        deliver_all()                                    # scatter the frames
        publish()
    elif mode == "packed":
        for k in range(frames):
            r.host_read(PackedDesc.FLAGS.size)           # TX: is the next descriptor available?
            for b in tx_bufs:
                r.host_read(PackedDesc.SIZE)
        r.host_read(PackedDesc.FLAGS.size)               # next descriptor: not available
        take_in_all()
        for k in range(frames):
            r.host_write(PackedDesc.LEN.size + PackedDesc.ID.size)   # used: length and id, then flags
            r.host_write(PackedDesc.FLAGS.size)
        r.host_read(PackedEvent.SIZE)                    # driver event suppression, off_wrap with it (event index)
        r.msi()
        for k in range(frames):
            r.host_read(PackedDesc.FLAGS.size)           # RX
            r.host_read(PackedDesc.SIZE)
        deliver_all()
        for k in range(frames):
            r.host_write(PackedDesc.LEN.size + PackedDesc.ID.size)
            r.host_write(PackedDesc.FLAGS.size)
        r.host_read(PackedEvent.SIZE)
        r.msi()
    elif mode in ("push", "push_self"):
        if mode == "push_self":
            r.notify_bytes = PushEntry.SIZE              # an RX slot's write wakes the firmware
        for k in range(frames):
            if mode == "push_self":                      # find a complete chain: flags of each slot
                for _ in tx_bufs:
                    r.local_read(PushEntry.FLAGS.size)
            for b in tx_bufs:
                r.local_read(PushEntry.INLINE)           # slot header
                if b <= PUSH_INLINE_MAX:
                    r.local_read(b)                      # inline payload
        for k in range(frames):
            for b in tx_bufs:
                if b > PUSH_INLINE_MAX:
                    take_in[k](b)                        # by address: the one device read
                elif in_pool[k]:
                    r.local_write(b)                     # inline payload into device memory
        r.wait()
        r.host_write(SplitUsed.ENTRY * frames)           # used entries, one write (no wrap in the bench)
        r.host_write(SplitUsed.IDX.size)
        r.msi()
        for k in range(frames):
            if mode == "push_self":
                r.local_read(PushEntry.FLAGS.size)
            r.local_read(PushEntry.INLINE)               # RX slot
        deliver_all()
        r.host_write(SplitUsed.ENTRY * frames)           # used entries, one write (no wrap in the bench)
        r.host_write(SplitUsed.IDX.size)
        r.msi()
    else:
        raise ValueError(f"unknown mode {mode!r}: use {', '.join(MODES)}")
    return r


def firmware_cycles(ops: OpCounts, host: HostLatencies = NO_LATENCY, link: Link = Link(), bus: Bus = Bus(),
                    delays: ReadDelays = None) -> float:
    """Cycles the operations take on the CPU, waits for its DMA included."""
    return (ops.reads * bus.axil_read + ops.writes * bus.axil_write_base + ops.write_words * bus.axil_write_word
            + ops.compute + sum(dma_group_cycles(g, host.device_read_ns, link, bus, delays=delays) for g in ops.dma_groups))


def notify_to_irq(nbytes: int = 4, link: Link = Link(), bus: Bus = Bus(), stages: RtlStages = RtlStages()) -> float:
    """Host write of `nbytes` issued to irq: a doorbell (4 bytes) takes `doorbell_to_irq`; a
    write into a watched window notifies when its first TLP has landed (the host cuts a
    write at its max payload size), later by that TLP's extra bytes' link serialization
    and CQ beats."""
    nbytes = min(nbytes, link.max_payload)
    extra_beats = math.ceil((link.rq_descriptor_bytes + nbytes) / link.beat_bytes) - 1
    ring_stage = stages.ring_stage if extra_beats else 0     # a longer TLP rings with its last beat
    return bus.doorbell_to_irq - ring_stage + round((nbytes - 4) / link.bytes_per_cycle + extra_beats)


def request_latency(ops: Recipe, host: HostLatencies = NO_LATENCY, link: Link = Link(), bus: Bus = Bus(),
                    delays: ReadDelays = None) -> float:
    """Driver's notification to the driver seeing the response: the notification path, the
    firmware's operations up to its last MSI request, the MSI path. `delays`: the extra host
    latency of each device read request, in issue order (a profile's jitter as drawn)."""
    return (notify_to_irq(ops.notify_bytes, link, bus) + firmware_cycles(ops, host, link, bus, delays)
            + bus.msi_to_host + host.msi_ns / CLK_NS)


def expected_request_latency(ops: Recipe, host: HostLatencies, profile: HostProfile, draws: int = 256,
                             seed: int = 1, bus: Bus = Bus()) -> float:
    """The mean latency of a request under a host profile: its completion shape priced
    exactly, its read-latency jitter averaged over `draws` seeded draws (a group of reads
    waits for the latest of them, so the mean is not the mean jitter added per read)."""
    link = Link.for_profile(profile)
    if not profile.read_jitter_ns:
        return request_latency(ops, host, link, bus)
    rng = random.Random(seed)
    return sum(request_latency(ops, host, link, bus, profile.read_jitter(rng)) for _ in range(draws)) / draws


def throughput_mbps(size: int, latency_cycles: float) -> float:
    """One request in flight (as the benchmark runs them): payload per latency."""
    return size / (latency_cycles * CLK_NS * 1e-9) / 1e6
