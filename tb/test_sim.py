"""pytest entry: every cocotb test module of virtio_ep_top (tb/tb_*.py) on every selected
simulator. The block benches (tb/<module>/test_<module>.py) have their own entries.

SIM=icarus or SIM=verilator selects one simulator; unset runs both. SOAK_REQUESTS sets
the soak's requests per device (by default 150 on Verilator and 40 on Icarus, which runs
this bench about three times slower: the same five phases and checks, fewer requests per
phase, to keep CI's time; the soak at depth, 64 in flight: 2,000 on both). REQUESTS sets the request or case count of every module that
has one (tb_datapath, tb_fuzz, tb_ringfuzz, tb_restable). `make long` runs the long
versions outside CI (docs/verification.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from virtio_ep import simrun
from virtio_ep.runconfig import RunConfig

# the soak has its own items (one per device, below)
OWN_ENTRIES = {"tb_soak"}
MODULES = sorted(p.stem for p in Path(__file__).parent.glob("tb_*.py") if p.stem not in OWN_ENTRIES)


def selected_simulators() -> list[str]:
    try:
        return simrun.selected_simulators()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def waves() -> bool:
    return os.environ.get("WAVES") == "1"


SOAK_DEFAULT_REQUESTS = {"verilator": 150, "icarus": 40}     # make long: 2000
# the soak at depth (64 in flight): 2,000 per device on Verilator, 1,000 on Icarus (CI time:
# at 2,000 its three Icarus items alone took 14 min of CPU; `make long` runs 2,000 on both)
DEEP_SOAK_DEFAULT_REQUESTS = {"verilator": 2000, "icarus": 1000}


# under the server host profile: the soak at depth with fewer requests per device
SERVER_DEEP_SOAK_REQUESTS = {"verilator": 300, "icarus": 150}


# The soak tests are the longest items: one item per device so pytest-xdist spreads them
# over the workers, and scheduled first (tb/conftest.py) so they start first. Each runs
# under the ideal host and again under `server` (completions cut at 64 B, reads answered
# out of order with seeded jitter, MPS 256; the seed is in every failure message).
@pytest.mark.parametrize("sim", selected_simulators())
@pytest.mark.parametrize("device", ["net", "block", "entropy", "deep_net", "deep_block", "deep_entropy"])
@pytest.mark.parametrize("profile", ["ideal", "server"])
def test_soak(sim: str, device: str, profile: str) -> None:
    """deep_*: the soak at depth (64 requests in flight, tb_soak.DEEP)."""
    deep = SERVER_DEEP_SOAK_REQUESTS if profile == "server" else DEEP_SOAK_DEFAULT_REQUESTS
    defaults = deep if device.startswith("deep") else SOAK_DEFAULT_REQUESTS
    requests = int(os.environ.get("SOAK_REQUESTS") or defaults[sim])
    name = f"tb_soak_{device}" + ("" if profile == "ideal" else f"-{profile}")
    # the log goes to a file as it runs (`tail -f` it: each phase is logged as it starts)
    log = simrun.BUILD_ROOT / sim / f"{name}.log"
    try:
        simrun.run(sim, "tb_soak", test_filter=f"test_soak_{device}$", name=name, waves=waves(),
                   config=RunConfig(requests=requests, profile=profile), log_file=log)
    except simrun.SimulationFailed as exc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:]) if log.exists() else "(no log)"
        raise simrun.SimulationFailed(f"{exc}\nlast lines of {log}:\n{tail}") from None


# modules also run under the server host profile (docs/host_profiles.md: 64-byte completions,
# MPS 256, reads answered out of order, latency jitter), seeded like every run; a module's
# filter (a COCOTB_TEST_FILTER regex) keeps the tests that move data under the profile's
# completions: tb_datapath's fault injections (MSI masked or disabled, a firmware stall,
# FLR, hot reset, a corrupt ring, a bad push entry) test the device's reaction to the
# fault, which the host's completion shape does not reach; they run under ideal (CI time)
SERVER_MODULES = {
    "tb_datapath": "test_(net_loopback|block_ram_disk|entropy|batch_intake_matches_scalar|push_inline"
                   "|split_indirect|bad_chain_in_an_overlapped_step|port_monitors|self_doorbell"
                   "|dma_error_fails_only_its_frame|linux_ring_code)",
    "tb_dma": None, "tb_fuzz": None, "tb_ringfuzz": None, "tb_timing": None,
}


@pytest.mark.parametrize("sim", selected_simulators())
@pytest.mark.parametrize("module", SERVER_MODULES)
def test_module_server_host(sim: str, module: str) -> None:
    simrun.run(sim, module, test_filter=SERVER_MODULES[module], waves=waves(), name=f"{module}-server",
               config=RunConfig(profile="server"))


@pytest.mark.parametrize("sim", selected_simulators())
@pytest.mark.parametrize("module", MODULES)
def test_module(sim: str, module: str) -> None:
    requests = os.environ.get("REQUESTS")
    simrun.run(sim, module, waves=waves(), config=RunConfig(requests=int(requests)) if requests else None)


def test_server_filters_name_real_tests() -> None:
    """Each alternative of a server filter matches a test of its module (a renamed test
    must not silently drop out of the server runs)."""
    for module, pattern in SERVER_MODULES.items():
        if pattern is None:
            continue
        names = re.findall(r"^async def (test_\w+)", (simrun.TB_DIR / f"{module}.py").read_text(), re.M)
        head, alternatives = pattern.split("(", 1)
        for alt in alternatives.rstrip(")").split("|"):
            assert any(n.startswith(head + alt) for n in names), f"{module}: no test matches {head + alt}"
        assert not all(re.match(pattern, n) for n in names), f"{module}: the filter keeps every test"
