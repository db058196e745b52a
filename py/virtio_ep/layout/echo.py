"""Echo mailbox: the foundation's system scenario (`make sim TRANSPORT=echo`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EchoMailbox:
    """Host writes a request into BAR0 and rings a doorbell; firmware answers in BAR0
    and sends an MSI. Request: u32 seq, u32 length, payload. Reply: u32 seq, u32
    length, the payload reversed (so the host can check it was really processed)."""

    request_offset: int = 0x0000
    reply_offset: int = 0x1000
    max_payload: int = 1024
    doorbell_slot: int = 0          # doorbell value: the request's seq
    msi_vector: int = 0
    header_bytes: int = 8


ECHO = EchoMailbox()
