"""The report's headline claims, measured again on every `make test`: the same code as
`make report` (virtio_ep.report) on the default-latency column and 64-byte requests, on
every selected simulator. A claim that stops holding fails here, with its numbers."""

from __future__ import annotations

import pytest

from test_sim import selected_simulators
from virtio_ep import report

EXPECTED_CLAIMS = 10


@pytest.mark.parametrize("sim", selected_simulators())
def test_headline_claims(sim: str) -> None:
    rows = report.measure(sim, settings=("default",), sizes=(64,), repeat=1, jobs=1)
    claims = report.headline_claims(rows)
    assert len(claims) == EXPECTED_CLAIMS, f"{len(claims)} claims evaluated, expected {EXPECTED_CLAIMS}: {claims}"
    failed = [f"{claim}: {detail}" for claim, holds, detail in claims if not holds]
    assert not failed, "headline claims that no longer hold:\n" + "\n".join(failed)
