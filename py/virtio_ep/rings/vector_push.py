"""Vectorized push-ring processor: every chain between the consumer and producer indices.

The ring is the device's own memory (BAR0), so the input is the raw slot area as bytes.
Same rules, same first error per chain as `PushDevice` (rings/push.py): with
self-doorbelling, only chains whose last slot has arrived are taken; otherwise a chain
still open at the producer index is `truncated_chain`. Chains are delimited by the slots'
NEXT flags, so the batch ends with the first chain in error.
"""

from __future__ import annotations

import numpy as np

from ..layout import PUSH_INLINE_MAX, PushEntry, PushFlag
from .memory import RingError
from .split import IDX_MASK
from .vector import CODE, ChainBatch, build_batch, first_per_group

SLOT_DTYPE = np.dtype({"names": ["id", "flags", "len", "addr"],
                       "formats": ["<u2", "<u2", "<u4", "<u8"],
                       "offsets": [PushEntry.ID.offset, PushEntry.FLAGS.offset, PushEntry.LEN.offset,
                                   PushEntry.ADDR.offset],
                       "itemsize": PushEntry.SIZE})
KNOWN = int(PushFlag.NEXT | PushFlag.WRITE | PushFlag.INLINE)


def empty(cons: int) -> ChainBatch:
    z = np.zeros(0, dtype=np.int64)
    return build_batch(0, z, np.zeros(0, np.int8), z, np.zeros(0, np.uint64), np.zeros(0, np.uint64),
                       np.zeros(0, bool), cons, desc_counts=z, inline_off=z)


def process_push(area: bytes, slots: int, cons: int, prod: int, self_doorbell: bool = False,
                 inline_max: int = PUSH_INLINE_MAX) -> ChainBatch:
    """`area`: the ring's slots (slots x PushEntry.SIZE bytes); `cons`/`prod`: 16-bit indices.
    Inline payloads are returned as offsets into `area` (`inline_off`, -1 for none)."""
    ring = np.frombuffer(area, dtype=np.uint8)[:slots * PushEntry.SIZE].view(SLOT_DTYPE)
    ahead = (prod - cons) & IDX_MASK
    if ahead > slots:
        raise RingError("producer_jump", f"producer index {prod} is {ahead} slots ahead on a ring of {slots}")
    pos = (cons + np.arange(ahead, dtype=np.int64)) % slots
    s = ring[pos]
    flags, length, ids = s["flags"].astype(np.int64), s["len"].astype(np.int64), s["id"].astype(np.int64)
    has_next = (flags & PushFlag.NEXT) != 0
    if self_doorbell:                        # only complete chains: up to the last slot without NEXT
        closed = np.flatnonzero(~has_next)
        ahead = int(closed[-1]) + 1 if len(closed) else 0
    if not ahead:
        return empty(cons)
    pos, flags, length, ids, has_next = pos[:ahead], flags[:ahead], length[:ahead], ids[:ahead], has_next[:ahead]
    starts = np.ones(ahead, dtype=bool)
    starts[1:] = ~has_next[:-1]
    chain = np.cumsum(starts) - 1
    n = int(chain[-1]) + 1
    head_pos = np.flatnonzero(starts)
    inline = (flags & PushFlag.INLINE) != 0
    code = np.zeros(ahead, dtype=np.int8)
    code[inline & (length > inline_max)] = CODE["bad_length"]
    code[length == 0] = CODE["zero_length"]
    code[((flags & ~KNOWN) != 0) | (inline & ((flags & PushFlag.WRITE) != 0))] = CODE["bad_flags"]
    code[ids != ids[head_pos[chain]]] = CODE["bad_id"]
    errors = first_per_group(chain, code, n)
    if has_next[-1] and not errors[-1]:
        errors[-1] = CODE["truncated_chain"]
    bad = np.flatnonzero(errors)
    n = int(bad[0]) + 1 if len(bad) else n
    errors = errors[:n]
    ends = np.append(head_pos[1:], ahead)[:n]
    counts = ends - head_pos[:n]
    member = chain < n
    consumed = int(ends[-1]) if not len(bad) else int(head_pos[n - 1])
    return build_batch(n, ids[head_pos[:n]], errors, chain[member], np.where(inline, 0, s["addr"][:ahead])[member],
                       length[member].astype(np.uint64), ((flags & PushFlag.WRITE) != 0)[member],
                       (cons + consumed) & IDX_MASK, desc_counts=counts,
                       inline_off=np.where(inline, pos * PushEntry.SIZE + PushEntry.INLINE, -1)[member])
