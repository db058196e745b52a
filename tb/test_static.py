"""Checks that need no simulation: the RTL's register map is generated from layout.py,
the map is consistent, and the RTL is lint clean."""

from __future__ import annotations

import subprocess

import pytest

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
        size = {layout.Region.SRAM_WINDOW: layout.SRAM_WINDOW_SIZE,
                layout.Region.DMA_BUF: layout.DMA_BUF_WINDOW_SIZE}.get(a, layout.REGION_SIZE)
        assert a + size <= b, f"region {a.name} overlaps {b.name}"
    assert layout.DEFAULT_PARAMS.bar0_sram_size <= layout.SRAM_WINDOW_SIZE
    assert layout.DEFAULT_PARAMS.dma_buf_size <= layout.DMA_BUF_WINDOW_SIZE
    assert layout.Region.DMA_BUF + layout.DMA_BUF_WINDOW_SIZE == 1 << layout.AXIL_ADDR_WIDTH
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


def lint(toplevel: str, parameters: dict[str, int] | None = None, extra: tuple = ()) -> None:
    """verilator --lint-only -Wall at one parameter point, with only the waivers justified
    in hdl/lint.vlt; fails on any warning."""
    verilator = simrun._verilator_bin() / "verilator"
    cmd = [str(verilator), "--lint-only", "-Wall", f"-I{simrun.HDL_DIR}", str(simrun.HDL_DIR / "lint.vlt"),
           *map(str, simrun.sources(toplevel, tuple(extra))), "--top-module", toplevel,
           *(f"-G{k}={v}" for k, v in (parameters or {}).items())]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    where = f"{toplevel} {parameters or 'at its defaults'}"
    assert proc.returncode == 0, f"{where}:\n" + proc.stdout + proc.stderr
    assert "%Warning" not in proc.stderr, f"{where}:\n" + proc.stderr


def test_lint() -> None:
    lint(simrun.TOPLEVEL)


# the ends of the ranges virtio_ep_top documents for its parameters
TOP_RANGE_ENDS = [
    {"BAR0_SRAM_SIZE": 4096, "DB_SLOTS": 1, "DB_FIFO_DEPTH": 2, "MSI_VECTORS": 1, "NP_FIFO_DEPTH": 2,
     "DMA_BUF_SIZE": 256, "DMA_TAGS": 1, "DMA_DESC_DEPTH": 2, "DMA_READ_DESCS": 1},
    {"BAR0_SRAM_SIZE": 131072, "DB_SLOTS": 256, "DB_FIFO_DEPTH": 256, "MSI_VECTORS": 32, "NP_FIFO_DEPTH": 32,
     "DMA_BUF_SIZE": 2097152, "DMA_TAGS": 32, "DMA_DESC_DEPTH": 256, "DMA_READ_DESCS": 8},
]


@pytest.mark.parametrize("params", TOP_RANGE_ENDS, ids=simrun.point_id)
def test_lint_top_at_range_ends(params: dict[str, int]) -> None:
    lint(simrun.TOPLEVEL, params)


def block_benches() -> list:
    """(block bench file, its TOPLEVEL, POINTS and HARNESS) of every tb/<block>/test_<block>.py."""
    import importlib.util
    out = []
    for path in sorted(simrun.TB_DIR.glob("*/test_*.py")):
        spec = importlib.util.spec_from_file_location(f"block_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        harness = tuple(path.parent / h for h in getattr(mod, "HARNESS", ()))
        out += [(path, mod.TOPLEVEL, point, harness) for point in mod.POINTS]
    return out


@pytest.mark.parametrize("bench", block_benches(), ids=lambda b: f"{b[1]}[{simrun.point_id(b[2])}]")
def test_lint_block_bench_points(bench) -> None:
    """Every parameter point a block bench simulates is lint clean too."""
    path, toplevel, params, harness = bench
    lint(toplevel, params, harness)


def test_every_block_has_a_bench() -> None:
    """The blocks the issue of the testbench layout names each have tb/<module>/test_<module>.py,
    simulated at two points of their parameter ranges at least."""
    points: dict[str, int] = {}
    for path, _, _, _ in block_benches():
        points[path.parent.name] = points.get(path.parent.name, 0) + 1
    for block in ("ep_fifo", "ep_doorbell", "ep_msi", "ep_dma", "ep_cq_rx", "ep_cc_tx"):
        assert points.get(block, 0) >= 2, f"{block}: {points.get(block, 0)} parameter points in tb/{block}/"


# What each part of the package may import (besides itself): the arrows of
# docs/architecture.md. Firmware never imports the host side nor the timing model, the host
# side never imports firmware, the model never imports either; only the glue above them
# (transports, testbench, scenarios) and the tools may take from both sides.
LAYERS: dict[str, set[str]] = {
    "layout": set(),
    "costs": set(),
    "runconfig": {"layout"},
    "devices": {"layout"},
    "rings": {"layout"},
    "linux": {"layout"},            # Linux's ring code built and loaded; UML and its vhost-user back end
    "timing": {"layout", "costs"},
    # the load bench's closed loop predicted: the firmware's constants, the scenario's depths
    "load_model": {"layout", "costs", "timing", "firmware", "scenarios", "load_loop", "stream_walk", "packed_intake",
                   "push_walk"},
    # a packed ring's intake windows played as the firmware's rule runs them
    "packed_intake": {"layout", "firmware", "scenarios"},
    "load_loop": {"layout", "timing"},      # a push ring's closed loop played turn by turn
    "stream_walk": set(),                   # a push turn's waits walked in the firmware's order (a leaf)
    "push_walk": {"layout", "timing", "firmware", "shared_rq"},    # a push stream turn walked on the DMA engine
    "shared_rq": {"layout", "timing"},      # the DMA engine with both directions beside each other
    "sources": {"layout", "costs"},   # where the assumed numbers come from (a leaf above them)
    "firmware": {"layout", "costs", "devices", "rings"},
    "host": {"layout", "devices", "rings", "linux"},
    "transports": {"layout", "devices", "firmware", "host"},
    "testbench": {"layout", "costs", "runconfig", "firmware", "host", "linux"},
    "scenarios": {"layout", "costs", "runconfig", "devices", "timing", "firmware", "host", "linux", "transports",
                  "testbench"},
}
TOOLS = {"simrun", "demo", "bench", "bench_load", "bench_sensitivity", "bench_wake", "bench_depths", "bench_rings", "bench_timing", "bench_model", "bench_trace", "bench_spread", "report", "regress", "docgen", "mutate", "synth",
         "makevars", "progress", "linux_run"}


def package_imports(path, part: str) -> set[str]:
    """The top-level parts of virtio_ep that one module imports."""
    import ast
    here = ["virtio_ep", *path.relative_to(simrun.REPO / "py" / "virtio_ep").parts[:-1]]   # its package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            full = base + (node.module.split(".") if node.module else [])
            if full[:1] == ["virtio_ep"]:
                found.update([full[1]] if len(full) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("virtio_ep."))
    return found - {part}


def test_imports_follow_the_layers() -> None:
    pkg = simrun.REPO / "py" / "virtio_ep"
    wrong = []
    for path in sorted(pkg.rglob("*.py")):
        part = path.relative_to(pkg).parts[0].removesuffix(".py")
        if part in TOOLS or part == "__init__":
            continue
        assert part in LAYERS, f"{path.relative_to(pkg)}: no layer declared for {part!r} in LAYERS"
        for dep in package_imports(path, part) - LAYERS[part]:
            wrong.append(f"{path.relative_to(pkg)} imports {dep}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_every_mutation_applies_to_the_tree() -> None:
    """make mutate runs outside CI: a mutation whose text the code no longer has would stop it
    there; here it fails at once, and each mutant must differ from the original."""
    from virtio_ep import mutate
    assert len({m.name for m in mutate.MUTATIONS}) == len(mutate.MUTATIONS), "two mutations share a name"
    for m in mutate.MUTATIONS:
        try:
            text = mutate.mutated(simrun.REPO, m)
        except SystemExit as exc:
            pytest.fail(str(exc))
        assert text != (simrun.REPO / m.path).read_text(), f"mutation {m.name} changes nothing"


def test_every_assumed_number_has_a_source() -> None:
    """Each HostLatencies default and FirmwareCosts value is cited or marked an assumption
    (virtio_ep/sources.py), and no entry names a field that is gone."""
    from virtio_ep import sources
    assert sources.missing() == [], f"numbers without a source: {sources.missing()}"
    assert sources.unknown() == [], f"sources of no number: {sources.unknown()}"
    for table in (sources.HOST_LATENCY_SOURCES, sources.FIRMWARE_COST_SOURCES):
        assert all(s.kind in ("cited", "assumption") and s.reference for s in table.values())
