"""Host driver of the virtio-pci baseline, written as Linux's virtio_pci_modern does it:
select then read, write status then read it back, read-modify-write the status byte.

On this endpoint BAR0 is plain memory, so every one of those steps can return what the
driver itself wrote instead of the device's answer. `settle_cycles` models a patched
driver that waits that long after each select or status write; 0 is the stock driver.
"""

from __future__ import annotations

from cocotb.triggers import Timer

from ..devices import CONFIG_SIZE
from ..layout import (BAR_SRAM, DB_SLOT_STRIDE, PCI_ACK, PCI_ACK_POLL_NS, PCI_COMMON_CFG_OFFSET, PCI_DEVICE_CFG_OFFSET, PCI_DEVICE_ID_MODERN_BASE,
                      PCI_NOTIFY_OFF_MULTIPLIER, PciCommonCfg as CC, USER_CLK_HZ, VirtioDeviceId, VirtioStatus)
from .pcie_host import HostPcie
from .virtio_core import DeviceInfo, FeaturesRefused, QueueConfig, Transport, TransportError

CLK_NS = 1e9 / USER_CLK_HZ
FEATURE_SELECTS = 2                  # Linux reads and writes 64 feature bits


class VirtioPciTransport(Transport):
    name = "virtio-pci"

    def __init__(self, host: HostPcie, settle_cycles: int = 0):
        self.host = host
        self.settle_cycles = settle_cycles
        self.info: DeviceInfo | None = None

    async def settle(self) -> None:
        if self.settle_cycles:
            await Timer(self.settle_cycles * CLK_NS, "ns")

    async def rd(self, f) -> int:
        return int.from_bytes(await self.host.read(BAR_SRAM, PCI_COMMON_CFG_OFFSET + f.offset, f.size), "little")

    async def wr(self, f, value: int) -> None:
        await self.host.write(BAR_SRAM, PCI_COMMON_CFG_OFFSET + f.offset, value.to_bytes(f.size, "little"))

    async def get_status(self) -> int:
        return await self.rd(CC.DEVICE_STATUS)

    async def set_status(self, status: int) -> None:
        await self.wr(CC.DEVICE_STATUS, status)

    async def add_status(self, bits: int) -> None:
        """vp_set_status(get_status() | bits): a read-modify-write across the link."""
        await self.set_status(await self.get_status() | bits)
        await self.settle()

    async def read_device_features(self) -> int:
        features = 0
        for sel in range(FEATURE_SELECTS):
            await self.wr(CC.DEVICE_FEATURE_SELECT, sel)
            await self.settle()
            features |= await self.rd(CC.DEVICE_FEATURE) << (32 * sel)
        return features

    async def discover(self) -> DeviceInfo:
        dev_id = VirtioDeviceId(self.host.dev.device_id - PCI_DEVICE_ID_MODERN_BASE)
        num_queues = await self.rd(CC.NUM_QUEUES)
        features = await self.read_device_features()
        await self.wr(CC.QUEUE_SELECT, 0)
        await self.settle()
        max_size = await self.rd(CC.QUEUE_SIZE)
        self.info = DeviceInfo(dev_id, features, num_queues, max_size, CONFIG_SIZE[dev_id])
        return self.info

    async def reset(self) -> None:
        """vp_reset: write 0, then wait until the status reads 0 (it does at once: memory)."""
        await self.set_status(0)
        await self.settle()
        while await self.get_status() != 0:
            await self.settle()

    async def set_features(self, features: int) -> None:
        await self.add_status(VirtioStatus.ACKNOWLEDGE)
        await self.add_status(VirtioStatus.DRIVER)
        for sel in range(FEATURE_SELECTS):
            await self.wr(CC.DRIVER_FEATURE_SELECT, sel)
            await self.settle()
            await self.wr(CC.DRIVER_FEATURE, (features >> (32 * sel)) & 0xFFFF_FFFF)
            await self.settle()
        await self.add_status(VirtioStatus.FEATURES_OK)
        if not await self.get_status() & VirtioStatus.FEATURES_OK:
            raise FeaturesRefused(f"device cleared FEATURES_OK for features 0x{features:x}")

    async def setup_queues(self, queues: list[QueueConfig]) -> list[QueueConfig]:
        for q in queues:
            await self.wr(CC.QUEUE_SELECT, q.index)
            await self.settle()
            max_size = await self.rd(CC.QUEUE_SIZE)
            if max_size == 0:
                raise TransportError(f"queue {q.index} does not exist (queue_size reads 0)")
            q.size = min(q.size, max_size)
            await self.wr(CC.QUEUE_SIZE, q.size)
            await self.wr(CC.QUEUE_MSIX_VECTOR, q.msi_vector)
            await self.wr(CC.QUEUE_DESC, q.desc)
            await self.wr(CC.QUEUE_DRIVER, q.driver)
            await self.wr(CC.QUEUE_DEVICE, q.device)
            q.notify_slot = await self.rd(CC.QUEUE_NOTIFY_OFF) * PCI_NOTIFY_OFF_MULTIPLIER // DB_SLOT_STRIDE
            await self.wr(CC.QUEUE_ENABLE, 1)
            await self.settle()
        return queues

    async def driver_ok(self) -> None:
        await self.add_status(VirtioStatus.DRIVER_OK)

    async def read_config(self, length: int) -> bytes:
        for _ in range(8):
            gen = await self.rd(CC.CONFIG_GENERATION)
            data = await self.host.read(BAR_SRAM, PCI_DEVICE_CFG_OFFSET, length) if length else b""
            if await self.rd(CC.CONFIG_GENERATION) == gen:
                return data
        raise TransportError("config_generation kept changing")


class VirtioPciAckTransport(VirtioPciTransport):
    """The OCTEON workaround: after every select or status write, set PCI_ACK and poll it
    (every PCI_ACK_POLL_NS) until the polling firmware clears it."""

    name = "virtio-pci-ack"

    def __init__(self, host: HostPcie, timeout_ns: int = 1_000_000, poll_ns: int = PCI_ACK_POLL_NS):
        super().__init__(host)
        self.timeout_ns = timeout_ns
        self.poll_ns = poll_ns
        self.polls = 0

    async def settle(self) -> None:
        await self.host.write32(BAR_SRAM, PCI_ACK.offset, 1)
        waited = 0
        while await self.host.read32(BAR_SRAM, PCI_ACK.offset):
            self.polls += 1
            if waited >= self.timeout_ns:
                raise TransportError(f"firmware did not clear the acknowledge word within {self.timeout_ns} ns")
            await Timer(self.poll_ns, "ns")
            waited += self.poll_ns
