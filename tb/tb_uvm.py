"""pyuvm tests over the endpoint. Each logs its seed; COCOTB_RANDOM_SEED reproduces it."""

from __future__ import annotations

import random

import cocotb
import pyuvm
from cocotb.triggers import Event, Timer
from pyuvm import ConfigDB, uvm_factory, uvm_test

from ep_tb import EndpointTb
from uvm.env import CorruptingDriver, EndpointEnv, HostDriver
from uvm.sequences import MixedVirtualSeq


class BaseTest(uvm_test):
    def build_phase(self):
        ConfigDB().set(None, "*", "TB_READY", Event())
        ConfigDB().set(None, "*", "RNG", random.Random(cocotb.RANDOM_SEED))
        self.env = EndpointEnv("env", self)

    async def run_phase(self):
        self.raise_objection()
        self.logger.info("seed %d (rerun with COCOTB_RANDOM_SEED=%d)", cocotb.RANDOM_SEED, cocotb.RANDOM_SEED)
        tb = await EndpointTb.start(cocotb.top)
        ConfigDB().set(None, "*", "TB", tb)
        ConfigDB().get(None, "", "TB_READY").set()
        await MixedVirtualSeq("mixed").start(ConfigDB().get(None, "", "SEQR"))
        await tb.host.read(0, 0, 4)                  # flush posted writes
        await Timer(2, "us")                          # let the firmware take the last doorbells
        self.drop_objection()


@pyuvm.test()
class RegressionTest(BaseTest):
    """Random mix of BAR accesses, doorbell floods and MSIs, checked by the scoreboard."""


@pyuvm.test(expect_fail=True)
class InjectedBugTest(BaseTest):
    """A factory override swaps in a driver that corrupts BAR writes: the scoreboard must
    fail this test (expect_fail), which shows it can catch a real bug."""

    def build_phase(self):
        uvm_factory().set_type_override_by_type(HostDriver, CorruptingDriver)
        super().build_phase()
