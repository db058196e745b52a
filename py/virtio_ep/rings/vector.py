"""Vectorized ring processing (numpy): a whole batch of available chains at once.

`process_split` (here), `process_packed` (vector_packed.py) and `process_push`
(vector_push.py) return every chain of a batch in CSR form (buffers of chain c at
[offsets[c], offsets[c+1])), per-chain totals and errors, the used-ring updates and the
next ring state, with the same validation and the same first error per chain as the
scalar reference (rings/split.py, packed.py, push.py with the same windows). Chains are
walked in lock step: one vector step per chain depth, never one Python iteration per
descriptor.

Memory is a `MemoryImage`: host-memory segments the caller already holds. Firmware builds
it from a few bulk DMA reads; when a chain leads into memory the image does not hold (an
indirect table), a `fetchable` image raises `NeedRanges` with every range the current
step needs, the caller reads them, adds them and runs the batch again (at most one extra
run per chain depth; processing is a pure function of the image).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..layout import DescFlag, SplitAvail, SplitDesc
from .memory import RingError
from .split import KNOWN_FLAGS

# one error code per reason the scalar references can give (0: no error)
REASONS = ("", "index_range", "loop", "bad_flags", "nested_indirect", "bad_indirect", "zero_length",
           "address", "order", "bad_wrap", "bad_id", "bad_length", "truncated_chain", "not_in_order")
CODE = {r: i for i, r in enumerate(REASONS)}

DESC_DTYPE = np.dtype({"names": ["addr", "len", "flags", "next"],
                       "formats": ["<u8", "<u4", "<u2", "<u2"],
                       "offsets": [SplitDesc.ADDR.offset, SplitDesc.LEN.offset, SplitDesc.FLAGS.offset,
                                   SplitDesc.NEXT.offset],
                       "itemsize": SplitDesc.SIZE})


@dataclass
class ChainBatch:
    heads: np.ndarray            # head index (split) or buffer id (packed, push) per chain
    errors: np.ndarray           # error code per chain (REASONS index)
    offsets: np.ndarray          # buffers of chain c: [offsets[c], offsets[c+1]) (empty on error)
    addrs: np.ndarray
    lens: np.ndarray
    writable: np.ndarray
    out_len: np.ndarray          # device-readable bytes per chain
    in_len: np.ndarray           # device-writable bytes per chain
    next_avail: int              # ring state after the batch
    used_ids: np.ndarray         # used-ring updates, in order: ids of the chains without error
    next_wrap: int = 0           # packed: the driver wrap counter after the batch
    desc_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # packed/push: slots per chain
    inline_off: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))   # push: payload offset or -1

    def reason(self, c: int) -> str:
        return REASONS[int(self.errors[c])]

    def buffers(self, c: int) -> list[tuple[int, int, bool]]:
        a, b = self.offsets[c], self.offsets[c + 1]
        return [(int(x), int(n), bool(w)) for x, n, w in zip(self.addrs[a:b], self.lens[a:b], self.writable[a:b])]


def build_batch(n: int, heads: np.ndarray, errors: np.ndarray, chain_ids: np.ndarray, addrs: np.ndarray,
                lens: np.ndarray, wr: np.ndarray, next_avail: int, **extra) -> ChainBatch:
    """CSR form of the recorded buffers (chain_ids sorted), dropping chains with errors."""
    good = errors[chain_ids] == 0
    chain_ids, addrs, lens, wr = chain_ids[good], addrs[good], lens[good], wr[good]
    counts = np.bincount(chain_ids, minlength=n)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    out_len = np.bincount(chain_ids, weights=np.where(wr, 0, lens), minlength=n).astype(np.uint64)
    in_len = np.bincount(chain_ids, weights=np.where(wr, lens, 0), minlength=n).astype(np.uint64)
    for key in ("inline_off",):
        if key in extra:
            extra[key] = extra[key][good]
    return ChainBatch(heads, errors, offsets, addrs, lens, wr, out_len, in_len, next_avail,
                      heads[errors == 0], **extra)


class NeedRanges(Exception):
    """The batch needs host memory the image does not hold: [(addr, length)]."""

    def __init__(self, ranges: list[tuple[int, int]]):
        super().__init__(f"{len(ranges)} range(s) of host memory not in the image")
        self.ranges = ranges


class MemoryImage:
    """Host memory segments [(base, bytes)] the processor may read. `fetchable`: memory not
    held is fetched by the caller (NeedRanges) instead of being an address error."""

    def __init__(self, base: int | None = None, data: bytes | None = None, fetchable: bool = False):
        self.fetchable = fetchable
        self.bases = np.zeros(0, dtype=np.uint64)
        self.lens = np.zeros(0, dtype=np.uint64)
        self.starts = np.zeros(0, dtype=np.int64)
        self.data = np.zeros(0, dtype=np.uint8)
        if base is not None:
            self.add(base, data)

    def add(self, base: int, data: bytes) -> None:
        """Hold `data` at host address `base` (placed so that 16-byte aligned host addresses
        are 16-byte aligned in the array: aligned descriptors gather as one view)."""
        pad = (base - len(self.data)) % SplitDesc.SIZE
        start = len(self.data) + pad
        self.data = np.concatenate((self.data, np.zeros(pad, dtype=np.uint8), np.frombuffer(bytes(data), dtype=np.uint8)))
        order = np.argsort(np.append(self.bases, np.uint64(base)), kind="stable")
        self.bases = np.append(self.bases, np.uint64(base))[order]
        self.lens = np.append(self.lens, np.uint64(len(data)))[order]
        self.starts = np.append(self.starts, start)[order]
        whole = len(self.data) // SplitDesc.SIZE * SplitDesc.SIZE
        self.aligned = self.data[:whole].view(DESC_DTYPE)

    def _locate(self, addr: np.ndarray, length: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(inside, array offset) per address range."""
        addr = np.asarray(addr, dtype=np.uint64)
        seg = np.searchsorted(self.bases, addr, side="right") - 1
        segc = np.clip(seg, 0, None)
        if not len(self.bases):
            return np.zeros(len(addr), dtype=bool), np.zeros(len(addr), dtype=np.int64)
        rel = addr - self.bases[segc]
        inside = (seg >= 0) & (rel + np.asarray(length, dtype=np.uint64) <= self.lens[segc])
        return inside, self.starts[segc] + rel.astype(np.int64)

    def contains(self, addr: np.ndarray, length: np.ndarray) -> np.ndarray:
        return self._locate(addr, length)[0]

    def require(self, addr: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Which ranges are held; with a fetchable image, missing ones raise NeedRanges."""
        inside = self.contains(addr, length)
        if self.fetchable and not inside.all():
            miss = sorted({(int(a), int(n)) for a, n in zip(np.asarray(addr)[~inside], np.asarray(length)[~inside])})
            raise NeedRanges(miss)
        return inside

    def descs(self, addr: np.ndarray, dtype: np.dtype = DESC_DTYPE) -> np.ndarray:
        """16-byte descriptors at byte addresses `addr` (any alignment), gathered in one step."""
        inside, off = self._locate(addr, SplitDesc.SIZE)
        if not inside.all():
            if self.fetchable:
                raise NeedRanges(sorted({(int(a), SplitDesc.SIZE) for a in np.asarray(addr)[~inside]}))
            bad = np.asarray(addr)[~inside][0]
            raise RingError("address", f"descriptor at 0x{int(bad):x} outside the memory image")
        if not (off % SplitDesc.SIZE).any():
            return self.aligned[off // SplitDesc.SIZE].view(dtype)
        idx = off[:, None] + np.arange(SplitDesc.SIZE)
        return self.data[idx].copy().view(dtype).reshape(-1)

    def u16(self, addr: np.ndarray) -> np.ndarray:
        inside, idx = self._locate(addr, 2)
        if not inside.all():
            raise RingError("address", "ring index outside the memory image")
        return self.data[idx].astype(np.uint16) | (self.data[idx + 1].astype(np.uint16) << 8)

    def bytes_at(self, addr: int, length: int) -> bytes:
        inside, off = self._locate(np.array([addr], dtype=np.uint64), length)
        if not inside[0]:
            raise RingError("address", f"0x{addr:x}+{length} outside the memory image")
        return self.data[off[0]:off[0] + length].tobytes()


def first_per_group(group: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """For items in order, the first non-zero code of each group 0..n-1 (0 if none)."""
    out = np.zeros(n, dtype=np.int8)
    hit = np.flatnonzero(codes)
    if len(hit):
        groups, first = np.unique(group[hit], return_index=True)
        out[groups] = codes[hit[first]]
    return out


def prior_in_group(group_start: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """Per item: is `flag` set on an earlier item of its group (`group_start`: first item's
    index per item)? One cumulative sum, no loop."""
    csum = np.concatenate(([0], np.cumsum(flag)))
    idx = np.arange(len(flag))
    return csum[idx] - csum[group_start] > 0


def in_windows(addr: np.ndarray, length: np.ndarray, windows: list[tuple[int, int]] | None) -> np.ndarray:
    if windows is None:
        return np.ones(len(addr), dtype=bool)
    ok = np.zeros(len(addr), dtype=bool)
    end = addr + length
    for lo, hi in windows:
        ok |= (addr >= lo) & (end <= hi)
    return ok


def process_split(mem: MemoryImage, desc: int, avail: int, size: int, last_avail: int,
                  windows: list[tuple[int, int]] | None = None, avail_idx: int | None = None) -> ChainBatch:
    """`avail_idx`: known from a notification (VIRTIO_F_NOTIFICATION_DATA), else read from the image."""
    if avail_idx is None:
        avail_idx = int(mem.u16(np.array([avail + SplitAvail.IDX.offset], dtype=np.uint64))[0])
    n = (avail_idx - last_avail) & 0xFFFF
    if n > size:
        raise RingError("avail_idx_jump", f"avail.idx moved {n} entries ahead on a ring of {size}")
    slots = (last_avail + np.arange(n, dtype=np.int64)) % size
    heads = mem.u16(np.uint64(avail + SplitAvail.RING) + (SplitAvail.ENTRY * slots).astype(np.uint64)).astype(np.int64)
    return walk_split(mem, desc, size, heads, windows, (last_avail + n) & 0xFFFF)


def process_split_in_order(mem: MemoryImage, desc: int, size: int, next_desc: int, last_avail: int, avail_idx: int,
                           windows: list[tuple[int, int]] | None = None, window: int | None = None) -> ChainBatch:
    """VIRTIO_F_IN_ORDER: the chains from `last_avail` to `avail_idx` lie one after another
    in the descriptor table from `next_desc` (each `next` the following entry), so their
    heads come from the table itself, never from the avail ring. `window`: how many
    entries from `next_desc` the image holds; if their chains end short of the batch, the
    rest of the table is asked for (NeedRanges). As packed, the batch ends with its first
    chain in error (the device then needs a reset). `next_avail` of the result is the next
    chain's head (ChainBatch.next_wrap unused)."""
    n = (avail_idx - last_avail) & 0xFFFF
    if n > size:
        raise RingError("avail_idx_jump", f"avail.idx moved {n} entries ahead on a ring of {size}")
    if n == 0:
        return walk_split(mem, desc, size, np.zeros(0, np.int64), windows, next_desc)
    count = size if window is None else min(window, size)
    pos = (next_desc + np.arange(count, dtype=np.int64)) % size
    d = mem.descs(np.uint64(desc) + (SplitDesc.SIZE * pos).astype(np.uint64))
    flags = d["flags"].astype(np.int64)
    ends = ((flags & DescFlag.NEXT) == 0) | ((flags & DescFlag.INDIRECT) != 0)
    last = np.flatnonzero(ends)
    if len(last) < n and count < size:
        raise NeedRanges([(desc, SplitDesc.SIZE * size)])       # the table (TableReads.widen reads what is missing)
    if len(last) < n:
        raise RingError("not_in_order", f"{n} chains made available, {len(last)} end in the table (in-order)")
    starts = np.concatenate(([0], last[:n - 1] + 1))
    batch = walk_split(mem, desc, size, pos[starts], windows, 0, in_order=True)
    bad = np.flatnonzero(batch.errors)
    n_kept = int(bad[0]) + 1 if len(bad) else n
    if n_kept < n:
        batch = walk_split(mem, desc, size, pos[starts[:n_kept]], windows, 0, in_order=True)
    batch.next_avail = int(pos[last[n_kept - 1]] + 1) % size
    return batch


def walk_split(mem: MemoryImage, desc: int, size: int, heads: np.ndarray, windows, next_avail: int,
               in_order: bool = False) -> ChainBatch:
    """Every chain from its head, in lock step (one vector step per chain depth); with
    `in_order`, a link in the ring's table must be to the following entry."""
    n = len(heads)
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
        keep &= fail(c, ind_ok & ~in_windows(addr, length, windows), "address")
        reach = ind_ok & keep
        held = np.ones(len(c), dtype=bool)
        held[reach] = mem.require(addr[reach], length[reach])
        keep &= fail(c, reach & ~held, "address")
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
        if in_order:
            keep &= fail(c, more & keep & ~indirect[c] & (nxt != (cur[c] + 1) % size), "not_in_order")
        done = rec & ~more
        active[c[done]] = False
        go = more & keep
        cur[c[go]] = nxt[go]

    chain_ids = np.concatenate(rec_chain) if rec_chain else np.zeros(0, dtype=np.int64)
    order = np.argsort(chain_ids, kind="stable")
    addrs = (np.concatenate(rec_addr) if rec_addr else np.zeros(0, dtype=np.uint64))[order]
    lens = (np.concatenate(rec_len) if rec_len else np.zeros(0, dtype=np.uint64))[order]
    wr = (np.concatenate(rec_w) if rec_w else np.zeros(0, dtype=bool))[order]
    return build_batch(n, heads, errors, chain_ids[order], addrs, lens, wr, next_avail)
