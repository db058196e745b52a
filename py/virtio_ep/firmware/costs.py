"""Modelled CPU time of the firmware's operations (no simulator imports: the timing model
prices requests with the same numbers)."""

from __future__ import annotations

from dataclasses import dataclass


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
