"""The soft CPU: device-side firmware model.

It does only what a CPU on the endpoint's local bus could do: AXI4-Lite reads and
writes (through cocotbext-axi), waiting on the ``irq`` line, and spending modelled
compute time. Software time is explicit: every firmware step costs a named number
of clock cycles (FirmwareCosts), so a timing result separates bus time (real RTL
cycles) from firmware time (these costs).
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

import cocotb
from cocotb.triggers import ClockCycles, Event, First, Lock, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteMaster
from cocotbext.axi.constants import AxiResp

from ..costs import FirmwareCosts, OpCounts
from ..layout import (AXIL_DATA_WIDTH, Csr, DbReg, DB_SLOT_STRIDE, DmaDir, DmaDone, DmaEngineStatus,
                      DmaReg, DmaResult, IntSource, MsiModerate, MsiReg, Region, ResetEventBit, USER_CLK_HZ)

WORD_BYTES = AXIL_DATA_WIDTH // 8
CLK_PERIOD_NS = 1e9 / USER_CLK_HZ
LONG_WAIT = 256                     # cycles above which a wait sleeps on a timer
# a doorbell handler (slot, value) returns True when it stopped with work left for another turn
DoorbellHandler = Callable[[int, int], Awaitable["bool | None"]]
AUTO_TAG0 = 0x8000                  # tags the firmware picks itself: 0x8000-0xFFFF (below: callers')


class BusError(Exception):
    """An AXI4-Lite access answered SLVERR/DECERR."""


class EndpointReset(BusError):
    """The endpoint's logic was reset under the firmware (hot reset, link down): an access
    in flight was flushed, or a wait ended with the reset event pending. Whatever the
    firmware was doing for the host is void; it acknowledges and sets up again."""


class FirmwareTimeout(TimeoutError):
    pass


class SoftCpu:
    def __init__(self, clk, irq, bus: AxiLiteMaster, costs: FirmwareCosts = FirmwareCosts(),
                 log: logging.Logger | None = None, wake_ns: int = 0):
        """`wake_ns`: time from irq to the handler running when the CPU was asleep, beyond
        costs.irq_entry (HostLatencies.firmware_wake_ns)."""
        self.clk = clk
        self.irq = irq
        self.bus = bus
        self.costs = costs
        self.wake_ns = wake_ns
        self.log = log or logging.getLogger("cocotb.firmware")
        self.busy_cycles = 0          # modelled compute cycles spent so far
        # where the firmware's time goes, counted always (the load bench's cycle budget):
        self.bus_reads = 0            # local-bus word reads, outside DMA waits
        self.bus_write_words = 0      # words of local-bus writes, outside DMA waits
        self.dmas = 0                 # DMA descriptors submitted
        self.dma_wait_ns = 0.0        # time spent waiting for DMA results (dma_wait; its polling included)
        self.dma_waits = 0            # waits for DMA results that found one not yet ended (the CPU stalled)
        self.dma_sleeps = 0           # of those, the ones that slept until irq (each costs wake_ns)
        self.waits_slept = 0          # of those, the ones that slept at least once
        self.wakes = 0                # turns of the doorbell loop (one per interrupt, or per backlog turn)
        self._waiting_dma = False
        self.ops: OpCounts | None = None   # when set, every primitive is counted there (timing model)
        self._in_dma = 0
        self._outstanding: dict[int, tuple[str, int]] = {}   # tag -> (direction, bytes) submitted, not reaped
        self._results: dict[int, DmaResult] = {}             # tag -> result reaped, not yet claimed
        self._group: list[tuple[str, int]] = []              # DMAs in flight together (timing model)
        self._next_tag = AUTO_TAG0
        # The DMA engine's multi-register sequences (a descriptor's five writes, DONE_HEAD read
        # then popped) are atomic, as firmware masks interrupts around them: a handler (the
        # device changing its config, say) that submits in between would mix two descriptors.
        self._dma_regs = Lock()
        self.endpoint_resets = 0      # resets of the endpoint's logic seen by service_doorbells
        self.awake_ns = 0.0           # time the doorbell loop spent handling (not asleep): firmware busy time
        self.asleep = Event()         # set while the doorbell loop waits for work
        self._woke_at: float | None = None     # when the doorbell loop woke, while it is awake
        self.reset_armed = False      # a reset event was acknowledged: a new one means a reset
        self.dma_buf_size: int | None = None   # build parameter, read at boot (read_build_parameters)
        self.bar0_size: int | None = None
        # when a list, what the CPU did, in time order (make trace): (ns, "turn" / "turn end" /
        # "submit read" / "submit write" / "wait" / "slept", value: `turn_probe()` at a turn's
        # start and end, a submit's bytes, a wait's cycles, the times the wait before slept)
        self.timeline: list[tuple[float, str, float]] | None = None
        self.turn_probe: Callable[[], float] = lambda: 0.0

    def awake_now_ns(self) -> float:
        """awake_ns including the wake in progress (a window may end while the CPU works)."""
        return self.awake_ns + (get_sim_time("ns") - self._woke_at if self._woke_at is not None else 0.0)

    # -- primitive operations ---------------------------------------------------

    async def compute(self, cycles: int) -> None:
        """Spend `cycles` of modelled CPU time."""
        if cycles > 0:
            self.busy_cycles += cycles
            if self.ops is not None and not self._in_dma:
                self.ops.compute += cycles
            await self._cycles(cycles)

    async def sleep(self, cycles: int, until: Event | None = None) -> None:
        """Idle time (a timer wait): not counted as busy. A set `until` ends it early (a
        stop request need not wait out a long polling period in simulation)."""
        if cycles <= 0:
            return
        if until is None:
            await self._cycles(cycles)
        elif not until.is_set():
            timer = cocotb.start_soon(self._cycles(cycles))
            await First(timer, until.wait())
            timer.cancel()                  # a no-op once the timer has run out

    async def _cycles(self, cycles: int) -> None:
        """`cycles` rising edges from now. Long waits sleep on a timer to half a cycle before
        the last edge (no Python callback per clock), then take that edge."""
        if cycles <= LONG_WAIT:
            await ClockCycles(self.clk, cycles)
            return
        await Timer(round((cycles - 0.5) * CLK_PERIOD_NS * 1000), "ps")
        await RisingEdge(self.clk)

    async def read32(self, addr: int) -> int:
        self.bus_reads += not self._waiting_dma
        if self.ops is not None and not self._in_dma:
            self.ops.reads += 1
        r = await self.bus.read(addr, WORD_BYTES)
        if r is None:                   # the bus master flushes what was in flight at a reset
            raise EndpointReset(f"local-bus read at 0x{addr:05x} lost to an endpoint reset")
        if r.resp != AxiResp.OKAY:
            raise BusError(f"local-bus read at 0x{addr:05x} answered {AxiResp(r.resp).name}")
        return int.from_bytes(r.data, "little")

    async def write32(self, addr: int, value: int) -> None:
        await self.write_bytes(addr, (value & 0xFFFF_FFFF).to_bytes(WORD_BYTES, "little"))

    async def write_bytes(self, addr: int, data: bytes) -> None:
        """Write any number of bytes at any alignment (byte strobes on the bus)."""
        words = (addr % WORD_BYTES + len(data) + WORD_BYTES - 1) // WORD_BYTES
        if not self._waiting_dma:
            self.bus_write_words += words
        if self.ops is not None and not self._in_dma:
            self.ops.writes += 1
            self.ops.write_words += words
        r = await self.bus.write(addr, data)
        if r is None:
            raise EndpointReset(f"local-bus write at 0x{addr:05x} lost to an endpoint reset")
        if r.resp != AxiResp.OKAY:
            raise BusError(f"local-bus write of {len(data)} bytes at 0x{addr:05x} answered {AxiResp(r.resp).name}")

    async def read_bytes(self, addr: int, length: int) -> bytes:
        """Read any span with whole-word bus reads (the window is word addressed)."""
        start = addr & ~(WORD_BYTES - 1)
        end = (addr + length + WORD_BYTES - 1) & ~(WORD_BYTES - 1)
        out = bytearray()
        for a in range(start, end, WORD_BYTES):
            out += (await self.read32(a)).to_bytes(WORD_BYTES, "little")
            await self.compute(self.costs.per_word_copy)
        return bytes(out[addr - start:addr - start + length])

    # -- endpoint blocks -----------------------------------------------------------

    async def csr(self, reg: Csr) -> int:
        return await self.read32(Region.CSR + reg)

    async def read_sram(self, offset: int, length: int) -> bytes:
        return await self.read_bytes(Region.SRAM_WINDOW + offset, length)

    async def read_sram_u32(self, offset: int) -> int:
        return await self.read32(Region.SRAM_WINDOW + offset)

    async def write_sram_u32(self, offset: int, value: int) -> None:
        await self.write32(Region.SRAM_WINDOW + offset, value)

    async def read_sram_int(self, offset: int, size: int) -> int:
        return int.from_bytes(await self.read_sram(offset, size), "little")

    async def write_sram(self, offset: int, data: bytes) -> None:
        await self.write_bytes(Region.SRAM_WINDOW + offset, data)
        await self.compute(self.costs.per_word_copy * ((len(data) + WORD_BYTES - 1) // WORD_BYTES))

    async def enable_interrupts(self, sources: IntSource) -> None:
        """Write INT_ENABLE and read it back: irq follows one cycle after the write, so a
        source just disabled (the reset's, at start) cannot wake the next wait."""
        await self.write32(Region.CSR + Csr.INT_ENABLE, int(sources))
        await self.read32(Region.CSR + Csr.INT_ENABLE)

    async def request_msi(self, vector: int) -> None:
        await self.compute(self.costs.msi_request)
        await self.write32(Region.MSI + MsiReg.REQUEST, vector)
        if self.ops is not None:
            self.ops.mark_msi()

    async def moderate_msi(self, vector: int, count: int, time_cycles: int) -> None:
        """Hold the vector's requests: one MSI `time_cycles` after the first held, or once
        `count` are held (0: the timer only); time 0 sends every request at once."""
        if not 0 <= count <= MsiModerate.COUNT_MASK or not 0 <= time_cycles <= MsiModerate.TIME_MASK >> MsiModerate.TIME_SHIFT:
            raise ValueError(f"MSI moderation count {count} (0 to {int(MsiModerate.COUNT_MASK)}) or "
                             f"time {time_cycles} cycles (0 to {MsiModerate.TIME_MASK >> MsiModerate.TIME_SHIFT}) out of range")
        await self.write32(Region.MSI + MsiReg.MODERATE_SELECT, vector)
        await self.write32(Region.MSI + MsiReg.MODERATE, time_cycles << MsiModerate.TIME_SHIFT | count)

    async def msi_reg(self, reg: MsiReg) -> int:
        return await self.read32(Region.MSI + reg)

    async def db_reg(self, reg: DbReg) -> int:
        return await self.read32(Region.DOORBELL + reg)

    async def take_doorbells(self, slots: int) -> list[tuple[int, int]]:
        """Read the pending bitmap and TAKE every pending slot: [(slot, value)] in slot order."""
        taken: list[tuple[int, int]] = []
        for word in range((slots + 31) // 32):
            bits = await self.read32(Region.DOORBELL + DbReg.PENDING + WORD_BYTES * word)
            while bits:
                low = bits & -bits
                slot = word * 32 + low.bit_length() - 1
                bits ^= low
                value = await self.read32(Region.DOORBELL + DbReg.TAKE + DB_SLOT_STRIDE * slot)
                taken.append((slot, value))
        return taken

    async def pop_doorbell_fifo(self) -> tuple[int, int] | None:
        """Oldest (slot, value) of the ordered FIFO, removed; None if empty."""
        head = await self.read32(Region.DOORBELL + DbReg.FIFO_HEAD_SLOT)
        if not head >> 31:
            return None
        value = await self.read32(Region.DOORBELL + DbReg.FIFO_HEAD_VALUE)
        await self.write32(Region.DOORBELL + DbReg.FIFO_POP, 0)
        return head & 0xFFFF, value

    # -- DMA -----------------------------------------------------------------------

    async def _submit_registers(self, host: int, local: int, length: int, direction: DmaDir, tag: int) -> None:
        async with self._dma_regs:
            await self.write32(Region.DMA + DmaReg.HOST_LO, host & 0xFFFF_FFFF)
            await self.write32(Region.DMA + DmaReg.HOST_HI, host >> 32)
            await self.write32(Region.DMA + DmaReg.LOCAL, local)
            await self.write32(Region.DMA + DmaReg.LENGTH, length)
            await self.write32(Region.DMA + DmaReg.SUBMIT, (tag & 0xFFFF) << 16 | int(direction))

    async def dma_done(self, timeout_cycles: int = 100_000) -> tuple[int, DmaResult]:
        """Next completed descriptor (tag, result), sleeping on irq; removes it."""
        waited = 0
        while True:
            async with self._dma_regs:
                head = await self.read32(Region.DMA + DmaReg.DONE_HEAD)
                if head & DmaDone.VALID:
                    await self.write32(Region.DMA + DmaReg.DONE_POP, 0)
            if head & DmaDone.VALID:
                return int(head & DmaDone.TAG_MASK), DmaResult((head & DmaDone.STATUS_MASK) >> 16)
            if waited >= timeout_cycles:
                raise FirmwareTimeout(f"no DMA completion within {timeout_cycles} cycles")
            if self.reset_armed and self.irq.value == 1 and await self.csr(Csr.INT_STATUS) & IntSource.RESET:
                raise EndpointReset("the endpoint was reset while the firmware waited for a DMA completion")
            t0 = get_sim_time("ns")
            await self.wait_irq(timeout_cycles - waited, "a DMA completion")
            waited += max(1, int((get_sim_time("ns") - t0) / CLK_PERIOD_NS))

    async def dma_start(self, host: int, local: int, length: int, direction: DmaDir,
                        tag: int | None = None) -> int:
        """Queue one descriptor without waiting for it; its tag (picked here unless given).
        A full descriptor queue is waited out by reaping a completion first."""
        if tag is None:
            tag = self._next_tag
            self._next_tag = AUTO_TAG0 + (self._next_tag + 1 - AUTO_TAG0) % AUTO_TAG0
        tag &= 0xFFFF
        if tag in self._outstanding or tag in self._results:
            raise BusError(f"DMA tag {tag} is still in use")
        name = direction.name.lower()
        self.dmas += 1
        if self.ops is not None and not self._in_dma:
            (self.ops.dma_reads if direction == DmaDir.READ else self.ops.dma_writes).append(length)
        self._in_dma += 1
        try:
            while await self.read32(Region.DMA + DmaReg.STATUS) & DmaEngineStatus.full(direction):
                if not self._outstanding:
                    raise BusError("DMA descriptor queue full with none of the firmware's descriptors in it")
                await self._waiting(self._reap(100_000))    # waiting for room: a DMA wait too
            await self._submit_registers(host, local, length, direction, tag)
        finally:
            self._in_dma -= 1
        self._outstanding[tag] = (name, length)
        self._group.append((name, length))
        if self.timeline is not None:
            self.timeline.append((get_sim_time("ns"), f"submit {name}", length))
        return tag

    async def dma_wait(self, tags: list[int], timeout_cycles: int = 100_000) -> list[DmaResult]:
        """The results of `tags` (started with dma_start), in that order, once all ended.
        Completions of other descriptors seen meanwhile are kept for their own wait."""
        async def reap_all() -> None:
            for tag in tags:
                while tag & 0xFFFF not in self._results:
                    if tag & 0xFFFF not in self._outstanding:
                        raise BusError(f"no DMA with tag {tag} was started")
                    await self._reap(timeout_cycles)
        self._in_dma += 1
        try:
            if any(tag & 0xFFFF not in self._results for tag in tags):
                await self._waiting(reap_all())
            else:
                await reap_all()            # every result already reaped: no wait
        finally:
            self._in_dma -= 1
        if not self._outstanding:
            if self.ops is not None and self._group and not self._in_dma:
                self.ops.dma_groups.append(tuple(self._group))
            self._group = []
        return [self._results.pop(tag & 0xFFFF) for tag in tags]

    def unclaimed_dmas(self) -> int:
        """DMAs started and not yet claimed by a wait (running, or ended and unclaimed)."""
        return len(self._outstanding) + len(self._results)

    def dma_ended(self, tag: int) -> bool:
        """Whether the DMA with `tag` has ended and its result waits to be claimed."""
        return tag & 0xFFFF in self._results

    async def _waiting(self, wait) -> None:
        """Await `wait` as a DMA wait: its time counts in dma_wait_ns, its bus accesses
        (polling for results) not in the work words; each counts in dma_waits."""
        t0, self._waiting_dma = get_sim_time("ns"), True
        self.dma_waits += 1
        sleeps = self.dma_sleeps
        try:
            await wait
        finally:
            self._waiting_dma = False
            self.waits_slept += self.dma_sleeps > sleeps
            self.dma_wait_ns += get_sim_time("ns") - t0
            if self.timeline is not None:
                self.timeline.append((t0, "wait", (get_sim_time("ns") - t0) / CLK_PERIOD_NS))
                if self.dma_sleeps > sleeps:
                    self.timeline.append((t0, "slept", self.dma_sleeps - sleeps))

    async def _reap(self, timeout_cycles: int) -> None:
        try:
            tag, result = await self.dma_done(timeout_cycles)
        except FirmwareTimeout as e:
            status = await self.read32(Region.DMA + DmaReg.STATUS)
            waiting = ", ".join(f"{t:#x} ({d} of {n})" for t, (d, n) in self._outstanding.items())
            raise FirmwareTimeout(f"{e}; started, no result: {waiting}; DMA STATUS {status:#x}") from None
        if self._outstanding.pop(tag, None) is None:
            raise BusError(f"DMA completion for tag {tag}, which the firmware has not started")
        self._results[tag] = result

    def forget_dmas(self) -> None:
        """After the endpoint's reset: descriptors in flight were flushed with the engine."""
        self._outstanding.clear()
        self._results.clear()
        self._group = []

    async def dma(self, host: int, local: int, length: int, direction: DmaDir, tag: int | None = None,
                  timeout_cycles: int = 100_000) -> DmaResult:
        """One descriptor, waited for (requires IntSource.DMA_DONE enabled)."""
        tag = await self.dma_start(host, local, length, direction, tag)
        return (await self.dma_wait([tag], timeout_cycles))[0]

    # -- waiting -------------------------------------------------------------------

    async def wait_irq(self, timeout_cycles: int, what: str = "irq") -> None:
        if self.irq.value == 1:
            return
        try:
            await with_timeout(RisingEdge(self.irq), timeout_cycles * CLK_PERIOD_NS, "ns")
        except SimTimeoutError:
            raise FirmwareTimeout(f"firmware waited {timeout_cycles} cycles for {what}") from None
        self.dma_sleeps += self._waiting_dma
        await self._woken()

    async def _woken(self) -> None:
        """The CPU slept until irq: it runs again `wake_ns` later, on a clock edge."""
        if self.wake_ns:
            await Timer(self.wake_ns, "ns")
            await RisingEdge(self.clk)

    async def acknowledge_reset(self, sources: IntSource) -> None:
        """After the endpoint's reset (the power-on one included): clear the event, then
        enable `sources` again (the reset left only IntSource.RESET enabled)."""
        await self.write32(Region.CSR + Csr.RESET_EVENT, ResetEventBit.PENDING)
        self.forget_dmas()
        await self.enable_interrupts(sources | IntSource.RESET)
        self.reset_armed = True

    async def read_build_parameters(self) -> None:
        """At boot: what the firmware sizes its memory by (the DMA buffer RAM, BAR0's SRAM)."""
        self.dma_buf_size = await self.csr(Csr.DMA_BUF_SIZE)
        self.bar0_size = await self.csr(Csr.BAR0_SIZE)

    async def service_doorbells(self, slots: int, handler: DoorbellHandler,
                                stop: Event, on_flr: Callable[[], Awaitable[None]] | None = None,
                                on_reset: Callable[[], Awaitable[None]] | None = None) -> None:
        """Interrupt-driven doorbell loop: sleep on irq, take every pending slot, dispatch.
        A handler that returns True stopped with work left (its budget was spent): its slot
        gets another turn, after every slot rung meanwhile had one, before the CPU sleeps
        (round robin, as NAPI polls its devices: no queue starves the others).
        An interrupt with no doorbell pending is looked up in INT_STATUS: a function-level
        reset goes to `on_flr` (which must end by signalling FLR DONE); a reset of the
        endpoint's logic (hot reset) is acknowledged, interrupts enabled again, and then
        `on_reset` runs (the firmware sets its transport up again). A handler cut short by
        that reset (EndpointReset) is abandoned: what it did for the host is void.

        Runs until `stop` is set (no timeout: an idle device sleeps by design).
        """
        # DMA completions wake the data path's waits (see dma_done)
        sources = IntSource.DB_PENDING | IntSource.DMA_DONE | (IntSource.FLR if on_flr else IntSource(0))
        await self.read_build_parameters()
        await self.acknowledge_reset(sources)
        backlog: dict[int, int] = {}
        while not stop.is_set():
            if not self.irq.value and not backlog:
                self.asleep.set()
                await First(RisingEdge(self.irq), stop.wait())
                self.asleep.clear()
                if stop.is_set():
                    break
                await self._woken()
            t_wake = self._woke_at = get_sim_time("ns")
            self.wakes += 1
            if self.timeline is not None:
                self.timeline.append((t_wake, "turn", self.turn_probe()))
            try:
                await self.compute(self.costs.irq_entry)
                woken = bool(self.irq.value)
                taken = await self.take_doorbells(slots) if woken else []
                backlog = await self._dispatch(backlog, taken, handler)
                if woken and not taken:
                    status = await self.csr(Csr.INT_STATUS)
                    if status & IntSource.RESET:
                        self.endpoint_resets += 1
                        backlog = {}
                        await self.acknowledge_reset(sources)
                        if on_reset:
                            await on_reset()
                    elif on_flr and status & IntSource.FLR:
                        backlog = {}
                        await on_flr()
                await self.compute(self.costs.irq_exit)
            except EndpointReset as exc:        # the loop goes round: IntSource.RESET is up
                self.log.info("endpoint reset under the firmware: %s", exc)
                backlog = {}
            self.awake_ns += get_sim_time("ns") - t_wake
            self._woke_at = None
            if self.timeline is not None:
                self.timeline.append((get_sim_time("ns"), "turn end", self.turn_probe()))

    async def _dispatch(self, backlog: dict[int, int], taken: list[tuple[int, int]],
                        handler: DoorbellHandler) -> dict[int, int]:
        """One turn for every slot rung (`taken`, in slot order) and then every slot left
        with work (`backlog`, in the order it was left), a slot's latest value winning;
        returns the slots whose handler left work, in that order."""
        rung = dict(taken)
        turn = {slot: value for slot, value in rung.items() if slot not in backlog}
        turn.update({slot: rung.get(slot, value) for slot, value in backlog.items()})
        left: dict[int, int] = {}
        for slot, value in turn.items():
            await self.compute(self.costs.doorbell_dispatch)
            if await handler(slot, value):
                left[slot] = value
        return left

    async def poll_doorbells(self, slots: int, handler: DoorbellHandler,
                             stop: Event, period_cycles: int) -> None:
        """What Linux's endpoint functions do: no doorbell interrupt; every `period_cycles`
        the firmware reads the pending bitmap and dispatches what it finds (DMA completions
        still interrupt). Each poll costs bus reads even when nothing is pending."""
        await self.read_build_parameters()
        await self.acknowledge_reset(IntSource.DMA_DONE)
        backlog: dict[int, int] = {}
        while not stop.is_set():
            if not backlog:                 # work left over is served at once
                self.asleep.set()
                await self.sleep(period_cycles, until=stop)
                self.asleep.clear()
                if stop.is_set():
                    break
            t_wake = self._woke_at = get_sim_time("ns")
            backlog = await self._dispatch(backlog, await self.take_doorbells(slots), handler)
            self.awake_ns += get_sim_time("ns") - t_wake
            self._woke_at = None
