"""The README's performance table, written from a ``make bench`` result file.

Run: ``python benchmarks/readme_table.py [docs/results.json]`` and paste its output over the
table under README.md's "Performance" heading; ``benchmarks/run.py`` prints it too. Every cell
is a rounded value of ``results.json`` (which key, :data:`CELLS` says), so the README never
quotes a figure the committed run did not produce; ``tests/test_figures.py`` checks the README
against the same file cell by cell. Standard library only: the test imports it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ALL = "lambdaops all, unsampled"
ALL_SAMPLED = "lambdaops all, sampled"
TRACE_OFF = "lambdaops logs+metric+outcome, trace off"
NO_OUTCOME = "lambdaops all, no outcome record"
PT = "powertools full, unsampled"
PT_SAMPLED = "powertools full, sampled"
PT_SAME = "powertools full + outcome record (same work)"

HEADER = (
    "| | lambdaops | Powertools (Logger + Metrics + Tracer) | ratio |",
    "|---|---:|---:|---:|",
)


def machine_line(results: dict[str, Any]) -> str:
    """The sentence above the table: which machine and which run."""
    return f"{results['machine']} (this project's CI machine), one `{results['command']}` run:"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(row label, lambdaops, Powertools, ratio) cells, as the README shows them.

    Ratios are taken from the rounded figures results.json holds (the suite's own
    ``ratio_unsampled`` / ``ratio_sampled`` where it writes them)."""
    over = results["warm"]["overhead_us"]
    cold = results["cold"]["overhead_ms"]
    size = results["bytes"]
    rss = results["rss"]
    layer = results.get("layer") or {}

    def less(pt: float, ours: float) -> str:
        return f"{pt / ours:.1f}× less"

    out = [
        (
            "warm overhead, trace not sampled",
            f"{over[ALL]:.1f} µs",
            f"{over[PT]:.1f} µs",
            f"{results['warm']['ratio_unsampled']:.1f}× less",
        ),
        (
            "warm overhead, logs + metric + outcome record, tracing off",
            f"{over[TRACE_OFF]:.1f} µs",
            f"{over[PT]:.1f} µs",
            less(over[PT], over[TRACE_OFF]),
        ),
        (
            "warm overhead, trace sampled",
            f"{over[ALL_SAMPLED]:.1f} µs",
            f"{over[PT_SAMPLED]:.1f} µs",
            f"{results['warm']['ratio_sampled']:.1f}× less",
        ),
        (
            "warm overhead, Powertools also writing the outcome record (same work)",
            f"{over[ALL]:.1f} µs",
            f"{over[PT_SAME]:.1f} µs",
            less(over[PT_SAME], over[ALL]),
        ),
        (
            "cold start over a bare handler (init + first invocation)",
            f"+{cold['lambdaops']:.1f} ms",
            f"+{cold['powertools']:.1f} ms",
            f"{cold['lambdaops'] / cold['powertools']:.2f}×"
            # Datadog's wrapper is measured only where `make bench` installed it (not in CI)
            + (f" (Datadog's wrapper: +{cold['datadog']:.1f} ms)" if "datadog" in cold else ""),
        ),
        (
            "stdout bytes per warm invocation",
            f"{size[ALL]:.0f}",
            f"{size[PT_SAME]:.0f} with the same outcome record, {size[PT]:.0f} without",
            f"{size[ALL] / size[PT_SAME]:.2f}× / {size[ALL] / size[PT]:.2f}×",
        ),
        (
            "stdout bytes per warm invocation, lambdaops' outcome record off",
            f"{size[NO_OUTCOME]:.0f}",
            f"{size[PT]:.0f}",
            f"{size[NO_OUTCOME] / size[PT]:.2f}×",
        ),
        (
            "resident memory over bare",
            f"+{rss[ALL]:.1f} MB",
            f"+{rss[PT]:.1f} MB",
            "",
        ),
    ]
    if "bytes" in layer:
        out.append(("layer zip", f"{layer['bytes'] / 1024:.0f} KiB", "", ""))
    return out


def table(results: dict[str, Any]) -> str:
    """The machine line, a blank line and the table, ready to paste into the README."""
    lines = [machine_line(results), "", *HEADER]
    lines += [
        "|" + "|".join(f" {cell} " if cell else " " for cell in row) + "|" for row in rows(results)
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else Path(__file__).resolve().parents[1] / "docs/results.json")
    sys.stdout.write(table(json.loads(path.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
