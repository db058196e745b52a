"""The vhost-user protocol as Linux's User-Mode Linux speaks it (arch/um/drivers/vhost_user.h
and virtio_uml.c, Linux 6.1; QEMU's docs/interop/vhost-user.rst): the front end (UML, whose
virtio drivers own the rings) sends requests over a unix socket to the back end (the bridge
into the simulation), file descriptors riding along as SCM_RIGHTS. Little-endian, packed."""

from __future__ import annotations

import enum

from .struct import Field

VHOST_USER_VERSION = 1
VHOST_USER_F_PROTOCOL_FEATURES = 30      # virtio feature bit: the protocol features exist
VHOST_USER_HEADER = 12                   # request u32, flags u32, payload size u32
VHOST_USER_MAX_FDS = 8                   # file descriptors one message may carry
VHOST_USER_VRING_INDEX_MASK = 0xFF       # vring state and fd messages: the queue index
VHOST_USER_VRING_NOFD = 1 << 8           # an fd message without its fd (polling)


class VhostUserRequest(enum.IntEnum):
    """Front end to back end (the ones UML 6.1 sends, and GET_QUEUE_NUM)."""

    GET_FEATURES = 1
    SET_FEATURES = 2
    SET_OWNER = 3
    RESET_OWNER = 4
    SET_MEM_TABLE = 5
    SET_VRING_NUM = 8
    SET_VRING_ADDR = 9
    SET_VRING_BASE = 10
    GET_VRING_BASE = 11
    SET_VRING_KICK = 12
    SET_VRING_CALL = 13
    SET_VRING_ERR = 14
    GET_PROTOCOL_FEATURES = 15
    SET_PROTOCOL_FEATURES = 16
    GET_QUEUE_NUM = 17
    SET_VRING_ENABLE = 18
    SET_SLAVE_REQ_FD = 21
    GET_CONFIG = 24
    SET_CONFIG = 25
    VRING_KICK = 35                      # in-band kick (INBAND_NOTIFICATIONS)


class VhostUserFlag(enum.IntFlag):
    VERSION_MASK = 0x3
    REPLY = 1 << 2
    NEED_REPLY = 1 << 3                  # REPLY_ACK: answer with a u64, 0 for success


class VhostUserProtocolFeature(enum.IntEnum):
    MQ = 0
    REPLY_ACK = 3
    SLAVE_REQ = 5                        # UML 6.1 registers its interrupts only with it
    CONFIG = 9
    INBAND_NOTIFICATIONS = 14


class VhostUserHeader:
    REQUEST = Field(0, 4)
    FLAGS = Field(4, 4)
    SIZE = Field(8, 4)


class VhostUserVringState:
    """SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE, SET_VRING_ENABLE."""

    INDEX = Field(0, 4)
    NUM = Field(4, 4)
    SIZE = 8


class VhostUserVringAddr:
    """SET_VRING_ADDR: the ring's parts at front-end user addresses."""

    INDEX = Field(0, 4)
    FLAGS = Field(4, 4)
    DESC = Field(8, 8)
    USED = Field(16, 8)
    AVAIL = Field(24, 8)
    LOG = Field(32, 8)
    SIZE = 40


class VhostUserMemRegion:
    """One region of SET_MEM_TABLE (its fd rides along, in region order)."""

    GUEST_ADDR = Field(0, 8)
    SIZE_BYTES = Field(8, 8)
    USER_ADDR = Field(16, 8)
    MMAP_OFFSET = Field(24, 8)
    SIZE = 32


class VhostUserMemTable:
    NUM = Field(0, 4)
    REGIONS = 8                          # after num and padding


class VhostUserConfig:
    """GET_CONFIG and SET_CONFIG: offset, size, flags, then the device config bytes."""

    OFFSET = Field(0, 4)
    SIZE = Field(4, 4)
    FLAGS = Field(8, 4)
    PAYLOAD = 12
