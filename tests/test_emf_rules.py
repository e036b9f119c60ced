"""Issue 16, "EMF and X-Ray documents": each finding, and the rule that now holds.

Names are refused at the call or at decoration (``MetricError``/``ConfigError``); values
met at run time are repaired with one warning. The table in docs/metrics.md lists them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdaops import ConfigError, MetricError, instrument, metrics
from lambdaops._emf_limits import check_default_dimensions, check_namespace
from lambdaops.testing import Capture, LambdaContext
from tests.emf_spec import duplicate_keys, emf_docs


def metric_lines(cap: Capture) -> list[str]:
    return [line for line in cap.lines if '"_aws"' in line]


# -- 1. the service dimension ------------------------------------------------------------
@pytest.mark.parametrize("invocations", [1, 2])  # cold (several documents) and warm (one)
def test_a_service_dimension_other_than_the_service_keeps_its_value(
    lambdaops_capture: Capture, invocations: int
) -> None:
    @instrument(service="svc", default_dimensions={"service": "billing"})
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 1)

    for _ in range(invocations):
        lambdaops_capture.clear()
        handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert doc["service"] == "billing"
    assert doc["Orders"] == 1
    assert "lambdaops" not in doc  # its own line: the record's service is "svc"
    (record,) = lambdaops_capture.outcomes
    assert record["service"] == "svc"
    assert "_aws" not in record


def test_the_default_service_dimension_still_rides_in_the_record(
    lambdaops_capture: Capture,
) -> None:
    @instrument(service="svc", default_dimensions={"service": "svc", "stage": "prod"})
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 1)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert (doc["lambdaops"], doc["service"], doc["stage"]) == ("outcome", "svc", "prod")


# -- 2. duplicate member names -----------------------------------------------------------
def test_a_default_dimension_named_like_a_record_field_gets_its_own_document(
    lambdaops_capture: Capture,
) -> None:
    @instrument(service="svc", default_dimensions={"service": "svc", "function_name": "checkout"})
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 2)

    handler({}, LambdaContext(function_name="checkout-prod"))
    assert [duplicate_keys(line) for line in lambdaops_capture.lines] == [[], []]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert (doc["function_name"], doc["Orders"]) == ("checkout", 2)
    (record,) = lambdaops_capture.outcomes
    assert record["function_name"] == "checkout-prod"


@pytest.mark.parametrize("name", ["request_id", "xray_trace_id", "_aws"])
def test_a_default_dimension_named_like_a_documents_own_member_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"default_dimensions: dimension name '{name}'"):
        instrument(default_dimensions={name: "x"})(lambda event, context: None)


def test_a_dimension_and_a_metric_of_one_name_are_refused_either_way(
    lambdaops_capture: Capture,
) -> None:
    errors: list[str] = []

    @instrument(service="svc")
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("tenant", "acme")
        with pytest.raises(MetricError) as first:
            metrics.add("tenant", 1)
        errors.append(str(first.value))
        metrics.add("Orders", 1)
        with pytest.raises(MetricError) as second:
            metrics.dimension("Orders", "x")
        errors.append(str(second.value))

    handler({}, LambdaContext())
    assert errors == [
        "metric 'tenant': this invocation has a dimension of that name",
        "dimension 'Orders': this invocation has a metric of that name",
    ]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert (doc["tenant"], doc["Orders"]) == ("acme", 1)


def test_a_property_and_a_metric_or_dimension_of_one_name_are_refused(
    lambdaops_capture: Capture,
) -> None:
    errors: list[str] = []

    @instrument(service="svc", default_dimensions={"service": "svc", "stage": "prod"})
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 1)
        metrics.property("order_id", "o-1")
        metrics.dimension("tenant", "acme")
        for call in (
            lambda: metrics.property("Orders", "x"),
            lambda: metrics.property("tenant", "x"),
            lambda: metrics.property("stage", "x"),
            lambda: metrics.add("order_id", 1),
            lambda: metrics.dimension("order_id", "x"),
        ):
            with pytest.raises(MetricError) as exc:
                call()
            errors.append(str(exc.value))

    handler({}, LambdaContext())
    assert errors == [
        "property 'Orders': this invocation has a metric of that name",
        "property 'tenant': this invocation has a dimension of that name",
        "property 'stage': a default dimension has that name",
        "metric 'order_id': this invocation has a property of that name",
        "dimension 'order_id': this invocation has a property of that name",
    ]
    (line,) = metric_lines(lambdaops_capture)
    assert duplicate_keys(line) == []
    doc = json.loads(line)
    assert (doc["Orders"], doc["order_id"], doc["tenant"], doc["stage"]) == (
        1,
        "o-1",
        "acme",
        "prod",
    )


def test_a_metric_named_like_a_default_dimension_is_refused(lambdaops_capture: Capture) -> None:
    @instrument(service="svc", default_dimensions={"service": "svc", "stage_of_16": "prod"})
    def handler(event: Any, context: Any) -> None:
        metrics.add("stage_of_16", 1)

    with pytest.raises(
        MetricError, match="metric 'stage_of_16': a default dimension has that name"
    ):
        handler({}, LambdaContext())


# -- 3. accepted but invalid -------------------------------------------------------------
def test_a_dimension_name_over_250_characters_is_refused(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("d" * 251, "x")

    with pytest.raises(MetricError, match=r"dimension name 'ddd.*is longer than 250 characters"):
        handler({}, LambdaContext())


def test_a_dimension_name_of_250_characters_is_kept(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("d" * 250, "x")
        metrics.add("Orders", 1)

    handler({}, LambdaContext())
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert doc["d" * 250] == "x"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # lengths and counts: refused by _parse as the configuration is read
        ({"namespace": "n" * 1100}, "a namespace is at most 255 characters, got 1100"),
        ({"namespace": "AWS/Lambda"}, "the AWS/ namespaces are reserved for AWS services"),
        ({"default_dimensions": {"stage": ""}}, "dimension 'stage' value must be 1-1024"),
        ({"default_dimensions": {"stage": "  "}}, "dimension 'stage' value must be 1-1024"),
        (
            {"default_dimensions": {f"d{i}": "x" for i in range(35)}},
            "35 dimensions; a metric has at most 30",
        ),
        ({"default_dimensions": {"stage": "v" * 1500}}, "dimension 'stage' value must be 1-1024"),
        ({"default_dimensions": {"d" * 253: "x"}}, "dimension name 'ddd.*' must be 1-250"),
        # characters and names: refused by the metrics signal, built at decoration
        ({"namespace": ":ns"}, r"namespace \(by default the service\): ':ns' starts with a colon"),
        ({"namespace": "a\nb"}, r"'a\\nb' holds a control character"),
        ({"service": "s" * 256}, "namespace .*'sss.*is longer than 255 characters"),
        ({"service": "AWS/Lambda"}, "'AWS/Lambda' starts with AWS/"),
        (
            {"default_dimensions": {"Stufe\u00e9": "x"}},
            "default_dimensions: dimension name 'Stufe\u00e9' is not printable ASCII",
        ),
        (
            {"default_dimensions": {"ColdStart": "x"}},
            "default_dimensions: dimension name 'ColdStart' is lambdaops' own metric",
        ),
    ],
)
def test_bad_settings_are_refused_at_decoration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        instrument(**options)(lambda event, context: None)


def test_the_checks_config_can_call_name_the_source() -> None:
    with pytest.raises(ConfigError) as exc:
        check_namespace(":X", "environment variable LAMBDAOPS_NAMESPACE")
    assert str(exc.value) == (
        "environment variable LAMBDAOPS_NAMESPACE: ':X' starts with a colon "
        "(CloudWatch's pattern [^:].*)"
    )
    assert check_namespace("Shop", "x") == "Shop"
    pairs = (("service", "svc"), ("stage", "prod"))
    assert check_default_dimensions(pairs, "x") == pairs


@pytest.mark.parametrize("name", ["ColdStart", "Timeout"])
def test_lambdaops_own_metric_names_are_refused(lambdaops_capture: Capture, name: str) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add(name, 5, unit="Milliseconds")

    with pytest.raises(MetricError, match=f"metric name '{name}' is lambdaops' own metric"):
        handler({}, LambdaContext())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\nb", r"metric name 'a\\nb' holds a control character"),
        ("m" * 256, "metric name 'mmm.*is longer than 255 characters"),
    ],
)
def test_metric_names_cloudwatch_rejects_are_refused(
    lambdaops_capture: Capture, name: str, message: str
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add(name, 1)

    with pytest.raises(MetricError, match=message):
        handler({}, LambdaContext())


def test_a_blank_dimension_value_is_dropped_with_one_warning(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.dimension("tenant", "   ")
        metrics.dimension("tenant", "\t")
        metrics.add("Orders", 1)

    handler({}, LambdaContext())
    assert lambdaops_capture.messages("WARNING") == ["dimension 'tenant': empty value; dropped"]
    (doc,) = emf_docs(lambdaops_capture.lines)
    assert "tenant" not in doc
