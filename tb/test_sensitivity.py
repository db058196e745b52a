"""The sensitivity bench's pieces that need no simulator: host-profile variations and the
change table (make bench sensitivity runs the RTL; docs/sensitivity.md)."""

from __future__ import annotations

import pytest

from virtio_ep.bench_sensitivity import BASELINE, KNOBS, Knob, changes
from virtio_ep.layout import HOST_PROFILES, host_profile
from virtio_ep.scenarios.load import LoadRow


def test_a_profile_varies_only_its_max_payload() -> None:
    base = HOST_PROFILES["server"]
    varied = host_profile("server@mps=128")
    assert varied.max_payload == 128 and varied.name == "server@mps=128"
    assert {k: v for k, v in vars(varied).items() if k not in ("max_payload", "name")} == \
        {k: v for k, v in vars(base).items() if k not in ("max_payload", "name")}


@pytest.mark.parametrize("name, says", [("ideal@mps=100", "not a PCIe payload"), ("ideal@mrrs=256", "@mps="),
                                         ("nosuch@mps=256", "use one of")])
def test_a_bad_profile_variation_is_refused(name: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        host_profile(name)


def test_every_knob_is_a_valid_setting_and_differs_from_the_baseline() -> None:
    """Each knob names a setting that exists (a bad one would fail only after its build)."""
    for k in KNOBS:
        host_profile(k.profile)
        assert k is BASELINE or (k.params, k.profile, k.latencies) != (BASELINE.params, BASELINE.profile,
                                                                       BASELINE.latencies), k.name
    assert len({k.name for k in KNOBS}) == len(KNOBS), "two knobs share a name"


def _row(mode: str, payload: int, rps: float, neck: str = "fw work") -> LoadRow:
    return LoadRow(mode, payload, 16, "default", rps, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, neck)


def test_changes_are_relative_to_the_baseline_of_the_same_point() -> None:
    slow = Knob("slow")
    rows = [(BASELINE, _row("split", 1024, 1000.0)), (BASELINE, _row("push", 1024, 4000.0)),
            (slow, _row("split", 1024, 750.0)), (slow, _row("push", 1024, 5000.0, "link"))]
    got = changes(rows)
    assert got[("split", 1024)][1][:3] == ("slow", 750.0, pytest.approx(-0.25))
    assert got[("push", 1024)][1] == ("slow", 5000.0, pytest.approx(0.25), "link")
