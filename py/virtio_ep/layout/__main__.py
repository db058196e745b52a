"""`python -m virtio_ep.layout --verilog` writes hdl/ep_regs.vh to standard output."""

import sys

from .verilog import main

raise SystemExit(main(sys.argv))
