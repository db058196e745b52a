"""Extensions of the cocotbext-pcie models, through their own hooks (nothing of the library
is edited): one tap on the root complex (observers and injected host latencies), and the
core's side of a function-level reset and of a hot reset, which the core model leaves to
its user. Also a way to send requests the root complex cannot issue itself."""

from __future__ import annotations

import random
from typing import Callable

import cocotb
from cocotb.triggers import RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us.tlp import Tlp_us

from ..layout import HostLatencies, HostProfile, pcie_size_code


def tlp_kind(tlp) -> str:
    """mem_read, mem_write, completion, config, or the TLP type's name."""
    t = tlp.fmt_type
    if t in (TlpType.MEM_READ, TlpType.MEM_READ_64):
        return "mem_read"
    if t in (TlpType.MEM_WRITE, TlpType.MEM_WRITE_64):
        return "mem_write"
    if t in (TlpType.CPL, TlpType.CPL_DATA, TlpType.CPL_LOCKED, TlpType.CPL_LOCKED_DATA):
        return "completion"
    if t in (TlpType.CFG_READ_0, TlpType.CFG_WRITE_0, TlpType.CFG_READ_1, TlpType.CFG_WRITE_1):
        return "config"
    return t.name.lower()


Observer = Callable[[str, object], None]        # (direction "down" or "up", tlp)


class RootComplexTap:
    """The one hook on the root complex. Every TLP the root complex sends down passes the
    observers as it leaves; every TLP coming up is held for `delay(tlp)` ns (injected host
    latency, each TLP in its own coroutine so later ones are not held up; the same delay
    keeps their order), then passes the observers and reaches the root complex."""

    def __init__(self, rc: RootComplex):
        self.observers: list[Observer] = []
        self.delay: Callable[[object], float] = lambda tlp: 0
        send, handle = rc.downstream_send, rc.handle_tlp

        async def tapped_send(tlp) -> None:
            self._observe("down", tlp)
            await send(tlp)

        async def deliver(tlp) -> None:
            self._observe("up", tlp)
            await handle(tlp)

        async def delayed(tlp, ns: float) -> None:
            await Timer(ns, "ns")
            await deliver(tlp)

        async def tapped_handle(tlp) -> None:
            ns = self.delay(tlp)
            if ns:
                cocotb.start_soon(delayed(tlp, ns))
            else:
                await deliver(tlp)

        rc.downstream_send, rc.handle_tlp = tapped_send, tapped_handle

    def _observe(self, direction: str, tlp) -> None:
        for observer in self.observers:
            observer(direction, tlp)


def host_latency(rc: RootComplex, lat: HostLatencies, profile: HostProfile | None = None,
                 rng: random.Random | None = None) -> Callable[[object], float]:
    """The delay the host adds to a TLP from the endpoint: host memory answers a device read
    late (plus the profile's seeded jitter per request, so reads to different tags complete
    out of order), the CPU's BAR load returns late (its completion), an MSI reaches the
    driver late."""
    msi_addr = rc.msi_region.get_absolute_address(0)
    jitter = profile.read_jitter_ns if profile else 0
    if jitter and rng is None:
        raise ValueError(f"host profile {profile.name} draws read latencies: give it a seeded generator")
    draws = profile.read_jitter(rng) if jitter else None

    def delay(tlp) -> float:
        kind = tlp_kind(tlp)
        if kind == "mem_read":
            extra = next(draws) if jitter else 0
            delay.drawn.append(extra)
            return lat.device_read_ns + extra
        if kind == "completion":
            return lat.host_read_ns
        if kind == "mem_write" and tlp.address == msi_addr:
            return lat.msi_ns
        return 0
    delay.drawn = []            # the extra latency drawn for each device read, in arrival order (for the timing model)
    return delay


def apply_profile(rc: RootComplex, profile: HostProfile) -> None:
    """The profile's completion shape, through the root complex model's own settings: the
    largest completion (its max payload size, which enumeration also programs into the
    endpoint), the read completion boundary, and cutting completions at every boundary."""
    rc.max_payload_size = pcie_size_code(profile.max_payload)
    rc.read_completion_boundary = profile.rcb == 128
    rc.split_on_all_rcb = profile.split_at_rcb


class FlrEmulator:
    """The core's side of a function-level reset, which the core model leaves to the user:
    on the host's Initiate FLR the function's command and MSI state return to reset
    values (memory space, bus mastering, MSI off), cfg_flr_in_process[0] rises, and it
    falls once the endpoint pulses cfg_flr_done[0] (the firmware's cleanup is done)."""

    DONE_TIMEOUT_NS = 1_000_000

    def __init__(self, dut, dev):
        self.dut, self.dev = dut, dev
        self.started = self.completed = 0
        self.done_after_ns: list[float] = []
        dut.cfg_flr_in_process.value = 0
        f0 = dev.functions[0]
        f0.pcie_cap.function_level_reset_capability = True
        f0.pcie_cap.initiate_function_level_reset = self._initiate

    async def _initiate(self) -> None:
        cocotb.start_soon(self._run())          # the config write completes first, as on the core

    async def _run(self) -> None:
        dut, f0 = self.dut, self.dev.functions[0]
        self.started += 1
        f0.memory_space_enable = f0.bus_master_enable = False
        f0.msi_cap.msi_enable = False
        f0.msi_cap.msi_mask_bits = 0
        t0 = get_sim_time("ns")
        dut.cfg_flr_in_process.value = 1

        async def done() -> None:            # a one-cycle pulse on bit 0: wake on its changes only
            while not int(dut.cfg_flr_done.value) & 1:
                await dut.cfg_flr_done.value_change
        try:
            await with_timeout(cocotb.start_soon(done()), self.DONE_TIMEOUT_NS, "ns")
        except SimTimeoutError:
            raise AssertionError(f"the endpoint did not signal cfg_flr_done within {self.DONE_TIMEOUT_NS} ns") from None
        self.done_after_ns.append(get_sim_time("ns") - t0)
        await RisingEdge(dut.clk)
        dut.cfg_flr_in_process.value = 0
        self.completed += 1


class HotResetEmulator:
    """The core's side of a hot reset, which the core model does not emulate. While the root
    port holds Secondary Bus Reset the link is down: TLPs in either direction are lost,
    user_reset is high (the endpoint's logic resets; the local CPU runs on), the function's
    configuration returns to reset values (BARs, command, MSI, payload sizes) and the core
    forgets its outstanding requests. `link_up_ns` after the port releases the reset (at
    least LINK_UP_NS, and longer than the longest delay the host adds to a TLP, so no TLP
    crosses the reset), the link is up and user_reset falls."""

    LINK_UP_NS = 1_000

    def __init__(self, dut, rc: RootComplex, dev, longest_delay_ns: float):
        from cocotbext.pcie.core.bridge import RootPort
        self.dut, self.dev = dut, dev
        self.link_up_ns = max(self.LINK_UP_NS, longest_delay_ns + 100)
        self.link_up = True
        self.resets = 0
        self.lost_tlps = 0
        ports = [e for e in rc.endpoints if isinstance(e, RootPort)]
        assert len(ports) == 1, f"expected one root port above the endpoint, found {len(ports)}"
        port = ports[0]
        write_config = port.write_config_register

        async def watched(reg, data, mask):
            before = port.secondary_bus_reset
            await write_config(reg, data, mask)
            if port.secondary_bus_reset and not before:
                self._link_down()
            elif before and not port.secondary_bus_reset:
                cocotb.start_soon(self._link_up())
        port.write_config_register = watched
        link = dev.upstream_port
        receive, send = link.rx_handler, link.send

        async def gated_receive(tlp):
            if self.link_up:
                await receive(tlp)
            else:
                self.lost_tlps += 1

        async def gated_send(tlp):
            if self.link_up:
                await send(tlp)
            else:
                self.lost_tlps += 1
        link.rx_handler, link.send = gated_receive, gated_send

    def _link_down(self) -> None:
        f0 = self.dev.functions[0]
        self.resets += 1
        self.link_up = False
        self.dut.rst.value = 1
        f0.io_space_enable = f0.memory_space_enable = f0.bus_master_enable = False
        for k, mask in enumerate(f0.bar_mask):
            f0.bar[k] &= ~mask & 0xFFFF_FFFF
        msi = f0.msi_cap
        msi.msi_enable, msi.msi_multiple_message_enable = False, 0
        msi.msi_message_address = msi.msi_message_data = msi.msi_mask_bits = msi.msi_pending_bits = 0
        f0.pcie_cap.max_payload_size, f0.pcie_cap.max_read_request_size = 0, 2    # 128 B, 512 B
        self.dev.active_request = [None] * len(self.dev.active_request)

    async def _link_up(self) -> None:
        await Timer(self.link_up_ns, "ns")
        await RisingEdge(self.dut.clk)
        self.link_up = True
        self.dut.rst.value = 0


async def inject_request(tb, fmt_type, bar_id: int, addr: int, data: bytes = b"",
                         length: int = 4, timeout_ns: int = 20_000):
    """Send a request the root complex model cannot issue itself (I/O, atomic, locked,
    or to a BAR the function does not have) straight into the core model's CQ queue;
    return its completion, or None for a posted request."""
    tlp = Tlp_us()
    tlp.fmt_type = fmt_type
    tlp.requester_id = PcieId(0, 0, 0)
    tlp.completer_id = tb.dev.functions[0].pcie_id
    tlp.bar_id = bar_id
    tlp.bar_aperture = (tb.bar0_aperture - 1).bit_length()
    if data:
        tlp.set_addr_be_data(addr, data)
    else:
        tlp.set_addr_be(addr, length)
    if not tlp.is_nonposted():
        tb.dev.cq_queue.put_nowait(tlp)
        return None
    tlp.tag = await tb.rc.alloc_tag()
    tb.dev.cq_queue.put_nowait(tlp)
    cpl = await tb.rc.recv_cpl(tlp.tag, timeout=timeout_ns, timeout_unit="ns")
    tb.rc.release_tag(tlp.tag)
    assert cpl is not None, f"no completion within {timeout_ns} ns for {fmt_type.name}"
    return cpl
