"""``lambdaops report`` against a hand-counted fixture (tests/fixtures/report.log).

The fixture: r1 cold success (init 100 ms); r2 error then success on retry; r3
timeout, timeout, error; r4 cold SQS batch 10 items / 3 failed (init 120 ms);
r5 success in ``aws logs tail`` format; noise lines in between, and a user's log
line with a field named ``outcome`` (not a record: records say ``"lambdaops":"outcome"``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lambdaops.report import build, format_table

FIXTURE = Path(__file__).parent / "fixtures" / "report.log"


def figures() -> dict[str, Any]:
    return build(FIXTURE.read_text().splitlines()).as_dict()


def test_counts() -> None:
    d = figures()
    assert (d["invocations"], d["successes"], d["errors"], d["timeouts"]) == (8, 4, 2, 2)


def test_availability_by_attempt_and_by_request() -> None:
    d = figures()
    assert d["availability"] == pytest.approx(4 / 8)
    assert d["requests"] == 5
    assert d["request_availability"] == pytest.approx(4 / 5)
    assert d["availability_by_attempt"] == {"1": 0.6, "2": 0.5, "3": 0.0}


def test_cold_starts_and_durations() -> None:
    d = figures()
    assert d["cold_starts"] == 2 and d["cold_start_rate"] == pytest.approx(0.25)
    assert d["mean_init_duration_ms"] == pytest.approx(110.0)
    # sorted: 2 3 5 7 10 20 1900 1950 -> nearest rank
    assert d["duration_ms"] == {"p50": 7.0, "p95": 1950.0, "p99": 1950.0, "max": 1950.0}


def test_batches_cost_and_business_metrics() -> None:
    d = figures()
    assert (d["batch_items"], d["batch_items_failed"]) == (10, 3)
    assert d["batch_item_availability"] == pytest.approx(0.7)
    assert d["estimated_cost_usd"] == pytest.approx(6 * 1e-6 + 2 * 2e-5)
    assert d["cost_per_million_usd"] == pytest.approx((6 * 1e-6 + 2 * 2e-5) / 8 * 1e6)
    assert d["metrics"] == {"GizmosProcessed": 7}  # lambdaops' own ColdStart is not business


def test_table_mentions_the_figures() -> None:
    table = format_table(build(FIXTURE.read_text().splitlines()))
    assert "50.0%" in table and "80.0% of 5 requests" in table and "GizmosProcessed" in table


def test_cli_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lambdaops", "report", str(FIXTURE), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(out.stdout)
    assert d["invocations"] == 8 and d["errors"] == 2 and d["timeouts"] == 2
    assert d["availability"] == 0.5 and d["request_availability"] == 0.8


def test_cli_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "report.png"
    subprocess.run(
        [sys.executable, "-m", "lambdaops", "report", str(FIXTURE), "--plot", str(png)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lambdaops", "report", str(tmp_path / "nope.log")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "nope.log" in out.stderr
