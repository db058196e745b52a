"""virtio over a CPU-driven PCIe endpoint: the Python side of the co-simulation."""
