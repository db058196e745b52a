"""`make regress`: the pyuvm regression over many seeds, in parallel.

Engines: `threads` (default: a thread pool on this machine, no server), `local` (a Dask
LocalCluster of worker processes on this machine) and `scheduler` (any running Dask
cluster, `--scheduler tcp://host:8786`: `dask scheduler` and `dask worker`, SSH, SLURM or
LSF through dask-jobqueue). Every engine runs the same task per seed; each worker builds the
RTL once; a result comes back by value (status, coverage, its coverage database, the log's
tail, the reproduction command, the worker's host and commit), so workers need no shared
file system. Each run writes `runs.json` beside its reports; `--merge DIR...` merges shards
run anywhere into one set of reports.

Writes a JUnit XML and a merged coverage report under sim_build/, prints progress and a
summary, and for every failure the exact command that reproduces it from its seed.
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import logging
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, replace
from pathlib import Path

from . import simrun
from .progress import Progress
from .runconfig import RunConfig

MODULE = "tb_uvm"
TESTS = ("RegressionTest", "VirtioTest")
ENGINES = ("threads", "local", "scheduler")
LOG_TAIL_LINES = 40
# Dask's own monitoring, made quiet for workers that only wait on a simulator: at its
# defaults (a 10 ms profiler, a 20 ms event-loop tick, 500 ms system and 100 ms memory
# monitors) the LocalCluster's processes took 0.17 of a core, measured here, which the two
# simulations sharing the machine lost (docs/verification.md). The same settings as
# environment variables quiet workers started by hand (README).
QUIET_DASK = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
              "distributed.admin.system-monitor.interval": "5s", "distributed.worker.memory.monitor-interval": "1s"}


@functools.cache
def commit() -> str:
    """The checked-out commit of this worker's project (results of other commits are refused)."""
    try:
        out = subprocess.run(["git", "-C", str(simrun.REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def run_seed(sim: str, test: str, seed: int, config: RunConfig = RunConfig()) -> dict:
    """One seed of one test; everything the reports need comes back by value."""
    name = f"regress-{test}-{seed}"
    cov = simrun.BUILD_ROOT / sim / f"{name}.coverage.json"
    log = simrun.BUILD_ROOT / sim / f"{name}.log"
    cov.unlink(missing_ok=True)
    cov.with_suffix(".yml").unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        simrun.run(sim, MODULE, seed=seed, name=name, test_filter=f"^{MODULE}.{test}$", log_file=log,
                   config=replace(config, artifact=str(cov)), log_level="WARNING")
        ok, error = True, ""
    except Exception as exc:           # a failed simulation or test
        ok, error = False, str(exc)
    return _result(sim, test, seed, config, ok, error, time.monotonic() - t0, cov, log)


def _result(sim: str, test: str, seed: int, config: RunConfig, ok: bool, error: str, seconds: float,
            cov: Path, log: Path) -> dict:
    run = {"sim": sim, "test": test, "seed": seed, "ok": ok, "error": error, "seconds": seconds,
           "coverage": json.loads(cov.read_text()) if cov.exists() else {},
           "coverage_yaml": cov.with_suffix(".yml").read_text() if cov.with_suffix(".yml").exists() else "",
           "log": str(log), "log_tail": "" if ok else _tail(log), "host": socket.gethostname(), "commit": commit(),
           "UVM_VARIANT": config.variant, "UVM_DEVICE": config.devices[0] if len(config.devices) == 1 else None}
    run["repro"] = repro(run)
    return run


@functools.cache
def _built(sim: str) -> str:
    simrun.build(sim)                   # locked and skipped when up to date: once per worker
    return sim


def run_on_worker(sim: str, test: str, seed: int, config: dict) -> dict:
    """The task every engine runs (the configuration travels as a plain dict). A worker
    that cannot build reports it as the run's failure, with the build log's tail."""
    cfg = RunConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
    try:
        _built(sim)
    except Exception as exc:
        log = simrun.build_dir(sim, simrun.Design.endpoint(), False) / "build.log"
        return _result(sim, test, seed, cfg, False, f"build failed on {socket.gethostname()}: {exc}", 0.0,
                       Path("/nonexistent"), log)
    return run_seed(sim, test, seed, cfg)


def execute(jobs: list[tuple[str, str, int, RunConfig]], engine: str = "threads", workers: int = 2,
            scheduler: str | None = None, progress: Progress | None = None) -> list[dict]:
    """Run every (sim, test, seed, config) job on `engine`; results in job order."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: use one of {', '.join(ENGINES)}")
    tasks = [(sim, test, seed, asdict(config)) for sim, test, seed, config in jobs]
    results: dict[int, dict] = {}

    def collect(i: int, run: dict) -> None:
        results[i] = run
        if progress is not None:
            progress.update(run["ok"])
    if engine == "threads":
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_on_worker, *t): i for i, t in enumerate(tasks)}
            for f in as_completed(futures):
                collect(futures[f], f.result())
    else:
        from dask.distributed import Client, as_completed as dask_completed
        if engine == "local":
            cluster = local_cluster(workers)
            client = Client(cluster)
        else:
            if not scheduler:
                raise ValueError("engine scheduler needs --scheduler tcp://host:port")
            cluster, client = None, Client(scheduler, timeout="30s")
        try:
            futures = [client.submit(run_on_worker, *t, pure=False) for t in tasks]
            index = {f.key: i for i, f in enumerate(futures)}
            for f in dask_completed(futures):
                collect(index[f.key], f.result())
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    runs = [results[i] for i in range(len(tasks))]
    mine = commit()
    for r in runs:                      # a worker on another commit ran other code
        if r["commit"] != mine and r["ok"]:
            r["ok"], r["error"] = False, f"worker {r['host']} runs commit {r['commit']}, this run {mine}"
    return runs


def local_cluster(workers: int):
    """A Dask LocalCluster of `workers` single-threaded processes, quiet (QUIET_DASK), with no
    dashboard. Its scheduler serves HTTP whatever the dashboard (health routes), on port 8787
    unless told otherwise, even with dashboard_address=None (distributed 2026.8): two runs at
    once, as CI's two simulators run, fought for it ("Port 8787 is already in use"); it takes
    a free port on loopback instead."""
    import dask
    from dask.distributed import LocalCluster
    with dask.config.set(QUIET_DASK):           # handed to the worker processes it starts
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, silence_logs=logging.ERROR,
                            dashboard_address=None, scheduler_kwargs={"dashboard": False,
                                                                      "dashboard_address": "127.0.0.1:0"})


def merge_coverage(runs: list[dict]) -> dict:
    merged: dict[str, Counter] = {}
    for r in runs:
        for group, bins in r["coverage"].items():
            merged.setdefault(group, Counter())
            for b, n in bins.items():
                merged[group][b] += n
    return {g: dict(c) for g, c in merged.items()}


ORIGINS = ("directed", "random", "any")


def combine_origins(cov: dict) -> dict:
    """{"<group>.<point>": {bin: hits}} summed over the origins (directed, random, any)."""
    out: dict[str, Counter] = {}
    for name, bins in cov.items():
        origin, _, point = name.partition(".")
        if origin not in ORIGINS:
            raise ValueError(f"coverage item {name!r} has no origin prefix ({', '.join(ORIGINS)})")
        out.setdefault(point, Counter()).update(bins)
    return {k: {b: c[b] for b in sorted(c)} for k, c in sorted(out.items())}


def merge_yaml(runs: list[dict], path: Path) -> int:
    """cocotb-coverage's own merge of the runs' YAML databases (carried by value) into
    `path`; returns how many."""
    from cocotb_coverage.coverage import merge_coverage as cc_merge
    folder = path.parent / "coverage-db"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for r in runs:
        if r.get("coverage_yaml"):
            f = folder / f"{r['sim']}-{r['test']}-{r['seed']}.yml"
            f.write_text(r["coverage_yaml"])
            files.append(str(f))
    if files:
        cc_merge(lambda message: None, str(path), *files)
    return len(files)


def write_html(cov: dict, path, title: str) -> None:
    """The coverage report as a page: every bin with its hit count, missed bins marked."""
    rows = []
    for group, bins in cov.items():
        for b, n in bins.items():
            style = "" if n else ' style="background:#fbb"'
            rows.append(f"<tr{style}><td>{html.escape(group)}</td><td>{html.escape(b)}</td><td>{n}</td></tr>")
    hit = sum(1 for g in cov.values() for n in g.values() if n)
    total = sum(len(g) for g in cov.values())
    path.write_text(f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
                    f"<p>{hit} of {total} bins hit</p><table border=1 cellpadding=3>"
                    "<tr><th>group</th><th>bin</th><th>hits</th></tr>" + "".join(rows) + "</table>")


def write_junit(runs: list[dict], path) -> None:
    suite = ET.Element("testsuite", name="virtio_ep regression", tests=str(len(runs)),
                       failures=str(sum(not r["ok"] for r in runs)))
    for r in runs:
        case = ET.SubElement(suite, "testcase", classname=f"{MODULE}.{r['sim']}",
                             name=f"{r['test']}[seed={r['seed']}]", time=f"{r['seconds']:.2f}")
        if not r["ok"]:
            ET.SubElement(case, "failure", message=r["error"][:500]).text = f"log: {r['log']}"
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def repro(r: dict) -> str:
    fixed = "".join(f" {k}={r[k]}" for k in ("UVM_VARIANT", "UVM_DEVICE") if r.get(k))
    return f"make regress SIM={r['sim']} TESTS={r['test']} SEEDS=1 SEED_BASE={r['seed']}{fixed}"


def write_reports(runs: list[dict], out: Path, title: str, wall: float | None = None) -> list[str]:
    """JUnit XML, merged coverage (JSON, cocotb-coverage YAML, HTML), runs.json and the
    summary under `out`; returns the summary's lines."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "runs.json").write_text(json.dumps(runs))
    write_junit(runs, out / "junit.xml")
    cov = merge_coverage(runs)
    (out / "coverage.json").write_text(json.dumps(cov, indent=1))
    merged = merge_yaml(runs, out / "coverage.yml")
    combined = combine_origins(cov)
    write_html(combined, out / "coverage.html", f"virtio_ep regression coverage ({title}, {len(runs)} runs)")
    total_bins = sum(len(g) for g in combined.values())
    hit = sum(1 for g in combined.values() for n in g.values() if n)
    hosts = sorted({r.get("host", "?") for r in runs})
    lines = [f"regression on {title}: {len(runs)} runs, {sum(r['ok'] for r in runs)} passed, "
             f"{sum(not r['ok'] for r in runs)} failed" + (f", {wall:.0f} s wall" if wall is not None else "")
             + f" ({len(hosts)} host{'s' if len(hosts) > 1 else ''}: {', '.join(hosts)})",
             f"coverage: {hit} of {total_bins} bins hit (directed and random together; 'random' counts what "
             f"random items reached alone)"]
    for name, bins in combined.items():
        missed = [b for b, n in bins.items() if not n]
        rnd = cov.get(f"random.{name}")
        share = f"  random {sum(1 for n in rnd.values() if n)}/{len(rnd)}" if rnd else ""
        lines.append(f"  {name:32s} {sum(1 for n in bins.values() if n)}/{len(bins)}{share}"
                     + (f"  missed: {', '.join(missed[:8])}{' ...' if len(missed) > 8 else ''}" if missed else ""))
    lines.append(f"JUnit: {out / 'junit.xml'}; coverage: {out / 'coverage.json'}, {out / 'coverage.html'}, "
                 f"{out / 'coverage.yml'} (cocotb-coverage's merge of {merged} databases); runs: {out / 'runs.json'}")
    for r in runs:
        if not r["ok"]:
            tail = "\n    ".join(r.get("log_tail", "").splitlines()[-8:])
            lines.append(f"FAILED {r['sim']} {r['test']} seed {r['seed']} on {r.get('host', '?')}: {r['error'][:200]}"
                         + (f"\n  log tail:\n    {tail}" if tail else "") + f"\n  reproduce: {r.get('repro') or repro(r)}")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    return lines


def merge_shards(dirs: list[Path]) -> list[dict]:
    """The runs of several shards (each a folder with runs.json), one per (sim, test, seed)."""
    runs: dict[tuple, dict] = {}
    for d in dirs:
        f = d / "runs.json"
        if not f.exists():
            raise ValueError(f"{d}: no runs.json (not a regression's output folder)")
        for r in json.loads(f.read_text()):
            key = (r["sim"], r["test"], r["seed"], r.get("UVM_VARIANT"), r.get("UVM_DEVICE"))
            if key in runs:
                raise ValueError(f"{d}: {r['sim']} {r['test']} seed {r['seed']} is in two shards; "
                                 "give each machine its own SEED_BASE")
            runs[key] = r
    return sorted(runs.values(), key=lambda r: (r["sim"], r["test"], r["seed"]))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="icarus", choices=simrun.SIMULATORS)
    ap.add_argument("--seeds", type=_positive, default=env("SEEDS", "8"))
    ap.add_argument("--seed-base", type=_whole, default=env("SEED_BASE", "1"))
    ap.add_argument("--jobs", type=_positive, default=env("JOBS") or str(os.cpu_count() or 2),
                    help="runs at once: threads, or the LocalCluster's worker processes")
    ap.add_argument("--tests", default=env("TESTS", ",".join(TESTS)))
    ap.add_argument("--variant", default=env("UVM_VARIANT") or None, help="the virtio test's variant")
    ap.add_argument("--device", default=env("UVM_DEVICE") or None, help="the virtio test's device")
    ap.add_argument("--engine", choices=ENGINES, default=None,
                    help="threads (default), local (a Dask LocalCluster), scheduler (with --scheduler)")
    ap.add_argument("--scheduler", default=env("SCHEDULER") or None, help="a Dask scheduler, tcp://host:8786")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default sim_build/regress-<sim>)")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="DIR",
                    help="merge the runs.json of these folders (shards run anywhere) into --out; runs nothing")
    args = ap.parse_args(argv)
    if args.merge:
        try:
            runs = merge_shards(args.merge)
        except ValueError as exc:
            ap.error(str(exc))
        out = args.out or simrun.BUILD_ROOT / "regress-merged"
        lines = write_reports(runs, out, f"{len(args.merge)} shards merged")
        print("\n".join(lines))
        return 0 if all(r["ok"] for r in runs) else 1
    tests = [t for t in args.tests.split(",") if t]
    unknown = [t for t in tests if t not in TESTS]
    if unknown or not tests:
        ap.error(f"--tests {args.tests!r}: use some of {', '.join(TESTS)}")
    engine = args.engine or ("scheduler" if args.scheduler else "threads")
    simrun.build(args.sim)                         # once here, before the runs share it
    config = RunConfig(variant=args.variant, **({"devices": (args.device,)} if args.device else {}))
    jobs = [(args.sim, t, args.seed_base + k, config) for t in tests for k in range(args.seeds)]
    t0 = time.monotonic()
    with Progress(len(jobs), f"regress {args.sim} ({engine})") as progress:
        runs = execute(jobs, engine, args.jobs, args.scheduler, progress)
    wall = time.monotonic() - t0
    out = args.out or simrun.BUILD_ROOT / f"regress-{args.sim}"
    lines = write_reports(runs, out, f"{args.sim}, {len(tests)} tests x {args.seeds} seeds, {engine}", wall)
    print("\n".join(lines))
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
