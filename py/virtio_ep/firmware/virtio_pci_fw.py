"""Device firmware of the virtio-pci baseline: the modern common configuration structure
in BAR0 SRAM, seen by the firmware only by polling it (as Linux's pci-epf endpoint
functions and the out-of-tree virtio endpoint functions do).

Every `poll_period` cycles the firmware reads the first 32 bytes of the structure,
compares them with the values it last acted on and reacts: it fills the window behind a new
device_feature_select or queue_select, records driver_feature for the current select,
applies device_status changes (reset, FEATURES_OK check, DRIVER_OK), and records a queue
when queue_enable becomes 1. What it cannot do is react before the driver's next access:
that is what the baseline tests show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from cocotb.triggers import Event
from cocotb.utils import get_sim_time

from ..devices import VirtioDevice
from ..layout import (PCI_ACK, PCI_COMMON_CFG_OFFSET, PCI_DEVICE_CFG_OFFSET, PciCommonCfg as CC, VIRTIO_MSI_NO_VECTOR,
                      VirtioStatus)
from .soft_cpu import SoftCpu

POLLED_BYTES = CC.QUEUE_DESC.offset          # the 32 bytes up to queue_desc are read every pass
FEATURE_WORDS = 4                            # 128 feature bits, 32 per select value



@dataclass
class PciQueue:
    size: int
    msix_vector: int
    desc: int
    driver: int
    device: int


@dataclass
class PollingState:
    seen_dsel: int = 0               # last device_feature_select acted on
    seen_qsel: int = 0               # last queue_select acted on
    seen_status: int = 0             # last device_status acted on (or written by the device)
    status: int = 0
    driver_features: list[int] = field(default_factory=lambda: [0] * FEATURE_WORDS)
    queues: dict[int, PciQueue] = field(default_factory=dict)
    polls: int = 0
    refused: int = 0


class VirtioPciPollingFirmware:
    def __init__(self, cpu: SoftCpu, device: VirtioDevice, poll_period: int = 1000,
                 log: logging.Logger | None = None, ack_word: bool = False):
        """`ack_word`: the OCTEON-style workaround; the firmware clears PCI_ACK after the
        polling pass in which it saw it set."""
        self.cpu = cpu
        self.dev = device
        self.poll_period = poll_period
        self.log = log or logging.getLogger("cocotb.firmware.virtio_pci")
        self.st = PollingState()
        self.stop = Event()
        self.published = Event()
        self.pass_done = Event()           # set after every polling pass (for measurements)
        self.ack_word = ack_word

    async def _write(self, f, value: int) -> None:
        await self.cpu.write_sram(PCI_COMMON_CFG_OFFSET + f.offset, value.to_bytes(f.size, "little"))

    def _feature_word(self, select: int) -> int:
        return (self.dev.features >> (32 * select)) & 0xFFFF_FFFF if select < FEATURE_WORDS else 0

    async def _fill_queue_window(self, q: int) -> None:
        """Write the fields behind queue_select = q (size .. notify_off, then the addresses)."""
        known = self.st.queues.get(q)
        exists = q < self.dev.num_queues
        size = known.size if known else (self.dev.max_queue_size if exists else 0)
        vector = known.msix_vector if known else VIRTIO_MSI_NO_VECTOR
        window = (size.to_bytes(2, "little") + vector.to_bytes(2, "little")
                  + (1 if known else 0).to_bytes(2, "little") + ((1 + q) if exists else 0).to_bytes(2, "little"))
        addrs = b"".join((getattr(known, a) if known else 0).to_bytes(8, "little") for a in ("desc", "driver", "device"))
        await self.cpu.write_sram(PCI_COMMON_CFG_OFFSET + CC.QUEUE_SIZE.offset, window + addrs)

    async def publish(self) -> None:
        raw = bytearray(CC.SIZE)

        def put(f, v):
            raw[f.offset:f.offset + f.size] = v.to_bytes(f.size, "little")
        put(CC.DEVICE_FEATURE, self._feature_word(0))
        put(CC.CONFIG_MSIX_VECTOR, VIRTIO_MSI_NO_VECTOR)
        put(CC.NUM_QUEUES, self.dev.num_queues)
        await self.cpu.write_sram(PCI_COMMON_CFG_OFFSET, bytes(raw))
        await self._fill_queue_window(0)
        if self.dev.config:
            await self.cpu.write_sram(PCI_DEVICE_CFG_OFFSET, bytes(self.dev.config))
        self.published.set()

    async def run(self) -> None:
        await self.cpu.read_build_parameters()
        await self.publish()
        cpu = self.cpu
        while not self.stop.is_set():
            cpu.asleep.set()
            await cpu.sleep(self.poll_period, until=self.stop)   # a timer, not a wake-up per clock
            cpu.asleep.clear()
            if self.stop.is_set():
                break
            t0 = get_sim_time("ns")
            await self.poll_once()
            cpu.awake_ns += get_sim_time("ns") - t0

    async def poll_once(self) -> None:
        """One pass: read the polled words, react to what changed since the last pass.

        Changes are detected against the values the firmware last acted on (never against
        a re-read after its own writes, which could swallow a driver write in between)."""
        cpu, st = self.cpu, self.st
        st.polls += 1
        await cpu.compute(cpu.costs.poll_iteration)
        # the acknowledge word first: a driver sets it after the writes it covers
        ack = self.ack_word and await cpu.read_sram_u32(PCI_ACK.offset)
        raw = await cpu.read_sram(PCI_COMMON_CFG_OFFSET, POLLED_BYTES)

        dsel = CC.DEVICE_FEATURE_SELECT.get(raw)
        if dsel != st.seen_dsel:
            st.seen_dsel = dsel
            await self._write(CC.DEVICE_FEATURE, self._feature_word(dsel))

        gsel = CC.DRIVER_FEATURE_SELECT.get(raw)
        if gsel < FEATURE_WORDS:
            # one memory word behind every select value: only the last one written survives
            st.driver_features[gsel] = CC.DRIVER_FEATURE.get(raw)

        status = CC.DEVICE_STATUS.get(raw)
        qsel = CC.QUEUE_SELECT.get(raw)
        if status != st.seen_status:
            st.seen_status = status
            await self._on_status(status, qsel)
        elif qsel != st.seen_qsel:
            st.seen_qsel = qsel
            await self._fill_queue_window(qsel)
        elif CC.QUEUE_ENABLE.get(raw) == 1 and qsel not in st.queues and qsel < self.dev.num_queues:
            addrs = await cpu.read_sram(PCI_COMMON_CFG_OFFSET + CC.QUEUE_DESC.offset, 24)
            await cpu.compute(cpu.costs.queue_validate)
            st.queues[qsel] = PciQueue(CC.QUEUE_SIZE.get(raw), CC.QUEUE_MSIX_VECTOR.get(raw),
                                       int.from_bytes(addrs[0:8], "little"), int.from_bytes(addrs[8:16], "little"),
                                       int.from_bytes(addrs[16:24], "little"))
        if ack:
            await cpu.write_sram_u32(PCI_ACK.offset, 0)
        self.pass_done.set()

    async def _on_status(self, status: int, qsel: int) -> None:
        cpu, st = self.cpu, self.st
        await cpu.compute(cpu.costs.control_decode)
        if status == 0:
            st.status = 0
            st.queues.clear()
            st.driver_features = [0] * FEATURE_WORDS
            st.seen_qsel = qsel
            await self._fill_queue_window(qsel)
            return
        if status & VirtioStatus.FEATURES_OK and not st.status & VirtioStatus.FEATURES_OK:
            features = sum(w << (32 * i) for i, w in enumerate(st.driver_features))
            await cpu.compute(cpu.costs.features_check)
            if not self.dev.accepts(features):
                # refuse: clear FEATURES_OK (a read-modify-write of a driver-written byte)
                st.refused += 1
                status &= ~VirtioStatus.FEATURES_OK
                await self._write(CC.DEVICE_STATUS, status)
                st.seen_status = status
        st.status = status

    def driver_features(self) -> int:
        return sum(w << (32 * i) for i, w in enumerate(self.st.driver_features))

    async def set_needs_reset(self) -> None:
        """The device's side of the status byte: read-modify-write DEVICE_NEEDS_RESET in."""
        status = await self.cpu.read_sram_int(PCI_COMMON_CFG_OFFSET + CC.DEVICE_STATUS.offset, 1)
        await self._write(CC.DEVICE_STATUS, status | VirtioStatus.DEVICE_NEEDS_RESET)
