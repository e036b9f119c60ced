from __future__ import annotations

import math
import resource
import sys
from typing import Any

import pytest

from lambdaops import instrument, metrics
from lambdaops._config import resolve
from lambdaops._outcome import (
    PRICE_PER_GB_SECOND,
    PRICE_PER_REQUEST,
    OutcomeSignal,
    estimated_cost,
)
from lambdaops._scope import Invocation
from lambdaops.testing import Capture, LambdaContext

KEYS = {
    "outcome", "request_id", "service", "function_name", "cold_start", "duration_ms",
    "billed_duration_ms", "memory_limit_mb", "max_memory_used_mb", "cpu_ms",
    "estimated_cost_usd", "trigger", "attempt",
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


# -- the record's text, member by member (mutation testing, docs/mutation.md) -------------

HEAD = '"service":"shop","function_name":"shop-fn","cold_start":false,"request_id":"r-1"'


def signal_and_invocation(
    memory_mb: int = 1024, trigger: str = "direct", batch_size: int | None = None
) -> tuple[OutcomeSignal, Invocation]:
    """An outcome signal (its peak-RSS reader a stand-in saying 77 MB) and an invocation
    that ran from 0 to 1,234,567,891 ns."""
    config = resolve(service="shop", architecture="x86_64", environ={})
    signal = OutcomeSignal(config)
    signal._max_rss_mb = lambda: 77
    inv = Invocation(
        config, {}, None, None, "r-1", "shop-fn", memory_mb, False, (trigger, None, 1, batch_size)
    )
    inv.outcome = "success"
    inv.started_ns, inv.ended_ns = 0, 1_234_567_891
    return signal, inv


def test_the_record_is_exactly_these_members(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdaops import _outcome

    signal, inv = signal_and_invocation()
    signal._cpu_mark = 1_000_000  # where the last invocation ended, in process CPU ns
    monkeypatch.setattr(_outcome.time, "process_time_ns", lambda: 13_345_678)
    # 1,235 ms billed at 1 GB on x86_64: 1.235 GB-s * 0.0000166667 + 0.0000002, to 12 places
    assert signal.text(inv) == (
        f'{{"lambdaops":"outcome","outcome":"success",{HEAD},"duration_ms":1234.567'
        ',"billed_duration_ms":1235,"memory_limit_mb":1024,"max_memory_used_mb":77'
        ',"cpu_ms":12.345,"estimated_cost_usd":2.0783375e-05,"trigger":"direct","attempt":1}\n'
    )
    assert signal._cpu_mark == 13_345_678  # the next invocation counts from here


def test_cpu_ms_is_the_cpu_the_invocation_used(lambdaops_capture: Capture) -> None:
    """Issue 18: so production records show whether a function is CPU-bound."""
    import time

    spent: list[int] = []

    @instrument
    def handler(event: Any, context: Any) -> None:
        start = time.process_time_ns()
        total = 0
        for i in range(event["n"]):
            total += i * i
        spent.append(time.process_time_ns() - start)

    handler({"n": 10}, LambdaContext())  # cold
    after_cold = time.process_time_ns()  # its record set the mark just before this
    handler({"n": 400_000}, LambdaContext())
    after_busy = time.process_time_ns()
    handler({"n": 10}, LambdaContext())  # under a millisecond: its wall time
    records = outcomes(lambdaops_capture)
    busy, idle = records[1]["cpu_ms"], records[2]["cpu_ms"]
    # at least the loop's CPU; at most the CPU since the cold record (0.5 ms for the return)
    assert spent[1] / 1e6 <= busy + 0.001
    assert busy <= (after_busy - after_cold) / 1e6 + 0.5
    assert idle <= records[2]["duration_ms"] + 0.5 and idle < busy / 10


def test_managed_instances_state_the_request_charge_only(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda Managed Instances bill the EC2 instance and a management fee, not GB-seconds."""
    monkeypatch.setenv("AWS_LAMBDA_MAX_CONCURRENCY", "16")

    @instrument
    def handler(event: Any, context: Any) -> None:
        return None

    handler({}, LambdaContext())
    (record,) = outcomes(lambdaops_capture)
    assert (record["estimated_cost_usd"], record["cost_basis"]) == (
        2e-07,
        "requests only: Managed Instances bill the instance",
    )


@pytest.mark.parametrize(
    ("elapsed_ns", "duration", "billed"),
    [
        (0, "0.000", 1),
        (999_999, "0.999", 1),
        (1_000_000, "1.000", 1),
        (1_000_001_000, "1000.001", 1001),
    ],
)
def test_duration_and_billed_milliseconds(elapsed_ns: int, duration: str, billed: int) -> None:
    signal, inv = signal_and_invocation()
    inv.started_ns, inv.ended_ns = 10**12, 10**12 + elapsed_ns
    record = signal.text(inv)
    assert f'"duration_ms":{duration},"billed_duration_ms":{billed},' in record


def test_the_first_record_prices_any_memory_size() -> None:
    signal, inv = signal_and_invocation(memory_mb=1)
    cost = signal.record(inv)["estimated_cost_usd"]
    assert cost == round(1235 * 1 / 1024 / 1000 * 0.0000166667 + 0.0000002, 12)
    assert cost == 2.20101e-07


def test_peak_rss_is_read_again_only_after_50_ms() -> None:
    signal, inv = signal_and_invocation()
    readings = iter([100, 200, 300])
    signal._max_rss_mb = lambda: next(readings)
    seen = []
    for ended_ns in (10**12, 10**12 + 50_000_000, 10**12 + 50_000_001, 10**12 + 100_000_002):
        inv.ended_ns = ended_ns
        seen.append(signal.record(inv)["max_memory_used_mb"])
    assert seen == [100, 100, 200, 300]


@pytest.mark.parametrize(("batch_size", "items"), [(None, 2), (5, 5)])
def test_batch_items_default_to_the_failures_listed(batch_size: int | None, items: int) -> None:
    signal, inv = signal_and_invocation(batch_size=batch_size)
    inv.result = {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}
    record = signal.record(inv)
    assert (record["items"], record["items_failed"]) == (items, 2)


def test_the_emf_document_is_merged_into_one_record_only() -> None:
    signal, inv = signal_and_invocation()
    inv.emf = '"_aws":{"Timestamp":1},"Orders":2'
    first = signal.text(inv)
    assert first.endswith(',"attempt":1,"_aws":{"Timestamp":1},"Orders":2}\n')
    assert inv.emf is None
    assert signal.text(inv).endswith(',"attempt":1}\n')  # a second text of it: no document


def test_the_peak_rss_reader_rounds_up_to_whole_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdaops import _outcome

    class Usage:
        ru_maxrss = 0

    monkeypatch.setattr(resource, "getrusage", lambda who: Usage)
    for platform, unit in (("linux", 1024), ("darwin", 1024 * 1024)):  # KiB, bytes
        monkeypatch.setattr(sys, "platform", platform)
        read = _outcome._max_rss_reader()
        seen = []
        for Usage.ru_maxrss in (300 * unit, 300 * unit + 1, 301 * unit):
            seen.append(read())
        assert seen == [300, 301, 301], platform


def test_requests_through_sources_that_never_retry_by_id_stay_first_attempts(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> dict[str, int]:
        return {"statusCode": 201}

    ctx = LambdaContext()
    event = {"requestContext": {"requestId": "r-1", "httpMethod": "GET"}, "httpMethod": "GET"}
    handler(event, ctx)
    handler(event, ctx)
    records = outcomes(lambdaops_capture)
    assert [(r["attempt"], r["status_code"]) for r in records] == [(1, 201), (1, 201)]


def test_the_oldest_of_more_than_1000_request_ids_is_forgotten() -> None:
    signal, inv = signal_and_invocation()

    def attempt(request_id: str) -> int:
        inv.request_id, inv.attempt = request_id, 1
        signal._attempt(inv)
        return inv.attempt

    assert [attempt(f"r{i}") for i in range(1000)] == [1] * 1000
    assert attempt("r0") == 2  # 1,000 remembered: r0 among them
    assert attempt("r1000") == 1  # the 1,001st: the first seen, r0, is forgotten
    assert attempt("r2") == 2
    assert attempt("r0") == 1  # forgotten; remembered again, in place of r1
    assert (attempt("r1"), attempt("r1000")) == (1, 2)


# -- batch accounting by source (issue 16): what Lambda will deliver again -------------


def batch_invocation(trigger: str, event: Any, batch_size: int | None) -> Invocation:
    _, inv = signal_and_invocation(trigger=trigger, batch_size=batch_size)
    inv.event = event
    return inv


def items_of(inv: Invocation, result: Any) -> tuple[int, int] | None:
    signal, _ = signal_and_invocation()
    inv.result = result
    record = signal.record(inv)
    return (record["items"], record["items_failed"]) if "items" in record else None


SQS = {"Records": [{"eventSource": "aws:sqs", "messageId": f"m{i}"} for i in range(5)]}
KINESIS = {
    "Records": [
        {"eventSource": "aws:kinesis", "kinesis": {"sequenceNumber": f"49{i}"}} for i in range(5)
    ]
}
DYNAMODB = {
    "Records": [
        {"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": f"{i}00"}} for i in range(5)
    ]
}


def failures(*ids: object) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


@pytest.mark.parametrize(
    ("result", "counts"),
    [
        (failures("m1", "m4"), (5, 2)),
        (failures("m1", "m1"), (5, 1)),  # the same message twice is one message
        (failures(), (5, 0)),
        ({"batchItemFailures": None}, None),  # not a list: nothing said per item
        (failures("m9"), (5, 5)),  # not in the batch: Lambda fails the whole batch
        (failures("m1", ""), (5, 5)),  # an empty identifier: the same
        (failures(None), (5, 5)),
        ({"batchItemFailures": [{"id": "m1"}]}, (5, 5)),  # no itemIdentifier key
        ({"batchItemFailures": ["m1"]}, (5, 5)),
        (None, None),  # no per-item report
        ({"records": []}, None),
    ],
)
def test_sqs_batch_item_failures(result: Any, counts: tuple[int, int] | None) -> None:
    assert items_of(batch_invocation("sqs", SQS, 5), result) == counts


@pytest.mark.parametrize(
    ("trigger", "event", "ids", "failed"),
    [
        ("kinesis-stream", KINESIS, ("492",), 3),  # retried from 492 on: 492, 493, 494
        ("kinesis-stream", KINESIS, ("494", "491"), 4),  # the lowest sequence number counts
        ("kinesis-stream", KINESIS, ("490",), 5),
        ("kinesis-stream", KINESIS, ("499",), 5),  # unknown: the whole batch
        ("dynamodb-stream", DYNAMODB, ("300",), 2),
        ("dynamodb-stream", DYNAMODB, ("400", "300"), 2),
    ],
)
def test_stream_failures_count_from_the_checkpoint_on(
    trigger: str, event: Any, ids: tuple[str, ...], failed: int
) -> None:
    assert items_of(batch_invocation(trigger, event, 5), failures(*ids)) == (5, failed)


def test_batch_item_failures_of_a_source_without_item_ids_count_as_listed() -> None:
    inv = batch_invocation("kafka", {"records": {}}, 4)
    assert items_of(inv, failures("a", "b")) == (4, 2)
    assert items_of(inv, failures(*"abcdef")) == (4, 4)  # never more than the batch


@pytest.mark.parametrize(
    ("records", "counts"),
    [
        ([{"recordId": "1", "result": "Ok"}, {"recordId": "2", "result": "Ok"}], (3, 1)),
        ([{"result": "Ok"}, {"result": "Dropped"}, {"result": "Ok"}], (3, 0)),
        ([{"result": "Ok"}, {"result": "ProcessingFailed"}, {"result": "Ok"}], (3, 1)),
        ([{"result": "ok"}, {"result": None}, "Ok"], (3, 3)),  # not a status Firehose knows
        ("Ok", None),
    ],
)
def test_firehose_records_results(records: Any, counts: tuple[int, int] | None) -> None:
    inv = batch_invocation("firehose", {"records": [{}, {}, {}]}, 3)
    assert items_of(inv, {"records": records}) == counts


@pytest.mark.parametrize(
    ("codes", "counts"),
    [
        (["Succeeded", "Succeeded"], (2, 0)),
        (["Succeeded", "TemporaryFailure"], (2, 1)),
        (["PermanentFailure", "TemporaryFailure"], (2, 2)),
    ],
)
def test_s3_batch_result_codes(codes: list[str], counts: tuple[int, int]) -> None:
    inv = batch_invocation("s3-batch", {"tasks": [{}, {}]}, 2)
    results = [{"taskId": str(i), "resultCode": code} for i, code in enumerate(codes)]
    assert items_of(inv, {"invocationSchemaVersion": "1.0", "results": results}) == counts
    assert items_of(inv, {"results": "Succeeded"}) is None


def test_a_firehose_shaped_answer_from_another_source_is_no_batch_report() -> None:
    inv = batch_invocation("mq", {}, 2)
    assert items_of(inv, {"records": [{"result": "Ok"}], "results": []}) is None


def test_an_invocation_under_a_millisecond_does_not_read_the_cpu_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CPU clock is a syscall (~1 µs): a sub-millisecond invocation reports its duration
    as its CPU, and the next reading leaves that amount out."""
    from lambdaops import _outcome

    signal, inv = signal_and_invocation()
    inv.started_ns, inv.ended_ns = 0, 456_789  # 0.456 ms
    signal._cpu_mark = 5_000_000

    def unread() -> int:
        raise AssertionError("the CPU clock was read")

    monkeypatch.setattr(_outcome.time, "process_time_ns", unread)
    record = signal.record(inv)
    assert (record["duration_ms"], record["cpu_ms"]) == (0.456, 0.456)
    assert signal._cpu_mark == 5_000_000 + 456_000
    monkeypatch.setattr(_outcome.time, "process_time_ns", lambda: 9_000_000)
    inv.started_ns, inv.ended_ns = 0, 2_000_000  # 2 ms: read, from the advanced mark
    assert signal.record(inv)["cpu_ms"] == 3.544
