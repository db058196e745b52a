"""Soak: 2,000 mixed requests per device (RunConfig.requests), no request lost or duplicated;
and the soak at depth: 2,000 requests per device with 64 in flight (DEEP_REQUESTS).

Each device runs its requests in five phases: split, packed and push rings driven by the
project's ring code, then split and packed rings driven by Linux's own virtio_ring.c (with
event index and indirect descriptors, as Linux negotiates them), re-probing the device
between phases (reset, features, new queues in the new mode) on the same firmware, so the
soak also checks that a reset between modes and drivers loses nothing: the block disk's
contents are checked across phases and frame/byte counts are checked per phase."""

from __future__ import annotations

import time

import cocotb

from virtio_ep.devices import DEVICES
from virtio_ep.host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from virtio_ep.layout import QueueMode
from virtio_ep.runconfig import RunConfig
from virtio_ep.scenarios.bring_up import bring_up, probe
from virtio_ep.scenarios.deep import block_deep, entropy_deep, net_deep
from virtio_ep.scenarios.exercise import exercise_block, exercise_entropy, exercise_net
from virtio_ep.testbench import EndpointTb, rng_for_test
from virtio_ep.transports import Options

SOAK_REQUESTS = RunConfig.current().request_count(2000)
PHASES = (("project", QueueMode.SPLIT), ("project", QueueMode.PACKED), ("project", QueueMode.PUSH),
          ("linux", QueueMode.SPLIT), ("linux", QueueMode.PACKED))


def phase_counts(total: int) -> list[int]:
    """Split `total` requests over the phases, the remainder going to the first ones."""
    base, extra = divmod(total, len(PHASES))
    return [base + (1 if i < extra else 0) for i in range(len(PHASES))]


async def soak(dut, device: str, exercise, phases, counts: list[int], first: dict | None = None) -> None:
    """`phases` of (ring code, mode, probe options) on one firmware, re-probing between them;
    `first`: bring-up settings (device, Options, probe options) of the first phase."""
    first = first or {}
    rng = rng_for_test()
    t0 = time.monotonic()
    bench = await bring_up(await EndpointTb.start(dut), "async", first.get("device", device), phases[0][1],
                           first.get("opts", Options()), **phases[0][2])
    queues, fw = bench.queues, bench.fw
    for i, ((driver, mode, opts), count) in enumerate(zip(phases, counts)):
        if i:
            queues = await probe(bench, mode, driver=driver, **opts)
        # the phase's progress line in the run's log (make long shows items done; this, where it is)
        cocotb.log.info("soak %s: phase %d of %d, %d requests, %s ring code, %s mode (%d of %d requests done, "
                        "%.0f s wall)", device, i + 1, len(phases), count, driver, mode.name, sum(counts[:i]),
                        sum(counts), time.monotonic() - t0)
        await exercise(queues, fw.backend, count, rng)
        assert fw.ring_errors == [], f"{device} in {mode.name} ({driver}): {fw.ring_errors}"
    await bench.stop()


def mixed_soak(dut, device: str, exercise):
    linux = {"event_idx": True, "indirect": True}
    phases = [(driver, mode, linux if driver == "linux" else {}) for driver, mode in PHASES]
    return soak(dut, device, exercise, phases, phase_counts(SOAK_REQUESTS))


@cocotb.test()
async def test_soak_net(dut):
    async def run(queues, backend, count, rng):
        await exercise_net(NetDriver(queues), backend, count, rng)
    await mixed_soak(dut, "net", run)


@cocotb.test()
async def test_soak_block(dut):
    disk: dict[int, bytes] = {}     # what the disk must hold, across phases

    async def run(queues, backend, count, rng):
        await exercise_block(BlkDriver(queues[0]), backend, count, rng, disk)
    await mixed_soak(dut, "block", run)


@cocotb.test()
async def test_soak_entropy(dut):
    async def run(queues, backend, count, rng):
        await exercise_entropy(RngDriver(queues[0]), backend, [rng.randrange(1, 257) for _ in range(count)])
    await mixed_soak(dut, "entropy", run)


# The soak at depth (issue 15): every device with DEEP requests in flight, the first half on
# split rings and the second on packed (re-probed on the same firmware), batch intake as
# under load, queues of 256 (a block request takes up to three descriptors)
DEEP_REQUESTS = RunConfig.current().request_count(2000)
DEEP = 64
DEEP_QUEUE_SIZE = 256


def soak_deep(dut, device: str, exercise):
    phases = [("project", QueueMode.SPLIT, {"queue_size": DEEP_QUEUE_SIZE}),
              ("project", QueueMode.PACKED, {"queue_size": DEEP_QUEUE_SIZE})]
    first = {"device": DEVICES[device](queue_size=DEEP_QUEUE_SIZE), "opts": Options(batch=True)}
    return soak(dut, device, exercise, phases, [DEEP_REQUESTS // 2, DEEP_REQUESTS - DEEP_REQUESTS // 2], first)


@cocotb.test()
async def test_soak_deep_net(dut):
    async def run(queues, backend, count, rng):
        await net_deep(NetDriver(queues), backend, count, rng, DEEP)
    await soak_deep(dut, "net", run)


@cocotb.test()
async def test_soak_deep_block(dut):
    disk: dict[int, bytes] = {}

    async def run(queues, backend, count, rng):
        await block_deep(BlkDriver(queues[0]), backend, count, rng, DEEP, disk)
    await soak_deep(dut, "block", run)


@cocotb.test()
async def test_soak_deep_entropy(dut):
    async def run(queues, backend, count, rng):
        await entropy_deep(RngDriver(queues[0]), backend, count, rng, DEEP)
    await soak_deep(dut, "entropy", run)
