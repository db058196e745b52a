"""`make sim`: run the system scenario on one simulator and print its summary."""

from __future__ import annotations

import argparse
import sys
import time

from . import simrun


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sim", default="icarus", choices=simrun.SIMULATORS)
    ap.add_argument("--waves", action="store_true", help="write an FST waveform")
    args = ap.parse_args(argv)
    summary_file = simrun.BUILD_ROOT / f"demo-{args.sim}.txt"
    summary_file.parent.mkdir(parents=True, exist_ok=True)
    summary_file.unlink(missing_ok=True)
    log_file = simrun.BUILD_ROOT / f"demo-{args.sim}.log"
    t0 = time.monotonic()
    print(f"building and running the demo on {args.sim} (simulator log: {log_file}) ...", flush=True)
    try:
        simrun.run(args.sim, "tb_system", waves=args.waves, name="demo", log_file=log_file,
                   extra_env={"DEMO_SUMMARY": str(summary_file), "SIM_NAME": args.sim})
    except Exception as exc:
        tail = log_file.read_text().splitlines()[-40:] if log_file.exists() else []
        print("\n".join(tail), file=sys.stderr)
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    print(summary_file.read_text())
    print(f"  wall time {time.monotonic() - t0:.1f} s; summary saved in {summary_file}")
    if args.waves:
        print(f"  waveform under {simrun.build_dir(args.sim, simrun.DEFAULT_PARAMS, True)} (make waves)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
