"""The test bench every cocotb test of virtio_ep_top builds: the real parts around the RTL.

EndpointTb: the cocotbext-pcie UltraScale+ core model and root complex on the PCIe side
(with the bench's one tap on the root complex: TLP counter and injected host latencies),
a cocotbext-axi AXI4-Lite master driven by the soft CPU on the local side, the FLR and hot
reset the core model leaves to its user. RTL parameters are read back from the DUT.
"""

from __future__ import annotations

import logging
import random

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiStreamBus
from cocotbext.axi.address_space import MemoryRegion
from cocotbext.pcie.core import RootComplex
from cocotbext.pcie.xilinx.us import UltraScalePlusPcieDevice

from .. import layout
from ..costs import FirmwareCosts
from ..firmware.soft_cpu import SoftCpu
from ..host.pcie_host import HostPcie, set_max_read_request
from ..linux.ring import BELOW_4G, DmaArea, LinuxRing
from ..runconfig import RunConfig
from .monitors import PortMonitor, TlpCounter
from .pcie_model import FlrEmulator, HotResetEmulator, RootComplexTap, apply_profile, host_latency

CLK_NS = 1e9 / layout.USER_CLK_HZ


# cocotb 2 seeds each test with COCOTB_RANDOM_SEED + a hash of the test's name; while the
# test modules are imported (test collection) RANDOM_SEED still holds the run's seed, which
# is the value that reproduces a test. (Outside a simulation, as when pytest collects a
# block testbench, there is none.)
RUN_SEED = getattr(cocotb, "RANDOM_SEED", None)


def rerun_note() -> str:
    return f"rerun with COCOTB_RANDOM_SEED={RUN_SEED}"


def rng_for_test() -> random.Random:
    """The test's random generator, its seed logged with the command that reproduces it."""
    cocotb.log.info("random seed %d (%s)", cocotb.RANDOM_SEED, rerun_note())
    return random.Random(cocotb.RANDOM_SEED)


class EndpointTb:
    def __init__(self, dut, bar0_aperture: int | None = None, msi_mask_capable: bool = True,
                 costs: FirmwareCosts = FirmwareCosts(), max_payload: int = 512,
                 latencies: layout.HostLatencies | None = None, profile: layout.HostProfile | None = None):
        """`latencies` and `profile`: by default the run configuration's (zero latency and
        the ideal host unless a bench or test names others)."""
        self.dut = dut
        self.params = layout.EndpointParams.from_dut(dut)
        self.log = logging.getLogger("cocotb.tb")
        self.log.setLevel(logging.INFO)
        config = RunConfig.current()
        self.profile = profile or config.host_profile

        self.rc = RootComplex()
        # the host profile's completions and payload size; the root port takes read requests
        # up to 4 KiB (the endpoint's own limit is what the host programs: profile.max_read_request)
        apply_profile(self.rc, self.profile)
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
            cfg_interrupt_msi_pending_status=dut.cfg_interrupt_msi_pending_status,
            cfg_interrupt_msi_pending_status_data_enable=dut.cfg_interrupt_msi_pending_status_data_enable,
            cfg_interrupt_msi_pending_status_function_num=dut.cfg_interrupt_msi_pending_status_function_num,
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

        self.tap = RootComplexTap(self.rc)
        self.tlps = TlpCounter()
        self.tlps.attach(self.tap)
        self.ports = PortMonitor(self.dev)
        # zero unless the run's configuration names a setting (tests check behaviour; benches measure)
        self.latencies = latencies or config.host_latencies
        self.tap.delay = host_latency(self.rc, self.latencies, self.profile, random.Random(cocotb.RANDOM_SEED))

        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.axil.write_if.log.setLevel(logging.WARNING)
        self.axil.read_if.log.setLevel(logging.WARNING)
        self.cpu = SoftCpu(dut.clk, dut.irq, self.axil, costs.scaled(self.latencies.firmware_cost_scale),
                           wake_ns=self.latencies.firmware_wake_ns)
        self.host = HostPcie(self.rc, self.dev.functions[0])
        self.flr = FlrEmulator(dut, self.dev)
        lat = self.latencies
        self.hot_reset = HotResetEmulator(dut, self.rc, self.dev, max(
            lat.device_read_ns + self.profile.read_jitter_cap_ns, lat.host_read_ns, lat.msi_ns))
        self.buffer_pool = None     # the driver's buffer memory, kept across re-probes (scenarios.bring_up)
        self._linux: LinuxRing | None = None

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

    def linux_ring(self, bus: int = BELOW_4G) -> LinuxRing:
        """Linux's virtio ring code over a DMA area registered as host memory at `bus` (made at
        the first call; later calls must ask for the same place)."""
        if self._linux is None:
            area = DmaArea(bus=bus)
            self.rc.mem_address_space.register_region(MemoryRegion(area.size, mem=area.mem), bus)
            self._linux = LinuxRing(area)
        elif self._linux.area.bus != bus:
            raise ValueError(f"the DMA area is at {self._linux.area.bus:#x}, not {bus:#x}")
        return self._linux

    async def init(self, timeout_ns: int = 20_000) -> None:
        """Wait for the core's reset, enumerate, enable bus mastering and MSI."""
        try:
            await with_timeout(FallingEdge(self.dut.rst), timeout_ns, "ns")
        except cocotb.triggers.SimTimeoutError:
            raise TimeoutError(f"user_reset from the PCIe core model did not fall within {timeout_ns} ns") from None
        await Timer(100, "ns")
        await RisingEdge(self.dut.clk)
        # Enumeration runs once, at boot, and no figure includes it: its ~130 configuration
        # reads skip the injected host latency (at the defaults they would add 130 us of
        # simulated time, about 10 s of Icarus, to every test that sets a latency).
        delay, self.tap.delay = self.tap.delay, lambda tlp: 0
        try:
            await self.host.enumerate(self.params.msi_vectors)
            await set_max_read_request(self.host.dev, self.profile.max_read_request)
        finally:
            self.tap.delay = delay
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
