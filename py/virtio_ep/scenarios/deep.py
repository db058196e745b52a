"""Requests many at a time: every device driven with up to `depth` requests in flight, each
request distinct and checked, and every request completed exactly once (the soak at depth,
tb/tb_soak.py)."""

from __future__ import annotations

import random
from collections import deque

from ..host.virtio_drivers import BlkDriver, NetDriver, RngDriver
from ..layout import BLK_SECTOR_SIZE, BlkStatus, BlkType
from .datapath import LOOPBACK_TIMEOUT_NS

DEEP_TIMEOUT_NS = LOOPBACK_TIMEOUT_NS


async def net_deep(net: NetDriver, backend, requests: int, rng: random.Random, depth: int) -> None:
    """`depth` frames in flight, each sent as one comes back; frames of random sizes and
    contents come back in order, each once."""
    delivered0, sent = backend.delivered, deque()

    async def send() -> None:
        frame = rng.randbytes(rng.choice([14, 60, 64, 100, 200, 512, 1000, 1514]))
        sent.append(frame)
        await net.send(frame)
    await net.fill_rx(depth)
    for _ in range(min(depth, requests)):
        await send()
    for n in range(requests):
        got = await net.receive(1, DEEP_TIMEOUT_NS)
        assert got == [sent.popleft()], f"frame {n} of {requests} (depth {depth}) came back different or out of order"
        assert await net.reap_tx(1, DEEP_TIMEOUT_NS) == 1
        if n + 1 + len(sent) < requests:       # received n + 1, len(sent) in flight
            await net.fill_rx(1)
            await send()
    assert backend.delivered - delivered0 == requests, \
        f"{backend.delivered - delivered0} frames delivered for {requests} sent: lost or duplicated"


async def completed_once(q, ids: list[int], what: str) -> list[tuple[int, int]]:
    """Wait for the requests `ids`: each used exactly once, no other."""
    used = await q.wait_used(len(ids), DEEP_TIMEOUT_NS)
    got = sorted(i for i, _ in used)
    assert got == sorted(ids), f"{what}: used ids {got}, submitted {sorted(ids)}: lost or duplicated"
    return used


async def block_deep(blk: BlkDriver, backend, requests: int, rng: random.Random, depth: int,
                     mirror: dict[int, bytes]) -> None:
    """Bursts of `depth` requests (writes, reads, a flush now and then) on sectors no other
    request of the burst touches; reads return what the disk must hold (`mirror`, carried
    across calls), writes take effect after their burst."""
    capacity = backend.capacity // BLK_SECTOR_SIZE
    done = 0
    while done < requests:
        burst, busy = {}, set()
        for _ in range(min(depth, requests - done)):
            count = rng.choice([1, 1, 2, 4])
            sector = rng.randrange(0, capacity - count)
            span = set(range(sector, sector + count))
            if span & busy:
                continue
            busy |= span
            kind = rng.choice([BlkType.OUT, BlkType.IN, BlkType.IN, BlkType.FLUSH] if done else [BlkType.OUT])
            data = rng.randbytes(count * BLK_SECTOR_SIZE) if kind == BlkType.OUT else b""
            in_len = count * BLK_SECTOR_SIZE + 1 if kind == BlkType.IN else 1
            out = [blk.header(kind, sector)] + ([data] if data else [])
            burst[await blk.q.add(out, [in_len])] = (kind, sector, count, data, in_len)
        await blk.q.kick()
        for buf_id, _length in await completed_once(blk.q, list(burst), f"block burst at request {done}"):
            kind, sector, count, data, in_len = burst[buf_id]
            back = await blk.q.read_in(buf_id, in_len)
            assert back[-1] == BlkStatus.OK, f"{kind.name} of {count} sectors at {sector}: status {back[-1]}"
            for k in range(count):
                piece = slice(k * BLK_SECTOR_SIZE, (k + 1) * BLK_SECTOR_SIZE)
                if kind == BlkType.IN:
                    assert back[piece] == mirror.get(sector + k, bytes(BLK_SECTOR_SIZE)), f"sector {sector + k}"
                elif kind == BlkType.OUT:
                    mirror[sector + k] = data[piece]
        done += len(burst)


async def entropy_deep(rng_drv: RngDriver, backend, requests: int, rng: random.Random, depth: int) -> None:
    """Bursts of `depth` reads of random sizes: each filled to its size, none constant."""
    total, done = backend.bytes_delivered, 0
    while done < requests:
        burst = {}
        for _ in range(min(depth, requests - done)):
            n = rng.randrange(16, 300)
            burst[await rng_drv.q.add([], [n])] = n
        await rng_drv.q.kick()
        for buf_id, length in await completed_once(rng_drv.q, list(burst), f"entropy burst at request {done}"):
            data = await rng_drv.q.read_in(buf_id, length)
            assert length == burst[buf_id] and len(set(data)) > 1, f"read of {burst[buf_id]}: {length} bytes {data.hex()}"
            total += length
        done += len(burst)
    assert backend.bytes_delivered == total
