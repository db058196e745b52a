"""The simulation side of the project (needs cocotb and its bus models): the bench around
virtio_ep_top, its monitors, and the extensions of the PCIe models.

  pcie_model   the root-complex tap (observers, injected latency), FLR and hot reset
  monitors     TLP counter, port monitor, per-operation recorder
  endpoint     EndpointTb: the bench every system test builds
  blocks       helpers of the block benches (tb/<module>/): clock, reset, register bus
"""

from .endpoint import CLK_NS, EndpointTb, rerun_note, rng_for_test  # noqa: F401
from .monitors import OpRecorder, OpStats, PortMonitor, TlpCounter, TlpRecord  # noqa: F401
from .pcie_model import inject_request, tlp_kind  # noqa: F401
