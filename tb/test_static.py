"""Checks that need no simulation: the RTL's register map is generated from layout.py,
the map is consistent, and the RTL is lint clean."""

from __future__ import annotations

import subprocess

from virtio_ep import layout, simrun


def test_verilog_header_is_generated_from_layout() -> None:
    committed = (simrun.REPO / layout.VERILOG_HEADER_PATH).read_text()
    assert committed == layout.verilog_header(), (
        f"{layout.VERILOG_HEADER_PATH} is stale: run `python -m virtio_ep.layout --verilog > "
        f"{layout.VERILOG_HEADER_PATH}`")


def test_register_map_doc_is_generated_from_layout() -> None:
    committed = (simrun.REPO / layout.MARKDOWN_PATH).read_text()
    assert committed == layout.markdown(), (
        f"{layout.MARKDOWN_PATH} is stale: run `python -m virtio_ep.layout --markdown > {layout.MARKDOWN_PATH}`")


def test_local_bus_map_is_consistent() -> None:
    regions = sorted(layout.Region, key=int)
    for a, b in zip(regions, regions[1:]):
        size = layout.SRAM_WINDOW_SIZE if a == layout.Region.SRAM_WINDOW else layout.REGION_SIZE
        assert a + size <= b, f"region {a.name} overlaps {b.name}"
    assert layout.DEFAULT_PARAMS.bar0_sram_size <= layout.SRAM_WINDOW_SIZE
    for enum_cls in (layout.Csr, layout.DbReg, layout.MsiReg):
        offsets = [int(m) for m in enum_cls]
        assert len(set(offsets)) == len(offsets), f"{enum_cls.__name__}: two registers share an offset"
        assert all(0 <= o < layout.REGION_SIZE and o % 4 == 0 for o in offsets), enum_cls.__name__
    # the per-slot windows hold every slot the RTL accepts
    window = layout.DbReg.TAKE - layout.DbReg.VALUE
    assert window == layout.MAX_DB_SLOTS * layout.DB_SLOT_STRIDE
    assert layout.DbReg.TAKE + window == layout.REGION_SIZE
    assert (layout.DbReg.ENABLE - layout.DbReg.PENDING) * 8 >= layout.MAX_DB_SLOTS
    assert layout.DEFAULT_PARAMS.db_slots * layout.DB_SLOT_STRIDE <= layout.BAR2_SIZE


def test_lint() -> None:
    """verilator --lint-only -Wall, with only the waivers justified in hdl/lint.vlt."""
    verilator = simrun._verilator_bin() / "verilator"
    cmd = [str(verilator), "--lint-only", "-Wall", f"-I{simrun.HDL_DIR}",
           str(simrun.HDL_DIR / "lint.vlt"), *map(str, simrun.sources()),
           "--top-module", simrun.TOPLEVEL]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "%Warning" not in proc.stderr, proc.stderr
