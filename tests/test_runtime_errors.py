"""The runtime's error records count; a user's log lines that look like them never do.

And a runtime error line that names no request is not pinned on an invocation it may
not belong to (``aws logs tail --format short``: no stream names, environments interleaved).
"""

from __future__ import annotations

import json
import logging
import sys

import pytest

from lambdaops._platform_records import RuntimeFailure, parse
from lambdaops.report import build, format_table
from tests.report_support import STREAM, rec, runtime_error


def text(request: str, *inside: str) -> list[str]:
    """One invocation in the text format; Lambda's REPORT shows no failure."""
    return [
        f"START RequestId: {request} Version: $LATEST",
        *inside,
        f"END RequestId: {request}",
        f"REPORT RequestId: {request}\tDuration: 5.00 ms\tBilled Duration: 5 ms"
        "\tMemory Size: 128 MB\tMax Memory Used: 50 MB",
    ]


def json_format(request: str, *inside: str) -> list[str]:
    """One invocation in the JSON format; Lambda says ``success``."""
    return [
        json.dumps({"time": "t", "type": "platform.start", "record": {"requestId": request}}),
        *inside,
        json.dumps(
            {
                "time": "t",
                "type": "platform.report",
                "record": {"requestId": request, "status": "success", "metrics": {}},
            }
        ),
    ]


def figures(lines: list[str]) -> tuple[int, int, int, float | None]:
    d = build(lines).as_dict()
    return d["invocations"], d["successes"], d["errors"], d["availability"]


def logged_exception(formatter: logging.Formatter) -> str:
    """What ``logger.exception("retrying payment")`` writes through ``formatter``."""
    try:
        raise ValueError("card 4242 declined")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "app.payments", logging.ERROR, "/var/task/app.py", 12, "retrying payment", None, exc_info
    )
    record.aws_request_id = "r1"
    return formatter.format(record)


# -- 1. a user's lines are not the runtime's errors -----------------------------------


@pytest.mark.parametrize("with_record", [True, False])
def test_a_logged_exception_in_lambdas_json_format_is_no_failure(with_record: bool) -> None:
    """awslambdaric's own JSON formatter gives it errorType, stackTrace and requestId too."""
    utils = pytest.importorskip("awslambdaric.lambda_runtime_log_utils")
    line = logged_exception(utils.JsonFormatter())
    assert {"errorType", "stackTrace", "requestId", "message", "logger"} <= json.loads(line).keys()
    own = [rec("r1", "success")] if with_record else []
    assert figures(json_format("r1", line, *own)) == (1, 1, 0, 1.0)


def test_the_runtimes_json_error_is_one_in_its_exact_shape() -> None:
    error = {
        "timestamp": "2026-11-26T10:00:00Z",
        "level": "ERROR",
        "errorMessage": "Unable to unmarshal input: Expecting value",
        "errorType": "Runtime.UnmarshalError",
        "requestId": "r1",
        "stackTrace": [],
    }
    assert figures(json_format("r1", json.dumps(error))) == (1, 0, 1, 0.0)
    with_more = json.dumps({**error, "message": "x", "logger": "root"})
    assert figures(json_format("r1", with_more)) == (1, 1, 0, 1.0)


@pytest.mark.parametrize(
    "lines",
    [
        ["[ERROR] PaymentDeclined: card 4242 declined, retrying"],
        ["[ERROR] app.payments: card declined"],  # "[%(levelname)s] %(name)s: %(message)s"
        ["[ERROR] PaymentDeclined: card 4242 declined", "retrying with another card"],
    ],
)
@pytest.mark.parametrize("with_record", [True, False])
def test_a_users_error_line_in_the_text_format_is_no_failure(
    lines: list[str], with_record: bool
) -> None:
    own = [rec("r1", "success")] if with_record else []
    assert figures(text("r1", *lines, *own)) == (1, 1, 0, 1.0)


@pytest.mark.parametrize("logger", ["app.payments", "payments"])
def test_a_logged_traceback_in_a_users_text_format_is_no_failure(logger: str) -> None:
    """Python's traceback (ASCII indents, a last ``Type: message`` line) is logging's."""
    formatter = logging.Formatter(f"[%(levelname)s] {logger}: %(message)s")
    lines = logged_exception(formatter).splitlines()
    assert lines[1] == "Traceback (most recent call last):" and lines[2].startswith('  File "')
    assert figures(text("r1", *lines)) == (1, 1, 0, 1.0)


def test_the_runtimes_text_error_is_one_in_its_exact_shape() -> None:
    unmarshal = runtime_error("Runtime.UnmarshalError", "Unable to unmarshal input: Expecting")
    raised = runtime_error(
        "ValueError", "no", '  File "/var/task/app.py", line 3, in handler', "    raise X"
    )
    lines = text("r1", *unmarshal) + text("r2", *raised)
    d = build(lines).as_dict()
    assert (d["invocations"], d["errors"], d["platform_only"]) == (2, 2, 2)
    assert d["failures_by_cause"] == {"Runtime.UnmarshalError": 1, "ValueError": 1}


def test_a_multi_line_message_before_the_traceback_is_still_the_runtimes() -> None:
    lines = ["[ERROR] ValueError: first line", "second line", "Traceback (most recent call last):"]
    assert [p.event for p in parse(lines)] == [RuntimeFailure(None, "ValueError", "first line")]


def test_over_lambdaops_success_only_the_runtimes_own_error_types_count() -> None:
    """lambdaops records the handler's exceptions itself; the runtime's later errors count."""
    handler_type = runtime_error("ValueError", "no")
    marshal = runtime_error("Runtime.MarshalError", "Unable to marshal response")
    lines = text("r1", rec("r1", "success"), *handler_type) + text(
        "r2", rec("r2", "success"), *marshal
    )
    assert build(lines).outcomes == ["success", "error"]


# -- 2. request-less lines with several invocations open and no stream names ----------


def short(*messages: str) -> list[str]:
    """``aws logs tail --format short``: a time, no stream; continuation lines unprefixed."""
    return [m if m.startswith(("Traceback", "\u00a0")) else f"10:00:00 {m}" for m in messages]


def interleaved(a_inside: list[str], b_inside: list[str], error: list[str]) -> list[str]:
    return short(
        "START RequestId: a Version: $LATEST",
        "START RequestId: b Version: $LATEST",
        *a_inside,
        *b_inside,
        *error,
        "END RequestId: a",
        "END RequestId: b",
        "REPORT RequestId: a\tDuration: 5.00 ms",
        "REPORT RequestId: b\tDuration: 5.00 ms",
    )


def test_a_handlers_error_line_goes_to_the_invocation_whose_record_names_it() -> None:
    lines = interleaved(
        [rec("a", "error", error_type="ValueError")],
        [rec("b", "success")],
        runtime_error("ValueError", "no"),
    )
    d = build(lines).as_dict()
    assert (d["invocations"], d["successes"], d["errors"], d["unattributed_error_lines"]) == (
        2,
        1,
        1,
        0,
    )


def test_an_error_line_that_could_be_either_is_unattributed() -> None:
    lines = interleaved([], [rec("b", "success")], runtime_error("Runtime.UnmarshalError", "bad"))
    result = build(lines)
    d = result.as_dict()
    assert (d["invocations"], d["successes"], d["errors"], d["unattributed_error_lines"]) == (
        2,
        2,
        0,
        1,
    )
    row = next(r for r in format_table(result).splitlines() if r.startswith("unattributed"))
    assert row.split(None, 3)[3].startswith("1 (no request id")


def test_with_one_invocation_open_the_line_is_its_own() -> None:
    lines = short(
        "START RequestId: a Version: $LATEST",
        *runtime_error("Runtime.UnmarshalError", "bad"),
        "END RequestId: a",
        "START RequestId: b Version: $LATEST",
        rec("b", "success"),
        "END RequestId: b",
        "REPORT RequestId: a\tDuration: 5.00 ms",
        "REPORT RequestId: b\tDuration: 5.00 ms",
    )
    assert build(lines).outcomes == ["error", "success"]
    assert build(lines).unattributed_error_lines == 0


def test_named_streams_keep_attributing_by_stream() -> None:
    other = "2026/11/26/[$LATEST]ffffffffffffffffffffffffffffffff"
    lines = [
        f"2026-11-26T10:00:00Z {STREAM} START RequestId: a Version: $LATEST",
        f"2026-11-26T10:00:00Z {other} START RequestId: b Version: $LATEST",
        f"2026-11-26T10:00:00Z {STREAM} [ERROR] Runtime.UnmarshalError: bad",
        "Traceback (most recent call last):",
        f"2026-11-26T10:00:00Z {other} {rec('b', 'success')}",
        f"2026-11-26T10:00:00Z {STREAM} REPORT RequestId: a\tDuration: 5.00 ms",
        f"2026-11-26T10:00:00Z {other} REPORT RequestId: b\tDuration: 5.00 ms",
    ]
    result = build(lines)
    assert (result.outcomes, result.unattributed_error_lines) == (["error", "success"], 0)
