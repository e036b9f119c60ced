"""Tests for lambdaops._events: trigger detection, correlation ids, and never raising."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdaops._events import TRIGGERS, EventInfo, _inspect, inspect_event

EVENTS_DIR = Path(__file__).parent / "events"


def load(trigger: str) -> Any:
    """A fresh copy of the sample event for ``trigger`` (tests may mutate it)."""
    return json.loads((EVENTS_DIR / f"{trigger}.json").read_text(encoding="utf-8"))


FIXTURES: dict[str, Any] = {path.stem: load(path.stem) for path in EVENTS_DIR.glob("*.json")}

# trigger -> (correlation_id, attempt, batch_size) expected from tests/events/<trigger>.json
EXPECTED: dict[str, tuple[str | None, int, int | None]] = {
    "api-gateway-rest": ("3f6b1c2e-8d4a-4e7b-9c15-a2d0e6f4b781", 1, None),
    "api-gateway-http": ("ZpR1vgPgiYcEMzw=", 1, None),
    "lambda-url": ("8e2f4a61-0c3b-4d9e-b7a5-6f1d2c8e9a04", 1, None),
    "alb": ("Root=1-66683c55-7f1e2d3c4b5a69788796a5b4", 1, None),
    "sqs": ("4c8d2f9e-1b3a-4e6f-a0d7-95b2c1e8f3a6", 1, 2),
    "sns": ("6a0f2e4c-8b1d-5f3a-9e7c-2d4b6f8a0c1e", 1, None),
    "s3": ("7KD2M9XQ4B1RZ8TE", 1, None),
    "eventbridge": ("d3f1a7c5-9b2e-4c8d-e6f0-a1b3c5d7e9f2", 1, None),
    "dynamodb-stream": ("9f1c2d3e4b5a69788796a5b4c3d2e1f0", 1, 3),
    "kinesis-stream": (
        "shardId-000000000002:49652119480157461852306410000000000000000000000000000001",
        1,
        2,
    ),
    "cloudwatch-logs": (None, 1, None),
    "kafka": (None, 1, 3),
    "direct": ("nightly-reindex-2024-06-11", 1, None),
}

HTTP_TRIGGERS = ("api-gateway-rest", "api-gateway-http", "lambda-url", "alb")


def assert_valid(info: object) -> None:
    """``info`` honours the EventInfo contract, whatever the event was."""
    assert type(info) is EventInfo
    assert info.trigger in TRIGGERS
    cid = info.correlation_id
    assert cid is None or (type(cid) is str and 0 < len(cid) <= 256)
    assert type(info.attempt) is int and info.attempt >= 1
    size = info.batch_size
    assert size is None or (type(size) is int and size >= 0)
    if info.trigger not in ("sqs", "kinesis-stream", "dynamodb-stream", "kafka"):
        assert size is None
    if info.trigger != "sqs":
        assert info.attempt == 1


# --- one sample event per trigger -------------------------------------------------


def test_every_trigger_has_a_fixture() -> None:
    assert set(FIXTURES) == set(TRIGGERS) == set(EXPECTED)


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_fixture(trigger: str) -> None:
    info = inspect_event(load(trigger))
    assert info == EventInfo(trigger, *EXPECTED[trigger])
    assert_valid(info)


# --- correlation ids from headers -------------------------------------------------


@pytest.mark.parametrize("trigger", HTTP_TRIGGERS)
@pytest.mark.parametrize("name", ["x-correlation-id", "X-Correlation-Id", "X-CORRELATION-ID"])
def test_correlation_header_any_case(trigger: str, name: str) -> None:
    event = load(trigger)
    event["headers"][name] = "cid-from-client"
    assert inspect_event(event) == EventInfo(trigger, "cid-from-client", 1, None)


@pytest.mark.parametrize("trigger", ["api-gateway-rest", "alb"])
def test_correlation_header_in_multi_value_headers(trigger: str) -> None:
    event = load(trigger)
    event["multiValueHeaders"] = {"X-Correlation-ID": ["first", "second"]}
    del event["headers"]
    assert inspect_event(event).correlation_id == "first"


def test_alb_trace_header_any_case_and_multi_value() -> None:
    event = load("alb")
    trace = event["headers"].pop("x-amzn-trace-id")
    event["headers"]["X-Amzn-Trace-Id"] = trace
    assert inspect_event(event).correlation_id == trace
    event["multiValueHeaders"] = {k: [v] for k, v in event.pop("headers").items()}
    assert inspect_event(event).correlation_id == trace


@pytest.mark.parametrize("headers", [None, "x-correlation-id: a", [], {}, {"x-correlation-id": {}}])
def test_odd_headers_fall_back_to_request_id(headers: object) -> None:
    event = load("api-gateway-rest")
    event["headers"] = headers
    event["multiValueHeaders"] = headers
    assert inspect_event(event).correlation_id == "3f6b1c2e-8d4a-4e7b-9c15-a2d0e6f4b781"


def test_empty_correlation_header_is_ignored() -> None:
    event = load("api-gateway-http")
    event["headers"]["x-correlation-id"] = ""
    assert inspect_event(event).correlation_id == "ZpR1vgPgiYcEMzw="


# --- correlation id values ----------------------------------------------------------


def test_correlation_id_is_capped() -> None:
    event = load("api-gateway-http")
    event["headers"]["x-correlation-id"] = "x" * 1000
    assert inspect_event(event).correlation_id == "x" * 256


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, "12345"),
        (-7, "-7"),
        pytest.param(10**300, None, id="long-int"),  # longer than any id
        pytest.param(10**5000, None, id="huge-int"),  # str() of it raises ValueError
        (True, None),
        (1.5, None),
        ({"id": "x"}, None),
        (["x"], None),
        ("", None),
    ],
)
def test_direct_correlation_id_values(value: object, expected: str | None) -> None:
    assert inspect_event({"correlation_id": value}) == EventInfo("direct", expected, 1, None)


def test_direct_correlation_id_camel_case() -> None:
    assert inspect_event({"correlationId": "abc"}).correlation_id == "abc"
    assert inspect_event({"correlation_id": None, "correlationId": 9}).correlation_id == "9"


@pytest.mark.parametrize("event", [{}, {"orderId": "o-1"}, None, [], "payload", 42, b"{}"])
def test_direct_without_id(event: object) -> None:
    assert inspect_event(event) == EventInfo("direct", None, 1, None)


# --- SQS ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "attempt"),
    [("3", 3), (4, 4), ("1", 1), ("0", 1), ("-2", 1), ("abc", 1), ("²", 1), (None, 1), (True, 1)],
)
def test_sqs_redelivery_attempt(count: object, attempt: int) -> None:
    event = load("sqs")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = count
    event["Records"][1]["attributes"]["ApproximateReceiveCount"] = "9"  # only the first counts
    assert inspect_event(event).attempt == attempt


@pytest.mark.parametrize("name", ["correlation_id", "correlationId", "x-correlation-id"])
def test_sqs_correlation_attribute(name: str) -> None:
    event = load("sqs")
    event["Records"][0]["messageAttributes"][name] = {
        "stringValue": "cid-from-producer",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert inspect_event(event).correlation_id == "cid-from-producer"


def test_sqs_binary_correlation_attribute_falls_back_to_message_id() -> None:
    event = load("sqs")
    event["Records"][0]["messageAttributes"]["correlationId"] = {
        "binaryValue": "Y2lk",
        "dataType": "Binary",
    }
    assert inspect_event(event).correlation_id == "4c8d2f9e-1b3a-4e6f-a0d7-95b2c1e8f3a6"


# --- other shapes -------------------------------------------------------------------


def test_http_api_payload_v1_is_rest() -> None:
    event = load("api-gateway-rest")
    event["version"] = "1.0"
    assert inspect_event(event).trigger == "api-gateway-rest"


def test_self_managed_kafka() -> None:
    event = load("kafka")
    event["eventSource"] = "SelfManagedKafka"
    event["records"]["order-events-2"] = "not a list"
    assert inspect_event(event) == EventInfo("kafka", None, 1, 3)


def test_records_as_string_is_direct() -> None:
    assert inspect_event({"Records": "aws:sqs"}).trigger == "direct"
    assert inspect_event({"Records": [None, {"eventSource": "aws:sqs"}]}).trigger == "direct"


def test_hostile_mapping_is_direct() -> None:
    class Hostile(dict[str, Any]):
        def get(self, *args: object) -> Any:
            raise RuntimeError("boom")

    assert inspect_event(Hostile(requestContext={})) == EventInfo("direct", None, 1, None)


# --- never raises -----------------------------------------------------------------

# Keys that steer the event into each detection branch, mixed with arbitrary text.
KEYS = st.sampled_from(
    [
        "requestContext",
        "requestId",
        "httpMethod",
        "version",
        "http",
        "domainName",
        "elb",
        "headers",
        "multiValueHeaders",
        "x-correlation-id",
        "X-Correlation-Id",
        "x-amzn-trace-id",
        "Records",
        "eventSource",
        "EventSource",
        "messageId",
        "messageAttributes",
        "stringValue",
        "correlationId",
        "correlation_id",
        "attributes",
        "ApproximateReceiveCount",
        "Sns",
        "MessageId",
        "responseElements",
        "x-amz-request-id",
        "eventID",
        "detail-type",
        "source",
        "detail",
        "id",
        "awslogs",
        "data",
        "records",
    ]
) | st.text(max_size=20)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**4000, max_value=10**4400)
    | st.floats()
    | st.text(max_size=300)
    | st.sampled_from(
        [
            "2.0",
            "1.0",
            "aws:sqs",
            "aws:sns",
            "aws:s3",
            "aws:dynamodb",
            "aws:kinesis",
            "aws:kafka",
            "SelfManagedKafka",
            "x.lambda-url.eu-west-1.on.aws",
            "5",
            "²",
        ]
    )
)
# Values json.loads never makes but a direct caller might pass.
ODD = st.binary(max_size=10) | st.builds(object) | st.frozensets(st.integers(), max_size=3)

JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)
ANYTHING = st.recursive(
    SCALARS | ODD,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(KEYS | st.integers() | st.none(), children, max_size=6)
    ),
    max_leaves=40,
)


@st.composite
def mutated_fixtures(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    """A real sample event with one to three random subtrees replaced by ``values``."""
    event = copy.deepcopy(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        parent: Any = None
        slot: Any = None
        node = event
        # Walk down a random path, stopping at a random depth.
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 4)) > 0:
            slot = draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
            parent, node = node, node[slot]
        if parent is None:
            if isinstance(event, dict) and event and draw(st.booleans()):
                event[draw(st.sampled_from(list(event)))] = draw(values)
            else:
                event = draw(values)
        else:
            parent[slot] = draw(values)
    return event


@settings(max_examples=500)
@given(mutated_fixtures(JSON_LIKE) | JSON_LIKE)
def test_json_shapes_never_raise_even_unguarded(event: Any) -> None:
    """The detection code itself copes with any JSON: the except is not hiding bugs."""
    assert_valid(_inspect(event))


@settings(max_examples=500)
@given(mutated_fixtures(ANYTHING) | ANYTHING)
def test_anything_never_raises(event: Any) -> None:
    assert_valid(inspect_event(event))


@settings(max_examples=200)
@given(st.sampled_from(sorted(FIXTURES)), KEYS, JSON_LIKE)
def test_extra_top_level_keys_keep_a_valid_result(trigger: str, key: str, value: Any) -> None:
    event = copy.deepcopy(FIXTURES[trigger])
    event[key] = value
    assert_valid(inspect_event(event))


def test_a_dict_subclass_request_context_is_still_an_http_event() -> None:
    from collections import OrderedDict

    event = {
        "version": "2.0",
        "requestContext": OrderedDict(http={"method": "GET"}, requestId="rq"),
    }
    info = inspect_event(event)
    assert (info.trigger, info.correlation_id) == ("api-gateway-http", "rq")


# --- exact results for malformed parts of real shapes (mutation testing, docs/mutation.md) ---

SQS_MESSAGE_ID = "4c8d2f9e-1b3a-4e6f-a0d7-95b2c1e8f3a6"


@pytest.mark.parametrize(
    ("count", "attempt"),
    [
        ("2", 2),
        (2, 2),
        ("9" * 18, int("9" * 18)),  # the longest count read
        ("1" + "0" * 18, 1),  # 19 digits: refused
        ("abc", 1),
        ("12a", 1),
        ("٣", 1),  # a digit, but not ASCII
        (None, 1),
        (True, 1),
        (2.0, 1),
    ],
)
def test_sqs_receive_count_gives_the_whole_event_info(count: object, attempt: int) -> None:
    event = load("sqs")
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = count
    assert inspect_event(event) == EventInfo("sqs", SQS_MESSAGE_ID, attempt, 2)


@pytest.mark.parametrize("attributes", [None, "ApproximateReceiveCount=3", ["3"]])
def test_sqs_attributes_that_are_no_dict_mean_a_first_attempt(attributes: object) -> None:
    event = load("sqs")
    event["Records"][0]["attributes"] = attributes
    assert inspect_event(event) == EventInfo("sqs", SQS_MESSAGE_ID, 1, 2)


@pytest.mark.parametrize("attributes", [None, {}, "correlation_id", ["correlation_id"]])
def test_sqs_message_attributes_that_are_no_dict_fall_back_to_the_message_id(
    attributes: object,
) -> None:
    event = load("sqs")
    event["Records"][0]["messageAttributes"] = attributes
    assert _inspect(event) == EventInfo("sqs", SQS_MESSAGE_ID, 1, 2)


@pytest.mark.parametrize("response", [None, "x-amz-request-id", ["7KD2M9XQ4B1RZ8TE"]])
def test_s3_response_elements_that_are_no_dict_give_no_id(response: object) -> None:
    event = load("s3")
    event["Records"][0]["responseElements"] = response
    assert inspect_event(event) == EventInfo("s3", None, 1, None)


@pytest.mark.parametrize("sns", [None, "MessageId", ["6a0f2e4c"]])
def test_an_sns_body_that_is_no_dict_gives_no_id(sns: object) -> None:
    event = load("sns")
    event["Records"][0]["Sns"] = sns
    assert inspect_event(event) == EventInfo("sns", None, 1, None)


@pytest.mark.parametrize(
    "event",
    [
        {"detail": {"a": 1}, "id": "e-1"},  # EventBridge needs detail-type, source and detail
        {"detail-type": "Order Placed", "id": "e-1"},
        {"detail-type": "Order Placed", "detail": {}, "id": "e-1"},
        {"records": {"orders-0": [{"offset": 1}]}},  # Kafka needs its event source too
        {"version": "2.0", "requestContext": {"requestId": "r-1"}},  # 2.0 needs http
        {"httpMethod": "GET", "requestContext": {"path": "/"}},  # REST needs a request id
        {"requestContext": {"requestId": "r-1"}},  # ... and httpMethod or version 1.0
    ],
)
def test_near_misses_are_direct(event: dict[str, Any]) -> None:
    assert inspect_event(event) == EventInfo("direct", None, 1, None)


def test_a_version_1_payload_without_http_method_is_rest() -> None:
    event = {"version": "1.0", "requestContext": {"requestId": "r-1"}}
    assert inspect_event(event) == EventInfo("api-gateway-rest", "r-1", 1, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10**256 - 1, "9" * 256),
        (10**256, None),
        (-(10**256) + 1, "-" + "9" * 255),
        (-(10**256), None),
    ],
)
def test_int_ids_at_the_limit(value: int, expected: str | None) -> None:
    assert inspect_event({"correlation_id": value}) == EventInfo("direct", expected, 1, None)


@pytest.mark.parametrize("trigger", ["api-gateway-rest", "alb"])
def test_an_empty_multi_value_header_is_no_id(trigger: str) -> None:
    event = load(trigger)
    del event["headers"]
    event["multiValueHeaders"] = {"X-Correlation-ID": []}
    expected = EXPECTED[trigger][0] if trigger == "api-gateway-rest" else None
    assert inspect_event(event) == EventInfo(trigger, expected, 1, None)
