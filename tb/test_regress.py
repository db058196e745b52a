"""A short pyuvm regression (a few seeds) on every selected simulator, as `make regress`
runs it; the long one is `make regress SEEDS=200`."""

from __future__ import annotations

import json

import yaml

import pytest

from test_sim import selected_simulators
from virtio_ep import regress, simrun


# points two seeds of the endpoint test must close (directed sequences enumerate them); the
# virtio crosses need every variant and device (a seed picks one of each), closed by
# `make regress SEEDS=200`
ENDPOINT_POINTS = ("bar.op", "bar.length", "bar.alignment", "bar.length_x_alignment", "doorbell.slot", "msi.vector",
                   "link.tlp_kind", "config.kind")


@pytest.mark.parametrize("sim", selected_simulators())
def test_short_regression(sim: str) -> None:
    assert regress.main(["--sim", sim, "--seeds", "2", "--jobs", "1"]) == 0
    out = simrun.BUILD_ROOT / f"regress-{sim}"
    cov = regress.combine_origins(json.loads((out / "coverage.json").read_text()))
    missed = {p: [b for b, n in cov[p].items() if not n] for p in ENDPOINT_POINTS}
    assert not any(missed.values()), f"coverage bins missed: {missed}"
    # the two virtio seeds: async transport, a ring corruption recovered, rings wrapped
    req = {k.split(".", 1)[1]: v for k, v in cov.items() if k.startswith("request.")}
    assert req["transport"]["async"] and req["error_kind"]["bad_ring"] and req["ring_wrap"]["wrapped"], req
    # cocotb-coverage's own merge of the four runs' databases
    merged = yaml.safe_load((out / "coverage.yml").read_text())
    assert "endpoint.directed.bar.length_x_alignment" in merged and "virtio.random.request.transport_x_mode_x_device" in merged
