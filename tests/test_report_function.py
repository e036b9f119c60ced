"""``lambdaops report --function NAME``: one function out of a log of several.

Outcome records name their function; Lambda's platform records belong to one only
through their log stream (its name in a shared log group, or the records in it).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdaops.cli import main
from lambdaops.report import build, format_table

GIZMOS = "2026/11/26/gizmos[$LATEST]0123456789abcdef0123456789abcdef"
WIDGETS = "2026/11/26/widgets[$LATEST]fedcba9876543210fedcba9876543210"
# the default log group's streams do not name the function
ENV_1 = "2026/11/26/[$LATEST]11111111111111111111111111111111"
ENV_2 = "2026/11/26/[$LATEST]22222222222222222222222222222222"
ENV_3 = "2026/11/26/[$LATEST]33333333333333333333333333333333"


def rec(request: str, outcome: str, function: str, **fields: Any) -> str:
    return json.dumps(
        {
            "lambdaops": "outcome",
            "outcome": outcome,
            "request_id": request,
            "function_name": function,
            "_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "Orders"}]}]},
            "Orders": 1,
            **fields,
        }
    )


def invocation(stream: str, request: str, *inside: str, status: str = "") -> list[str]:
    def at(message: str) -> str:
        return f"2026-11-26T10:00:00.000000+00:00 {stream} {message}"

    return [
        at(f"START RequestId: {request} Version: $LATEST"),
        *(at(line) for line in inside),
        at(f"END RequestId: {request}"),
        at(f"REPORT RequestId: {request}\tDuration: 5.00 ms\tBilled Duration: 5 ms{status}"),
    ]


CRASH = "\tStatus: error\tError Type: Runtime.ExitError"


def shared_group() -> list[str]:
    """A custom log group shared by gizmos and widgets: the streams name the function."""
    return [
        *invocation(GIZMOS, "g1", rec("g1", "success", "gizmos")),
        *invocation(WIDGETS, "w1", status=CRASH),  # no record: Lambda's alone
        *invocation(WIDGETS, "w2", rec("w2", "success", "widgets")),
        *invocation(GIZMOS, "g2", status=CRASH),
        f"2026-11-26T10:00:00Z {WIDGETS} INIT_REPORT Init Duration: 9.00 ms\tPhase: init"
        "\tStatus: error\tError Type: Runtime.ImportModuleError",
    ]


def test_without_function_every_invocation_counts() -> None:
    d = build(shared_group()).as_dict()
    assert (d["invocations"], d["errors"], d["platform_only"], d["function"]) == (4, 2, 2, None)


def test_a_shared_log_groups_streams_name_the_function() -> None:
    d = build(shared_group(), function="gizmos").as_dict()
    assert (d["invocations"], d["successes"], d["errors"], d["platform_only"]) == (2, 1, 1, 1)
    assert d["function"] == {"name": "gizmos", "other_invocations": 2, "unknown_invocations": 0}
    assert d["init_failures"]["total"] == 0  # widgets' init
    assert d["metrics"] == {"Orders": 1}
    widgets = build(shared_group(), function="widgets").as_dict()
    assert (widgets["invocations"], widgets["errors"], widgets["init_failures"]["total"]) == (
        2,
        1,
        1,
    )


def test_default_log_groups_streams_are_known_by_their_records() -> None:
    lines = [
        *invocation(ENV_1, "g1", rec("g1", "success", "gizmos")),
        *invocation(ENV_2, "w1", rec("w1", "success", "widgets")),
        *invocation(ENV_1, "g2", status=CRASH),  # gizmos' environment: its crash is gizmos'
        *invocation(ENV_2, "w2", status=CRASH),
        *invocation(ENV_3, "x1", status=CRASH),  # nothing says whose
    ]
    result = build(lines, function="gizmos")
    d = result.as_dict()
    assert (d["invocations"], d["successes"], d["errors"]) == (2, 1, 1)
    assert d["function"] == {"name": "gizmos", "other_invocations": 2, "unknown_invocations": 1}
    assert "gizmos (left out: 2 invocations of other functions, 1 of unknown function)" in (
        format_table(result)
    )


def test_a_log_without_stream_names_separates_only_invocations_with_records() -> None:
    lines = [
        rec("g1", "success", "gizmos"),
        rec("w1", "error", "widgets"),
        "REPORT RequestId: x1\tDuration: 5.00 ms\tStatus: error\tError Type: Runtime.ExitError",
    ]
    d = build(lines, function="gizmos").as_dict()
    assert (d["invocations"], d["successes"]) == (1, 1)
    assert d["function"] == {"name": "gizmos", "other_invocations": 1, "unknown_invocations": 1}


def test_the_cli_option(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "shared.log"
    log.write_text("\n".join(shared_group()) + "\n")
    assert main(["report", str(log), "--function", "widgets", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["invocations"], d["errors"], d["function"]["other_invocations"]) == (2, 1, 2)
