"""pyuvm tests over the endpoint (BAR, doorbell and MSI traffic) and over virtio devices
(requests through a transport and ring mode chosen by factory override). Each logs its
seed; COCOTB_RANDOM_SEED reproduces it."""

from __future__ import annotations

import random

import cocotb
import pyuvm
from cocotb.triggers import Event, Timer
from pyuvm import ConfigDB, uvm_factory, uvm_test

from virtio_ep import layout
from virtio_ep.runconfig import RunConfig
from virtio_ep.testbench import EndpointTb, rerun_note
from virtio_ep.testbench.endpoint import RUN_SEED
from uvm.env import CorruptingDriver, EndpointEnv, HostDriver, InjectedBugScoreboard, Scoreboard
from uvm.seeds import seed_choice
from uvm.sequences import MixedVirtualSeq, VirtioVirtualSeq
from uvm.virtio_env import (VARIANTS, CorruptingVirtioDriver, InjectedBugVirtioScoreboard, Variant, VirtioDriver,
                             VirtioEnv, VirtioScoreboard)

DEVICE_ORDER = ("net", "block", "entropy")
FULL_CYCLE = 27             # consecutive seeds that run every variant x device (tb/test_uvm_seeds.py)


class BaseTest(uvm_test):
    def build_phase(self):
        ConfigDB().set(None, "*", "TB_READY", Event())
        ConfigDB().set(None, "*", "RNG", random.Random(cocotb.RANDOM_SEED))
        self.env = EndpointEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        self.logger.info("seed %d (%s)", cocotb.RANDOM_SEED, rerun_note())
        tb = await EndpointTb.start(cocotb.top)
        # the SRAM outlives a test (no reset clears it): start from the zeroes the mirror holds
        await tb.host.write(layout.BAR_SRAM, 0, bytes(tb.params.bar0_sram_size))
        ConfigDB().set(None, "*", "TB", tb)
        ConfigDB().get(None, "", "TB_READY").set()
        await MixedVirtualSeq("mixed").start(ConfigDB().get(None, "", "SEQR"))
        await tb.host.read(0, 0, 4)                  # flush posted writes
        await Timer(2, "us")                          # let the firmware take the last doorbells
        self.drop_objection()


@pyuvm.test()
class RegressionTest(BaseTest):
    """Random mix of BAR accesses, doorbell floods and MSIs, checked by the scoreboard."""


@pyuvm.test()
class InjectedBugTest(BaseTest):
    """A factory override swaps in a driver that corrupts BAR writes; the scoreboard must
    report mismatches, each one the injected corruption (InjectedBugScoreboard checks), which
    shows it catches a real bug and only that bug."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(HostDriver, CorruptingDriver)
        uvm_factory().set_type_override_by_type(Scoreboard, InjectedBugScoreboard)
        super().build_phase()


# -- virtio requests over a transport and ring mode chosen by factory override ------------------

def choose_variant() -> tuple[type, str]:
    """The run configuration's `variant` and (one) `devices` select a variant and device
    without editing the test (make regress UVM_VARIANT= UVM_DEVICE=); by default the seed
    picks them (the variant cycles with the seed, the device with the seed plus one every
    full variant cycle, so any 27 consecutive seeds cover every combination of 9 variants
    and 3 devices). The seed is the run's (COCOTB_RANDOM_SEED), not the per-test seed
    cocotb derives from it and the test's name."""
    by_name = {v.__name__: v for v in VARIANTS}
    seed, config = RUN_SEED, RunConfig.current()
    variant_index, device_index = seed_choice(seed, len(VARIANTS), len(DEVICE_ORDER))
    name = config.variant or VARIANTS[variant_index].__name__
    device = config.devices[0] if len(config.devices) == 1 else DEVICE_ORDER[device_index]
    if name not in by_name:
        raise ValueError(f"UVM_VARIANT={name!r}: use one of {', '.join(by_name)}")
    return by_name[name], device


class VirtioBaseTest(uvm_test):
    device: str | None = None       # a subclass may fix the device

    def build_phase(self):
        variant, device = choose_variant()
        if variant is not Variant:
            uvm_factory().set_type_override_by_type(Variant, variant)
        ConfigDB().set(None, "*", "TB_READY", Event())
        ConfigDB().set(None, "*", "RNG", random.Random(cocotb.RANDOM_SEED))
        ConfigDB().set(None, "*", "DEVICE", self.device or device)
        self.env = VirtioEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        variant = Variant.create("variant")
        device = ConfigDB().get(None, "", "DEVICE")
        self.logger.info("seed %d: %s, device %s (%s)", cocotb.RANDOM_SEED, type(variant).__name__, device,
                         rerun_note())
        tb = await EndpointTb.start(cocotb.top)
        bench = await variant.bring_up(tb, device)
        ConfigDB().set(None, "*", "TB", tb)
        ConfigDB().set(None, "*", "BENCH", bench)
        ConfigDB().get(None, "", "TB_READY").set()
        await VirtioVirtualSeq("virtio").start(ConfigDB().get(None, "", "SEQR"))
        await bench.run.stop()
        self.drop_objection()


@pyuvm.test()
class VirtioTest(VirtioBaseTest):
    """Directed and random virtio requests (with a ring corruption and recovery where the
    transport allows a reset), checked by the scoreboard against reference models."""


@pyuvm.test()
class VirtioInjectedBugTest(VirtioBaseTest):
    """A factory override swaps in a driver that corrupts every frame; the scoreboard must
    report each frame, and nothing else (InjectedBugVirtioScoreboard checks)."""

    device = "net"

    def build_phase(self):
        uvm_factory().set_type_override_by_type(VirtioDriver, CorruptingVirtioDriver)
        uvm_factory().set_type_override_by_type(VirtioScoreboard, InjectedBugVirtioScoreboard)
        super().build_phase()
