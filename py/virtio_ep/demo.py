"""`make sim`: run one scenario on one simulator and print its summary.

  --transport NAME    control plane of every device class over a registered transport
                      (transports.TRANSPORTS; default async)
  --transport echo    the endpoint's echo mailbox (BAR0 + doorbell + MSI)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import simrun
from .layout import DEFAULT_PARAMS, EndpointParams
from .runconfig import ResultRow, RunConfig
from .scenarios import RUNS_MODULE
from .transports import TRANSPORTS, VIRTIO_PCI_SETTLE_MARGIN

CHOICES = (*TRANSPORTS, "echo")
OP_COLUMNS = ("host_reads", "host_writes", "doorbells", "msis", "cycles", "firmware_cycles")
OP_HEADERS = ("reads", "writes", "doorbells", "MSIs", "cycles", "firmware")


def run_scenario(sim: str, scenario: str, name: str, config: RunConfig, waves: bool = False,
                 params: EndpointParams = DEFAULT_PARAMS) -> None:
    """Simulate one of the package's scenarios (virtio_ep.scenarios.runs) with `config` on
    the RTL built at `params`; on failure print the end of the simulator's log."""
    log_file = simrun.BUILD_ROOT / f"{name}-{sim}.log"
    print(f"running {scenario} on {sim} (simulator log: {log_file}) ...", flush=True)
    try:
        simrun.run(sim, RUNS_MODULE, params, waves=waves, name=name, log_file=log_file, config=config,
                   seed=simrun.MEASUREMENT_SEED, test_filter=f"{RUNS_MODULE}.{scenario}\\b")
    except Exception:
        if log_file.exists():
            print("\n".join(log_file.read_text().splitlines()[-40:]), file=sys.stderr)
        raise


def control_summary(rows: list[ResultRow], sim: str) -> str:
    transport = rows[0].transport
    out = ["", f"virtio_ep control plane: transport {transport} ({sim}, user_clk 250 MHz, cycles of 4 ns)"]
    for row in rows:
        out.append(f"  device {row.device}")
        out.append("    " + f"{'operation':14s}" + "".join(f"{h:>10s}" for h in OP_HEADERS))
        totals = [0.0] * len(OP_COLUMNS)
        for op in row.ops:
            vals = [op[c] for c in OP_COLUMNS]
            totals = [t + v for t, v in zip(totals, vals)]
            out.append("    " + f"{op['name']:14s}" + "".join(f"{v:10.0f}" for v in vals))
        out.append("    " + f"{'total':14s}" + "".join(f"{v:10.0f}" for v in totals))
        if row.applied_after is not None:
            out.append(f"    (no acknowledgement: the device applied DRIVER_OK {row.applied_after:.0f} cycles "
                       f"after the driver wrote it; the driver cannot know)")
        if row.failures:
            out.append("    failures of the stock (unpatched) driver:")
            out += [f"      - {f}" for f in row.failures]
    out += ["  reads/writes: host non-posted reads and posted writes (doorbells apart), counted at",
            "  the root complex model; cycles: simulated time of the operation; firmware: modelled",
            "  CPU cycles inside it. The root complex answers at once (no host latency added)."]
    if transport == "virtio-pci":
        out.append(f"  the patched driver waits poll period + {VIRTIO_PCI_SETTLE_MARGIN} cycles after every select and "
                   "status write")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="icarus", choices=simrun.SIMULATORS)
    ap.add_argument("--transport", default="async", choices=CHOICES)
    ap.add_argument("--waves", action="store_true", help="write an FST waveform")
    args = ap.parse_args(argv)
    simrun.BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        if args.transport == "echo":
            summary_file = simrun.BUILD_ROOT / f"demo-echo-{args.sim}.txt"
            summary_file.unlink(missing_ok=True)
            run_scenario(args.sim, "echo", "demo-echo", RunConfig(artifact=str(summary_file), sim=args.sim), args.waves)
            text = summary_file.read_text()
        else:
            results = simrun.BUILD_ROOT / f"control-{args.transport}-{args.sim}.jsonl"
            results.unlink(missing_ok=True)
            run_scenario(args.sim, "control_plane", f"demo-{args.transport}",
                         RunConfig(transport=args.transport, results=str(results)), args.waves)
            text = control_summary(ResultRow.read(results), args.sim)
            if args.transport == "virtio-pci":
                table = simrun.BUILD_ROOT / f"pci-wait-{args.sim}.txt"
                run_scenario(args.sim, "virtio_pci_select_wait", "demo-pci-wait", RunConfig(artifact=str(table)))
                text += ("\n  how long a driver must wait after a select write (polling firmware, measured):\n"
                         + "\n".join("    " + line for line in Path(table).read_text().splitlines()))
    except Exception as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        return 1
    print(text)
    print(f"\n  wall time {time.monotonic() - t0:.1f} s")
    if args.waves:
        print(f"  waveform under {simrun.BUILD_ROOT / args.sim} (make waves)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
