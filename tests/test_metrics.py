from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest

from lambdaops import MetricError, instrument, metrics
from lambdaops._metrics import _short
from lambdaops.testing import Capture, LambdaContext
from tests.emf_spec import datapoints, emf_docs, reference_docs, validate


def outcome_of(cap: Capture) -> dict[str, Any]:
    (rec,) = [r for r in cap.records if r.get("lambdaops") == "outcome"]
    return rec


def test_one_metric_rides_in_the_outcome_record(lambdaops_capture: Capture) -> None:
    @instrument(service="shop", namespace="Shop")
    def handler(event: Any, context: Any) -> None:
        metrics.add("GizmosProcessed", 3)
        metrics.add("Latency", 12.5, unit="Milliseconds", resolution=1)

    handler({}, LambdaContext())
    docs = emf_docs(lambdaops_capture.lines)
    assert len(docs) == 1 and docs[0]["outcome"] == "success"
    points = datapoints(docs)
    dims = (("service", "shop"),)
    assert points[("Shop", dims, "GizmosProcessed", "Count", 60, 3.0)] == 1
    assert points[("Shop", dims, "Latency", "Milliseconds", 1, 12.5)] == 1
    assert points[("Shop", dims, "ColdStart", "Count", 60, 1.0)] == 1


def test_cold_start_metric_once_per_process(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        return None

    for _ in range(4):
        handler({}, LambdaContext())
    names = [name for (_, _, name, *_rest) in datapoints(emf_docs(lambdaops_capture.lines))]
    assert names == ["ColdStart"]
    # warm invocations without metrics write a plain outcome record, no EMF
    assert sum('"_aws"' in line for line in lambdaops_capture.lines) == 1


def test_150_metrics_all_reach_stdout_in_valid_documents(lambdaops_capture: Capture) -> None:
    @instrument(namespace="Many")
    def handler(event: Any, context: Any) -> None:
        for i in range(150):
            metrics.add(f"metric_{i}", i, unit="Count")

    handler({}, LambdaContext())
    docs = emf_docs(lambdaops_capture.lines)
    assert len(docs) == 2
    assert all(len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) <= 100 for d in docs)
    names = {name for (_, _, name, *_rest) in datapoints(docs)}
    assert names == {f"metric_{i}" for i in range(150)} | {"ColdStart"}
    # the overflow document carries the request id as a property
    assert docs[0]["request_id"] == outcome_of(lambdaops_capture)["request_id"]


def test_more_than_100_values_are_split(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        for i in range(250):
            metrics.add("Latency", float(i), unit="Milliseconds")

    handler({}, LambdaContext())
    docs = emf_docs(lambdaops_capture.lines)
    assert len(docs) == 3
    values = sorted(
        v
        for (_, _, name, _, _, v), n in datapoints(docs).items()
        for _ in range(n)
        if name == "Latency"
    )
    assert values == [float(i) for i in range(250)]


def test_matches_aws_embedded_metrics_reference(lambdaops_capture: Capture) -> None:
    specs = [
        ("Orders", 3, "Count", 60),
        ("Orders", 4, "Count", 60),
        ("Bytes", 1024.5, "Bytes", 60),
        ("Fast", 0.25, "Milliseconds", 1),
        *[(f"m{i}", i, "None", 60) for i in range(120)],
    ]

    @instrument(service="ref", namespace="RefNS")
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("stage", "prod")
        for name, value, unit, res in specs:
            metrics.add(name, value, unit=unit, resolution=res)

    ctx = LambdaContext()
    handler({}, ctx)
    ours = emf_docs(lambdaops_capture.lines)
    reference = reference_docs(
        "RefNS", {"service": "ref", "stage": "prod"}, [*specs, ("ColdStart", 1, "Count", 60)]
    )
    for doc in reference:
        assert validate(doc) == []
    assert datapoints(ours) == datapoints(reference)


def test_dimensions_and_properties(lambdaops_capture: Capture) -> None:
    @instrument(service="svc", default_dimensions={"service": "svc", "region": "eu"})
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("tenant", "acme")
        metrics.property("order", {"id": 7})
        metrics.add("Orders", 1)

    ctx = LambdaContext()
    handler({}, ctx)
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "region", "tenant"]]
    assert (doc["service"], doc["region"], doc["tenant"]) == ("svc", "eu", "acme")
    assert doc["order"] == {"id": 7}
    assert doc["request_id"] == ctx.aws_request_id


def test_flush_on_demand(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Early", 1)
        metrics.flush()
        assert len(emf_docs(lambdaops_capture.lines)) == 1
        metrics.add("Late", 2)

    handler({}, LambdaContext())
    docs = emf_docs(lambdaops_capture.lines)
    assert [
        sorted(m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs
    ] == [["Early"], ["ColdStart", "Late"]]


def test_metrics_flushed_when_the_handler_raises(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("BeforeFailure", 5)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match=r"^boom$"):
        handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert doc["outcome"] == "error" and doc["BeforeFailure"] == 5


@pytest.mark.parametrize(
    ("call", "culprit"),
    [
        (lambda: metrics.add("X", 1, unit="Furlongs"), "unknown unit 'Furlongs'"),
        (lambda: metrics.add("", 1), "non-empty"),
        (lambda: metrics.add("X", 1, resolution=30), "resolution must be 1 or 60"),
        (lambda: metrics.add("duration_ms", 1), "reserved"),
        (lambda: metrics.dimension("", "v"), "non-empty"),
        (lambda: metrics.property("outcome", "x"), "reserved"),
    ],
)
def test_bad_input_raises_a_clear_error(call: Any, culprit: str) -> None:
    with pytest.raises(MetricError, match=culprit) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_unit_change_within_a_flush_is_refused(lambdaops_capture: Capture) -> None:
    metrics.add("Size", 1, unit="Bytes")
    with pytest.raises(MetricError, match="cannot change"):
        metrics.add("Size", 1, unit="Kilobytes")
    metrics.flush()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "12", None, True])
def test_non_finite_or_non_numeric_values_are_dropped_with_one_warning(
    lambdaops_capture: Capture, bad: Any
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Odd", bad)
        metrics.add("Odd", bad)
        metrics.add("Good", 1)

    handler({}, LambdaContext())
    warnings = lambdaops_capture.messages("WARNING")
    assert len(warnings) == 1 and "Odd" in warnings[0]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert "Odd" not in doc and doc["Good"] == 1


def test_long_dimension_values_and_too_many_dimensions(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("long", "v" * 2000)
        for i in range(40):
            metrics.dimension(f"d{i}", "x")
        metrics.add("M", 1)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    dims = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
    assert len(dims) == 30 and len(doc["long"]) == 1024
    # service + long + d0..d27 make 30; d28..d39 are dropped
    assert len(lambdaops_capture.messages("WARNING")) == 1 + 12


def test_threads_adding_metrics_keep_exact_totals(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        def work() -> None:
            for _ in range(500):
                metrics.add("Items", 1)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    handler({}, LambdaContext())
    points = datapoints(emf_docs(lambdaops_capture.lines))
    assert sum(n for key, n in points.items() if key[2] == "Items") == 4000


def test_metrics_outside_a_handler_ride_with_the_next_invocation(
    lambdaops_capture: Capture,
) -> None:
    metrics.add("AtImport", 1)

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("InHandler", 2)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert doc["AtImport"] == 1 and doc["InHandler"] == 2


@pytest.mark.parametrize("value", [3, 3.5, -0.25, 10**18])
@pytest.mark.parametrize("for_outcome", [False, True])
def test_a_lone_metric_written_alone_matches_the_general_document(
    value: float, for_outcome: bool
) -> None:
    """One metric with one value takes a cached path: the writer's document, to the byte."""
    import re

    from lambdaops import _emf, _scope
    from lambdaops._config import resolve

    config = resolve(service="svc", namespace="NS", default_dimensions={"service": "svc", "t": "a"})
    metric = _emf.Metric("Count", 60)
    metric.values.append(value)
    inv = _scope.Invocation(config, {}, None, None, "rid", "fn", 128, False)
    inv.xray_trace_id = "1-abc-def"
    inv.metrics = _emf.MetricSet()
    inv.metrics.metrics["Gizmos"] = metric
    fast = _emf.single(config, "Gizmos", metric, None if for_outcome else inv)
    (general,) = _emf.take_documents(inv, for_outcome=for_outcome)
    stamp = re.compile(r'"Timestamp":\d+')
    assert stamp.sub("T", fast) == stamp.sub("T", general)
    directive = (
        '"CloudWatchMetrics":[{"Namespace":"NS","Dimensions":[["service","t"]],'
        '"Metrics":[{"Name":"Gizmos","Unit":"Count"}]}]}'
    )
    ids = "" if for_outcome else '"service":"svc","request_id":"rid","xray_trace_id":"1-abc-def",'
    ids = ids.replace('"request_id"', '"t":"a","request_id"') if ids else '"t":"a",'
    assert stamp.sub("T", fast) == f'"_aws":{{T,{directive},{ids}"Gizmos":{value!r}'
    assert json.loads("{" + fast + "}")["Gizmos"] == value


def _warnings(cap: Capture) -> list[tuple[str, Any]]:
    return [(r["message"], r.get("metric")) for r in cap.records if r.get("level") == "WARNING"]


def test_each_dropped_value_is_one_warning_per_metric_naming_it(
    lambdaops_capture: Capture,
) -> None:
    """The exact warnings: one per metric name (two bad metrics, two lines), the metric in
    its own field, a long bad value cut to 80 characters of its repr."""
    long_text = "x" * 100

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Ratio", float("nan"))
        metrics.add("Ratio", float("inf"))  # the same metric: no second line
        metrics.add("Label", long_text)
        metrics.add("Flag", True)
        metrics.add("Exact", "y" * 78)  # its repr is 80 characters: not cut
        metrics.add("Over", "z" * 79)  # 81: cut
        metrics.dimension("blank", "  ")
        metrics.dimension("wide", "w" * 1025)
        metrics.dimension("fits", "f" * 1024)
        metrics.add("Good", 2)

    handler({}, LambdaContext())
    assert _warnings(lambdaops_capture) == [
        ("metric 'Ratio': value nan is not finite; dropped", "Ratio"),
        (f"metric 'Label': value {repr(long_text)[:80]}… is not a number; dropped", "Label"),
        ("metric 'Flag': value True is not a number; dropped", "Flag"),
        (f"metric 'Exact': value {'y' * 78!r} is not a number; dropped", "Exact"),
        (f"metric 'Over': value {repr('z' * 79)[:80]}… is not a number; dropped", "Over"),
        ("dimension 'blank': empty value; dropped", "blank"),
        ("dimension 'wide': value longer than 1024 characters; shortened", "wide"),
    ]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert (doc["Good"], doc["wide"], doc["fits"]) == (2, "w" * 1024, "f" * 1024)


def test_the_dimension_past_the_limit_is_named_in_its_warning(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        for i in range(30):
            metrics.dimension(f"d{i}", "x")
        metrics.add("M", 1)

    handler({}, LambdaContext())
    # service + d0..d28 make 30: d29 is the one dropped
    assert _warnings(lambdaops_capture) == [
        ("dimension 'd29': a dimension set holds at most 30 dimensions; dropped", "d29")
    ]


@pytest.mark.parametrize("resolution", [1, 60])
def test_both_resolutions_are_taken(lambdaops_capture: Capture, resolution: int) -> None:
    name = f"Fast{uuid.uuid4().hex[:8]}"  # a name never checked before: not in the cache

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add(name, 1, resolution=resolution)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    (metric,) = [m for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] if m["Name"] == name]
    expected = {"Name": name, "Unit": "Count"}
    if resolution == 1:
        expected["StorageResolution"] = 1
    assert metric == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.property("", "v"),
            "property name must be a non-empty string, got ''",
        ),
        (
            lambda: metrics.property("p" * 256, "v"),
            f"property name '{'p' * 40}'… is longer than 255 characters",
        ),
        (
            lambda: metrics.add("m" * 256, 1),
            f"metric name '{'m' * 40}'… is longer than 255 characters",
        ),
    ],
)
def test_names_are_refused_with_their_kind(call: Any, message: str) -> None:
    with pytest.raises(MetricError) as info:
        call()
    assert str(info.value) == message


def test_a_lone_metric_with_a_property_is_written_whole(lambdaops_capture: Capture) -> None:
    """Warm invocations with one metric take a shortcut: not when a property, a dimension or
    a second metric rides along (each would be lost)."""

    @instrument(outcome=False)
    def handler(event: Any, context: Any) -> None:
        if event.get("property"):
            metrics.property("tenant", "acme")
        if event.get("dimension"):
            metrics.dimension("stage", "prod")
        metrics.add("Orders", 3)
        if event.get("second"):
            metrics.add("Items", 5)

    events = [{}, {}, {"property": 1}, {"dimension": 1}, {"second": 1}]  # the first is cold
    for event in events:
        handler(event, LambdaContext())
    docs = emf_docs(lambdaops_capture.lines)
    assert [
        {k: doc.get(k) for k in ("Orders", "Items", "tenant", "stage", "ColdStart")} for doc in docs
    ] == [
        {"Orders": 3, "Items": None, "tenant": None, "stage": None, "ColdStart": 1},
        {"Orders": 3, "Items": None, "tenant": None, "stage": None, "ColdStart": None},
        {"Orders": 3, "Items": None, "tenant": "acme", "stage": None, "ColdStart": None},
        {"Orders": 3, "Items": None, "tenant": None, "stage": "prod", "ColdStart": None},
        {"Orders": 3, "Items": 5, "tenant": None, "stage": None, "ColdStart": None},
    ]
    for doc in docs:
        validate(doc)


def test_int_and_float_subclasses_and_decimals_are_numbers(lambdaops_capture: Capture) -> None:
    """An IntEnum, a float subclass, a Decimal (what boto3 reads from DynamoDB) or a
    Fraction is a number, written as plain JSON (an IntEnum's repr is not); bool and
    complex are not."""
    import decimal
    import enum
    import fractions

    class Priority(enum.IntEnum):
        HIGH = 3

    class Money(float):
        pass

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Priority", Priority.HIGH)
        metrics.add("Amount", Money(2.5))
        metrics.add("Total", decimal.Decimal("19.99"))
        metrics.add("Share", fractions.Fraction(1, 4))
        metrics.add("Complex", 1j)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert [doc[k] for k in ("Priority", "Amount", "Total", "Share")] == [3, 2.5, 19.99, 0.25]
    assert _warnings(lambdaops_capture) == [
        ("metric 'Complex': value 1j is not a number; dropped", "Complex")
    ]


def test_values_outside_cloudwatchs_range_are_dropped_and_the_rest_written(
    lambdaops_capture: Capture,
) -> None:
    """PutMetricData takes -2^360..2^360. An int of 5,000 digits used to fail the whole
    document (Python will not print it) and lose every metric of the invocation."""

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Huge", 10**5000)
        metrics.add("Big", 1e200)
        metrics.add("Edge", 2**360)  # the bound itself is taken
        metrics.add("Orders", 3)

    handler({}, LambdaContext())
    assert _warnings(lambdaops_capture) == [
        (
            f"metric 'Huge': value {_short(10**5000)} is outside CloudWatch's range"
            " (±2^360); dropped",
            "Huge",
        ),
        ("metric 'Big': value 1e+200 is outside CloudWatch's range (±2^360); dropped", "Big"),
    ]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert (doc["Orders"], doc["Edge"], "Huge" in doc, "Big" in doc) == (3, 2**360, False, False)


@pytest.mark.parametrize("name", ["cpu_ms", "cost_basis", "trace_id", "span_id"])
def test_names_the_outcome_record_uses_are_reserved(name: str) -> None:
    """A metric named like a field of the outcome record would be written twice in the
    record that carries the invocation's last document (tests/test_schemas.py found cpu_ms)."""
    with pytest.raises(MetricError) as info:
        metrics.add(name, 1)
    assert str(info.value) == f"metric name {name!r} is reserved for the outcome record"
