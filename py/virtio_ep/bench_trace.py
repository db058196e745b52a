"""`make trace`: one point of the load bench run on the RTL with the firmware's turns timed,
each beside the load model's price of a turn of as many frames, and one turn's timeline: the
CPU's DMA submits and waits and the TLPs at the root complex (named by what they touched:
testbench.tlp_names), in cycles from the turn's start;
for a ring in host memory, when that turn's frames were back with the host beside the model's
(what its latencies are timed from), and when the host's doorbells reached it (its waits sleep
until then). This is how the load model's mechanisms were found
(docs/load_model.md: the first fetch behind the host's writes, the run's last short turn); it
is where to look when a point misses.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import load_model as M, simrun
from .bench import DOCS
from .bench_load import read_rows
from .demo import run_scenario
from .layout import DEFAULT_PARAMS, LATENCY_SETTINGS, HOST_PROFILES, MODE_NAMES, EndpointParams, host_profile
from .load_loop import timed_latencies
from .runconfig import RunConfig
from .scenarios.load import percentile
from .timing import CLK_NS


@dataclass
class Turn:
    start: float                # ns
    end: float = 0.0
    frames: int = 0             # frames the device delivered in it
    before: int = 0             # frames it had delivered before it
    events: list[tuple[float, str, float]] = field(default_factory=list)

    @property
    def cycles(self) -> float:
        return (self.end - self.start) / CLK_NS

    @property
    def waits(self) -> list[float]:
        return [v for _, what, v in self.events if what == "wait"]

    @property
    def slept(self) -> int:
        """Its DMA waits that slept at least once (SoftCpu logs one `slept` after each)."""
        return sum(what == "slept" for _, what, _ in self.events)


def turns_of(timeline: list) -> list[Turn]:
    """The doorbell loop's turns from SoftCpu.timeline (turn_probe: frames delivered)."""
    out: list[Turn] = []
    for at, what, value in timeline:
        if what == "turn":
            out.append(Turn(at, before=int(value)))
        elif what == "turn end" and out:
            out[-1].end, out[-1].frames = at, int(value) - out[-1].before
        elif out:
            out[-1].events.append((at, what, value))
    return [t for t in out if t.end]


def frames_back(turn: Turn, backs: list[float]) -> list[tuple[float, int]]:
    """The frames back with the host during `turn` (`backs`: each frame's time back, ns), as
    (share of the turn's cycles, how many), frames back at the same time together."""
    return _inside(turn, backs)


DOORBELL = "TLP down mem_write doorbell"


def doorbells(turn: Turn, tlps: list, queue: str = "") -> list[tuple[float, int]]:
    """The host's doorbells during `turn` (`tlps`: [ns, kind, bytes] at the root complex, as
    scenarios.runs.trace names them: testbench.tlp_names), those of `queue` ("q1") if given,
    as (share of the turn's cycles, how many)."""
    return _inside(turn, [at for at, kind, _ in tlps
                          if kind.startswith(DOORBELL) and (not queue or kind == f"{DOORBELL} {queue}")])


def doorbell_queues(tlps: list) -> list[str]:
    """The queues whose doorbells `tlps` hold, in order of their names."""
    return sorted({kind[len(DOORBELL) + 1:] for _, kind, _ in tlps if kind.startswith(DOORBELL + " ")})


def _inside(turn: Turn, times: list[float]) -> list[tuple[float, int]]:
    """`times` (ns) within the turn as (share of its cycles, how many), equal ones together."""
    span = turn.end - turn.start
    return _together([((at - turn.start) / span, 1) for at in times if turn.start <= at <= turn.end])


def _together(returns: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(share, frames) with the frames of equal neighbouring shares added up."""
    out: list[tuple[float, int]] = []
    for share, n in returns:
        if out and out[-1][0] == share:
            out[-1] = (share, out[-1][1] + n)
        else:
            out.append((share, n))
    return out


def _shares(returns: list[tuple[float, int]]) -> str:
    return ", ".join(f"{share:.2f} ({n})" for share, n in _together(returns)) or "none"


def model_turns(mode: str, size: int, depth: int, s: M.Setting) -> tuple[M.Prediction, Callable[[int], float]]:
    """The model's prediction and a turn's cycles by its frames. A push ring's: as the loop
    plays a turn of as many (its first fetch's wait behind the host's writes included), else
    its price alone. A ring in host memory's: its steady turn's price (busy, as the RTL's turn
    runs from the CPU's wake), a turn of other frames priced as the window's last turn."""
    counts = M.fit(read_rows(DOCS))[mode]
    pred = M.predict(mode, size, depth, counts, s)
    if not mode.startswith("push"):
        steady = M.turn_shape(mode, depth)
        return pred, lambda b: M.price(mode, size, steady if b == steady.chains else M.turn_shape(mode, b, more=False),
                                       counts, s)[0]
    costs = dict(zip(pred.turns, pred.costs))
    return pred, lambda b: costs[b] if b in costs else M.price(mode, size, M.push_shape(b), counts, s)[0]


def report(data: dict, mode: str, size: int, depth: int, latencies: str, profile: str, sim: str,
           turn: int | None = None, params: EndpointParams = DEFAULT_PARAMS) -> str:
    """The window's turns against the model, and the timeline of window turn `turn` (by
    default the last of the most common frame count)."""
    row = data["row"]
    turns = window(data, depth)
    setting = M.Setting(latencies, profile, params)
    pred, cost_of = model_turns(mode, size, depth, setting)
    md = [f"make trace: {mode}, {size} B, {depth} in flight (latencies {latencies}, host {profile}"
          f"{f', RTL {params.changes()}' if params.changes() else ''}; {sim})", "",
          f"RTL: {row['req_per_s']:,.0f} req/s, median latency {row['p50_ns'] / 1000:.1f} us. "
          f"Model: {pred.req_per_s:,.0f} req/s ({100 * (pred.req_per_s / row['req_per_s'] - 1):+.1f}%), "
          f"{pred.latency_ns / 1000:.1f} us, bottleneck {pred.bottleneck}.", "",
          f"The window's turns ({len(turns)}; cycles of {CLK_NS:g} ns, from the CPU's wake to its return to sleep"
          " or its next turn). Model: a turn of as many frames"
          + (", as its loop plays it (with its first fetch's wait behind the host's writes)." if mode.startswith("push")
             else f", its price (a ring in host memory's steady turn: {M.turn_shape(mode, depth).chains} frames, "
             f"{pred.turn_cycles:,.0f} cycles with the host's turnaround)."), "",
          "| turn | frames | RTL cycles | DMA waits | of them asleep | their cycles | model cycles | model error |",
          "|---|---|---|---|---|---|---|---|"]
    for k, t in enumerate(turns):
        cost = cost_of(t.frames)
        cell = f"{cost:,.0f} | {100 * (cost / t.cycles - 1):+.1f}%"
        md.append(f"| {k} | {t.frames} | {t.cycles:,.0f} | {len(t.waits)} | {t.slept} | {sum(t.waits):,.0f} | {cell} |")
    if turns:
        common = Counter(t.frames for t in turns).most_common(1)[0][0]
        k, shown = [(k, t) for k, t in enumerate(turns) if t.frames == common][-1]
        if turn is not None:
            if not 0 <= turn < len(turns):
                raise ValueError(f"turn {turn}: the window has turns 0 to {len(turns) - 1}")
            k, shown = turn, turns[turn]
        md += ["", f"Turn {k} ({shown.frames} frames, {shown.cycles:,.0f} cycles), in cycles from its start: the CPU's "
               "DMA submits (bytes) and waits (cycles; `slept`: the times the wait slept), and the TLPs at the "
               "root complex (bytes; `up` as the root complex takes them, after the host's latency; `down` as it "
               "queues them).", "", "```"]
        tlps = [tuple(x) for x in data["tlps"] if shown.start <= x[0] <= shown.end]
        lines = [f"{(at - shown.start) / CLK_NS:+8.0f}  {what} {value:,.0f}"
                 for at, what, value in sorted(shown.events + tlps, key=lambda e: e[0])]
        md += [f"{line}{f'  (x{n})' if n > 1 else ''}" for line, n in _runs(lines)]
        md.append("```")
        md += ["", f"Median of the window's turns of {common} frames: "
               f"{statistics.median(t.cycles for t in turns if t.frames == common):,.0f} cycles."]
        if not mode.startswith("push"):
            # a ring in host memory's frames come back a step at a time, as its MSIs announce them
            # (load_model.step_returns): what its latencies are timed from
            counts, s, steady = M.fit(read_rows(DOCS))[mode], setting, M.turn_shape(mode, depth)
            model = M.step_returns(mode, size, steady, counts, s)
            asleep = M.waits_asleep(mode, size, steady, counts, s)
            md += ["", f"Frames back with the host in turn {k}, as shares of its cycles (frames): RTL "
                   f"{_shares(frames_back(shown, data['backs']))}; the model's turn of "
                   f"{steady.chains}: {_shares(model)}.",
                   "", f"The host's doorbells in turn {k}, as shares of its cycles (how many): "
                   f"{_shares(doorbells(shown, data['tlps']))}{by_queue(shown, data['tlps'])} (until the first, "
                   "a wait that finds no DMA result pending sleeps; from it on it polls: the doorbell holds the "
                   f"interrupt line up). The model's steady turn: {asleep:.1f} waits asleep."]
    md += ["", latency_line(window_latencies(data["backs"], depth, data["requests"]), pred.latency_ns)]
    md += [line for line in [on_record(mode, size, depth, setting)] if line]
    return "\n".join(md) + "\n"


QUANTILES = (0.4, 0.45, 0.55, 0.6)      # around the median, which the bench takes as statistics.median does


def window_latencies(backs: list[float], depth: int, requests: int) -> list[float]:
    """The window's frames' latencies (ns) as the load bench times them (scenarios.load.closed_loop):
    the j-th frame back against the j-th send, each send after the first `depth` as the frame
    `depth` before it is back."""
    return timed_latencies([(at, 1) for at in backs], depth, requests)


def rank(values: list[float], x: float) -> float:
    """The share of `values` below `x` (0 to 1)."""
    return sum(v < x for v in values) / len(values)


def latency_line(latencies: list[float], model_ns: float) -> str:
    """The RTL's latency quantiles around the median and where the model's median falls among
    them. Where the frames' latencies come in a few clusters (a ring in host memory's steps back
    at set shares of its turns, the frames in flight not a whole number of turns), the median can
    sit on a step between two, and one frame's place moves it by the step (traced: split 128 B
    at 96 in flight, `slow-fw`, 189 us at p45 and 280 us at p55, the median 239): a point's
    median error there says less than where among the quantiles the model's median lies."""
    if not latencies:
        return "No frame of the window came back."
    qs = [f"p{round(100 * q)} {percentile(latencies, q) / 1000:.1f}" for q in QUANTILES]
    qs = ", ".join(qs[:2] + [f"median {statistics.median(latencies) / 1000:.1f}"] + qs[2:])
    return (f"The window's frames' latencies as the bench times them (us): {qs}; the model's median, "
            f"{model_ns / 1000:.1f} us, is the RTL's p{100 * rank(latencies, model_ns):.0f}.")


def on_record(mode: str, size: int, depth: int, setting: M.Setting, docs: Path = DOCS) -> str:
    """Where the model's median falls among the frames of the bench rows on record at this point
    (docs' load CSVs, as make bench model-check reads them), "" if none is: a bench runs a point
    after others, its rings in another state, so its window can differ from a trace's lone run
    (split 256 B at 64 in flight, `slow-fw`: the RTL's p81 traced, p55-p60 in the late-wake bench)."""
    from . import bench_model       # it imports most of the package
    same = [p for p in bench_model.points(docs)[0]
            if (p.row.mode, p.row.payload, p.row.depth) == (mode, size, depth) and p.setting == setting]
    if not same:
        return ""
    return "On record: " + "; ".join(
        f"the {p.group} bench's window, RTL median {p.row.p50_ns / 1000:.1f} us, the model's median "
        f"{100 * p.latency_error:+.1f}% from it ({p.latency_band} of the RTL's frames)" for p in same) + "."


def by_queue(turn: Turn, tlps: list) -> str:
    """The turn's doorbells queue by queue, as " (q0: 0.50 (1); q1: none)"; "" with no queue named."""
    queues = doorbell_queues(tlps)
    return f" ({'; '.join(f'{q}: {_shares(doorbells(turn, tlps, q))}' for q in queues)})" if queues else ""


def _runs(lines: list[str]) -> list[tuple[str, int]]:
    """Consecutive equal lines as (line, how many)."""
    out: list[tuple[str, int]] = []
    for line in lines:
        if out and out[-1][0] == line:
            out[-1] = (line, out[-1][1] + 1)
        else:
            out.append((line, 1))
    return out


def trace(sim: str, mode: str, size: int, depth: int, latencies: str = "default", profile: str = "ideal",
          params: EndpointParams = DEFAULT_PARAMS) -> dict:
    """The RTL run (scenarios.runs.trace) built at `params`: its LoadRow, requests, SoftCpu.timeline
    and TLPs."""
    name = f"trace-{mode}-{size}-{depth}-{latencies}-{profile}" + (f"-{params.changes()}" if params.changes() else "")
    out = simrun.BUILD_ROOT / f"{name}-{sim}.json"
    out.unlink(missing_ok=True)
    run_scenario(sim, "trace", name, RunConfig(modes=(mode,), sizes=(size,), depths=(depth,), latencies=latencies,
                                               profile=profile, artifact=str(out)), params=params)
    return json.loads(out.read_text())


def window(data: dict, depth: int) -> list[Turn]:
    """The turns that started inside the bench's window (by the frames delivered before them)."""
    return [t for t in turns_of(data["timeline"]) if depth <= t.before < depth + data["requests"] and t.frames]


def run(sim: str, mode: str, size: int, depth: int, latencies: str = "default", profile: str = "ideal",
        turn: int | None = None, params: EndpointParams = DEFAULT_PARAMS) -> str:
    return report(trace(sim, mode, size, depth, latencies, profile, params), mode, size, depth, latencies, profile,
                  sim, turn, params)


def profile_name(name: str) -> str:
    """A host profile's name as argparse takes it: registered, or varied (`ideal@mps=128`,
    the sensitivity bench's MPS knobs)."""
    try:
        host_profile(name)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", default="verilator", choices=simrun.SIMULATORS)
    ap.add_argument("--mode", default="push", choices=[m for m in MODE_NAMES if m in M.MODES])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--latencies", default="default", choices=list(LATENCY_SETTINGS))
    ap.add_argument("--profile", default="ideal", type=profile_name,
                    help=f"host profile: {', '.join(HOST_PROFILES)}, or one varied: ideal@mps=128")
    ap.add_argument("--turn", type=int, help="the window's turn whose timeline to show (default: the last of the "
                    "most common frame count)")
    ap.add_argument("--params", default="", help="RTL parameters, name=value,... (EndpointParams' fields)")
    a = ap.parse_args(argv)
    text = run(a.sim, a.mode, a.size, a.depth, a.latencies, a.profile, a.turn, EndpointParams.parse(a.params))
    print(text)
    path = Path(simrun.BUILD_ROOT) / "trace.md"
    path.write_text(text)
    print(f"(also in {path})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
