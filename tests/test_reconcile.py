"""The parser of Lambda's log lines and the rules that give each attempt one final outcome."""

from __future__ import annotations

import json

import pytest

from lambdaops._platform_records import (
    End,
    Frame,
    InitReport,
    Metrics,
    Outcome,
    Parsed,
    Report,
    RuntimeDone,
    RuntimeFailure,
    Start,
    ThreadDump,
    TimedOut,
    classify,
    parse,
)
from lambdaops._reconcile import Final, reconcile
from lambdaops._runtime_errors import ErrorHeader
from lambdaops.report import build
from tests.report_support import STREAM, rec, runtime_error


def finals(lines: list[str]) -> list[Final]:
    return [inv.final() for inv in reconcile(parse(lines)).invocations]


def outcomes(lines: list[str]) -> list[tuple[str, str | None]]:
    return [(f.outcome, f.cause) for f in finals(lines)]


# -- the parser -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ("START RequestId: r1 Version: $LATEST", Start("r1")),
        ("END RequestId: r1", End("r1")),
        (
            "REPORT RequestId: r1\tDuration: 11.20 ms\tBilled Duration: 12 ms\tMemory Size: 256 MB"
            "\tMax Memory Used: 60 MB\tInit Duration: 100.50 ms",
            Report("r1", None, None, 11.2, 12.0, 256, 60, 100.5),
        ),
        (
            "REPORT RequestId: r1\tDuration: 900.00 ms\tBilled Duration: 900 ms"
            "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\tStatus: error"
            "\tError Type: Runtime.OutOfMemory",
            Report("r1", "error", "Runtime.OutOfMemory", 900.0, 900.0, 128, 128, None),
        ),
        (  # pasted from a terminal: tabs became spaces
            "REPORT RequestId: r1 Duration: 3000.00 ms Billed Duration: 3000 ms Memory Size: 128 MB"
            " Max Memory Used: 70 MB Status: timeout",
            Report("r1", "timeout", None, 3000.0, 3000.0, 128, 70, None),
        ),
        (
            "INIT_REPORT Init Duration: 154.03 ms\tPhase: invoke\tStatus: error"
            "\tError Type: Runtime.ExitError",
            InitReport("invoke", "error", "Runtime.ExitError", 154.03),
        ),
        (
            "RequestId: r1 Error: Runtime exited with error: signal: segmentation fault",
            RuntimeFailure(
                "r1", "Runtime.ExitError", "Runtime exited with error: signal: segmentation fault"
            ),
        ),
        ("Runtime.ExitError", RuntimeFailure(None, "Runtime.ExitError", "")),
        (  # the runtime's if its traceback follows (tests/test_runtime_errors.py)
            "[ERROR] Runtime.MarshalError: Unable to marshal response: bad",
            ErrorHeader("Runtime.MarshalError", "Unable to marshal response: bad"),
        ),
        ("[ERROR] KeyError", ErrorHeader("KeyError", "")),
        ("[ERROR] app.payments: card declined", None),  # a logger's name: never a type
        ("[ERROR]\t2026-11-26T10:00:00.000Z\tr1\tsomething logged at ERROR", None),
        ("2026-11-26T10:00:03.010Z r1 Task timed out after 3.00 seconds", TimedOut("r1")),
        ("Current thread 0x00007f2b8c1f5740 (most recent call first):", ThreadDump(True)),
        ("Thread 0x00007f2b7a3fe6c0 (most recent call first):", ThreadDump(False)),
        ('  File "/var/task/app.py", line 12 in handler', Frame("/var/task/app.py", 12, "handler")),
        ('  File "/var/task/app.py", line 12, in handler', None),  # a traceback, not a dump
        (
            '{"time":"2026-11-26T10:00:00.000Z","type":"platform.report","record":{"requestId":"r1",'
            '"metrics":{"durationMs":5.5,"billedDurationMs":6,"memorySizeMB":256,'
            '"maxMemoryUsedMB":60},"status":"timeout"}}',
            Report("r1", "timeout", None, 5.5, 6.0, 256, 60, None),
        ),
        (
            '{"time":"t","type":"platform.runtimeDone","record":{"requestId":"r1",'
            '"status":"error","errorType":"Runtime.ExitError"}}',
            RuntimeDone("r1", "error", "Runtime.ExitError"),
        ),
        (
            '{"time":"t","type":"platform.initReport","record":{"initializationType":"on-demand",'
            '"phase":"init","status":"error","errorType":"Runtime.ImportModuleError",'
            '"metrics":{"durationMs":310.1}}}',
            InitReport("init", "error", "Runtime.ImportModuleError", 310.1),
        ),
        (
            '{"timestamp":"t","level":"ERROR","errorMessage":"boom","errorType":"Runtime.MarshalError",'
            '"requestId":"r1","stackTrace":[]}',
            RuntimeFailure("r1", "Runtime.MarshalError", "boom"),
        ),
        ('{"level":"INFO","message":"payment declined","outcome":"declined"}', None),
        ("not json at all {oops", None),
    ],
)
def test_classify(message: str, event: object) -> None:
    assert classify(message) == event


def test_records_and_emf_are_json_objects() -> None:
    assert classify(rec("r1", "success")) == Outcome(
        {"lambdaops": "outcome", "outcome": "success", "request_id": "r1"}
    )
    doc = {"_aws": {"CloudWatchMetrics": []}, "Gizmos": 1}
    assert classify(json.dumps(doc)) == Metrics(doc)


def test_prefixes_give_the_stream_and_continuation_lines_keep_it() -> None:
    lines = [
        f"2026-11-26T10:00:00.000000+00:00 {STREAM} START RequestId: r1 Version: $LATEST",
        f"2026-11-26T10:00:00.100000+00:00 {STREAM} [ERROR] ValueError: no",
        "Traceback (most recent call last):",  # the rest of a multi-line message
        "Runtime.ExitError",
        "2026-11-26T10:00:00.200Z END RequestId: r1",  # a CloudWatch export names no stream
    ]
    assert [(p.stream, type(p.event).__name__) for p in parse(lines)] == [
        (STREAM, "Start"),
        (STREAM, "RuntimeFailure"),
        (STREAM, "RuntimeFailure"),
        (None, "End"),
    ]


# -- the rules ------------------------------------------------------------------------


def bracket(request: str, *inside: str, report: str = "") -> list[str]:
    return [
        f"START RequestId: {request} Version: $LATEST",
        *inside,
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 5.00 ms\tBilled Duration: 5 ms"
        f"\tMemory Size: 128 MB\tMax Memory Used: 50 MB{report}",
    ]


def test_a_platform_failure_overrides_lambdaops_success() -> None:
    lines = bracket(
        "r1",
        rec("r1", "success"),
        report="\tStatus: error\tError Type: Function.ResponseSizeTooLarge",
    )
    assert outcomes(lines) == [("error", "Function.ResponseSizeTooLarge")]


def test_the_record_names_why_the_runtime_exited() -> None:
    # awslambdaric exits when the Runtime API refuses a response over 6 MB: Lambda's record
    # says Runtime.ExitError, lambdaops' record what the caller was told.
    exited = "\tStatus: error\tError Type: Runtime.ExitError"
    too_large = rec("r1", "error", error_type="Function.ResponseSizeTooLarge")
    assert outcomes(bracket("r1", too_large, report=exited)) == [
        ("error", "Function.ResponseSizeTooLarge")
    ]
    crashed = rec("r2", "error", error_type="ValueError")  # a handler error is no reason to exit
    assert outcomes(bracket("r2", crashed, report=exited)) == [("error", "Runtime.ExitError")]


def test_a_runtime_error_line_fails_an_invocation_whose_report_shows_none() -> None:
    marshal = runtime_error("Runtime.MarshalError", "Unable to marshal")
    lines = bracket("r1", rec("r1", "success"), *marshal)
    assert outcomes(lines) == [("error", "Runtime.MarshalError")]


def test_the_runtime_error_of_json_format_names_its_request() -> None:
    error = json.dumps(
        {
            "timestamp": "t",
            "level": "ERROR",
            "errorMessage": "Unable to unmarshal input",
            "errorType": "Runtime.UnmarshalError",
            "requestId": "r1",
            "stackTrace": [],
        }
    )
    start = '{"time":"t","type":"platform.start","record":{"requestId":"r1"}}'
    report = '{"time":"t","type":"platform.report","record":{"requestId":"r1","metrics":{}}}'
    # the runtime's line arrives after the platform closed the invocation: it names the request
    assert outcomes([start, report, error]) == [("success", None)]
    assert outcomes([start, error, report]) == [("error", "Runtime.UnmarshalError")]


def test_the_handlers_exception_is_the_cause_when_the_runtime_names_the_same() -> None:
    error = runtime_error("ValueError", "no", '  File "/var/task/app.py", line 3, in handler')
    lines = bracket("r1", rec("r1", "error", error_type="ValueError"), *error)
    assert outcomes(lines) == [("error", "ValueError")]


def test_timeouts_with_and_without_a_record() -> None:
    timed_out = "2026-11-26T10:00:03.010Z {} Task timed out after 3.00 seconds"
    with_record = bracket(
        "r1",
        rec("r1", "timeout", error_type="Timeout"),
        timed_out.format("r1"),
        report="\tStatus: timeout",
    )
    # older text logs: no Status on the REPORT, only the "Task timed out" line
    without = bracket("r2", timed_out.format("r2"))
    assert outcomes(with_record + without) == [
        ("timeout", "Timeout"),
        ("timeout", "Sandbox.Timedout"),
    ]


def test_a_late_record_replaces_the_watchdogs_timeout() -> None:
    records = [
        rec("r1", "timeout", attempt=1, error_type="Timeout"),
        rec("r1", "error", attempt=1, supersedes="timeout", error_type="KeyError"),
    ]
    with_platform = bracket("r1", *records)
    assert outcomes(with_platform) == [("error", "KeyError")]
    assert outcomes(records) == [("error", "KeyError")]  # lambdaops lines only
    d = build(records).as_dict()
    assert (d["invocations"], d["errors"], d["timeouts"]) == (1, 1, 0)


def test_a_lambdaops_timeout_lambda_did_not_time_out_finished_in_time() -> None:
    assert outcomes(bracket("r1", rec("r1", "timeout"))) == [("success", None)]


def test_two_records_of_one_attempt_without_supersedes_are_two_attempts() -> None:
    """Async retries in two environments both say attempt 1: the report must not merge them."""
    lines = [rec("r1", "error", attempt=1), rec("r1", "success", attempt=1)]
    assert outcomes(lines) == [("error", None), ("success", None)]
    assert build(lines).as_dict()["request_availability"] == 1.0


def test_records_without_brackets_pair_with_reports_in_order() -> None:
    report = "REPORT RequestId: r1\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB"
    lines = [rec("r1", "error", attempt=1), report, rec("r1", "success", attempt=2), report]
    invs = reconcile(parse(lines)).invocations
    assert [(inv.final().outcome, inv.report is not None) for inv in invs] == [
        ("error", True),
        ("success", True),
    ]
    assert build(lines).as_dict()["platform_only"] == 0


def test_retries_of_one_request_id_number_their_attempts_from_the_log() -> None:
    lines = bracket("r1", report="\tStatus: error\tError Type: Runtime.ExitError") + bracket("r1")
    d = build(lines).as_dict()
    assert d["availability_by_attempt"] == {"1": 0.0, "2": 1.0}
    assert (d["requests"], d["request_availability"], d["platform_only"]) == (1, 1.0, 2)


def test_an_init_failure_fails_the_invocation_it_was_re_run_for() -> None:
    lines = [
        "INIT_START Runtime Version: python:3.12.v48",
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app'",
        "INIT_REPORT Init Duration: 250.00 ms\tPhase: invoke\tStatus: error"
        "\tError Type: Runtime.ImportModuleError",
        *bracket("r1"),
    ]
    assert outcomes(lines) == [("error", "Runtime.ImportModuleError")]
    d = build(lines).as_dict()
    assert d["init_failures"]["failed_invocations"] == 1


def test_an_init_failure_without_a_request_is_no_invocation() -> None:
    lines = ["INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout"]
    d = build(lines).as_dict()
    assert d["invocations"] == 0 and d["availability"] is None
    assert d["init_failures"] == {
        "total": 1,
        "by_phase": {"init": 1},
        "by_cause": {"Sandbox.Timedout": 1},
        "failed_invocations": 0,
    }


def test_an_init_phase_failure_that_succeeds_when_re_run_fails_nothing() -> None:
    lines = [
        "INIT_REPORT Init Duration: 10000.00 ms\tPhase: init\tStatus: timeout",
        *bracket("r1", rec("r1", "success")),
    ]
    assert outcomes(lines) == [("success", None)]


def test_user_fields_named_outcome_are_not_records() -> None:
    lines = [
        json.dumps({"level": "INFO", "message": "payment declined", "outcome": "declined"}),
        json.dumps({"outcome": "success", "request_id": "old"}),  # no discriminator: not counted
    ]
    assert build(lines).as_dict()["invocations"] == 0


def test_a_faulthandler_dump_is_the_stack_of_its_invocation() -> None:
    lines = bracket(
        "r1",
        "Thread 0x00007f2b7a3fe6c0 (most recent call first):",
        '  File "/usr/lib/python3.12/threading.py", line 331 in wait',
        "Current thread 0x00007f2b8c1f5740 (most recent call first):",
        '  File "/var/task/app.py", line 31 in crunch',
        '  File "/var/task/app.py", line 12 in handler',
        report="\tStatus: timeout",
    )
    inv = reconcile(parse(lines)).invocations[0]
    assert inv.dump == [
        Frame("/var/task/app.py", 31, "crunch"),
        Frame("/var/task/app.py", 12, "handler"),
    ]
    assert inv.stuck_in == "crunch (/var/task/app.py:31)"


def test_interleaved_streams_keep_their_own_lines() -> None:
    other = "2026/11/26/[$LATEST]ffffffffffffffffffffffffffffffff"

    def at(stream: str, message: str) -> str:
        return f"2026-11-26T10:00:00.000000+00:00 {stream} {message}"

    lines = [
        at(STREAM, "START RequestId: r1 Version: $LATEST"),
        at(other, "START RequestId: r2 Version: $LATEST"),
        at(other, "[ERROR] Runtime.MarshalError: Unable to marshal response"),
        "Traceback (most recent call last):",
        at(STREAM, rec("r1", "success")),
        at(STREAM, "END RequestId: r1"),
        at(other, "END RequestId: r2"),
        at(STREAM, "REPORT RequestId: r1\tDuration: 1.00 ms"),
        at(other, "REPORT RequestId: r2\tDuration: 1.00 ms"),
    ]
    assert outcomes(lines) == [("success", None), ("error", "Runtime.MarshalError")]


def test_parsed_events_carry_their_stream() -> None:
    parsed = list(parse([f"2026-11-26T10:00:00Z {STREAM} END RequestId: r1"]))
    assert parsed == [Parsed(STREAM, End("r1"))]


def test_two_late_records_without_a_timeout_are_one_attempt_and_the_last_wins() -> None:
    """A race could write two late records for one attempt and no timeout before them."""
    late = [
        rec("r1", "success", attempt=1, supersedes="timeout"),
        rec("r1", "error", attempt=1, supersedes="timeout", error_type="KeyError"),
    ]
    assert outcomes(late) == [("error", "KeyError")]
    assert outcomes(bracket("r1", *late)) == [("error", "KeyError")]
    both_success = [rec("r1", "success", attempt=1, supersedes="timeout")] * 2
    d = build(both_success).as_dict()
    assert (d["invocations"], d["successes"], d["availability"]) == (1, 1, 1.0)
    assert build(bracket("r1", *both_success)).as_dict()["invocations"] == 1
