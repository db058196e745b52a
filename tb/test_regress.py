"""A short pyuvm regression (a few seeds) on every selected simulator, as `make regress`
runs it; the long one is `make regress SEEDS=200`."""

from __future__ import annotations

import json

import pytest

from test_sim import selected_simulators
from virtio_ep import regress, simrun


@pytest.mark.parametrize("sim", selected_simulators())
def test_short_regression(sim: str) -> None:
    assert regress.main(["--sim", sim, "--seeds", "2", "--jobs", "1"]) == 0
    cov = json.loads((simrun.BUILD_ROOT / f"regress-{sim}" / "coverage.json").read_text())
    missed = {g: [b for b, n in bins.items() if not n] for g, bins in cov.items()}
    assert not any(missed.values()), f"coverage bins missed: {missed}"
