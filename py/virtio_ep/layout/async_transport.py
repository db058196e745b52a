"""Transport 3: the asynchronous one-writer-per-word transport (docs/transport.md): device
page, driver page, queue table, sequence words and result codes."""

from __future__ import annotations

import enum

from .struct import Field

ASYNC_MAGIC = 0x7641_5359           # "vASY"
ASYNC_VERSION = 1
ASYNC_MAX_QUEUES = 16
ASYNC_MAILBOX_DATA = 0x1F8          # bytes of mailbox payload each way
SEQ_MASK = 0xFFFF                   # sequence numbers are 16-bit, compared modulo 2**16


class AsyncDevicePage:
    """Written only by the device, read by the driver. BAR0 offset 0x0000, 4 KiB."""

    BASE = 0x0000
    MAGIC = Field(0x000, 4)               # ASYNC_MAGIC once the page is complete; written last
    VERSION = Field(0x004, 4)             # ASYNC_VERSION
    DEVICE_ID = Field(0x008, 4)           # virtio device ID (VirtioDeviceId)
    VENDOR_ID = Field(0x00C, 4)           # vendor of the device
    NUM_QUEUES = Field(0x010, 2)          # queues the device offers
    MAX_QUEUE_SIZE = Field(0x012, 2)      # largest queue size accepted
    MAILBOX_SIZE = Field(0x014, 4)        # mailbox payload bytes, each way
    QUEUE_MODES = Field(0x018, 4)         # bitmap of supported QueueMode values
    DEVICE_FEATURES = Field(0x020, 16)    # 128 offered feature bits, no select window
    ACK = Field(0x030, 4)                 # seq[15:0] | accepted status[23:16] | AsyncResult[31:24]
    DEVICE_STATE = Field(0x034, 4)        # flags[7:0] | AsyncReason[15:8] | event seq[31:16]
    CONFIG_LEN = Field(0x038, 4)          # bytes of DEVICE_CONFIG in use
    QUEUE_STATE = Field(0x040, 4)         # queue q at +4q: enabled[0] | AsyncQueueError[15:8]
    CONFIG_GENERATION = Field(0x0FC, 4)   # seqlock: odd while the device rewrites the config
    DEVICE_CONFIG = Field(0x100, 0x100)   # the device class's config structure
    MBOX_RESP_HDR = Field(0x200, 4)       # seq[15:0] | MboxStatus[31:16]
    MBOX_RESP_LEN = Field(0x204, 4)       # response bytes in MBOX_RESP_DATA
    MBOX_RESP_DATA = Field(0x208, ASYNC_MAILBOX_DATA)   # response payload
    HEADER_SIZE = 0x080                   # MAGIC..QUEUE_STATE[15]: what discovery reads at once
    SIZE = 0x1000                         # one 4 KiB page


ASYNC_QUEUE_STATE_STRIDE = 4


class AsyncDriverPage:
    """Written only by the driver, read by the device. BAR0 offset 0x1000, 4 KiB."""

    BASE = 0x1000
    DRIVER_FEATURES = Field(0x1000, 16)   # 128 accepted feature bits, read on a new FEATURES_OK
    DRIVER_STATUS = Field(0x1010, 4)      # seq[15:0] | virtio status[23:16] | DriverFlag[31:24]
    MIRROR_ADDR = Field(0x1018, 8)        # host address of the device page's mirror (4 KiB aligned; 0: none),
                                          # read on a change that carries DriverFlag.MIRROR
    QUEUE_TABLE = 0x1100                  # per queue AsyncQueueEntry, ASYNC_QUEUE_ENTRY_STRIDE apart
    MBOX_REQ_HDR = Field(0x1400, 4)       # seq[15:0] | MboxOp[31:16]
    MBOX_REQ_LEN = Field(0x1404, 4)       # request bytes in MBOX_REQ_DATA
    MBOX_REQ_DATA = Field(0x1408, ASYNC_MAILBOX_DATA)   # request payload
    SIZE = 0x1000


class AsyncQueueEntry:
    """One queue of the driver page's queue table."""

    DESC = Field(0x00, 8)                 # descriptor area (split/packed) in host memory
    DRIVER = Field(0x08, 8)               # driver area (avail ring / driver event suppression)
    DEVICE = Field(0x10, 8)               # device area (used ring / device event suppression)
    SIZE = Field(0x18, 2)                 # entries (power of two for split)
    MSI_VECTOR = Field(0x1A, 2)           # MSI vector for this queue's used-buffer notifications
    CONTROL = Field(0x1C, 4)              # QueueMode[7:0] | enable[8]: written last


ASYNC_QUEUE_ENTRY_STRIDE = 0x20
ASYNC_QUEUE_TABLE_SIZE = ASYNC_QUEUE_ENTRY_STRIDE * ASYNC_MAX_QUEUES


class DriverFlag(enum.IntFlag):
    """DRIVER_STATUS[31:24]: what else this change carries."""

    MAILBOX = 1 << 0                # a new mailbox request with this change's seq
    MIRROR = 1 << 1                 # MIRROR_ADDR changed: mirror the device page there (or stop, if 0)


ASYNC_MIRROR_ALIGN = 0x1000         # the mirror is one page, page aligned
ASYNC_QUEUE_ENABLE = 1 << 8
ASYNC_DOORBELL_CONFIG = 0           # doorbell slot 0: config change, value = seq
ASYNC_DOORBELL_QUEUE0 = 1           # doorbell slot 1 + q: queue q, value = ring index
ASYNC_MSI_CONFIG = 0                # MSI vector 0: acknowledgement / device event
ASYNC_MSI_QUEUE0 = 1                # MSI vector 1 + q (default; the queue table may choose)


class AsyncResult(enum.IntEnum):
    """Result code in the ACK word."""

    OK = 0
    FEATURES_REFUSED = 1            # FEATURES_OK not granted: features not offered or VERSION_1 missing
    QUEUE_INVALID = 2               # a queue could not be enabled: see its QUEUE_STATE error
    BAD_STATE = 3                   # status transition not allowed (e.g. DRIVER_OK before FEATURES_OK)
    NEEDS_RESET = 4                 # the device needs a reset: only status 0 is accepted
    MIRROR_INVALID = 5              # MIRROR_ADDR not page aligned: no mirror (the change's other parts applied)


class AsyncQueueError(enum.IntEnum):
    """Error code in QUEUE_STATE[15:8]."""

    NONE = 0
    BAD_SIZE = 1                    # zero, not a power of two (split/packed), above MAX_QUEUE_SIZE, or a push ring past BAR0's SRAM
    BAD_MODE = 2                    # mode not offered in QUEUE_MODES, or packed without RING_PACKED
    BAD_ADDRESS = 3                 # an area address is zero or misaligned
    NO_SUCH_QUEUE = 4


ASYNC_QUEUE_STATE_ENABLED = 1 << 0


class AsyncReason(enum.IntEnum):
    """Reason code in DEVICE_STATE[15:8] when DEVICE_NEEDS_RESET is set."""

    NONE = 0
    INTERNAL_ERROR = 1
    BAD_RING = 2                    # the driver corrupted a ring (data-path issue)
    FIRMWARE_RESTART = 3
    BACKEND_FAILURE = 4


ASYNC_STATE_NEEDS_RESET = 1 << 0
ASYNC_STATE_MIRROR_FAILED = 1 << 1  # a mirror write was refused or lost: the mirror is off, BAR0 holds the truth


class MboxOp(enum.IntEnum):
    NOP = 0
    ECHO = 1                        # response data = request data
    SET_CONFIG = 2                  # data: u16 offset, u16 length, bytes: writable config fields


class MboxStatus(enum.IntEnum):
    OK = 0
    UNSUPPORTED = 1
    BAD_LENGTH = 2
    DENIED = 3                      # SET_CONFIG of a read-only field


def pack_seq_word(seq: int, status: int, result: int = 0) -> int:
    """ACK / DRIVER_STATUS word: seq[15:0] | status[23:16] | result[31:24]."""
    return (seq & SEQ_MASK) | (status & 0xFF) << 16 | (result & 0xFF) << 24


def unpack_seq_word(word: int) -> tuple[int, int, int]:
    return word & SEQ_MASK, (word >> 16) & 0xFF, (word >> 24) & 0xFF


def pack_mbox_word(seq: int, code: int) -> int:
    """Mailbox header word: seq[15:0] | op or status[31:16]."""
    return (seq & SEQ_MASK) | (code & 0xFFFF) << 16


def unpack_mbox_word(word: int) -> tuple[int, int]:
    return word & SEQ_MASK, (word >> 16) & 0xFFFF


def seq_after(a: int, b: int) -> bool:
    """a is newer than or equal to b, modulo 2**16 (serial number arithmetic)."""
    return ((a - b) & SEQ_MASK) < 0x8000
