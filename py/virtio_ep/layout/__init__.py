"""Every register offset, bit and ring structure of the project: the one source of truth,
split by subject. `from virtio_ep import layout` and `layout.NAME` reach every name; a
module may import from the subject module it needs instead.

  struct           Field: a little-endian structure field
  config           RTL build parameters, host latencies and their named settings
  endpoint         the endpoint's registers (host BARs, local bus, PCIe encodings): the
                   only input of the generated hdl/ep_regs.vh (verilog)
  virtio           virtio status, IDs, features, device config, request formats
  rings            split, packed and push ring structures, ring sizes and placement
  echo, virtio_pci, restable, async_transport, commands
                   each transport's pages and words
  vhost_user       the vhost-user protocol User-Mode Linux speaks (make linux)

The RTL does not restate these numbers: hdl/ep_regs.vh is generated
(`python -m virtio_ep.layout --verilog`) and a test fails when it is stale.
"""

# A re-exporting package: the subject modules define disjoint names (a test checks).
from .struct import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .endpoint import *  # noqa: F401,F403
from .virtio import *  # noqa: F401,F403
from .rings import *  # noqa: F401,F403
from .echo import *  # noqa: F401,F403
from .virtio_pci import *  # noqa: F401,F403
from .restable import *  # noqa: F401,F403
from .async_transport import *  # noqa: F401,F403
from .commands import *  # noqa: F401,F403
from .vhost_user import *  # noqa: F401,F403
from .verilog import VERILOG_HEADER_PATH, verilog_header  # noqa: F401

SUBJECTS = ("struct", "config", "endpoint", "virtio", "rings", "echo", "virtio_pci", "restable",
            "async_transport", "commands", "vhost_user")
