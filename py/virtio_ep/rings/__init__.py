"""virtio rings: split and packed (virtio 1.2) and the device-allocated push ring.

One scalar implementation per ring, shared by the host driver and the device firmware:
each side gives it a Memory, the driver its own RAM, the firmware a DMA-backed view.
"""
