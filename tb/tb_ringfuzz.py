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
(24 cases by default, as in CI).

Every posted buffer sits between two guard zones of a known pattern, as long as the most
the device writes for one request, so a damaged length that lets the device write past
what it reports is seen. A completed case must name the request's id, report no more than
the descriptor offered (exactly min(offered, ENTROPY_MAX_REQUEST) when the head descriptor
is a lone writable buffer, read back from the ring as the spec lays it out) and leave every
byte past the reported length untouched; an ignored case, and one the device reset, leave
the whole window untouched."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import cocotb
from cocotb.triggers import First

from virtio_ep.runconfig import RunConfig
from virtio_ep.scenarios.bring_up import bring_up, probe
from virtio_ep.testbench import EndpointTb, rerun_note
from virtio_ep.host.async_transport import AsyncTransport
from virtio_ep.host.pcie_host import HostTimeout
from virtio_ep.rings.memory import RingError
from virtio_ep.layout import (ASYNC_DOORBELL_QUEUE0, BAR_SRAM, ENTROPY_MAX_REQUEST, AsyncReason, DescFlag, PackedDesc,
                              PushEntry, PushFlag, QueueMode, SplitDesc)

CASES = RunConfig.current().request_count(24)
MODES = (QueueMode.SPLIT, QueueMode.PACKED, QueueMode.PUSH)
WAIT_NS = 30_000
GUARD = ENTROPY_MAX_REQUEST      # the most the device writes for one request, before and after the buffer
PATTERN = 0xA5


@dataclass
class Guarded:
    """One posted buffer inside its guard window (host memory from the driver's own pool)."""

    buf_id: int
    window: int                  # first guard byte
    addr: int                    # the buffer
    length: int                  # its posted length
    span: int                    # window bytes in all

    async def written(self, mem) -> tuple[int, int]:
        """(first, end) offsets from the buffer of the bytes that no longer hold the pattern,
        or (0, 0) if none changed."""
        data = await mem.read(self.window, self.span)
        changed = [i for i, b in enumerate(data) if b != PATTERN]
        if not changed:
            return 0, 0
        return changed[0] - (self.addr - self.window), changed[-1] + 1 - (self.addr - self.window)


async def post_guarded(q, length: int) -> Guarded:
    """Post one device-writable buffer of `length` bytes between two pattern-filled guards."""
    pool = q.pool
    if pool.next + 2 * GUARD + length + 64 > pool.size:
        pool.next = 0                             # keep the window contiguous
    window = pool.take(GUARD)
    buf_id = await q.add([], [length])
    [(addr, n)] = q.inbufs[buf_id]
    end = pool.take(GUARD) + GUARD
    assert addr == window + GUARD and n == length and end >= addr + n + GUARD, "guard window not contiguous"
    g = Guarded(buf_id, window, addr, n, end - window)
    await q.mem.write(window, bytes([PATTERN]) * g.span)
    return g


async def offered(tb, q) -> int | None:
    """Writable bytes the head descriptor of the last request offers, read back from the ring
    as the spec lays it out; None when the chain goes on (NEXT) or the head is out of range."""
    if q.mode == QueueMode.SPLIT:
        r = q.ring.ring
        head = int.from_bytes(await q.mem.read(r.avail_slot((q.ring.avail_idx - 1) & 0xFFFF), 2), "little")
        if head >= r.size:
            return None
        desc = await q.mem.read(r.desc + SplitDesc.SIZE * head, SplitDesc.SIZE)
        flags, length = SplitDesc.FLAGS.get(desc), SplitDesc.LEN.get(desc)
        write, chained = DescFlag.WRITE, DescFlag.NEXT | DescFlag.INDIRECT
    elif q.mode == QueueMode.PACKED:
        desc = await q.mem.read(q.ring.ring.slot((q.ring.next_avail - 1) % q.ring.ring.size), PackedDesc.SIZE)
        flags, length = PackedDesc.FLAGS.get(desc), PackedDesc.LEN.get(desc)
        write, chained = DescFlag.WRITE, DescFlag.NEXT | DescFlag.INDIRECT
        if bool(flags & DescFlag.AVAIL) == bool(flags & DescFlag.USED):
            return None         # a used element is there: the device (still running) took it already
    else:
        entry = await tb.host.read(BAR_SRAM, q.ring.ring.slot((q.ring.prod - 1) & 0xFFFF), PushEntry.INLINE)
        flags, length = PushEntry.FLAGS.get(entry), PushEntry.LEN.get(entry)
        write, chained = PushFlag.WRITE, PushFlag.NEXT | PushFlag.INLINE
    if flags & chained:
        return None
    return length if flags & write else 0


async def check_case(tb, q, g: Guarded, result: str, used, offer: int | None, where: str) -> None:
    """The buffer and its guards after the case (see the module's docstring)."""
    first, end = await g.written(q.mem)
    if result == "completed":
        (buf_id, n), = used
        assert buf_id == g.buf_id, f"{where}: completed id {buf_id}, posted {g.buf_id}"
        bound = ENTROPY_MAX_REQUEST if offer is None else min(offer, ENTROPY_MAX_REQUEST)
        assert (n == bound) if offer is not None else (n <= bound), (
            f"{where}: used length {n}, the descriptor offered {offer} (device gives at most {ENTROPY_MAX_REQUEST})")
        assert first >= 0 and end <= n, f"{where}: device wrote bytes [{first}, {end}) of the buffer, reported {n}"
    elif result in ("ignored", "reset"):
        assert (first, end) == (0, 0), f"{where}: {result}, yet bytes [{first}, {end}) of the buffer changed"


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


async def outcome(q, transport: AsyncTransport) -> tuple[str, list | None]:
    """Which defined state the case ended in, and the used entries if it completed; both
    waits are bounded."""
    used = cocotb.start_soon(guarded(q.wait_used(1, WAIT_NS)))
    event = cocotb.start_soon(guarded(transport.wait_event(WAIT_NS)))
    await First(used, event)
    if used.done() and used.result()[0]:
        event.cancel()
        return "completed", used.result()[1]
    if event.done() and event.result()[0]:
        used.cancel()
        return reset_reason(event.result()[1]), None
    ok_used, got = await used
    ok_event, state = await event
    if ok_event:
        return reset_reason(state), None
    if isinstance(got, RingError):         # the device answered with an id not in flight
        return "driver_error", None
    return "ignored", None


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
        g = await post_guarded(q, rng.choice([16, 64, 256]))
        what = await damage(q, rng, g.buf_id)
        offer = await offered(tb, q)
        await (q.kick() if q.mode != QueueMode.SPLIT else notify_split(tb, q))
        result, used = await outcome(q, transport)
        tb.log.info("case %d: %s %s -> %s", case, mode.name, what, result)
        await check_case(tb, q, g, result, used, offer, f"case {case} ({mode.name} {what}, seed {seed})")
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
    assert tally["reset"] > 0, "no case was caught as a broken ring: the fuzzer is not biting"
    await bench.stop()


async def notify_split(tb, q) -> None:
    """Publish avail.idx as the driver would (the damage is already in place), then ring."""
    await q.mem.write(q.ring.ring.avail + 2, q.ring.avail_idx.to_bytes(2, "little"))
    await tb.host.ring_doorbell(ASYNC_DOORBELL_QUEUE0 + q.cfg.index, q.ring.avail_idx)
