from __future__ import annotations

import math
import resource
import sys
from typing import Any

import pytest

from lambdaops import instrument, metrics
from lambdaops._outcome import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST, estimated_cost
from lambdaops.testing import Capture, LambdaContext

KEYS = {
    "outcome", "request_id", "service", "function_name", "cold_start", "duration_ms",
    "billed_duration_ms", "memory_limit_mb", "max_memory_used_mb", "estimated_cost_usd",
    "trigger", "attempt",
}  # fmt: skip


def outcomes(cap: Capture) -> list[dict[str, Any]]:
    return cap.outcomes


def peak_rss_mb() -> int:
    """The process's peak RSS in whole MB, rounded up, as Lambda reports Max Memory Used
    (ru_maxrss is KiB on Linux, bytes on macOS)."""
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return math.ceil(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale)


def test_success_record_fields(lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-abc-def;Parent=1;Sampled=0")

    @instrument(service="shop", architecture="arm64")
    def handler(event: Any, context: Any) -> str:
        return "ok"

    ctx = LambdaContext(function_name="shop-fn", memory_limit_in_mb=512)
    event = {"requestContext": {"requestId": "r-1", "httpMethod": "GET"}, "httpMethod": "GET"}
    before = peak_rss_mb()
    handler(event, ctx)
    after = peak_rss_mb()
    (rec,) = outcomes(lambdaops_capture)
    assert rec.keys() >= KEYS
    assert rec["outcome"] == "success"
    assert rec["request_id"] == ctx.aws_request_id
    assert (rec["service"], rec["function_name"]) == ("shop", "shop-fn")
    assert rec["cold_start"] is True and rec["attempt"] == 1
    assert rec["trigger"] == "api-gateway-rest" and rec["correlation_id"] == "r-1"
    assert rec["xray_trace_id"] == "1-abc-def"
    assert rec["billed_duration_ms"] == max(1, math.ceil(rec["duration_ms"]))
    assert rec["memory_limit_mb"] == 512
    # the peak never falls, so the record's figure lies between readings taken around it
    assert before <= rec["max_memory_used_mb"] <= after
    expected = rec["billed_duration_ms"] / 1000 * 512 / 1024 * PRICE_PER_GB_SECOND["arm64"]
    assert rec["estimated_cost_usd"] == pytest.approx(expected + PRICE_PER_REQUEST, rel=1e-9)
    assert "error_type" not in rec


def test_cost_formula_matches_lambda_pricing() -> None:
    # 1,000 ms at 1,024 MB on x86_64 is one GB-second plus one request
    assert estimated_cost(1000, 1024, "x86_64") == pytest.approx(0.0000166667 + 0.0000002)
    assert estimated_cost(250, 128, "arm64") == pytest.approx(
        0.25 * 0.125 * 0.0000133334 + 0.0000002
    )


def test_error_record_and_exception_passes(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        raise KeyError("missing-thing")

    with pytest.raises(KeyError, match=r"^'missing-thing'$"):
        handler({}, LambdaContext())
    (rec,) = outcomes(lambdaops_capture)
    assert rec["outcome"] == "error"
    assert rec["error_type"] == "KeyError" and "missing-thing" in rec["error_message"]


@pytest.mark.parametrize("exc", [SystemExit(2), KeyboardInterrupt()])
def test_base_exceptions_get_exactly_one_record(
    lambdaops_capture: Capture, exc: BaseException
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        raise exc

    with pytest.raises(type(exc)):
        handler({}, LambdaContext())
    (rec,) = outcomes(lambdaops_capture)
    assert rec["outcome"] == "error" and rec["error_type"] == type(exc).__name__


def test_exactly_one_record_per_invocation(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        if event["n"] % 3 == 0:
            raise ValueError(event["n"])
        return event["n"]

    ctxs = [LambdaContext() for _ in range(9)]
    for n, ctx in enumerate(ctxs):
        try:
            handler({"n": n}, ctx)
        except ValueError:
            pass
    recs = outcomes(lambdaops_capture)
    assert [r["request_id"] for r in recs] == [c.aws_request_id for c in ctxs]
    assert [r["outcome"] for r in recs] == ["error", "success", "success"] * 3


def test_retry_of_the_same_request_id_counts_attempts(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        if event.get("fail"):
            raise RuntimeError("try again")

    ctx = LambdaContext()
    for fail in (True, True, False):
        try:
            handler({"fail": fail}, ctx)
        except RuntimeError:
            pass
    assert [r["attempt"] for r in outcomes(lambdaops_capture)] == [1, 2, 3]
    # reading a record back (OutcomeSignal.record) counts nothing
    signal = handler.lambdaops_lifecycle.signals[-1]
    seen: list[int] = []

    @instrument
    def peek(event: Any, context: Any) -> None:
        from lambdaops._scope import current_invocation

        inv = current_invocation()
        seen.extend(signal.record(inv)["attempt"] for _ in range(3))

    peek.lambdaops_lifecycle.plan(handler.lambdaops_lifecycle.signals)
    peek({}, LambdaContext())
    assert seen == [1, 1, 1]


def test_sqs_batch_items_and_receive_count(lambdaops_capture: Capture) -> None:
    records = [
        {
            "eventSource": "aws:sqs",
            "messageId": f"m{i}",
            "attributes": {"ApproximateReceiveCount": "3"},
        }
        for i in range(5)
    ]

    @instrument
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m4"}]}

    handler({"Records": records}, LambdaContext())
    (rec,) = outcomes(lambdaops_capture)
    assert rec["trigger"] == "sqs" and rec["attempt"] == 3
    assert (rec["items"], rec["items_failed"]) == (5, 2)


def test_outcome_can_be_turned_off_and_metrics_still_flush(lambdaops_capture: Capture) -> None:
    @instrument(outcome=False)
    def handler(event: Any, context: Any) -> None:
        metrics.add("Still", 1)

    handler({}, LambdaContext())
    assert outcomes(lambdaops_capture) == []
    (doc,) = [r for r in lambdaops_capture.records if "_aws" in r]
    assert doc["Still"] == 1


def test_error_message_is_bounded(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        raise ValueError("x" * 100_000)

    with pytest.raises(ValueError, match=r"^x{100000}$"):
        handler({}, LambdaContext())
    (rec,) = outcomes(lambdaops_capture)
    assert len(rec["error_message"]) == 1024 and set(rec["error_message"]) == {"x"}


def test_duration_measures_the_handler(lambdaops_capture: Capture) -> None:
    import time

    @instrument
    def handler(event: Any, context: Any) -> None:
        time.sleep(0.05)

    handler({}, LambdaContext())
    (rec,) = outcomes(lambdaops_capture)
    assert 50 <= rec["duration_ms"] < 500
    assert rec["billed_duration_ms"] == math.ceil(rec["duration_ms"])
