"""What a TLP at the root complex touched, named for a trace (make trace): the host's writes
to BAR2 as the doorbell of the queue that rings that slot, the endpoint's MSIs as the queue
whose vector they carry, and its reads
and writes of a queue's rings in host memory by part (split: descriptors, the avail and used
rings' headers and entries and the event index words after them; packed: the descriptor
ring and the two event structures; push: the used ring). Anything else the endpoint reads or writes is a buffer's
payload. With these names a turn's timeline shows which queue's kick ended its sleeps and
when the device armed it (avail_event)."""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import (ASYNC_DOORBELL_QUEUE0, BAR2_SIZE, DB_SLOT_STRIDE, QueueMode, SplitAvail, SplitUsed,
                      ring_area_sizes)


@dataclass(frozen=True)
class RingPart:
    start: int
    end: int
    name: str


def doorbell_slot(cfg) -> int:
    """The BAR2 slot a queue's driver rings (QueueConfig): the one its transport reported,
    else the asynchronous transport's (DriverQueue.kick)."""
    return cfg.notify_slot if cfg.notify_slot is not None else ASYNC_DOORBELL_QUEUE0 + cfg.index


def ring_parts(cfg) -> list[RingPart]:
    """A queue's rings in host memory, by part (a push ring's is its used ring: its
    descriptors are the device's slots in BAR0)."""
    q = f"q{cfg.index}"
    desc, driver, device = ring_area_sizes(cfg.mode, cfg.size)
    used_ring = cfg.device + SplitUsed.RING
    used_end = used_ring + SplitUsed.ENTRY * cfg.size
    used = [RingPart(cfg.device, used_ring, f"{q} used idx"), RingPart(used_ring, used_end, f"{q} used ring")]
    if cfg.mode == QueueMode.SPLIT:
        avail_ring = cfg.driver + SplitAvail.RING
        avail_end = avail_ring + SplitAvail.ENTRY * cfg.size
        return [RingPart(cfg.desc, cfg.desc + desc, f"{q} desc"),
                RingPart(cfg.driver, avail_ring, f"{q} avail idx"),
                RingPart(avail_ring, avail_end, f"{q} avail ring"),
                RingPart(avail_end, cfg.driver + driver, f"{q} used_event"),
                *used, RingPart(used_end, cfg.device + device, f"{q} avail_event")]
    if cfg.mode == QueueMode.PACKED:
        return [RingPart(cfg.desc, cfg.desc + desc, f"{q} desc"),
                RingPart(cfg.driver, cfg.driver + driver, f"{q} driver event"),
                RingPart(cfg.device, cfg.device + device, f"{q} device event")]
    return used if cfg.device else []


@dataclass(frozen=True)
class TlpNames:
    bar2: int                   # BAR2's base address
    msi: int                    # the root complex's MSI address
    slots: dict[int, str]       # doorbell slot -> queue
    vectors: dict[int, str]     # MSI vector -> queue
    parts: tuple[RingPart, ...]
    msi_base: int = 0           # the MSI data of the device's vector 0 (the root complex's allocation)

    @classmethod
    def of(cls, bar2: int, msi: int, queues, msi_base: int = 0) -> TlpNames:
        """From the endpoint's BAR2 and MSI addresses, the queues' QueueConfig and the MSI
        data its vector 0 sends."""
        return cls(bar2, msi, {doorbell_slot(q): f"q{q.index}" for q in queues},
                   {q.msi_vector: f"q{q.index}" for q in queues}, tuple(p for q in queues for p in ring_parts(q)),
                   msi_base)

    def name(self, direction: str, kind: str, address: int | None, data: bytes = b"") -> str:
        """What a TLP of `kind` going `direction` ("down": host to endpoint) at `address`
        (with `data`, for an MSI's vector) touched; "" where there is nothing to name
        (completions, the host's BAR0 traffic)."""
        if address is None or kind not in ("mem_read", "mem_write"):
            return ""
        if direction == "down":
            if kind == "mem_write" and self.bar2 <= address < self.bar2 + BAR2_SIZE:
                slot = (address - self.bar2) // DB_SLOT_STRIDE
                return f"doorbell {self.slots.get(slot, f'slot {slot}')}"
            return ""
        if kind == "mem_write" and address == self.msi:
            vector = int.from_bytes(data[:4], "little") - self.msi_base
            return f"MSI {self.vectors.get(vector, f'vector {vector}')}"
        return next((p.name for p in self.parts if p.start <= address < p.end), "payload")

    def label(self, rec) -> str:
        """A TlpRecord as a trace shows it: "TLP down mem_write doorbell q1"."""
        what = self.name(rec.direction, rec.kind, getattr(rec.tlp, "address", None), bytes(getattr(rec.tlp, "data", b"")))
        return f"TLP {rec.direction} {rec.kind}" + (f" {what}" if what else "")
