"""virtio definitions (virtio 1.2 specification; Linux UAPI virtio_config.h, virtio_ids.h,
virtio_net.h, virtio_blk.h): status, device IDs, features, device configuration and the
device classes' request formats."""

from __future__ import annotations

import enum

from .struct import Field


class VirtioStatus(enum.IntFlag):
    """Device status bits (virtio 1.2, 2.1)."""

    ACKNOWLEDGE = 1
    DRIVER = 2
    DRIVER_OK = 4
    FEATURES_OK = 8
    DEVICE_NEEDS_RESET = 0x40
    FAILED = 0x80


class VirtioDeviceId(enum.IntEnum):
    NET = 1
    BLOCK = 2
    ENTROPY = 4


class VirtioFeature(enum.IntEnum):
    """Device-independent feature bit numbers (virtio 1.2, 6)."""

    INDIRECT_DESC = 28
    EVENT_IDX = 29
    VERSION_1 = 32
    ACCESS_PLATFORM = 33            # the device's DMA goes through the platform (IOMMU, bus addresses)
    RING_PACKED = 34
    IN_ORDER = 35                   # buffers used in the order made available; split: descriptors too
    NOTIFICATION_DATA = 38          # a driver notification carries the ring's next position


class NetFeature(enum.IntEnum):
    MTU = 3
    MAC = 5
    STATUS = 16
    CTRL_VQ = 17                    # a control queue
    MQ = 22                         # several queue pairs (requires CTRL_VQ)


class BlkFeature(enum.IntEnum):
    SIZE_MAX = 1
    SEG_MAX = 2
    BLK_SIZE = 6
    FLUSH = 9


DEVICE_FEATURES = {VirtioDeviceId.NET: NetFeature, VirtioDeviceId.BLOCK: BlkFeature}


def feature_names(features: int, device_id: int) -> list[str]:
    """The names of the feature bits set in `features` (device-class bits by the class's
    own names); a bit this layout does not name as bit<n>."""
    known = {int(f): f.name for f in VirtioFeature}
    cls = DEVICE_FEATURES.get(device_id)
    if cls is not None:
        known.update((int(f), f.name) for f in cls)
    return [known.get(b, f"bit{b}") for b in range(128) if features >> b & 1]


class NetConfig:
    """struct virtio_net_config (fields used here)."""

    MAC = Field(0, 6)
    STATUS = Field(6, 2)
    MAX_VIRTQUEUE_PAIRS = Field(8, 2)
    MTU = Field(10, 2)
    SIZE = 12


NET_S_LINK_UP = 1


class BlkConfig:
    """struct virtio_blk_config (fields used here)."""

    CAPACITY = Field(0, 8)          # in 512-byte sectors
    SIZE_MAX = Field(8, 4)
    SEG_MAX = Field(12, 4)
    GEOMETRY = Field(16, 4)
    BLK_SIZE = Field(20, 4)
    SIZE = 24


BLK_SECTOR_SIZE = 512


class NetHdr:
    """struct virtio_net_hdr with VERSION_1 (num_buffers present): 12 bytes."""

    FLAGS = Field(0, 1)
    GSO_TYPE = Field(1, 1)
    HDR_LEN = Field(2, 2)
    GSO_SIZE = Field(4, 2)
    CSUM_START = Field(6, 2)
    CSUM_OFFSET = Field(8, 2)
    NUM_BUFFERS = Field(10, 2)
    SIZE = 12


NET_RX_QUEUE = 0
NET_TX_QUEUE = 1


def net_rx_queue(pair: int) -> int:
    """receiveq of queue pair `pair` (0-based; virtio 1.2, 5.1.2)."""
    return 2 * pair


def net_tx_queue(pair: int) -> int:
    return 2 * pair + 1


def net_ctrl_queue(max_pairs: int, mq: bool) -> int:
    """The control queue's index: after every queue pair with MQ, else after the one pair."""
    return 2 * max_pairs if mq else 2


class NetCtrl:
    """struct virtio_net_ctrl (virtio 1.2, 5.1.6.5): class and command, command data, then
    one device-writable ack byte."""

    CLASS = Field(0, 1)
    COMMAND = Field(1, 1)
    SIZE = 2                        # the data follows
    CLASS_MQ = 4                    # VIRTIO_NET_CTRL_MQ
    MQ_VQ_PAIRS_SET = 0             # data: le16 virtqueue_pairs
    VQ_PAIRS = Field(2, 2)
    VQ_PAIRS_MIN = 1
    VQ_PAIRS_MAX = 0x8000


class NetAck(enum.IntEnum):
    OK = 0
    ERR = 1


class BlkReq:
    """struct virtio_blk_req header; the status byte is the last device-writable byte."""

    TYPE = Field(0, 4)
    RESERVED = Field(4, 4)
    SECTOR = Field(8, 8)
    SIZE = 16


class BlkType(enum.IntEnum):
    IN = 0
    OUT = 1
    FLUSH = 4
    GET_ID = 8


class BlkStatus(enum.IntEnum):
    OK = 0
    IOERR = 1
    UNSUPP = 2


BLK_ID_BYTES = 20
ENTROPY_MAX_REQUEST = 4096          # entropy bytes the device gives one request at most (virtio-rng allows less)
DEVICE_MAX_READ = 1 << 20           # device-readable bytes of one chain the device accepts; more: BAD_RING
