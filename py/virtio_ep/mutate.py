"""Mutation check (`make mutate`): small deliberate bugs in the RTL and the firmware, each run
against the tests that should catch it, on Icarus. A mutant is killed when one of its tests
fails (a failed assertion, or a wait's own timeout); it survives when they all pass. Each
mutant runs in its own copy of hdl/, py/ and tb/ under sim_build/mutants/, so the work tree
is never touched. Prints a table and writes it to sim_build/mutants/report.md; the last
run's table is kept in docs/verification.md by hand (it takes about 15 minutes).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import simrun
from .progress import run_parallel

REPO = simrun.REPO
WORK = simrun.BUILD_ROOT / "mutants"
MUTANT_TIMEOUT_S = 1200          # a mutant whose tests run longer than this counts as not killed


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str                    # repository-relative file
    find: str                    # exactly one occurrence
    replace: str
    kind: str                    # flipped condition, off-by-one, dropped write, lost MSI, skipped barrier
    tests: tuple[str, ...]       # pytest node ids (relative to the repository)


def soc(module: str) -> str:
    return f"tb/test_sim.py::test_module[{module}-icarus]"


LINUX_SPLIT_EVENT = "tb/test_linux_ring.py::test_linux_ring_in_process[net-split-True-False-2]"
LINUX_SPLIT = "tb/test_linux_ring.py::test_linux_ring_in_process[net-split-False-False-1]"
UML_SMOKE = "tb/test_uml.py::test_linux_through_the_rtl[icarus]"
LINUX_PACKED = "tb/test_linux_ring.py::test_linux_ring_in_process[net-packed-False-False-1]"

MUTATIONS = (
    # -- RTL ----------------------------------------------------------------------------------
    Mutation("dma-tag-freed-at-timeout", "hdl/ep_dma_rd.v", "tag_state[t] <= TAG_QUARANTINE;",
             "tag_state[t] <= TAG_FREE;", "flipped condition", ("tb/ep_dma",)),
    Mutation("dma-tag-freed-on-first-completion", "hdl/ep_dma_rd.v",
             "wire rc_release = rc_end && end_tag_ok && (end_req_done || !end_good);",
             "wire rc_release = rc_end && end_tag_ok;", "flipped condition", ("tb/ep_dma",)),
    Mutation("dma-timeout-event-dropped", "hdl/ep_dma_rd.v", "ev_timeout_reg <= |timeout_now;",
             "ev_timeout_reg <= 1'b0;", "dropped write", ("tb/ep_dma",)),
    Mutation("dma-tag-chosen-twice", "hdl/ep_dma_rd.v",
             "tag_free_but_issued[t] = tag_free[t] && free_tag_reg != t[TAG_W-1:0];",
             "tag_free_but_issued[t] = tag_free[t];", "flipped condition", ("tb/ep_dma",)),
    Mutation("dma-chunk-ignores-boundary", "hdl/ep_dma_chunk.v", "assign bytes = fewer ? remaining[12:0] : to_boundary;",
             "assign bytes = fewer ? remaining[12:0] : boundary;", "off-by-one", ("tb/ep_dma",)),
    Mutation("dma-first-byte-enable", "hdl/ep_dma_chunk.v", "wire [3:0] first_mask = 4'hf << addr[1:0];",
             "wire [3:0] first_mask = 4'hf;", "off-by-one", ("tb/ep_dma",)),
    Mutation("dma-pop-on-head-read", "hdl/ep_dma.v", "wire done_pop = wr && rb_offset == DMA_DONE_POP;",
             "wire done_pop = rd && rb_offset == DMA_DONE_HEAD;", "flipped condition", ("tb/ep_dma",)),
    Mutation("msi-mask-ignored", "hdl/ep_msi.v",
             "wire [31:0] sendable = pending_reg & send_ok_reg & ~msi_mask;",
             "wire [31:0] sendable = pending_reg & send_ok_reg;", "flipped condition",
             ("tb/ep_msi",)),
    Mutation("msi-no-timeout", "hdl/ep_msi.v", "(cfg_interrupt_msi_fail || timer_reg == TIMEOUT_CYCLES[TW-1:0]);",
             "(cfg_interrupt_msi_fail);", "lost MSI", ("tb/ep_msi",)),
    Mutation("msi-rerequest-in-flight-lost", "hdl/ep_msi.v",
             "pending_next[VECTORS-1:0] = pending_next[VECTORS-1:0] | set_now | release_now;",
             "pending_next[VECTORS-1:0] = pending_next[VECTORS-1:0] | (set_now & ~({VECTORS{busy_reg}} & "
             "cur_reg[VECTORS-1:0])) | release_now;", "lost MSI",
             ("tb/ep_msi",)),
    Mutation("msi-pending-read-late", "hdl/ep_msi.v", "MSI_PENDING: rdata_reg <= pending_read;",
             "MSI_PENDING: rdata_reg <= pending_reg;", "off-by-one", ("tb/ep_msi",)),
    Mutation("msi-pending-not-exported", "hdl/ep_msi.v",
             "pending_status_we_reg <= pending_reg != pending_status_reg;", "pending_status_we_reg <= 1'b0;",
             "dropped write", (soc("tb_msi"),)),
    Mutation("fifo-accepts-when-full", "hdl/ep_fifo.v", "assign in_ready = !full;", "assign in_ready = 1'b1;",
             "flipped condition", ("tb/ep_fifo",)),
    Mutation("doorbell-not-pending", "hdl/ep_doorbell.v", "        pending_next[db_slot[BIT_W-1:0]] = 1'b1;",
             "        pending_next[db_slot[BIT_W-1:0]] = db_slot[0];", "dropped write", ("tb/ep_doorbell",)),
    Mutation("doorbell-clear-inverted", "hdl/ep_doorbell.v",
             "pending_reg[word_index*32 +: 32] & ~rb_wdata;", "pending_reg[word_index*32 +: 32] & rb_wdata;",
             "flipped condition", ("tb/ep_doorbell",)),
    Mutation("cq-message-not-posted", "hdl/ep_cq_rx.v",
             "wire is_posted = is_mem_wr || req_type == REQ_MSG || req_type == REQ_MSG_VENDOR || req_type == REQ_MSG_ATS;",
             "wire is_posted = is_mem_wr;", "flipped condition", ("tb/ep_cq_rx",)),
    Mutation("cq-doorbell-not-staged", "hdl/ep_cq_rx.v",
             "if (a_single_reg || (write_beat && s_axis_cq_tlast && !first_beat)) begin",
             "if ((a_single_reg && !a_db_reg) || (write_beat && s_axis_cq_tlast && !first_beat)) begin",
             "dropped write", ("tb/ep_cq_rx",)),
    Mutation("cq-byte-count", "hdl/ep_cq_rx.v", "{11'd0, req_first_be_msb - req_first_byte} + 13'd1) :",
             "{11'd0, req_first_be_msb - req_first_byte} + 13'd2) :", "off-by-one", ("tb/ep_cq_rx",)),
    Mutation("cc-lower-address", "hdl/ep_cc_tx.v",
             "wire [6:0] cpl_lower_addr = (kind_reg == NP_KIND_UR) ? 7'd0 : cur_addr_reg[6:0];",
             "wire [6:0] cpl_lower_addr = (kind_reg == NP_KIND_UR) ? 7'd0 : {cur_addr_reg[6:2], 2'b00};",
             "off-by-one", ("tb/ep_cc_tx",)),
    Mutation("cc-split-boundary", "hdl/ep_cc_tx.v",
             "wire [12:0] np_cpl_bytes = (np_byte_count < np_to_boundary) ? np_byte_count : np_to_boundary;",
             "wire [12:0] np_cpl_bytes = (np_byte_count < np_to_boundary) ? np_byte_count : np_to_boundary + 13'd4;",
             "off-by-one", ("tb/ep_cc_tx",)),
    # -- firmware and ring code ---------------------------------------------------------------
    Mutation("fw-no-recheck-after-event-idx", "py/virtio_ep/firmware/datapath.py",
             "        return await self.pending() > 0", "        return False", "skipped barrier",
             (LINUX_SPLIT_EVENT, "tb/test_linux_ring.py::test_linux_ring_in_process[net-split-True-False-3]")),
    Mutation("fw-lost-msi", "py/virtio_ep/firmware/datapath.py",
             "        await self.cpu.request_msi(self.msi_vector)", "        pass", "lost MSI",
             (soc("tb_restable"),)),
    Mutation("split-used-idx-not-written", "py/virtio_ep/rings/split.py",
             '        await self.mem.write(self.ring.used + SplitUsed.IDX.offset, self.used_idx.to_bytes(2, "little"))',
             "        pass", "dropped write", (LINUX_SPLIT,)),
    Mutation("split-event-read-before-idx-write", "py/virtio_ep/rings/split.py",
             '        await self.want_notifications()\n'
             '        await self.mem.write(self.ring.used + SplitUsed.IDX.offset, self.used_idx.to_bytes(2, "little"))\n'
             '        old, self.signalled_used = self.signalled_used, self.used_idx\n'
             '        if self.event_idx:\n',
             '        await self.want_notifications()\n'
             '        early = u16(await self.mem.read(self.ring.used_event, 2))\n'
             '        await self.mem.write(self.ring.used + SplitUsed.IDX.offset, self.used_idx.to_bytes(2, "little"))\n'
             '        old, self.signalled_used = self.signalled_used, self.used_idx\n'
             '        if self.event_idx:\n'
             '            return need_event(early, self.used_idx, old)\n', "skipped barrier",
             ("tb/test_rings.py::test_used_event_read_after_used_idx_write", LINUX_SPLIT_EVENT)),
    # a disk that reads and writes one sector late agrees with itself: only the check of the
    # disk's contents against what Linux wrote (virtio_blk in UML) sees it
    Mutation("ramdisk-sector-shifted", "py/virtio_ep/firmware/backends.py",
             "        start = sector * BLK_SECTOR_SIZE\n", "        start = (sector + 1) * BLK_SECTOR_SIZE\n",
             "off-by-one", (UML_SMOKE,)),
    Mutation("ramdisk-writes-one-sector-late", "py/virtio_ep/firmware/backends.py",
             "        pos = self.base + start\n", "        pos = self.base + start + BLK_SECTOR_SIZE\n",
             "off-by-one", (UML_SMOKE,)),
    Mutation("driver-sleeps-without-look-again", "py/virtio_ep/host/queues.py",
             "            if more:\n", "            if False:\n", "skipped barrier",
             ("tb/test_rings.py::test_driver_looks_again_after_rearming",)),
    Mutation("need-event-off-by-one", "py/virtio_ep/rings/split.py",
             "    return ((new - event - 1) & IDX_MASK) < ((new - old) & IDX_MASK)",
             "    return ((new - event - 1) & IDX_MASK) <= ((new - old) & IDX_MASK)", "off-by-one",
             ("tb/test_rings.py::test_need_event_matches_virtio", "tb/test_rings.py::test_need_event_at_the_window_edges")),
    Mutation("avail-jump-not-checked", "py/virtio_ep/rings/split.py", "        if n > self.ring.size:",
             "        if n > 2 * self.ring.size:", "off-by-one", ("tb/test_rings.py",)),
    Mutation("packed-used-wrap-kept", "py/virtio_ep/rings/packed.py",
             "        if self.next_used >= self.ring.size:\n            self.next_used -= self.ring.size\n"
             "            self.used_wrap ^= 1",
             "        if self.next_used >= self.ring.size:\n            self.next_used -= self.ring.size",
             "flipped condition", (LINUX_PACKED,)),
    # -- standard virtio at its best, and the async mirror --------------------------------------
    Mutation("in-order-link-unchecked", "py/virtio_ep/rings/split.py",
             "            if self.in_order and not indirect and nxt != (i + 1) % size:",
             "            if False:", "flipped condition", ("tb/test_rings_best.py",)),
    Mutation("stale-notification-believed", "py/virtio_ep/rings/split.py",
             "        if ahead <= self.ring.size and (self.known_avail is None",
             "        if True or (self.known_avail is None", "flipped condition", ("tb/test_rings_best.py",)),
    Mutation("rx-not-prefetched", "py/virtio_ep/firmware/backends.py",
             '        if role == "rx" and q.prefetch:', "        if False:", "dropped write", (soc("tb_best"),)),
    Mutation("mirror-msi-before-its-writes", "py/virtio_ep/firmware/async_fw.py",
             '        """MSI 0, once every mirrored word before it has reached host memory."""\n'
             "        await self.page.settle()\n",
             '        """MSI 0, once every mirrored word before it has reached host memory."""\n',
             "skipped barrier", (soc("tb_mirror"),)),
)


def copy_tree(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sub in ("hdl", "py", "tb"):
        shutil.copytree(REPO / sub, dest / sub, ignore=ignore)
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")
    (dest / "sim_build").mkdir()
    linux = simrun.BUILD_ROOT / "linux"
    if linux.exists():                 # Linux's ring library: built once, shared
        (dest / "sim_build" / "linux").symlink_to(linux)


def mutated(root: Path, m: Mutation) -> str:
    """The mutated text of the file, or SystemExit when the mutation's text is not there once
    (the code moved on: the mutation must follow it)."""
    text = (root / m.path).read_text()
    if text.count(m.find) != 1:
        raise SystemExit(f"mutation {m.name}: {m.path} has {text.count(m.find)} occurrences of its text, not 1")
    return text.replace(m.find, m.replace)


def apply(dest: Path, m: Mutation) -> None:
    (dest / m.path).write_text(mutated(dest, m))


def run_tests(dest: Path, tests: tuple[str, ...]) -> tuple[bool, str, float]:
    """(all passed, the first failing test or the reason, seconds)."""
    env = dict(os.environ, SIM="icarus", PYTHONPATH=str(dest / "py"))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-rf", "-p", "no:cacheprovider", *tests]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True, timeout=MUTANT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return True, f"tests still running after {MUTANT_TIMEOUT_S} s", time.monotonic() - t0
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, re.M)
    if proc.returncode == 0:
        return True, "", time.monotonic() - t0
    return False, failed[0] if failed else proc.stdout.strip().splitlines()[-1], time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="mutations to run (default: all)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS") or 1), help="mutants tested at once")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    if args.names and len(chosen) != len(args.names):
        known = ", ".join(m.name for m in MUTATIONS)
        raise SystemExit(f"unknown mutation in {args.names}: use some of {known}")
    WORK.mkdir(parents=True, exist_ok=True)
    # the unmutated tree must pass the same tests, or a kill means nothing
    base = WORK / "baseline"
    copy_tree(base)
    tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
    ok, why, secs = run_tests(base, tests)
    if not ok:
        raise SystemExit(f"the unmutated tree fails its tests ({why}): fix that first")
    print(f"baseline: {len(tests)} test selections pass ({secs:.0f} s)", flush=True)
    def one(m: Mutation) -> tuple:
        dest = WORK / m.name
        copy_tree(dest)
        apply(dest, m)
        survived, why, secs = run_tests(dest, m.tests)
        print(f"{m.name:36s} {'SURVIVED' if survived else 'killed'} {secs:5.0f} s  {why}", flush=True)
        shutil.rmtree(dest)
        return m, survived, why, secs
    # each mutant in its own tree: independent, `jobs` at a time
    rows = run_parallel([functools.partial(one, m) for m in chosen], args.jobs, "mutants")
    killed = sum(not s for _, s, _, _ in rows)
    lines = ["| mutation | file | kind | result | killed by |", "|---|---|---|---|---|"]
    lines += [f"| {m.name} | `{m.path}` | {m.kind} | {'survived' if s else 'killed'} | {why or '-'} |"
              for m, s, why, _ in rows]
    lines.append("")
    lines.append(f"{killed} of {len(rows)} mutants killed ({100 * killed / len(rows):.0f} %), Icarus, "
                 f"{time.strftime('%Y-%m-%d')}.")
    (WORK / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
