"""The echo mailbox through the endpoint alone (`make sim TRANSPORT=echo`, tb_system): the
host writes a message into BAR0 and rings a doorbell; the firmware, woken by irq, reads it
through the local-bus window, writes a reply and requests an MSI; the host reads the reply.
Each request is timed at the RTL's ports."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

import cocotb

from .. import layout
from ..firmware.echo import EchoFirmware
from ..host.echo import echo_request

PAYLOADS = [16, 64, 256, 1024, 4, 100, 512, 1000]


@dataclass
class RequestTiming:
    payload: int
    doorbell_to_irq: float      # doorbell TLP last CQ beat -> irq
    request_to_msi_int: float   # MSI REQUEST write on the local bus -> cfg_interrupt_msi_int
    msi_int_to_host: float      # cfg_interrupt_msi_int -> host MSI callback
    end_to_end: float           # host starts writing the request -> host has the reply


def is_doorbell_beat(tb) -> bool:
    d = tb.dut
    if not tb.cq_last_beat() or not int(d.s_axis_cq_tuser.value) >> 40 & 1:
        return False
    return (int(d.s_axis_cq_tdata.value) >> 112) & 7 == layout.BAR_DOORBELL


async def timed_request(tb, seq: int, payload: bytes) -> tuple[bytes, RequestTiming]:
    t0 = tb.now_ns()
    req = cocotb.start_soon(echo_request(tb.host, seq, payload, timeout_ns=200_000))
    budget = 20_000
    t_db = await tb.wait_cycle(lambda: is_doorbell_beat(tb), budget, "the doorbell TLP on CQ")
    t_irq = await tb.wait_cycle(lambda: tb.dut.irq.value == 1, budget, "irq")
    t_req = await tb.wait_cycle(
        lambda: tb.axil_write_handshake() and int(tb.dut.s_axil_awaddr.value) == layout.Region.MSI + layout.MsiReg.REQUEST,
        budget, "the firmware's MSI request")
    t_int = await tb.wait_cycle(tb.msi_int_active, budget, "cfg_interrupt_msi_int")
    reply = await req
    t_host = tb.host.msi_vectors[layout.ECHO.msi_vector].times_ns[-1]
    return reply, RequestTiming(len(payload), tb.cycles(t_db, t_irq), tb.cycles(t_req, t_int),
                                tb.cycles(t_int, t_host), tb.cycles(t0, tb.now_ns()))


def summary(tb, timings: list[RequestTiming], tlp_counts, fw: EchoFirmware, sim: str) -> str:
    def stat(values: list[float]) -> str:
        return f"{min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}"

    n = len(timings)
    lines = [
        "",
        f"virtio_ep demo: echo mailbox over BAR0 + doorbell + MSI ({sim}, user_clk {layout.USER_CLK_HZ / 1e6:.0f} MHz)",
        f"  requests served        : {fw.served} of {n}, replies checked byte for byte, firmware errors: {len(fw.errors)}",
        f"  payload sizes (bytes)  : {', '.join(str(t.payload) for t in timings)}",
        "  TLPs on the link (total, per request):",
    ]
    for kind, count in sorted(tlp_counts.items()):
        lines.append(f"    {kind:24s} {count:6d}  {count / n:6.2f}")
    lines += [
        "  latency in cycles                          min  median     max",
        f"    doorbell TLP last beat -> irq       {stat([t.doorbell_to_irq for t in timings])}",
        f"    MSI REQUEST write -> msi_int        {stat([t.request_to_msi_int for t in timings])}",
        f"    msi_int -> host MSI callback        {stat([t.msi_int_to_host for t in timings])}",
        f"    end to end (host write -> reply)    {stat([t.end_to_end for t in timings])}",
        f"  firmware modelled busy cycles          {tb.cpu.busy_cycles}",
        "  (measured at the RTL ports in this simulation; the root complex model answers",
        "   at once: no host or link latency is added here)",
        "",
    ]
    return "\n".join(lines)


async def run_echo(tb, rng: random.Random, sim: str) -> str:
    """Every payload through the echo firmware, each reply checked; returns the summary."""
    fw = EchoFirmware(tb.cpu, tb.params.db_slots)
    fw_task = cocotb.start_soon(fw.run())
    mark = tb.tlps.mark()
    timings = []
    for seq, size in enumerate(PAYLOADS, start=1):
        payload = bytes(rng.randrange(256) for _ in range(size))
        reply, timing = await timed_request(tb, seq, payload)
        assert reply == payload[::-1], f"request {seq}: reply is not the reversed payload"
        timings.append(timing)
    counts = tb.tlps.counts(mark)
    fw.stop.set()
    await fw_task
    assert fw.errors == [], fw.errors
    assert fw.served == len(PAYLOADS)
    # per request: request write(s) + doorbell down, one MSI up, reply read(s) + completions
    assert counts["up msi/mem_write"] == len(PAYLOADS), counts
    assert counts["down mem_read"] >= len(PAYLOADS) and counts["up completion"] >= counts["down mem_read"], counts
    return summary(tb, timings, counts, fw, sim)
