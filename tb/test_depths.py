"""The between-depths bench's pieces that need no simulator (make bench depths runs the RTL;
docs/depths.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

from virtio_ep import bench_model
from virtio_ep.bench import DOCS
from virtio_ep.bench_depths import read_rows, report
from virtio_ep.bench_load import rows_csv
from virtio_ep.scenarios.load import LoadRow


def _row(mode: str, depth: int, rps: float, latencies: str) -> LoadRow:
    return LoadRow(mode, 128, depth, latencies, rps, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 25_000.0, 0.0, "fw work",
                   waits_per_req=4.25, waits_slept_per_req=0.5)


def test_rows_come_back_from_the_csv_and_the_table_names_each_latency_setting(tmp_path: Path) -> None:
    rows = [_row("packed", 24, 600_000.0, "default"), _row("packed", 24, 450_000.0, "slow-fw")]
    (tmp_path / "depths.csv").write_text(rows_csv(rows))
    assert read_rows(tmp_path) == rows
    text = report(rows, "verilator", 60.0)
    assert "| packed | 128 | 24 | default | 600,000 | 25.0 | 4.250 | 0.500 | fw work |" in text
    assert "| packed | 128 | 24 | slow-fw | 450,000 |" in text


def test_the_model_predicts_each_point_at_its_own_latency_setting(tmp_path: Path) -> None:
    """The same mode, payload and depth at both settings: held out, each predicted at the
    latencies it ran at (the late wake slows a packed ring's turn of 24 frames)."""
    for csv in DOCS.glob("*.csv"):
        shutil.copy(csv, tmp_path)
    rows = [_row("packed", 24, 600_000.0, "default"), _row("packed", 24, 450_000.0, "slow-fw")]
    (tmp_path / "depths.csv").write_text(rows_csv(rows))
    pts, _ = bench_model.points(tmp_path)
    ours = {p.row.latencies: p for p in pts if p.group == "depths"}
    assert set(ours) == {"default", "slow-fw"} and not any(p.calibration for p in ours.values())
    assert ours["slow-fw"].setting.latencies == "slow-fw" and ours["default"].setting.latencies == "default"
    assert ours["slow-fw"].pred.req_per_s < ours["default"].pred.req_per_s
