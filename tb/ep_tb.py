"""Test bench shared by every cocotb test of the endpoint.

EndpointTb builds the real parts around the RTL: the cocotbext-pcie UltraScale+ core
model and root complex on the PCIe side, a cocotbext-axi AXI4-Lite master (driven by
the soft CPU) on the local side, and a TLP counter on the root complex.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.core.tlp import TlpType
from cocotbext.pcie.core.utils import PcieId
from cocotbext.pcie.xilinx.us.tlp import Tlp_us
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice

from virtio_ep import layout
from virtio_ep.firmware.soft_cpu import SoftCpu, FirmwareCosts
from virtio_ep.host.pcie_host import HostPcie

CLK_NS = 1e9 / layout.USER_CLK_HZ


# cocotb 2 seeds each test with COCOTB_RANDOM_SEED + a hash of the test's name; while the
# module is imported (test collection) RANDOM_SEED still holds the run's seed, which is the
# value that reproduces a test.
RUN_SEED = cocotb.RANDOM_SEED


def rerun_note() -> str:
    return f"rerun with COCOTB_RANDOM_SEED={RUN_SEED}"

def params_from_env() -> layout.EndpointParams:
    """The parameters this simulation was built with (passed by virtio_ep.simrun)."""
    return layout.EndpointParams.from_env(os.environ.get("EP_PARAMS"))


@dataclass
class TlpRecord:
    time_ns: float
    direction: str      # "down" (host to endpoint) or "up"
    kind: str
    tlp: object


@dataclass
class TlpCounter:
    """Counts every TLP crossing the root complex, by direction and kind, with bytes."""

    records: list[TlpRecord] = field(default_factory=list)
    listeners: list = field(default_factory=list)       # called with every record (monitors)

    def _add(self, rec: TlpRecord) -> None:
        self.records.append(rec)
        for listener in self.listeners:
            listener(rec)

    @staticmethod
    def kind(tlp) -> str:
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

    def attach(self, rc: RootComplex) -> None:
        down, up = rc.downstream_send, rc.handle_tlp

        async def counted_down(tlp):
            self._add(TlpRecord(get_sim_time("ns"), "down", self.kind(tlp), tlp))
            await down(tlp)

        async def counted_up(tlp):
            self._add(TlpRecord(get_sim_time("ns"), "up", self.kind(tlp), tlp))
            await up(tlp)

        rc.downstream_send = counted_down
        rc.handle_tlp = counted_up

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int) -> list[TlpRecord]:
        return self.records[mark:]

    def counts(self, mark: int = 0) -> Counter:
        c: Counter = Counter()
        for r in self.records[mark:]:
            if r.kind == "mem_write" and r.direction == "up":
                c["up msi/mem_write"] += 1
            else:
                c[f"{r.direction} {r.kind}"] += 1
        return c

    def payload_bytes(self, mark: int = 0) -> int:
        return sum(len(r.tlp.data) for r in self.records[mark:])


@dataclass
class OpStats:
    """TLPs and time of one named operation, as seen at the root complex."""

    name: str
    host_reads: int = 0          # non-posted reads by the host (BAR reads)
    host_writes: int = 0         # posted writes by the host, doorbells excluded
    doorbells: int = 0           # host writes to BAR2
    msis: int = 0                # MSI writes by the endpoint
    device_reads: int = 0        # reads of host memory by the endpoint (DMA)
    cycles: float = 0.0
    firmware_cycles: int = 0     # modelled firmware compute inside the operation
    host_stall_ns: float = 0.0   # host CPU time stalled in BAR reads
    start_ns: float = 0.0
    read_offsets: list[tuple[int, int]] = field(default_factory=list)   # (BAR0 offset, bytes) read


class PortMonitor:
    """Counts TLPs where the RTL sees them: frames on the core's CQ, CC, RQ and RC interfaces
    and MSIs the core issues on the RTL's request, with payload dwords; it hooks the core
    model's interface objects (no per-cycle sampling)."""

    def __init__(self, dev: UltraScalePlusPcieDevice):
        self.counts: Counter = Counter()
        self._wrap_send(dev.cq_source, "cq", 4)
        self._wrap_recv(dev.cc_sink, "cc", 3)
        self._wrap_recv(dev.rq_sink, "rq", 4)
        self._wrap_send(dev.rc_source, "rc", 3)
        msi = dev.functions[0].msi_cap
        issue = msi.issue_msi_interrupt

        async def counted_msi(*args, **kwargs):
            self.counts["msi"] += 1
            return await issue(*args, **kwargs)
        msi.issue_msi_interrupt = counted_msi

    def _record(self, port: str, frame, header_dw: int) -> None:
        self.counts[port] += 1
        self.counts[f"{port}_dw"] += max(len(frame.data) - header_dw, 0)
        if port == "rq":
            req_type = (frame.data[2] >> 11) & 0xF
            self.counts["rq_read" if req_type == layout.ReqType.MEM_READ else "rq_write"] += 1

    def _wrap_send(self, source, port: str, header_dw: int) -> None:
        send = source.send

        async def counted(frame):
            self._record(port, frame, header_dw)
            return await send(frame)
        source.send = counted

    def _wrap_recv(self, sink, port: str, header_dw: int) -> None:
        recv = sink.recv

        async def counted():
            frame = await recv()
            self._record(port, frame, header_dw)
            return frame
        sink.recv = counted

    def snapshot(self) -> Counter:
        return Counter(self.counts)


class OpRecorder:
    """Context manager per operation: `async with rec.op("reset"): ...`."""

    def __init__(self, tb: "EndpointTb"):
        self.tb = tb
        self.ops: list[OpStats] = []

    @asynccontextmanager
    async def op(self, name: str):
        tb = self.tb
        mark, t0, busy0, stall0 = tb.tlps.mark(), tb.now_ns(), tb.cpu.busy_cycles, tb.host.mmio_read_ns
        yield
        st = OpStats(name, cycles=tb.cycles(t0, tb.now_ns()), firmware_cycles=tb.cpu.busy_cycles - busy0,
                     host_stall_ns=tb.host.mmio_read_ns - stall0, start_ns=t0)
        bar0 = tb.host.dev.bar_addr[layout.BAR_SRAM]
        bar2 = tb.host.dev.bar_addr[layout.BAR_DOORBELL]
        for r in tb.tlps.since(mark):
            if r.kind == "mem_read" and r.direction == "down":
                st.host_reads += 1
                st.read_offsets.append((r.tlp.address - bar0, r.tlp.length * 4))
            elif r.kind == "mem_write" and r.direction == "down":
                if bar2 <= r.tlp.address < bar2 + layout.BAR2_SIZE:
                    st.doorbells += 1
                else:
                    st.host_writes += 1
            elif r.kind == "mem_write" and r.direction == "up":
                st.msis += 1
            elif r.kind == "mem_read" and r.direction == "up":
                st.device_reads += 1
        self.ops.append(st)


class FlrEmulator:
    """The core's side of a function-level reset, which the core model leaves to the user:
    on the host's Initiate FLR the function's command and MSI state return to reset
    values (memory space, bus mastering, MSI off), cfg_flr_in_process[0] rises, and it
    falls once the endpoint pulses cfg_flr_done[0] (the firmware's cleanup is done)."""

    DONE_TIMEOUT_NS = 1_000_000

    def __init__(self, tb: "EndpointTb"):
        self.tb = tb
        self.started = self.completed = 0
        self.done_after_ns: list[float] = []
        tb.dut.cfg_flr_in_process.value = 0
        f0 = tb.dev.functions[0]
        f0.pcie_cap.function_level_reset_capability = True
        f0.pcie_cap.initiate_function_level_reset = self._initiate

    async def _initiate(self) -> None:
        cocotb.start_soon(self._run())          # the config write completes first, as on the core

    async def _run(self) -> None:
        dut, f0 = self.tb.dut, self.tb.dev.functions[0]
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
    forgets its outstanding requests. `LINK_UP_NS` after the port releases the reset, the
    link is up and user_reset falls."""

    LINK_UP_NS = 1_000

    def __init__(self, tb: "EndpointTb"):
        from cocotbext.pcie.core.bridge import RootPort
        self.tb = tb
        self.link_up = True
        self.resets = 0
        self.lost_tlps = 0
        ports = [e for e in tb.rc.endpoints if isinstance(e, RootPort)]
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
        link = tb.dev.upstream_port
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
        tb, f0 = self.tb, self.tb.dev.functions[0]
        lat = tb.latencies
        assert max(lat.device_read_ns, lat.host_read_ns, lat.msi_ns) < self.LINK_UP_NS, \
            "a host latency outlasts the emulated link-down time: a TLP could cross the reset"
        self.resets += 1
        self.link_up = False
        tb.dut.rst.value = 1
        f0.io_space_enable = f0.memory_space_enable = f0.bus_master_enable = False
        for k, mask in enumerate(f0.bar_mask):
            f0.bar[k] &= ~mask & 0xFFFF_FFFF
        msi = f0.msi_cap
        msi.msi_enable, msi.msi_multiple_message_enable = False, 0
        msi.msi_message_address = msi.msi_message_data = msi.msi_mask_bits = msi.msi_pending_bits = 0
        f0.pcie_cap.max_payload_size, f0.pcie_cap.max_read_request_size = 0, 2    # 128 B, 512 B
        tb.dev.active_request = [None] * len(tb.dev.active_request)

    async def _link_up(self) -> None:
        await Timer(self.LINK_UP_NS, "ns")
        await RisingEdge(self.tb.dut.clk)
        self.link_up = True
        self.tb.dut.rst.value = 0


class LatencyInjector:
    """Adds HostLatencies to the root complex model without serialising it: each delayed TLP
    is handed on by its own coroutine, so later TLPs are not held up (same delay keeps order)."""

    def __init__(self, rc: RootComplex, lat: layout.HostLatencies):
        self.lat = lat
        msi_addr = rc.msi_region.get_absolute_address(0)
        up = rc.handle_tlp

        async def delayed(tlp, ns):
            await Timer(ns, "ns")
            await up(tlp)

        async def handle(tlp):
            kind = TlpCounter.kind(tlp)
            if kind == "mem_read" and lat.device_read_ns:
                cocotb.start_soon(delayed(tlp, lat.device_read_ns))     # host memory answers late
            elif kind == "completion" and lat.host_read_ns:
                cocotb.start_soon(delayed(tlp, lat.host_read_ns))       # the CPU's BAR load returns late
            elif kind == "mem_write" and tlp.address == msi_addr and lat.msi_ns:
                cocotb.start_soon(delayed(tlp, lat.msi_ns))             # interrupt delivery
            else:
                await up(tlp)

        rc.handle_tlp = handle


class EndpointTb:
    def __init__(self, dut, bar0_aperture: int | None = None, msi_mask_capable: bool = True,
                 costs: FirmwareCosts = FirmwareCosts(), max_payload: int = 512,
                 latencies: layout.HostLatencies | None = None):
        self.dut = dut
        self.params = params_from_env()
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)

        self.rc = RootComplex()
        # read requests up to 4 KiB, max payload as offered by the endpoint
        self.rc.max_payload_size = (max_payload // 128 - 1).bit_length()
        self.rc.max_read_request_size = 5
        self.dev = UltraScalePlusPcieDevice(
            pcie_generation=3,
            pcie_link_width=8,
            user_clk_frequency=layout.USER_CLK_HZ,
            alignment="dword",
            max_payload_size=max_payload,
            enable_client_tag=True,
            pf0_msi_enable=True,
            pf0_msi_count=self.params.msi_vectors,
            user_clk=dut.clk,
            user_reset=dut.rst,
            rq_bus=AxiStreamBus.from_prefix(dut, "m_axis_rq"),
            pcie_rq_seq_num0=dut.pcie_rq_seq_num0,
            pcie_rq_seq_num_vld0=dut.pcie_rq_seq_num_vld0,
            rc_bus=AxiStreamBus.from_prefix(dut, "s_axis_rc"),
            cq_bus=AxiStreamBus.from_prefix(dut, "s_axis_cq"),
            pcie_cq_np_req=dut.pcie_cq_np_req,
            cc_bus=AxiStreamBus.from_prefix(dut, "m_axis_cc"),
            cfg_max_payload=dut.cfg_max_payload,
            cfg_max_read_req=dut.cfg_max_read_req,
            cfg_function_status=dut.cfg_function_status,
            cfg_interrupt_msi_enable=dut.cfg_interrupt_msi_enable,
            cfg_interrupt_msi_mmenable=dut.cfg_interrupt_msi_mmenable,
            cfg_interrupt_msi_data=dut.cfg_interrupt_msi_data,
            cfg_interrupt_msi_select=dut.cfg_interrupt_msi_select,
            cfg_interrupt_msi_int=dut.cfg_interrupt_msi_int,
            cfg_interrupt_msi_sent=dut.cfg_interrupt_msi_sent,
            cfg_interrupt_msi_fail=dut.cfg_interrupt_msi_fail,
        )
        self.dev.log.setLevel(logging.WARNING)
        # the core model's stream interfaces log every frame at INFO (megabytes per benchmark)
        for port in (self.dev.rq_sink, self.dev.rc_source, self.dev.cq_source, self.dev.cc_sink):
            port.log.setLevel(logging.WARNING)
        # enumeration probes empty device numbers: the RC logs each as a warning
        self.rc.log.setLevel(logging.ERROR)
        # the real core offers per-vector masking; the model needs it switched on
        self.dev.functions[0].msi_cap.msi_per_vector_mask_capable = int(msi_mask_capable)
        f0 = self.dev.functions[0]
        f0.vendor_id, f0.device_id = layout.EP_PCI_VENDOR_ID, layout.EP_PCI_DEVICE_ID
        f0.revision_id, f0.class_code = layout.EP_PCI_REVISION, layout.EP_PCI_CLASS_CODE
        self.bar0_aperture = bar0_aperture or self.params.bar0_sram_size
        self.dev.functions[0].configure_bar(layout.BAR_SRAM, self.bar0_aperture)
        self.dev.functions[0].configure_bar(layout.BAR_DOORBELL, layout.BAR2_SIZE)
        self.rc.make_port().connect(self.dev)

        self.tlps = TlpCounter()
        self.tlps.attach(self.rc)
        self.ports = PortMonitor(self.dev)
        # zero by default (tests check behaviour); benchmarks pass HOST_LATENCIES
        self.latencies = latencies or layout.HostLatencies.from_env(os.environ.get("HOST_LATENCIES", "none"))
        LatencyInjector(self.rc, self.latencies)

        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.cpu = SoftCpu(dut.clk, dut.irq, self.axil, costs, wake_ns=self.latencies.firmware_wake_ns)
        self.host = HostPcie(self.rc, self.dev.functions[0])
        self.flr = FlrEmulator(self)
        self.hot_reset = HotResetEmulator(self)
        self.buffer_pool = None     # the driver's buffer memory, kept across re-probes (tb_datapath.reprobe)

    @classmethod
    async def start(cls, dut, enumerate: bool = True, **kwargs) -> "EndpointTb":
        """Build the bench and (by default) bring the link up and enumerate.

        The models sample the DUT from their first clock edge, so give the simulator
        one step to settle its time-zero values (outputs are X before that).
        """
        # the AXI master drives its outputs only from its first clock edge on
        for name in ("awvalid", "wvalid", "arvalid", "bready", "rready"):
            getattr(dut, f"s_axil_{name}").value = 0
        # Power-on reset: the core model releases user_reset low for its first cycles, so
        # without this a test would start from the state the previous test left.
        dut.rst.value = 1
        for level in (0, 1, 0, 1, 0):
            dut.clk.value = level
            await Timer(CLK_NS / 2, "ns")
        tb = cls(dut, **kwargs)
        if enumerate:
            await tb.init()
        return tb

    def alloc_host(self, nbytes: int) -> int:
        """Host memory for driver-allocated structures (buddy allocator: naturally aligned)."""
        # whole 16-byte units: device reads cover whole dwords, and the root complex model
        # answers Completer Abort for any byte outside an allocated region
        return self.rc.mem_pool.alloc_region(max((nbytes + 15) & ~15, 64)).get_absolute_address(0)

    async def init(self, timeout_ns: int = 20_000) -> None:
        """Wait for the core's reset, enumerate, enable bus mastering and MSI."""
        try:
            await with_timeout(FallingEdge(self.dut.rst), timeout_ns, "ns")
        except cocotb.triggers.SimTimeoutError:
            raise TimeoutError(f"user_reset from the PCIe core model did not fall within {timeout_ns} ns") from None
        await Timer(100, "ns")
        await RisingEdge(self.dut.clk)
        await self.host.enumerate(self.params.msi_vectors)
        # keep host address 0 unused: a zero ring address is a driver bug the device rejects
        self.alloc_host(4096)

    async def wait_cycle(self, cond, max_cycles: int, what: str) -> float:
        """Sample `cond()` at each clock edge (bounded probe window); return the time it held."""
        for _ in range(max_cycles):
            await RisingEdge(self.dut.clk)
            if cond():
                return self.now_ns()
        raise TimeoutError(f"waited {max_cycles} cycles for {what}")

    def cq_last_beat(self) -> bool:
        d = self.dut
        return bool(d.s_axis_cq_tvalid.value and d.s_axis_cq_tready.value and d.s_axis_cq_tlast.value)

    def msi_int_active(self) -> bool:
        return int(self.dut.cfg_interrupt_msi_int.value) != 0

    def axil_write_handshake(self) -> bool:
        d = self.dut
        return bool(d.s_axil_awvalid.value and d.s_axil_awready.value)

    def cycles(self, t0_ns: float, t1_ns: float) -> float:
        return (t1_ns - t0_ns) / CLK_NS

    def now_ns(self) -> float:
        return get_sim_time("ns")


async def inject_request(tb: "EndpointTb", fmt_type, bar_id: int, addr: int, data: bytes = b"",
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
