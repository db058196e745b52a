"""The host's view of the endpoint, as a kernel driver sees it: configuration space,
BAR reads and writes, and MSI vectors, all through the cocotbext-pcie root complex.

Every wait takes a timeout and fails with a message that says what it waited for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import Event, Timer, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.pcie.core import RootComplex

from .. import layout

DEFAULT_TIMEOUT_NS = 100_000


class HostAccessError(Exception):
    """A BAR access failed (Unsupported Request, Completer Abort or completion timeout)."""


class HostTimeout(TimeoutError):
    pass


@dataclass
class MsiVectorState:
    count: int = 0
    times_ns: list[float] = field(default_factory=list)
    event: Event = field(default_factory=Event)


async def set_max_read_request(dev, size: int) -> None:
    """Program a function's Max_Read_Request_Size (Device Control 14:12; `dev` is the root
    complex's view of it), as a host's PCI core does for its platform (Linux:
    pcie_set_readrq)."""
    from cocotbext.pcie.core.caps import PciCapId
    code = layout.pcie_size_code(size)
    pcie = dev.get_capability_offset(PciCapId.EXP)
    if not pcie:
        raise HostAccessError("endpoint has no PCI Express capability")
    devctl = await dev.config_read_word(pcie + layout.PcieCap.DEVICE_CONTROL)
    devctl = devctl & ~layout.PCIE_DEVCTL_MAX_READ_REQ_MASK & ~layout.PCIE_DEVCTL_INITIATE_FLR
    await dev.config_write_word(pcie + layout.PcieCap.DEVICE_CONTROL, devctl | code << layout.PCIE_DEVCTL_MAX_READ_REQ_SHIFT)


class HostPcie:
    """Enumerates the endpoint, maps its BARs and takes its MSIs."""

    def __init__(self, rc: RootComplex, function, log: logging.Logger | None = None):
        """`function`: the endpoint's function in the core model; its PCIe ID (bus
        number) is known only once enumeration has configured it."""
        self.rc = rc
        self.function = function
        self.log = log or logging.getLogger("cocotb.host")
        self.dev = None
        self.msi_vectors: list[MsiVectorState] = []
        self.mmio_read_ns = 0.0      # time the CPU spent stalled in BAR reads (a load waits for its data)

    async def enumerate(self, msi_vectors: int = 32, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> None:
        await self.rc.enumerate(timeout=timeout_ns, timeout_unit="ns")
        self.pcie_id = self.function.pcie_id
        self.dev = self.rc.find_device(self.pcie_id)
        if self.dev is None:
            raise HostAccessError(f"endpoint {self.pcie_id} not found during enumeration")
        await self.dev.enable_device()
        await self.dev.set_master()
        nvec = await self.dev.alloc_irq_vectors(1, msi_vectors)
        if nvec < 1:
            raise HostAccessError(f"could not allocate MSI vectors (got {nvec})")
        self.msi_vectors = [MsiVectorState() for _ in range(nvec)]
        for k in range(nvec):
            self.dev.request_irq(k, self._msi_handler(k))
        self.log.info("endpoint %s enumerated: BAR0 0x%x (%d bytes), BAR2 0x%x (%d bytes), %d MSI vectors",
                      self.pcie_id, self.dev.bar_addr[layout.BAR_SRAM], self.dev.bar_size[layout.BAR_SRAM],
                      self.dev.bar_addr[layout.BAR_DOORBELL], self.dev.bar_size[layout.BAR_DOORBELL], nvec)

    def _msi_handler(self, vector: int):
        async def handler() -> None:
            st = self.msi_vectors[vector]
            st.count += 1
            st.times_ns.append(get_sim_time("ns"))
            st.event.set()
        return handler

    @staticmethod
    def now_ns() -> float:
        return get_sim_time("ns")

    # -- BAR access -----------------------------------------------------------

    def bar(self, index: int):
        if self.dev is None:
            raise HostAccessError("endpoint not enumerated")
        return self.dev.bar_window[index]

    async def read(self, bar: int, offset: int, length: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> bytes:
        t0 = get_sim_time("ns")
        try:
            return await self.bar(bar).read(offset, length, timeout=timeout_ns, timeout_unit="ns")
        except Exception as exc:  # the RC model raises plain Exception for UR/CA/timeout
            raise HostAccessError(f"BAR{bar} read of {length} bytes at 0x{offset:x} failed: {exc}") from exc
        finally:
            self.mmio_read_ns += get_sim_time("ns") - t0

    async def write(self, bar: int, offset: int, data: bytes) -> None:
        await self.bar(bar).write(offset, data)

    async def read32(self, bar: int, offset: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> int:
        return int.from_bytes(await self.read(bar, offset, 4, timeout_ns), "little")

    async def write32(self, bar: int, offset: int, value: int) -> None:
        await self.write(bar, offset, value.to_bytes(4, "little"))

    async def ring_doorbell(self, slot: int, value: int) -> None:
        await self.write32(layout.BAR_DOORBELL, slot * layout.DB_SLOT_STRIDE, value)

    # -- MSI ------------------------------------------------------------------

    def msi_count(self, vector: int) -> int:
        return self.msi_vectors[vector].count

    async def wait_msi(self, vector: int, count: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> float:
        """Wait until `vector` has fired `count` times in total; return the time of that MSI."""
        st = self.msi_vectors[vector]
        deadline_ps = get_sim_time("ps") + int(timeout_ns * 1000)
        while st.count < count:
            left_ps = deadline_ps - get_sim_time("ps")
            if left_ps <= 0:
                raise HostTimeout(f"MSI vector {vector}: waited {timeout_ns} ns for MSI #{count}, got {st.count}")
            st.event.clear()
            try:
                await with_timeout(st.event.wait(), left_ps, "ps")
            except cocotb.triggers.SimTimeoutError:
                raise HostTimeout(f"MSI vector {vector}: waited {timeout_ns} ns for MSI #{count}, got {st.count}") from None
        return st.times_ns[count - 1]

    # -- configuration space --------------------------------------------------

    async def msi_cap_offset(self) -> int:
        from cocotbext.pcie.core.caps import PciCapId
        off = self.dev.get_capability_offset(PciCapId.MSI)
        if not off:
            raise HostAccessError("endpoint has no MSI capability")
        return off

    async def msi_pending(self) -> int:
        """The MSI capability's per-vector Pending Bits, as the host reads them."""
        return await self.dev.config_read_dword(await self.msi_cap_offset() + layout.MsiCap.PENDING)

    async def set_msi_mask(self, mask: int) -> None:
        """Write the MSI per-vector mask bits."""
        off = await self.msi_cap_offset()
        await self.dev.config_write_dword(off + layout.MsiCap.MASK, mask)

    async def function_level_reset(self, wait_ns: int, timeout_ns: int = DEFAULT_TIMEOUT_NS) -> None:
        """Initiate an FLR (PCIe capability, Device Control bit 15), wait `wait_ns` as a
        driver must before touching the function again (100 ms on real hardware), then
        restore what the reset cleared: memory space, bus mastering, MSI enable."""
        from cocotbext.pcie.core.caps import PciCapId
        pcie = self.dev.get_capability_offset(PciCapId.EXP)
        if not pcie:
            raise HostAccessError("endpoint has no PCI Express capability")
        devctl = await self.dev.config_read_word(pcie + layout.PcieCap.DEVICE_CONTROL)
        await self.dev.config_write_word(pcie + layout.PcieCap.DEVICE_CONTROL, devctl | layout.PCIE_DEVCTL_INITIATE_FLR)
        await Timer(wait_ns, "ns")
        command = await self.dev.config_read_word(layout.PciHeader.COMMAND)
        await self.dev.config_write_word(layout.PciHeader.COMMAND, command | layout.PCI_COMMAND_MEMORY | layout.PCI_COMMAND_MASTER)
        await self.set_msi_enable(True)

    async def hot_reset(self, hold_ns: int, wait_ns: int) -> None:
        """A secondary bus reset from the root port above the endpoint, done as Linux does
        it: save the endpoint's configuration (header, MSI capability, PCIe device control),
        set Secondary Bus Reset in the port's bridge control, hold it `hold_ns` (at least
        1 ms on hardware), clear it, wait `wait_ns` for the link and the device (100 ms on
        hardware), then restore the configuration, command register and MSI control last."""
        from cocotbext.pcie.core.caps import PciCapId
        dev = self.dev
        port = dev.bus.bridge                       # the root port, on the host's side
        header = [await dev.config_read_dword(4 * k) for k in range(layout.PCI_HEADER_DWORDS)]
        msi = await self.msi_cap_offset()
        msi_regs = {r: await dev.config_read_dword(msi + r) for r in
                    (layout.MsiCap.ADDRESS_LO, layout.MsiCap.ADDRESS_HI, layout.MsiCap.DATA, layout.MsiCap.MASK)}
        msi_control = await dev.config_read_word(msi + layout.MsiCap.CONTROL)
        pcie = dev.get_capability_offset(PciCapId.EXP)
        devctl = await dev.config_read_word(pcie + layout.PcieCap.DEVICE_CONTROL) if pcie else None
        bridge_ctl = await port.config_read_word(layout.PCI_BRIDGE_CONTROL)
        await port.config_write_word(layout.PCI_BRIDGE_CONTROL, bridge_ctl | layout.PCI_BRIDGE_CTL_BUS_RESET)
        await Timer(hold_ns, "ns")
        await port.config_write_word(layout.PCI_BRIDGE_CONTROL, bridge_ctl & ~layout.PCI_BRIDGE_CTL_BUS_RESET)
        await Timer(wait_ns, "ns")
        for k in range(layout.PCI_HEADER_DWORDS - 1, 0, -1):     # BARs before the command register
            await dev.config_write_dword(4 * k, header[k])
        if devctl is not None:
            await dev.config_write_word(pcie + layout.PcieCap.DEVICE_CONTROL, devctl & ~layout.PCIE_DEVCTL_INITIATE_FLR)
        for reg, value in msi_regs.items():
            await dev.config_write_dword(msi + reg, value)
        await dev.config_write_word(msi + layout.MsiCap.CONTROL, msi_control)

    async def set_msi_enable(self, enable: bool) -> None:
        off = await self.msi_cap_offset()
        ctrl = await self.dev.config_read_word(off + layout.MsiCap.CONTROL)
        if enable:
            ctrl |= layout.MSI_CONTROL_ENABLE
        else:
            ctrl &= ~layout.MSI_CONTROL_ENABLE
        await self.dev.config_write_word(off + layout.MsiCap.CONTROL, ctrl)
