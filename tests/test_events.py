"""Tests for lambdaops._events: trigger detection, correlation ids, and never raising."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdaops import instrument
from lambdaops._event_info import BATCH_TRIGGERS, REDELIVERY_TRIGGERS, RETRY
from lambdaops._events import TRIGGERS, EventInfo, _inspect, inspect_event
from lambdaops._outcome import _NEVER_RETRIED_BY_ID
from lambdaops.testing import LambdaContext, capture

EVENTS_DIR = Path(__file__).parent / "events"


def load(name: str) -> Any:
    """A fresh copy of the sample event tests/events/<name>.json (tests may mutate it)."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


FIXTURES: dict[str, Any] = {path.stem: load(path.stem) for path in EVENTS_DIR.glob("*.json")}

# fixture -> (trigger, correlation_id, attempt, batch_size) expected from
# tests/events/<fixture>.json (tests/events/SOURCES.md says where each sample comes from).
EXPECTED: dict[str, tuple[str, str | None, int, int | None]] = {
    "api-gateway-rest": ("api-gateway-rest", "3f6b1c2e-8d4a-4e7b-9c15-a2d0e6f4b781", 1, None),
    "api-gateway-http": ("api-gateway-http", "ZpR1vgPgiYcEMzw=", 1, None),
    "lambda-url": ("lambda-url", "8e2f4a61-0c3b-4d9e-b7a5-6f1d2c8e9a04", 1, None),
    "alb": ("alb", "Root=1-66683c55-7f1e2d3c4b5a69788796a5b4", 1, None),
    "sqs": ("sqs", "4c8d2f9e-1b3a-4e6f-a0d7-95b2c1e8f3a6", 1, 2),
    "sns": ("sns", "6a0f2e4c-8b1d-5f3a-9e7c-2d4b6f8a0c1e", 1, None),
    "s3": ("s3", "7KD2M9XQ4B1RZ8TE", 1, None),
    "eventbridge": ("eventbridge", "d3f1a7c5-9b2e-4c8d-e6f0-a1b3c5d7e9f2", 1, None),
    "dynamodb-stream": ("dynamodb-stream", "9f1c2d3e4b5a69788796a5b4c3d2e1f0", 1, 3),
    "kinesis-stream": (
        "kinesis-stream",
        "shardId-000000000002:49652119480157461852306410000000000000000000000000000001",
        1,
        2,
    ),
    "cloudwatch-logs": ("cloudwatch-logs", None, 1, None),
    "kafka": ("kafka", None, 1, 3),
    "direct": ("direct", "nightly-reindex-2024-06-11", 1, None),
    # -- issue 16: the wrong case, WebSocket APIs and authorizers
    "lambda-destination": ("lambda-destination", "e4b46cbf-b738-xmpl-8880-a18cdf61200e", 1, None),
    "lambda-destination-stream-failure": (
        "lambda-destination",
        "c9b8fa9f-5a7f-xmpl-af9c-0c604cde93a5",
        1,
        None,
    ),
    "api-gateway-websocket-connect": ("api-gateway-websocket", "ABCD1234=", 1, None),
    "api-gateway-websocket-disconnect": ("api-gateway-websocket", "ABCD5678=", 1, None),
    "api-gateway-websocket-message": ("api-gateway-websocket", "ABCD9012=", 1, None),
    "api-gateway-authorizer-websocket": ("api-gateway-authorizer", "ABCD1234=", 1, None),
    "api-gateway-authorizer-token": ("api-gateway-authorizer", None, 1, None),
    "api-gateway-authorizer-request": ("api-gateway-authorizer", "...", 1, None),
    "api-gateway-authorizer-http": ("api-gateway-authorizer", "id", 1, None),
    # -- issue 16: the sources that were direct
    "appsync": ("appsync", "Root=1-5f512f51-fac632066c5e848ae714", 1, None),
    "appsync-batch": ("appsync", "Root=1-6633d1ea-0ff5a8d63c6b4c9b5e4ab1c2", 1, 3),
    "appsync-authorizer": ("appsync-authorizer", "f4081827-1111-4444-5555-5cf4695f339f", 1, None),
    "appsync-events": ("appsync-events", "Root=1-67b6b0f4-2f0b9c3e4d5a6b7c8d9e0f1a", 1, 3),
    **{
        f"cognito-{name}": ("cognito", None, 1, None)
        for name in (
            "pre-signup",
            "post-confirmation",
            "pre-authentication",
            "post-authentication",
            "pre-token-generation",
            "pre-token-generation-v2",
            "migrate-user",
            "custom-message",
            "define-auth-challenge",
            "create-auth-challenge",
            "verify-auth-challenge",
            "custom-email-sender",
            "custom-sms-sender",
        )
    },
    "firehose": ("firehose", "invocationIdExample", 1, 2),
    "mq-activemq": ("mq", "myJMSCoID", 1, 2),
    "mq-rabbitmq": ("mq", None, 1, 1),
    "cloudformation": ("cloudformation", "5d478078-13e9-baf0-464a-7ef285ecc786", 1, None),
    "codepipeline": ("codepipeline", "c0d76431-b0e7-xmpl-97e3-e8ee786eb6f6", 1, None),
    "codedeploy": ("codedeploy", "d-ABCDEF1GH", 1, None),
    "codecommit": ("codecommit", "31ade2c7-f889-47c5-a937-1cf99e2790e9", 1, None),
    "ses": ("ses", "o3vrnil0e2ic28tr", 1, None),
    "s3-batch": ("s3-batch", "f3cc4f60-61f6-4a2b-8a21-d07600c373ce", 1, 1),
    "s3-batch-v2": ("s3-batch", "f3cc4f60-61f6-4a2b-8a21-d07600c373ce", 1, 1),
    "s3-object-lambda": ("s3-object-lambda", "1a5ed718-5f53-471d-b6fe-5cf62d88d02a", 1, None),
    "vpc-lattice": ("vpc-lattice", None, 1, None),
    "vpc-lattice-v2": ("vpc-lattice", None, 1, None),
    "bedrock-agent": ("bedrock-agent", "123456789012345", 1, None),
    "bedrock-agent-function": ("bedrock-agent", "123456789012346", 1, None),
    "secrets-manager": ("secrets-manager", "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1", 1, None),
    "config": ("config", None, 1, None),
    "cloudwatch-alarm": ("cloudwatch-alarm", None, 1, None),
    "cloudwatch-widget": ("cloudwatch-widget", None, 1, None),
    "connect": ("connect", "4a573372-1f28-4e26-b97b-XXXXXXXXXXX", 1, None),
    "iot-custom-authorizer": ("iot", "e56f08c3-c559-490f-aa9f-7e8427d0f57b", 1, None),
    "iot-preprovision": ("iot", None, 1, None),
    "transfer-family": ("transfer-family", None, 1, None),
    "workmail": ("workmail", "00000000-0000-0000-0000-000000000000", 1, None),
    # -- the rest of AWS's list of services that invoke Lambda
    "lex": ("lex", "123456789012", 1, None),
    "alexa": ("alexa", "amzn1.echo-api.request.0000000-0000-0000-0000-00000000000", 1, None),
    "alexa-smart-home": ("alexa", "1bd5d003-31b9-476f-ad03-71d471922820", 1, None),
    "cloudfront": (
        "cloudfront",
        "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
        1,
        None,
    ),
    "documentdb": ("documentdb", "0163eeb6e7000000090100000009000041e1", 1, 1),
}

# How a failed invocation of each trigger comes again (docs/outcomes.md, "Triggers"):
# sync = the caller's business, new request id; async = Lambda, same request id;
# poll = an event source mapping, new request id, the event may count redeliveries.
RETRY_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "api-gateway-rest",
            "api-gateway-http",
            "lambda-url",
            "alb",
            "api-gateway-websocket",
            "api-gateway-authorizer",
            "vpc-lattice",
            "appsync",
            "appsync-authorizer",
            "cognito",
            "firehose",
            "s3-batch",
            "s3-object-lambda",
            "bedrock-agent",
            "lex",
            "alexa",
            "connect",
            "cloudfront",
            "secrets-manager",
            "transfer-family",
            "cloudwatch-widget",
            "iot",
        ),
        "sync",
    ),
    **dict.fromkeys(
        ("sqs", "kinesis-stream", "dynamodb-stream", "kafka", "mq", "documentdb"), "poll"
    ),
    **dict.fromkeys(
        (
            "sns",
            "s3",
            "eventbridge",
            "cloudwatch-logs",
            "cloudwatch-alarm",
            "ses",
            "cloudformation",
            "codecommit",
            "codepipeline",
            "codedeploy",
            "config",
            "workmail",
            "appsync-events",
            "lambda-destination",
            "direct",
        ),
        "async",
    ),
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
    if info.trigger not in BATCH_TRIGGERS:
        assert size is None
    if info.trigger not in REDELIVERY_TRIGGERS:
        assert info.attempt == 1


# --- one sample event per shape ---------------------------------------------------


def test_every_trigger_has_a_fixture() -> None:
    assert set(FIXTURES) == set(EXPECTED)
    assert {expected[0] for expected in EXPECTED.values()} == set(TRIGGERS)


def test_every_fixture_says_where_it_comes_from() -> None:
    sources = (EVENTS_DIR / "SOURCES.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in sources.splitlines() if line.startswith("| `")}
    assert listed == {f"{name}.json" for name in FIXTURES}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    info = inspect_event(load(name))
    assert info == EventInfo(*EXPECTED[name])
    assert_valid(info)


# --- retry semantics: how attempt is counted, per trigger ------------------------------


def test_every_trigger_has_its_retry_kind() -> None:
    assert RETRY == RETRY_KINDS
    assert tuple(RETRY) == TRIGGERS
    assert {t for t, kind in RETRY_KINDS.items() if kind != "async"} == _NEVER_RETRIED_BY_ID


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_same_request_id_again_is_a_retry_only_for_asynchronous_sources(name: str) -> None:
    """Each sample through a handler twice under one request id, as Lambda retries."""

    @instrument(service="events")
    def handler(event: Any, context: Any) -> None:
        return None

    context = LambdaContext(aws_request_id=f"retry-{name}")
    with capture() as cap:
        handler(load(name), context)
        handler(load(name), context)
    attempts = [record["attempt"] for record in cap.outcomes]
    trigger = EXPECTED[name][0]
    assert {record["trigger"] for record in cap.outcomes} == {trigger}
    assert attempts == ([1, 2] if RETRY_KINDS[trigger] == "async" else [1, 1])


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
        # issue 16: what tells the other sources apart
        "connectionId",
        "methodArn",
        "routeArn",
        "type",
        "responseContext",
        "requestPayload",
        "authorizationToken",
        "serviceNetworkArn",
        "triggerSource",
        "userPoolId",
        "deliveryStreamArn",
        "invocationId",
        "invocationSchemaVersion",
        "tasks",
        "job",
        "CodePipeline.job",
        "RequestType",
        "StackId",
        "DeploymentId",
        "LifecycleEventHookExecutionId",
        "xAmzRequestId",
        "raw_path",
        "method",
        "actionGroup",
        "agent",
        "SecretId",
        "Step",
        "invokingEvent",
        "alarmData",
        "alarmArn",
        "widgetContext",
        "Details",
        "ContactData",
        "serverId",
        "username",
        "protocol",
        "summaryVersion",
        "envelope",
        "messages",
        "rmqMessagesByQueue",
        "basicProperties",
        "redelivered",
        "invocationSource",
        "bot",
        "directive",
        "header",
        "protocolData",
        "connectionMetadata",
        "claimCertificateId",
        "templateArn",
        "info",
        "fieldName",
        "channel",
        "events",
        "event",
        "request",
        "session",
        "cf",
        "config",
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
            "aws:ses",
            "aws:codecommit",
            "aws:mq",
            "aws:rmq",
            "aws:docdb",
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
@given(
    st.sampled_from(sorted(n for n, e in FIXTURES.items() if isinstance(e, dict))), KEYS, JSON_LIKE
)
def test_extra_top_level_keys_keep_a_valid_result(name: str, key: str, value: Any) -> None:
    event = copy.deepcopy(FIXTURES[name])
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
    expected = EXPECTED[trigger][1] if trigger == "api-gateway-rest" else None
    assert inspect_event(event) == EventInfo(trigger, expected, 1, None)


# --- issue 16: the shapes that share keys, told apart -----------------------------------


def test_a_destination_record_is_not_a_rest_request() -> None:
    """``version`` 1.0 and ``requestContext.requestId`` alone are a REST payload 1.0."""
    record = load("lambda-destination")
    assert inspect_event(record).trigger == "lambda-destination"
    del record["requestPayload"]
    assert inspect_event(record).trigger == "lambda-destination"  # responseContext alone
    del record["responseContext"]
    assert inspect_event(record) == EventInfo(
        "api-gateway-rest", "e4b46cbf-b738-xmpl-8880-a18cdf61200e", 1, None
    )


def test_a_rest_request_with_a_response_context_key_stays_rest() -> None:
    event = load("api-gateway-rest")
    event["responseContext"] = {}
    assert inspect_event(event).trigger == "api-gateway-rest"


@pytest.mark.parametrize(
    "name", ["api-gateway-websocket-connect", "api-gateway-authorizer-websocket"]
)
def test_websocket_correlation_header_comes_first(name: str) -> None:
    event = load(name)
    event["headers"]["X-Correlation-Id"] = "cid-from-client"
    assert inspect_event(event).correlation_id == "cid-from-client"


@pytest.mark.parametrize(
    ("name", "header"),
    [("appsync", "x-correlation-id"), ("appsync-events", "X-Correlation-ID")],
)
def test_appsync_correlation_header_comes_before_the_trace_header(name: str, header: str) -> None:
    event = load(name)
    event["request"]["headers"][header] = "cid-from-client"
    assert inspect_event(event).correlation_id == "cid-from-client"


def test_vpc_lattice_headers_give_the_correlation_id() -> None:
    v1, v2 = load("vpc-lattice"), load("vpc-lattice-v2")
    v1["headers"]["x-correlation-id"] = "cid-1"
    v2["headers"]["x-correlation-id"] = ["cid-2", "ignored"]
    assert inspect_event(v1).correlation_id == "cid-1"
    assert inspect_event(v2).correlation_id == "cid-2"
    del v2["headers"]["x-correlation-id"]
    v2["headers"]["x-amzn-trace-id"] = ["Root=1-abc"]
    assert inspect_event(v2).correlation_id == "Root=1-abc"


@pytest.mark.parametrize(
    ("redelivered", "attempt"), [(True, 2), (False, 1), ("true", 1), (None, 1), (1, 1)]
)
def test_mq_redelivery_is_a_second_attempt(redelivered: object, attempt: int) -> None:
    active, rabbit = load("mq-activemq"), load("mq-rabbitmq")
    active["messages"][0]["redelivered"] = redelivered
    rabbit["rmqMessagesByQueue"]["pizzaQueue::/"][0]["redelivered"] = redelivered
    assert inspect_event(active).attempt == attempt
    assert inspect_event(rabbit).attempt == attempt


def test_rabbitmq_counts_messages_over_every_queue_and_reads_its_message_id() -> None:
    event = load("mq-rabbitmq")
    (message,) = event["rmqMessagesByQueue"]["pizzaQueue::/"]
    message["basicProperties"]["messageId"] = "m-1"
    event["rmqMessagesByQueue"]["other::/"] = [message, message]
    event["rmqMessagesByQueue"]["odd::/"] = "not a list"
    assert inspect_event(event) == EventInfo("mq", "m-1", 1, 3)
    message["basicProperties"]["correlationId"] = "c-1"
    assert inspect_event(event).correlation_id == "c-1"


@pytest.mark.parametrize("messages", [[], [None], ["x"]])
def test_an_mq_batch_without_readable_messages(messages: list[Any]) -> None:
    event = load("mq-activemq")
    event["messages"] = messages
    assert inspect_event(event) == EventInfo("mq", None, 1, len(messages))


def test_a_list_that_is_no_appsync_batch_is_direct() -> None:
    assert inspect_event([{"arguments": {}}]) == EventInfo("direct", None, 1, None)
    assert inspect_event([1, 2]) == EventInfo("direct", None, 1, None)
    assert inspect_event([]) == EventInfo("direct", None, 1, None)


@pytest.mark.parametrize(
    "event",
    [
        {"triggerSource": "PreSignUp_SignUp"},  # Cognito sends its user pool too
        {"deliveryStreamArn": "arn", "records": {}},  # Firehose records are a list
        {"invocationSchemaVersion": "1.0"},  # S3 Batch needs its tasks
        {"RequestType": "Create"},  # CloudFormation: a stack or a response URL
        {"DeploymentId": "d-1"},  # CodeDeploy: the hook's execution id too
        {"xAmzRequestId": "r"},  # S3 Object Lambda: its configuration or user request
        {"raw_path": "/"},  # VPC Lattice v1: the method too
        {"actionGroup": "a"},  # Bedrock: the agent too
        {"SecretId": "s"},  # Secrets Manager: the step too
        {"invokingEvent": "{}"},  # AWS Config: the rule or result token too
        {"alarmData": {}},  # CloudWatch alarms: the alarm ARN too
        {"widgetContext": "w"},  # a dashboard widget's context is an object
        {"Details": {"Parameters": {}}},  # Connect: its contact data
        {"serverId": "s-1"},  # Transfer Family: user name and protocol too
        {"summaryVersion": "2019-07-28"},  # WorkMail: the envelope too
        {"methodArn": "arn"},  # a TOKEN authorizer has its type
        {"messages": [], "eventSource": "aws:sqs"},  # MQ names itself
        {"invocationSource": "DialogCodeHook"},  # Lex: its bot
        {"directive": {"header": {}}},  # Alexa smart home: the message id
        {"protocolData": {}},  # IoT authorizer: the connection metadata too
        {"claimCertificateId": "c"},  # IoT provisioning hook: the template too
        {"info": "i", "arguments": {}},  # AppSync's info is an object
        {"info": {}},  # neither a resolver's field name nor a channel
        {"events": [], "eventSource": "aws:kafka"},  # DocumentDB names itself
        {"request": {"requestId": "r"}},  # Alexa: context or session too
        {"requestContext": {"apiId": "a"}},  # no request id, connection or Lattice ARN
        {"requestContext": {"requestId": "r"}, "body": "{}"},  # no version, method or token
    ],
)
def test_marker_near_misses_are_direct(event: dict[str, Any]) -> None:
    assert inspect_event(event) == EventInfo("direct", None, 1, None)


def test_a_direct_event_with_a_marker_key_keeps_its_correlation_id() -> None:
    event = {"request": {"orderId": "o-1"}, "correlation_id": "cid-1"}
    assert inspect_event(event) == EventInfo("direct", "cid-1", 1, None)


def test_an_http_api_2_0_payload_without_http_falls_through() -> None:
    event = {"version": "2.0", "requestContext": {"requestId": "r-1"}, "httpMethod": "GET"}
    assert inspect_event(event) == EventInfo("api-gateway-rest", "r-1", 1, None)
