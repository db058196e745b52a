"""`make synth`: what the endpoint costs on an UltraScale+ part, from Yosys.

Synthesises virtio_ep_top with `synth_xilinx -family xcup` (hierarchy kept, so every block
is counted on its own) at its default parameters and at the largest documented values,
and writes docs/synthesis.md: per block LUTs, flip-flops, block RAM, UltraRAM,
distributed RAM, DSPs, carry chains, and the deepest register-to-register path in LUT
levels (`deepest_path`, on Yosys's JSON netlist; registers and block RAM end paths). The
checks (`problems`) read Yosys's own output: no latch, no multiply-driven or undriven
net, no combinational loop, no cell that is neither an UltraScale+ primitive nor a block
of the design (the PCIe core sits outside virtio_ep_top), and every memory meant for
block RAM in block RAM or UltraRAM.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import simrun

HDL = simrun.REPO / "hdl"
DOCS = simrun.REPO / "docs"
OUT = simrun.BUILD_ROOT / "synth"
TOP = "virtio_ep_top"

# parameter points: the defaults, the largest values the top's parameter comments allow
# (DB_FIFO_DEPTH and DMA_DESC_DEPTH have no documented ceiling: kept), and a small point
# for the check in `make test` (the same RTL and generate structure; memories, slot, vector,
# tag and context counts shrink so it runs in about a minute)
POINTS: dict[str, dict[str, int]] = {
    "default": {},
    "largest": {"BAR0_SRAM_SIZE": 131072, "DB_SLOTS": 256, "MSI_VECTORS": 32, "NP_FIFO_DEPTH": 32,
                "DMA_BUF_SIZE": 2097152, "DMA_TAGS": 32, "DMA_READ_DESCS": 8},
    "small": {"BAR0_SRAM_SIZE": 16384, "DMA_BUF_SIZE": 65536, "DB_SLOTS": 16, "MSI_VECTORS": 8, "DMA_TAGS": 8,
              "DMA_READ_DESCS": 2},
}

LUT_LEVEL_BUDGET = 6        # logic levels between registers: a common budget for 250 MHz on UltraScale+

# UltraScale+ primitives the mapping may use, by what the table counts them as
KINDS = {
    "LUT": re.compile(r"^LUT[1-6]$"),
    "FF": re.compile(r"^FD[RSCP]E$"),
    "RAMB36": re.compile(r"^RAMB36E2$"),
    "RAMB18": re.compile(r"^RAMB18E2$"),
    "URAM": re.compile(r"^URAM288(_BASE)?$"),
    "LUTRAM": re.compile(r"^RAM(32M16|64M8|32M|64M|32X1[SD]|64X1[SD]|128X1[SD]|256X1[SD]|512X1S)$"),
    "SRL": re.compile(r"^SRL(16E|C32E)$"),
    "DSP": re.compile(r"^DSP48E2$"),
    "CARRY": re.compile(r"^CARRY[48]$"),
    "MUXF": re.compile(r"^MUXF[789]$"),
    "other": re.compile(r"^(INV|VCC|GND|BUFG|IBUF|OBUF)$"),
    "latch": re.compile(r"^(LD[CP]E?|\$_DLATCH.*|\$dlatch.*)$"),
}
# memories meant for block RAM: instances of these modules (BAR0 SRAM and device memory banks)
BLOCK_RAM_MODULES = ("ep_ram_dp",)


class SynthError(RuntimeError):
    pass


@dataclass
class Block:
    module: str                 # the Verilog module name
    params: str                 # its parameters as Yosys names the specialisation
    instances: int
    cells: dict[str, int]
    depth: "Depth | None" = None    # deepest path inside the block
    where: str = ""                 # its instance path(s) under the top

    def count(self, kind: str) -> int:
        return sum(n for t, n in self.cells.items() if _is(t, kind))


@dataclass
class Result:
    point: str
    params: dict[str, int]
    blocks: list[Block]
    totals: dict[str, int]
    top_depth: "Depth"
    log_lines: list[str] = field(default_factory=list)
    seconds: float = 0.0
    version: str = ""
    crossings: list["Crossing"] = field(default_factory=list)   # flattened paths over the budget


def yosys() -> str:
    exe = shutil.which("yosys")
    if not exe:
        raise SynthError("yosys not found: `make synth` installs it (apt-get install yosys)")
    return exe


def version() -> str:
    return subprocess.run([yosys(), "-V"], capture_output=True, text=True, check=True).stdout.strip()


def _run(script: str, log: Path, timeout_s: int) -> str:
    log.parent.mkdir(parents=True, exist_ok=True)
    ys = log.with_suffix(".ys")
    ys.write_text(script)
    try:
        proc = subprocess.run([yosys(), "-q", "-l", str(log), "-s", str(ys)], capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SynthError(f"yosys did not finish within {timeout_s} s (script {ys}, log {log})") from None
    if proc.returncode:
        tail = "\n".join(log.read_text().splitlines()[-15:]) if log.exists() else proc.stderr
        raise SynthError(f"yosys failed ({proc.returncode}), script {ys}:\n{tail}")
    return log.read_text()


def module_name(yosys_name: str) -> tuple[str, str]:
    """('ep_fifo', 'DEPTH=16,...') from Yosys's specialised name ($paramod...\\ep_fifo...)."""
    name = yosys_name.lstrip("\\")
    m = re.match(r"^\$paramod(?:\$[0-9a-f]+)?\\([A-Za-z0-9_]+)(.*)$", name)
    if not m:
        return name, ""
    params = re.sub(r"s?32'([01]+)", lambda b: str(int(b.group(1), 2)), m.group(2)).replace("\\", ",").strip(",")
    return m.group(1), params


# synth_xilinx's flow with its `coarse` step written out without `share` (SAT-based
# resource sharing): at the largest point that pass alone took more than the machine's
# 24 GiB. Every point runs the same flow, so their figures compare.
FLOW = f"-family xcup -top {TOP} -noiopad -noclkbuf -uram"
COARSE = ("techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=6\nalumacc\nopt\n"
          "memory -nomap\nopt_clean\n")


def _where(paths: list[str]) -> str:
    paths = sorted(p for p in paths if p) or ["(top)"]
    return paths[0] + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")


def synthesize(point: str, timeout_s: int = 1800) -> Result:
    """One parameter point: synthesis with the hierarchy kept, then `read_result`."""
    work = OUT / point
    files = " ".join(str(p) for p in sorted(HDL.glob("*.v")))
    chparams = "".join(f"chparam -set {k} {v} {TOP}\n" for k, v in POINTS[point].items())
    t0 = time.monotonic()
    _run(f"read_verilog -I{HDL} {files}\n{chparams}"
         f"synth_xilinx {FLOW} -run :coarse\n{COARSE}synth_xilinx {FLOW} -run map_memory:\n"
         f"tee -q -o {work / 'check.txt'} check\n"
         f"write_json {work / 'blocks.json'}\n"
         f"flatten\nwrite_json {work / 'flat.json'}\n", work / "synth.log", timeout_s)
    return read_result(point, time.monotonic() - t0)


def read_result(point: str, seconds: float = 0.0) -> Result:
    """The netlists of a synthesis run (sim_build/synth/<point>/): cells per block, instances,
    totals, the deepest path of every block and of the design flattened, and the log lines
    the checks read."""
    work = OUT / point
    hier = {k.lstrip("\\"): m for k, m in json.loads((work / "blocks.json").read_text())["modules"].items()
            if not m.get("attributes", {}).get("blackbox")}
    cells = {name: Counter(c["type"].lstrip("\\") for c in m["cells"].values()) for name, m in hier.items()}
    paths: dict[str, list[str]] = {}            # each block's instance paths under the top

    def walk(name: str, path: str) -> None:
        paths.setdefault(name, []).append(path)
        for cname, c in hier[name]["cells"].items():
            typ = c["type"].lstrip("\\")
            if typ in hier:
                walk(typ, f"{path}.{cname.lstrip(chr(92))}" if path else cname.lstrip(chr(92)))
    walk(TOP, "")
    blocks = [Block(*module_name(name), len(paths[name]), {t: n for t, n in cells[name].items() if t not in hier},
                    depth=deepest_path(m), where=_where(paths[name])) for name, m in hier.items()]
    totals: Counter = Counter()
    for b in blocks:
        totals.update({t: n * b.instances for t, n in b.cells.items()})
    flat = json.loads((work / "flat.json").read_text())["modules"]
    top = next(m for k, m in flat.items() if k.lstrip("\\") == TOP)
    log = (work / "synth.log").read_text().splitlines() + (work / "check.txt").read_text().splitlines()
    return Result(point, POINTS[point], blocks, dict(totals), deepest_path(top), log, seconds, version(),
                  crossing_paths(top))


def _is(typ: str, *kinds: str) -> bool:
    return any(KINDS[k].match(typ) for k in kinds)


# cells that start and end paths: registers, and RAMs whose read is registered
SEQUENTIAL = ("FF", "RAMB36", "RAMB18", "URAM")
# LUT RAMs and shift registers: only their read address reaches their outputs in a cycle
ADDRESSED = ("LUTRAM", "SRL")
COUNTED = ("LUT", "LUTRAM", "SRL")            # a LUT level each


@dataclass(frozen=True, order=True)
class Depth:
    """A register-to-register path: LUT levels on it (LUTs, LUT RAM and shift-register
    reads; the budget counts these), then every combinational cell on it (LUTs, wide
    multiplexers MUXF7-9, carry cells), as Yosys's `ltp` would count them; and the nets
    it starts and ends at."""
    luts: int = 0
    cells: int = 0
    start: str = field(default="", compare=False)
    end: str = field(default="", compare=False)


def _longest(module: dict) -> tuple[dict[int, Depth], dict[int, int], dict[int, str]]:
    """Per net bit the deepest path ending there and the bit before it on that path, and a
    name per bit. Paths start at the module's inputs, at register and registered-RAM
    outputs and at outputs of blocks it instantiates, and end at its outputs and at such
    cells' inputs (a hierarchical netlist: paths that cross into a child block are cut at
    its ports). A combinational loop is an error."""
    edges: dict[int, list[tuple[int, Depth]]] = {}
    indeg: dict[int, int] = {}
    for cell in module["cells"].values():
        typ, dirs, conn = cell["type"].lstrip("\\"), cell.get("port_directions", {}), cell["connections"]
        if _is(typ, *SEQUENTIAL) or not dirs or not _is_primitive(typ):
            continue                                      # its outputs are sources, its inputs sinks
        outs = [b for p, bits in conn.items() if dirs.get(p) == "output" for b in bits if isinstance(b, int)]
        ins = [b for p, bits in conn.items() if dirs.get(p) == "input" and (not _is(typ, *ADDRESSED) or _reads(typ, p))
               for b in bits if isinstance(b, int)]
        step = Depth(1 if _is(typ, *COUNTED) else 0, 1)
        for i in ins:
            for o in outs:
                edges.setdefault(i, []).append((o, step))
                indeg[o] = indeg.get(o, 0) + 1
    names = _bit_names(module)
    best: dict[int, Depth] = {}
    pred: dict[int, int] = {}
    ready = [b for b in edges if indeg.get(b, 0) == 0]
    while ready:
        b = ready.pop()
        here = best.get(b) or Depth(start=names.get(b, "?"))
        for o, step in edges.get(b, ()):
            cand = Depth(here.luts + step.luts, here.cells + step.cells, here.start, names.get(o, "?"))
            if cand > best.get(o, Depth()):
                best[o], pred[o] = cand, b
            indeg[o] -= 1
            if indeg[o] == 0:
                ready.append(o)
    if any(n > 0 for n in indeg.values()):
        raise SynthError(f"combinational loop: {sum(n > 0 for n in indeg.values())} nets never settle")
    return best, pred, names


def deepest_path(module: dict) -> Depth:
    """The deepest path of one module of a Yosys JSON netlist (see `_longest`)."""
    return max(_longest(module)[0].values(), default=Depth())


def _instance(net: str) -> str:
    """The block instance a flattened net belongs to ('dma_inst.rd_inst'), '(top)' at the top.
    Yosys names a flattened net `a.b.name` or, for an internal one, `$flatten\\a.\\b.$abc$...`."""
    parts = []
    for seg in net.replace("$flatten\\", "").replace("\\", "").split("."):
        if seg.startswith("$"):
            break
        parts.append(seg)
    if not net.startswith("$") or net.startswith("$flatten"):
        parts = parts[:-1] if not net.startswith("$flatten") else parts
    return ".".join(parts) or "(top)"


@dataclass(frozen=True)
class Crossing:
    """A path of the flattened design over the budget: its depth and the block instances it
    passes through, in order (named nets only)."""
    depth: Depth
    through: tuple[str, ...]


def crossing_paths(module: dict, budget: int = LUT_LEVEL_BUDGET) -> list[Crossing]:
    """The paths of a flattened design deeper than `budget` LUT levels: the deepest from each
    register (bits of one name together) into each block instance, deepest first."""
    best, pred, names = _longest(module)
    found: dict[tuple[str, str], Crossing] = {}
    for bit, d in best.items():
        if d.luts <= budget:
            continue
        key = (d.start.split("[")[0], re.sub(r"\[\d+\]", "[*]", _instance(d.end)))   # banks and lanes together
        if key in found and not d > found[key].depth:
            continue
        chain = [bit]
        while chain[-1] in pred:
            chain.append(pred[chain[-1]])
        blocks: list[str] = []
        for b in reversed(chain):
            n = names.get(b, "")
            if n and (not blocks or blocks[-1] != _instance(n)):
                blocks.append(_instance(n))
        found[key] = Crossing(d, tuple(blocks))
    return sorted(found.values(), key=lambda c: c.depth, reverse=True)


def _bit_names(module: dict) -> dict[int, str]:
    """A readable name per net bit: a name from the source where there is one."""
    out: dict[int, str] = {}
    for name, net in sorted(module.get("netnames", {}).items(), key=lambda kv: kv[1].get("hide_name", 0)):
        bits = net["bits"]
        for i, b in enumerate(bits):
            if isinstance(b, int) and b not in out:
                out[b] = name + (f"[{i}]" if len(bits) > 1 else "")
    return out


def _is_primitive(typ: str) -> bool:
    return any(p.match(typ) for k, p in KINDS.items() if k != "latch")


def _reads(typ: str, port: str) -> bool:
    """Inputs of a LUT RAM or shift register that reach its outputs in the same cycle: the
    read address (a LUT RAM's ports A..C address and D's shared one; SRL's A)."""
    return port.startswith("ADDR") or port.startswith("A") and typ.startswith("SRL")


def problems(r: Result) -> list[str]:
    """What must not be in the netlist, from Yosys's output (empty: clean)."""
    found = []
    patterns = {
        "latch inferred": re.compile(r"^\s*Latch inferred for signal"),
        "multiple drivers": re.compile(r"multiple conflicting drivers", re.I),
        "undriven": re.compile(r"is used but has no driver", re.I),
        "logic loop": re.compile(r"found logic loop", re.I),
    }
    for what, pat in patterns.items():
        hits = [l.strip() for l in r.log_lines if pat.search(l)]
        if hits:
            found.append(f"{what}: {hits[0]}" + (f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""))
    designs = {b.module for b in r.blocks}
    for b in r.blocks:
        for t, n in b.cells.items():
            name = t.lstrip("\\")
            if KINDS["latch"].match(name):
                found.append(f"{b.module}: {n} latch cells ({name})")
            elif not _is_primitive(name) and module_name(name)[0] not in designs:
                found.append(f"{b.module}: cell {name} is neither an UltraScale+ primitive nor a block of the design")
        if b.module in BLOCK_RAM_MODULES and b.count("RAMB36") + b.count("RAMB18") + b.count("URAM") == 0:
            found.append(f"{b.module} ({b.params}): a memory meant for block RAM mapped to "
                         f"{b.count('FF')} flip-flops and {b.count('LUTRAM')} LUT RAMs")
    return found


COLUMNS = ("LUT", "FF", "RAMB36", "RAMB18", "URAM", "LUTRAM", "SRL", "DSP", "CARRY", "MUXF")


def table(r: Result) -> list[str]:
    lines = [f"| block | instance | {' | '.join(COLUMNS)} | LUT levels | cells on it | deepest path from -> to |",
             "|---|---|" + "---|" * len(COLUMNS) + "---|---|---|"]
    for b in sorted(r.blocks, key=lambda b: (b.module != TOP, b.module, b.where)):
        d = b.depth or Depth()
        flag = " **over**" if d.luts > LUT_LEVEL_BUDGET else ""
        lines.append(f"| {b.module}{f' ({b.params})' if b.params else ''} | {b.where} | "
                     + " | ".join(str(b.count(k)) for k in COLUMNS)
                     + f" | {d.luts}{flag} | {d.cells} | `{d.start}` -> `{d.end}` |")
    return lines


def totals_line(r: Result) -> str:
    t = Block(TOP, "", 1, r.totals)
    return ", ".join(f"{t.count(k):,} {k}" for k in COLUMNS if t.count(k))


def write_doc(results: list[Result], path: Path = DOCS / "synthesis.md") -> str:
    first = results[0]
    md = ["# Synthesis: what the endpoint costs on UltraScale+", "",
          f"Generated by `make synth` with {first.version} (`synth_xilinx -family xcup -noiopad -noclkbuf",
          "-uram`, hierarchy kept, without the SAT-based `share` pass, which at the largest point needs",
          "more than this machine's 24 GiB; `py/virtio_ep/synth.py`). Counts are Yosys's mapping to UltraScale+",
          "primitives before placement: an estimate of size and of logic depth, not a signed-off result.", "",
          "What a vendor tool adds: the PCIe hard block and its clocking (outside virtio_ep_top: its",
          "ports are this design's ports), I/O, placement and routing delays, Vivado's own mapping",
          "(Yosys 0.23 uses CARRY4 cells, which Vivado packs into UltraScale+ CARRY8s, and its own",
          "LUT packing). Timing closure at 250 MHz (4 ns) needs a routed design; the usual first",
          f"estimate is logic depth: at most {LUT_LEVEL_BUDGET} LUT levels between registers.", "",
          "How the depth is measured: the synthesized netlist as a graph of net bits; registers",
          "(FD*), block RAM and UltraRAM start and end paths; LUTs, LUT RAM and shift-register reads",
          "count one LUT level each; wide multiplexers (MUXF7-9) and carry cells count as cells on",
          "the path but not as LUT levels. Per block, paths stop at the ports of the blocks it",
          "instantiates; the whole design flattened gives the paths that cross blocks. A block's",
          "counts are per instance (its instance column names the others); the totals count",
          "every instance.", "",
          "Memories: BAR0 SRAM and device memory are 8 banks of `ep_ram_dp` each (true dual port,",
          "byte enables); Yosys 0.23 maps them to RAMB36E2 even with `-uram`. Device memory at",
          "2 MiB is 512 of the block RAMs; in UltraRAM (36 KiB each) it would take 57 URAM288, the",
          "mapping a vendor flow would be asked for. FIFOs (at most 64 entries) map to LUT RAM,",
          "as they should at that size; small per-tag and per-vector tables to flip-flops.", ""]
    for r in results:
        params = ", ".join(f"{k}={v}" for k, v in r.params.items()) or "the defaults of virtio_ep_top"
        bad = problems(r)
        md += [f"## {r.point}: {params}", "",
               f"Synthesis took {r.seconds:.0f} s. Totals: {totals_line(r)}.", "",
               f"Deepest path, whole design flattened: {r.top_depth.luts} LUT levels, {r.top_depth.cells} cells "
               f"(`{r.top_depth.start}` -> `{r.top_depth.end}`).", "",
               "Checks (from Yosys's log, `check` and the cell list): " + (
                   "no latch, no multiply-driven or undriven net, no combinational loop, no unknown "
                   "cell, every BAR0 SRAM and device-memory bank in block RAM or UltraRAM." if not bad
                   else "FAILED: " + "; ".join(bad)), "",
               *table(r), ""]
    over = sorted({b.module for r in results for b in r.blocks if b.depth and b.depth.luts > LUT_LEVEL_BUDGET})
    md += ["## Over the depth budget", "",
           (f"Blocks with a path above {LUT_LEVEL_BUDGET} LUT levels: {', '.join(over)}; each row above names "
            "the path's ends." if over else
            f"Every block is within {LUT_LEVEL_BUDGET} LUT levels. Four were not (ep_dma_rd 20 levels, 37 at "
            "32 tags and 8 contexts; ep_msi 12; ep_cq_rx 9; ep_cc_tx 8): each took a register stage or a "
            "shorter formulation (docs/endpoint.md, \"Register stages for 250 MHz\", with the cycles they "
            "add, which the timing model follows)."), ""]
    for r in results:
        if not r.crossings:
            md += [f"Paths across blocks ({r.point}, whole design flattened): none above {LUT_LEVEL_BUDGET} levels.", ""]
            continue
        md += [f"Paths across blocks above {LUT_LEVEL_BUDGET} LUT levels ({r.point}, whole design flattened; "
               f"{len(r.crossings)} register groups, the deepest {min(len(r.crossings), 12)} shown):", "",
               "| LUT levels | cells | from | to | through |", "|---|---|---|---|---|"]
        md += [f"| {c.depth.luts} | {c.depth.cells} | `{c.depth.start}` | "
               + (f"`{c.depth.end}`" if not c.depth.end.startswith("$") else f"a net inside `{_instance(c.depth.end)}`")
               + f" | {' > '.join(c.through)} |" for c in r.crossings[:12]]
        md += [""]
    if any(r.crossings for r in results):
        md += ["These run from one block's register through another block's combinational ports: a FIFO's fill "
               "level into an engine's issue and on into a RAM's enable, a queue's head into an engine's start, the "
               "local bus's address decode into a RAM port. Within each block the depth is in budget; across "
               "blocks it is not yet. Each is cut by a register at the block boundary (a registered ready or "
               "room flag, a skid buffer at a queue's head, a registered RAM enable), at a cycle or a FIFO entry "
               "each: not done yet, so the design as a whole is not yet expected to close at 250 MHz.", ""]
    text = "\n".join(md)
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("points", nargs="*", default=["default", "largest"], help=f"of {', '.join(POINTS)}")
    ap.add_argument("--no-doc", action="store_true", help="check and print only, do not write docs/synthesis.md")
    args = ap.parse_args(argv)
    for p in args.points:
        if p not in POINTS:
            ap.error(f"unknown point {p!r}: use {', '.join(POINTS)}")
    results = []
    try:
        for p in args.points:
            print(f"synthesizing {p} ...", flush=True)
            results.append(synthesize(p))
            r = results[-1]
            print(f"  {r.seconds:.0f} s: {totals_line(r)}; deepest path {r.top_depth.luts} LUT levels", flush=True)
    except SynthError as exc:
        print(f"SYNTHESIS FAILED: {exc}", file=sys.stderr)
        return 1
    text = "\n".join(l for r in results for l in table(r)) if args.no_doc else write_doc(results)
    print(text)
    bad = [f"{r.point}: {b}" for r in results for b in problems(r)]
    if bad:
        print("synthesis problems:\n" + "\n".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
