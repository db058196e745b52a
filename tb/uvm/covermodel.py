"""Functional coverage with cocotb-coverage: cover points and crosses per item kind, sampled
apart for directed and random stimulus (the item's `origin`), so the report tells what the
random regression reached from what directed sequences closed.

Names are `<top>.<origin>.<group>.<point>` in cocotb-coverage's database (one per
simulation); `export()` writes the database as YAML (cocotb-coverage's format, merged by
`make regress` with its merge_coverage) and returns the bins as a plain dict
{"<origin>.<group>.<point>": {bin: hits}} for the summary.
"""

from __future__ import annotations

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db, coverage_section

ORIGINS = ("directed", "random")


def _pick(k: int):
    return lambda *values: values[k]


class Group:
    """Cover points over the positional values of one sample, and crosses of some of them.
    A value that matches no bin (None: the field does not apply) is not counted."""

    def __init__(self, top: str, group: str, points: dict[str, list], crosses: tuple[tuple[str, ...], ...] = (),
                 ignore: dict[tuple[str, ...], list[tuple]] | None = None, origins: tuple[str, ...] = ORIGINS):
        self.names = list(points)
        self.samplers = {}
        for origin in origins:
            prefix = f"{top}.{origin}.{group}"
            items = [CoverPoint(f"{prefix}.{name}", xf=_pick(k), bins=list(bins)) for k, (name, bins) in
                     enumerate(points.items())]
            items += [CoverCross(f"{prefix}.{'_x_'.join(c)}", items=[f"{prefix}.{n}" for n in c],
                                 ign_bins=(ignore or {}).get(c, [])) for c in crosses]

            @coverage_section(*items)
            def coverage_sample(*values):
                return None
            self.samplers[origin] = coverage_sample

    def sample(self, origin: str, **values) -> None:
        if origin not in self.samplers:
            raise ValueError(f"item origin {origin!r}: use one of {', '.join(self.samplers)}")
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(f"no cover point named {sorted(unknown)}")
        self.samplers[origin](*(values.get(n) for n in self.names))


def export(top: str, yaml_path: str | None = None) -> dict[str, dict[str, int]]:
    """The bins of every point and cross under `top` ({name without top: {bin: hits}});
    the whole database to `yaml_path` if given."""
    if yaml_path:
        coverage_db.export_to_yaml(yaml_path)
    out = {}
    for name in sorted(coverage_db):
        item = coverage_db[name]
        if name.startswith(top + ".") and isinstance(item, (CoverPoint, CoverCross)):
            out[name[len(top) + 1:]] = {bin_label(b): n for b, n in item.detailed_coverage.items()}
    return out


def bin_label(b) -> str:
    return " x ".join(map(str, b)) if isinstance(b, tuple) else str(b)
