"""Vectorized packed-ring processor: every available chain from `next_avail` at once.

Same rules, same first error per chain as `PackedDevice.next_chain` (rings/packed.py).
A packed ring's chains are delimited by the descriptors themselves, so after a malformed
chain the start of the next one is unknown: the batch ends with the first chain in error
(the device then needs a reset anyway). Direct chains are contiguous, so they are checked
in one vector step; indirect tables in a second one.
"""

from __future__ import annotations

import numpy as np

from ..layout import DescFlag, PackedDesc
from .packed import KNOWN_FLAGS
from .vector import (CODE, ChainBatch, MemoryImage, build_batch, first_per_group, in_windows,
                     prior_in_group)

PACKED_DTYPE = np.dtype({"names": ["addr", "len", "id", "flags"],
                         "formats": ["<u8", "<u4", "<u2", "<u2"],
                         "offsets": [PackedDesc.ADDR.offset, PackedDesc.LEN.offset, PackedDesc.ID.offset,
                                     PackedDesc.FLAGS.offset],
                         "itemsize": PackedDesc.SIZE})


def buffer_errors(flags: np.ndarray, addr: np.ndarray, length: np.ndarray, group_start: np.ndarray,
                  windows) -> np.ndarray:
    """Error code per plain buffer (check_buffer's rules, in its order)."""
    writable = (flags & DescFlag.WRITE) != 0
    code = np.zeros(len(flags), dtype=np.int8)
    for bad, reason in ((prior_in_group(group_start, writable) & ~writable, "order"),
                        (~in_windows(addr, length, windows), "address"),
                        (length == 0, "zero_length")):          # last assigned wins: first rule first
        code[bad] = CODE[reason]
    return code


class WindowTooSmall(Exception):
    """The first `count` descriptors are all available and hold no whole chain: look at more."""


def process_packed(mem: MemoryImage, desc: int, size: int, next_avail: int, avail_wrap: int,
                   windows: list[tuple[int, int]] | None = None, count: int | None = None) -> ChainBatch:
    """`count`: look at the first `count` ring positions only (the image holds those); when
    all are available the batch ends with the last whole chain among them (the rest is the
    next batch's), and WindowTooSmall is raised if there is none."""
    count = size if count is None else min(count, size)
    pos = next_avail + np.arange(count, dtype=np.int64)
    wrap = (avail_wrap ^ (pos >= size)).astype(bool)
    d = mem.descs(np.uint64(desc) + (PackedDesc.SIZE * (pos % size)).astype(np.uint64), PACKED_DTYPE)
    flags, addr, length = d["flags"].astype(np.int64), d["addr"], d["len"].astype(np.uint64)
    avail = (((flags & DescFlag.AVAIL) != 0) == wrap) & (((flags & DescFlag.USED) != 0) != wrap)
    has_next = (flags & DescFlag.NEXT) != 0
    starts = np.ones(count, dtype=bool)
    starts[1:] = ~has_next[:-1]
    unavailable = np.flatnonzero(~avail)
    cutoff = int(unavailable[0]) if len(unavailable) else count
    if cutoff == count < size:              # the window ended, not the available chains
        whole = np.flatnonzero(~has_next)
        if not len(whole):
            raise WindowTooSmall(f"{count} available descriptors from {next_avail} hold no whole chain")
        cutoff = int(whole[-1]) + 1
    if cutoff == 0:
        return build_batch(0, np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64),
                           np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, bool), next_avail,
                           next_wrap=avail_wrap, desc_counts=np.zeros(0, np.int64))
    k = np.arange(cutoff)
    chain = np.cumsum(starts[:cutoff]) - 1
    n = int(chain[-1]) + 1
    head_pos = np.flatnonzero(starts[:cutoff])
    f, a, ln = flags[:cutoff], addr[:cutoff], length[:cutoff]

    # per-descriptor errors, in the scalar's check order
    code = np.zeros(cutoff, dtype=np.int8)
    indirect = (f & DescFlag.INDIRECT) != 0
    plain_code = buffer_errors(f, a, ln, head_pos[chain], windows)
    code[~indirect] = plain_code[~indirect]
    ind_bad = indirect & (~starts[:cutoff] | has_next[:cutoff] | (ln == 0) | (ln % PackedDesc.SIZE != 0))
    code[indirect & ~ind_bad & ~in_windows(a, ln, windows)] = CODE["address"]
    code[ind_bad] = CODE["bad_indirect"]
    code[(f & ~KNOWN_FLAGS) != 0] = CODE["bad_flags"]
    errors = first_per_group(chain, code, n)
    # a chain still open at the cut (next descriptor not available): bad_wrap
    if has_next[cutoff - 1] and not errors[n - 1]:
        errors[n - 1] = CODE["bad_wrap"]

    # indirect tables of the chains still good (a single descriptor each)
    ind_chain = np.flatnonzero((errors == 0) & indirect[head_pos])
    t_addr, t_len = a[head_pos[ind_chain]], ln[head_pos[ind_chain]]
    held = mem.require(t_addr, t_len)
    errors[ind_chain[~held]] = CODE["address"]
    ind_chain, t_addr, t_len = ind_chain[held], t_addr[held], t_len[held]
    per = (t_len // PackedDesc.SIZE).astype(np.int64)
    e_chain = np.repeat(ind_chain, per)
    first = np.repeat(np.cumsum(per) - per, per)
    e_pos = np.arange(len(e_chain)) - first
    e = mem.descs(np.repeat(t_addr, per) + (PackedDesc.SIZE * e_pos).astype(np.uint64), PACKED_DTYPE)
    ef, ea, el = e["flags"].astype(np.int64), e["addr"], e["len"].astype(np.uint64)
    e_code = buffer_errors(ef, ea, el, first, windows)
    e_code[(ef & DescFlag.INDIRECT) != 0] = CODE["nested_indirect"]
    e_code[(ef & ~KNOWN_FLAGS) != 0] = CODE["bad_flags"]
    ind_err = first_per_group(e_chain, e_code, n)
    errors = np.where(errors == 0, ind_err, errors)

    # the batch ends with the first chain in error
    bad = np.flatnonzero(errors)
    n = int(bad[0]) + 1 if len(bad) else n
    errors = errors[:n]
    ends = np.append(head_pos[1:], cutoff)[:n] - 1
    counts = ends - head_pos[:n] + 1
    ids = d["id"][:cutoff][np.minimum(ends, cutoff - 1)].astype(np.int64)
    direct = (k < (head_pos[n] if n < len(head_pos) else cutoff)) & ~indirect
    keep_e = e_chain < n
    chain_ids = np.concatenate((chain[direct], e_chain[keep_e]))
    order = np.argsort(chain_ids, kind="stable")
    buf_addr = np.concatenate((a[direct], ea[keep_e]))[order]
    buf_len = np.concatenate((ln[direct], el[keep_e]))[order]
    buf_w = np.concatenate(((f[direct] & DescFlag.WRITE) != 0, (ef[keep_e] & DescFlag.WRITE) != 0))[order]
    consumed = int(counts[errors == 0].sum()) if not len(bad) else int(head_pos[n - 1])
    new = next_avail + consumed
    return build_batch(n, ids, errors, chain_ids[order], buf_addr, buf_len, buf_w, new % size,
                       next_wrap=avail_wrap ^ ((new // size) & 1), desc_counts=counts)
