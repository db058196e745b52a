"""Host-side fuzzer: a seeded random stream of requests to the endpoint (reads and writes
anywhere in BAR0's aperture, twice the SRAM, and in BAR2; doorbells of any width and slot;
I/O, atomic and locked requests). Every outcome is checked against the rules: SRAM accesses
match a mirror, anything beyond the SRAM answers UR or is dropped and counted, bad doorbells
are counted, nothing changes what it must not, and nothing hangs (every wait is bounded).
RunConfig.requests sets the count (300 by default, as in CI; a long run outside it), and
RunConfig.check_every checks the counters after every case."""

from __future__ import annotations

import random

import cocotb
from cocotbext.pcie.core.tlp import CplStatus, TlpType

from virtio_ep.runconfig import RunConfig
from virtio_ep.testbench import EndpointTb, inject_request, rerun_note
from virtio_ep import layout
from virtio_ep.host.pcie_host import HostAccessError
from virtio_ep.layout import Csr, DbReg, Region

CASES = RunConfig.current().request_count(300)


def write_tlps(off: int, length: int, mps: int) -> int:
    """TLPs the root complex splits a host write into (max payload counting the first
    dword's padding, and 4 KiB boundaries)."""
    n = 0
    while length:
        chunk = min(length, mps - off % 4, 4096 - off % 4096)
        off, length, n = off + chunk, length - chunk, n + 1
    return n


@cocotb.test()
async def test_host_fuzz(dut):
    size = layout.DEFAULT_PARAMS.bar0_sram_size
    tb = await EndpointTb.start(dut, bar0_aperture=2 * size)
    seed = cocotb.RANDOM_SEED
    tb.log.info("fuzz seed %d, %d cases (%s and RunConfig(requests=%d))", seed, CASES, rerun_note(), CASES)
    rng = random.Random(seed)
    mps = 128 << tb.dev.functions[0].pcie_cap.max_payload_size
    mirror = bytearray(size)
    await tb.host.write(layout.BAR_SRAM, 0, bytes(size))         # known contents
    expect = {"drop": 0, "ur": 0, "bad_db": 0}
    last = "start"
    last_db: dict[int, int] = {}
    slots = tb.params.db_slots
    check_every = RunConfig.current().check_every
    for case in range(CASES):
        if check_every:
            # posted writes may still be in flight: a read flushes them, then the counters
            await tb.host.read(layout.BAR_SRAM, 0, 4)
            drops = await tb.cpu.csr(Csr.CNT_CQ_POSTED_DROP)
            assert drops == expect["drop"], f"after case {case - 1} ({last}): {drops} drops counted, {expect['drop']} expected"
        kind = rng.choices(["bar0_write", "bar0_read", "db", "bar2_read", "unsupported"], [35, 30, 20, 5, 10])[0]
        if kind in ("bar0_write", "bar0_read"):
            length = rng.randint(1, mps)
            inside = rng.random() < 0.8
            off = rng.randrange(0, size - length) if inside else rng.randrange(size, 2 * size - length)
            if off // 4096 != (off + length - 1) // 4096:
                length = 4096 - off % 4096                    # the host splits at 4 KiB anyway
            last = f"{kind} of {length} at 0x{off:x}"
            if kind == "bar0_write":
                data = bytes(rng.randrange(256) for _ in range(length))
                await tb.host.write(layout.BAR_SRAM, off, data)
                if inside:
                    mirror[off:off + length] = data
                else:
                    expect["drop"] += write_tlps(off, length, mps)
            else:
                try:
                    got = await tb.host.read(layout.BAR_SRAM, off, length, timeout_ns=20_000)
                except HostAccessError:
                    assert not inside, f"case {case}: read of {length} at 0x{off:x} failed inside the SRAM"
                    expect["ur"] += 1
                else:
                    assert inside, f"case {case}: read of {length} at 0x{off:x} beyond the SRAM succeeded"
                    assert got == bytes(mirror[off:off + length]), f"case {case}: read at 0x{off:x} differs from the mirror"
        elif kind == "db":
            width = rng.choice([4, 4, 4, 8, 2])
            slot = rng.randrange(0, slots + 8)
            value = rng.randrange(1 << 32)
            data = value.to_bytes(4, "little")[:width] if width <= 4 else value.to_bytes(8, "little")
            last = f"doorbell of {width} bytes at slot {slot}"
            await tb.host.write(layout.BAR_DOORBELL, slot * layout.DB_SLOT_STRIDE, data)
            if slot < slots and width <= 4:
                last_db[slot] = value & ((1 << (8 * width)) - 1)
            else:
                expect["bad_db"] += 1
                expect["drop"] += 1
        elif kind == "bar2_read":
            last = "bar2 read"
            got = await tb.host.read(layout.BAR_DOORBELL, rng.randrange(0, layout.BAR2_SIZE - 64) & ~3, 16)
            assert got == bytes(16), f"case {case}: BAR2 read returned data"
        else:
            last = "unsupported request"
            fmt = rng.choice([TlpType.IO_READ, TlpType.IO_WRITE, TlpType.FETCH_ADD, TlpType.MEM_READ_LOCKED])
            data = b"\1\0\0\0" if fmt in (TlpType.IO_WRITE, TlpType.FETCH_ADD) else b""
            cpl = await inject_request(tb, fmt, layout.BAR_SRAM, rng.randrange(0, size, 4), data)
            assert cpl.status == CplStatus.UR, f"case {case}: {fmt.name} got {cpl.status!r}"
            expect["ur"] += 1
    await tb.host.read(layout.BAR_SRAM, 0, 4)                       # flush
    assert await tb.cpu.read_sram(0, size) == bytes(mirror), "SRAM differs from the mirror after the fuzz run"
    assert await tb.cpu.csr(Csr.CNT_CQ_POSTED_DROP) == expect["drop"]
    assert await tb.cpu.csr(Csr.CNT_CQ_NP_UR) == expect["ur"]
    assert await tb.cpu.db_reg(DbReg.BAD_WRITES) == expect["bad_db"]
    for slot, value in last_db.items():
        got = await tb.cpu.read32(Region.DOORBELL + DbReg.VALUE + 4 * slot)
        assert got == value, f"slot {slot}: VALUE 0x{got:x}, last written 0x{value:x}"
    tb.log.info("fuzz: %d cases, %s", CASES, expect)
