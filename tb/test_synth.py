"""Synthesis as a check (issue 21): the endpoint maps to UltraScale+ primitives with no
latch, no multiply-driven or undriven net, no combinational loop, no unknown cell, its
BAR0 SRAM and device memory in block RAM, and every block within the LUT-level budget
(Yosys at the `small` parameter point: the same
RTL structure as the defaults with smaller memories, so it runs in minutes). `make synth`
writes the full estimate (docs/synthesis.md). The checks themselves are tested on netlists
built to break them, without Yosys."""

from __future__ import annotations

import pytest

from virtio_ep import synth


def test_synthesis_is_clean() -> None:
    result = synth.synthesize("small")
    assert not synth.problems(result), "synthesis problems:\n" + "\n".join(synth.problems(result))
    rams = [b for b in result.blocks if b.module in synth.BLOCK_RAM_MODULES]
    assert rams and all(b.count("RAMB36") + b.count("RAMB18") + b.count("URAM") for b in rams), \
        f"memories meant for block RAM: {[(b.where, b.cells) for b in rams]}"
    assert result.top_depth.luts > 0 and all(b.depth is not None for b in result.blocks)
    # every block within the depth budget (docs/endpoint.md, "Register stages for 250 MHz"):
    # a block that grows a deeper path fails here; paths across blocks are only reported
    deep = [(b.module, b.depth.luts, b.depth.start, b.depth.end) for b in result.blocks
            if b.depth.luts > synth.LUT_LEVEL_BUDGET]
    assert not deep, f"blocks above {synth.LUT_LEVEL_BUDGET} LUT levels: {deep}"


def _cell(typ: str, ins: dict[str, list[int]], outs: dict[str, list[int]]) -> dict:
    return {"type": typ, "connections": {**ins, **outs},
            "port_directions": {**{p: "input" for p in ins}, **{p: "output" for p in outs}}}


def _module(cells: list[dict]) -> dict:
    return {"cells": {f"c{i}": c for i, c in enumerate(cells)}, "netnames": {"q": {"bits": [2]}, "d": {"bits": [6]}}}


def test_depth_counts_luts_between_registers() -> None:
    """FF -> LUT -> MUXF7 -> LUT -> LUT -> FF: 3 LUT levels, 4 cells; the FFs end the path."""
    m = _module([_cell("FDRE", {"D": [6], "C": [1]}, {"Q": [2]}),
                 _cell("LUT2", {"I0": [2], "I1": [2]}, {"O": [3]}),
                 _cell("MUXF7", {"I0": [3], "I1": [3], "S": [3]}, {"O": [4]}),
                 _cell("LUT1", {"I0": [4]}, {"O": [5]}),
                 _cell("LUT1", {"I0": [5]}, {"O": [6]}),
                 _cell("FDRE", {"D": [2], "C": [1]}, {"Q": [7]})])
    d = synth.deepest_path(m)
    assert (d.luts, d.cells, d.start, d.end) == (3, 4, "q", "d")


def test_a_combinational_loop_is_an_error() -> None:
    m = _module([_cell("LUT1", {"I0": [3]}, {"O": [4]}), _cell("LUT1", {"I0": [4]}, {"O": [3]})])
    with pytest.raises(synth.SynthError, match="combinational loop"):
        synth.deepest_path(m)


def _result(blocks: list[synth.Block], log: list[str] = ()) -> synth.Result:
    return synth.Result("test", {}, blocks, {}, synth.Depth(), list(log))


@pytest.mark.parametrize("broken, expected", [
    (_result([synth.Block("ep_csr", "", 1, {"LDCE": 2})]), "latch cells"),
    (_result([synth.Block("ep_csr", "", 1, {"PCIE4C": 1})]), "neither an UltraScale+ primitive"),
    (_result([synth.Block("ep_ram_dp", "ADDR_WIDTH=11", 8, {"FDRE": 65536, "LUT6": 9000})]), "meant for block RAM"),
    (_result([], ["Latch inferred for signal `\\\\ep_csr.\\\\x' from process"]), "latch inferred"),
    (_result([], ["Warning: multiple conflicting drivers for ep_csr.\\\\y [0]"]), "multiple drivers"),
    (_result([], ["Warning: Wire ep_msi.\\\\z [3] is used but has no driver."]), "undriven"),
])
def test_checks_catch_what_they_name(broken: synth.Result, expected: str) -> None:
    found = synth.problems(broken)
    assert any(expected in f for f in found), f"{expected!r} not reported: {found}"


def test_a_clean_result_passes() -> None:
    ok = _result([synth.Block("ep_ram_dp", "ADDR_WIDTH=11", 8, {"RAMB36E2": 2, "LUT3": 18}),
                  synth.Block("ep_csr", "", 1, {"FDRE": 260, "LUT6": 100, "CARRY4": 12})],
                 ["No latch inferred for signal `\\\\ep_csr.\\\\i' from process"])
    assert synth.problems(ok) == []


def test_crossing_paths_name_the_blocks_they_pass() -> None:
    """A flattened netlist: a register in block a, 7 LUTs (the 4th named in block b), a
    register in b: one path over a budget of 6, through a then b; a 3-LUT path is not listed,
    nor is anything at a budget of 7."""
    chain = [_cell("FDRE", {"D": [20], "C": [1]}, {"Q": [2]})]
    chain += [_cell("LUT1", {"I0": [n]}, {"O": [n + 1]}) for n in range(2, 9)]          # nets 3..9
    chain += [_cell("FDRE", {"D": [9], "C": [1]}, {"Q": [10]})]
    short = [_cell("LUT1", {"I0": [10]}, {"O": [11]}), _cell("LUT1", {"I0": [11]}, {"O": [12]}),
             _cell("LUT1", {"I0": [12]}, {"O": [20]})]
    m = {"cells": {f"c{i}": c for i, c in enumerate(chain + short)},
         "netnames": {"a.q": {"bits": [2]}, "b.mid": {"bits": [6]}, "$flatten\\b.\\$abc$7": {"bits": [9]},
                      "b.q": {"bits": [10]}}}
    [c] = synth.crossing_paths(m, budget=6)
    assert (c.depth.luts, c.depth.start, c.through) == (7, "a.q", ("a", "b")), c
    assert synth.crossing_paths(m, budget=7) == []
