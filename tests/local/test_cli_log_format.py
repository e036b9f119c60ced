"""``lambdaops local --log-format text|json --log FILE`` end to end: the file holds the
function's lines and Lambda's platform records in Lambda's order, in the chosen format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import lambdaops_local as run

pytestmark = pytest.mark.e2e

HANDLERS = Path(__file__).parent / "handlers"
REPO = Path(__file__).resolve().parents[2]


def test_text_log_file_has_the_records_in_order(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    out = run("failures.exit1", "--code-dir", str(HANDLERS), "--log", str(log), "--quiet")
    assert out.returncode == 0, out.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("START RequestId: ")]
    (start,) = starts
    rid = lines[start].split()[2]
    assert lines[0].startswith("INIT_START Runtime Version: python:")
    assert lines.index("failures: module init") < start
    assert lines[start + 1] == "exit1: leaving"
    assert lines[-4:] == [
        f"RequestId: {rid} Error: Runtime exited with error: exit status 1",
        "Runtime.ExitError",
        f"END RequestId: {rid}",
        lines[-1],
    ]
    assert lines[-1].startswith(f"REPORT RequestId: {rid}\tDuration: ")
    assert lines[-1].endswith("\tStatus: error\tError Type: Runtime.ExitError")
    # --quiet prints the REPORT line (and the summary), not the rest.
    printed = [line for line in out.stdout.splitlines() if "RequestId" in line]
    assert printed[0].split() == lines[-1].split()  # rich expands the tabs


def test_json_log_file(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    out = run(
        "failures.boom",
        "--code-dir",
        str(HANDLERS),
        "--log-format",
        "json",
        "--log",
        str(log),
        "--times",
        "2",
    )
    assert out.returncode == 0, out.stderr
    lines = log.read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines if line.startswith("{")]
    kinds = [
        line if not line.startswith("{") else json.loads(line).get("type") or "ERROR"
        for line in lines
    ]
    assert kinds == [
        "platform.initStart",
        "failures: module init",  # the function's print: a plain line, as on Lambda
        "platform.initRuntimeDone",
        "platform.initReport",
        "platform.start",
        "ERROR",  # awslambdaric's record of the exception: one JSON frame, one line
        "platform.runtimeDone",
        "platform.report",
        "platform.start",
        "ERROR",
        "platform.runtimeDone",
        "platform.report",
    ]
    reports = [doc["record"] for doc in docs if doc.get("type") == "platform.report"]
    assert [r["status"] for r in reports] == ["success", "success"]
    assert ["initDurationMs" in r["metrics"] for r in reports] == [True, False]
    errors = [doc for doc in docs if doc.get("level") == "ERROR"]
    assert [e["requestId"] for e in errors] == [r["requestId"] for r in reports]
    assert {e["errorType"] for e in errors} == {"ValueError"}


def test_bad_log_format_is_a_usage_error() -> None:
    out = run("failures.ok", "--code-dir", str(HANDLERS), "--log-format", "xml")
    assert out.returncode == 2 and "--log-format" in out.stderr
