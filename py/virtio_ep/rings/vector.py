"""Vectorized split-ring processor (numpy): a whole batch of avail entries at once.

Given a host-memory image and the ring's addresses, `process_split` returns every chain of
the batch (descriptor buffers in CSR form), per-chain totals and errors, and the used-ring
updates, with the same validation and the same first error per chain as the scalar
reference (`SplitDevice.walk` with the same windows). Chains are walked in lock step: one
vector step per chain depth, never one Python iteration per descriptor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layout import DescFlag, SplitAvail, SplitDesc
from .memory import RingError
from .split import KNOWN_FLAGS

# one error code per reason the scalar reference can give (0: no error)
REASONS = ("", "index_range", "loop", "bad_flags", "nested_indirect", "bad_indirect", "zero_length",
           "address", "order")
CODE = {r: i for i, r in enumerate(REASONS)}

DESC_DTYPE = np.dtype({"names": ["addr", "len", "flags", "next"],
                       "formats": ["<u8", "<u4", "<u2", "<u2"],
                       "offsets": [SplitDesc.ADDR.offset, SplitDesc.LEN.offset, SplitDesc.FLAGS.offset,
                                   SplitDesc.NEXT.offset],
                       "itemsize": SplitDesc.SIZE})


@dataclass
class ChainBatch:
    heads: np.ndarray            # head index per chain
    errors: np.ndarray           # error code per chain (REASONS index)
    offsets: np.ndarray          # buffers of chain c: [offsets[c], offsets[c+1]) (empty on error)
    addrs: np.ndarray
    lens: np.ndarray
    writable: np.ndarray
    out_len: np.ndarray          # device-readable bytes per chain
    in_len: np.ndarray           # device-writable bytes per chain
    next_avail: int              # ring state after the batch
    used_ids: np.ndarray         # used-ring updates, in order: ids of the chains without error

    def reason(self, c: int) -> str:
        return REASONS[int(self.errors[c])]

    def buffers(self, c: int) -> list[tuple[int, int, bool]]:
        a, b = self.offsets[c], self.offsets[c + 1]
        return [(int(x), int(n), bool(w)) for x, n, w in zip(self.addrs[a:b], self.lens[a:b], self.writable[a:b])]


class MemoryImage:
    """Host memory as one byte array starting at `base` (what the device can read)."""

    def __init__(self, base: int, data: bytes | np.ndarray):
        self.base = base
        self.data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
        whole = len(self.data) // SplitDesc.SIZE * SplitDesc.SIZE
        self.aligned = self.data[:whole].view(DESC_DTYPE)          # descriptors at 16-byte offsets

    def contains(self, addr: np.ndarray, length: np.ndarray) -> np.ndarray:
        return (addr >= self.base) & (addr + length <= self.base + len(self.data))

    def descs(self, addr: np.ndarray) -> np.ndarray:
        """Descriptors at byte addresses `addr` (any alignment), gathered in one step."""
        off = (addr - self.base).astype(np.int64)
        if not (off % SplitDesc.SIZE).any():
            return self.aligned[off // SplitDesc.SIZE]
        idx = off[:, None] + np.arange(SplitDesc.SIZE)
        return self.data[idx].copy().view(DESC_DTYPE).reshape(-1)

    def u16(self, addr: np.ndarray) -> np.ndarray:
        idx = (addr - self.base).astype(np.int64)
        return self.data[idx].astype(np.uint16) | (self.data[idx + 1].astype(np.uint16) << 8)


def in_windows(addr: np.ndarray, length: np.ndarray, windows: list[tuple[int, int]] | None) -> np.ndarray:
    if windows is None:
        return np.ones(len(addr), dtype=bool)
    ok = np.zeros(len(addr), dtype=bool)
    end = addr + length
    for lo, hi in windows:
        ok |= (addr >= lo) & (end <= hi)
    return ok


def process_split(mem: MemoryImage, desc: int, avail: int, size: int, last_avail: int,
                  windows: list[tuple[int, int]] | None = None) -> ChainBatch:
    avail_idx = int(mem.u16(np.array([avail + SplitAvail.IDX.offset], dtype=np.uint64))[0])
    n = (avail_idx - last_avail) & 0xFFFF
    if n > size:
        raise RingError("avail_idx_jump", f"avail.idx moved {n} entries ahead on a ring of {size}")
    slots = (last_avail + np.arange(n, dtype=np.int64)) % size
    heads = mem.u16(np.uint64(avail + SplitAvail.RING) + (SplitAvail.ENTRY * slots).astype(np.uint64)).astype(np.int64)

    errors = np.zeros(n, dtype=np.int8)
    errors[heads >= size] = CODE["index_range"]
    active = errors == 0
    table = np.full(n, desc, dtype=np.uint64)      # current table address per chain
    tsize = np.full(n, size, dtype=np.int64)
    cur = heads.copy()
    seen = np.zeros(n, dtype=np.int64)
    indirect = np.zeros(n, dtype=bool)
    saw_write = np.zeros(n, dtype=bool)
    rec_chain, rec_addr, rec_len, rec_w = [], [], [], []

    def fail(idx: np.ndarray, mask: np.ndarray, reason: str) -> np.ndarray:
        bad = idx[mask & (errors[idx] == 0)]
        errors[bad] = CODE[reason]
        active[bad] = False
        return ~mask

    while active.any():
        c = np.flatnonzero(active)
        d = mem.descs(table[c] + (SplitDesc.SIZE * cur[c]).astype(np.uint64))
        addr, length = d["addr"], d["len"].astype(np.uint64)
        flags, nxt = d["flags"].astype(np.int64), d["next"].astype(np.int64)
        seen[c] += 1
        keep = fail(c, seen[c] > tsize[c], "loop")
        keep &= fail(c, (flags & ~KNOWN_FLAGS) != 0, "bad_flags")
        is_ind = ((flags & DescFlag.INDIRECT) != 0) & keep
        keep &= fail(c, is_ind & indirect[c], "nested_indirect")
        bad_ind = is_ind & (((flags & DescFlag.NEXT) != 0) | (length == 0) | (length % SplitDesc.SIZE != 0))
        keep &= fail(c, bad_ind & keep, "bad_indirect")
        ind_ok = is_ind & keep
        keep &= fail(c, ind_ok & ~(in_windows(addr, length, windows) & mem.contains(addr, length)), "address")
        switch = is_ind & keep
        s = c[switch]
        table[s], tsize[s], cur[s], seen[s], indirect[s] = addr[switch], (length[switch] // SplitDesc.SIZE).astype(np.int64), 0, 0, True
        plain = keep & ~is_ind
        keep &= fail(c, plain & (length == 0), "zero_length")
        keep &= fail(c, plain & keep & ~in_windows(addr, length, windows), "address")
        writable = (flags & DescFlag.WRITE) != 0
        keep &= fail(c, plain & keep & ~writable & saw_write[c], "order")
        rec = plain & keep
        rec_chain.append(c[rec])
        rec_addr.append(addr[rec])
        rec_len.append(length[rec])
        rec_w.append(writable[rec])
        saw_write[c[rec & writable]] = True
        more = rec & ((flags & DescFlag.NEXT) != 0)
        keep &= fail(c, more & (nxt >= tsize[c]), "index_range")
        done = rec & ~more
        active[c[done]] = False
        go = more & keep
        cur[c[go]] = nxt[go]

    chain_ids = np.concatenate(rec_chain) if rec_chain else np.zeros(0, dtype=np.int64)
    order = np.argsort(chain_ids, kind="stable")
    chain_ids = chain_ids[order]
    addrs = (np.concatenate(rec_addr) if rec_addr else np.zeros(0, dtype=np.uint64))[order]
    lens = (np.concatenate(rec_len) if rec_len else np.zeros(0, dtype=np.uint64))[order]
    wr = (np.concatenate(rec_w) if rec_w else np.zeros(0, dtype=bool))[order]
    good = errors[chain_ids] == 0                  # drop buffers recorded before a chain failed
    chain_ids, addrs, lens, wr = chain_ids[good], addrs[good], lens[good], wr[good]
    counts = np.bincount(chain_ids, minlength=n)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    out_len = np.bincount(chain_ids, weights=np.where(wr, 0, lens), minlength=n).astype(np.uint64)
    in_len = np.bincount(chain_ids, weights=np.where(wr, lens, 0), minlength=n).astype(np.uint64)
    return ChainBatch(heads, errors, offsets, addrs, lens, wr, out_len, in_len,
                      (last_avail + n) & 0xFFFF, heads[errors == 0])
