"""The async transport's device page and its mirror in host memory (docs/transport.md,
"The mirror page").

Every word the firmware writes into the device page (BAR0 SRAM) goes through `DevicePage`.
With a mirror set by the driver, the same bytes are also written to the same offset of a
host page by DMA (posted writes, in the order the firmware wrote them): the driver then
reads RAM only, never BAR0. Before any MSI the firmware calls `settle`: every mirror write
has ended (its TLP is on the link ahead of the MSI, and PCIe keeps posted writes in order),
so an MSI never announces a word the driver cannot see yet. A mirror write the host refuses
(or that never ends) turns the mirror off and sets MIRROR_FAILED in BAR0's DEVICE_STATE:
from then on BAR0 alone holds the truth, and the driver, woken with nothing new in RAM,
looks there.
"""

from __future__ import annotations

from ..layout import (ASYNC_STATE_MIRROR_FAILED, MIRROR_STAGE, MIRROR_STAGE_SIZE, AsyncDevicePage as DEV,
                      DmaDir, DmaResult, Region)
from .soft_cpu import SoftCpu


class DevicePage:
    """Writer of the device page: BAR0, and the mirror when there is one."""

    def __init__(self, cpu: SoftCpu):
        self.cpu = cpu
        self.addr = 0                               # the mirror's host address (0: none)
        self.failed = False                         # a mirror write failed since the mirror was set
        self.stop_after_ack = False                 # "mirror off": after this change's ACK
        self.in_flight: list[int] = []              # DMA tags of mirror writes not yet settled
        self.writes = 0                             # mirror writes started (for tests and the bench)

    async def write(self, offset: int, data: bytes) -> None:
        """`data` at device-page offset `offset` (BAR0 offset DEV.BASE + offset)."""
        await self.cpu.write_sram(DEV.BASE + offset, data)
        if self.addr:
            await self._mirror(offset, data)

    async def write_u32(self, offset: int, value: int) -> None:
        await self.write(offset, value.to_bytes(4, "little"))

    async def _mirror(self, offset: int, data: bytes) -> None:
        if offset + len(data) > MIRROR_STAGE_SIZE:
            raise ValueError(f"device page write at 0x{offset:x}+{len(data)} beyond the page")
        local = MIRROR_STAGE + offset               # the page address is page aligned: same offset modulo 4
        await self.cpu.write_bytes(Region.DMA_BUF + local, data)
        self.in_flight.append(await self.cpu.dma_start(self.addr + offset, local, len(data), DmaDir.WRITE))
        self.writes += 1

    async def copy_to_mirror(self, spans: list[tuple[int, int]]) -> None:
        """The page as it stands (BAR0 read back over the local bus), `spans` of it
        ((offset, length)), into a newly set mirror."""
        for offset, length in spans:
            await self._mirror(offset, await self.cpu.read_sram(DEV.BASE + offset, length))

    async def settle(self) -> bool:
        """Wait for every mirror write started; False (and the mirror off, MIRROR_FAILED set
        in BAR0) if one failed."""
        if not self.in_flight:
            return not self.failed
        tags, self.in_flight = self.in_flight, []
        results = await self.cpu.dma_wait(tags)
        if any(r != DmaResult.OK for r in results) and self.addr:
            self.addr, self.failed = 0, True
            word = await self.cpu.read_sram_u32(DEV.DEVICE_STATE.offset)
            await self.cpu.write_sram_u32(DEV.DEVICE_STATE.offset, word | ASYNC_STATE_MIRROR_FAILED)
        return not self.failed

    def state_flags(self) -> int:
        """DEVICE_STATE flags this writer owns."""
        return ASYNC_STATE_MIRROR_FAILED if self.failed else 0
