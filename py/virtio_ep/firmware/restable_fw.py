"""Device firmware of the resource-table transport (remoteproc/rpmsg style).

At boot the firmware writes a table into BAR0: identity, 128-bit features, config, and
one entry per vring with the BAR0 offsets the device chose for its rings. The driver
reads it, writes its features and final status once and rings doorbell slot 0; the
firmware then reads those words and applies them. There is no way for the device to
answer (no acknowledgement word), as in remoteproc: a refusal is only recorded here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cocotb.triggers import Event

from ..devices import VirtioDevice
from ..layout import (RSC_MAGIC, RSC_RING_AREA, RSC_RING_STRIDE, RSC_VERSION, RSC_VRING_STRIDE, QueueMode, RING_AREA_ALIGN, align_up, ring_area_sizes,
                      RscDriver, RscTable, RscVring, VirtioStatus)
from ..rings.memory import RingError
from .backends import backend_for
from .datapath import DeviceQueue
from .soft_cpu import SoftCpu

CONFIG_DOORBELL = 0


@dataclass
class Vring:
    desc: int
    driver: int
    device: int
    num: int
    notify_slot: int
    msi_vector: int


def vring_placement(index: int, num: int) -> Vring:
    """Device-chosen BAR0 offsets of vring `index`: descriptors, then avail, then used."""
    desc_len, avail_len, _ = ring_area_sizes(QueueMode.SPLIT, num)
    _, avail_align, used_align = RING_AREA_ALIGN[QueueMode.SPLIT]
    base = RSC_RING_AREA + RSC_RING_STRIDE * index
    avail = align_up(base + desc_len, avail_align)
    used = align_up(avail + avail_len, used_align)
    return Vring(base, avail, used, num, 1 + index, 1 + index)


class ResourceTableFirmware:
    def __init__(self, cpu: SoftCpu, device: VirtioDevice, slots: int, log: logging.Logger | None = None):
        self.cpu = cpu
        self.dev = device
        self.slots = slots
        self.log = log or logging.getLogger("cocotb.firmware.restable")
        num = min(device.max_queue_size, 128)
        self.vrings = [vring_placement(i, num) for i in range(device.num_queues)]
        for v in self.vrings:
            used_len = ring_area_sizes(QueueMode.SPLIT, v.num)[2]
            if v.device + used_len > RSC_RING_AREA + RSC_RING_STRIDE * (self.vrings.index(v) + 1):
                raise ValueError(f"vring of {v.num} entries does not fit its {RSC_RING_STRIDE}-byte slot")
        self.status = 0
        self.features = 0
        self.refused = 0
        self.backend = backend_for(device)
        self.dq: dict[int, DeviceQueue] = {}
        self.ring_errors: list[str] = []
        self.stop = Event()
        self.published = Event()
        self.queue_notifications: dict[int, int] = {}

    async def publish(self) -> None:
        t = bytearray(RscTable.SIZE)

        def put(off, size, v):
            t[off:off + size] = v.to_bytes(size, "little")
        put(RscTable.VERSION.offset, 4, RSC_VERSION)
        put(RscTable.DEVICE_ID.offset, 4, int(self.dev.device_id))
        put(RscTable.NUM_VRINGS.offset, 4, len(self.vrings))
        put(RscTable.DEVICE_FEATURES.offset, 16, self.dev.features)
        put(RscTable.CONFIG_OFFSET.offset, 4, RscTable.CONFIG)
        put(RscTable.CONFIG_LEN.offset, 4, len(self.dev.config))
        for i, v in enumerate(self.vrings):
            base = RscTable.VRINGS + RSC_VRING_STRIDE * i
            for f, value in ((RscVring.DESC, v.desc), (RscVring.DRIVER, v.driver), (RscVring.DEVICE, v.device),
                             (RscVring.NUM, v.num), (RscVring.NOTIFY_SLOT, v.notify_slot),
                             (RscVring.MSI_VECTOR, v.msi_vector)):
                put(base + f.offset, f.size, value)
        t[RscTable.CONFIG:RscTable.CONFIG + len(self.dev.config)] = self.dev.config
        await self.cpu.write_sram_u32(RscTable.MAGIC.offset, 0)
        await self.cpu.write_sram(4, bytes(t[4:]))
        await self.cpu.write_sram(RscDriver.BASE, bytes(RscDriver.STATUS.offset + 4 - RscDriver.BASE))
        await self.cpu.write_sram_u32(RscTable.MAGIC.offset, RSC_MAGIC)
        self.published.set()

    async def run(self) -> None:
        await self.publish()
        await self.cpu.service_doorbells(self.slots, self._on_doorbell, self.stop)

    async def _on_doorbell(self, slot: int, value: int) -> bool:
        """True when the queue's back end stopped with work left (another turn)."""
        if slot == CONFIG_DOORBELL:
            await self._on_config()
            return False
        q = slot - 1
        self.queue_notifications[q] = self.queue_notifications.get(q, 0) + 1
        dq = self.dq.get(q)
        if dq is None:
            return False
        try:
            return bool(await self.backend.on_notify(dq, self.dq))
        except RingError as exc:
            # no status word to report it in: the queue is stopped and the error recorded
            self.ring_errors.append(f"queue {q}: {exc.reason}: {exc}")
            self.dq.pop(q, None)
            return False

    async def _on_config(self) -> None:
        cpu = self.cpu
        await cpu.compute(cpu.costs.control_decode)
        status = await cpu.read_sram_u32(RscDriver.STATUS.offset)
        if status == 0:
            self.status, self.features = 0, 0
            self.dq.clear()
            return
        if status & VirtioStatus.FEATURES_OK and not self.status & VirtioStatus.FEATURES_OK:
            features = await cpu.read_sram_int(RscDriver.DRIVER_FEATURES.offset, RscDriver.DRIVER_FEATURES.size)
            await cpu.compute(cpu.costs.features_check)
            if not self.dev.accepts(features):
                self.refused += 1
                self.log.warning("driver features 0x%x refused; the driver cannot be told", features)
                return
            self.features = features
        if status & VirtioStatus.DRIVER_OK and not self.status & VirtioStatus.DRIVER_OK:
            # the rings are where the device put them: in BAR0, reached through the window
            self.dq = {i: DeviceQueue(cpu, i, QueueMode.SPLIT, v.desc, v.driver, v.device, v.num, v.msi_vector,
                                      ring_in_bar0=True, features=self.features) for i, v in enumerate(self.vrings)}
            for dq in self.dq.values():
                await dq.init()
        self.status = status
