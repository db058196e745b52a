"""The registry of transports: one entry per way of running virtio on this endpoint, with
its firmware (device side), its driver (host side) and what it can carry. The demo, the
benches, the report, the tests and the pyuvm environment all take transports from here, by
the one name each has; adding a transport is one entry here plus its two classes.

Ring modes and latency settings have their registries in layout (`MODE_NAMES`,
`mode_by_name`; `LATENCY_SETTINGS`, `latency_setting`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .devices import VirtioDevice
from .firmware.async_fw import AsyncTransportFirmware
from .firmware.command_fw import MailboxFirmware, MessageFirmware
from .firmware.restable_fw import ResourceTableFirmware
from .firmware.soft_cpu import SoftCpu
from .firmware.virtio_pci_fw import VirtioPciPollingFirmware
from .host.async_transport import AsyncTransport
from .host.command_transports import MailboxTransport, MessageTransport
from .host.pcie_host import HostPcie
from .host.restable import ResourceTableTransport
from .host.virtio_core import Transport
from .host.virtio_pci import VirtioPciAckTransport, VirtioPciTransport
from .layout import EndpointParams, QueueMode, VirtioFeature

# A virtio-pci driver that knows the device polls must wait one polling period, and the
# pass itself (measured: up to 400 cycles for a queue write), after every select or status write.
VIRTIO_PCI_SETTLE_MARGIN = 400


@dataclass(frozen=True)
class Options:
    """How one run sets a transport up (from the run configuration)."""

    poll_cycles: int = 0            # the firmware polls every N cycles (0: the transport's default)
    batch: bool = False             # the firmware takes ring chains a batch at a time (async)
    prefetch: bool = False          # ... and takes RX chains when notified (async, with batch)
    mirror: bool = False            # the driver reads the device page from a mirror in host memory (async)
    msi_moderation: tuple[int, int] = (0, 0)    # (count, time cycles) on each queue's vector (async; 0: off)


@dataclass(frozen=True)
class TransportSpec:
    name: str
    summary: str
    firmware: Callable[[SoftCpu, VirtioDevice, EndpointParams, Options], object]
    driver: Callable[[HostPcie, Options], Transport]
    modes: tuple[QueueMode, ...]            # data-path modes it sets up (empty: control plane only here)
    acknowledges: bool = True               # the driver learns the outcome of each change
    posted_setup: bool = False              # set-up is posted writes nobody answers: the bench
                                            # watches the firmware to know when it took effect
    virtio_pci_identity: bool = False       # the function shows virtio-pci's vendor and device IDs
    rings_in_bar0: bool = False             # the device places the rings in its BAR0
    kicks_by_command: bool = False          # each queue kick is a command the driver polls
    default_poll_cycles: int = 0            # the firmware's polling period if the run gives none
    notification_data: bool = False         # a kick's value reaches the ring (else the device
                                            # withdraws VIRTIO_F_NOTIFICATION_DATA from its offer)

    def poll_cycles(self, opts: Options) -> int:
        return opts.poll_cycles or self.default_poll_cycles

    def make_firmware(self, cpu: SoftCpu, device: VirtioDevice, params: EndpointParams, opts: Options):
        if not self.notification_data:
            device = replace(device, features=device.features & ~(1 << VirtioFeature.NOTIFICATION_DATA))
        return self.firmware(cpu, device, params, replace(opts, poll_cycles=self.poll_cycles(opts)))

    def make_driver(self, host: HostPcie, opts: Options) -> Transport:
        return self.driver(host, replace(opts, poll_cycles=self.poll_cycles(opts)))


ALL_MODES = tuple(QueueMode)
VIRTIO_PCI_POLL = 1000              # cycles between the virtio-pci firmware's polling passes

TRANSPORTS: dict[str, TransportSpec] = {spec.name: spec for spec in (
    TransportSpec(
        "async", "ours: device page + driver page, one writer per word, acknowledged by sequence numbers",
        lambda cpu, dev, p, o: AsyncTransportFirmware(cpu, dev, p.db_slots, batch=o.batch, poll_cycles=o.poll_cycles,
                                                        msi_moderation=o.msi_moderation, prefetch=o.prefetch),
        lambda host, o: AsyncTransport(host, mirror=o.mirror), ALL_MODES, notification_data=True),
    TransportSpec(
        "restable", "resource table (remoteproc style): posted writes, never acknowledged; rings in BAR0",
        lambda cpu, dev, p, o: ResourceTableFirmware(cpu, dev, p.db_slots),
        lambda host, o: ResourceTableTransport(host), (QueueMode.SPLIT,), acknowledges=False, posted_setup=True,
        rings_in_bar0=True),
    TransportSpec(
        "virtio-pci", "the baseline: modern common configuration in BAR0, a firmware polling it",
        lambda cpu, dev, p, o: VirtioPciPollingFirmware(cpu, dev, o.poll_cycles),
        lambda host, o: VirtioPciTransport(host, settle_cycles=o.poll_cycles + VIRTIO_PCI_SETTLE_MARGIN), (),
        acknowledges=False, virtio_pci_identity=True, default_poll_cycles=VIRTIO_PCI_POLL),
    TransportSpec(
        "virtio-pci-ack", "virtio-pci with Marvell OCTEON's acknowledge word, which the driver polls",
        lambda cpu, dev, p, o: VirtioPciPollingFirmware(cpu, dev, o.poll_cycles, ack_word=True),
        lambda host, o: VirtioPciAckTransport(host), (), virtio_pci_identity=True,
        default_poll_cycles=VIRTIO_PCI_POLL),
    TransportSpec(
        "mailbox", "the endpoint vhost series: every state change and kick a command the driver polls",
        lambda cpu, dev, p, o: MailboxFirmware(cpu, dev, p.db_slots),
        lambda host, o: MailboxTransport(host), (QueueMode.SPLIT,), kicks_by_command=True),
    TransportSpec(
        "virtio-msg", "virtio-msg style request/response messages with tokens through two FIFOs in BAR0",
        lambda cpu, dev, p, o: MessageFirmware(cpu, dev, p.db_slots),
        lambda host, o: MessageTransport(host), (QueueMode.SPLIT,)),
)}


def transport(name: str) -> TransportSpec:
    try:
        return TRANSPORTS[name]
    except KeyError:
        raise ValueError(f"transport {name!r}: use one of {', '.join(TRANSPORTS)}") from None
