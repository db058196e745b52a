"""A short pyuvm regression (a few seeds) on every selected simulator, as `make regress`
runs it, on the thread pool and again on a Dask LocalCluster; shards merged; the make
variables' check; progress. The long one is `make regress SEEDS=200`."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import subprocess
import sys
import tempfile
import time
import urllib.parse
import warnings
from dataclasses import asdict
from pathlib import Path

import yaml

import pytest

from test_sim import selected_simulators
from virtio_ep import makevars, regress, simrun
from virtio_ep.layout import DEFAULT_PARAMS, EndpointParams
from virtio_ep.progress import Progress, run_parallel
from virtio_ep.runconfig import RunConfig


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
    # the same seeds through a 2-worker Dask LocalCluster: the same results and coverage
    threads = json.loads((out / "runs.json").read_text())
    jobs = [(sim, r["test"], r["seed"], RunConfig()) for r in threads]
    dask = regress.execute(jobs, "local", workers=2)
    assert [(r["test"], r["seed"], r["ok"]) for r in dask] == [(r["test"], r["seed"], r["ok"]) for r in threads]
    for a, b in zip(threads, dask):
        assert a["coverage"] == b["coverage"], f"{a['test']} seed {a['seed']}: coverage differs between engines"
    assert regress.merge_coverage(dask) == regress.merge_coverage(threads)
    # and one seed through a running scheduler with a worker of its own (`dask scheduler`,
    # `dask worker`: what SCHEDULER=tcp://host:8786 reaches on other machines), on loopback
    with dask_cluster() as address:
        remote = regress.execute(jobs[:1], "scheduler", scheduler=address)
    assert [(r["test"], r["seed"], r["ok"], r["coverage"]) for r in remote] == [
        (r["test"], r["seed"], r["ok"], r["coverage"]) for r in threads[:1]]


@contextlib.contextmanager
def dask_cluster(timeout_s: float = 60.0):
    """A Dask scheduler and one worker process on loopback, as `dask scheduler` and
    `dask worker` start them on a cluster's machines; both stopped on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        info = Path(tmp) / "scheduler.json"
        dask_cli = str(Path(sys.executable).with_name("dask"))
        procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            deadline = time.monotonic() + timeout_s
            while not info.exists() or not info.read_text().strip():
                assert time.monotonic() < deadline, f"the Dask scheduler wrote no {info.name} in {timeout_s} s"
                assert procs[0].poll() is None, f"the Dask scheduler exited with {procs[0].returncode}"
                time.sleep(0.2)
            procs.append(subprocess.Popen([dask_cli, "worker", "--scheduler-file", str(info), "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            yield json.loads(info.read_text())["address"]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def test_shards_merge_into_one_report(tmp_path) -> None:
    """Two shards (as two machines would write them) merge into the reports of all their
    runs; a seed in both shards is refused with a message."""
    def run(test: str, seed: int, ok: bool, hits: int) -> dict:
        return {"sim": "icarus", "test": test, "seed": seed, "ok": ok, "error": "" if ok else "boom", "seconds": 1.0,
                "coverage": {"random.request.transport": {"async": hits, "mailbox": 0}}, "coverage_yaml": "",
                "log": "x.log", "log_tail": "" if ok else "last line", "host": f"m{seed}", "commit": "c",
                "UVM_VARIANT": None, "UVM_DEVICE": None}
    regress.write_reports([run("VirtioTest", 1, True, 2)], tmp_path / "a", "a")
    regress.write_reports([run("VirtioTest", 2, False, 3)], tmp_path / "b", "b")
    runs = regress.merge_shards([tmp_path / "a", tmp_path / "b"])
    assert [(r["seed"], r["ok"]) for r in runs] == [(1, True), (2, False)]
    lines = regress.write_reports(runs, tmp_path / "merged", "merged")
    assert json.loads((tmp_path / "merged" / "coverage.json").read_text()) == {
        "random.request.transport": {"async": 5, "mailbox": 0}}
    assert any("FAILED icarus VirtioTest seed 2 on m2" in line and "reproduce: make regress" in line for line in lines)
    regress.write_reports([run("VirtioTest", 2, True, 1)], tmp_path / "c", "c")
    with pytest.raises(ValueError, match="seed 2 is in two shards"):
        regress.merge_shards([tmp_path / "b", tmp_path / "c"])


def test_local_clusters_at_once_share_no_port() -> None:
    """CI runs the regression on both simulators at once, each with a Dask LocalCluster whose
    scheduler serves HTTP on port 8787 by default, dashboard or not: the second warned "Port
    8787 is already in use" and took another. Each takes a free loopback port, unwarned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clusters = [regress.local_cluster(1), regress.local_cluster(1)]
        try:
            served = [urllib.parse.urlsplit(c.dashboard_link) for c in clusters]
        finally:
            for c in clusters:
                c.close()
    assert all(u.hostname == "127.0.0.1" and u.port != 8787 for u in served), [u.netloc for u in served]
    assert served[0].port != served[1].port
    assert not [w for w in caught if "already in use" in str(w.message)]


@pytest.mark.parametrize("assignment,message", [
    ("SEEDS=abc", "SEEDS=abc is not valid: a whole number"),
    ("SIM=questa", "SIM=questa is not valid: use one of icarus, verilator"),
    ("TRANSPORT=bogus", "TRANSPORT=bogus is not valid: use one of async"),
    ("SCHEDULER=localhost", "a Dask scheduler address"),
    ("LATENCIES=fast", "LATENCIES=fast is not valid: use one of none"),
    ("PARAMS=dma_tags=eight", "the names among bar0_sram_size"),
    ("PARAMS=tags=8", "the names among bar0_sram_size"),
])
def test_bad_make_variable_is_one_clear_line(assignment: str, message: str) -> None:
    lines = makevars.problems([assignment, "SIM=icarus", "JOBS=2", "SEEDS="])
    assert len(lines) == 1 and message in lines[0], lines


def test_a_variable_nothing_reads_stops_make(capsys) -> None:
    """A typo on make's command line (PROFIL= for PROFILE=) would run the target at the
    defaults: make names it, with the nearest variable, and stops (exit 2). The Makefile's
    list of the command-line variables (GIVEN) is read through make itself."""
    assert makevars.main(["--given", "PROFIL SIM", "SIM=icarus"]) == 2
    assert "PROFIL is not a variable this Makefile reads (did you mean PROFILE?)" in capsys.readouterr().err
    assert makevars.main(["--given", "SIM UVM_VARIANT", "SIM=icarus"]) == 0
    root = Path(__file__).resolve().parents[1]
    names = subprocess.run(["make", "-s", "-C", str(root), "--eval", "show: ; @echo $(sort $(GIVEN))", "show",
                            "PROFIL=server", "MODE=push"], capture_output=True, text=True, timeout=60).stdout.split()
    assert names == ["MODE", "PROFIL"]


def test_rtl_parameters_read_back_as_written() -> None:
    """make's PARAMS= as the model and `make trace` read it: the named fields changed, the
    rest the defaults, and `changes` writes back what differs (a trace's name and header)."""
    params = EndpointParams.parse("dma_desc_depth=16,dma_tags=8")
    assert (params.dma_desc_depth, params.dma_tags, params.dma_read_descs) == (16, 8, DEFAULT_PARAMS.dma_read_descs)
    assert EndpointParams.parse(params.changes()) == params
    assert params.changes() == "dma_tags=8,dma_desc_depth=16"      # field order, not the text's
    assert EndpointParams.parse("") == DEFAULT_PARAMS and DEFAULT_PARAMS.changes() == ""
    with pytest.raises(ValueError, match="the names among"):
        EndpointParams.parse("dma_tags=8,desc_depth=16")


def test_progress_lines_off_a_terminal() -> None:
    """Off a terminal: plain lines, at most one per interval and always the last; every call
    of run_parallel runs, results in order, and its first error is raised after all ended."""
    out = io.StringIO()
    with Progress(3, "demo", stream=out, every_s=3600, tty=False) as p:
        p.update(True)
        p.update(False)
        p.update(True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo: 3/3 done, 1 failed"), lines
    ran = []

    def call(k: int) -> int:
        ran.append(k)
        if k == 1:
            raise RuntimeError("call 1 failed")
        return k * 10
    assert run_parallel([functools.partial(call, k) for k in (0, 2)], 2, "ok") == [0, 20]
    with pytest.raises(RuntimeError, match="call 1 failed"):
        run_parallel([functools.partial(call, k) for k in range(4)], 2, "one fails")
    assert sorted(ran) == [0, 0, 1, 2, 2, 3]


def test_progress_beats_while_nothing_ends() -> None:
    """A line comes every interval even while no run ends (one simulation may take minutes)."""
    out = io.StringIO()
    with Progress(2, "slow", stream=out, every_s=0.2, tty=False):
        time.sleep(1.5)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("slow: 0/2 done, 0 failed") for line in lines), lines


def test_a_worker_that_cannot_build_reports_a_failed_run(monkeypatch) -> None:
    """A worker whose build fails returns the run as failed, with where and why (the
    regression goes on and reports it), instead of raising into the scheduler."""
    def broken(sim: str) -> str:
        raise simrun.SimulationFailed("iverilog: syntax error in ep_csr.v")
    monkeypatch.setattr(regress, "_built", broken)
    run = regress.run_on_worker("icarus", "VirtioTest", 7, asdict(RunConfig()))
    assert not run["ok"] and "build failed on" in run["error"] and "syntax error" in run["error"]
    assert run["repro"].startswith("make regress SIM=icarus TESTS=VirtioTest SEEDS=1 SEED_BASE=7")
