"""Which variant and device a pyuvm seed runs: a pure function, so the coverage claim made
for consecutive seeds is checked without a simulator (tb/test_uvm_seeds.py)."""

from __future__ import annotations


def seed_choice(seed: int, variants: int, devices: int) -> tuple[int, int]:
    """(variant index, device index) for `seed`: the variant cycles with the seed, the device
    with the seed plus one every full variant cycle, so that consecutive seeds reach every
    pair (tb/test_uvm_seeds.py checks how many it takes for the real counts)."""
    return seed % variants, (seed + seed // variants) % devices
