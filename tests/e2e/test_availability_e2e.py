"""Issue 13's acceptance test: the report counts what Lambda counts, whatever ends an invocation.

Each test runs one handler of tests/e2e/handlers/availability_app.py under the real awslambdaric
(``LocalRunner``), in Lambda's text and JSON log formats, and feeds the log the runner wrote to
``lambdaops.report.build``. Lambda's count is what the platform returned to the caller for each
invocation (``InvocationResult.status``: success, or error / crashed / init_error / timeout). Every
test asserts the report's invocations, successes, errors, timeouts, availability and request
availability equal that count, AND equal numbers written out by hand: were the local runtime and
the report wrong together, the pinned figures would still catch it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from lambdaops import report
from lambdaops.local._runner import LocalResult, LocalRunner, lambda_count

pytestmark = pytest.mark.e2e

HANDLERS = Path(__file__).resolve().parent / "handlers"
APP = HANDLERS / "availability_app.py"
EVENTS = Path(__file__).resolve().parents[1] / "events"
#: Lambda's figures, as the report names them.
FIGURES = ("invocations", "successes", "errors", "timeouts", "availability", "request_availability")


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Run(NamedTuple):
    """One runner's invocations: what Lambda returned, and what the report made of its log."""

    results: list[LocalResult]
    report: dict[str, Any]
    log: list[str]

    @property
    def statuses(self) -> list[str]:
        return [local.result.status for local in self.results]

    def outcomes(self) -> list[dict[str, Any]]:
        """lambdaops' outcome records in the log, in order."""
        records = (json.loads(line) for line in self.log if line.startswith('{"lambdaops":'))
        return [rec for rec in records if rec.get("lambdaops") == "outcome"]

    def stream(self, index: int, name: str) -> list[str]:
        """What invocation ``index`` wrote on one stream (stdout, stderr, telemetry, platform)."""
        return [text for stream, text in self.results[index].events if stream == name]


def run(
    tmp_path: Path,
    handler: str,
    log_format: str,
    events: list[Any],
    *,
    timeout_s: float = 1.0,
    **options: Any,
) -> Run:
    """Invoke ``handler`` once per event in ONE runner; an event may be ``(event, request_id)``."""
    path = tmp_path / f"{handler}.{log_format}.log"
    results = []
    with (
        path.open("w", encoding="utf-8") as log,
        LocalRunner(
            handler,
            HANDLERS,
            function_name="availability",
            timeout_s=timeout_s,
            log=log,
            log_format=log_format,
            **options,
        ) as runner,
    ):
        for item in events:
            event, request_id = item if isinstance(item, tuple) else (item, None)
            results.append(runner.invoke(event, request_id=request_id))
    lines = path.read_text(encoding="utf-8").splitlines()
    return Run(results, report.build(lines).as_dict(), lines)


def assert_agrees(got: Run, pinned: dict[str, Any]) -> None:
    """The report's figures == Lambda's count == the figures written in the test."""
    figures = {name: got.report[name] for name in FIGURES}
    assert (figures, lambda_count(got.results)) == (pinned, pinned)


def line_of(needle: str) -> int:
    """The line number of the one line of availability_app.py containing ``needle``."""
    (number,) = [
        n for n, text in enumerate(APP.read_text().splitlines(), start=1) if needle in text
    ]
    return number


# -- 1. runtime failures after the handler returns ---------------------------------------------


def test_responses_the_runtime_cannot_deliver_are_errors(tmp_path: Path, log_format: str) -> None:
    # Direct invocations: the payload is the caller's own JSON document (Invoke API,
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); `do` picks the variant.
    events = [{}, {"do": "set"}, {"do": "datetime"}, {"do": "big"}]
    got = run(tmp_path, "availability_app.respond", log_format, events)
    assert [(r.result.status, r.result.error_type) for r in got.results] == [
        ("success", None),
        ("error", "Runtime.MarshalError"),
        ("error", "Runtime.MarshalError"),
        ("error", "Function.ResponseSizeTooLarge"),
    ]
    assert_agrees(
        got,
        {
            "invocations": 4,
            "successes": 1,
            "errors": 3,
            "timeouts": 0,
            "availability": 0.25,
            "request_availability": 0.25,
        },
    )
    # lambdaops' records say what the caller was told. Lambda's records see the runtime exit
    # after the 6 MB response is refused (Runtime.ExitError); the report names the cause the
    # record gives, since it says why the runtime exited.
    assert [(rec["outcome"], rec.get("error_type")) for rec in got.outcomes()] == [
        ("success", None),
        ("error", "Runtime.MarshalError"),
        ("error", "Runtime.MarshalError"),
        ("error", "Function.ResponseSizeTooLarge"),
    ]
    assert got.report["failures_by_cause"] == {
        "Runtime.MarshalError": 2,
        "Function.ResponseSizeTooLarge": 1,  # the runtime exited over it: the record says why
    }


# -- 2. no record at all -----------------------------------------------------------------------


def test_an_exception_at_import_fails_every_invocation(tmp_path: Path, log_format: str) -> None:
    got = run(tmp_path, "init_fails.handler", log_format, [{}, {}])
    assert [(r.result.status, r.result.error_type) for r in got.results] == [
        ("init_error", "RuntimeError"),
        ("init_error", "RuntimeError"),
    ]
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 0,
            "errors": 2,
            "timeouts": 0,
            "availability": 0.0,
            "request_availability": 0.0,
        },
    )
    assert got.outcomes() == []
    # The init phase failed once, then Lambda re-ran init in each invocation's invoke phase.
    assert got.report["init_failures"] == {
        "total": 3,
        "by_phase": {"invoke": 2, "init": 1},
        "by_cause": {"RuntimeError": 3},
        "failed_invocations": 2,
    }
    assert (got.report["platform_only"], got.report["failures_by_cause"]) == (
        2,
        {"RuntimeError": 2},
    )


#: JSON nested deeper than Python's decoder recurses: valid, so Lambda's Invoke accepts it
#: (RFC 8259 sets no depth limit), and awslambdaric fails it with Runtime.UnmarshalError.
TOO_DEEP = b"[" * 10_000 + b"]" * 10_000
#: Not JSON at all. Lambda's Invoke refuses such a body (InvalidRequestContentException), but
#: the Runtime API hands the runtime whatever body it has, so it stands for any payload the
#: runtime cannot decode (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
NOT_JSON = b"{not json"


def test_deaths_the_handler_cannot_record(tmp_path: Path, log_format: str) -> None:
    retried = "0b5a3c1e-7d2f-4e96-a8b1-5c4d3e2f1a09"
    events = [
        {},  # direct invocations (Invoke API, see above)
        NOT_JSON,
        TOO_DEEP,
        ({"do": "exit"}, retried),
        ({}, retried),  # the caller retries the request: a fresh environment serves it
        {"do": "segfault"},
        {"do": "hog"},  # 256 MB in a 64 MB function
    ]
    got = run(tmp_path, "availability_app.crash", log_format, events, memory_mb=64)
    assert [(r.result.status, r.result.error_type) for r in got.results] == [
        ("success", None),
        ("error", "Runtime.UnmarshalError"),
        ("error", "Runtime.UnmarshalError"),
        ("crashed", "Runtime.ExitError"),
        ("success", None),
        ("crashed", "Runtime.ExitError"),
        ("crashed", "Runtime.OutOfMemory"),
    ]
    assert_agrees(
        got,
        {
            "invocations": 7,
            "successes": 2,
            "errors": 5,
            "timeouts": 0,
            "availability": 0.285714,  # 2 / 7
            "request_availability": 0.333333,  # 2 of 6 requests: the retried one succeeded
        },
    )
    # Only the two successes wrote a record; Lambda's records alone count the other five.
    assert [rec["request_id"] for rec in got.outcomes()] == [
        got.results[0].request_id,
        retried,
    ]
    assert got.report["platform_only"] == 5
    assert got.report["failures_by_cause"] == {
        "Runtime.ExitError": 2,
        "Runtime.UnmarshalError": 2,
        "Runtime.OutOfMemory": 1,
    }


# -- 3. timeouts, with and without the GIL -----------------------------------------------------


def test_timeouts_with_the_gil_held_and_released(tmp_path: Path, log_format: str) -> None:
    events = [{"do": "regex"}, {"do": "sum"}, {"do": "sleep"}]  # direct invocations
    got = run(
        tmp_path,
        "availability_app.stuck",
        log_format,
        events,
        # Watchdog at 0.6 s; faulthandler's alarm (timeout_stack, off by default) at 0.8 s.
        env={"LAMBDAOPS_TIMEOUT_MARGIN_MS": "400", "LAMBDAOPS_TIMEOUT_STACK": "true"},
    )
    assert [(r.result.status, r.result.error_type) for r in got.results] == [
        ("timeout", "Sandbox.Timedout")
    ] * 3
    assert_agrees(
        got,
        {
            "invocations": 3,
            "successes": 0,
            "errors": 0,
            "timeouts": 3,
            "availability": 0.0,
            "request_availability": 0.0,
        },
    )
    # Holding the GIL, the handler kept the watchdog from writing a record; faulthandler wrote
    # its stack on stderr instead, and the log has it where the report finds it.
    regex, total = line_of("re.match("), line_of("sum(range(")
    for index, line in ((0, regex), (1, total)):
        frame = f'  File "{APP}", line {line} in stuck'
        assert frame in got.stream(index, "stderr")
        assert "Current thread 0x" in "\n".join(got.stream(index, "stderr"))
        assert frame in got.log
    # Asleep, it released the GIL: the watchdog wrote the timeout record before the kill.
    (record,) = got.outcomes()
    sleep = line_of("releases the GIL")
    assert (record["request_id"], record["outcome"], record["stuck_in"]) == (
        got.results[2].request_id,
        "timeout",
        f"stuck ({APP}:{sleep})",
    )
    assert got.report["platform_only"] == 2
    assert got.report["failures_by_cause"] == {"Sandbox.Timedout": 2, "Timeout": 1}
    stuck_in = got.report["stuck_in"]
    assert (stuck_in.pop(f"stuck ({APP}:{total})"), stuck_in.pop(f"stuck ({APP}:{sleep})")) == (
        1,
        1,
    )
    ((where, count),) = stuck_in.items()  # the regex: faulthandler's innermost frame is re's
    assert count == 1 and re.fullmatch(rf"match \({re.escape(re.__file__)}:\d+\)", where), where


# -- 4. no false timeouts ----------------------------------------------------------------------


def test_finishing_after_the_watchdog_but_before_the_deadline(
    tmp_path: Path, log_format: str
) -> None:
    # Timeout 1 s, margin 500 ms: the watchdog writes its timeout record at 0.5 s, the handler
    # finishes at 0.75 s, Lambda's deadline is at 1 s (250 ms on either side).
    events = [{"sleep_s": 0.75}, {"sleep_s": 0.75, "do": "raise"}]  # direct invocations
    got = run(
        tmp_path,
        "availability_app.late",
        log_format,
        events,
        env={"LAMBDAOPS_TIMEOUT_MARGIN_MS": "500"},
    )
    assert [(r.result.status, r.result.error_type) for r in got.results] == [
        ("success", None),
        ("error", "RuntimeError"),
    ]
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 1,
            "errors": 1,
            "timeouts": 0,
            "availability": 0.5,
            "request_availability": 0.5,
        },
    )
    records = got.outcomes()
    assert [(rec["outcome"], rec.get("supersedes")) for rec in records] == [
        ("timeout", None),
        ("success", "timeout"),
        ("timeout", None),
        ("error", "timeout"),
    ]
    # The late record takes back the watchdog's Timeout metric: CloudWatch sums to 0.
    assert [rec["Timeout"] for rec in records] == [1, -1, 1, -1]
    assert got.report["failures_by_cause"] == {"RuntimeError": 1}


# -- 5. user fields named "outcome" ------------------------------------------------------------


def test_user_outcome_fields_are_not_invocations(tmp_path: Path, log_format: str) -> None:
    got = run(tmp_path, "availability_app.declines", log_format, [{}, {}])  # direct invocations
    assert got.statuses == ["success", "success"]
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 2,
            "errors": 0,
            "timeouts": 0,
            "availability": 1.0,
            "request_availability": 1.0,
        },
    )
    user = [json.loads(line) for line in got.log if '"outcome":"declined"' in line]
    assert [rec["message"] for rec in user] == ["payment declined"] * 2
    assert [rec["outcome"] for rec in got.outcomes()] == ["success", "success"]


# -- 6. nested instrumented calls on pool threads ----------------------------------------------


def test_pool_calls_are_the_invocation_in_flight(tmp_path: Path, log_format: str) -> None:
    got = run(tmp_path, "availability_app.fan_out", log_format, [{}, {}])  # direct invocations
    assert got.statuses == ["success", "success"]
    assert [r.result.json() for r in got.results] == [{"doubled": [0, 2, 4, 6]}] * 2
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 2,
            "errors": 0,
            "timeouts": 0,
            "availability": 1.0,
            "request_availability": 1.0,
        },
    )
    records = got.outcomes()
    assert [(rec["request_id"], rec["attempt"], rec["Enriched"]) for rec in records] == [
        (local.request_id, 1, [1, 1, 1, 1]) for local in got.results
    ]
    assert got.report["availability_by_attempt"] == {"1": 1.0}


# -- 7. async handlers -------------------------------------------------------------------------


def test_an_async_handler_runs_under_the_real_runtime(tmp_path: Path, log_format: str) -> None:
    got = run(tmp_path, "availability_app.handle_async", log_format, [{}, {}])  # direct
    assert got.statuses == ["success", "success"]
    assert [r.result.json() for r in got.results] == [
        {"awaited": True, "same_loop": True, "calls": 1},
        {"awaited": True, "same_loop": True, "calls": 2},  # warm: the same loop
    ]
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 2,
            "errors": 0,
            "timeouts": 0,
            "availability": 1.0,
            "request_availability": 1.0,
        },
    )
    assert [(rec["request_id"], rec["outcome"]) for rec in got.outcomes()] == [
        (local.request_id, "success") for local in got.results
    ]


# -- 8. HTTP status ----------------------------------------------------------------------------


# tests/events/api-gateway-rest.json: a REST API proxy event in AWS's documented input format,
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
# ("Input format of a Lambda function for proxy integration"); the handler answers in the
# output format of the same page (statusCode, body).
def api_gateway_request(status: int, request_id: str) -> Any:
    """The sample request, asking the handler for ``status``, with its own API request id."""
    event = json.loads((EVENTS / "api-gateway-rest.json").read_text(encoding="utf-8"))
    event = copy.deepcopy(event)
    event["queryStringParameters"] = {"status": str(status)}
    event["requestContext"]["requestId"] = request_id
    return event


def test_an_http_500_is_a_lambda_success_and_a_failed_response(
    tmp_path: Path, log_format: str
) -> None:
    events = [
        api_gateway_request(200, "c1d2e3f4-0000-4000-8000-000000000200"),
        api_gateway_request(500, "c1d2e3f4-0000-4000-8000-000000000500"),
    ]
    got = run(tmp_path, "availability_app.http", log_format, events)
    assert got.statuses == ["success", "success"]
    assert [r.result.json()["statusCode"] for r in got.results] == [200, 500]
    assert_agrees(
        got,
        {
            "invocations": 2,
            "successes": 2,
            "errors": 0,
            "timeouts": 0,
            "availability": 1.0,
            "request_availability": 1.0,
        },
    )
    assert [rec["status_code"] for rec in got.outcomes()] == [200, 500]
    assert got.report["http"] == {
        "responses": 2,
        "2xx": 1,
        "3xx": 0,
        "4xx": 0,
        "5xx": 1,
        "failed": 0,
        "availability": 0.5,
    }
