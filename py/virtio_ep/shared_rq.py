"""The DMA engine with both directions beside each other, as a push stream runs them: read
requests and write TLPs share the requester request interface (RQ) TLP by TLP, and a write
ends as its last TLP goes on the link.

timing.DmaEngine prices each direction as if alone, which tb_timing checks against the RTL
exactly (writes) or within two cycles (reads). Beside each other, three things it leaves out
(traced at push 4 KiB and 64 KiB with `make trace`, 2026-12-07):

- ep_dma holds a read request while a write TLP goes out, so a request waits for the TLP on
  the RQ to end, and the TLPs after it go a beat later (write TLPs 17.8 cycles apart beside
  fetches, 16.6 alone);
- the core reports a TLP's sequence number once it has queued it for the link
  (cocotbext-pcie's usp_model puts it on the port's one-deep transmit queue, then reports),
  and ep_dma_wr ends a write on the report of its last TLP; where the RQ delivers faster
  than the link sends, the report, and so the next write, waits for the TLPs queued ahead (a
  write ending on a 12-byte TLP: 62 cycles to the next write's first TLP, where one ending
  on a 140-byte TLP had 18);
- the link device to host carries the write TLPs back to back at its line rate
  (Link.bytes_per_cycle; a TLP's wire bytes: its payload, a 4-DW header and 8 of framing).

Not on the link's timeline: the read requests and the acknowledgements of the completions
coming in, which take the link device to host beside fetches (each direction 29.7 B a cycle
alone, 27.7 beside the other, traced at push 64 KiB). A write is priced as ending when its
last TLP starts on the link, a TLP later than the report (which comes once the TLP ahead has
started): alone, 16 cycles after timing.DmaEngine's end for a 4 KiB write, which tb_timing
checks against the RTL exactly; beside fetches that lateness stands in for the link's share
they take. Priced at the report, with that share missing, the traced push 4 KiB turns of 64
and 47 frames walk 8.0% and 6.8% short (-1.4% and -0.3% as priced).
"""

from __future__ import annotations

import bisect
import math

from .timing import CompletionPath, DmaEngine, dma_submit_to_rq, tlp_payloads

MWR_WIRE_OVERHEAD = 16 + 8      # a 64-bit memory write's 4-DW header and its framing on the wire


class SharedPath(CompletionPath):
    """A CompletionPath whose read requests, issued as their tags allow, each wait for the
    write TLP on the RQ to end (`tlps`), one request a cycle (jitter that reorders the answers
    is priced as the engine alone prices it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tlps: list[tuple[float, float]] = []       # (start, end) on the RQ of the write TLPs, sorted
        self.requests_at: list[float] = []              # the RQ cycle of each read request, sorted

    def after_write_tlp(self, c: float) -> float:
        """The first RQ cycle from `c` that no write TLP holds."""
        k = bisect.bisect_right(self.tlps, (c, math.inf)) - 1
        return self.tlps[k][1] if k >= 0 and self.tlps[k][0] <= c < self.tlps[k][1] else c

    def _on_rq(self, wanted: float) -> float:
        last = self.requests_at[-1] if self.requests_at else -math.inf
        at = max(self.after_write_tlp(wanted), last + 1)
        bisect.insort(self.requests_at, at)
        return at


class SharedRqEngine(DmaEngine):
    """A DmaEngine whose writes share the RQ with its reads' requests (a write TLP takes a
    beat more for each request issued while it goes out) and end as their last TLP starts on
    the link (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.path = SharedPath(self.link, self.path.tags, self.stages)
        self.on_link: list[tuple[float, float]] = []    # (start, end) of write TLPs on the link, sorted

    def submit(self, direction: str, n: int, t: float) -> int:
        if direction == "read":
            return super().submit(direction, n, t)
        starts, stages = self.starts["write"], self.stages
        start = max(t + dma_submit_to_rq(stages), starts[-1] if starts else -math.inf, self.write_free)
        self.path.ends()                # the requests issued so far
        requests = self.path.requests_at
        rq = start
        queued = start
        for payload in tlp_payloads(n, self.link.max_payload):
            beats = self.link.rq_beats(payload)
            end = rq + beats + bisect.bisect_left(requests, rq + beats) - bisect.bisect_left(requests, rq)
            bisect.insort(self.path.tlps, (rq, end))
            queued = self._send(end, (payload + MWR_WIRE_OVERHEAD) / self.link.bytes_per_cycle)
            rq = end
        i = len(self.ends)
        self.ends.append(max(rq, queued))
        self.write_free = self.ends[-1] + stages.dma_write_restart
        starts.append(start)
        return i

    def _send(self, ready: float, cycles: float) -> float:
        """A TLP on the link once it is in (`ready`), in the first gap of the link's timeline
        that holds it; returns when it starts."""
        busy = self.on_link
        k = bisect.bisect_left(busy, (ready, -math.inf))
        if k and busy[k - 1][1] > ready:
            k -= 1
        t = ready
        while k < len(busy) and busy[k][0] < t + cycles:
            t = max(t, busy[k][1])
            k += 1
        busy.insert(k, (t, t + cycles))
        return t
