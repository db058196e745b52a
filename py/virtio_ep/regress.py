"""`make regress`: the pyuvm regression over many seeds, in parallel on the available cores.

Writes a JUnit XML and a merged coverage report under sim_build/, prints a summary, and
for every failure the exact command that reproduces it from its seed.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from . import simrun
from .runconfig import RunConfig

MODULE = "tb_uvm"
TESTS = ("RegressionTest", "VirtioTest")


def run_seed(sim: str, test: str, seed: int, config: RunConfig = RunConfig()) -> dict:
    name = f"regress-{test}-{seed}"
    cov = simrun.BUILD_ROOT / sim / f"{name}.coverage.json"
    log = simrun.BUILD_ROOT / sim / f"{name}.log"
    t0 = time.monotonic()
    try:
        results = simrun.run(sim, MODULE, seed=seed, name=name, test_filter=f"^{MODULE}.{test}$", log_file=log,
                             config=replace(config, artifact=str(cov)), log_level="WARNING")
        ok, error = True, ""
    except Exception as exc:           # a failed simulation or test
        results, ok, error = None, False, str(exc)
    coverage = json.loads(cov.read_text()) if cov.exists() else {}
    return {"sim": sim, "test": test, "seed": seed, "ok": ok, "error": error, "seconds": time.monotonic() - t0,
            "coverage": coverage, "coverage_file": str(cov), "results": str(results) if results else "", "log": str(log),
            "UVM_VARIANT": config.variant, "UVM_DEVICE": config.devices[0] if len(config.devices) == 1 else None}


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


def merge_yaml(runs: list[dict], path) -> int:
    """cocotb-coverage's own merge of the runs' YAML databases into `path`; returns how many."""
    from cocotb_coverage.coverage import merge_coverage as cc_merge
    files = [str(Path(r["coverage_file"]).with_suffix(".yml")) for r in runs]
    files = [f for f in files if Path(f).exists()]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sim", default="icarus", choices=simrun.SIMULATORS)
    ap.add_argument("--seeds", type=int, default=int(os.environ.get("SEEDS", "8")))
    ap.add_argument("--seed-base", type=int, default=int(os.environ.get("SEED_BASE", "1")))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--tests", default=os.environ.get("TESTS", ",".join(TESTS)))
    ap.add_argument("--variant", default=os.environ.get("UVM_VARIANT") or None, help="the virtio test's variant")
    ap.add_argument("--device", default=os.environ.get("UVM_DEVICE") or None, help="the virtio test's device")
    args = ap.parse_args(argv)
    tests = [t for t in args.tests.split(",") if t]
    simrun.build(args.sim)                         # once, before the parallel runs
    t0 = time.monotonic()
    config = RunConfig(variant=args.variant, **({"devices": (args.device,)} if args.device else {}))
    jobs = [(args.sim, t, args.seed_base + k, config) for t in tests for k in range(args.seeds)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(lambda j: run_seed(*j), jobs))
    wall = time.monotonic() - t0
    out = simrun.BUILD_ROOT / f"regress-{args.sim}"
    out.mkdir(parents=True, exist_ok=True)
    write_junit(runs, out / "junit.xml")
    cov = merge_coverage(runs)
    (out / "coverage.json").write_text(json.dumps(cov, indent=1))
    merged = merge_yaml(runs, out / "coverage.yml")
    combined = combine_origins(cov)
    write_html(combined, out / "coverage.html", f"virtio_ep regression coverage ({args.sim}, {len(runs)} runs)")
    total_bins = sum(len(g) for g in combined.values())
    hit = sum(1 for g in combined.values() for n in g.values() if n)
    lines = [f"regression on {args.sim}: {len(runs)} runs ({len(tests)} tests x {args.seeds} seeds), "
             f"{sum(r['ok'] for r in runs)} passed, {sum(not r['ok'] for r in runs)} failed, {wall:.0f} s wall",
             f"coverage: {hit} of {total_bins} bins hit (directed and random together; 'random' counts what "
             f"random items reached alone)"]
    for name, bins in combined.items():
        missed = [b for b, n in bins.items() if not n]
        rnd = cov.get(f"random.{name}")
        share = f"  random {sum(1 for n in rnd.values() if n)}/{len(rnd)}" if rnd else ""
        lines.append(f"  {name:32s} {sum(1 for n in bins.values() if n)}/{len(bins)}{share}"
                     + (f"  missed: {', '.join(missed[:8])}{' ...' if len(missed) > 8 else ''}" if missed else ""))
    lines.append(f"JUnit: {out / 'junit.xml'}; coverage: {out / 'coverage.json'}, {out / 'coverage.html'}, "
                 f"{out / 'coverage.yml'} (cocotb-coverage's merge of {merged} databases)")
    for r in runs:
        if not r["ok"]:
            lines.append(f"FAILED {r['test']} seed {r['seed']}: {r['error'][:200]}\n  reproduce: {repro(r)}")
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
