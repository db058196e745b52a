"""Host driver of the resource-table transport (remoteproc/rpmsg style).

Discovery is one read of the table; the rings are where the device placed them (in
BAR0); the driver writes its features and its final status once and rings doorbell 0.
Nothing comes back: the driver cannot learn that the device refused its features.
"""

from __future__ import annotations

from ..layout import (BAR_SRAM, RSC_MAGIC, RSC_VERSION, RSC_VRING_STRIDE, RscDriver, RscTable, RscVring,
                      VirtioDeviceId, VirtioStatus)
from .pcie_host import HostPcie
from .virtio_core import DeviceInfo, QueueConfig, Transport, TransportError

CONFIG_DOORBELL = 0


def _int(buf: bytes, off: int, size: int) -> int:
    return int.from_bytes(buf[off:off + size], "little")


class ResourceTableTransport(Transport):
    name = "restable"

    def __init__(self, host: HostPcie):
        self.host = host
        self.table = b""
        self.features = 0
        self.info: DeviceInfo | None = None

    async def discover(self) -> DeviceInfo:
        t = await self.host.read(BAR_SRAM, 0, RscTable.SIZE)
        if _int(t, RscTable.MAGIC.offset, 4) != RSC_MAGIC or _int(t, RscTable.VERSION.offset, 4) != RSC_VERSION:
            raise TransportError("no resource table in BAR0")
        self.table = t
        nvr = _int(t, RscTable.NUM_VRINGS.offset, 4)
        nums = [_int(t, RscTable.VRINGS + RSC_VRING_STRIDE * i + RscVring.NUM.offset, 4) for i in range(nvr)]
        self.info = DeviceInfo(VirtioDeviceId(_int(t, RscTable.DEVICE_ID.offset, 4)),
                               _int(t, RscTable.DEVICE_FEATURES.offset, 16), nvr, min(nums) if nums else 0,
                               _int(t, RscTable.CONFIG_LEN.offset, 4))
        return self.info

    async def reset(self) -> None:
        await self.host.write32(BAR_SRAM, RscDriver.STATUS.offset, 0)
        await self.host.ring_doorbell(CONFIG_DOORBELL, 0)

    async def set_features(self, features: int) -> None:
        # written once; FEATURES_OK travels with DRIVER_OK in the final status write
        self.features = features
        await self.host.write(BAR_SRAM, RscDriver.DRIVER_FEATURES.offset, features.to_bytes(16, "little"))

    async def setup_queues(self, queues: list[QueueConfig]) -> list[QueueConfig]:
        """The device chose the rings: take its placement (BAR0 offsets) from the table."""
        placed = []
        for q in queues:
            e = RscTable.VRINGS + RSC_VRING_STRIDE * q.index
            t = self.table
            placed.append(QueueConfig(q.index, _int(t, e + RscVring.NUM.offset, 4),
                                      _int(t, e + RscVring.DESC.offset, 4), _int(t, e + RscVring.DRIVER.offset, 4),
                                      _int(t, e + RscVring.DEVICE.offset, 4), _int(t, e + RscVring.MSI_VECTOR.offset, 4),
                                      notify_slot=_int(t, e + RscVring.NOTIFY_SLOT.offset, 4)))
        return placed

    async def driver_ok(self) -> None:
        status = VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK | VirtioStatus.DRIVER_OK
        await self.host.write32(BAR_SRAM, RscDriver.STATUS.offset, status)
        await self.host.ring_doorbell(CONFIG_DOORBELL, 1)

    async def read_config(self, length: int) -> bytes:
        off = _int(self.table, RscTable.CONFIG_OFFSET.offset, 4)
        return self.table[off:off + length]
