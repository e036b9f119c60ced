"""The README's performance table and docs/benchmarks.md say what docs/results.json says.

``make bench`` writes docs/results.json and docs/benchmarks.md; the README's table is pasted
from ``python benchmarks/readme_table.py``. These tests fail, naming the cell, the figure the
README shows and the key it should come from, whenever one was edited by hand or left behind
by a new run. The expected cells are written out here, key by key, independently of
``readme_table.py``, which is then checked against them too.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS: dict[str, Any] = json.loads((REPO / "docs/results.json").read_text(encoding="utf-8"))

ALL = "lambdaops all, unsampled"
PT = "powertools full, unsampled"
PT_SAME = "powertools full + outcome record (same work)"

#: The README's column headings, left to right after the row label.
COLUMNS = ("lambdaops", "Powertools", "ratio")


def expected_cells(results: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(row label, column) -> (the cell's text, the results.json keys it is made from)."""
    w = results["warm"]
    over = w["overhead_us"]
    cold = results["cold"]["overhead_ms"]
    size = results["bytes"]
    rss = results["rss"]

    def us(name: str) -> tuple[str, str]:
        return f"{over[name]:.1f} µs", f"warm.overhead_us[{name!r}]"

    def less(pt: str, ours: str) -> tuple[str, str]:
        return (
            f"{over[pt] / over[ours]:.1f}× less",
            f"warm.overhead_us[{pt!r}] / warm.overhead_us[{ours!r}]",
        )

    cells: dict[tuple[str, str], tuple[str, str]] = {}

    def row(label: str, *values: tuple[str, str]) -> None:
        for column, value in zip(COLUMNS, values, strict=True):
            cells[label, column] = value

    row(
        "warm overhead, trace not sampled",
        us(ALL),
        us(PT),
        (f"{w['ratio_unsampled']:.1f}× less", "warm.ratio_unsampled"),
    )
    row(
        "warm overhead, logs + metric + outcome record, tracing off",
        us("lambdaops logs+metric+outcome, trace off"),
        us(PT),
        less(PT, "lambdaops logs+metric+outcome, trace off"),
    )
    row(
        "warm overhead, trace sampled",
        us("lambdaops all, sampled"),
        us("powertools full, sampled"),
        (f"{w['ratio_sampled']:.1f}× less", "warm.ratio_sampled"),
    )
    row(
        "warm overhead, Powertools also writing the outcome record (same work)",
        us(ALL),
        us(PT_SAME),
        less(PT_SAME, ALL),
    )
    row(
        "cold start over a bare handler (init + first invocation)",
        (f"+{cold['lambdaops']:.1f} ms", "cold.overhead_ms['lambdaops']"),
        (f"+{cold['powertools']:.1f} ms", "cold.overhead_ms['powertools']"),
        (
            f"{cold['lambdaops'] / cold['powertools']:.2f}× "
            f"(Datadog's wrapper: +{cold['datadog']:.1f} ms)",
            "cold.overhead_ms['lambdaops'] / ['powertools'], cold.overhead_ms['datadog']",
        ),
    )
    row(
        "stdout bytes per warm invocation",
        (f"{size[ALL]:.0f}", f"bytes[{ALL!r}]"),
        (
            f"{size[PT_SAME]:.0f} with the same outcome record, {size[PT]:.0f} without",
            f"bytes[{PT_SAME!r}], bytes[{PT!r}]",
        ),
        (
            f"{size[ALL] / size[PT_SAME]:.2f}× / {size[ALL] / size[PT]:.2f}×",
            f"bytes[{ALL!r}] / bytes[{PT_SAME!r}], / bytes[{PT!r}]",
        ),
    )
    row(
        "stdout bytes per warm invocation, lambdaops' outcome record off",
        (
            f"{size['lambdaops all, no outcome record']:.0f}",
            "bytes['lambdaops all, no outcome record']",
        ),
        (f"{size[PT]:.0f}", f"bytes[{PT!r}]"),
        (
            f"{size['lambdaops all, no outcome record'] / size[PT]:.2f}×",
            f"bytes['lambdaops all, no outcome record'] / bytes[{PT!r}]",
        ),
    )
    row(
        "resident memory over bare",
        (f"+{rss[ALL]:.1f} MB", f"rss[{ALL!r}]"),
        (f"+{rss[PT]:.1f} MB", f"rss[{PT!r}]"),
        ("", "(empty)"),
    )
    if results.get("layer") and "bytes" in results["layer"]:
        row(
            "layer zip",
            (f"{results['layer']['bytes'] / 1024:.0f} KiB", "layer.bytes / 1024"),
            ("", "(empty)"),
            ("", "(empty)"),
        )
    return cells


def table_cells(text: str) -> dict[tuple[str, str], str]:
    """The performance table's cells, by (row label, column), from README-like text."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| | lambdaops |"))
    cells: dict[tuple[str, str], str] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        label, *values = (cell.strip() for cell in line.strip().strip("|").split("|"))
        assert len(values) == len(COLUMNS), f"row {label!r} has {len(values)} figure cells"
        for column, value in zip(COLUMNS, values, strict=True):
            cells[label, column] = value
    return cells


def disagreements(shown: dict[tuple[str, str], str], where: str) -> list[str]:
    expected = expected_cells(RESULTS)
    out = [
        f"{where}: row {label!r}, column {column!r} shows {shown.get((label, column))!r}; "
        f"docs/results.json {source} gives {value!r}"
        for (label, column), (value, source) in expected.items()
        if shown.get((label, column)) != value
    ]
    out += [
        f"{where}: row {label!r} comes from no results.json key this test knows"
        for label in sorted({label for label, _ in shown.keys() - expected.keys()})
    ]
    return out


def _readme_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_table", REPO / "benchmarks/readme_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_performance_table_matches_results_json() -> None:
    """Refresh with ``python benchmarks/readme_table.py`` after ``make bench``."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    problems = disagreements(table_cells(readme), "README.md")
    assert not problems, "\n".join(problems)


def test_readme_names_the_run_its_table_comes_from() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = _readme_table().machine_line(RESULTS)
    assert line in readme.splitlines(), f"README.md should say {line!r} above the table"


def test_the_table_prints_without_datadog_as_the_quick_ci_run_measures() -> None:
    """CI's quick run does not install Datadog's wrapper: the cold-start row goes without it."""
    import copy

    quick = copy.deepcopy(RESULTS)
    del quick["cold"]["overhead_ms"]["datadog"]
    row = next(r for r in _readme_table().table(quick).splitlines() if r.startswith("| cold"))
    cold = quick["cold"]["overhead_ms"]
    assert row.endswith(f"| {cold['lambdaops'] / cold['powertools']:.2f}× |")


def test_the_table_printer_writes_what_this_test_expects() -> None:
    """What ``benchmarks/readme_table.py`` prints passes the same cell-by-cell check."""
    printed = _readme_table().table(RESULTS)
    problems = disagreements(table_cells(printed), "readme_table.py")
    assert not problems, "\n".join(problems)
    assert len(table_cells(printed)) == len(expected_cells(RESULTS))


def test_the_checker_sees_a_changed_cell() -> None:
    """A README with one figure off by 0.1 µs is reported, naming the cell and the key."""
    printed = _readme_table().table(RESULTS)
    over = RESULTS["warm"]["overhead_us"][ALL]
    wrong = printed.replace(f"| {over:.1f} µs |", f"| {over + 0.1:.1f} µs |", 1)
    assert disagreements(table_cells(wrong), "x") == [
        f"x: row 'warm overhead, trace not sampled', column 'lambdaops' shows "
        f"'{over + 0.1:.1f} µs'; docs/results.json warm.overhead_us['{ALL}'] gives "
        f"'{over:.1f} µs'"
    ]


def test_benchmarks_md_is_written_from_results_json() -> None:
    """docs/benchmarks.md is ``benchmarks/run.py``'s rendering of docs/results.json, unedited."""
    render = (
        "import json, sys; sys.path.insert(0, 'benchmarks'); import run; "
        "sys.stdout.write(run.markdown(json.load(open('docs/results.json'))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", render], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert proc.stdout == (REPO / "docs/benchmarks.md").read_text(encoding="utf-8")


def test_readme_import_costs_match_imports_json() -> None:
    """The dependency table's ms column is docs/imports.json (``python benchmarks/imports.py
    --json docs/imports.json``), module by module."""
    measured: dict[str, float] = json.loads((REPO / "docs/imports.json").read_text("utf-8"))
    shown: dict[str, str] = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            module = cells[0].split("`")[1]
            if module in measured:
                shown[module] = cells[1]
    assert shown == {module: str(ms) for module, ms in measured.items()}
