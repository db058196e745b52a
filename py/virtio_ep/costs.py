"""What the firmware's operations cost and how many it did: the one vocabulary the
firmware (which counts) and the timing model (which prices) share. A leaf module: it
imports neither, so neither imports the other."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class FirmwareCosts:
    """Cycles of modelled CPU work per firmware operation (bus cycles are extra, real)."""

    irq_entry: int = 24        # exception entry and context save, to the first handler instruction
    irq_exit: int = 12         # context restore and return
    doorbell_dispatch: int = 6 # decode one pending slot and call its handler
    msi_request: int = 2       # compute the vector before writing MSI REQUEST
    per_word_copy: int = 1     # loop overhead per 32-bit word copied through the window
    control_decode: int = 16   # decode a control-plane request (status word, transitions)
    features_check: int = 8    # compare 128-bit driver features with the offer
    queue_validate: int = 12   # check one queue's size, mode and addresses
    mailbox_op: int = 20       # dispatch one mailbox request
    poll_iteration: int = 10   # bookkeeping of one polling pass (polling firmware only)

    def scaled(self, k: int) -> "FirmwareCosts":
        """Every cost times `k` (HostLatencies.firmware_cost_scale)."""
        return FirmwareCosts(**{f.name: getattr(self, f.name) * k for f in fields(self)})


@dataclass
class OpCounts:
    """What the firmware did, primitive by primitive (SoftCpu counts into it when set).
    DMA transfers count as one primitive each (their bus accesses are inside)."""

    reads: int = 0                  # local-bus word reads
    writes: int = 0                 # local-bus write calls
    write_words: int = 0            # words those writes carried
    compute: int = 0                # modelled CPU cycles
    dma_reads: list[int] = field(default_factory=list)    # bytes per DMA read
    dma_writes: list[int] = field(default_factory=list)
    # DMAs in flight together, in submit order, each group waited for as a whole: (direction, bytes)
    dma_groups: list[tuple[tuple[str, int], ...]] = field(default_factory=list)
    at_msi: list["OpCounts"] = field(default_factory=list)  # snapshot at each MSI request

    def mark_msi(self) -> None:
        snap = copy.deepcopy(self)
        snap.at_msi = []
        self.at_msi.append(snap)
