"""Transport 2: resource table (remoteproc/rpmsg style), in BAR0."""

from __future__ import annotations

from .struct import Field

RSC_MAGIC = 0x5253_4331             # "RSC1"
RSC_VERSION = 1


class RscTable:
    """Device-written resource table at offset 0 of BAR0; the driver reads it once."""

    MAGIC = Field(0x00, 4)
    VERSION = Field(0x04, 4)
    DEVICE_ID = Field(0x08, 4)
    NUM_VRINGS = Field(0x0C, 4)
    DEVICE_FEATURES = Field(0x10, 16)     # 128 bits, little endian
    CONFIG_OFFSET = Field(0x20, 4)        # BAR0 offset of the device config
    CONFIG_LEN = Field(0x24, 4)
    VRINGS = 0x40                         # first vring entry (RscVring), RSC_VRING_STRIDE apart
    CONFIG = 0x100                        # device config
    SIZE = 0x200


class RscVring:
    """One vring entry of the resource table: rings at device-chosen BAR0 offsets."""

    DESC = Field(0x00, 4)
    DRIVER = Field(0x04, 4)               # avail ring
    DEVICE = Field(0x08, 4)               # used ring
    NUM = Field(0x0C, 4)
    NOTIFY_SLOT = Field(0x10, 4)
    MSI_VECTOR = Field(0x14, 4)


RSC_VRING_STRIDE = 0x20


class RscDriver:
    """Driver-written words of the resource-table transport, written once per setup."""

    BASE = 0x0800
    DRIVER_FEATURES = Field(0x0800, 16)
    STATUS = Field(0x0810, 4)


RSC_RING_AREA = 0x4000              # vrings are placed from here, RSC_RING_STRIDE apart
RSC_RING_STRIDE = 0x2000
