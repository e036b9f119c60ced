"""``lambdaops report`` counts what Lambda counts: one function's log in both formats, three shapes.

tests/fixtures/platform/{text,json}.log hold the same sixteen attempts (the table in
tests/fixtures/platform/README.md): every cause of failure the report must see —
crashes, out-of-memory, init errors and their retry, marshal and unmarshal errors,
timeouts with and without lambdaops' record, a late record after a false timeout,
a user field named ``outcome``, an async retry, an HTTP 5xx. Each is read as
``aws logs tail`` prints it, as the raw messages of each stream, and as a
CloudWatch export; all six must give exactly the same figures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from lambdaops.report import build, format_table

FIXTURES = Path(__file__).parent / "fixtures" / "platform"
_TAIL = re.compile(r"(\S+) (\d{4}/\d{2}/\d{2}/\S+) (.*)")


def by_stream(path: Path) -> dict[str, list[tuple[str, str]]]:
    """(timestamp, message line) per stream; a line without prefix continues the last one."""
    streams: dict[str, list[tuple[str, str]]] = defaultdict(list)
    stream = stamp = ""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        m = _TAIL.match(line)
        if m:
            stamp, stream, line = m.groups()
            streams[stream].append((stamp, line))
        else:
            streams[stream].append(("", line))
    return streams


def tail(path: Path) -> list[str]:
    return path.read_text().splitlines()


def raw(path: Path) -> list[str]:
    """What the function wrote, one stream after the other (no stream names)."""
    return [line for lines in by_stream(path).values() for _, line in lines]


def export(path: Path) -> list[str]:
    """A CloudWatch export: ``TIMESTAMP MESSAGE``, one stream after the other."""
    return [
        f"{stamp} {line}" if stamp else line
        for lines in by_stream(path).values()
        for stamp, line in lines
    ]


SHAPES = {"tail": tail, "raw": raw, "export": export}

# Lambda's REPORT of the six attempts without an outcome record: unmarshal error, segfault,
# os._exit, the GIL-held timeout, and the failed init's request twice.
PLATFORM_ONLY_BILLED_MS = [3, 23, 16, 3000, 420, 415]
RECORD_COSTS = [
    2.5e-07,  # a01
    2.375e-07,  # a03
    2.33333e-07,  # a02
    2.29167e-07,  # a05
    2.20833e-07,  # a04
    3.66667e-07,  # a07
    1.1450023e-05,  # b01, the watchdog's timeout
    2.25e-07,  # d01 attempt 1
    2.16667e-07,  # d01 attempt 2
    1.2075024e-05,  # b03, the late record (its watchdog record is replaced)
]
EXPECTED_COST = sum(RECORD_COSTS) + sum(
    ms * 256 / 1024 / 1000 * 0.0000166667 + 0.2 / 1e6 for ms in PLATFORM_ONLY_BILLED_MS
)


def figures(fmt: str, shape: str) -> dict[str, Any]:
    return build(SHAPES[shape](FIXTURES / f"{fmt}.log")).as_dict()


ALL = pytest.mark.parametrize(
    ("fmt", "shape"), [(f, s) for f in ("text", "json") for s in ("tail", "raw", "export")]
)


@ALL
def test_counts_every_attempt_lambda_counted(fmt: str, shape: str) -> None:
    d = figures(fmt, shape)
    assert (d["invocations"], d["successes"], d["errors"], d["timeouts"]) == (16, 5, 9, 2)
    assert d["availability"] == 0.3125  # 5 / 16
    assert d["requests"] == 14
    assert d["request_availability"] == round(5 / 14, 6)
    assert d["availability_by_attempt"] == {"1": round(4 / 14, 6), "2": 0.5}
    assert d["platform_only"] == 6


@ALL
def test_failures_by_cause(fmt: str, shape: str) -> None:
    assert figures(fmt, shape)["failures_by_cause"] == {
        "Runtime.ExitError": 2,  # os._exit and the segfault
        "Runtime.ImportModuleError": 2,  # the failed init's request, and its retry
        "KeyError": 1,
        "Runtime.MarshalError": 1,
        "Runtime.OutOfMemory": 1,  # over lambdaops' success
        "Runtime.UnmarshalError": 1,
        "Sandbox.Timedout": 1,  # no record: the handler held the GIL
        "Timeout": 1,  # the watchdog's record
        "ValueError": 1,
    }


@ALL
def test_init_failures(fmt: str, shape: str) -> None:
    assert figures(fmt, shape)["init_failures"] == {
        "total": 4,
        "by_phase": {"init": 2, "invoke": 2},
        "by_cause": {"Runtime.ImportModuleError": 3, "Sandbox.Timedout": 1},
        "failed_invocations": 2,
    }


@ALL
def test_http_by_response(fmt: str, shape: str) -> None:
    assert figures(fmt, shape)["http"] == {
        "responses": 8,
        "2xx": 2,  # a01, and b03's late record
        "3xx": 0,
        "4xx": 1,
        "5xx": 1,  # a03: the handler's own 503 is a successful invocation, not a good response
        "failed": 4,  # ValueError, MarshalError, out of memory after a 200, the recorded timeout
        "availability": 0.375,  # 3 / 8
    }


@ALL
def test_cold_starts_durations_cost_and_metrics(fmt: str, shape: str) -> None:
    d = figures(fmt, shape)
    assert d["cold_starts"] == 7 and d["cold_start_rate"] == 0.4375
    assert d["mean_init_duration_ms"] == 175.0  # (180 + 175 + 190 + 185 + 170 + 165 + 160) / 7
    # handler durations from the records, Lambda's Duration for the six without one:
    # 2.1 4 5 6 7 8 9 [12] 15.3 22.4 40 415 420 2700 2850 3000
    assert d["duration_ms"] == {"p50": 12.0, "p95": 3000.0, "p99": 3000.0, "max": 3000.0}
    assert d["estimated_cost_usd"] == pytest.approx(EXPECTED_COST, abs=1e-11)
    assert d["metrics"] == {"GizmosProcessed": 6}  # Timeout +1/-1 and ColdStart are lambdaops'


@ALL
def test_where_timeouts_were_stuck(fmt: str, shape: str) -> None:
    assert figures(fmt, shape)["stuck_in"] == {
        "check_inventory (/var/task/app.py:40)": 1,  # lambdaops' record
        "crunch (/var/task/app.py:31)": 1,  # the faulthandler dump
    }


def test_table_shows_causes_platform_only_init_and_http() -> None:
    table = format_table(build(tail(FIXTURES / "text.log")))
    assert "31.2%" in table and "35.7% of 14 requests" in table
    assert "37.5% of 8 HTTP responses" in table and "2 / 0 / 1 / 1 / 4" in table
    assert re.search(r"failed: Runtime\.OutOfMemory +1", table)
    assert re.search(r"from platform records alone +6 invocations", table)
    assert "init failures" in table and "Runtime.ImportModuleError 3" in table
    assert "crunch (/var/task/app.py:31)" in table


def test_cli_json_counts_platform_records() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lambdaops",
            "report",
            str(FIXTURES / "text.log"),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(out.stdout)
    assert (d["invocations"], d["errors"], d["timeouts"], d["platform_only"]) == (16, 9, 2, 6)
