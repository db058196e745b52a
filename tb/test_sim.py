"""pytest entry: every cocotb test module on every selected simulator.

SIM=icarus or SIM=verilator selects one simulator; unset runs both.
"""

from __future__ import annotations

import os

import pytest

from virtio_ep import simrun

MODULES = ["tb_bar0", "tb_doorbell", "tb_msi", "tb_system", "tb_async", "tb_virtio_pci", "tb_restable", "tb_control", "tb_dma", "tb_datapath", "tb_uvm", "tb_fuzz", "tb_ringfuzz", "tb_timing"]


def selected_simulators() -> list[str]:
    sim = os.environ.get("SIM", "").strip()
    if not sim:
        return list(simrun.SIMULATORS)
    if sim not in simrun.SIMULATORS:
        raise pytest.UsageError(f"SIM={sim!r}: use one of {', '.join(simrun.SIMULATORS)}")
    return [sim]


# The soak tests (2,000 requests per device) are the longest items: one item per device so
# pytest-xdist spreads them over the workers, and defined first so they start first.
@pytest.mark.parametrize("sim", selected_simulators())
@pytest.mark.parametrize("device", ["net", "block", "entropy"])
def test_soak(sim: str, device: str) -> None:
    simrun.run(sim, "tb_soak", test_filter=f"test_soak_{device}$", name=f"tb_soak_{device}",
               waves=os.environ.get("WAVES") == "1")


@pytest.mark.parametrize("sim", selected_simulators())
@pytest.mark.parametrize("module", MODULES)
def test_module(sim: str, module: str) -> None:
    simrun.run(sim, module, waves=os.environ.get("WAVES") == "1")
