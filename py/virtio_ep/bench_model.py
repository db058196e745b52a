"""The load model against the RTL, and its fast mode.

`make bench model-check`: fits load_model.TurnCounts on the calibration points of docs/load.csv
only, predicts every other point the RTL measured (docs/load.csv, docs/load-server.csv,
docs/sensitivity.csv, docs/wake.csv) and writes docs/load_model.md, .csv, .png: calibration and held-out
errors apart, the bottleneck the model names per point, and whether each knob of the
sensitivity bench moves the prediction the way it moved the RTL. `make bench load
sensitivity wake model-check` regenerates the RTL side first (about 25 min on Verilator).

`make model`: a workload of mixed ring modes, payloads and depths (1,000,000 requests by
default) through the vectorized ring processors, each turn priced by the model: the load
bench's table in seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import load_model as M
from .bench_load import read_rows as load_rows
from .bench_sensitivity import BASELINE, read_rows as sensitivity_rows
from .bench_depths import read_rows as depths_rows
from .bench_wake import KNOB as WAKE, read_rows as wake_rows
from .layout import PUSH_INLINE_MAX, USER_CLK_HZ, EndpointParams, PushEntry, PushFlag, SplitAvail, SplitDesc, host_profile
from .rings.packed import avail_flags
from .rings.vector import DESC_DTYPE, MemoryImage, process_split
from .rings.vector_packed import PACKED_DTYPE, process_packed
from .rings.vector_push import SLOT_DTYPE, process_push
from .scenarios.load import LoadRow, completion_capacity_gbps, grid, max_depth, payload_capacity_gbps

AGREE_WITHIN = 0.02     # a change this small either way counts as "no change" in the direction check


@dataclass
class Point:
    group: str                  # "load", "load-server", "sensitivity: <knob>", "wake", "depths"
    row: LoadRow
    setting: M.Setting
    calibration: bool
    pred: M.Prediction | None = None

    @property
    def error(self) -> float:
        return self.pred.req_per_s / self.row.req_per_s - 1

    @property
    def latency_error(self) -> float:
        """The model's median latency (see load_model.Prediction) against the median measured."""
        return self.pred.latency_ns / self.row.p50_ns - 1

    @property
    def central_error(self) -> float | None:
        """The model's median against the RTL window's central fifth (its frames from p40 to p60):
        0 inside it, else its distance to the nearer end over the RTL's median; None where the row
        kept no quantiles. Where the window's latencies come in clusters (a ring in host memory's
        steps back at set shares of its turns, the frames in flight not a whole number of turns),
        the median sits on a step between two and one frame's place moves it by the step; there
        the median error says less than this."""
        if not self.row.ventiles_ns:
            return None
        lo, hi, x = self.row.latency_quantile(0.4), self.row.latency_quantile(0.6), self.pred.latency_ns
        return (x - hi if x > hi else x - lo if x < lo else 0.0) / self.row.p50_ns

    @property
    def latency_band(self) -> str:
        """Between which of the RTL window's quantiles the model's median falls ("p45-p50"), "-" if not kept."""
        band = self.row.latency_rank(self.pred.latency_ns)
        if band is None:
            return "-"
        lo, hi = band
        return f"below p{100 * hi:.0f}" if lo == 0 else f"above p{100 * lo:.0f}" if hi == 1 else f"p{100 * lo:.0f}-p{100 * hi:.0f}"


def calibration_source(docs: Path) -> list[LoadRow]:
    """docs/load.csv's rows (the calibration points are among them), or a clear error."""
    rows = [r for r in load_rows(docs) if r.mode in M.MODES]
    missing = sorted(set(M.MODES) - {r.mode for r in rows if r.wakes_per_req and r.waits_slept_per_req})
    if missing:
        raise ValueError(f"{docs / 'load.csv'} has no turn counters for {', '.join(missing)} "
                         "(missing, or written before they existed): run make bench load SIM=verilator")
    return rows


def points(docs: Path) -> tuple[list[Point], dict[str, M.TurnCounts]]:
    """Every RTL point on record, the counts fitted on the calibration ones, each predicted."""
    ideal = calibration_source(docs)
    pts = [Point("load", r, M.Setting(), M.is_calibration(r.mode, r.payload, r.depth)) for r in ideal]
    pts += [Point("load-server", r, M.Setting(profile="server"), False)
            for r in load_rows(docs, "server") if r.mode in M.MODES]
    pts += [Point(f"sensitivity: {k.name}", r, M.Setting(k.latencies, k.profile, k.params), False)
            for k, r in sensitivity_rows(docs)]
    pts += [Point("wake", r, M.Setting(WAKE.latencies, WAKE.profile, WAKE.params), False)
            for r in wake_rows(docs) if r.mode in M.MODES]
    pts += [Point("depths", r, M.Setting(r.latencies), False) for r in depths_rows(docs) if r.mode in M.MODES]
    counts = M.fit([p.row for p in pts if p.calibration])
    for p in pts:
        p.pred = M.predict(p.row.mode, p.row.payload, p.row.depth, counts[p.row.mode], p.setting)
    return pts, counts


def summary(pts: list[Point]) -> list[tuple[str, int, float, float, float, float]]:
    """(set, points, mean |throughput error|, max, mean |latency error|, max)."""
    out = []
    sets = [("calibration", [p for p in pts if p.calibration]),
            ("held out, all", [p for p in pts if not p.calibration])]
    for g in dict.fromkeys(p.group.split(":")[0] for p in pts):
        sets.append((f"held out, {g}", [p for p in pts if not p.calibration and p.group.split(":")[0] == g]))
    for regime, serial in (("serial path", True), ("stream path", False)):
        sets.append((f"held out, {regime}", [p for p in pts if not p.calibration
                                             and (M.turn_shape(p.row.mode, p.row.depth).steps == 0) == serial]))
    for name, ps in sets:
        if ps:
            e, le = [abs(p.error) for p in ps], [abs(p.latency_error) for p in ps]
            out.append((name, len(ps), float(np.mean(e)), max(e), float(np.mean(le)), max(le)))
    return out


def directions(pts: list[Point]) -> list[tuple[str, str, int, float, float, bool]]:
    """Per sensitivity knob and (mode, payload): (knob, mode, payload, RTL change, model
    change, same direction), changes from the baseline's own measurement and prediction."""
    base = {(p.row.mode, p.row.payload): p for p in pts if p.group == f"sensitivity: {BASELINE.name}"}
    out = []
    for p in pts:
        b = base.get((p.row.mode, p.row.payload))
        if not p.group.startswith("sensitivity") or b is None or p is b:
            continue
        meas, pred = p.row.req_per_s / b.row.req_per_s - 1, p.pred.req_per_s / b.pred.req_per_s - 1
        none = abs(meas) < AGREE_WITHIN         # the RTL did not move
        same = none == (abs(pred) < AGREE_WITHIN) and (none or meas * pred > 0)
        out.append((p.group.split(": ")[1], p.row.mode, p.row.payload, meas, pred, same))
    return out


# the sensitivity knob that loads each bottleneck the model can name (makes it worse)
LOADS = {"ring round trips": "latencies double", "host turnaround": "latencies double", "DMA tags": "DMA_TAGS=8",
         "link h2d": "MPS=128", "link d2h": "MPS=128", "fw work": "slow-cpu", "fw wake": "slow-fw"}
NAMED_BINDS = -0.05     # the RTL slows by at least this much when the named bottleneck is loaded


def bottleneck_checks(pts: list[Point]) -> list[tuple[str, int, str, str, float, bool]]:
    """For each baseline point of the sensitivity bench: (mode, payload, the model's
    bottleneck, the knob that loads it, the RTL's change under that knob, whether it slowed
    the RTL by at least 5%)."""
    rows = {(p.group.split(": ")[1], p.row.mode, p.row.payload): p for p in pts if p.group.startswith("sensitivity")}
    out = []
    for (knob, mode, size), p in rows.items():
        if knob != BASELINE.name:
            continue
        neck = p.pred.bottleneck
        loaded = rows.get((LOADS[neck], mode, size))
        change = loaded.row.req_per_s / p.row.req_per_s - 1 if loaded else float("nan")
        out.append((mode, size, neck, LOADS[neck], change, change <= NAMED_BINDS))
    return out


def spread_section(pts: list[Point], docs: Path | None) -> list[str]:
    """The RTL's own spread at the held-out points `make bench spread` ran (docs/spread.csv)."""
    from .bench_spread import REPEATS, on_record, summary     # it builds on this module
    spreads = on_record(pts, docs) if docs else on_record(pts)
    if not spreads:
        return []
    return ["## The RTL's own spread", "",
            "A bench runs a simulation's points one after another on the same queues, each starting where the",
            "one before left the rings; run again there, a point starts from another state and may settle",
            f"elsewhere. `make bench spread` ran {len(spreads)} held-out points {REPEATS} times each back to back",
            "(docs/spread.md: every point the model misses by more than 5%, chosen by that error, and a seeded",
            "sample of the rest); the errors against the repeats' mean are a check of how much of each miss the",
            "RTL's own spread explains, not a score (the misses were chosen by their error).", "", *summary(spreads), "",
            "What it says (2026-12-06): the misses are the model's. Against their repeats' mean they err about as",
            "much as against the bench's rows, and the model lies inside a point's range at one of them. Push rings",
            "at the `ideal` host run the same every time; the spread is the `server` profile's read jitter (each",
            "repeat draws its own) and a ring in host memory's state: packed rings at some depths, and split rings",
            "under the late wake, settle in another steady pattern from where the run before left them (packed",
            "128 B at 24 in flight: 601,323 req/s in the depths bench, after the 8-in-flight point; 609,075 to",
            "622,407 in its repeats). A bench row is one sample of that: where its repeats spread, a model error",
            "of that size is not a fault of the model.", ""]


def central_lines(held: list[Point]) -> list[str]:
    """The held-out latency misses against the RTL window's central fifth (Point.central_error)."""
    kept = [p for p in held if p.central_error is not None]
    if not kept:
        return []
    missed = [p for p in kept if abs(p.latency_error) > 0.05]
    md = ["",
          "Against the RTL window's central fifth (its frames from p40 to p60; the bench keeps each window's",
          "latencies at p5, p10, ... p95; the model's median is within 5% of the band if its distance to the",
          "band is at most 5% of the RTL's median). A ring in host memory's steps come back at set shares of",
          "its turns, so a window's latencies cluster and its median can sit on a step between two, where",
          f"one frame's place moves it by the step. {len(kept)} of {len(held)} held-out rows kept their quantiles: "
          f"{sum(abs(p.central_error) <= 0.05 for p in kept)} of them",
          f"are within 5% of that band, {sum(abs(p.latency_error) <= 0.05 for p in kept)} of the median. The latency misses:"]
    if missed:
        md += ["", "| set | mode | payload | depth | latencies | median error | model among RTL's | from the band |",
               "|---|---|---|---|---|---|---|---|"]
        md += [f"| {p.group} | {p.row.mode} | {p.row.payload} | {p.row.depth} | {p.setting.latencies} | "
               f"{100 * p.latency_error:+.1f}% | {p.latency_band} | "
               f"{'inside' if p.central_error == 0 else f'{100 * p.central_error:+.1f}%'} |" for p in missed]
    return md + [""]


def report(pts: list[Point], counts: dict[str, M.TurnCounts], docs: Path | None = None) -> str:
    cal = [p for p in pts if p.calibration]
    md = ["# The load model against the RTL", "",
          "Generated by `make bench model-check` from the RTL runs on record ([load.csv](load.csv),",
          "[load-server.csv](load-server.csv), [sensitivity.csv](sensitivity.csv), [wake.csv](wake.csv),",
          "[depths.csv](depths.csv); `make bench load sensitivity wake depths model-check` runs them again first,",
          "40 min on 2 cores, Verilator, 2026-12-07, and `make bench load PROFILE=server` 13 min more; runs of",
          "2026-12-07, which measured what those of 2026-12-03 to 2026-12-05 had and kept each window's latency",
          "quantiles). Data:",
          "[load_model.csv](load_model.csv).", "",
          "What it predicts: the closed loop of `make bench load` (requests per second, and a frame's median",
          "latency as the bench times it) from a model of the firmware's turn and, for push rings,",
          "of the turns the loop runs (py/virtio_ep/load_model.py and load_loop.py say what they price and why).",
          "Fitted on the calibration set only: latencies `default`, host `ideal`, default RTL parameters,",
          f"payloads {' and '.join(f'{s} B' for s in M.CAL_SIZES)}, depths {', '.join(map(str, M.cal_depths('split')[:-1]))}",
          f"and each mode's deepest ({len(cal)} of {len(pts)} points, {100 * len(cal) / len(pts):.0f}%). "
          "Fitted there, per ring mode:",
          "the local-bus words, compute cycles, DMA waits and ring round trips of a turn as a linear function of",
          "its chains, stream steps, intake batches and whether it streams (least squares per request, over the",
          "turns each point runs); the DMA waits that slept, per regime of the turn (serial, one step, several",
          "steps taking every frame in flight, several with frames left over); the cycles of a bus word; how",
          "long a turn runs after its last MSI; per kind of",
          "ring in host memory, the share of its transfers a stream turn overlaps. A push ring's stream turn of",
          "several steps is walked in the firmware's order on the DMA engine (push_walk), nothing of its",
          "timing fitted. Computed, not fitted: each transfer",
          "(timing.dma_group_cycles: link, max payload and read request sizes, read contexts, tags; the primitives",
          "tb_timing checks against the RTL), a ring read's round trip, the host's writes on the link (TLP bytes,",
          "the completer interface's beats), the CPU's wake and doorbell read,",
          "the host's turnaround, the CPU's wake latency and cost scale. Everything else is held out: the",
          "other payloads (256 B, 1 KiB, 64 KiB) at every depth, the `server` profile (completions",
          "cut at the RCB, read jitter), and every knob of the sensitivity bench (DMA_TAGS, DMA_DESC_DEPTH,",
          "DMA_READ_DESCS, MPS, the latency settings), and the late-wake bench's points (every ring mode at 256 B",
          "and 4 KiB, 4 and 64 in flight, the CPU waking 10 us late: `make bench wake`), and the between-depths",
          "bench's (every ring mode at 128 B and 8 KiB, 8 to 160 in flight, default latencies and `slow-fw`: `make",
          "bench depths`). No link width or generation is varied: with the RTL's",
          "256-bit interface at 250 MHz the UltraScale+ model of cocotbext-pcie accepts Gen3 x8 and Gen2 x16 only,",
          "whose line rates differ by 1.6%; other links need another interface width or clock.", "",
          "## Errors", "",
          "| set | points | throughput: mean abs error | max | latency: mean abs error | max |",
          "|---|---|---|---|---|---|"]
    md += [f"| {n} | {k} | {100 * m:.1f}% | {100 * x:.1f}% | {100 * lm:.1f}% | {100 * lx:.1f}% |"
           for n, k, m, x, lm, lx in summary(pts)]
    held = [p for p in pts if not p.calibration]
    within = sum(abs(p.error) <= 0.05 for p in held)
    within_latency = sum(abs(p.latency_error) <= 0.05 for p in held)
    apart = [p for p in pts if abs(p.row.p50_ns * p.row.req_per_s / 1e9 / p.row.depth - 1) > 0.05]
    little = len(apart)
    by_rate = lambda p, rate: p.row.depth / rate * 1e9       # noqa: E731  (ns: depth / throughput)
    played = [100 * p.latency_error for p in apart]
    rated = [100 * (by_rate(p, p.pred.req_per_s) / p.row.p50_ns - 1) for p in apart]
    big = next(p for p in pts if p.group == "load" and p.row.mode == "push" and p.row.payload == 65536 and p.row.depth == 16)
    md += ["", f"Held out: {within} of {len(held)} points within 5% in throughput, {within_latency} in latency "
               "(issue 17's target is all of them).", *central_lines(held),
           "The calibration set's depths were 1, 4, 64 and the deepest at first (32 points; held out: 10.2% mean",
           "error, 92 of 196 within 5%); a ring in host memory had no one-step stream turn among them, so a stream",
           "turn's own overhead could not be told from its steps': depth 16 joined them, with the stream-turn term.",
           "How it came to be, each choice made on the calibration error alone (figures of the RTL runs on",
           "record then):",
           "",
           "- Counts fitted by least squares per request, not per turn, where a deep turn's thousands of words",
           "  outweighed a shallow one's relative error (calibration 4.4% to 3.7%).",
           "- Two corrections of what the fit reads, checked on the calibration points' bus words (5.3% to 3.7%):",
           "  an inline frame has no fetch DMA; the round trips are what the DMA wait leaves beside the CPU's",
           "  measured work, as a push ring's stream turn is priced.",
           "- Tried and dropped: a stream turn played step by step on a model of the DMA engine",
           "  (timing.DmaEngine), the turn's CPU work spread over its operations, in place of the overlap share",
           "  (calibration 7.2%, then 5.9% with a fitted share of each step's work done taking; the overlap share",
           "  4.1%).",
           "- The bench's window. A push ring's producer index reaches the firmware only in the doorbell value it",
           "  reads as a turn starts, so a turn takes the frames rung by then and the frames in flight split into",
           "  cohorts that take turns (traces: turns of 17 and 47 frames alternating at push 256 B, 64 in flight;",
           "  9 and 7 at 16). A window of one depth's frames timed one phase of them (push 1 KiB, 16 in flight:",
           "  1.33 M req/s over 16 frames, 1.44 M over 64, 1.47 M over 256), and the deep points, timed right",
           "  after the warm-up, before the turns split, ran 7% to 16% faster than the loop keeps up. The bench now",
           "  times four times the depth, 64 frames at least (scenarios.load.measured_requests).",
           "- The push ring's loop played turn by turn (load_loop: the host's writes serialized on the link and",
           "  the completer interface, the CPU's wake and doorbell read, the frames back after each turn's MSIs,",
           "  the bench's window), with the counts fitted over the turns it plays: on the short windows, 2.7%",
           "  against 4.1% on calibration but dropped (it failed the no-host-latency check, and the",
           "  short windows made a cohort one frame off move a point by 10% to 30%); on the longer windows, adopted:",
           "  2.4% on calibration, where the model that takes every frame in flight in one turn errs 9.7% (its",
           "  turns are larger than the RTL's, so it prices a push ring's frames at 57% to 60% too fast).",
           "- The loop's RX side and its start (traces of 2026-12-04): the firmware reads the RX doorbell a bus",
           "  read before the TX one, so a frame whose RX refill came in between is delivered by the next turn's",
           "  RX handler (push 1 KiB, 16 in flight: a turn read RX 24, TX 25); RX refills wake the CPU too, and",
           "  at the start a self-doorbelling ring runs turns that find RX buffers only (54 cycles each) until",
           "  the TX slots come in; the TX doorbell's value is taken as its read's address is accepted (two reads",
           "  and a cycle after the interrupt entry, not halfway through the third read: at 4 in flight the first",
           "  turn misses the fourth frame by a cycle, and turns of 3 and 1 alternate, as on the RTL). Turns",
           "  traced and played alike: push_self 64 B at 4 in flight 3 and 1 (the loop played 4 before), 1 KiB",
           "  at 16 and 64 in flight 14 and 2, 56 and 8. Calibration 2.4% to 1.7%, max 21.9% to 6.5%.",
           "- A push ring's stream steps as the fraction of its chains they are (a step each four), a term of",
           "  their own (they had been folded into the chains); depth 16 in every mode's calibration set (a push",
           "  ring at 16 in flight runs the short stream turns, 9 and 7 or 14 and 2 frames, that no other",
           "  calibration depth runs): held out 4.8% mean (133 of 192 within 5%) to 4.7% (136 of 188), calibration 1.8%.",
           "- Tried and dropped: a push ring's first fetch partly hidden behind the CPU taking the second step in",
           "  (a share f of that step's work; the link's own path unchanged). On calibration 1.8% (f = 0), 1.9%",
           "  (f = 0.25), 2.2% (f = 0.5), max 5.4%, 8.0%, 14.1% (push 4 KiB, 16 in flight, too fast), so f = 0,",
           "  although the held-out error would fall to 4.2% and 3.9% (push 1 KiB at 16 in flight: -14.1% to",
           "  -7.2% and +1.2%): the calibration set decides.",
           "- A turn's wakes: each wait that sleeps costs the CPU's wake latency; a turn is charged the fewer of",
           "  its waits and its sleeps as fitted at the default latencies (it had been charged every wait). A",
           "  wait that did not sleep there found a result pending (irq up: SoftCpu.wait_irq returns at once), as",
           "  in a push ring's stream, two steps' DMAs in flight (1 KiB, 16 in flight: 12.8 waits a turn, 1.75",
           "  sleeps); a wait that slept several times there (once per completion reaped) sleeps once with a",
           "  longer wake. Only `slow-fw` moves (calibration unchanged at the default latencies, which have no",
           "  wake latency): push 1 KiB -68.5% to -30.6% (the RTL slept once a turn of 16 frames, the model",
           "  2.2 times), held out 4.7% to 4.5%. The rule was read off the firmware's wait and found looking",
           "  at that point's sleep counter, so `slow-fw` is not a clean hold-out for it.",
           "- An inline frame's bytes: the CPU reads them off the slot a word at a time (PushDevice.next_chain,",
           "  SoftCpu.read_bytes: a compute cycle a word), so an inline frame's compute grows with its size (RTL:",
           "  push 64 B costs 17.8 to 19.0 compute cycles a frame more than 256 B at every depth); the fit had",
           "  them in a compute count per chain. Calibration 1.8% to 1.5% (max 5.4% to 6.0%), held out 4.5% to 4.0%.",
           "- A DMA's reap is in its wait (SoftCpu.dma_wait reads DONE_HEAD and writes DONE_POP inside the wait,",
           "  and those accesses count as DMA wait, not as work words): a DMA adds its submit's 6 words to the",
           "  turn's work, not 8 (RTL: 64 KiB's 8 more DMAs a frame add 48 words); a push ring's middle steps'",
           "  reaps are CPU work no transfer hides, and their transfers run beside the middle steps' work only",
           "  (not beside the first step's take or the last step's end). Calibration 1.5% to 1.1% (max 5.0%),",
           "  held out 4.0% to 3.8% (144 of 188 within 5%); the reaps alone 1.4%, the steps alone 1.2%.",
           "- The first fetch runs while the CPU takes the second step's slots in (NetLoopback.stream submits",
           "  step 1's DMAs, then takes step 2 before it waits): a share of that take, `lead`, hides it, fitted",
           "  with the overlap share on the calibration set from 0.0 to 0.5 by tenths (0.1: calibration 1.145%",
           "  to 1.126%; 0.2 and 0.3 err 1.20% and 1.30% there). Held out 3.8% to 3.4% (max 36.0% to 28.6%).",
           "  Most of that fall is one point: push 64 KiB at 16 in flight with no host latency, -36.0% to +0.3%,",
           "  where the played loop keeps its two cohorts apart with a lead of 0.1 and merges them with 0.0, 0.2",
           "  or 0.3 (a few cycles decide it); without it, 3.8% to 3.6%. The fixed shares tried above (0.25,",
           "  0.5) had been dropped on the calibration error; the grid by tenths came after the held-out errors",
           "  of 0.05 to 0.15 had been looked at, so this term's hold-out is not a clean one.",
           "",
           "- A push ring's stream turn priced a second way, as a pipeline (load_model.pipeline): each step",
           "  fetched, then stored, each direction of the link one step at a time (a two-machine flow shop in the",
           "  steps' order), the last step's store waited for as it is; the turn costs the lower of that and the",
           "  overlap-share price. The share overprices link-bound turns whose last step is short (push 64 KiB, a",
           "  turn of 9 frames in steps of 4, 4 and 1: 32,905 cycles against 30,169 traced, the pipeline",
           "  28,943); the pipeline overprices latency-bound turns (it serializes each step's round trip, which",
           "  two lanes overlap). Calibration 1.126% to 1.132% (max 5.0%; it has no frame larger than 4 KiB at",
           "  16 in flight, where the two prices part), held out 3.4% to 2.8% (160 of 188 within 5%). Found on",
           "  a trace of a held-out point (64 KiB), so the 64 KiB points are not a clean hold-out for it; a",
           "  test checks two traced turns (64 KiB and 1 KiB, 9 frames) within 5%. The point that flipped with",
           "  the lead flips back: push 64 KiB at 16 in flight with no host latency +0.3% to -23.3%.",
           "- A push ring's middle steps priced as a closed queueing network in place of its overlap share",
           "  (load_model.stream_cycle: exact mean value analysis, M. Reiser and S. S. Lavenberg, \"Mean-Value",
           "  Analysis of Closed Multichain Queuing Networks\", J. ACM 27(2), 1980): `tokens` steps in flight, each",
           "  visiting the CPU (a step's work), the link host to device (its fetch), the link device to host (its",
           "  store) and the read latency (a delay), so the turn runs at the busiest one's pace when it dominates and",
           "  slower when they are balanced. The share charged a fixed part of the shorter direction whatever bound",
           "  the turn: under `server` (completions cut at 64 B) the fetches outweigh the stores and the work, which",
           "  the RTL hides behind them (push 4 KiB at 128 in flight: 209.5 cycles a frame on the RTL, 174 of them",
           "  the fetches' completions; the share priced 243.5, the network 219.2). `tokens` is fitted with the",
           "  lead on calibration, 2 to 10 (6; the firmware keeps four steps in flight, two fetching and two",
           "  storing, but the analysis assumes exponential service; with a fixed service's residual, half a",
           "  service, in place of the exponential's, it errs 1.7% to 1.9% on calibration at 4 to 6 steps in",
           "  flight). Calibration 1.132% to 1.002% (max 5.0%),",
           "  held out 2.8% to 2.7% (164 of 188 within 5%): push rings at 4 KiB and 64 to 128 in flight under",
           "  `server` -8% to -14% to -1% to -4%; short turns at 16 in flight lose (push 1 KiB with 8 tags -6.6% to",
           "  -9.2%, with doubled latencies -2.1% to -7.7%). The form was looked for after the `server` points'",
           "  errors had been seen (its arithmetic on push 4 KiB at 128 in flight), so they are not a clean",
           "  hold-out for it; its parameter was chosen on calibration alone, which prefers it too.",
           "- Two things of the bench's loop the model did not play (traces of 2026-12-04, Verilator, 1 KiB, 127 and",
           "  128 in flight). The bench sends depth + requests frames in all (scenarios.load.closed_loop), so the run's",
           "  last turn takes what is left (push: 47 frames after turns of 64; push_self: 53 after 63 and 64) and the",
           "  window ends on it; the loop sent every frame again and ended on a full turn, 3% to 4% slow on those",
           "  windows. And a turn's first fetch is answered behind the host's writes of the frames the last turn sent",
           "  back: the root complex sends its TLPs in one queue, and a completion does not pass a posted write (PCI",
           "  Express Base Specification 3.0, 2010, section 2.4.1). A self-doorbelling ring's 126 slot writes of",
           "  128 B held it about 450 cycles (its wait 604 cycles, the fetches after it 56 to 70), a push ring's",
           "  entries and doorbells about 120; the loop now times it from the host's writes on the link",
           "  (load_loop.Wire.free_for). Neither has a parameter. Calibration 1.002% to 0.974%, held out 2.71% to",
           "  2.44% (169 of 188 within 5%): push at 16 in flight with no host latency, 64 KiB -23.3% to +0.3% and",
           "  1 KiB -10.4% to +1.4% (their windows' ends: not, as written here before, cohorts merged by the loop),",
           "  push_self at 64 to 127 in flight +2% to +7% to -1% to +4%. Found on traces of held-out points",
           "  (push_self 1 KiB at 127 in flight), so those points are not a clean hold-out for it.",
           "- Tried and dropped: the first fetch's cover computed, not fitted: the take of the second step's",
           "  slots (a 16-byte header read and a DMA submit each, 35 cycles a frame), which `make trace` shows",
           "  hides it at 1 KiB and 4 KiB (push, 16 in flight: the CPU waits from the step's last submit to the",
           "  fetch's end less those cycles). Calibration 0.974% to 1.094% (push 4 KiB at 16 in flight -0.5% to",
           "  +2.6%), although held out 2.44% to 2.30% (171 of 188 within 5%): the fitted lead also makes up",
           "  for the pipeline's fetch stage, which serializes each step's read latency at 4 KiB. Taking that",
           "  latency out of the pipeline's later steps errs 3.1% on calibration.",
           "- A turn's wakes counted as its DMA waits that slept at the default latencies (SoftCpu.waits_slept,",
           "  which the load bench records since 2026-12-04; no figure of the RTL runs moved), in place of the",
           "  fewer of its waits and its sleeps there. `make trace` with `slow-fw` at 1 KiB and 16 in flight: a",
           "  split ring's turn of 16 frames sleeps in 12 of its 14 waits, once each (the old rule charged 14;",
           "  its two waits for three short writes find a completion pending, at the default latencies too); a",
           "  push ring's in 1 of 9 (charged 2.2). Held out, the 188 points above: 2.44% to 2.22%, max 28.4% to",
           "  14.7% (172 within 5%): `slow-fw` push 1 KiB -28.4% to +4.8%, split 1 KiB -14.8% to -0.7%; push",
           "  64 KiB +12.8% to +14.7% (a step's 256 KiB outlasts the wake, so its waits sleep again: 17 sleeps",
           "  in 5 waits a turn). Read off those two traces, so the sensitivity bench's `slow-fw` points are not a",
           "  clean hold-out for it. The late-wake bench is: its 16 points were run after the rule was chosen and",
           "  predicted before any was looked at, 33.0% mean, 175% max, 4 of 16 within 5% (the old rule: 35.4%,",
           "  186%, 2 of 16).",
           "- Tried and dropped, after the late-wake bench's errors had been seen: a push ring's waits that slept",
           "  fitted apart for inline frames (64 B: no fetch to wait for) and fetched ones (4 KiB), five",
           "  calibration points each. The late-wake bench 33.0% to 25.1% (push 4 KiB at 4 in flight +28.8% to",
           "  -2.8%, at 64 +175% to +164%), but the other held-out points 2.22% to 2.28% (`slow-fw` push 1 KiB at",
           "  16 in flight +4.8% to -17.4%, push 256 B at 4 -24.5%): five points a fit extrapolate badly.",
           "- A push ring's stream under a wake longer than the DMAs in flight (load_model.late_wakes, since gone; no",
           "  parameter; read off the trace of push 4 KiB at 64 in flight below, so the late-wake bench is no longer",
           "  a clean hold-out for it): after a sleep both steps fetching have ended, the CPU stores them and",
           "  submits two more fetches, and the wait for the newer one sleeps again if a step's fetch outlasts a",
           "  step's work: a sleep every second step at least. A fetch that outlasts the wake leaves every step's",
           "  wait asleep; a fetch shorter than a step's work has ended when its wait comes (1 KiB), as before.",
           "  Late-wake bench 33.0% to 14.0% (max 175% to 35%), the other held-out points 2.22% to 2.19% (max",
           "  14.7% to 9.2%: `slow-fw` push 64 KiB +14.7% to +9.2%). Checked then on four points run after it was",
           "  written and not looked at before (`make trace ... LATENCIES=slow-fw`, Verilator, not in the CSVs): push",
           "  16 KiB at 16 in flight +28.4% to +20.8%, push 4 KiB at 16 +91.7% to +26.1%, push_self 16 KiB at 64",
           "  +30.6% to +27.9%, push_self 1 KiB at 64 -16.1% (unchanged: its fetches are short): better, still far",
           "  from 5%. The RTL sleeps more than once every second step (4 KiB at 64 in flight: 13 waits a turn of",
           "  16 steps, the rule 8.5).",
           "- That rule replaced (2026-12-05) by a walk of a push ring's turn in the firmware's order",
           "  (stream_walk.py; load_model.wake_cycles; no parameter): the loop's four operations a step, two steps",
           "  in flight a direction, each step's DMAs ending evenly over its transfer; a wait reaps results as",
           "  they end, and with none pending sleeps until the next ends (or a doorbell arrives) and runs a wake",
           "  later; once a notification is pending (ep_csr's irq is any enabled source) it polls instead. The",
           "  turn's wake cost is the walk timed with the wake less without, added to the turn's price. Written",
           "  after the late-wake bench's errors and nine `make trace` points had been seen (the wake resuming at",
           "  the next DMA's end came from push 16 KiB at 4 in flight, -25%; the doorbell's poll from push 512 B",
           "  at 128, -18%), so those are not a clean hold-out for it. Walked sleeps against the RTL's: 1 KiB at",
           "  16 in flight 1 and 1, 4 KiB at 64 12 and 12 to 13, 64 KiB at 16 15 and 17. Late-wake bench 14.0% to",
           "  5.9% (max 35% to 18%), the other held-out points 2.19% to 2.20%. Checked then on eight points run",
           "  after it was written (`make trace ... LATENCIES=slow-fw`, Verilator, not in the CSVs): push 1 KiB at",
           "  4 in flight -0.5%, 2 KiB at 64 -0.0%, 256 B at 128 +2.1%, 8 KiB at 32 +20.8%; push_self 512 B at",
           "  16 -1.9%, 4 KiB at 32 +2.3%, 16 KiB at 4 +0.6%, 32 KiB at 16 +9.5%: 6 of 8 within 5%, 4.7% mean.",
           "- Rings in host memory under a late wake (2026-12-05; no new parameter). Traces of the late-wake",
           "  bench's packed 256 B at 64 in flight (-12.1%) showed turns back to back, with and without the wake,",
           "  the wake's one sleep a turn in the first descriptor read: a turn of several steps sends an MSI a",
           "  step, so the frames of its first step are back while its others run, and the CPU, finding them when",
           "  it looks, never sleeps between turns (load_model.frames_back; the model had charged a wake there as",
           "  well). Late-wake bench 5.9% to 4.2%; no default-latency point changed but packed at 64 in flight",
           "  (-0.5% to -3.6% before, +0.7% to -2.5% after: a 252-cycle idle the RTL does not have). Then points",
           "  traced between the load bench's depths, not in any CSV, showed the waits that slept fitted as a line",
           "  through the five calibration depths: packed 1 KiB at 32 in flight under `slow-fw` -89% (48 sleeps a",
           "  turn priced; the RTL 1: a stream turn's waits sleep until a notification holds the interrupt line up,",
           "  near its start when it takes every frame in flight). Fitted per regime of the turn instead",
           "  (Shape.regimes): +0.4%. Four points traced after that was written: packed 512 B at 24 in flight",
           "  +0.2% (-77.8% before), 4 KiB at 40 -2.1%, split 256 B at 24 -12.0% (-21.3%), 4 KiB at 48 -18.0%",
           "  (-20.9%; a split turn there takes 64 frames: see below). At the default latencies, eleven points",
           "  traced between the depths erred 4.0% mean against 3.9% before (packed 256 B at 48 +5.2% to +6.8%:",
           "  the RTL has no idle there either, but its packed turn is priced short). Three more, traced",
           "  with them, showed the bench's window ending on turns served after the host's last send, whose every",
           "  wait sleeps (no notification comes): packed 256 B at 128 in flight under `slow-fw`, steady turns 16k",
           "  to 29k cycles, the last 677k. Priced so (load_model.drain_sleeps; the steady turns' sleeps fitted",
           "  apart from the deepest calibration points' drain): -22.7% to +0.3%, so those three are not a clean",
           "  hold-out for it. Eight traced after both were written: packed 2 KiB at 80 -6.1%, 512 B at 160 -2.0%,",
           "  64 B at 256 -3.5%, 1 KiB at 16 -0.7%; split 1 KiB at 96 +2.1%, 256 B at 192 -14.6%, 4 KiB at 16",
           "  -7.7%, 8 KiB at 32 -4.4%: 5.1% mean, 5 within 5% (the model before the three rules: 21.6%, 2).",
           "  Then the between-depths bench (`make bench depths`, 80 points at 128 B and 8 KiB, run after all",
           "  three and not looked at before): default latencies 2.8% mean, 32 of 40 within 5% (the model",
           "  before them 2.6%, 32); `slow-fw` 6.1%, 26 of 40 (before 15.1%, 16; max 77% to 24%).",
           "- A push turn's walked wake cost added to the turn's price (2026-12-05; no parameter), not fed to the",
           "  stream as CPU time: the walk's cost is already net of the transfers its sleeps overlap, and the",
           "  stream's queueing network overlapped it a second time. Read off `make trace MODE=push SIZE=8192",
           "  DEPTH=24 LATENCIES=slow-fw` (a point of the between-depths bench, so that bench is no longer a clean",
           "  hold-out for it): turns of 24 frames ran 16,543 cycles on the RTL, 5 waits asleep as walked; priced",
           "  13,662, now 17,437. Between depths `slow-fw` 6.1% to 4.0% (push 8 KiB at 24 and 48 in flight +17.6%",
           "  and +23.4% to -4.4% and -5.4%), late-wake bench 4.2% to 3.6% (push_self 4 KiB at 64 +17.7% to",
           "  +10.0%), `slow-fw` push 64 KiB at 16 +14.2% to +9.3%; no default-latency point moves. The eight",
           "  points traced after the walk (above; not used for this): 4.7% to 1.8% mean, push 8 KiB at 32 +20.8%",
           "  to -5.1%, push_self 32 KiB at 16 +9.5% to -0.0%. Eight traced after it was written (Verilator, not",
           "  in the CSVs): push 2 KiB at 32 -0.3%, 16 KiB at 8 +2.5%, 32 KiB at 4 -0.5%, 4 KiB at 16 -3.9%;",
           "  push_self 8 KiB at 64 -6.1%, 1 KiB at 48 +0.6%, 2 KiB at 96 +2.3%, 64 KiB at 8 +7.9%: 3.0% mean,",
           "  6 within 5% (the model before it: 6.8%, 5; push_self 8 KiB at 64 +22.6%).",
           "- A split ring's turn of more steps than lanes takes the frames that come back while it runs, up to",
           "  its budget (load_model.RECHECKED, turn_shape; 2026-12-05, no parameter): its publish looks at the",
           "  ring again (event index on: DeviceQueue.publish, as Linux's vhost_enable_notify), and with three",
           "  steps or more the first step's frames are back before the last step's publish; a packed ring's",
           "  publish does not look again (every added chain rings the doorbell). Read off the between-depths",
           "  bench's split points at 48 in flight (-2.2% to -22.8%) and traces (split 256 B at 48 in flight:",
           "  turns of 64 frames; at 32 and 24, of 32 and 24), so those are not a clean hold-out for it: they",
           "  err -3.9% to +3.2% now. Held out, all: 2.6% to 2.5% mean, max 22.8% to 13.1%. Six split points",
           "  traced after it was written (Verilator, not in the CSVs; the RTL took turns of 64 frames at 36, 40",
           "  and 56 in flight as predicted): 512 B at 40 in flight +5.1%, under `slow-fw` +11.7% (the window's",
           "  last turn, 8 frames, slept 12 times); 16 KiB at 40 -0.1%; 64 B at 56 +4.8%; 2 KiB at 56 under",
           "  `slow-fw` +4.2%, 1 KiB at 36 -4.9%: 5.1% mean (the model before it: 13.7%, max 39.8%).",
           "- A ring in host memory's turn walked under a late wake, as push turns are (load_model.host_ops;",
           "  2026-12-05, no new parameter): its ring reads' sleeps, the calibrated count a regime, a wake each",
           "  from the turn's first operation on until they run out (a notification holds the interrupt line",
           "  up from then on), and its payload waits asleep where the walk finds them, a publish waiting for",
           "  the ring writes posted behind the stores in flight (DeviceQueue.defer); the count is fitted net of",
           "  the payload waits the walk finds asleep at the calibration points. Its wake cost (the walk with",
           "  the wake less without) is added to the turn's price: a sleep overlaps the transfers in flight.",
           "  With it, a serial turn's tail (ring reads after its MSIs, `tail`) sleeps while the frames come",
           "  back, so no wake between turns (load_model.frames_back), and the window's last turn, short of a",
           "  turn's frames where depth + requests is not a multiple of a turn, costs a turn of its frames",
           "  (load_model.last_turn; at the default latencies too). Read off traces at split 128 B and 8 KiB",
           "  at 24 in flight (`make trace ... LATENCIES=slow-fw`: 11 and 13 waits asleep, the 8 KiB turn",
           "  44,670 cycles where a wake a wait and every transfer added up to 49,109), 2 KiB at 12 and 1 KiB at 16,",
           "  and 512 B at 40 (turns of 64 and a last of 8), so the late-wake and between-depths benches are",
           "  not a clean hold-out for it: late-wake bench 3.6% to 2.0% mean, between depths `slow-fw` 3.2% to",
           "  2.3% (33 to 35 of 40 within 5%), default 2.7% both. Twelve points traced after all three were",
           "  written (Verilator, not in the CSVs): split 768 B at 20 in flight +0.2%, 3 KiB at 6 -0.4%, 6 KiB",
           "  at 44 +3.1%, 256 B at 72 -26.5%, 1 KiB at 136 -9.1%, 384 B at 28 +0.3%; packed 1 KiB at 10",
           "  +4.7%, 6 KiB at 36 +1.5%, 3 KiB at 80 -6.9%, all under `slow-fw`; at the default latencies",
           "  split 3 KiB at 10 -0.6%, 1.5 KiB at 44 +0.4%, packed 768 B at 14 +19.6%: 6.1% mean, 8 within",
           "  5% (the model before: 9.7%, 4; split 384 B at 28 -12.5%, 768 B at 20 -6.4%).",
           "- A ring in host memory's turn with frames left over starts on the frames back from the turn",
           "  before, all available, and its first intake fills both fetch lanes (turn_shape: a batch ahead",
           "  of two steps, not one; 2026-12-05, no parameter). Read off the trace of split 256 B at 72 in",
           "  flight under `slow-fw` (32 fetches, then one intake more: 23 waits a turn, priced 27.75 with an",
           "  intake a step): -26.5% to -5.4%; packed 3 KiB at 80 -6.9% to -1.3%; no CSV point is between 64",
           "  and 96 in flight. Six points traced after it (Verilator, not in the CSVs): split 384 B at 84",
           "  under `slow-fw` -4.5% (-26.2% before), 4 KiB at 76 -6.3% (-13.3%), 2 KiB at 90 under `slow-fw`",
           "  +10.3% (+7.7%); packed 256 B at 88 +6.3% (+2.6%), 6 KiB at 66 -3.6% (-7.0%), 1.5 KiB at 70 under",
           "  `slow-fw` +140.7% (+119.3%: its window's last turn, 30 frames, slept in 126 of its 127 waits,",
           "  329k cycles against 24k for a steady turn of 64; the model drained the 6 frames beyond a",
           "  turn then: see the window's drain below).",
           "- The window's drain (2026-12-05, no parameter): the turns with no notification to come are those",
           "  after the one that brings back the last frame measured (and after the next one too, when that",
           "  frame ends its turn: its notification is still pending as the next turn starts), of the depth +",
           "  requests frames sent taken a turn at a time, not the frames beyond a turn (load_model.drain_chunks).",
           "  The same turns at every CSV point (their windows are whole turns); read off traces of packed",
           "  256 B at 128 in flight (the last turn drains, the one before does not), packed 1.5 KiB at 70",
           "  (+141% to -0.5%: a last turn of 30 frames, 126 of 127 waits asleep) and split 2 KiB at 100 (a",
           "  last of 52, 20 of 25): those are not a clean hold-out for it. Split points off the grid move the",
           "  other way: 2 KiB at 100 -13.7% to -15.9%, at 90 +10.3% to -12.1%, 384 B at 84 -4.5% to -7.9%,",
           "  256 B at 72 -5.4% to -6.6% (their windows open later than the model's, see below).",
           "- Tried and dropped then (2026-12-05): the window opening at the end of the turn that brings back",
           "  its `depth`-th frame (it matched split 512 B at 40 and 256 B at 72 in flight, -13.9% to -4.0% and",
           "  -26.5% to -16.6%, but 6 KiB at 44 went +3.1% to +14.8% and, through the drain fitted again,",
           "  packed 128 B at 96 under `slow-fw` -1.5% to -41%); a packed ring's descriptor windows",
           "  (batch.take_packed: twice the last batch, 8 at least) priced as bus words and copy cycles: a",
           "  serial turn's windows are right (packed 768 B at 14 in flight +19.6% to +8.5%), a stream turn's",
           "  are not (traced at 128 B: 8, 16, 32 and 48 descriptors at 24 in flight, 32, 64 and 96 at 64,",
           "  carried from turn to turn), held out 2.2% to 2.4%.",
           "- The benches run a ring mode's points one after another in one simulation, so a point starts",
           "  where the one before left the rings: packed 128 B at 24 in flight ran 601,323 req/s in the",
           "  between-depths bench and 622,407 in a fresh `make trace` (+3.5%; the model errs +4.9% against",
           "  the first, +1.3% against the second); split points run alike (128 B and 8 KiB at 24 under",
           "  `slow-fw` to the request, 4 KiB at 64 within 0.5%).",
           "- A drain turn's sleeps (2026-12-05, later; no parameter): with no notification to come, every",
           "  wait of a turn sleeps but its publishes' waits for their ring writes, two a step (TX and RX), which",
           "  end while the CPU polls the engine (load_model.drain_asleep). Read off split 128 B at 96 in flight",
           "  under `slow-fw`: its last two turns, 64 and 32 frames, slept 15 of 23 and 10 of 14 waits, a steady",
           "  turn 10 (the model's drain had them all asleep, so the steady turns' count, fitted net of the",
           "  drain at 256 in flight, came out 6.6 a turn; now 8.5): held out 2.23% to 2.19% in throughput, latency",
           "  2.95% to 2.81% mean and 26.8% to 18.0% max (split 128 B at 96 in flight, `slow-fw`, +6.0% to -1.1%,",
           "  latency -26.8% to -15.2%). Six points traced after it was written (`slow-fw`, not in any CSV):",
           "  split 640 B at 80 -3.3% to -11.6%, 3 KiB at 120 +4.8% to +5.3%, 192 B at 200 -16.6% to -15.0%,",
           "  1 KiB at 112 +30.6% to +24.4%; packed 384 B at 100 -1.3% to +1.7%, 2 KiB at 144 -1.8% to +0.6%:",
           "  throughput 9.7% mean before and after, latency 17.6% to 12.5%. The split ones show what the",
           "  model lacks there: a steady turn's sleeps are not one count for the regime but 9 to 19 a turn,",
           "  changing from turn to turn in a cycle of three or four (1 KiB at 112: 11, 18, 19, 16; 192 B at",
           "  200: 9, 9, 12), as the host's doorbell for the frames it sends back reaches the CPU early or late",
           "  in the turn (`make trace` now records each frame's return to the host, `backs` in its JSON).",
           "- Where a split ring's window opens (2026-12-05, later; no parameter): with frames left over a",
           "  turn, the window opens as the `depth`-th frame is back with the host, and a turn's frames are",
           "  back a step at a time late in it (measured with `backs`: split 4 KiB at 76 in flight, default",
           "  latencies, at 0.65, 0.87 and 0.99 of the turn; 384 B at 84 under `slow-fw` at 0.89, 0.96, 1.0),",
           "  not in proportion to their place in it, which the model assumed. Now the turn's walk says when",
           "  each step publishes (load_model.window_frames). Split points traced with frames left over, not",
           "  in any CSV (eleven, most seen before it was written): 10.9% to 7.2% mean, 1 to 6 within 5%",
           "  (4 KiB at 76 -6.3% to +0.9%, 384 B at 84 -10.8% to -1.0%, 640 B at 80 -11.6% to -2.3%; 1 KiB at",
           "  112 +24.4% to +28.2%). Held out 2.19% to 2.23% (split 128 B at 96 and 8 KiB at 96 under",
           "  `slow-fw` -1.1% to +5.4%, -0.3% to +5.8%: steady turns priced fast there, see above). A packed",
           "  ring's frames come back otherwise (384 B at 100: 13 of a turn's frames back as the next turn",
           "  starts) and the rule moved its points +1% to +8%: not applied to it.",
           "  Six split points traced after both rules were written (none in a CSV): 512 B at 88 under `slow-fw`",
           "  -10.1% to -2.3%, 2 KiB at 104 (default) -4.8% to +0.3%, 768 B at 140 (`slow-fw`) -16.5% to -9.0%,",
           "  256 B at 180 (default) +0.3% to +2.0%, 6 KiB at 72 (`slow-fw`) -3.7% to +8.2%, 1.5 KiB at 92",
           "  (default) -6.1% to -0.7%: 6.9% to 3.8% mean, 2 to 4 within 5% (the model of the session's start",
           "  against the final one); latency 7.4% to 6.2%.",
           "- A push ring's frame held for an RX buffer (2026-12-05, a fifth session; no parameter): a frame",
           "  taken with no RX buffer seen waits in device memory, fetched by the turn that took it; the next",
           "  turn's RX handler stores it and waits for the store before the TX handler runs (load_loop.play,",
           "  LoopTiming.deliver). The loop priced it as a turn of one frame, fetch and store, and the turn",
           "  as one of all its frames. Traced at push 64 KiB, 16 in flight (default latencies): turns of 9",
           "  and 8, the held frame's store submitted 88 cycles into its turn and waited 2,138 cycles (the",
           "  model's store 2,135 and five submits), the frame back 9.5 us after the 8 before it (the loop",
           "  had 19.7 us) and the median latency 117.6 us (model +7.7% to +3.2%). Calibration 0.96% to 0.95%,",
           "  held out 2.23% to 2.19% (255 to 257 within 5%), latency 2.81% to 2.66% (234 to 242 within 5%:",
           "  push 64 KiB at 16 in flight, seven settings, +7% to +9% to +3% to +4%). Found on a trace of a",
           "  held-out point, so the 64 KiB push points are not a clean hold-out for it; the five other push",
           "  points traced before it (1 KiB and 4 KiB at 16, 128 B at 8; push_self 1 KiB and 4 KiB at 16) moved",
           "  -4.5% to -3.9% and -0.6% to -0.3% in throughput, the rest not at all.",
           "- Tried and dropped (2026-12-05): a push ring's fetch requests sharing the requester interface",
           "  with the stores beside them (one RQ beat a request; a 512-byte write is 17). Traced at push 64 KiB,",
           "  16 in flight: the turn's read requests, 128 a frame, came 2,120 cycles a frame apart before its",
           "  stores started and 2,280 beside them (x1.075; priced x1.06). A stream turn's middle stores and each",
           "  pipeline step's store carrying the requests of the fetch beside them: calibration 0.95% to 0.92%,",
           "  held out 2.19% to 2.12% (257 to 258 within 5%), latency within 5% 242 to 238; but the traced push",
           "  8 KiB turn at 24 in flight under `slow-fw` priced 17,646 cycles against 16,543 (+6.7%, was +5.4%),",
           "  past that trace's check (tb/test_load_model.py, 6%), and the 8 KiB push points under `slow-fw`",
           "  -5.4% to -6.6% (were -4.4% to -5.7%): the late wake's walk, which already overprices them, would",
           "  need the same share first.",
           "- Tried again and dropped (2026-12-05): the first fetch's cover computed as the second step's take",
           "  (see above; push 1 KiB at 16 in flight: traced turns of 7, 8, 9 frames at 1,203, 1,376, 1,489",
           "  cycles, priced 1,303, 1,438, 1,502; the CPU's own work per frame within 6% of the RTL's, its DMA",
           "  wait 56.6 cycles a frame against 44.6). Calibration 0.96% to 1.08%, held out 2.23% to 2.18%:",
           "  still chosen on calibration, so dropped; with it, the pipeline's later fetches overlapping the",
           "  read latency and the CPU's step between a fetch and its store on the pipeline's path, each or",
           "  both, calibration 1.1% to 3.3%, held out 2.4% to 3.7%. Also dropped on calibration: the pipeline's",
           "  fetches timed as one group up to each step (2.9%), the second step's fetch alone overlapping the",
           "  first's read latency (push_self 128 B at 8 in flight: a 5-frame turn priced 1,191 cycles against",
           "  1,031; calibration 1.16%), the requests' RQ share for rings in host memory too (0.92% to 0.94%). And",
           "  not landed, there being no late-wake point in the calibration set to choose it on: a push turn",
           "  under a late wake priced as the greater of its no-wake price and its walk with the wake, not the",
           "  no-wake price plus the walk's difference (the traced push 8 KiB turn at 24 in flight, `slow-fw`:",
           "  walk 16,387 cycles, RTL 16,543, the sum 17,646); held out 258 to 261 within 5%, but push 64 KiB",
           "  at 16 in flight under `slow-fw` +7% to +12% (the walk lacks the RQ share; given it, one point",
           "  errs 30%).",
           "- A packed ring's intake windows (2026-12-05, a sixth session; no parameter): each intake reads",
           "  twice the descriptors the last one took (at least 8; firmware.batch.take_packed) and copies them",
           "  over the local bus, a word and a cycle of compute each, so a turn's words and compute are not a",
           "  line in its chains; the fitted line through the serial calibration depths (1 and 4, both 24",
           "  descriptors a turn) put a turn of 8 frames (40) 8 words and 8 compute cycles a frame short.",
           "  packed_intake plays the intakes as the firmware asks for chains (TX a step at a time until a",
           "  request comes back short, RX a step's frames) and the model adds their words, copy cycles and one",
           "  ring round trip per intake to the fitted counts, fitted on what is left. Traced windows",
           "  (make trace MODE=packed, default latencies): 40, 66, 104, 200, 256 and 128 descriptors a turn at",
           "  8, 14, 24, 48, 64 and 256 in flight, as played. Calibration 0.95% to 0.95%, held out 2.19% to",
           "  2.17% (257 to 259 within 5%), latency 2.66% to 2.49% (242 to 248); bus words a frame over the 60",
           "  held-out packed points 2.6% to 1.1% mean error. Packed 128 B at the default latencies: 8 in",
           "  flight +6.9% to +0.1%, 48 +7.6% to +3.1%, 96 +5.2% to -3.5%, 160 +10.2% to -2.2%; but 24 +4.9% to",
           "  +8.8% (its words had been overcounted, 64.9 a frame against 63.0, now 60.0): at 24 the turn's",
           "  last TX intake, which finds the ring empty, is submitted behind the first step's 16 fetches and",
           "  waits 903 cycles for them, not a round trip (traced), which the model does not see. Found on the",
           "  held-out depths bench's word counts (packed 128 B at 8 and 14 in flight), so those points are not",
           "  a clean hold-out for it. Tried and dropped: the played intakes as the turn's intake feature for",
           "  every fitted count (held out 2.14%, but compute a frame at 24 and 48 in flight 28.0 and 25.9",
           "  against the RTL's 19.8 and 17.3: right for the wrong reason).",
           "- A ring in host memory's latency timed as the bench times it (2026-12-05, the sixth session; no",
           "  parameter): its steady turns' steps back with the host as the turn's walk publishes them, the",
           "  j-th frame back against the j-th send, not depth / throughput. A split ring's turn at 48 in",
           "  flight takes 64 frames, 16 of them sent again during it: traced at 128 B under `slow-fw`, its",
           "  frames timed 145, 152, 171 and 44 us in fours of 16, median 148.9 us, where depth / throughput",
           "  gives 132 us; the model's steps at 0.68, 0.92, 0.98 and 1.0 of the turn (traced 0.65, 0.87 and",
           "  0.99 for the last 32) time them 123 to 160 and 52 us, median 138.3 us (-18.0% to -7.1%). The four",
           "  split points at 48 in flight (128 B and 8 KiB; default, `slow-fw`): -12.7%, -4.2%, -18.0%, -15.7%",
           "  to -8.8%, +0.2%, -7.1%, -7.6%; held-out",
           "  latency 2.49% to 2.40% (max 18.0% to 15.2%), 248 within 5% as before; no other point moves.",
           "  Where frames are left over (split 128 B at 96, `slow-fw`, traced), the RTL's median falls in the",
           "  gap between a turn's early and late frames (192 of 384 at 150 to 200 us, 192 at 280 to 310 us:",
           "  238.7 us), as the model's does (202.5 us, -15.2%): a median there moves with any error on either side.",
           "- Tried and dropped (2026-12-05): a ring in host memory's stream turn of every frame in flight under",
           "  the late wake walked with every ring read asleep until the host's first doorbell (its first step's",
           "  publish, the MSI's trip to the driver and the doorbell's to the CPU), none after, in place of the",
           "  fitted count of sleeps, as traced at split 256 B at 64 (9 sleeps, all before the doorbell at 29.2k",
           "  cycles of 35.5k). Held out 2.17% to 3.33% (259 to 251 within 5%): split 128 B at 24 under `slow-fw`",
           "  -16.9%, and packed rings -42% to -67% at 24 to 64 in flight (the RTL's packed turns sleep once a",
           "  turn there: their host is notified otherwise). The turn's first frames come back to the host only",
           "  when their stores' ring writes publish, late in a turn whose ring reads sleep (traced: frames back",
           "  at 29.2k, 32.5k and 35.3k cycles), which the walk's order of operations does not place there.",
           "- A split ring's serial turn racing the driver (2026-12-06, an eighth session; no parameter): a turn",
           "  that took every frame in flight ends as it sends their MSI, looking at the ring once more (the",
           "  avail index, as Linux's vhost_enable_notify has it). Where that read reaches host memory after the",
           "  driver, woken by the MSI, has refilled the ring, the firmware takes the next chains there and the",
           "  next turn reads the index once less: 11 ring and payload reads a frame, not 12. The margin comes",
           "  from the model's bus, stage and host constants (load_model.look_margin: 70 ns at the default",
           "  latencies, -5 ns at `half`; traced 70 ns and -4.5 ns), and the share of turns that take ahead is",
           "  the chance the profile's read jitter outlasts it (load_model.looked_ahead: under `server`",
           "  exp(-70/150) = 0.63; traced 34 of 58 turns, 0.59, split 256 B at 1 in flight; at `half` every",
           "  turn, which tb/test_trace.py checks on both simulators). Found on a trace of a held-out point",
           "  (split 256 B at 1 in flight under `server`, -4.8%, latency +5.8%: the model charged every one of",
           "  12 reads the jitter's mean, +1,836 ns a frame against the RTL's +950), so the `server` split",
           "  points at 1 and 4 in flight are not a clean hold-out for it. Those ten points: throughput -4.8%",
           "  to -0.5% before, -1.5% to +0.7% now; latency +0.5% to +5.8% before, -1.6% to +2.4%; no other moves.",
           "  Held out 2.17% to 2.06% (259 within 5% as before), latency 2.40% to 2.29% (248 to 252). Traced after",
           "  it was written (not in any CSV): at `double` the margin 220.5 ns (the model 220.0) and no turn",
           "  ahead; at `double` under `server` 21 of 65 turns ahead (the model 0.23 of them), 18.67 DMA waits a",
           "  frame (the model 18.77), throughput -4.8% (RTL 39,354 req/s, model 37,470).",
           "- A one-step turn's tail (2026-12-06, the same session; fitted on calibration points only): the",
           "  host's turnaround after a turn is net of the `tail` the turn runs after its last MSI, fitted at 1",
           "  in flight; a split ring's serial turn looks at the ring after its MSI (288 cycles: the whole",
           "  turnaround), but a stream turn publishes and looks before its MSIs and ends on them, so a split",
           "  ring's turn of one step (16 in flight) was given no idle where the RTL waits 252 cycles between",
           "  turns (make trace split and packed 256 B at 16, both 252). A stream turn's tail is now fitted on",
           "  the calibration points whose turns are one step (64 B and 4 KiB at 16 in flight): 36 cycles for",
           "  split and packed, as packed's serial tail. Calibration 0.9% to 0.8% (max 5.0% to 2.6%: split 64 B",
           "  at 16 was the calibration set's worst, +5.0%, now +0.3%); the 30 held-out split points at 16 in",
           "  flight, -0.9% to +5.0% before (most above the RTL), -2.4% to +2.0% now; held out 2.06% to 1.92%",
           "  (260 within 5%), latency 2.29% to 2.17%. Found on a trace of a held-out point (split 256 B at 16,",
           "  +4.7%, its turns priced to the cycle and its rate not), so the split points at 16 in flight are",
           "  not a clean hold-out for it; the share it fits came from calibration points alone.",
           "- Tried and dropped (2026-12-06): a split ring's turn at 48 in flight (64 chains, 16 sent again",
           "  during it) priced with the intakes the RTL runs (traced at 128 B: intakes of 32, 32, 16, 16, 16 and",
           "  16 chains, TX and RX, against 48, 32, 16 and 32 at 64 in flight; its turns 17,052 cycles against",
           "  14,729), a TX and an RX intake more for each step of frames sent again (5 a turn, priced 15,395), and",
           "  its window opened where the 48th frame is back, as with frames left over: the default-latency points",
           "  mend (128 B +1.8% / latency -8.8% to +1.9% / -2.8%), but under `slow-fw` 128 B goes +1.9% to +6.1%",
           "  (the extra intakes' reads sleep there otherwise), held out 1.92% to 1.94%; found on held-out traces.",
           "  Also looked at: the `server` profile's jitter charged to a stream turn's ring round trips in part",
           "  (those queued behind fetches in flight): half of it mends packed rings deep in flight (-4.3% mean to",
           "  -3.0%) and spoils split at 16 (-0.3% to +2.1%); no share follows from the RTL, and no calibration",
           "  point has the jitter to choose one on, so none is applied.",
           "- Tried and dropped (2026-12-06, found on a held-out trace: split 256 B at 64 in flight, `slow-fw`):",
           "  the window's last turn drained where a turn takes every frame in flight in several steps, not only",
           "  with frames left over (traced: that turn 55,674 cycles with 18 of its 26 waits asleep against steady",
           "  turns of 35,459 with 9 of 28; split 64 B at 64, default latencies, 18 against 9 too). Priced as",
           "  drain_chunks prices a drain, for every ring in host memory: packed 256 B at 64 (wake) -87.5% and held",
           "  out 3.7% mean (a packed ring's last turn at 64 does not drain: packed 64 B, 1 of its 267 waits",
           "  asleep, as steady turns). For split rings alone: the traced point's latency +15.0% to +1.5% but its",
           "  throughput -0.6% to -5.7%, `slow-fw` 128 B at 48 in flight +1.9% to +15.9% and at 24 latency -1.2%",
           "  to -15.3% (the steady sleeps, refitted without the drain's share, price shallower turns short);",
           "  held out 1.92% to 2.02% in throughput, 2.17% to 2.23% in latency.",
           "- A packed ring's intake windows charged as the bench's window reads them (2026-12-06; no parameter):",
           "  they grow from the loop's start, and at 64 in flight they still grow in the window (traced, make",
           "  trace MODE=packed SIZE=64 DEPTH=64: its four turns read 192, 192, 160 and 256 descriptors, 200 a",
           "  turn, where a steady turn reads 256; played 224, 192, 128 and 256). Charged a steady turn's, the",
           "  calibration point at 64 had its 56 descriptors too many taken off the fitted line, which put the",
           "  held-out turns at 24 and 48 in flight 3.1 and 2.1 words a frame short (128 B: 60.0 and 58.7 against",
           "  the RTL's 63.0 and 60.8). packed_intake.in_window plays the loop from its start and takes the mean",
           "  over the turns that bring back the window's frames: words a frame over the 60 held-out packed points",
           "  1.15% to 0.47% mean error; packed 128 B at the default latencies, 24 in flight +8.8% to +6.8%, 48",
           "  +3.1% to +2.1%, 160 -2.2% to +0.6%; calibration 0.76% to 0.76%, held out 1.92% to 1.88% (260 to 261",
           "  within 5%), latency 2.17% to 2.12% (252 to 253). Found on the held-out depths bench's word counts",
           "  at 24 and 48 in flight, so those points are not a clean hold-out for it.",
           "- Tried and dropped (2026-12-06): a packed ring's fetches not all waited for. Traced at 128 B, 16, 24",
           "  and 48 in flight (default latencies), the turn's TX intake for its second step waits 903 to 909",
           "  cycles behind the first step's 16 fetches (a ring read's round trip is about 245) and the later",
           "  steps' fetches end while the CPU publishes; at 64 no intake waits behind them. The fetches past",
           "  the first step's hidden by the stores' share (`overlap`, fitted): calibration 0.76% to 0.83% (max",
           "  5.4%), held out 1.88% to 1.98%; all of them hidden, or as far as the CPU's work in the later",
           "  steps covers them: calibration 1.32% (max 9.9%), held out 2.37%, 8 KiB at 160 in flight +17%",
           "  (there the fetches bound the turn). Packed 128 B at 24 in flight stays +6.8%: its turn waits 4,436",
           "  cycles on the RTL, 3,763 priced.",
           "- A push ring's used-ring writes waited for as the firmware waits for them, and the rest of what its",
           "  turns wait beside the payload fitted on the chains alone (load_model.used_ring_waits,",
           "  fit_round_trips). A push ring reads no ring by DMA; its fitted 'round trips' were what its DMA wait",
           "  leaves, a line through every feature of a turn, which put 0.47 round trips (112 cycles) on each",
           "  push_self stream turn from the few turn shapes of the calibration loops. `make trace MODE=push_self",
           "  SIZE=128 DEPTH=8` (Verilator, 2026-12-06): turns of 3 and 5 frames, 776 and 1,031 cycles, priced",
           "  750 and 1,191; the serial turn waits 15 cycles for each of its four used-ring writes (TX and RX,",
           "  entries and index), the stream turn once at its end (28 cycles; the engine's model prices the two",
           "  writes together at 14). With those waits computed, what the calibration points wait beyond them is",
           "  -5 to +10 cycles a frame (3.0 and 3.7 fitted, push and push_self), and the turns are priced 761",
           "  and 1,114. Chosen on calibration among the features the residual is fitted on (chains alone 0.66%,",
           "  with a constant 0.69%, with the steps 0.70%, every feature 0.71%; the stream's last wait priced",
           "  as two, 0.69% against 0.64%), with the held-out figures printed beside them. Calibration 0.76% to",
           "  0.64%, held out 1.88% to 1.80% (261 to 264 within 5%), latency 2.12% to 2.03% (253 to 257):",
           "  push_self 128 B at 8 and 24 in flight -6.7% and -6.4% to -3.5% and -2.8%, push_self 1 KiB at 16",
           "  under `server` -5.7% to -2.8%. Found on a trace of a held-out point, so the push_self points at",
           "  8 and 24 in flight are not a clean hold-out for it.",
           "- A packed ring's window words priced as what they are, AXI4-Lite reads (timing.Bus.axil_read, 4",
           "  cycles), and the fitted cycles of a bus word taken over the rest. With them in, a word cost 3.63",
           "  cycles at 1 in flight, where the windows are most of the words, and 3.24 at 256: the mean, 3.38,",
           "  priced the deep turns' work high. `make trace MODE=packed SIZE=1024 DEPTH=256` (Verilator,",
           "  2026-12-06): the window that reads the whole ring serves four turns, whose CPU work runs 8,803,",
           "  8,803, 8,803 and 19,119 cycles, 11,382 a turn, priced 11,860, now 11,449; the rest of the words",
           "  cost 3.10 to 3.19 cycles at every calibration depth. No parameter. Calibration 0.64% to 0.54%,",
           "  held out 1.80% to 1.72% (264 to 267 within 5%), latency 2.03% to 1.98% (257 to 260): packed 1 KiB",
           "  at 256 in flight -4.6% to -2.5%, under `server` -6.7% to -4.9%, packed 256 B there -5.1% to",
           "  -3.1%; packed 128 B at 24 in flight +6.8% to +7.2%. Found on a trace of a held-out point, so",
           "  the packed points at 256 in flight are not a clean hold-out for it.",
           "- Tried and not landed (2026-12-06): a push turn's wake cost (its walk, stream_walk) averaged over the",
           "  CPU's step work scaled by 0.9, 1 and 1.1. Whether a walked wait sleeps turns on a few cycles: `make",
           "  trace MODE=push|push_self SIZE=4096 DEPTH=64 LATENCIES=slow-fw` (Verilator) shows both rings' turns",
           "  of 64 frames sleeping 12 times (39.3k and 39.6k cycles); the walk sleeps push 12 times and",
           "  push_self 10 (35.6k priced), its step's finish 125 cycles against push's 111: in one walk a store",
           "  ends 4 cycles after its wait has found nothing pending and slept, in the other 9 cycles before",
           "  its wait. Averaged: held out 1.80% to 1.78% (push_self 4 KiB at 64 +10.0% to +9.0%), but no",
           "  calibration point has a late",
           "  wake to choose the spread on, so it would be chosen on held-out points. The last step's stores",
           "  there end about 765 cycles after their submit on the RTL (the fetches' completions arriving beside",
           "  them), where the engine's model of a direction alone prices 519.",
           "- A split ring's steps back with the host at the MSI that announces them, not at their publish",
           "  (2026-12-06, a tenth session; no parameter). A stream's ring writes are posted behind its stores",
           "  and the MSI they owe waits until they end (DeviceQueue.defer); the firmware looks right after a",
           "  finish, when the writes it just posted have not ended, so the MSI goes out at the next finish, and",
           "  the last step's as the turn ends. `make trace MODE=split SIZE=128 DEPTH=96 LATENCIES=slow-fw`",
           "  (Verilator): RX publishes at 20.2k, 34.5k and 35.8k cycles of a 36.6k turn, MSIs (and the host's",
           "  receives) at 33.1k, 35.2k and 36.5k, steps back at 0.90, 0.96 and 1.0 of the turn; the walk",
           "  (stream_walk.Walk.announced) has them at 0.88, 0.94 and 1.0, where its publishes were at 0.80,",
           "  0.92, 0.98 and 1.0 (0.51 for the first at 128 B, 96 in flight, default latencies, traced 0.73,",
           "  now 0.63). Split latency at 48 in flight: 128 B -8.8% to -5.4%, under `slow-fw` -7.1% to +1.0%,",
           "  8 KiB there -7.7% to -2.2%; throughput at 96 and 160 in flight, default latencies, +0.9% to +1.9%",
           "  and +1.6% to +2.2% (the window opens later in the turn). Held out 1.72% to 1.73% (267 within 5%),",
           "  latency 1.98% to 1.93% (260 to 262); calibration unchanged. Off the grid (traced under `slow-fw`,",
           "  not in the CSVs) split latency at 1 KiB, 112 in flight -21.6% to -20.5%, 2 KiB at 100 +19.1% to",
           "  +22.4%, 192 B at 200 -6.8% to -7.1% (their turns' sleeps, not their steps' returns, miss there).",
           "  Found on a trace of a held-out point (split 128 B at 96, `slow-fw`), so the split points with",
           "  frames left over are not a clean hold-out for it. Its latency there stays -15%: the model's steady",
           "  turn is 33.7k cycles, the RTL's 36.6k, with 10 waits asleep (9 ring reads and the first fetch,",
           "  until the host's doorbell after the first MSI) where the count fitted at 256 in flight puts 8.5.",
           "- Tried and not landed (2026-12-06): a push stream's stores charged the RQ beats of the fetches'",
           "  read requests beside them. The read and the write engine share the RQ (ep_dma: a request goes out",
           "  between two write TLPs); `make trace MODE=push SIZE=65536 DEPTH=16 [LATENCIES=slow-fw]` (Verilator)",
           "  has write TLPs 17 cycles apart alone and 18 beside fetches, both directions at 26.7 B a cycle",
           "  overlapped against 29.0 alone, and turns of 16 frames (slow-fw) and 8 (default) of 51,424 and",
           "  27,760 cycles, priced 46,790 and 26,794. With a beat a request added to the stores of each middle",
           "  step (the queueing network) and of each step but the last (the flow shop): 47,900 and 27,165;",
           "  calibration 0.54% to 0.51% (the fitted steps in flight 6 to 7); held out 1.73% to 1.72%, latency",
           "  1.93% to 1.90%, but 267 to 267 and 262 to 258 within 5%: push 64 KiB at 16 in flight under",
           "  `slow-fw` +9.4% to +7.0%, `slow-cpu` +6.3% to +3.7%, push_self 64 KiB +5.1% to +3.0%; push 1 KiB",
           "  at 16 with no host latency +3.9% to +10.4% (the steps in flight refitted), push 8 KiB at 24 under",
           "  `slow-fw` -4.4% to -5.4% (its traced turn, 16,543 cycles, priced 17,432 then 17,640: its sleeps",
           "  leave the directions overlapping in part), and the latencies of push 64 KiB at 16, where a held",
           "  frame splits the window in two (+3% to +4.4% before, +4.8% to +5.9%), past 5% at four points.",
           "  Charged in the queueing network alone it is neutral (266/261 within 5%) but then one mechanism",
           "  prices the two forms of the same turn apart, chosen on held-out points; so neither is in the model.",
           "- Tried and not landed (2026-12-06): the sleeps of a steady turn with frames left over as a share of",
           "  its DMA waits, not a count. `make trace MODE=split SIZE=128 DEPTH=96 [LATENCIES=slow-fw]`: 10 of",
           "  23 waits asleep a turn at both settings (two RX intakes a turn), where the count fitted at 256 in",
           "  flight (one intake, 8.48 of 19.0 waits) puts 8.5; as a share, 9.8. No calibration point tells the",
           "  two apart (calibration unchanged). On the grid it moves two points, split 128 B and 8 KiB at 96",
           "  under `slow-fw`: +5.8% / -15.2% to -1.7% / -7.0% and +6.0% / -13.5% to +1.4% / -8.7% (held out",
           "  1.73% to 1.70%, 267 to 269 within 5%); traced off the grid under `slow-fw` (not in the CSVs), split",
           "  1 KiB at 112 +28.5% / -20.5% to +20.1% / -13.4%, 192 B at 200 unchanged (-10.5%), but 2 KiB at 100",
           "  -12.0% / +22.4% to -17.3% / +33.5%: those turns sleep from 9 to 19 times with when the host's",
           "  doorbell reaches the CPU, which neither form models, so neither is better than the other there.",
           "- Tried and not landed (2026-12-06): a push turn's first fetch hidden by the second step's take as",
           "  priced (its slots' header reads and fetch submits, slots_taken), not a fitted share of the turn's",
           "  work. `make trace MODE=push SIZE=1024 DEPTH=16 LATENCIES=none|default|double` (Verilator): turns",
           "  alternate 9 and 7 frames (15 and 9 with no latency); at the default latencies the CPU takes step",
           "  2's three slots (117 cycles) before its first wait (212 cycles), where the fitted lead (0.1) hides",
           "  37 cycles of it and slots_taken 105; priced so, calibration 0.54% / 1.9% to 0.66% / 3.0% (push",
           "  4 KiB at 16 in flight -0.1% to +3.0%, push_self +0.6% to +2.3%), held out 1.73% to 1.78%",
           "  (267 to 269 within 5%), latency 1.93% to 1.91% (262 to 263): push 1 KiB at 16 with 8 tags -9.0%",
           "  to -4.9%, but with no host latency +3.9% to +8.4%, with 2 read descriptors +2.5% to +6.9%, and",
           "  push 256 B at 16 (server) +2.7% to +8.1%. With no latency the traced turns of 9 and 15 frames",
           "  run 1,398 and 2,184 cycles, priced 1,261 and 2,039: the CPU's own cycles (RTL 1,132 and 1,792",
           "  outside its waits; priced 1,071 and 1,721) are short there, which a larger lead hid.",
           "- A split ring's last turns with frames left over take their chains in as many batches as steady",
           "  turns take as many in (2026-12-06, a twelfth session; no parameter), not a batch a step as a turn",
           "  of their frames alone in flight would (load_model.drain_chunks). The batch intake takes every",
           "  chain available, so the frames left for the window's end were read with the rest: `make trace",
           "  MODE=split SIZE=64 DEPTH=256` (default latencies, Verilator) has steady turns of 17 waits (9",
           "  asleep) where they serve chains read before and 23 to 25 (10 or 11) in the one of three or four",
           "  that reads a batch, 19.0 and 9.5 on average, and last turns of 23, 17 and 21 waits, priced 27.8",
           "  each before (a batch a step) and 19.0 now; `SIZE=128 DEPTH=96 LATENCIES=slow-fw` a last turn of",
           "  32 frames with 14 waits and no avail entries or descriptors read, priced 18.8, now 15.8. The",
           "  calibration points at 256 in flight had their last turns' sleeps taken out of the steady count",
           "  as those larger turns', which left 8.5 sleeps a steady turn with frames left over; now 10.0",
           "  (traced: 10 at 128 B, 96 in flight, both settings; 9.5 at 64 B, 256). Calibration unchanged;",
           "  under `slow-fw` split 128 B at 96 in flight +5.8% / -15.2% to +0.3% / -5.6%, 8 KiB +6.0% /",
           "  -13.5% to +0.4% / -5.7%, at 160 128 B -4.4% / -5.5% to -4.7% / +5.4% and 8 KiB +3.1% / -8.2% to",
           "  +0.9% / -0.1%; no other point moves. Held out 1.73% to 1.68% (267 to 269 within 5%), latency",
           "  1.93% to 1.84% (262 to 263). Found on traces of held-out points, so these are not a clean hold-out",
           "  for it. Off the grid (traced under `slow-fw`, not in the CSVs): split 1 KiB at 112 in flight",
           "  +28.5% / -20.5% to +15.3% / -8.2%, 192 B at 200 -10.5% / -7.1% to -5.7% / +3.7%, 128 B at 256",
           "  -10.5% / -2.1% to -8.1% / +9.3%, but 2 KiB at 100 -12.0% / +22.4% to -17.1% / +38.4%: there the",
           "  host's doorbell reaches the CPU earlier in the turn (25.4k of 33.4k cycles), and its steady turns",
           "  sleep 8 or 9 times, not 10.",
           "- A full descriptor queue holds the CPU past a push stream's first fetch (2026-12-07, a thirteenth",
           "  session; no parameter; load_model.queue_hold): the firmware submits the second step's fetches",
           "  before it waits for the first's, and a submit that finds the read queue full waits for room,",
           "  which the engine makes a descriptor at a time, each once the last one's requests are out",
           "  (ep_dma_rd's `ready`; a request past the tags waits for one to free). The engine model let the",
           "  next read start as the last one's requests would go out with no tag limit (32 cycles for 16",
           "  KiB), so a queue had room a round trip early; now it waits for the tag (timing.DmaEngine,",
           "  CompletionPath.issued). `make trace MODE=push SIZE=65536 PARAMS=dma_desc_depth=16` (Verilator):",
           "  the turn fetching 4 + 4 frames (40 descriptors) ended its submits 1,657 cycles after its first",
           "  step's fetch was in and stored it that late (priced 1,507 now, 179 with the engine as it was);",
           "  the next, storing the frame carried over and fetching 4 + 3 (35), was not held, as the loop",
           "  the model plays has it; the default depth (64) holds neither. That point (a knob of the",
           "  sensitivity bench, held out) +2.8% to +0.1%, latency -2.0% to +2.8%, and the knob's direction",
           "  now the RTL's (-2.7%, the model -2.6%; it said +0.0%); no other point moves. Found on a trace of",
           "  that point, so it is not a clean hold-out for it.",
           "- A push turn's frames that found no RX buffer are fetched and not stored in it, and a pipelined",
           "  step's stores share the RQ with the next step's read requests (2026-12-07, the same session; no",
           "  parameter; Shape.held, load_loop.Played.held, load_model.read_requests). The loop already played",
           "  the held frame's store in the next turn (`deliver`) but priced the turn that took it as storing it",
           "  too. `make trace MODE=push SIZE=65536 DEPTH=16` (Verilator): the window's turns fetch 9 frames (4",
           "  + 4 + 1) and store 8 in 27,940 cycles, then store the ninth and fetch and store 7 in 27,760, as the",
           "  loop plays them; priced 28,940 and 26,785 (+3.6%, -3.5%: they cancelled in throughput, not in the",
           "  median latency, which falls between the two turns' frames), with the held frame stored once",
           "  26,790 and 26,786, and with the RQ shared 27,289 and 27,173 (-2.3%, -2.1%). Each direction carries",
           "  29.7 B a cycle alone and 27.7 beside the other (write TLPs 17 cycles apart alone, 18 beside: a read",
           "  request goes out between two). The share is priced in the pipeline, which prices the turns that",
           "  keep the link busy end to end; not in the queueing network, which prices the turns bound by round",
           "  trips, where the RQ idles between TLPs (charged there too: calibration 0.54% to 0.51%, held out",
           "  270 and 264 within 5%, but a push 8 KiB turn at 24 in flight under `slow-fw`, directions side by",
           "  side a third of its time, priced 17,641 cycles against 16,543 traced, past its test's 6%). The",
           "  run's window is timed as the bench times it, its measured frames from the warm-up's last frame",
           "  back to the last one back: the model had timed the turns' own frames over their time wherever",
           "  they outlasted the window, which rounding decided where they fill it exactly (push 1 KiB at 16",
           "  in flight, no host latency: +10.7% with the two changes above and that rule, +4.2% without it;",
           "  no point moved on the model before). Calibration 0.54% / 1.9% to 0.54% / 1.9%, latency 0.69% to",
           "  0.68%; held out 1.67% to 1.71% in throughput (269 to 271 within 5%) and 1.84% to 1.80% in latency",
           "  (263 to 265): the push 64 KiB points at 16 in flight move from -2.0% to +0.5% to +1.0% to +3.1%",
           "  (fetches beside stores slow 7% on the RTL, the stores' share priced 6%; not priced: the fetches'",
           "  own slowing and the longer gap at a store descriptor's end beside them, 53 cycles against 41),",
           "  push_self 64 KiB +5.1% to +3.0%, under `slow-cpu` +6.3% to +3.7% and `slow-fw` +9.4% to +7.0%;",
           "  the `server` push 64 KiB latency +5.2% to -0.7%. Found on a trace of a held-out point.",
           "- A pipelined step's fetch beside the stores before it goes at the RQ's pace (2026-12-07, the same",
           "  session; no parameter): ep_dma holds a read request while a write TLP goes out, so its requests",
           "  leave between write TLPs, at most one each a TLP's beats and its own (18 cycles at MPS 512; read",
           "  requests 17.8 cycles apart beside the stores in the trace above, 16.6 alone; the fetch 27.6 B a",
           "  cycle beside them, 29.7 alone). The push 64 KiB turn of 9 frames priced 27,289 to 27,605 cycles",
           "  (traced 27,940); held out 1.71% to 1.68% (271 to 272 within 5%), latency 1.80% to 1.76% (265 to",
           "  266), calibration unchanged; every point that moved, the push 64 KiB ones at 16 in flight, moved",
           "  toward the RTL (at the defaults +2.2% to +1.7%, push_self +3.0% to +1.7%, `slow-cpu` +3.7% to",
           "  +1.6%, `slow-fw` +7.0% to +5.0%). Found on the same trace.",
           "- A push stream's second step's fetch takes the tags the first's last round leaves free (2026-12-07,",
           "  a fourteenth session; no parameter; load_model.second_fetch): the firmware submits both steps'",
           "  fetches before it waits, so where the tags bind, the second's first requests ride the first's",
           "  last round. The pipeline priced each step's fetch alone, the second paying a round of its own.",
           "  `make trace MODE=push SIZE=1024 DEPTH=16 PARAMS=dma_tags=8` (Verilator, 3 read requests a",
           "  frame): the two 4-frame steps' 24 requests went in three rounds of eight, not four; against the",
           "  default 32 tags the turns of 9 and 7 frames ran 160 and 168 cycles longer, priced 303 and 227",
           "  longer before, 168 and 167 now (the saving is what the two submitted together save over two",
           "  groups alone, less what they save with tags to spare: the read latency the lanes overlap stays",
           "  with the fitted tokens and lead). That point (DMA_TAGS=8, a sensitivity knob, held out) -8.7% to",
           "  -4.0%, latency +10.1% to +3.7%, the knob's move -14.8% to -10.4% (RTL -10.5%); no other point",
           "  moves, calibration unchanged. Tried first, the second step priced as the two submitted together",
           "  (DmaEngine), latency and all: the refit moved the lead from 0.1 to 0.0, calibration 0.54% to",
           "  0.64% (push 4 KiB at 16 +0.5% to +2.7%), push 1 KiB at 16 -4.2% to -7.2%. Found on a trace of",
           "  that point, so it is not a clean hold-out for it.",
           "- Tried and not landed (2026-12-07, a sixteenth session): a stream turn's ring reads asleep until",
           "  the host's doorbell computed, not counted: the walk's first RX step announced, plus the MSI's way",
           "  to the driver and the doorbell's to the CPU's interrupt, every operation before it asleep (found",
           "  on the trace of split 256 B at 64 in flight, `slow-fw`, where all 9 sleeps come before the",
           "  doorbell). Split rings under `slow-fw`: that point's latency +15.0% to +18.5%, 4 KiB at 64 +6.1%",
           "  to +8.7%, 128 B and 8 KiB at 24 in flight +1.2% to +24.4% and -2.0% to +13.4% in throughput",
           "  (too few sleeps at two steps a turn, too many at four: the RTL's driver, under the event index,",
           "  kicks only once an add passes avail_event, which the walk does not follow); held out 1.66% to",
           "  1.78% (271 of 284 within 5%). Packed rings, whose notification comes otherwise, -40% to -58%.",
           "- Tried and not landed (2026-12-07, branch msi-early): the firmware paying a stream's owed MSI",
           "  before its CPU sleeps in a DMA wait (SoftCpu.while_waiting) rather than at the stream's next",
           "  step, found on the same trace (that point 408,288 to 442,371 req/s traced). `make bench load",
           "  sensitivity wake depths` and `load PROFILE=server` on Verilator: split at 16 in flight +2.7% to",
           "  +4.4% (`server` +5.3% to +6.4%), the wake bench's split 256 B and 4 KiB at 64 +9.9% and +6.0%,",
           "  push 64 KiB at 16 +8.7%; but split 128 B at 24 in flight -6.3% (`slow-fw` -15.5%) and 8 KiB at",
           "  24 under `slow-fw` -12.2%: an MSI paid sooner covers fewer used entries (0.083 to 0.125 a",
           "  request) and each costs the CPU (under `slow-fw`, 1,410 to 1,670 cycles a request). Paid",
           "  eagerly at every wait and reap, a push stream's MSIs stopped coalescing (0.03-0.06 to 0.26-0.30",
           "  a frame) and push 4 KiB at 128 lost 11%. Interrupt moderation is a trade the firmware's user",
           "  makes; the firmware keeps its rule, and the model, fitted to it, stays as it is.",
           "- A push ring's stream turn of several steps walked in the firmware's order on the DMA engine",
           "  (2026-12-07, a sixteenth session; push_walk, shared_rq; no timing parameter): the queueing",
           "  network, the flow shop, the fitted lead and steps in flight, the tags the second fetch rides and",
           "  the descriptor queue's hold (second_fetch, queue_hold) gave way to a walk of the turn's",
           "  operations (a step's slots taken and its fetches submitted, the oldest fetch waited for and",
           "  finished, its stores submitted, the oldest store waited for and finished, two steps a lane) with",
           "  the CPU's fitted work (its constant before the first step: the RTL spends 151 cycles there) and",
           "  the engine's queues, contexts and tags, the RQ shared by write TLPs and read requests, a write",
           "  ending as its last TLP starts on the link at line rate (a TLP after the core's sequence report,",
           "  which stands in for the link's share the fetches' requests and acknowledgements take beside",
           "  the stores, not on the link's timeline: at the report, the traced 4 KiB turns of 64 and 47",
           "  frames walk 8.0% and 6.8% short), each finish's used-ring writes posted behind the stores. On",
           "  fifteen traced turns",
           "  (tb/test_load_model.py) it errs -3.0% to +3.6%, the price it replaced -1.5% to +11.8%; tried on",
           "  the way: the walk on timing.DmaEngine alone, -10.5% and -9.6% at push 4 KiB (64 and 9 frames);",
           "  with requests also on the link's timeline in a walk that places each direction apart, +26% at",
           "  64 KiB. Calibration 0.54% to 0.68% mean (1.9% to 2.1% max) with two parameters fewer; held out",
           "  1.66% to 1.35% in throughput (273 to 275 of 284 within 5%, max 10.0% to 10.5%), 1.74% to 1.41%",
           "  in latency (267 to 268). Mended: push 1 KiB at 16 with doubled latencies -7.2%, slower CPU",
           "  -5.5%, MPS 128 -5.1%, push 128 B at 8 -5.2%, push and push_self 4 KiB at 16 under `server`",
           "  -4.7% and -5.6%. New misses: push 1 KiB at 16 with no host latency +4.2% to +6.1%, `server`",
           "  push 256 B at 16 +2.6% to +5.5%. Found on traces of held-out points, so those are not a clean",
           "  hold-out for it. Its wake too (the same session): a wait that finds no result pending by the end",
           "  of its DONE_HEAD read sleeps until the next DMA ends and runs a wake later (SoftCpu.dma_done),",
           "  in place of stream_walk's transfers spread evenly: the traced push 8 KiB turn at 24 in flight",
           "  under `slow-fw` 16,503 cycles against 16,543 (stream_walk's cost on the walk: 17,567); push_self",
           "  4 KiB at 64 in flight under the late wake +10.5% to +0.1%, push and push_self 8 KiB at 24 and 48",
           "  under `slow-fw` -5.0% to -6.2% to -0.9% to +0.6%, push 64 KiB at 16 under `slow-fw` +4.8% to",
           "  +5.8%; held out 1.35% to 1.24% (278 within 5%, max 7.2%), latency 1.41% to 1.28% (272). Asleep",
           "  whenever nothing was pending as the wait began, push 1 KiB at 16 under `slow-fw` slept twice a",
           "  turn (-25%; the RTL once: a DMA ending during the read raises the irq the wait finds up).",
           "- A frame held for an RX buffer is delivered by the next turn's RX handler and published there as",
           "  a serial turn publishes (2026-12-07, the same session; no parameter): its store, then its used",
           "  entry's write and the index's, each waited for (traced at push 1 KiB, 16 in flight, `none`: 48,",
           "  14 and 14 cycles; load_loop's `deliver` had the store alone). That point +6.1% to +3.1%, `server`",
           "  push 256 B at 16 +5.5% to +4.8%, push at 16 in flight 0.5 to 0.6 points lower; calibration 0.68%",
           "  to 0.69% (max 2.1% to 2.4%); held out 1.24% to 1.21% (280 within 5%), latency 1.28% to 1.27%",
           "  (273). Found on that point's trace.",
           "- The DMA engine beside itself through a model of the PCIe core (2026-12-07, a seventeenth",
           "  session; shared_rq; no parameter): simulated lazily one RQ issue at a time in time order, a",
           "  read request going first where both are ready, the read engine free again the cycle after its",
           "  last request; the core takes a TLP from its RQ sink once it queued the one before (the sink",
           "  stops the RQ while three wait), queues it once the link took the TLP ahead, reports its",
           "  sequence number at the next clock edge, one a cycle, and the link sends one TLP at a time. So",
           "  a read request goes on the link after the write TLP ahead of it (17 cycles later than alone: a",
           "  one-off probe of the core model's RQ and RC interfaces, 234 cycles from a request to its",
           "  completion alone, 251 beside writes) and holds its tag longer: the fetch slows beside the",
           "  stores; and a write ends on its last TLP's report, which waits for a request ahead of it in the",
           "  transmit queue. It replaced the engine's stand-in, a write ending a TLP after its report (the",
           "  link's share the fetches take, not otherwise priced), and requests placed as their tags freed",
           "  before the stores submitted after them. tb_timing now checks 16 reads and 16 writes of 16 KiB",
           "  submitted together, either first, 16 writes then 16 reads of 4,108 bytes, and 16 such writes",
           "  alone against the RTL within 1% (the engine before: the reads beside writes 3.6% short, the",
           "  writes alone 10% long). The traced push turns err -3.2% to +3.1% (were -3.0% to +3.6%; the 4",
           "  KiB turns of 64 and 47 frames +0.0% and -0.1%). Push 64 KiB at 16 in flight under `slow-fw`",
           "  +5.8% to +3.7% (the knob's move +8.4% to +6.2%, RTL +3.3%), with 8 tags +4.6% to +2.6%;",
           "  calibration 0.69% to 0.75% mean (2.4% to 2.2% max); held out 1.21% to 1.14% in throughput (280",
           "  to 281 within 5%), latency 1.27% to 1.19% (273 to 274). Found on a held-out point's trace. On",
           "  the way: with the core's reports not clocked (fractional, many a cycle) push_self 4 KiB at 64",
           "  in flight under `slow-fw` went +13.1% (a store step's wait that the RTL sleeps in, its stores",
           "  ending 60 cycles after the wait began, the walk found ended: a 2,500-cycle wake hangs on tens).",
           "  Then the host profile's read jitter priced as its quantiles request by request (a van der",
           "  Corput sequence through the capped exponential) with the completions served in the order the",
           "  requests are answered, where it was the mean added to every request: a step waits for its",
           "  slowest read. `server` push 256 B at 16 in flight, latency -6.0% to -4.9% (throughput +4.4% to",
           "  +3.2%); the other `server` push points move -1.1 to +1.0 points; held out 1.14% (281), latency",
           "  1.19% (274 to 275); the traced `server` push turns -1.5% and -1.1% to -2.5% and -2.2%. Served in",
           "  request order instead, a late answer holding up those behind it, that point went to -2.4% but",
           "  `server` push 4 KiB at 64 and 128 in flight to -8% and -10%. The seeded draws walked (tried",
           "  2026-12-07, a sixteenth session) gave that point +3.3% and -5.0% and model-check 60 s more.",
           "- The shared engine cycle by cycle (2026-12-07, an eighteenth session; shared_rq, RtlStages,",
           "  Link): a probe of every TLP on both sides of the core (RQ, sequence reports, the link each way,",
           "  RC) found five rules a cycle or a fraction off: a write's next one starts six cycles after its",
           "  last TLP was queued, not five (the core reports at the second edge: 16 writes of 4,108 bytes",
           "  back to back were 15 cycles short of the RTL's 2,442, in timing.DmaEngine too); a report counts",
           "  from the edge at or before the TLP was queued; the RQ sink's tready is set from the TLPs",
           "  waiting at the edge before (a fourth one-beat request follows three); a read's requests go a",
           "  cycle sooner (its first on a write's first beat's cycle, a tag's four cycles after the beat",
           "  that freed it) and are answered their wire time and the link's delay each way after going on",
           "  it; a TLP's header on the wire is 3 DW (host memory below 4 GiB), not 4; and a read's end, as",
           "  the CPU's reap counts it, two edges before its count (Bus.dma_done_to_irq counts a write's from",
           "  its last TLP queued, its report seen two edges later: lone reads came out 1 to 2 cycles long",
           "  on the engine, now exact). tb_timing now checks",
           "  the RQ TLP by TLP, exactly, until a DLLP first holds a TLP back (28 to 122 TLPs), with the",
           "  host's draws replayed. The flaky check it mends: 4,108-byte writes beside reads under",
           "  `server`, priced with the jitter's quantiles -1.4% to -2.2% of the RTL, replayed -1.9%; now",
           "  -1.5% to +1.7% replayed run by run (the link's DLLPs, not priced, decide whether a request",
           "  overtakes a write's last TLP), within 0.4% over four runs; without jitter within 3 cycles but",
           "  for 16 KiB reads at the link's limit (-0.75%: DLLPs). The fifteen traced push turns -3.2% to",
           "  +3.1% to -3.1% to +3.2%; push 8 KiB at 96 and 128 in flight -1.2% to +2.1% (throughput);",
           "  calibration 0.75% to 0.71% (max 2.2% to 2.1%), latency 0.91% to 0.87%; held out 1.14% to",
           "  1.19% (281 within 5%), latency 1.19% to 1.25% (275 to 273: `server` packed 1 KiB at 256",
           "  +4.94% to +5.03%, packed 128 B at 24 under `slow-fw` -4.98% to -5.04%).",
           "- One read turnaround for every engine (2026-12-07, a nineteenth session; no parameter):",
           "  timing.DmaEngine and the load model's read latency answer a request as shared_rq does,",
           "  timing.request_turnaround after it goes on the link (its wire time, 10 ns of link delay each",
           "  way, the host's latency: 5.63 cycles, where Bus.rc_turnaround said 4.5 from the RQ beat), and",
           "  DmaEngine ends a read REPORT_EDGES before its count. Lone requests (make bench, docs/timing_model.md)",
           "  1.28% to 0.53% worst (split and packed up to 4 KiB within a cycle, 64 KiB 13 to 14 cycles short);",
           "  calibration 0.71% (max 2.1% to 2.2%), latency 0.87% to 0.89%; held out 1.19% to 1.18% (281),",
           "  latency 1.25% (273: `server` packed 1 KiB at 256 +5.03% to +4.82%, `server` push 256 B at 16",
           "  -4.97% to -5.01%); the traced push turns -3.1% to +3.1%. Bus.rc_turnaround stays for one use:",
           "  look_margin's request way in, checked on traces.",
           "",
           "Where the model misses: rings in host memory",
           "under the late wake with frames left over a turn, off the grid's depths (traced, not in the CSVs):",
           "split 1 KiB at 112 +15%, 2 KiB at 100 -17% (latency +38%), 128 B at 256 -8% (a steady turn's",
           "sleeps vary from 8 to 19 with when the host's doorbell reaches the CPU and whether the turn reads a",
           "batch, where the model has one count); a split ring's steady turn of every frame in flight under",
           "the late wake (split 256 B at 64,",
           "`slow-fw`: latency +15%, throughput -0.6%; traced, 2026-12-05: steady turns of 35.5k cycles with 9",
           "sleeps, each ring read asleep until the host's first doorbell of the turn at 29.2k, none after, and",
           "the window's last turn 55.7k; the model prices the steady turn 40.8k, 10.5 sleeps, and the last one",
           "short, so the errors cancel in throughput and not in the median; that regime's steady sleeps differ",
           "by depth: traced under `slow-fw` on 2026-12-06, split 128 B at 24 and 48 in flight sleep 11 a turn",
           "(their last turns 12 and 17), 256 B at 64 9 (last 18), and the calibration point, 64 B at 64 with",
           "default latencies, 9 and 18; the host's doorbell reaches the CPU about 30k cycles into each of",
           "those turns; one count, fitted at 64 with its last turn in it, prices 24 and 48 well and 64's",
           "steady turns long, which is why draining that last turn, tried above, priced 24 and 48 short);",
           "packed rings at 24 in flight (128 B +7.2%: an intake's 512-byte descriptor read waits 903 cycles",
           "behind the step's 16 fetches for a read context, priced as a 230-cycle round trip); packed 8 KiB",
           "at 96 -5.3% (the window's first and last turns 8% cheaper than steady ones, no frames read",
           "ahead); and a push ring's turns with no host latency (push 1 KiB at 16 in flight, `none`: the",
           "loop's turns of 9 and 15 frames 5.6% and 6.6% short of the RTL's).",
           "Where the model's median falls among the RTL's frames is counted above from the benches' own windows",
           "(runs of 2026-12-07, which kept each window's quantiles; the measurements equal the earlier runs').",
           "`make trace` prints the same for one point run alone (split 128 B at 96 in flight, `slow-fw`: p45",
           "189.3 us, median 238.7, p55 279.7, the model's 224.9 us its p50), which can differ from the bench's",
           "window: a bench runs a point after others, its rings in another state (split 256 B at 64 under",
           "`slow-fw`: the trace's run has the model's median at the RTL's p81, the late-wake bench's window",
           "between its p55 and p60).",
           "The latency compared is the median from a frame's send to its return as the bench times it",
           "(scenarios.load.closed_loop: the j-th frame back against the j-th send, over the window). The model's:",
           "for a push ring, the frames of the loop it plays timed the same way; for a ring in host memory, the",
           "frames of its steady turns timed the same way, each turn's steps back as its walk's MSIs announce them",
           "(load_model.steady_latencies). They differ from depth / throughput where the window is not one steady phase:",
           f"the RTL's median departs from depth / measured throughput by more than 5% at {little} of the {len(pts)}",
           "points, push rings at 64 KiB and 16 in flight among them (a 16-frame window; in the loop played, its",
           f"first 9 frames come back a turn sooner than the other 7: push, RTL {big.row.p50_ns / 1000:.1f} us against "
           f"{by_rate(big, big.row.req_per_s) / 1000:.0f} us as depth /",
           f"throughput; the model {big.pred.latency_ns / 1000:.1f} us played, {by_rate(big, big.pred.req_per_s) / 1000:.1f} us "
           "as depth / throughput). Timed as the bench times them, the",
           f"model's latency errs {min(played):+.1f}% to {max(played):+.1f}% at those points, where depth / throughput "
           f"would err {min(rated):+.0f}% to {max(rated):+.0f}%.", "",
           *spread_section(pts, docs),
           "## Does the model move the way the RTL does?", "",
           "Each knob of the sensitivity bench, its change of throughput from the baseline as the RTL measured it",
           f"and as the model predicts it (both against their own baseline; changes under {100 * AGREE_WITHIN:.0f}% count as none).", "",
           "| knob | mode | payload | RTL change | model change | same direction |", "|---|---|---|---|---|---|"]
    dirs = directions(pts)
    md += [f"| {k} | {m} | {s} | {100 * a:+.1f}% | {100 * b:+.1f}% | {'yes' if ok else '**no**'} |"
           for k, m, s, a, b, ok in dirs]
    checks = bottleneck_checks(pts)
    md += ["", f"Same direction: {sum(d[-1] for d in dirs)} of {len(dirs)}.", "",
           "## Does loading the named bottleneck slow the RTL?", "",
           "At each baseline point of the sensitivity bench (16 in flight), the bottleneck the model names and the",
           f"knob that loads it; the named bottleneck binds if the RTL slows by {-100 * NAMED_BINDS:.0f}% or more.", "",
           "| mode | payload | model's bottleneck | knob that loads it | RTL change | binds |", "|---|---|---|---|---|---|"]
    md += [f"| {m} | {sz} | {neck} | {knob} | {100 * ch:+.1f}% | {'yes' if ok else '**no**'} |"
           for m, sz, neck, knob, ch, ok in checks]
    md += ["", f"The named bottleneck binds at {sum(c[-1] for c in checks)} of {len(checks)} points.", "",
           "## Every point", "",
           "Bottleneck: the largest part of a turn in the model (`fw work`: local-bus words and compute; `ring round",
           "trips`: waits for the ring's small reads; `fw wake`: the CPU's wake latency on each wait; `link h2d` /",
           "`DMA tags`: the fetches, by what bounds them; `link d2h`: the stores; `host turnaround`: the turn's idle",
           "time waiting for the host), beside the load bench's own classification of the RTL run.", "",
           "Model among RTL's: between which of the RTL window's latency quantiles (p5 to p95) the model's median falls.", "",
           "| set | mode | payload | depth | RTL req/s | model req/s | error | RTL p50 us | model latency us | "
           "model among RTL's | model bottleneck | RTL bottleneck |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in pts:
        md.append(f"| {'calibration' if p.calibration else p.group} | {p.row.mode} | {p.row.payload} | {p.row.depth} | "
                  f"{p.row.req_per_s:,.0f} | {p.pred.req_per_s:,.0f} | {100 * p.error:+.1f}% | {p.row.p50_ns / 1000:.1f} | "
                  f"{p.pred.latency_ns / 1000:.1f} | {p.latency_band} | {p.pred.bottleneck} | {p.row.bottleneck} |")
    md += ["", "## Fitted counts per turn", "",
           "Coefficients of (1, chains, stream steps, intake batches, stream turn); bus-word cycles; cycles a turn runs after its",
           "last MSI (a serial turn's; a ring in host memory's stream turn's); the share of its transfers a stream turn",
           "overlaps (load_model.payload). A push ring's round trips are",
           "its residual wait, on the chains alone, in round trips (load_model.fit_round_trips).", "",
           "| mode | words | compute | waits | round trips | cycles/word | tail | stream tail | overlap |",
           "|---|---|---|---|---|---|---|---|---|"]
    for mode, c in counts.items():
        f = lambda v, digits=1: ", ".join(f"{x:.{digits}f}" for x in v)      # noqa: E731
        md.append(f"| {mode} | {f(c.words)} | {f(c.compute)} | {f(c.waits)} | {f(c.round_trips, 3)} | "
                  f"{c.word_cycles:.2f} | {c.tail:.0f} | {'-' if mode.startswith('push') else f'{c.stream_tail:.0f}'} | "
                  f"{c.overlap:.1f} |")
    md += ["", "![model against RTL](load_model.png)", ""]
    return "\n".join(md)


def write(docs: Path) -> str:
    pts, counts = points(docs)
    md = report(pts, counts, docs)
    (docs / "load_model.md").write_text(md)
    (docs / "load_model.csv").write_text("\n".join(
        ["set,mode,payload,depth,latencies,profile,calibration,rtl_req_per_s,model_req_per_s,error,rtl_p50_ns,"
         "model_latency_ns,model_latency_band,model_bottleneck"]
        + [f"{p.group},{p.row.mode},{p.row.payload},{p.row.depth},{p.setting.latencies},{p.setting.profile},"
           f"{int(p.calibration)},{p.row.req_per_s:.6g},{p.pred.req_per_s:.6g},{p.error:.4f},{p.row.p50_ns:.6g},"
           f"{p.pred.latency_ns:.6g},{p.latency_band},{p.pred.bottleneck}" for p in pts]) + "\n")
    plot(pts, docs / "load_model.png")
    from .bench_spread import remodel      # it imports this module
    remodel(pts, docs)
    return md


def plot(pts: list[Point], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for label, sel, style in (("calibration", lambda p: p.calibration, "ko"),
                              ("held out: load", lambda p: not p.calibration and p.group == "load", "bs"),
                              ("held out: server profile", lambda p: p.group == "load-server", "g^"),
                              ("held out: sensitivity", lambda p: p.group.startswith("sensitivity"), "rD"),
                              ("held out: late wake", lambda p: p.group == "wake", "mv"),
                              ("held out: between depths", lambda p: p.group == "depths", "c*")):
        ps = [p for p in pts if sel(p)]
        ax.loglog([p.row.req_per_s for p in ps], [p.pred.req_per_s for p in ps], style, ms=4, label=label, alpha=0.7)
    lo, hi = min(p.row.req_per_s for p in pts) * 0.7, max(p.row.req_per_s for p in pts) * 1.4
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    for k in (0.95, 1.05):
        ax.plot([lo, hi], [lo * k, hi * k], "k:", lw=0.6)
    ax.set_xlabel("RTL requests/s")
    ax.set_ylabel("model requests/s")
    ax.set_title("load model: predicted against measured (dotted: ±5%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- fast mode ---------------------------------------------------------------------------------

RING = 256                  # entries of a TX ring (the load bench's)
BUF_BASE = 0x10_0000        # where frames live in the fast mode's host memory (never read)


class TxRing:
    """A TX ring in one of the modes, posted the way the load bench's driver posts (one
    buffer a frame, header and payload together), taken by the vectorized processors."""

    def __init__(self, mode: str):
        self.mode = mode
        self.posted = self.taken = 0            # running indices
        if mode in ("split", "packed"):
            self.desc = 0x1000
            self.avail = self.desc + SplitDesc.SIZE * RING
            self.image = bytearray(SplitDesc.SIZE * RING + SplitAvail.RING + SplitAvail.ENTRY * RING)
            self.table = np.frombuffer(self.image, DESC_DTYPE if mode == "split" else PACKED_DTYPE, RING)
            self.ring16 = np.frombuffer(self.image, np.uint16, RING, self.avail - self.desc + SplitAvail.RING)
            self.wrap = 1
        else:
            self.slots = max_depth(mode) + (mode == "push_self")
            self.area = bytearray(PushEntry.SIZE * self.slots)
            self.table = np.frombuffer(self.area, SLOT_DTYPE, self.slots)

    def post(self, lengths: np.ndarray) -> None:
        n = len(lengths)
        if self.mode in ("split", "packed"):
            pos = (self.posted + np.arange(n)) % RING
            ids = pos.astype(np.uint16)
            self.table["addr"][pos] = BUF_BASE + pos * 0x1_0000
            self.table["len"][pos] = lengths
            if self.mode == "split":
                self.table["flags"][pos] = 0
                self.table["next"][pos] = 0
                self.ring16[pos] = ids
                at = self.avail - self.desc + SplitAvail.IDX.offset
                self.image[at:at + 2] = ((self.posted + n) & 0xFFFF).to_bytes(2, "little")
            else:
                wrap = self.wrap ^ ((self.posted % RING + np.arange(n)) >= RING)
                self.table["id"][pos] = ids
                self.table["flags"][pos] = np.where(wrap, avail_flags(1), avail_flags(0))
        else:
            pos = (self.posted + np.arange(n)) % self.slots
            small = lengths <= PUSH_INLINE_MAX
            self.table["id"][pos] = pos
            self.table["flags"][pos] = np.where(small, int(PushFlag.INLINE), 0)
            self.table["len"][pos] = lengths
            self.table["addr"][pos] = np.where(small, 0, BUF_BASE + pos * 0x1_0000)
        self.posted += n

    def take(self) -> np.ndarray:
        """Every chain posted and not taken: the device-readable bytes of each."""
        if self.mode == "split":
            batch = process_split(MemoryImage(self.desc, bytes(self.image)), self.desc, self.avail, RING,
                                  self.taken & 0xFFFF)
        elif self.mode == "packed":
            batch = process_packed(MemoryImage(self.desc, bytes(self.image[:SplitDesc.SIZE * RING])), self.desc, RING,
                                   self.taken % RING, self.wrap, count=self.posted - self.taken)
            if (self.taken % RING) + len(batch.heads) >= RING:
                self.wrap ^= 1
        else:
            batch = process_push(bytes(self.area), self.slots, self.taken & 0xFFFF, self.posted & 0xFFFF,
                                 self_doorbell=self.mode == "push_self")
        if batch.errors.any():
            raise AssertionError(f"{self.mode}: the ring processor refused a chain the fast mode posted: "
                                 f"{batch.reason(int(np.flatnonzero(batch.errors)[0]))}")
        self.taken += len(batch.heads)
        return batch.out_len


@dataclass
class Cell:
    mode: str
    payload: int
    depth: int
    requests: int


def workload(total: int, seed: int = 1) -> list[Cell]:
    """Every ring mode x payload x depth of the load bench, in a seeded order, each with
    requests in proportion to its depth (a deeper loop moves more in the same time)."""
    from .bench_load import DEPTHS, SIZES
    cells = [(m, s, min(d, max_depth(m))) for m in M.MODES for s in SIZES for d in DEPTHS]
    weights = np.array([d for _, _, d in cells], dtype=float)
    counts = np.maximum(1, np.round(total * weights / weights.sum())).astype(int)
    order = np.random.default_rng(seed).permutation(len(cells))
    return [Cell(*cells[i], int(counts[i])) for i in order]


@dataclass
class FastRow:
    cell: Cell
    req_per_s: float
    sim_s: float
    pred: M.Prediction


def run_cell(cell: Cell, counts: dict[str, M.TurnCounts], s: M.Setting = M.Setting()) -> FastRow:
    """The cell's requests in turns of the model's size: each turn's chains posted to and
    taken from a real ring image by the vectorized processor, the turn priced by the model."""
    pred = M.predict(cell.mode, cell.payload, cell.depth, counts[cell.mode], s)
    ring = TxRing(cell.mode)
    frame = M.frame_bytes(cell.payload)
    sizes = pred.turns or (M.turn_shape(cell.mode, cell.depth).chains,)     # a push ring's: as its loop ran them
    left, cycles, k = cell.requests, 0.0, 0
    while left:
        n = min(sizes[k % len(sizes)], left)
        ring.post(np.full(n, frame, dtype=np.int64))
        got = ring.take()
        if len(got) != n or int(got.sum()) != n * frame:
            raise AssertionError(f"{cell}: posted {n} frames of {frame} B, the ring processor took {len(got)}")
        cycles += n * USER_CLK_HZ / pred.req_per_s
        left, k = left - n, k + 1
    sim_s = cycles / USER_CLK_HZ
    return FastRow(cell, cell.requests / sim_s, sim_s, pred)


def fast(total: int = 1_000_000, docs: Path | None = None, seed: int = 1, setting: M.Setting = M.Setting()) -> str:
    from .bench import DOCS
    docs = docs or DOCS
    t0 = time.monotonic()
    counts = M.fit(calibration_source(docs))     # its calibration points only
    rows = [run_cell(c, counts, setting) for c in workload(total, seed)]
    wall = time.monotonic() - t0
    done = sum(r.cell.requests for r in rows)
    rtl = [r for r in load_rows(docs) if r.wall_s and r.mode in M.MODES]
    prof = host_profile(setting.profile)
    cap, cap_h2d = payload_capacity_gbps(profile=prof), completion_capacity_gbps(profile=prof)
    out = [f"# make model: {done:,} requests, {len(rows)} cells (mode x payload x depth), {wall:.1f} s on one core",
           "", f"Host profile `{setting.profile}`, latencies `{setting.latencies}`, RTL parameters "
           + (setting.params.changes().replace(",", ", ") or "the defaults") + ". "
           "Each cell's requests go through the vectorized ring processor a turn at a time and each turn is "
           "priced by the load model (counts fitted on docs/load.csv's calibration points).", ""]
    per_req = wall / done
    if rtl:
        measured = [r.requests or grid(r.mode, [r.payload], [r.depth])[0][2] for r in rtl]   # the CSV omits the count
        rtl_per_req = sum(r.wall_s for r in rtl) / sum(measured)
        quickest = min(r.wall_s / n for r, n in zip(rtl, measured))
        out += [f"Wall time per request: {per_req * 1e6:.1f} us here; in the RTL simulation (docs/load.csv's measured "
                f"windows, Verilator) {rtl_per_req * 1e3:.1f} ms on average ({rtl_per_req / per_req:,.0f}x), "
                f"{quickest * 1e3:.1f} ms at its quickest point ({quickest / per_req:,.0f}x).", ""]
    out += ["The load bench's columns (docs/load.md says what each means); latency: a push ring's frames as the "
            "bench times them in the loop the model plays (load_loop), a ring in host memory's depth / throughput "
            "(the same for p50 and p99: its turns are alike); memory full is 0: the model assumes device memory holds "
            "every frame in flight. The bottleneck is the model's (docs/load_model.md).", "",
            "| mode | payload | depth | requests | req/s | Gb/s each way | link util h2d / d2h | fw busy | MSIs/req | "
            "doorbells/req | memory full | p50 us | p99 us | fw cycles/req | DMA wait | bus words/req | DMAs/req | "
            "bottleneck |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (M.MODES.index(r.cell.mode), r.cell.payload, r.cell.depth)):
        gbps = r.cell.payload * 8 * r.req_per_s / 1e9
        q, lat = r.pred.per_req, r.pred.latency_ns / 1000
        out.append(f"| {r.cell.mode} | {r.cell.payload} | {r.cell.depth} | {r.cell.requests:,} | {r.req_per_s:,.0f} | "
                   f"{gbps:.2f} | {100 * gbps / cap_h2d:.1f}% / {100 * gbps / cap:.1f}% | {100 * r.pred.fw_busy:.0f}% | "
                   f"{q['msis']:.2f} | {q['doorbells']:.2f} | 0% | {lat:.1f} | {r.pred.latency_p99_ns / 1000:.1f} | {r.pred.fw_cycles_per_req:.0f} | "
                   f"{q['dma_wait']:.0f} | {q['bus_words']:.0f} | {q['dmas']:.1f} | {r.pred.bottleneck} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fast", action="store_true", help="the fast mode (make model)")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", default="ideal", help="host profile (fast mode)")
    ap.add_argument("--latencies", default="default", help="latency setting (fast mode)")
    ap.add_argument("--params", default="", help="RTL parameters, name=value,... (fast mode)")
    args = ap.parse_args(argv)
    from .bench import DOCS
    setting = M.Setting(args.latencies, args.profile, EndpointParams.parse(args.params))
    print(fast(args.requests, DOCS, args.seed, setting) if args.fast else write(DOCS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
