"""make demo's check: Lambda's own count of the run, and the report's beside it."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from lambdaops import report
from lambdaops.demo import FIGURES, format_comparison, lambda_count, main
from lambdaops.local._runner import LocalResult
from lambdaops.local._runtime_api import InvocationResult


def result(status: str, request_id: str) -> LocalResult:
    invocation = InvocationResult(request_id, status, None, None, None, 0.0, 0.001, 0)
    return LocalResult(invocation, 0, False, None, 128, None, "Root=1-0-0;Sampled=0")


def test_lambda_count_counts_attempts_and_requests() -> None:
    """Every platform failure is an error; a retried request succeeds if any attempt did."""
    results = [
        result("success", "a"),
        result("error", "b"),
        result("crashed", "c"),
        result("success", "c"),  # the retry of c
        result("init_error", "d"),
        result("timeout", "e"),
    ]
    assert lambda_count(results) == {
        "invocations": 6,
        "successes": 2,
        "errors": 3,
        "timeouts": 1,
        "availability": 0.333333,
        "request_availability": 0.4,
    }


def test_the_comparison_marks_every_figure_that_differs() -> None:
    lambdas = lambda_count([result("success", "a"), result("crashed", "b")])
    reports = {**lambdas, "invocations": 1, "errors": 0, "availability": 1.0}
    assert format_comparison(lambdas, reports).splitlines() == [
        "                       Lambda   report",
        "invocations                 2        1  !=",
        "successes                   1        1",
        "errors                      1        0  !=",
        "timeouts                    0        0",
        "availability            50.0%   100.0%  !=",
        "request availability    50.0%    50.0%",
    ]


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_the_demo_retries_an_event_as_lambda_does(tmp_path: Path) -> None:
    """``make demo`` end to end: the retried EventBridge event is the same event under the same
    request id, its second record says attempt 2, and the report shows an attempt-2 row."""
    log = tmp_path / "demo.log"
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--example", str(REPO / "examples/gizmos"), "--log", str(log), "--quiet"])
    assert code == 0, out.getvalue()
    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(ln) for ln in lines if ln.startswith('{"lambdaops":"outcome"')]
    retried = [r for r in records if r["trigger"] == "eventbridge"]
    assert [
        (r["attempt"], r["outcome"], r.get("error_type"), r["correlation_id"]) for r in retried
    ] == [
        (1, "error", "InventoryUnavailable", "7bf73129-1428-4cd3-a780-95db273d1602"),
        (2, "success", None, "7bf73129-1428-4cd3-a780-95db273d1602"),
    ]
    assert retried[0]["request_id"] == retried[1]["request_id"]
    assert sum(r["attempt"] == 2 for r in records) == 1

    figures = report.build(lines).as_dict()
    assert {name: figures[name] for name in (*FIGURES, "requests", "availability_by_attempt")} == {
        "invocations": 13,
        "successes": 8,
        "errors": 4,
        "timeouts": 1,
        "availability": 0.615385,  # 8 of 13 attempts
        "request_availability": 0.666667,  # 8 of 12 requests: the retried one succeeded
        "requests": 12,
        "availability_by_attempt": {"1": 0.583333, "2": 1.0},  # 7 of 12 first attempts
    }
    assert figures["failures_by_cause"] == {
        "InventoryUnavailable": 1,
        "OrderError": 1,
        "Runtime.ExitError": 1,
        "Runtime.MarshalError": 1,
        "Timeout": 1,
    }
    shown = [" ".join(ln.split()) for ln in out.getvalue().splitlines()]
    assert "attempt 1 58.3%" in shown
    assert "attempt 2 100.0%" in shown
    assert "The report agrees with Lambda." in shown
    # ... and it ends with the dashboard next to the log (cfn-lint clean) and a tune table
    dashboard = tmp_path / "dashboard.yaml"
    assert f"lambdaops dashboard --from {log}: {dashboard}" in out.getvalue()
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(dashboard)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    table = [ln for ln in shown if ln.startswith("| ") and " MB |" in ln]
    assert [row.split(" | ")[0] for row in table] == ["| 128 MB", "| 256 MB", "| 512 MB"]
