"""Host side of the echo mailbox: write a request, ring, wait for the MSI, read the reply."""

from __future__ import annotations

import struct

from ..layout import BAR_SRAM, ECHO
from .pcie_host import HostPcie, HostAccessError, DEFAULT_TIMEOUT_NS


async def echo_request(host: HostPcie, seq: int, payload: bytes,
                       timeout_ns: int = DEFAULT_TIMEOUT_NS) -> bytes:
    if len(payload) > ECHO.max_payload:
        raise ValueError(f"payload of {len(payload)} bytes above the mailbox's {ECHO.max_payload}")
    before = host.msi_count(ECHO.msi_vector)
    await host.write(BAR_SRAM, ECHO.request_offset, struct.pack("<II", seq, len(payload)) + payload)
    await host.ring_doorbell(ECHO.doorbell_slot, seq)
    await host.wait_msi(ECHO.msi_vector, before + 1, timeout_ns)
    reply = await host.read(BAR_SRAM, ECHO.reply_offset, ECHO.header_bytes + len(payload), timeout_ns)
    rseq, rlen = struct.unpack_from("<II", reply)
    if rseq != seq or rlen != len(payload):
        raise HostAccessError(f"echo reply header (seq {rseq}, length {rlen}) does not match request "
                              f"(seq {seq}, length {len(payload)})")
    return reply[ECHO.header_bytes:]
