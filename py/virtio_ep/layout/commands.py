"""Transports 4 and 5: what others shipped, built for comparison (docs/results.md): the
mailbox of the endpoint vhost series and virtio-msg style messages. Both carry the same
virtio operations (CmdOp) to the same device model."""

from __future__ import annotations

import enum

from .struct import Field


class CmdOp(enum.IntEnum):
    """Operations of the command-based transports (mailbox and message)."""

    GET_INFO = 1                    # -> device id, queues, max queue size, config length (CmdInfo)
    GET_FEATURES = 2                # -> 128-bit device features
    SET_FEATURES = 3                # 128-bit driver features -> OK or REFUSED
    SET_STATUS = 4                  # u32 device status -> OK, INVALID (bad transition)
    SET_QUEUE = 5                   # CmdQueue -> u32 doorbell slot; INVALID for a bad queue
    GET_CONFIG = 6                  # u32 offset, u32 length -> bytes (at most CMD_DATA_MAX)
    RESET = 7                       # -> OK (device status 0, queues gone)
    KICK = 8                        # u32 queue: the device has taken the queue's new buffers -> OK


class CmdResult(enum.IntEnum):
    OK = 0
    UNSUPPORTED = 1                 # unknown op
    REFUSED = 2                     # features the device does not accept
    INVALID = 3                     # bad argument or state
    BUSY = 0xFF                     # mailbox: written by the driver, replaced by the device's result


class CmdInfo:
    """GET_INFO result."""

    DEVICE_ID = Field(0x00, 4)
    NUM_QUEUES = Field(0x04, 4)
    MAX_QUEUE_SIZE = Field(0x08, 4)
    CONFIG_LEN = Field(0x0C, 4)
    SIZE = 0x10


class CmdQueue:
    """SET_QUEUE argument: a driver-allocated ring (split or packed) and its vector."""

    INDEX = Field(0x00, 2)
    SIZE = Field(0x02, 2)
    MODE = Field(0x04, 1)           # QueueMode (SPLIT or PACKED: these transports have no device ring)
    MSI_VECTOR = Field(0x05, 1)
    DESC = Field(0x08, 8)
    DRIVER = Field(0x10, 8)
    DEVICE = Field(0x18, 8)
    SIZE_BYTES = 0x20


CMD_DATA_MAX = 48                   # argument / result bytes per command or message
CMD_DOORBELL = 0                    # doorbell slot of a command (queue q notifies slot 1 + q)

# Mailbox (the endpoint vhost series): one command at a time in BAR0; the driver writes
# the op and arguments, sets STATUS to BUSY, rings CMD_DOORBELL and polls STATUS until the
# device has written its result there. Every state change is a round trip the host polls.
MBOX_MAGIC = 0x4D42_5831            # "1XBM": mailbox transport present
MBOX_POLL_NS = 1000                 # the driver's status polling period (as PCI_ACK_POLL_NS)


class MboxPage:
    MAGIC = Field(0x00, 4)          # device-written
    OPCODE = Field(0x10, 4)         # driver-written
    ARGS = Field(0x20, CMD_DATA_MAX)        # driver-written
    STATUS = Field(0x60, 4)         # driver writes BUSY, device writes the CmdResult (two writers)
    RESULT = Field(0x80, CMD_DATA_MAX)      # device-written, valid once STATUS is not BUSY
    SIZE = 0x100


# Message transport in the style of virtio-msg (virtio TC proposal): request/response
# messages matched by a token through a driver-to-device and a device-to-driver FIFO in
# BAR0; the driver rings CMD_DOORBELL after queueing a request, the device sends MSI
# MSG_MSI after queueing responses. Each index word has one writer.
MSG_MAGIC = 0x564D_5347             # "GSMV"
MSG_FIFO_ENTRIES = 16
MSG_MSI = 0


class MsgArea:
    MAGIC = Field(0x000, 4)         # device-written
    REQ_HEAD = Field(0x040, 4)      # driver-written: requests queued (free-running count)
    REQ_TAIL = Field(0x080, 4)      # device-written: requests taken
    RSP_HEAD = Field(0x0C0, 4)      # device-written: responses queued
    RSP_TAIL = Field(0x100, 4)      # driver-written: responses taken
    REQ_FIFO = 0x400                # MSG_FIFO_ENTRIES messages of MsgHeader.SIZE bytes
    RSP_FIFO = 0x800


class MsgHeader:
    """One message: header, then CMD_DATA_MAX bytes of payload."""

    TYPE = Field(0x00, 1)           # CmdOp
    FLAGS = Field(0x01, 1)          # MSG_FLAG_RESPONSE on responses
    TOKEN = Field(0x02, 2)          # chosen by the driver, echoed in the response
    LENGTH = Field(0x04, 2)         # payload bytes
    RESULT = Field(0x06, 1)         # CmdResult (responses)
    PAYLOAD = Field(0x10, CMD_DATA_MAX)
    SIZE = 0x40


MSG_FLAG_RESPONSE = 1 << 0
