"""The lifecycle's less travelled paths (issue 14's mutation run over ``_lifecycle`` found
them untested): handlers called with keyword arguments, sync and async, nested and from
another thread; an invocation ended twice; a finish after Lambda's deadline; a signal
that fails to start."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from lambdaops import instrument, log
from lambdaops._decorator import lifecycle_of
from lambdaops._scope import leave
from lambdaops.testing import Capture, LambdaContext

# AWS's sample SQS event (tests/events/SOURCES.md cites the page)
SQS = json.loads((Path(__file__).parent / "events" / "sqs.json").read_text("utf-8"))


def test_keyword_calls_are_described_as_positional_ones(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> int:
        return len(event["Records"])

    @instrument
    async def async_handler(event: Any, context: Any) -> int:
        return len(event["Records"])

    first, second = LambdaContext(), LambdaContext()
    records = len(SQS["Records"])
    assert handler(event=SQS, context=first) == records
    assert asyncio.run(async_handler(event=SQS, context=second)) == records
    assert [(r["request_id"], r["trigger"], r["outcome"]) for r in lambdaops_capture.outcomes] == [
        (first.aws_request_id, "sqs", "success"),
        (second.aws_request_id, "sqs", "success"),
    ]


def test_an_async_handler_called_twice_with_one_context_makes_two_records(
    lambdaops_capture: Capture,
) -> None:
    """Each awaited invocation leaves the in-flight list: the next one with the same
    context object is an invocation of its own, not a nested call."""

    @instrument
    async def handler(event: Any, context: Any) -> str:
        return "ok"

    context = LambdaContext()
    assert [asyncio.run(handler({}, context)) for _ in range(2)] == ["ok", "ok"]
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success", "success"]


def test_a_nested_keyword_call_passes_through(lambdaops_capture: Capture) -> None:
    @instrument(service="inner")
    def inner(event: Any, context: Any) -> str:
        return event["name"]

    @instrument(service="outer")
    def outer(event: Any, context: Any) -> str:
        return inner(event={"name": "inner"}, context=context) + "+outer"

    assert outer({}, LambdaContext()) == "inner+outer"
    assert [r["service"] for r in lambdaops_capture.outcomes] == ["outer"]


def test_a_thread_calling_with_keywords_joins_the_invocation_in_flight(
    lambdaops_capture: Capture,
) -> None:
    """A worker thread started before the invocation (a pool from import time) calls the
    handler for the invocation in flight, passing the context by keyword: it runs under
    that invocation (its lines carry the request id) and adds no record."""
    context = LambdaContext()
    go, done = threading.Event(), threading.Event()
    results: list[str] = []

    @instrument
    def handler(event: Any, context: Any) -> str:
        if event.get("from_thread"):
            log.info("from the thread")
            return "joined"
        go.set()
        assert done.wait(5)
        return "outer"

    def worker() -> None:
        go.wait(5)
        results.append(handler(event={"from_thread": True}, context=context))
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()  # outside any invocation: it inherits none
    assert handler({}, context) == "outer"
    thread.join()
    assert results == ["joined"]
    (line,) = lambdaops_capture.logs
    assert (line["message"], line["request_id"]) == ("from the thread", context.aws_request_id)
    assert len(lambdaops_capture.outcomes) == 1


def test_an_invocation_ended_twice_writes_one_record(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> str:
        return "ok"

    lifecycle = lifecycle_of(handler)
    inv = lifecycle.begin(({}, LambdaContext()), {})
    assert inv is not None
    try:
        lifecycle.end(inv, "ok", None)
        lifecycle.end(inv, "ok", None)
        lifecycle.end(inv, None, RuntimeError("a second end must not count"))
    finally:
        leave(inv)
    assert [(r["outcome"], r.get("supersedes")) for r in lambdaops_capture.outcomes] == [
        ("success", None)
    ]


def test_finishing_after_the_deadline_leaves_the_invocation_a_timeout(
    lambdaops_capture: Capture,
) -> None:
    """Past Lambda's deadline the late finish writes nothing, and the invocation stays what
    Lambda counted: a timeout, superseding nothing (a thread it left reads that)."""
    seen: list[Any] = []

    class Keep:
        name = "keep"
        start = None

        def finish(self, inv: Any) -> None:
            seen.append(inv)

    @instrument(timeout_margin_ms=300)
    def handler(event: Any, context: Any) -> str:
        time.sleep(0.6)  # the watchdog fires at 0.2 s; Lambda's deadline is 0.5 s
        return "late"

    lifecycle = lifecycle_of(handler)
    lifecycle.plan((Keep(), *lifecycle.signals))
    assert handler({}, LambdaContext(timeout_s=0.5)) == "late"
    (inv,) = seen  # finished once, by the watchdog
    assert (inv.outcome, inv.supersedes) == ("timeout", None)
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["timeout"]


def test_a_signal_that_fails_to_start_is_named_once_and_the_handler_runs(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        name = "broken"
        finish = None

        def start(self, inv: Any) -> None:
            raise RuntimeError("cannot start")

    @instrument
    def handler(event: Any, context: Any) -> str:
        return "ran"

    lifecycle = lifecycle_of(handler)
    lifecycle.plan((Broken(), *lifecycle.signals))
    assert [handler({}, LambdaContext()) for _ in range(2)] == ["ran", "ran"]
    reports = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [(r["where"], r["error"]) for r in reports] == [
        ("broken.start", "RuntimeError: cannot start")
    ]
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success", "success"]


def test_without_a_context_the_function_comes_from_lambdas_environment(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call with no Lambda context (a warm-up at import, a test): the function's name and
    memory are read from the variables Lambda sets."""
    from lambdaops._lifecycle import reset_cold_start

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-fn")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    reset_cold_start()

    @instrument(service="orders")
    def handler(event: Any, context: Any) -> str:
        return "ok"

    assert handler({}, None) == "ok"
    (record,) = lambdaops_capture.outcomes
    assert (record["function_name"], record["memory_limit_mb"], record["request_id"]) == (
        "orders-fn",
        256,
        "",
    )
