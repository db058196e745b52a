"""The pyuvm regression's claim that any 27 consecutive seeds run every variant with every
device, checked on the real variant and device lists (no simulator)."""

from __future__ import annotations

from itertools import product

from tb_uvm import DEVICE_ORDER, FULL_CYCLE
from uvm.seeds import seed_choice
from uvm.virtio_env import VARIANTS


def test_consecutive_seeds_cover_every_variant_and_device() -> None:
    every = set(product(range(len(VARIANTS)), range(len(DEVICE_ORDER))))
    assert FULL_CYCLE == len(every), f"{len(every)} pairs, the docs say {FULL_CYCLE} seeds"
    for start in range(0, 10 * FULL_CYCLE):
        seen = {seed_choice(s, len(VARIANTS), len(DEVICE_ORDER)) for s in range(start, start + FULL_CYCLE)}
        assert seen == every, f"seeds {start} to {start + FULL_CYCLE - 1} miss {sorted(every - seen)}"
