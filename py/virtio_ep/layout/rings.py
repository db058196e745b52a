"""Rings: virtio 1.2 split (2.7) and packed (2.8) virtqueues, the device-allocated push
ring, and the sizes and alignment of every ring area (computed here, from the structures)."""

from __future__ import annotations

import enum

from .struct import Field


class QueueMode(enum.IntEnum):
    """Data-path mode of a queue (async transport)."""

    SPLIT = 0                       # virtio split ring in host memory
    PACKED = 1                      # virtio packed ring in host memory
    PUSH = 2                        # device-allocated ring in BAR0, filled with posted writes
    PUSH_SELF = 3                   # push ring whose entry writes are the notification (no doorbell TLP)


def mode_name(mode: QueueMode) -> str:
    """The one spelling of a ring mode in settings, tables and file names: split, packed, push, push_self."""
    return QueueMode(mode).name.lower()


MODE_NAMES = tuple(mode_name(m) for m in QueueMode)


def mode_by_name(name: str) -> QueueMode:
    if name not in MODE_NAMES:
        raise ValueError(f"ring mode {name!r}: use one of {', '.join(MODE_NAMES)}")
    return QueueMode[name.upper()]


# Alignment of a driver-allocated ring's three areas (descriptors, driver, device), per
# mode (virtio 1.2, 2.7 and 2.8); push mode has only its used ring in host memory.
RING_AREA_ALIGN = {QueueMode.SPLIT: (16, 2, 4), QueueMode.PACKED: (16, 4, 4)}
PUSH_USED_ALIGN = 4


class DescFlag(enum.IntFlag):
    """Descriptor flags, split and packed."""

    NEXT = 1
    WRITE = 2                       # device-writable buffer
    INDIRECT = 4
    AVAIL = 1 << 7                  # packed only
    USED = 1 << 15                  # packed only


class SplitDesc:
    """struct virtq_desc, 16 bytes."""

    ADDR = Field(0, 8)
    LEN = Field(8, 4)
    FLAGS = Field(12, 2)
    NEXT = Field(14, 2)
    SIZE = 16


class SplitAvail:
    """struct virtq_avail: flags, idx, ring[size], used_event."""

    FLAGS = Field(0, 2)
    IDX = Field(2, 2)
    RING = 4                        # u16 entries
    ENTRY = 2
    HEADER = 4


class SplitUsed:
    """struct virtq_used: flags, idx, ring[size] of {id u32, len u32}, avail_event."""

    FLAGS = Field(0, 2)
    IDX = Field(2, 2)
    RING = 4
    ENTRY = 8
    ELEM_ID = Field(0, 4)
    ELEM_LEN = Field(4, 4)
    HEADER = 4


AVAIL_F_NO_INTERRUPT = 1
USED_F_NO_NOTIFY = 1


class PackedDesc:
    """struct pvirtq_desc, 16 bytes."""

    ADDR = Field(0, 8)
    LEN = Field(8, 4)
    ID = Field(12, 2)
    FLAGS = Field(14, 2)
    SIZE = 16


class PackedEvent:
    """struct pvirtq_event_suppress: off_wrap, flags."""

    OFF_WRAP = Field(0, 2)
    FLAGS = Field(2, 2)
    SIZE = 4


class PackedEventFlag(enum.IntEnum):
    ENABLE = 0
    DISABLE = 1
    DESC = 2


PACKED_WRAP_SHIFT = 15              # off_wrap: bit 15 is the wrap counter


class NotifyData:
    """The 32-bit driver notification with VIRTIO_F_NOTIFICATION_DATA (virtio 1.2, 2.9;
    Linux vring_notification_data, 6.4): vqn in bits 0-15; split: the avail index in bits
    16-31; packed: the next descriptor offset in bits 16-30 and its wrap counter in bit 31."""

    VQN = Field(0, 2)
    NEXT = Field(2, 2)              # split: avail idx; packed: off | wrap << 15
    WRAP_SHIFT = 15                 # within NEXT (packed)


def notify_value(vqn: int, next_idx: int) -> int:
    """The notification for queue `vqn`: `next_idx` is the split ring's avail index, or the
    packed ring's next offset | wrap counter << 15."""
    return (next_idx & 0xFFFF) << 16 | vqn & 0xFFFF


def notify_next(value: int) -> int:
    """The ring position a notification carries (NotifyData.NEXT)."""
    return value >> 16 & 0xFFFF


class PushEntry:
    """One slot of a device-allocated push ring in BAR0 (the driver writes it with posted
    writes, then rings the queue doorbell with the new producer index). A chain is one or
    more slots: NEXT links to the following slot. Payloads up to the slot's inline space
    travel in the slot; larger ones are described by ADDR and read by the device."""

    ID = Field(0, 2)                # buffer id, returned in the used entry
    FLAGS = Field(2, 2)             # PushFlag
    LEN = Field(4, 4)               # bytes of this buffer
    ADDR = Field(8, 8)              # host address when not inline (or device-writable)
    INLINE = 16                     # inline payload starts here
    SIZE = 128                      # slot size: 112 bytes inline (as AWS ENA's 128-byte LLQ entries)


class PushFlag(enum.IntFlag):
    NEXT = 1                        # the chain continues in the next slot
    WRITE = 2                       # device-writable buffer at ADDR (for responses)
    INLINE = 4                      # the payload is in the slot


PUSH_INLINE_MAX = PushEntry.SIZE - PushEntry.INLINE
PUSH_RING_AREA = 0x2000             # BAR0 offset of push ring q: PUSH_RING_AREA + q * PUSH_RING_STRIDE
PUSH_RING_STRIDE = 0x4000
PUSH_RING_SLOTS = PUSH_RING_STRIDE // PushEntry.SIZE


EVENT_WORD = 2                      # used_event / avail_event: a u16 after a split ring's entries


def ring_area_sizes(mode: QueueMode, size: int) -> tuple[int, int, int]:
    """Bytes of a queue's descriptor, driver and device areas in host memory (virtio 1.2,
    2.7 and 2.8): split = descriptor table, avail ring, used ring (each ring with its
    event word); packed = descriptor ring and two event suppression structures; push =
    the used ring only (its descriptors are the device's slots in BAR0)."""
    used = SplitUsed.HEADER + SplitUsed.ENTRY * size + EVENT_WORD
    if mode == QueueMode.SPLIT:
        return SplitDesc.SIZE * size, SplitAvail.HEADER + SplitAvail.ENTRY * size + EVENT_WORD, used
    if mode == QueueMode.PACKED:
        return PackedDesc.SIZE * size, PackedEvent.SIZE, PackedEvent.SIZE
    return 0, 0, used


def align_up(value: int, align: int) -> int:
    return (value + align - 1) & -align
