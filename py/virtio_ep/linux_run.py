"""`make linux`: Linux's own virtio_net in User-Mode Linux, through the RTL (scenarios/uml.py).

Boots UML (Debian's user-mode-linux, Linux 6.1) once per ring mode against the simulated
endpoint; frames of 60 to 1514 bytes go out through virtio_net, the device loops them
back, and Linux's counters are checked against the device's. Prints a line per mode; the
simulator's log and UML's console are under sim_build/<sim>/.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import simrun
from .demo import run_scenario
from .runconfig import RunConfig

MODES = ("split", "packed")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="verilator", choices=simrun.SIMULATORS)
    ap.add_argument("--modes", default=",".join(MODES), help=f"ring modes, of {', '.join(MODES)}")
    ap.add_argument("--frames", type=int, default=200, help="frames Linux sends per mode")
    args = ap.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or set(modes) - set(MODES):
        ap.error(f"--modes {args.modes}: use {', '.join(MODES)}")
    summary = simrun.BUILD_ROOT / f"linux-{args.sim}.txt"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        run_scenario(args.sim, "linux_uml", "linux", RunConfig(modes=modes, devices=("net",), requests=args.frames,
                                                               artifact=str(summary), sim=args.sim))
    except Exception as exc:
        print(f"\nLINUX RUN FAILED: {exc}", file=sys.stderr)
        return 1
    print(summary.read_text(), end="")
    print(f"wall time {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
