"""The late-wake bench's pieces that need no simulator (make bench wake runs the RTL;
docs/wake.md)."""

from __future__ import annotations

from virtio_ep.bench_wake import against_default, report
from virtio_ep.scenarios.load import LoadRow


def _row(mode: str, depth: int, rps: float, latencies: str = "slow-fw") -> LoadRow:
    return LoadRow(mode, 256, depth, latencies, rps, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, "fw wake")


def test_each_point_is_set_beside_the_default_latencies_run_of_the_same_point() -> None:
    """The change is against the load bench's row of the same mode, payload and depth; a
    point the load bench did not run has none (a dash, not a change against another point)."""
    slow = [_row("split", 4, 500.0), _row("push", 4, 3000.0), _row("packed", 64, 100.0)]
    default = [_row("push", 4, 4000.0, "default"), _row("split", 4, 1000.0, "default"),
               _row("split", 64, 9000.0, "default")]
    pairs = against_default(slow, default)
    assert [d.req_per_s if d else None for _, d in pairs] == [1000.0, 4000.0, None]
    text = report(slow, default, "verilator", 60.0)
    assert "| split | 256 | 4 | 1,000 | 500 | -50.0% |" in text
    assert "| push | 256 | 4 | 4,000 | 3,000 | -25.0% |" in text
    assert "| packed | 256 | 64 | - | 100 | - |" in text
