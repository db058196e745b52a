"""virtio devices behind the endpoint: identity, features and config of each device class.

The device-class interface every transport's firmware uses: a transport only moves
these values between the device and the driver; it never knows which device it carries.
Data paths (rings, requests) arrive with the data-path issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .layout import (BlkConfig, BlkFeature, BLK_SECTOR_SIZE, Field, NET_S_LINK_UP, NetConfig, NetCtrl,
                     NetFeature, VirtioDeviceId, VirtioFeature, net_ctrl_queue)


def bit(n: int) -> int:
    return 1 << n


def put(buf: bytearray, f: Field, value: int | bytes) -> None:
    data = value if isinstance(value, (bytes, bytearray)) else value.to_bytes(f.size, "little")
    if len(data) != f.size:
        raise ValueError(f"field of {f.size} bytes given {len(data)}")
    buf[f.offset:f.offset + f.size] = data


def get(buf: bytes, f: Field) -> int:
    return int.from_bytes(buf[f.offset:f.offset + f.size], "little")


@dataclass
class VirtioDevice:
    """Device side of one virtio device class."""

    name: str
    device_id: VirtioDeviceId
    features: int                       # offered, up to 128 bits
    num_queues: int
    max_queue_size: int
    config: bytearray
    writable: list[Field] = field(default_factory=list)   # config fields the driver may set

    def accepts(self, driver_features: int) -> bool:
        """FEATURES_OK rule: a subset of the offer that includes VERSION_1 (virtio 1.2, 3.1.1)."""
        return driver_features & ~self.features == 0 and bool(driver_features & bit(VirtioFeature.VERSION_1))

    def config_writable(self, offset: int, length: int) -> bool:
        return any(f.offset <= offset and offset + length <= f.offset + f.size for f in self.writable)


# What every device class offers about its rings and its DMA: packed rings, event indices,
# indirect descriptors, in-order use and notification data (the firmware's ring code serves
# them all), and ACCESS_PLATFORM (a PCIe device's DMA uses bus addresses, translated by the
# platform: the driver must map every buffer through its DMA API, as Linux does when this
# is negotiated).
RING_FEATURES = (bit(VirtioFeature.VERSION_1) | bit(VirtioFeature.ACCESS_PLATFORM) | bit(VirtioFeature.RING_PACKED)
                 | bit(VirtioFeature.EVENT_IDX) | bit(VirtioFeature.INDIRECT_DESC) | bit(VirtioFeature.IN_ORDER)
                 | bit(VirtioFeature.NOTIFICATION_DATA))


def net_device(mac: bytes = bytes.fromhex("525400123456"), mtu: int = 1500,
               queue_size: int = 256, queue_pairs: int = 1) -> VirtioDevice:
    """`queue_pairs` above 1: VIRTIO_NET_F_MQ (with the control queue it requires) and
    2 * queue_pairs + 1 queues; the driver turns the pairs on with VQ_PAIRS_SET."""
    if not NetCtrl.VQ_PAIRS_MIN <= queue_pairs <= NetCtrl.VQ_PAIRS_MAX:
        raise ValueError(f"{queue_pairs} queue pairs: virtio allows {NetCtrl.VQ_PAIRS_MIN} to {NetCtrl.VQ_PAIRS_MAX}")
    cfg = bytearray(NetConfig.SIZE)
    put(cfg, NetConfig.MAC, mac)
    put(cfg, NetConfig.STATUS, NET_S_LINK_UP)
    put(cfg, NetConfig.MAX_VIRTQUEUE_PAIRS, queue_pairs)
    put(cfg, NetConfig.MTU, mtu)
    features = RING_FEATURES | bit(NetFeature.MAC) | bit(NetFeature.STATUS) | bit(NetFeature.MTU)
    queues = 2
    if queue_pairs > 1:
        features |= bit(NetFeature.CTRL_VQ) | bit(NetFeature.MQ)
        queues = net_ctrl_queue(queue_pairs, mq=True) + 1
    return VirtioDevice("net", VirtioDeviceId.NET, features, queues, queue_size, cfg, writable=[NetConfig.MAC])


def block_device(capacity_bytes: int = 1 << 20, blk_size: int = 512, queue_size: int = 128) -> VirtioDevice:
    cfg = bytearray(BlkConfig.SIZE)
    put(cfg, BlkConfig.CAPACITY, capacity_bytes // BLK_SECTOR_SIZE)
    put(cfg, BlkConfig.SIZE_MAX, 64 * 1024)
    put(cfg, BlkConfig.SEG_MAX, 16)
    put(cfg, BlkConfig.BLK_SIZE, blk_size)
    features = (RING_FEATURES | bit(BlkFeature.BLK_SIZE) | bit(BlkFeature.FLUSH) | bit(BlkFeature.SIZE_MAX)
                | bit(BlkFeature.SEG_MAX))
    return VirtioDevice("block", VirtioDeviceId.BLOCK, features, 1, queue_size, cfg)


def entropy_device(queue_size: int = 64) -> VirtioDevice:
    return VirtioDevice("entropy", VirtioDeviceId.ENTROPY, RING_FEATURES, 1, queue_size, bytearray())


DEVICES = {"net": net_device, "block": block_device, "entropy": entropy_device}

# length of each class's config structure, as a driver for that class knows it
CONFIG_SIZE = {VirtioDeviceId.NET: NetConfig.SIZE, VirtioDeviceId.BLOCK: BlkConfig.SIZE, VirtioDeviceId.ENTROPY: 0}
