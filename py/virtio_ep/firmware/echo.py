"""Echo firmware: the foundation's system scenario.

On the mailbox doorbell, read the request through the SRAM window, write the reply
(payload reversed) and request the MSI. Everything goes through the local bus.
"""

from __future__ import annotations

import struct

from cocotb.triggers import Event

from ..layout import ECHO
from .soft_cpu import SoftCpu


class EchoFirmware:
    def __init__(self, cpu: SoftCpu, slots: int):
        self.cpu = cpu
        self.slots = slots
        self.served = 0
        self.errors: list[str] = []
        self.stop = Event()

    async def run(self) -> None:
        await self.cpu.service_doorbells(self.slots, self._on_doorbell, self.stop)

    async def _on_doorbell(self, slot: int, value: int) -> None:
        if slot != ECHO.doorbell_slot:
            self.errors.append(f"unexpected doorbell slot {slot} (value 0x{value:x})")
            return
        header = await self.cpu.read_sram(ECHO.request_offset, ECHO.header_bytes)
        seq, length = struct.unpack("<II", header)
        if seq != value:
            # the doorbell carries the seq: a mismatch means the request was not yet visible
            self.errors.append(f"request seq {seq} does not match doorbell value {value}")
        if length > ECHO.max_payload:
            self.errors.append(f"request length {length} above {ECHO.max_payload}")
            length = 0
        payload = await self.cpu.read_sram(ECHO.request_offset + ECHO.header_bytes, length)
        reply = struct.pack("<II", seq, length) + payload[::-1]
        await self.cpu.write_sram(ECHO.reply_offset, reply)
        await self.cpu.request_msi(ECHO.msi_vector)
        self.served += 1
