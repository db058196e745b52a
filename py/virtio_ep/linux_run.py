"""`make linux`: Linux's own virtio_net and virtio_blk in User-Mode Linux, through the RTL
(scenarios/uml.py).

Boots UML (Debian's user-mode-linux, Linux 6.1) once per device and ring mode against the
simulated endpoint. Net: frames of 60 to 1514 bytes go out through virtio_net, the device
loops them back, and Linux's counters are checked against the device's. Block: writes at
random offsets (O_DIRECT), a flush and reads through virtio_blk, each read checked against
the plan, Linux's I/O counters against the RAM disk's, and the disk's contents against what
was written. Prints a line per run; the simulator's log and UML's console (uml.log, and
requests.log with each queue's completions and their wait) are under sim_build/<sim>/.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import simrun
from .demo import run_scenario
from .runconfig import RunConfig

MODES = ("split", "packed")
DEVICES = ("net", "block")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="verilator", choices=simrun.SIMULATORS)
    ap.add_argument("--modes", default=",".join(MODES), help=f"ring modes, of {', '.join(MODES)}")
    ap.add_argument("--devices", default=",".join(DEVICES), help=f"devices, of {', '.join(DEVICES)}")
    ap.add_argument("--frames", type=int, default=200, help="frames virtio_net sends per mode")
    ap.add_argument("--writes", type=int, default=24, help="O_DIRECT writes virtio_blk makes per mode")
    args = ap.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m)
    if not modes or set(modes) - set(MODES):
        ap.error(f"--modes {args.modes}: use {', '.join(MODES)}")
    devices = tuple(d for d in args.devices.split(",") if d)
    if not devices or set(devices) - set(DEVICES):
        ap.error(f"--devices {args.devices}: use {', '.join(DEVICES)}")
    summary = simrun.BUILD_ROOT / f"linux-{args.sim}.txt"
    summary.parent.mkdir(parents=True, exist_ok=True)
    summary.unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        for device in devices:          # one simulation each: their request counts differ
            count = args.frames if device == "net" else args.writes
            run_scenario(args.sim, "linux_uml", f"linux-{device}", RunConfig(
                modes=modes, devices=(device,), requests=count, artifact=str(summary), sim=args.sim))
    except Exception as exc:
        print(f"\nLINUX RUN FAILED: {exc}", file=sys.stderr)
        return 1
    print(summary.read_text(), end="")
    print(f"wall time {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
