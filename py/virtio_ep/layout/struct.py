"""Little-endian structure fields: every ring, page and message layout is made of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """A field of a little-endian structure: byte offset and width in bytes."""

    offset: int
    size: int

    def get(self, buf: bytes) -> int:
        """The field's value in a buffer holding the structure."""
        return int.from_bytes(buf[self.offset:self.offset + self.size], "little")

    def put(self, buf: bytearray, value: int) -> None:
        buf[self.offset:self.offset + self.size] = value.to_bytes(self.size, "little")
