"""Block testbench of ep_dma (front end, read engine, write engine, shared TLP output stage)
with its buffer RAM, on cocotbext-pcie's UltraScale+ core model and root complex:
round trips host -> buffer -> host over every length and alignment class across TLP and
4 KiB boundaries (guard bytes around every destination), the read engine's tags all in
flight, the descriptor queue's limit, and every error status (UR, bad descriptor, no bus
mastering, a read that never completes, a completion that comes after its timeout)."""

from __future__ import annotations

import logging
from dataclasses import replace

import cocotb
import pytest
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiStreamBus
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice

from virtio_ep import layout, simrun
from virtio_ep.host.pcie_host import set_max_read_request
from virtio_ep.layout import NO_LATENCY, DmaDir, DmaDone, DmaEngineStatus, DmaReg, DmaResult, host_profile
from virtio_ep.testbench import CLK_NS, rng_for_test
from virtio_ep.testbench.blocks import RegBus
from virtio_ep.testbench.pcie_model import RootComplexTap, apply_profile, host_latency, tlp_kind

GUARD = 16
DONE_TIMEOUT_CYCLES = 200_000


class TB:
    def __init__(self, dut, profile: str = "ideal"):
        self.dut = dut
        self.buf_size, self.tags = int(dut.BUF_SIZE.value), int(dut.TAGS.value)
        self.depth, self.timeout = int(dut.DESC_DEPTH.value), int(dut.TIMEOUT_CYCLES.value)
        self.bus = RegBus(dut)
        self.rng = rng_for_test()
        # the profile, its read jitter capped at a quarter of the engine's read timeout: the
        # smallest documented timeout (256 cycles, 1 us) is below the server profile's tail
        self.profile = host_profile(profile)
        cap = min(self.profile.read_jitter_cap_ns, self.timeout * CLK_NS // 4)
        self.profile = replace(self.profile, read_jitter_cap_ns=cap)
        self.rc = RootComplex()
        apply_profile(self.rc, self.profile)
        self.rc.max_read_request_size = 5       # the root port takes up to 4 KiB
        self.dev = UltraScalePlusPcieDevice(
            pcie_generation=3, pcie_link_width=8, user_clk_frequency=layout.USER_CLK_HZ, alignment="dword",
            max_payload_size=512, enable_client_tag=True, user_clk=dut.clk, user_reset=dut.rst,
            rq_bus=AxiStreamBus.from_prefix(dut, "m_axis_rq"), pcie_rq_seq_num0=dut.pcie_rq_seq_num0,
            pcie_rq_seq_num_vld0=dut.pcie_rq_seq_num_vld0, rc_bus=AxiStreamBus.from_prefix(dut, "s_axis_rc"),
            cfg_max_payload=dut.cfg_max_payload, cfg_max_read_req=dut.cfg_max_read_req,
            cfg_function_status=dut.cfg_function_status)
        for log in (self.dev.log, self.dev.rq_sink.log, self.dev.rc_source.log):
            log.setLevel(logging.WARNING)
        self.rc.log.setLevel(logging.ERROR)
        self.dev.functions[0].configure_bar(0, 4096)
        self.rc.make_port().connect(self.dev)
        self.region = self.function = None
        # the profile's jittered read latency (seeded), through the same tap as the system bench
        self.tap = RootComplexTap(self.rc)
        self.tap.delay = host_latency(self.rc, NO_LATENCY, self.profile, rng_for_test())
        self.completions: list[tuple[int, int]] = []      # (tag, bytes) of each completion sent down
        self.read_tags: list[int] = []                    # tags of the read requests, in order
        self.answered_tags: list[int] = []                # tags in the order their requests were answered
        self._asked: dict[int, int] = {}                  # tag -> bytes its current request asked for
        self.writes: list[int] = []                       # payload bytes of each write
        self.in_flight: set[int] = set()                  # tags of reads the host has not fully answered
        self.most_in_flight = 0
        self.tap.observers.append(self._observe)
        self.answer = self.rc.handle_tlp        # the host's answer (answer_late may delay it)

        async def arrive(tlp) -> None:          # requests as they reach the host, before its delay
            if tlp_kind(tlp) == "mem_read":
                self.read_tags.append(tlp.tag)
                self._asked[tlp.tag] = tlp.get_be_byte_count()
                self.in_flight.add(tlp.tag)
                self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
            await self.answer(tlp)
        self.rc.handle_tlp = arrive

    def _observe(self, direction: str, tlp) -> None:
        kind = tlp_kind(tlp)
        if direction == "down" and kind == "completion":
            self.completions.append((tlp.tag, len(tlp.data)))
            if tlp.byte_count == self._asked.get(tlp.tag):          # a request's first completion
                self.answered_tags.append(tlp.tag)
            if tlp.byte_count == len(tlp.data) or tlp.status != 0:  # its last
                self.in_flight.discard(tlp.tag)
        elif direction == "up" and kind == "mem_write":
            self.writes.append(len(tlp.data))

    def out_of_order(self) -> bool:
        """Whether some read was answered before one requested earlier."""
        return self.answered_tags != self.read_tags[:len(self.answered_tags)]

    async def start(self) -> None:
        await self.rc.enumerate()
        self.function = self.rc.find_device(self.dev.functions[0].pcie_id)
        await self.function.enable_device()
        await self.function.set_master()
        await set_max_read_request(self.function, self.profile.max_read_request)
        self.region = self.rc.mem_pool.alloc_region(1 << 20)
        await ClockCycles(self.dut.clk, 10)

    def host(self, offset: int) -> int:
        return self.region.get_absolute_address(offset)

    async def submit(self, host: int, local: int, length: int, direction: DmaDir, tag: int) -> None:
        for reg, value in ((DmaReg.HOST_LO, host & 0xFFFF_FFFF), (DmaReg.HOST_HI, host >> 32),
                           (DmaReg.LOCAL, local), (DmaReg.LENGTH, length)):
            await self.bus.write(reg, value)
        await self.bus.write(DmaReg.SUBMIT, tag << 16 | direction)

    async def done(self) -> tuple[int, DmaResult]:
        """The oldest completion (waits on irq_done, bounded)."""
        for _ in range(DONE_TIMEOUT_CYCLES // 64):
            # irq_done may still show the entry just popped: the head's VALID bit decides
            if int(self.dut.irq_done.value) and (head := await self.bus.read(DmaReg.DONE_HEAD)) & DmaDone.VALID:
                await self.bus.write(DmaReg.DONE_POP, 0)
                return head & DmaDone.TAG_MASK, DmaResult((head & DmaDone.STATUS_MASK) >> 16)
            await ClockCycles(self.dut.clk, 64)
        raise AssertionError(f"no DMA completion within {DONE_TIMEOUT_CYCLES} cycles")

    async def dma(self, host: int, local: int, length: int, direction: DmaDir, tag: int = 7) -> DmaResult:
        await self.submit(host, local, length, direction, tag)
        done_tag, result = await self.done()
        assert done_tag == tag, f"completion for tag {done_tag}, expected {tag}"
        return result


def cases(buf_size: int) -> list[tuple[int, int]]:
    """(length, offset) across dword, TLP (512 B) and 4 KiB boundaries, within the buffer."""
    lengths = [1, 2, 3, 4, 5, 7, 8, 31, 32, 33, 127, 128, 129, 511, 512, 513, 1000, 4095, 4096, 4097, 9000]
    return [(n, off) for n in lengths for off in (0, 1, 2, 3, 509, 4093) if off + n <= buf_size]


@cocotb.test()
@cocotb.parametrize(profile=["ideal", "server"])
async def round_trip_every_alignment(dut, profile: str):
    """Under the server profile every read comes back in 64-byte completions (RCB), reads
    on different tags complete out of order, and the engine's writes respect MPS 256: a tag
    freed on its first completion, or a piece placed at the wrong offset, shows in the
    data or the guard bytes."""
    tb = TB(dut, profile)
    await tb.start()
    rng = rng_for_test()
    src, dst = 0, 0x40000
    checked = 0
    for n, off in cases(tb.buf_size):
        data = bytes(rng.randrange(256) for _ in range(n))
        await tb.region.write(src + off, data)
        await tb.region.write(dst + off - GUARD, bytes([0xA5]) * (n + 2 * GUARD))
        assert await tb.dma(tb.host(src + off), off, n, DmaDir.READ) == DmaResult.OK, f"read {n} at {off}"
        assert await tb.dma(tb.host(dst + off), off, n, DmaDir.WRITE) == DmaResult.OK, f"write {n} at {off}"
        got = await tb.region.read(dst + off - GUARD, n + 2 * GUARD)
        assert got[GUARD:-GUARD] == data, f"{n} bytes at offset {off} came back different"
        assert got[:GUARD] == got[-GUARD:] == bytes([0xA5]) * GUARD, f"{n} bytes at offset {off}: guard bytes hit"
        checked += 1
    assert checked >= 40, f"only {checked} cases fit a {tb.buf_size}-byte buffer"
    assert await tb.bus.read(DmaReg.CNT_ERRORS) == 0
    largest = max(n for _, n in tb.completions)
    if tb.profile.split_at_rcb:
        assert largest <= tb.profile.rcb, f"a completion of {largest} bytes: the host should cut them at {tb.profile.rcb}"
    else:
        assert largest > tb.profile.rcb, f"no completion above {tb.profile.rcb} bytes: nothing was tested whole"
    assert max(tb.writes) <= tb.profile.max_payload, f"a {max(tb.writes)}-byte write, MPS {tb.profile.max_payload}"


@cocotb.test()
@cocotb.parametrize(profile=["ideal", "server"])
async def every_tag_in_flight(dut, profile: str):
    """A read of many requests with the host answering late: as many requests are in
    flight as there are tags (or requests), and the data still lands in place. Under the
    server profile the completions come back cut at 64 bytes and out of order across tags."""
    tb = TB(dut, profile)
    await tb.start()
    n = min(tb.buf_size, 16384)
    requests = -(-n // 512)
    await tb.region.write(0, bytes(range(256)) * (n // 256))
    handle = answer_late(tb, tb.timeout // 2)    # host memory answers late, within the read timeout
    await tb.submit(tb.host(0), 0, n, DmaDir.READ, 1)
    assert await tb.done() == (1, DmaResult.OK)
    most = tb.most_in_flight
    assert most == min(tb.tags, requests), f"at most {most} requests in flight, tags {tb.tags}, requests {requests}"
    if tb.profile.read_jitter_ns and min(tb.tags, requests) > 1:
        assert tb.out_of_order(), f"reads answered in request order ({tb.answered_tags[:8]} ...): nothing out of order was tested"
    elif not tb.profile.read_jitter_ns:
        assert not tb.out_of_order(), "the ideal host answered out of order"
    tb.answer = handle
    await tb.region.write(0x40000, bytes(n))
    assert await tb.dma(tb.host(0x40000), 0, n, DmaDir.WRITE) == DmaResult.OK
    assert await tb.region.read(0x40000, n) == bytes(range(256)) * (n // 256)


def answer_late(tb: TB, cycles: int):
    """Host memory answers every read `cycles` after it arrives (other TLPs at once);
    returns the handler to restore (tb.answer = ...)."""
    handle = tb.answer

    async def late(tlp):
        if tlp.fmt_type in (TlpType.MEM_READ, TlpType.MEM_READ_64):
            async def answer():
                await Timer(cycles * CLK_NS, "ns")
                await handle(tlp)
            cocotb.start_soon(answer())
        else:
            await handle(tlp)
    tb.answer = late
    return handle


@cocotb.test()
async def reads_overlap_across_descriptors(dut):
    """Read descriptors submitted back to back keep the link busy across their boundaries:
    the next descriptor's requests go out while the previous one's are unanswered (as many
    in flight as there are tags), each descriptor ends with its own tag, and every byte
    lands where its descriptor put it."""
    tb = TB(dut)
    await tb.start()
    size = min(1024, tb.buf_size // 4)               # two requests each at MRRS 512
    count = min(4, tb.depth, tb.buf_size // size)
    data = bytes(tb.rng.randrange(256) for _ in range(size * count))
    await tb.region.write(0, data)
    restore = answer_late(tb, tb.timeout // 4)
    for k in range(count):
        await tb.submit(tb.host(k * size), k * size, size, DmaDir.READ, 0x10 + k)
    done = sorted([await tb.done() for _ in range(count)])
    tb.answer = restore
    assert done == [(0x10 + k, DmaResult.OK) for k in range(count)], done
    requests = count * -(-size // 512)
    assert tb.most_in_flight == min(tb.tags, requests), \
        f"at most {tb.most_in_flight} reads in flight over {count} descriptors, tags {tb.tags}, requests {requests}"
    await tb.region.write(0x40000, bytes(size * count))
    assert await tb.dma(tb.host(0x40000), 0, size * count, DmaDir.WRITE) == DmaResult.OK
    assert await tb.region.read(0x40000, size * count) == data, "a descriptor's data landed in the wrong place"


@cocotb.test()
async def write_completes_beside_a_waiting_read(dut):
    """The write engine works while a read waits for the host: a write submitted after a
    slow read sends its data and ends first, reported by its own tag."""
    tb = TB(dut)
    await tb.start()
    half = min(512, tb.buf_size // 2)
    await tb.region.write(0, bytes([0x5A]) * half)
    restore = answer_late(tb, tb.timeout // 2)
    await tb.submit(tb.host(0), 0, half, DmaDir.READ, 1)
    await tb.submit(tb.host(0x40000), half, half, DmaDir.WRITE, 2)
    first, second = await tb.done(), await tb.done()
    tb.answer = restore
    assert (first, second) == ((2, DmaResult.OK), (1, DmaResult.OK)), \
        f"completions {first}, {second}: the write should end while the read waits"


async def timed(tb: TB, jobs: list[tuple[int, int, int, DmaDir]]) -> int:
    """Cycles from submitting `jobs` (host, local, length, direction) back to back until
    every one has ended OK (each with its own tag)."""
    t0 = cocotb.utils.get_sim_time("ns")
    for tag, (host, local, n, direction) in enumerate(jobs):
        await tb.submit(host, local, n, direction, tag)
    done = sorted([await tb.done() for _ in jobs])
    assert done == [(tag, DmaResult.OK) for tag in range(len(jobs))], done
    return round((cocotb.utils.get_sim_time("ns") - t0) / CLK_NS)


@cocotb.test()
async def reads_and_writes_stream_together(dut):
    """Writes queued ahead of reads of the same total length, all submitted together, take
    about as long as the longer direction alone: a read does not wait behind the writes
    (a descriptor queue per direction), and completions land in the buffer RAM on one
    port while the write engine reads it on the other (one queue, or one port shared,
    and the pair takes the sum)."""
    tb = TB(dut)
    await tb.start()
    n = min(16384, tb.buf_size // 2)
    pieces = max(1, min(4, tb.depth, n // 64))
    data, sent = (bytes(tb.rng.randrange(256) for _ in range(n)) for _ in range(2))
    await tb.region.write(0, data)
    await tb.region.write(0x20000, sent)
    assert await tb.dma(tb.host(0x20000), n, n, DmaDir.READ) == DmaResult.OK     # what the writes send
    step = n // pieces
    reads = [(tb.host(k * step), k * step, step, DmaDir.READ) for k in range(pieces)]
    writes = [(tb.host(0x40000 + k * step), n + k * step, step, DmaDir.WRITE) for k in range(pieces)]
    alone = max(await timed(tb, reads), await timed(tb, writes))
    both = await timed(tb, writes + reads)
    dut._log.info("%d B each way in %d descriptors: together %d cycles, the longer alone %d", n, pieces, both, alone)
    # the poll that notices a result runs every 64 cycles: that much slack besides 10%
    assert both <= alone * 1.1 + 64, \
        f"{n} B written and read together took {both} cycles, the longer direction alone {alone}"
    assert await tb.region.read(0x40000, n) == sent, "the writes sent other bytes"
    assert await tb.dma(tb.host(0x80000), 0, n, DmaDir.WRITE) == DmaResult.OK
    assert await tb.region.read(0x80000, n) == data, "the reads' data was damaged by the writes beside them"


DONE_FIFO_DEPTH = 16        # ep_dma's done FIFO


@cocotb.test()
async def descriptor_queue_limit(dut):
    """Descriptors submitted while nobody takes the completions: the done FIFO fills, the
    engine holds one more result, DESC_DEPTH wait in the write queue (the read queue stays
    free), and the next ones are refused and counted. Everything accepted completes, in order, with its tag."""
    tb = TB(dut)
    await tb.start()
    await tb.function.clear_master()                # every descriptor fails at once: NO_BUS_MASTER
    room = DONE_FIFO_DEPTH + 1 + tb.depth
    for tag in range(room + 2):
        await tb.submit(tb.host(0), 0, 64, DmaDir.WRITE, tag)
        await ClockCycles(dut.clk, 4)               # the engine takes what it can
    status = await tb.bus.read(DmaReg.STATUS)
    assert status & DmaEngineStatus.WRITE_FULL and status & DmaEngineStatus.DONE_FULL, f"status {status:#x}"
    assert not status & DmaEngineStatus.READ_FULL, f"status {status:#x}: full writes filled the read queue"
    assert status & DmaEngineStatus.QUEUED_MASK == tb.depth, f"status {status:#x}"
    # reading the head is a peek: only the POP write takes an entry
    peeks = [await tb.bus.read(DmaReg.DONE_HEAD) & DmaDone.TAG_MASK for _ in range(2)]
    assert peeks == [0, 0], f"two reads of DONE_HEAD gave tags {peeks}: a read popped the entry"
    done = [await tb.done() for _ in range(room)]
    assert [t for t, _ in done] == list(range(room)), done
    assert all(r == DmaResult.NO_BUS_MASTER for _, r in done), done
    await ReadOnly()
    assert not int(dut.irq_done.value), "a refused descriptor completed"
    await RisingEdge(dut.clk)
    assert await tb.bus.read(DmaReg.CNT_ERRORS) == room + 2


@cocotb.test()
async def results_ending_together_fill_the_done_fifo(dut):
    """Reads whose completions arrive together end in consecutive cycles while nobody takes
    the results: the one that finds the done FIFO's last slot free takes it, the others
    wait in the engine; then every tag comes out exactly once."""
    tb = TB(dut)
    await tb.start()
    held, handle = [], tb.answer

    async def hold(tlp):
        (held.append if tlp_kind(tlp) == "mem_read" else lambda t: cocotb.start_soon(handle(t)))(tlp)
    tb.answer = hold

    async def release_all() -> int:
        """Answer every held read at once, and any that follow, until none comes; how many
        were answered together the first time."""
        first = 0
        for _ in range(64):
            await ClockCycles(dut.clk, 200)
            if not held:
                return first
            first = first or len(held)
            for tlp in held:
                cocotb.start_soon(handle(tlp))
            held.clear()
        raise AssertionError("reads kept coming")

    tags = []
    for tag in range(DONE_FIFO_DEPTH - 1):          # one result at a time: all but one slot used
        await tb.submit(tb.host(4 * tag), 4 * tag, 4, DmaDir.READ, tag)
        tags.append(tag)
        await release_all()
    together = range(DONE_FIFO_DEPTH - 1, DONE_FIFO_DEPTH + 3)
    for tag in together:
        await tb.submit(tb.host(4 * tag), 4 * tag, 4, DmaDir.READ, tag)
        tags.append(tag)
    batch = await release_all()
    assert batch >= min(2, tb.tags), f"only {batch} reads were answered together"
    status = await tb.bus.read(DmaReg.STATUS)
    assert status & DmaEngineStatus.DONE_FULL, f"status {status:#x}: the done FIFO should be full"
    tb.answer = handle
    done = [await tb.done() for _ in tags]
    assert sorted(t for t, _ in done) == tags, f"results for tags {sorted(t for t, _ in done)}"
    assert all(r == DmaResult.OK for _, r in done), done


@cocotb.test()
async def error_statuses(dut):
    tb = TB(dut)
    await tb.start()
    # a read of an address no host memory backs: Unsupported Request
    assert await tb.dma(0x1_0000_0000_0000, 0, 64, DmaDir.READ) == DmaResult.UR
    # bad descriptors: nothing is sent
    rq0 = await tb.bus.read(DmaReg.CNT_RD_REQ)
    for host, local, n in ((tb.host(0), 0, 0), (tb.host(0), tb.buf_size - 4, 8), (tb.host(1), 2, 4),
                           (tb.host(0), 0, layout.DMA_MAX_LENGTH + 1)):
        assert await tb.dma(host, local, n, DmaDir.READ) == DmaResult.BAD_DESCRIPTOR, (host, local, n)
    assert await tb.bus.read(DmaReg.CNT_RD_REQ) == rq0
    # a read that is never answered times out; the engine works again afterwards
    dropped = []

    async def drop(tlp):
        dropped.append(tlp)
    for t in (TlpType.MEM_READ, TlpType.MEM_READ_64):
        tb.rc.register_rx_tlp_handler(t, drop)
    t0 = cocotb.utils.get_sim_time("ns")
    assert await tb.dma(tb.host(0), 0, 64, DmaDir.READ) == DmaResult.TIMEOUT
    waited = (cocotb.utils.get_sim_time("ns") - t0) / 4
    assert dropped and tb.timeout <= waited <= tb.timeout + 200, f"timed out after {waited:.0f} cycles"
    for t in (TlpType.MEM_READ, TlpType.MEM_READ_64):
        tb.rc.register_rx_tlp_handler(t, tb.rc.handle_mem_read_tlp)
    # the real core ends an unanswered request with its own completion timeout and frees
    # its tag; the core model never does, so the bench forgets the dropped request
    tb.dev.active_request = [None] * len(tb.dev.active_request)
    await tb.region.write(0, b"after the timeout")
    assert await tb.dma(tb.host(0), 0, 17, DmaDir.READ) == DmaResult.OK
    assert await tb.dma(tb.host(0x100), 0, 17, DmaDir.WRITE) == DmaResult.OK
    assert await tb.region.read(0x100, 17) == b"after the timeout"


@cocotb.test()
async def late_completion_after_timeout(dut):
    """A read answered only after its timeout (within the tag's quarantine): the DMA ends
    TIMEOUT, the late completion is dropped (its bytes never reach the buffer), and the next
    read, on another tag or on the same one once free, brings its own data."""
    tb = TB(dut)
    await tb.start()
    await tb.region.write(0x0000, b"\x11" * 64)        # what the late completion carries
    await tb.region.write(0x1000, b"\x33" * 64)        # the buffer's contents before
    await tb.region.write(0x2000, b"\x22" * 64)        # what the next read must bring
    assert await tb.dma(tb.host(0x1000), 0, 64, DmaDir.READ) == DmaResult.OK
    handle, held = tb.rc.handle_tlp, []

    async def hold(tlp):                                # the first read request is held back
        if tlp.fmt_type in (TlpType.MEM_READ, TlpType.MEM_READ_64) and not held:
            held.append(tlp)
        else:
            await handle(tlp)
    tb.rc.handle_tlp = hold
    assert await tb.dma(tb.host(0), 0, 64, DmaDir.READ) == DmaResult.TIMEOUT
    cpl0 = await tb.bus.read(DmaReg.CNT_CPL)
    # the next read is submitted first: a tag freed at the timeout would be reused now (the
    # core model then stops on "active tag reused", or the late data lands as this read's)
    await tb.submit(tb.host(0x2000), 64, 64, DmaDir.READ, 8)
    await handle(held[0])                               # now answered: after the timeout
    for _ in range(tb.timeout // 16):                   # until the core delivered it to the engine
        if await tb.bus.read(DmaReg.CNT_CPL) > cpl0:
            break
        await ClockCycles(dut.clk, 16)
    assert await tb.bus.read(DmaReg.CNT_CPL) > cpl0, "the late completion never reached the engine"
    assert await tb.done() == (8, DmaResult.OK)
    assert await tb.dma(tb.host(0x3000), 0, 128, DmaDir.WRITE) == DmaResult.OK
    got = await tb.region.read(0x3000, 128)
    assert got[:64] == b"\x33" * 64, f"the late completion was written into the buffer: {got[:64].hex()}"
    assert got[64:] == b"\x22" * 64, f"the next read brought {got[64:].hex()}"


TOPLEVEL, HARNESS = "ep_dma_harness", ("ep_dma_harness.v",)
POINTS = [{"BUF_SIZE": buf, "TAGS": tags, "DESC_DEPTH": depth, "TIMEOUT_CYCLES": timeout}
          for buf, tags, depth, timeout in ((256, 1, 2, 256), (16384, 32, 4, 4096), (1 << 21, 16, 16, 1024))]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
@pytest.mark.parametrize("params", POINTS, ids=simrun.point_id)
def test_ep_dma(sim: str, params: dict[str, int]) -> None:
    simrun.run_block(sim, __file__, TOPLEVEL, params, harness=HARNESS)
