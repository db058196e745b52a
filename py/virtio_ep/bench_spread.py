"""`make bench spread`: how far a load point's RTL result moves with the state the run before it
left the rings in, beside the load model's error there.

The load benches run a simulation's points one after another on the same queues, so each point
starts where the one before left them: ring positions, a packed ring's last batch (its next
window), the RX buffers posted. The same point run again in the same simulation starts from
another such state. Its repeats are samples of the point; their spread is the RTL's own, and a
model error inside it says nothing about the model. Found on packed 128 B at 24 in flight: the
depths bench's row (run after the 8-in-flight point) 601,323 req/s, the point alone 622,407,
five repeats 609,075 to 622,407 (Verilator, 2026-12-06).

The points: every held-out point of docs/load_model.csv whose throughput or latency error
passes 5% (chosen by their error: their errors against the repeats' mean are not an unbiased
score, only a check of how much of each error the RTL's own spread explains) and a seeded
sample of the others (the spread where the model is within 5%). docs/spread.md, .csv, .png.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

from . import bench_model, load_model as M, simrun
from .bench import DOCS
from .bench_load import _fmt, parse_csv
from .demo import run_scenario
from .progress import run_parallel
from .runconfig import RunConfig
from .scenarios.load import LoadRow

LIMIT = 0.05            # the target: a held-out point within 5%
REPEATS = 4             # runs of a point, back to back in one simulation
SAMPLE = 12             # held-out points within the target, drawn at random
SEED = 2026_12_06
STILL = 0.001           # repeats this close count as equal


@dataclass
class Spread:
    """A point's repeats beside its bench row and the model's prediction."""

    point: bench_model.Point
    repeats: list[LoadRow]

    @property
    def rates(self) -> list[float]:
        return [r.req_per_s for r in self.repeats]

    @property
    def medians(self) -> list[float]:
        return [r.p50_ns for r in self.repeats]

    @property
    def spread(self) -> float:
        """The repeats' range over their mean, throughput."""
        return (max(self.rates) - min(self.rates)) / statistics.mean(self.rates)

    @property
    def latency_spread(self) -> float:
        return (max(self.medians) - min(self.medians)) / statistics.mean(self.medians)

    @property
    def error_to_mean(self) -> float:
        """The model's throughput against the repeats' mean."""
        return self.point.pred.req_per_s / statistics.mean(self.rates) - 1

    @property
    def latency_error_to_mean(self) -> float:
        return self.point.pred.latency_ns / statistics.mean(self.medians) - 1

    @property
    def bench_offset(self) -> float:
        """The bench's row (run after another point) against the repeats' mean."""
        return self.point.row.req_per_s / statistics.mean(self.rates) - 1

    @property
    def inside(self) -> bool:
        """The model's throughput lies within the repeats' range."""
        return min(self.rates) <= self.point.pred.req_per_s <= max(self.rates)


def missed(p: bench_model.Point) -> bool:
    return abs(p.error) > LIMIT or abs(p.latency_error) > LIMIT


def chosen(pts: list[bench_model.Point], sample: int = SAMPLE, seed: int = SEED) -> list[bench_model.Point]:
    """The held-out points the model misses, then `sample` of those it does not (seeded)."""
    held = [p for p in pts if not p.calibration]
    out = [p for p in held if missed(p)]
    rest = [p for p in held if not missed(p)]
    return out + random.Random(seed).sample(rest, min(sample, len(rest)))


def repeats(sim: str, p: bench_model.Point, n: int = REPEATS) -> list[LoadRow]:
    """Point `p` run `n` times back to back in one simulation (the load scenario's grid keeps
    a size given twice: each run is a point of its own, starting where the last one ended)."""
    r, s = p.row, p.setting
    tag = "".join(c if c.isalnum() else "-" for c in f"{p.group}-{r.mode}-{r.payload}-{r.depth}-{r.latencies}")
    out = simrun.BUILD_ROOT / f"spread-{tag}-{sim}.jsonl"
    out.unlink(missing_ok=True)
    run_scenario(sim, "load", f"spread-{tag}", RunConfig(
        modes=(r.mode,), sizes=(r.payload,) * n, depths=(r.depth,), latencies=s.latencies, profile=s.profile,
        requests=r.requests, results=str(out)), params=s.params)
    rows = LoadRow.read(out)
    if len(rows) != n:
        raise RuntimeError(f"spread {tag}: {len(rows)} rows for {n} repeats")
    return rows


def label(p: bench_model.Point) -> str:
    r = p.row
    return f"{p.group}: {r.mode} {r.payload} B, {r.depth} in flight, {r.latencies}"


def report(spreads: list[Spread], sim: str, wall_s: float, jobs: int) -> str:
    missed_ = [s for s in spreads if missed(s.point)]
    md = ["# The RTL's own spread at the load model's held-out points", "",
          f"Generated by `make bench spread` ({sim}, {wall_s / 60:.0f} min, {jobs} simulation(s) at a time on this "
          f"machine): each point run {REPEATS} times back to back in one simulation, each run starting where the "
          "last left the queues (ring positions, a packed ring's last batch), as a bench's points do; the model "
          "as docs/load_model.md fits it. Spread: the repeats' range over their mean. `bench`: the model's error "
          "against the bench's row (docs/load_model.csv); `mean`: against the repeats' mean; `inside`: the "
          "model's throughput within the repeats' range.", "",
          "| point | RTL req/s (repeats) | spread | model error: bench | mean | inside | latency spread | "
          "latency error: bench | mean |",
          "|---|---|---|---|---|---|---|---|---|"]
    for s in spreads:
        md.append(f"| {label(s.point)}{' (missed)' if s in missed_ else ''} | "
                  + ", ".join(f"{x:,.0f}" for x in s.rates)
                  + f" | {100 * s.spread:.1f}% | {100 * s.point.error:+.1f}% | {100 * s.error_to_mean:+.1f}% | "
                  f"{'yes' if s.inside else 'no'} | {100 * s.latency_spread:.1f}% | "
                  f"{100 * s.point.latency_error:+.1f}% | {100 * s.latency_error_to_mean:+.1f}% |")
    md += ["", "Summary:", "", *summary(spreads)]
    return "\n".join(md) + "\n"


def write_csv(spreads: list[Spread], path: Path) -> None:
    """Each repeat's LoadRow, after its point's group and the repeat's index (read_rows)."""
    columns = [f.name for f in fields(LoadRow)]
    lines = [",".join(["group", "repeat", *columns])]
    for s in spreads:
        lines += [",".join([s.point.group, str(k), *(_fmt(getattr(r, c)) for c in columns)])
                  for k, r in enumerate(s.repeats)]
    path.write_text("\n".join(lines) + "\n")


def key(group: str, r: LoadRow) -> tuple:
    return group, r.mode, r.payload, r.depth, r.latencies


def on_record(pts: list[bench_model.Point], docs: Path = DOCS) -> list[Spread]:
    """The spreads of the last `make bench spread` (docs/spread.csv) at the points of `pts`
    it ran, in its order; [] if it never ran."""
    path = docs / "spread.csv"
    if not path.exists():
        return []
    runs: dict[tuple, list[LoadRow]] = {}
    for row, extra in parse_csv(path.read_text()):
        runs.setdefault(key(extra["group"], row), []).append(row)
    by_key = {key(p.group, p.row): p for p in pts}
    return [Spread(by_key[k], rows) for k, rows in runs.items() if k in by_key]


def summary(spreads: list[Spread]) -> list[str]:
    """Per group (the points missed, the sample within 5%): the spread and the model's errors."""
    out = []
    missed_ = [s for s in spreads if missed(s.point)]
    kept = [s for s in spreads if not missed(s.point)]
    for name, group in (("missed (throughput or latency past 5% against the bench's row)", missed_),
                        (f"a seeded sample of {len(kept)} within 5%", kept)):
        if not group:
            continue
        out.append(f"- {name}, {len(group)} points: spread {100 * statistics.mean(s.spread for s in group):.1f}% "
                   f"mean, {100 * max(s.spread for s in group):.1f}% max; throughput error against the bench "
                   f"{100 * statistics.mean(abs(s.point.error) for s in group):.1f}% mean, against the repeats' "
                   f"mean {100 * statistics.mean(abs(s.error_to_mean) for s in group):.1f}%; within 5% of the "
                   f"mean: {sum(abs(s.error_to_mean) <= LIMIT for s in group)} (throughput), "
                   f"{sum(abs(s.latency_error_to_mean) <= LIMIT for s in group)} (latency); inside the range: "
                   f"{sum(s.inside for s in group)}")
    if spreads:
        far = max(spreads, key=lambda s: abs(s.bench_offset))
        still = [s for s in spreads if s.spread < STILL]
        push = [s for s in spreads if s.point.row.mode.startswith("push") and s.point.setting.profile.startswith("ideal")]
        out.append(f"- the bench's row against its repeats' mean (the bench ran it after another point): "
                   f"{100 * statistics.mean(abs(s.bench_offset) for s in spreads):.1f}% mean, "
                   f"{100 * far.bench_offset:+.1f}% at most ({label(far.point)}); repeats within {100 * STILL:.1f}% "
                   f"of each other at {len(still)} of {len(spreads)} points, push rings at the `ideal` host at "
                   f"{sum(s.spread < STILL for s in push)} of {len(push)}")
    return out


def plot(spreads: list[Spread], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(spreads) + 1.5))
    labelled: set[str] = set()

    def once(name: str) -> str | None:         # each legend entry for its first point only
        first = name not in labelled
        labelled.add(name)
        return name if first else None
    for k, s in enumerate(spreads):
        bench = s.point.row.req_per_s
        lo, hi = (100 * (x / bench - 1) for x in (min(s.rates), max(s.rates)))
        ax.plot([lo, hi], [k, k], "k-", lw=3, alpha=0.4, label=once("RTL repeats' range"))
        ax.plot(100 * s.point.error, k, "ro" if missed(s.point) else "bo", ms=4,
                label=once("model (missed)" if missed(s.point) else "model (within 5%)"))
    ax.axvline(0, color="k", lw=0.8)
    for x in (-5, 5):
        ax.axvline(x, color="k", ls=":", lw=0.6)
    ax.set_yticks(range(len(spreads)), [label(s.point) for s in spreads], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("throughput against the bench's row (%)")
    ax.set_title("load model's held-out points: the RTL's own spread over repeats", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(sim: str, docs: Path = DOCS, jobs: int = 2, sample: int = SAMPLE) -> str:
    pts, _ = bench_model.points(docs)
    todo = chosen(pts, sample)
    t0 = time.monotonic()
    rows = run_parallel([partial(repeats, sim, p) for p in todo], jobs, f"bench spread {sim}")
    spreads = [Spread(p, r) for p, r in zip(todo, rows)]
    md = report(spreads, sim, time.monotonic() - t0, jobs)
    (docs / "spread.md").write_text(md)
    write_csv(spreads, docs / "spread.csv")
    plot(spreads, docs / "spread.png")
    return md


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", default="verilator", choices=simrun.SIMULATORS)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sample", type=int, default=SAMPLE)
    a = ap.parse_args(argv)
    print(run(a.sim, jobs=a.jobs, sample=a.sample))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
