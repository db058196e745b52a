"""A short pyuvm regression (a few seeds) on every selected simulator, as `make regress`
runs it; the long one is `make regress SEEDS=200`."""

from __future__ import annotations

import json

import pytest

from test_sim import selected_simulators
from virtio_ep import regress, simrun


# bins two seeds of the endpoint test must close; the virtio bins need every variant and
# device (a seed picks one of each), closed by `make regress SEEDS=200`
ENDPOINT_GROUPS = ("bar_op", "bar_length", "bar_alignment", "doorbell_slot", "msi_vector", "tlp_kind", "config")


@pytest.mark.parametrize("sim", selected_simulators())
def test_short_regression(sim: str) -> None:
    assert regress.main(["--sim", sim, "--seeds", "2", "--jobs", "1"]) == 0
    cov = json.loads((simrun.BUILD_ROOT / f"regress-{sim}" / "coverage.json").read_text())
    missed = {g: [b for b, n in cov[g].items() if not n] for g in ENDPOINT_GROUPS}
    assert not any(missed.values()), f"coverage bins missed: {missed}"
    # the two virtio seeds: async transport, a ring corruption recovered, rings wrapped
    assert cov["transport"]["async"] and cov["error_kind"]["bad_ring"] and cov["ring_wrap"]["wrapped"], cov
