"""Linux 6.1's drivers/virtio/virtio_ring.c, built from Debian's linux-source-6.1 with the
project's shim (build), and bound with ctypes (ring): the kernel's own ring code as a driver
of the simulated device (host.kernel_queue.KernelQueue)."""
