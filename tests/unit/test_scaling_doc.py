"""docs/scaling.md quotes the benchmark figures it is built on: each one must be the figure in
docs/benchmarks.json (by floor name) or in docs/benchmarks.md's tables (section / row / column), and the
results derived from them must be the arithmetic of those figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def number(text: str) -> float:
    return float(text.replace(",", "").strip())


def quoted() -> list[tuple[str, float, str]]:
    """(figure, value, source) rows of the figures table."""
    text = (DOCS / "scaling.md").read_text(encoding="utf-8")
    table = text.split("## The figures", 1)[1].split("\n\n", 2)[1]
    rows = [r.strip().strip("|").split("|") for r in table.splitlines()[2:] if r.startswith("|")]
    return [(r[0].strip(), number(r[1]), r[2].strip()) for r in rows]


def from_json(name: str) -> float:
    floors = json.loads((DOCS / "benchmarks.json").read_text(encoding="utf-8"))
    found = [f["value"] for f in floors if f["name"] == name]
    assert len(found) == 1, f"benchmarks.json has no single floor named {name!r}"
    return float(found[0])


def from_md(section: str, row: str, column: str) -> float:
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    part = re.split(r"^## \d+\. ", text, flags=re.M)
    body = next(p for p in part if p.startswith(section))
    lines = [ln for ln in body.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == row:
            return number(cells[header.index(column)])
    raise AssertionError(f"benchmarks.md {section!r} has no row {row!r}")


def source_value(source: str) -> float:
    kind, _, where = source.partition(": ")
    if kind == "benchmarks.json":
        return from_json(where)
    assert kind == "benchmarks.md", source
    section, row, column = (p.strip() for p in where.split(" / "))
    return from_md(section, row, column)


def test_every_quoted_figure_is_the_measured_one() -> None:
    rows = quoted()
    assert len(rows) >= 8
    for figure, value, source in rows:
        assert value == source_value(source), f"{figure}: scaling.md says {value}, {source} says so otherwise"


def test_the_derived_results_are_the_arithmetic_of_the_figures() -> None:
    figures = {f: v for f, v, _ in quoted()}
    checks = next(v for f, v in figures.items() if f.startswith("status checks per CPU second"))
    per_second = next(v for f, v in figures.items() if f.startswith("status checks of a job"))
    mbs = next(v for f, v in figures.items() if f.startswith("download throughput"))
    gw_pg = next(v for f, v in figures.items() if "PostgreSQL" in f)
    text = (DOCS / "scaling.md").read_text(encoding="utf-8")
    per_job = 1 + per_second * 120
    lam = 100_000 / 86_400
    expected = [
        f"{checks / per_second:,.0f} jobs in flight",  # one core
        f"**{per_job:.2f}** requests by polling",
        f"λ = 5 / {per_job:.2f} = **{5 / per_job:.3f} jobs/s**",
        f"N = {5 / per_job:.3f} × 120 ≈ **{5 / per_job * 120:.0f}**",
        f"≈ {10 / mbs * 1000:.0f} ms of one core",
        f"{gw_pg:,.0f} × 5 = **{gw_pg * 5:,.0f}**",
        f"λ = 100,000 / 86,400 = {lam:.3f} jobs/s",
        f"N = λ × L = {lam:.3f} × 120 ≈ {lam * 120:.0f} jobs in flight",
        f"provider requests = λ × {per_job:.2f} = {lam * per_job:.1f} requests/s",
        f"worker CPU = {lam * per_job:.1f} / {checks:,.0f} = {lam * per_job / checks:.3f} core",
    ]
    missing = [line for line in expected if line not in text]
    assert not missing, missing
