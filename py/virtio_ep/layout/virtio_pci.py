"""Transport 1: virtio-pci modern (the baseline), common configuration in BAR0; and the
acknowledge word of Marvell OCTEON's workaround."""

from __future__ import annotations

from .endpoint import DB_SLOT_STRIDE
from .struct import Field


class PciCommonCfg:
    """struct virtio_pci_common_cfg (virtio 1.2, 4.1.4.3), placed at PCI_COMMON_CFG_OFFSET of BAR0."""

    DEVICE_FEATURE_SELECT = Field(0x00, 4)
    DEVICE_FEATURE = Field(0x04, 4)
    DRIVER_FEATURE_SELECT = Field(0x08, 4)
    DRIVER_FEATURE = Field(0x0C, 4)
    CONFIG_MSIX_VECTOR = Field(0x10, 2)
    NUM_QUEUES = Field(0x12, 2)
    DEVICE_STATUS = Field(0x14, 1)
    CONFIG_GENERATION = Field(0x15, 1)
    QUEUE_SELECT = Field(0x16, 2)
    QUEUE_SIZE = Field(0x18, 2)
    QUEUE_MSIX_VECTOR = Field(0x1A, 2)
    QUEUE_ENABLE = Field(0x1C, 2)
    QUEUE_NOTIFY_OFF = Field(0x1E, 2)
    QUEUE_DESC = Field(0x20, 8)
    QUEUE_DRIVER = Field(0x28, 8)
    QUEUE_DEVICE = Field(0x30, 8)
    SIZE = 0x38


PCI_COMMON_CFG_OFFSET = 0x0000
PCI_VENDOR_ID_VIRTIO = 0x1AF4
PCI_DEVICE_ID_MODERN_BASE = 0x1040            # modern virtio-pci device ID = 0x1040 + virtio device ID
VIRTIO_MSI_NO_VECTOR = 0xFFFF
PCI_DEVICE_CFG_OFFSET = 0x0100
PCI_NOTIFY_OFF_MULTIPLIER = DB_SLOT_STRIDE    # queue q notifies doorbell slot queue_notify_off

# Workaround of Marvell's OCTEON virtio firmware: after a select or status write the driver
# sets an acknowledge word and polls it until the firmware clears it (OCTEON polls in
# 10 us steps; the bench uses PCI_ACK_POLL_NS).
PCI_ACK = Field(0x0040, 4)
PCI_ACK_POLL_NS = 1000
