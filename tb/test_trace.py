"""`make trace` on both simulators: a push ring's turns at 1 KiB, 16 in flight, timed on the
RTL and read back from the firmware's timeline (SoftCpu.timeline) and the root complex's TLPs;
a split ring's serial turns where the driver refills the ring before the turn's last look."""

from __future__ import annotations

import argparse
import statistics

import pytest

from virtio_ep import bench_model, bench_trace, load_model as M, makevars, simrun
from virtio_ep.host.virtio_core import QueueConfig
from virtio_ep.layout import QueueMode
from virtio_ep.testbench.tlp_names import TlpNames
from virtio_ep.bench import DOCS
from virtio_ep.bench_depths import read_rows as depths_rows
from virtio_ep.scenarios.load import ventiles


@pytest.mark.parametrize("sim", simrun.selected_simulators())
def test_trace_times_each_turn_of_a_push_ring(sim: str) -> None:
    """The window ends in turns of 9 and 7 frames by turns (the cohorts tb/test_load_model.py
    and docs/load_model.md describe); over the run, the turns deliver every frame sent and
    fetch each once (1 KiB frames are not inline; a frame fetched in one turn may be delivered
    by the next), and no turn waits longer than it runs; the report has a row per turn of the
    window and prices each; a turn asked for by its index is the one shown, one past the
    window is refused. Each frame's return to the host is recorded (`backs`), in order, and
    the window the row's rate is taken over runs from the 16th to the last."""
    data = bench_trace.trace(sim, "push", 1024, 16)
    sent = 16 + data["requests"]
    every = bench_trace.turns_of(data["timeline"])
    fetches = sum(what == "submit read" for t in every for _, what, _ in t.events)
    assert sum(t.frames for t in every) == sent and fetches == sent, \
        f"{sent} frames sent, {sum(t.frames for t in every)} delivered in the turns, {fetches} fetched"
    assert all(sum(t.waits) < t.cycles for t in every)
    backs = data["backs"]
    assert len(backs) == sent and backs == sorted(backs)
    assert data["requests"] / (backs[-1] - backs[15]) * 1e9 == pytest.approx(data["row"]["req_per_s"], rel=1e-9)
    latencies = bench_trace.window_latencies(backs, 16, data["requests"])
    assert len(latencies) == data["requests"]
    assert statistics.median(latencies) == pytest.approx(data["row"]["p50_ns"], rel=1e-9), \
        "the frames' latencies from their times back are not the ones the bench took its median of"
    assert data["row"]["ventiles_ns"] == ventiles(latencies), "the row's quantiles are not its window's"
    turns = bench_trace.window(data, 16)
    assert [t.frames for t in turns[-4:]] in ([9, 7, 9, 7], [7, 9, 7, 9]), [t.frames for t in turns]
    text = bench_trace.report(data, "push", 1024, 16, "default", "ideal", sim)
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(turns) and all(" - |" not in r for r in rows), text
    assert f"Turn 0 ({turns[0].frames} frames" in bench_trace.report(data, "push", 1024, 16, "default", "ideal", sim, 0)
    with pytest.raises(ValueError, match="the window has turns"):
        bench_trace.report(data, "push", 1024, 16, "default", "ideal", sim, len(turns))


def test_a_point_is_traced_at_a_varied_host_profile() -> None:
    """Every sensitivity knob can be traced: RTL parameters with PARAMS=, the Max_Payload_Size
    knobs as the bench names their profiles (PROFILE=ideal@mps=128), which make and the trace
    take and the model prices at; a variation the profiles do not have is refused by both."""
    assert bench_trace.profile_name("ideal@mps=128") == "ideal@mps=128"
    assert M.Setting(profile="ideal@mps=128").link.max_payload == 128
    assert makevars.problems(["PROFILE=ideal@mps=128"]) == []
    with pytest.raises(argparse.ArgumentTypeError, match="a variation is @mps="):
        bench_trace.profile_name("ideal@mtu=9000")
    assert "a variation is @mps=" in makevars.problems(["PROFILE=ideal@mtu=9000"])[0]


@pytest.mark.parametrize("sim", simrun.selected_simulators())
def test_a_split_turns_last_look_takes_the_next_frames_where_the_driver_is_first(sim: str) -> None:
    """At the `half` latencies the turn's MSI reaches the driver before the turn's last look
    at the ring reaches host memory (load_model.look_margin below zero), so the model has
    every serial turn take the next frame's chains there and read the ring index once less:
    the RTL's DMA waits a frame are the count fitted at the default latencies (where the look
    is first, and nothing is taken ahead) less one."""
    counts = M.fit(bench_model.calibration_source(DOCS))["split"]
    expected = M.turn_waits("split", M.turn_shape("split", 1), counts, M.Setting("half"))
    data = bench_trace.trace(sim, "split", 256, 1, latencies="half")
    got = data["row"]["waits_per_req"]
    assert got == pytest.approx(expected, abs=0.1), f"RTL {got} DMA waits a frame, the model {expected}"
    # the report prices each turn of the window, and shows when the shown turn's frame was back
    # with the host (its MSI, before its last look)
    text = bench_trace.report(data, "split", 256, 1, "half", "ideal", sim)
    rows = [x for x in text.splitlines() if x.startswith("| ") and x[2].isdigit()]
    assert rows and all(" - |" not in r for r in rows), text
    line = next(x for x in text.splitlines() if x.startswith("Frames back with the host"))
    assert "RTL none" not in line and "(1); the model" in line, line
    # and the host's doorbells in that turn, queue by queue, beside the waits of each turn that
    # slept; the device's ring writes named by part: under event index the driver kicks the TX
    # queue again only after the device has armed it again (an avail_event write between two
    # TX doorbells)
    assert any(x.startswith("The host's doorbells in turn") and "q1: " in x for x in text.splitlines()), text
    kinds = [kind for _, kind, _ in sorted(data["tlps"], key=lambda x: x[0])]
    kicks = [k for k, kind in enumerate(kinds) if kind == bench_trace.DOORBELL + " q1"]
    assert len(kicks) > 2 and {"TLP up mem_write MSI q0", "TLP up mem_write MSI q1"} <= set(kinds), sorted(set(kinds))
    assert all("TLP up mem_write q1 avail_event" in kinds[a:b] for a, b in zip(kicks, kicks[1:]))
    shown = bench_trace.window(data, 1)
    assert all(f"| {len(t.waits)} | {t.slept} | {sum(t.waits):,.0f} |" in r for t, r in zip(shown, rows)), text


def test_the_models_median_is_placed_among_the_rtls_latency_quantiles() -> None:
    """window_latencies: the j-th frame back against the j-th send, each send after the first
    `depth` as the frame `depth` before it is back; latency_line: the quantiles around the
    median (the median as the bench takes it) and the share of the RTL's frames below the
    model's median, here between two clusters of latencies."""
    assert bench_trace.window_latencies([10.0, 20.0, 30.0, 45.0, 50.0, 70.0], 2, 4) == [20.0, 25.0, 20.0, 25.0]
    line = bench_trace.latency_line([100e3] * 45 + [200e3] * 55, 150e3)
    assert "p40 100.0, p45 200.0, median 200.0, p55 200.0, p60 200.0" in line, line
    assert line.endswith("the model's median, 150.0 us, is the RTL's p45."), line


def test_a_trace_names_the_bench_rows_on_record_at_its_point() -> None:
    """The rows of the benches on record at the traced point and setting, and only those:
    packed 128 B at 24 in flight is in the depths bench at the default latencies and under
    `slow-fw`; each setting finds its own row (its median as docs/depths.csv has it), and a
    point no bench ran finds none."""
    rows = {r.latencies: r for r in depths_rows(DOCS) if (r.mode, r.payload, r.depth) == ("packed", 128, 24)}
    for latencies in ("default", "slow-fw"):
        line = bench_trace.on_record("packed", 128, 24, M.Setting(latencies))
        assert line.count("bench's window") == 1 and "the depths bench's" in line, line
        assert f"RTL median {rows[latencies].p50_ns / 1000:.1f} us" in line, line
    assert bench_trace.on_record("packed", 128, 25, M.Setting()) == ""


def test_a_turns_frames_back_are_the_hosts_receives_inside_it() -> None:
    """frames_back: the frames back while the turn runs, as shares of it, those back at the
    same time together; a frame back before the turn or after its end is not its own."""
    turn = bench_trace.Turn(1000.0, 2000.0)
    assert bench_trace.frames_back(turn, [500.0, 1250.0, 1500.0, 1500.0, 2000.0, 2500.0]) == \
        [(0.25, 1), (0.5, 2), (1.0, 1)]


def test_a_turns_doorbells_and_slept_waits_are_its_own() -> None:
    """doorbells: the host's doorbell writes (named by testbench.tlp_names) while the turn
    runs, as shares of it, a queue's alone when asked, not its writes to BAR0, its reads'
    completions nor the endpoint's writes up, nor a doorbell outside the turn; Turn.slept:
    the waits after which SoftCpu logged a sleep, however many times each slept."""
    turn = bench_trace.Turn(1000.0, 2000.0, events=[(1100.0, "wait", 50.0), (1100.0, "slept", 2.0),
                                                    (1300.0, "wait", 20.0), (1500.0, "wait", 900.0),
                                                    (1500.0, "slept", 1.0)])
    tlps = [[900.0, "TLP down mem_write doorbell q1", 4], [1250.0, "TLP down mem_write doorbell q1", 4],
            [1250.0, "TLP up mem_write q1 avail_event", 4], [1300.0, "TLP down mem_write", 4],
            [1600.0, "TLP down completion", 64], [1900.0, "TLP down mem_write doorbell q0", 4],
            [2100.0, "TLP down mem_write doorbell q1", 4]]
    assert bench_trace.doorbells(turn, tlps) == [(0.25, 1), (0.9, 1)]
    assert bench_trace.doorbells(turn, tlps, "q0") == [(0.9, 1)]
    assert bench_trace.by_queue(turn, tlps) == " (q0: 0.90 (1); q1: 0.25 (1))"
    assert turn.slept == 2 and len(turn.waits) == 3


def test_a_tlp_is_named_by_what_it_touched() -> None:
    """tlp_names: a host write to BAR2 is the doorbell of the queue that rings its slot (the
    slot a transport reported, else the asynchronous transport's 1 + queue), an unknown slot
    by number; an endpoint write to the MSI address is the MSI of the queue whose vector its
    data carries (above the root complex's base), another vector by number; its reads and writes of a
    split ring are named by part at each part's first and last byte (desc, avail idx, avail
    ring, used_event, used idx, used ring, avail_event), a packed ring's by its three areas, a
    push ring's used ring; anything else is payload, and completions and the host's BAR0
    writes are not named."""
    split = QueueConfig(1, 8, desc=0x1000, driver=0x2000, device=0x3000, msi_vector=2, mode=QueueMode.SPLIT)
    packed = QueueConfig(2, 8, desc=0x4000, driver=0x5000, device=0x6000, msi_vector=3, mode=QueueMode.PACKED,
                         notify_slot=9)
    push = QueueConfig(3, 8, device=0x7000, msi_vector=4, mode=QueueMode.PUSH)
    names = TlpNames.of(0x9000_0000, 0xFEE0_0000, [split, packed, push], msi_base=32)
    assert names.name("down", "mem_write", 0x9000_0000 + 4 * 2) == "doorbell q1"
    assert names.name("down", "mem_write", 0x9000_0000 + 4 * 9) == "doorbell q2"
    assert names.name("down", "mem_write", 0x9000_0000 + 4 * 5) == "doorbell slot 5"
    assert names.name("down", "mem_write", 0x8000_0000) == ""
    assert [names.name("up", "mem_write", 0xFEE0_0000, (32 + v).to_bytes(4, "little")) for v in (2, 3, 0)] == \
        ["MSI q1", "MSI q2", "MSI vector 0"]
    expected = {0x1000: "desc", 0x107F: "desc", 0x2000: "avail idx", 0x2003: "avail idx", 0x2004: "avail ring",
                0x2013: "avail ring", 0x2014: "used_event", 0x2015: "used_event", 0x3000: "used idx",
                0x3004: "used ring", 0x3043: "used ring", 0x3044: "avail_event", 0x3045: "avail_event"}
    for address, part in expected.items():
        assert names.name("up", "mem_read", address) == f"q1 {part}", hex(address)
    assert [names.name("up", "mem_write", a) for a in (0x2016, 0x3046, 0x0FFF)] == ["payload"] * 3
    assert [names.name("up", "mem_read", a) for a in (0x4000, 0x407F, 0x5003, 0x6003, 0x6004)] == \
        ["q2 desc", "q2 desc", "q2 driver event", "q2 device event", "payload"]
    assert [names.name("up", "mem_write", a) for a in (0x7002, 0x7004)] == ["q3 used idx", "q3 used ring"]
    assert names.name("down", "completion", None) == "" and names.name("up", "completion", 0x1000) == ""
