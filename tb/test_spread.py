"""The spread bench (make bench spread; docs/spread.md): which points it runs, what it computes
from their repeats, and the repeats themselves on both simulators."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from virtio_ep import bench_model, bench_spread as S, simrun
from virtio_ep.bench import DOCS


@pytest.fixture(scope="module")
def pts() -> list[bench_model.Point]:
    return bench_model.points(DOCS)[0]


def test_the_points_are_every_held_out_miss_and_a_seeded_sample_of_the_rest(pts) -> None:
    """Every held-out point past 5% in throughput or latency, no calibration point, and a sample
    of the others that the seed fixes (the same twice, another with another seed)."""
    todo = S.chosen(pts, sample=6)
    misses = [p for p in pts if not p.calibration and (abs(p.error) > 0.05 or abs(p.latency_error) > 0.05)]
    assert misses and all(any(p is q for q in todo) for p in misses)
    rest = [p for p in todo if not any(p is q for q in misses)]
    assert len(rest) == 6 and not any(p.calibration for p in todo)
    assert all(abs(p.error) <= 0.05 and abs(p.latency_error) <= 0.05 for p in rest)
    assert [id(p) for p in S.chosen(pts, sample=6)] == [id(p) for p in todo]
    assert [id(p) for p in S.chosen(pts, sample=6, seed=1)] != [id(p) for p in todo]


def _spread(p: bench_model.Point, rates: list[float], medians: list[float]) -> S.Spread:
    return S.Spread(p, [dataclasses.replace(p.row, req_per_s=r, p50_ns=m) for r, m in zip(rates, medians)])


def test_a_points_spread_and_the_models_error_are_taken_against_its_repeats(pts) -> None:
    """Repeats at 90k, 100k and 110k req/s: a spread of 20% of their mean (100k); a model at
    105k errs +5% against the mean and lies inside the range; one at 120k errs +20%, outside."""
    p = dataclasses.replace(pts[0], pred=dataclasses.replace(pts[0].pred, req_per_s=105_000.0, latency_ns=1100.0))
    s = _spread(p, [90_000.0, 100_000.0, 110_000.0], [1000.0, 1000.0, 1000.0])
    assert s.spread == pytest.approx(0.2)
    assert s.error_to_mean == pytest.approx(0.05)
    assert s.latency_spread == 0.0 and s.latency_error_to_mean == pytest.approx(0.1)
    assert s.inside
    q = dataclasses.replace(p, pred=dataclasses.replace(p.pred, req_per_s=120_000.0))
    assert not _spread(q, [90_000.0, 100_000.0, 110_000.0], [1000.0] * 3).inside


def test_the_report_has_a_row_per_point_sums_each_group_and_reads_back(pts, tmp_path: Path) -> None:
    miss = next(p for p in pts if not p.calibration and S.missed(p))
    kept = next(p for p in pts if not p.calibration and not S.missed(p))
    spreads = [_spread(miss, [1e6, 1.02e6], [1e4, 1e4]), _spread(kept, [2e6, 2e6], [2e4, 2e4])]
    text = S.report(spreads, "verilator", 60.0, 2)
    assert f"| {S.label(miss)} (missed) | 1,000,000, 1,020,000 | 2.0% |" in text
    assert f"| {S.label(kept)} | 2,000,000, 2,000,000 | 0.0% |" in text
    assert "- missed (throughput or latency past 5% against the bench's row), 1 points: spread 2.0% mean" in text
    assert "- within 5% (the seeded sample, and any miss the model has mended since the run), 1 points: spread 0.0% mean" in text
    S.write_csv(spreads, tmp_path / "spread.csv")
    lines = (tmp_path / "spread.csv").read_text().splitlines()
    assert len(lines) == 1 + 4 and lines[1].startswith(f"{miss.group},0,{miss.row.mode},")
    back = S.on_record(pts, tmp_path)
    assert [(s.point, s.rates) for s in back] == [(miss, [1e6, 1.02e6]), (kept, [2e6, 2e6])]
    assert S.on_record(pts, tmp_path / "none") == []


def test_model_check_renders_the_repeats_on_record_with_the_model_of_the_day(pts, tmp_path: Path) -> None:
    """A miss the model has since mended: the repeats on record (docs/spread.csv) rendered again
    with today's prediction, no longer marked missed, the run's facts kept; a spread.md that does
    not say how its repeats ran is refused."""
    miss = next(p for p in pts if not p.calibration and S.missed(p))
    bench, median = miss.row.req_per_s, miss.row.p50_ns
    repeats = [_spread(miss, [0.99 * bench, 1.01 * bench], [median, median])]
    S.write_csv(repeats, tmp_path / "spread.csv")
    (tmp_path / "spread.md").write_text(S.report(repeats, "icarus", 120.0, 1))
    assert f"| {S.label(miss)} (missed) |" in (tmp_path / "spread.md").read_text()
    mended = dataclasses.replace(miss, pred=dataclasses.replace(miss.pred, req_per_s=1.02 * bench, latency_ns=median))
    S.remodel([mended], tmp_path)
    text = (tmp_path / "spread.md").read_text()
    assert "(icarus, 2 min, 1 simulation(s) at a time" in text
    kept = ", ".join(f"{r:,.0f}" for r in S.on_record([mended], tmp_path)[0].rates)     # as the CSV keeps them
    assert f"| {S.label(mended)} | {kept} | 2.0% | +2.0% | +2.0% | no |" in text
    (tmp_path / "spread.md").write_text("# edited by hand\n")
    with pytest.raises(ValueError, match="does not say how its repeats ran"):
        S.remodel([mended], tmp_path)


@pytest.mark.parametrize("sim", simrun.selected_simulators())
def test_a_points_repeats_run_back_to_back_each_from_where_the_last_left_the_rings(sim: str, pts) -> None:
    """Packed 128 B at 24 in flight, three repeats in one simulation: three rows of the point,
    each measured over the bench's window of 96 frames; they differ (each starts on the ring
    where the last ended, a packed ring's batches with it): were the point run once, or each
    repeat from a fresh ring, the three would be equal."""
    p = next(p for p in pts if p.group == "depths" and p.row.mode == "packed" and p.row.payload == 128
             and p.row.depth == 24 and p.row.latencies == "default")
    rows = S.repeats(sim, p, 3)
    assert [(r.mode, r.payload, r.depth, r.requests) for r in rows] == [("packed", 128, 24, 96)] * 3
    assert len({r.req_per_s for r in rows}) > 1
