"""Several queue pairs (VIRTIO_NET_F_MQ): the control queue turns them on, each pair loops its
frames back on its own queues with its own doorbell slot and MSI vector, and the firmware
serves the queues in turns so that a flooded pair cannot starve the others."""

from __future__ import annotations

import ast

import cocotb
from cocotb.triggers import Event, SimTimeoutError, with_timeout

from virtio_ep.devices import bit, net_device
from virtio_ep.host.virtio_core import TransportError
from virtio_ep.host.virtio_drivers import NetControl, NetDriver
from virtio_ep.layout import (NetAck, NetCtrl, NetFeature, latency_setting, mode_by_name, net_ctrl_queue,
                              net_rx_queue, net_tx_queue, PUSH_RING_AREA, PUSH_RING_STRIDE, PushEntry, QueueMode, VirtioFeature)
from virtio_ep.scenarios.bring_up import bring_up
from virtio_ep.scenarios.datapath import firmware_asleep
from virtio_ep.testbench import EndpointTb

PAIRS = 4
FRAMES_PER_PAIR = 3
TIMEOUT_NS = 5_000_000


async def start(dut, mode: str, queue_size: int = 64, event_idx: bool = False):
    tb = await EndpointTb.start(dut, latencies=latency_setting("default"))
    bench = await bring_up(tb, "async", net_device(mtu=9000, queue_pairs=PAIRS), mode_by_name(mode),
                           queue_size=queue_size, pool_bytes=8 << 20, event_idx=event_idx,
                           extra_features=bit(VirtioFeature.EVENT_IDX) if event_idx else 0)
    granted = bench.probe.features
    assert granted & bit(NetFeature.MQ) and granted & bit(NetFeature.CTRL_VQ), \
        f"MQ and CTRL_VQ offered and asked for, granted features 0x{granted:x}"
    assert bench.probe.info.num_queues == 2 * PAIRS + 1, f"{bench.probe.info.num_queues} queues for {PAIRS} pairs"
    ctrl = NetControl(bench.queues[net_ctrl_queue(PAIRS, mq=True)])
    return tb, bench, ctrl


@cocotb.test()
@cocotb.parametrize(mode=["split", "packed"])
async def test_pairs_loop_back_on_their_own_queues(dut, mode: str):
    """VQ_PAIRS_SET outside 1..max_virtqueue_pairs and unknown commands get ERR and change
    nothing; with every pair on, each pair's frames come back on that pair, rung on its own
    doorbell slot and interrupted on its own RX vector."""
    tb, bench, ctrl = await start(dut, mode)
    fw = bench.fw
    for pairs in (0, PAIRS + 1):
        assert await ctrl.set_queue_pairs(pairs) == NetAck.ERR, f"VQ_PAIRS_SET {pairs} accepted"
    assert await ctrl.command(0x7F, 0) == NetAck.ERR, "an unknown control class was accepted"
    assert await ctrl.command(NetCtrl.CLASS_MQ, 0x55) == NetAck.ERR, "an unknown MQ command was accepted"
    assert fw.backend.pairs == 1, f"refused commands changed the pairs in use to {fw.backend.pairs}"
    assert await ctrl.set_queue_pairs(PAIRS) == NetAck.OK, f"VQ_PAIRS_SET {PAIRS} refused"
    assert fw.backend.pairs == PAIRS

    nets = [NetDriver(bench.queues, rx_buf=2048, pair=p) for p in range(PAIRS)]
    msis0 = [tb.host.msi_count(net.rx.cfg.msi_vector) for net in nets]
    sent = {p: [bytes([p, i]) * (60 + 10 * p + i) for i in range(FRAMES_PER_PAIR)] for p in range(PAIRS)}
    for p, net in enumerate(nets):
        await net.fill_rx(FRAMES_PER_PAIR)
    for i in range(FRAMES_PER_PAIR):            # interleaved: every pair has frames in flight
        for p, net in enumerate(nets):
            await net.send(sent[p][i])
    for p, net in enumerate(nets):
        got = await net.receive(FRAMES_PER_PAIR, timeout_ns=TIMEOUT_NS)
        assert got == sent[p], f"pair {p} received {[g[:2].hex() for g in got]}, sent {[s[:2].hex() for s in sent[p]]}"
        assert await net.reap_tx(FRAMES_PER_PAIR, timeout_ns=TIMEOUT_NS) == FRAMES_PER_PAIR
        vectors = {net.rx.cfg.msi_vector, net.tx.cfg.msi_vector}
        assert len(vectors) == 2 and not vectors & {n.rx.cfg.msi_vector for n in nets if n is not net}, \
            f"pair {p} shares an MSI vector: {vectors}"
        assert tb.host.msi_count(net.rx.cfg.msi_vector) > msis0[p], f"no MSI on pair {p}'s RX vector"
        assert fw.queue_notifications.get(net_tx_queue(p), 0) >= 1, \
            f"pair {p}'s TX doorbell slot never rang: {fw.queue_notifications}"
        assert fw.dq[net_rx_queue(p)].requests == FRAMES_PER_PAIR
    assert fw.ring_errors == [] and fw.backend.truncated == 0
    await bench.stop()


WEIGHT = 8                      # chains per queue per turn, small so a short test shows the turns
BACKLOG = 5 * WEIGHT            # frames pair 0 has waiting when pair 1 sends one


class Completions:
    """Counts the firmware queues' completions as they happen (the bench peeks at the
    firmware's DeviceQueue.complete) and snapshots every count when one queue reaches a
    number: exact, no sampling."""

    def __init__(self, fw, queues: list[int]):
        self.counts = {q: 0 for q in queues}
        self.waiters: list[tuple[int, int, Event, dict]] = []
        for q in queues:
            self._wrap(fw.dq[q], q)

    def _wrap(self, dq, q: int) -> None:
        inner = dq.complete

        async def complete(chain, written):
            await inner(chain, written)
            self.counts[q] += 1
            for queue, n, event, snapshot in self.waiters:
                if queue == q and self.counts[q] >= n and not event.is_set():
                    snapshot.update(self.counts)
                    event.set()
        dq.complete = complete

    def expect(self, q: int, n: int) -> tuple[Event, dict]:
        """Register before the work starts: the event is set, and the dict filled with every
        queue's count, when queue q has completed n requests."""
        event, snapshot = Event(), {}
        self.waiters.append((q, n, event, snapshot))
        return event, snapshot

    @staticmethod
    async def wait(q: int, n: int, expected: tuple[Event, dict]) -> dict:
        try:
            await with_timeout(expected[0].wait(), TIMEOUT_NS, "ns")
        except SimTimeoutError:
            raise AssertionError(f"queue {q} did not complete {n} requests within {TIMEOUT_NS} ns") from None
        return expected[1]


@cocotb.test()
async def test_no_pair_starves(dut):
    """Pair 0 has BACKLOG frames waiting (event index on, as Linux runs it) and is in its
    second turn when pair 1 sends a frame. With a weight of WEIGHT chains per turn, the device
    completes pair 1's frame after at most the rest of pair 0's turn in progress: a queue
    rung anew goes before one left with work. Every frame comes back intact."""
    tb, bench, ctrl = await start(dut, "split", queue_size=128, event_idx=True)
    fw = bench.fw
    fw.backend.weight = WEIGHT
    assert await ctrl.set_queue_pairs(2) == NetAck.OK
    flooded, other = NetDriver(bench.queues, pair=0), NetDriver(bench.queues, pair=1)
    frames = [bytes([i]) * 64 for i in range(BACKLOG)]
    await flooded.fill_rx(BACKLOG)
    await other.fill_rx(1)
    await firmware_asleep(tb)
    tx0, tx1 = net_tx_queue(0), net_tx_queue(1)
    done = Completions(fw, [tx0, tx1])
    second_turn, pair1_done = done.expect(tx0, WEIGHT + 1), done.expect(tx1, 1)
    for frame in frames:
        await flooded.send(frame)
    before = (await done.wait(tx0, WEIGHT + 1, second_turn))[tx0]     # pair 0's second turn is completing chains
    await other.send(b"pair 1 " * 10)
    waited = (await done.wait(tx1, 1, pair1_done))[tx0] - before
    assert await other.receive(1, timeout_ns=TIMEOUT_NS) == [b"pair 1 " * 10]
    assert await flooded.receive(BACKLOG, timeout_ns=TIMEOUT_NS) == frames, "pair 0's frames came back different"
    assert await flooded.reap_tx(BACKLOG, timeout_ns=TIMEOUT_NS) == BACKLOG
    tb.log.info("pair 1's frame was completed after %d more of pair 0's %d frames (weight %d)", waited, BACKLOG,
                WEIGHT)
    assert waited <= WEIGHT, f"pair 1's frame waited for {waited} of pair 0's {BACKLOG} frames (weight {WEIGHT})"
    assert fw.ring_errors == [] and fw.backend.delivered == BACKLOG + 1
    await bench.stop()


@cocotb.test()
async def test_push_rings_past_bar0_refused(dut):
    """Push ring q starts at PUSH_RING_AREA + q * PUSH_RING_STRIDE in BAR0: in a 64 KiB
    build, rings of 64 slots fit for queues 0 to 3. Push queues past the SRAM are refused
    per queue with BAD_SIZE (the host learns which), not accepted over memory the device
    does not have."""
    tb = await EndpointTb.start(dut)
    bar0, size = tb.params.bar0_sram_size, 64
    past = [q for q in range(2 * PAIRS + 1) if PUSH_RING_AREA + q * PUSH_RING_STRIDE + size * PushEntry.SIZE > bar0]
    assert past, "every ring fits: the test proves nothing"
    try:
        await bring_up(tb, "async", net_device(queue_pairs=PAIRS), QueueMode.PUSH, queue_size=size)
    except TransportError as exc:
        refused = ast.literal_eval(str(exc).split(": ", 1)[1])      # {queue: error name}
    else:
        raise AssertionError(f"{2 * PAIRS + 1} push rings accepted in {bar0} bytes of BAR0")
    assert refused == {q: "BAD_SIZE" for q in past}, f"refused {refused}; past a BAR0 of {bar0} bytes: {past}"
