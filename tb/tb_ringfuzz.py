"""Ring fuzzer: seeded random damage to live rings of a running device (split, packed and
push modes in turn), one request per case. A buggy or hostile driver corrupts the ring
metadata of its request after writing it (flags, next, length, id, avail entry, avail
index; buffer addresses are left alone: what a device writes through a wild address is
the IOMMU's business, not the transport's). Every case must end, within its timeout, in
one of four defined states:

- completed: the device took the request and used it (the damage was harmless);
- reset: the device reported NEEDS_RESET with reason BAD_RING (and MSI 0);
- ignored: the device saw nothing to take (for example an unavailable packed descriptor),
  and the driver's wait timed out;
- driver_error: the device answered for an id the driver has not in flight (an avail
  entry pointing at an old chain), which the driver detects;

then the driver, which cannot trust a ring it damaged, resets the device and re-probes,
and a good request must work. Nothing hangs: every wait is bounded. RunConfig.requests sets the count
(24 cases by default, as in CI)."""

from __future__ import annotations

import random
from collections import Counter

import cocotb
from cocotb.triggers import First

from virtio_ep.runconfig import RunConfig
from virtio_ep.scenarios.bring_up import bring_up, probe
from virtio_ep.testbench import EndpointTb, rerun_note
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.pcie_host import HostTimeout
from virtio_ep.rings.memory import RingError
from virtio_ep.layout import ASYNC_DOORBELL_QUEUE0, AsyncReason, DescFlag, PackedDesc, PushEntry, QueueMode, SplitDesc

CASES = RunConfig.current().request_count(24)
MODES = (QueueMode.SPLIT, QueueMode.PACKED, QueueMode.PUSH)
WAIT_NS = 30_000


async def damage(q, rng: random.Random, buf_id: int) -> str:
    """Corrupt the request just added (before its notification); return what was done."""
    ring, mem = q.ring, q.mem
    if q.mode == QueueMode.SPLIT:
        r = ring.ring
        target = rng.choice(["flags", "next", "len", "avail_entry"])
        desc = r.desc + SplitDesc.SIZE * buf_id
        if target == "flags":       # any flags but INDIRECT (its table would be the buffer's bytes)
            value, field = rng.randrange(1 << 16) & ~DescFlag.INDIRECT, SplitDesc.FLAGS
        elif target == "next":
            value, field = rng.randrange(1 << 16), SplitDesc.NEXT
        elif target == "len":
            value, field = rng.choice([0, 1, rng.randrange(1 << 32)]), SplitDesc.LEN
        else:
            slot = r.avail_slot((ring.avail_idx - 1) & 0xFFFF)
            await mem.write(slot, rng.randrange(1 << 16).to_bytes(2, "little"))
            return target
        await mem.write(desc + field.offset, value.to_bytes(field.size, "little"))
        return target
    if q.mode == QueueMode.PACKED:
        slot = ring.ring.slot((ring.next_avail - 1) % ring.ring.size)
        target = rng.choice(["flags", "len", "id"])
        field = {"flags": PackedDesc.FLAGS, "len": PackedDesc.LEN, "id": PackedDesc.ID}[target]
        value = rng.randrange(1 << (8 * field.size))
        if target == "flags":
            value &= ~DescFlag.INDIRECT
        await mem.write(slot + field.offset, value.to_bytes(field.size, "little"))
        return target
    slot = ring.ring.slot((ring.prod - 1) & 0xFFFF)
    target = rng.choice(["flags", "len", "id"])
    field = {"flags": PushEntry.FLAGS, "len": PushEntry.LEN, "id": PushEntry.ID}[target]
    await ring.bar_write(slot + field.offset, rng.randrange(1 << (8 * field.size)).to_bytes(field.size, "little"))
    return target


async def guarded(coro):
    """(True, result) or (False, the error): a bounded wait that ends either way."""
    try:
        return True, await coro
    except (HostTimeout, RingError) as exc:
        return False, exc


async def outcome(q, transport: AsyncTransport) -> str:
    """Which defined state the case ended in; both waits are bounded."""
    used = cocotb.start_soon(guarded(q.wait_used(1, WAIT_NS)))
    event = cocotb.start_soon(guarded(transport.wait_event(WAIT_NS)))
    await First(used, event)
    if used.done() and used.result()[0]:
        event.cancel()
        return "completed"
    if event.done() and event.result()[0]:
        used.cancel()
        return reset_reason(event.result()[1])
    ok_used, got = await used
    ok_event, state = await event
    if ok_event:
        return reset_reason(state)
    if isinstance(got, RingError):         # the device answered with an id not in flight
        return "driver_error"
    return "ignored"


def reset_reason(state) -> str:
    assert state.needs_reset and state.reason == AsyncReason.BAD_RING, f"device state {state}"
    return "reset"


@cocotb.test()
async def test_ring_fuzz(dut):
    seed = cocotb.RANDOM_SEED
    rng = random.Random(seed)
    bench = await bring_up(await EndpointTb.start(dut), "async", "entropy", MODES[0])
    tb, queues = bench.tb, bench.queues
    tb.log.info("ring fuzz seed %d, %d cases (%s and RunConfig(requests=%d))", seed, CASES, rerun_note(), CASES)
    transport = AsyncTransport(tb.host)
    await transport.discover()
    tally: Counter = Counter()
    for case in range(CASES):
        mode = MODES[case % len(MODES)]
        if queues[0].mode != mode:
            queues = await probe(bench, mode)
            await transport.discover()
        q = queues[0]
        buf_id = await q.add([], [rng.choice([16, 64, 256])])
        what = await damage(q, rng, buf_id)
        await (q.kick() if q.mode != QueueMode.SPLIT else notify_split(tb, q))
        result = await outcome(q, transport)
        tb.log.info("case %d: %s %s -> %s", case, mode.name, what, result)
        tally[result] += 1
        tally[f"{mode.name.lower()} {what} {result}"] += 1
        # a driver that damaged its ring cannot trust it: it resets the device and sets the
        # queues up again, after which a good request must work
        queues = await probe(bench, mode)
        await transport.discover()
        q = queues[0]
        await q.add([], [32])
        await q.kick()
        [(_, n)] = await q.wait_used(1, WAIT_NS * 10)
        assert n == 32, f"case {case} ({mode.name} {what} {result}): good request wrote {n} bytes"
    tb.log.info("ring fuzz outcomes: %s", dict(sorted(tally.items())))
    assert sum(tally[k] for k in ("completed", "reset", "ignored", "driver_error")) == CASES
    assert tally["reset"] > 0, "no case was caught as a broken ring: the fuzzer is not biting"
    await bench.stop()


async def notify_split(tb, q) -> None:
    """Publish avail.idx as the driver would (the damage is already in place), then ring."""
    await q.mem.write(q.ring.ring.avail + 2, q.ring.avail_idx.to_bytes(2, "little"))
    await tb.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + q.cfg.index, q.ring.avail_idx)
