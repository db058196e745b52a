"""Checks that need no simulation: the RTL's register map is generated from layout.py,
the map is consistent, and the RTL is lint clean."""

from __future__ import annotations

import subprocess

from virtio_ep import docgen, layout, simrun


def test_verilog_header_is_generated_from_layout() -> None:
    committed = (simrun.REPO / layout.VERILOG_HEADER_PATH).read_text()
    assert committed == layout.verilog_header(), (
        f"{layout.VERILOG_HEADER_PATH} is stale: run `python -m virtio_ep.layout --verilog > "
        f"{layout.VERILOG_HEADER_PATH}`")


def test_documents_match_layout() -> None:
    """docs/register_map.md and the tables of docs/transport.md are generated from layout.py."""
    for path, expected in docgen.expected_documents().items():
        committed = (simrun.REPO / path).read_text()
        assert committed == expected, f"{path} does not match layout.py: run `python -m virtio_ep.docgen`"


def test_transport_spec_has_every_table() -> None:
    spec = (simrun.REPO / docgen.TRANSPORT_SPEC).read_text()
    for name in docgen.transport_tables():
        assert f"<!-- layout:{name} -->" in spec, f"{docgen.TRANSPORT_SPEC} lacks the generated table {name}"


def test_async_pages_are_disjoint_and_one_writer() -> None:
    """Every device-page field lies in the device page, every driver-page field in the
    driver page, and no two fields of a page overlap."""
    for cls in (layout.AsyncDevicePage, layout.AsyncDriverPage):
        fields = sorted((f.offset, f.size, n) for n, f in vars(cls).items() if isinstance(f, layout.Field))
        for (o1, s1, n1), (o2, _, n2) in zip(fields, fields[1:]):
            assert o1 + s1 <= o2, f"{cls.__name__}: {n1} overlaps {n2}"
        assert all(cls.BASE <= o and o + s <= cls.BASE + cls.SIZE for o, s, _ in fields), cls.__name__
    queue_end = layout.AsyncDriverPage.QUEUE_TABLE + layout.ASYNC_QUEUE_TABLE_SIZE
    assert queue_end <= layout.AsyncDriverPage.MBOX_REQ_HDR.offset
    assert layout.AsyncDevicePage.QUEUE_STATE.offset + 4 * layout.ASYNC_MAX_QUEUES <= layout.AsyncDevicePage.HEADER_SIZE


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
