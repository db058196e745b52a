"""Traffic every data-path test and the soak run: each request checked byte for byte
against what was sent (net), a mirror of the disk (block) or the lengths asked (entropy),
and the device's counts checked so that no request is lost or duplicated."""

from __future__ import annotations

import random

from ..host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from ..layout import BLK_SECTOR_SIZE, BlkStatus


async def exercise_net(net: NetDriver, backend, requests: int, rng: random.Random) -> None:
    delivered_before = backend.delivered
    await net.fill_rx(32)
    for n in range(requests):
        size = rng.choice([14, 60, 64, 100, 200, 512, 1000, 1514])
        frame = bytes(rng.randrange(256) for _ in range(size))
        cuts = sorted(rng.sample(range(1, size), k=min(2, size - 1))) if n % 3 == 0 else None
        await net.send(frame, cuts)
        got = await net.receive(1)
        assert got == [frame], f"frame {n} ({size} bytes, cuts {cuts}) came back different"
        assert await net.reap_tx(1) == 1
        if net.rx_posted < 8:
            await net.fill_rx(16)
    delivered = backend.delivered - delivered_before
    assert delivered == requests, f"{delivered} frames delivered for {requests} sent"
    assert backend.truncated == 0


async def exercise_net_bursts(net: NetDriver, backend, requests: int, rng: random.Random, ring_size: int,
                              timeout_ns: int = 20_000_000) -> None:
    """Many frames in flight: bursts of up to half a ring sent back to back (one kick
    attempt each, as a stack sends them), then every frame received, in order."""
    sent, delivered_before = 0, backend.delivered
    while sent < requests:
        burst = min(rng.randrange(1, ring_size // 2), requests - sent)
        if net.rx_posted < burst:
            # bounded by the ring's room: buffers an earlier driver posted may still be there
            await net.fill_rx(min(ring_size - net.rx_posted, net.rx.room))
        frames = [rng.randbytes(rng.choice([14, 60, 200, 1514])) for _ in range(burst)]
        for frame in frames:
            await net.send(frame)
        got = await net.receive(burst, timeout_ns)
        assert got == frames, f"frames {sent}..{sent + burst} came back different"
        assert await net.reap_tx(burst, timeout_ns) == burst
        sent += burst
    assert backend.delivered - delivered_before == requests, "frames lost or duplicated"


async def exercise_block(blk: BlkDriver, backend, requests: int, rng: random.Random,
                         mirror: dict[int, bytes] | None = None) -> None:
    """`mirror` (sector -> contents the disk must hold) carries over between calls on one disk."""
    capacity = backend.capacity // BLK_SECTOR_SIZE
    mirror = {} if mirror is None else mirror
    for n in range(requests):
        sector = rng.randrange(0, capacity - 4)
        count = rng.choice([1, 1, 2, 4])
        if n % 2 == 0:
            data = bytes(rng.randrange(256) for _ in range(count * BLK_SECTOR_SIZE))
            assert await blk.write(sector, data) == BlkStatus.OK
            for k in range(count):
                mirror[sector + k] = data[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE]
        else:
            status, data = await blk.read(sector, count)
            assert status == BlkStatus.OK
            for k in range(count):
                expect = mirror.get(sector + k, bytes(BLK_SECTOR_SIZE))
                assert data[k * BLK_SECTOR_SIZE:(k + 1) * BLK_SECTOR_SIZE] == expect, f"sector {sector + k}"
    flushes = backend.flushes
    assert await blk.flush() == BlkStatus.OK and backend.flushes == flushes + 1
    status, ident = await blk.get_id()
    assert status == BlkStatus.OK and ident.rstrip(b"\0") == backend.ID
    assert (await blk.read(capacity - 1, 2))[0] == BlkStatus.IOERR
    assert await blk.write(capacity, bytes(BLK_SECTOR_SIZE)) == BlkStatus.IOERR
    assert await blk.raw(0x55, 0, 1) == BlkStatus.UNSUPP


async def exercise_entropy(rng_drv: RngDriver, backend, sizes=(16, 64, 100, 256)) -> None:
    total = backend.bytes_delivered
    for n in sizes:
        data = await rng_drv.read(n)
        # 16 or more random bytes all equal would mean the device filled a constant
        assert len(data) == n and (n < 16 or len(set(data)) > 1), f"{n} entropy bytes: {data.hex()}"
        total += n
    assert backend.bytes_delivered == total


async def exercise(device: str, queues: dict, backend, requests: int, rng: random.Random,
                   mirror: dict[int, bytes] | None = None) -> None:
    """`requests` requests of the device's kind through its driver on `queues`; `mirror` (block)
    carries the disk's expected contents across calls, entropy sizes are drawn from `rng`."""
    if device == "net":
        await exercise_net(NetDriver(queues), backend, requests, rng)
    elif device == "block":
        await exercise_block(BlkDriver(queues[0]), backend, requests, rng, mirror)
    elif device == "entropy":
        await exercise_entropy(RngDriver(queues[0]), backend, [rng.randrange(1, 300) for _ in range(requests)])
    else:
        raise ValueError(f"device {device!r}: use net, block or entropy")
