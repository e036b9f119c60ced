"""Recognise the rarer event shapes: everything but plain HTTP requests and ``Records``.

``_events`` settles the common shapes itself and comes here only when they fail, so
none of this costs an API Gateway or SQS invocation anything. Most sources here have no
``eventSource`` field to read: each is told by a key only it sends (a marker), checked
with one C-level ``isdisjoint`` against the event's keys before any Python-level work,
so an event that is none of them (a direct call) pays about one hash lookup per key it has
(``_events`` runs that test before calling ``by_marker``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from lambdaops._event_info import (
    CID_HEADER,
    DIRECT,
    TRACE_HEADER,
    EventInfo,
    as_id,
    dig,
    find_header,
    header_id,
    new,
)

_Detector = Callable[[dict[Any, Any]], "EventInfo | None"]
_MQ_SOURCES: Final = ("aws:mq", "aws:rmq")


def _info(trigger: str, cid: str | None = None, size: int | None = None) -> EventInfo:
    return new(EventInfo, (trigger, cid, 1, size))


def _headers_cid(headers: object) -> str | None:
    """``x-correlation-id``, else ``x-amzn-trace-id``, from one plain header dict."""
    found = as_id(find_header(headers, CID_HEADER))
    return found if found is not None else as_id(find_header(headers, TRACE_HEADER))


def with_request_context(event: dict[Any, Any], ctx: dict[Any, Any]) -> EventInfo | None:
    """Events with a ``requestContext`` that are no REST, HTTP API, URL or ALB request."""
    if "connectionId" in ctx:  # WebSocket APIs: routes, and their REQUEST authorizer
        trigger = "api-gateway-authorizer" if "methodArn" in event else "api-gateway-websocket"
        return _info(trigger, header_id(event, CID_HEADER) or as_id(ctx.get("requestId")))
    if "requestId" in ctx:
        version = event.get("version")
        if version == "1.0" and ("responseContext" in event or "requestPayload" in event):
            # An asynchronous invocation's record sent to a destination (or a stream's
            # on-failure record): the id is the original invocation's request id.
            return _info("lambda-destination", as_id(ctx.get("requestId")))
        if "methodArn" in event:
            trigger = "api-gateway-authorizer"
        elif "httpMethod" in event or version == "1.0":
            trigger = "api-gateway-rest"
        elif "authorizationToken" in event:
            return _info("appsync-authorizer", as_id(ctx.get("requestId")))
        else:
            return None
        return _info(trigger, header_id(event, CID_HEADER) or as_id(ctx.get("requestId")))
    if "serviceNetworkArn" in ctx or "targetGroupArn" in ctx:  # VPC Lattice, payload v2
        cid = header_id(event, CID_HEADER) or header_id(event, TRACE_HEADER)
        return _info("vpc-lattice", cid)
    return None


def from_list(event: list[Any]) -> EventInfo:
    """A list event: AppSync's batch resolver (one resolver event per item), else direct."""
    first = event[0]
    if isinstance(first, dict) and "arguments" in first and isinstance(first.get("info"), dict):
        return _info("appsync", _headers_cid(dig(first, "request", "headers")), len(event))
    return DIRECT


def by_marker(event: dict[Any, Any]) -> EventInfo | None:
    """The source whose marker key ``event`` has, checked further by its detector."""
    for marker, detect in _DETECTORS:
        if marker in event:
            info = detect(event)
            if info is not None:
                return info
    return None


# --- one detector per source, each given an event that has its marker key -------------


def _cognito(event: dict[Any, Any]) -> EventInfo | None:
    # Every user-pool trigger; Cognito sends no request id of its own.
    return _info("cognito") if "userPoolId" in event else None


def _firehose(event: dict[Any, Any]) -> EventInfo | None:
    records = event.get("records")
    if not isinstance(records, list):
        return None
    return _info("firehose", as_id(event.get("invocationId")), len(records))


def _s3_batch(event: dict[Any, Any]) -> EventInfo | None:
    tasks = event.get("tasks")
    if not isinstance(tasks, list):
        return None
    cid = as_id(dig(event, "job", "id")) or as_id(event.get("invocationId"))
    return _info("s3-batch", cid, len(tasks))


def _codepipeline(event: dict[Any, Any]) -> EventInfo | None:
    return _info("codepipeline", as_id(dig(event, "CodePipeline.job", "id")))


def _cloudformation(event: dict[Any, Any]) -> EventInfo | None:
    if "ResponseURL" not in event and "StackId" not in event:
        return None
    return _info("cloudformation", as_id(event.get("RequestId")))


def _codedeploy(event: dict[Any, Any]) -> EventInfo | None:
    if "LifecycleEventHookExecutionId" not in event:
        return None
    return _info("codedeploy", as_id(event.get("DeploymentId")))


def _s3_object_lambda(event: dict[Any, Any]) -> EventInfo | None:
    if "userRequest" not in event and "configuration" not in event:
        return None
    return _info("s3-object-lambda", as_id(event.get("xAmzRequestId")))


def _vpc_lattice_v1(event: dict[Any, Any]) -> EventInfo | None:
    return _info("vpc-lattice", _headers_cid(event.get("headers"))) if "method" in event else None


def _bedrock_agent(event: dict[Any, Any]) -> EventInfo | None:
    # The session id ties together every call an agent makes for one conversation.
    return _info("bedrock-agent", as_id(event.get("sessionId"))) if "agent" in event else None


def _secrets_manager(event: dict[Any, Any]) -> EventInfo | None:
    if "Step" not in event:
        return None
    # The token names the secret version being rotated: the same for all four steps.
    return _info("secrets-manager", as_id(event.get("ClientRequestToken")))


def _config(event: dict[Any, Any]) -> EventInfo | None:
    return _info("config") if "configRuleName" in event or "resultToken" in event else None


def _cloudwatch_alarm(event: dict[Any, Any]) -> EventInfo | None:
    return _info("cloudwatch-alarm") if "alarmArn" in event else None


def _cloudwatch_widget(event: dict[Any, Any]) -> EventInfo | None:
    return _info("cloudwatch-widget") if isinstance(event.get("widgetContext"), dict) else None


def _connect(event: dict[Any, Any]) -> EventInfo | None:
    contact = dig(event, "Details", "ContactData")
    if not isinstance(contact, dict):
        return None
    return _info("connect", as_id(contact.get("ContactId")))


def _transfer_family(event: dict[Any, Any]) -> EventInfo | None:
    return _info("transfer-family") if "username" in event and "protocol" in event else None


def _workmail(event: dict[Any, Any]) -> EventInfo | None:
    if "envelope" not in event:
        return None
    return _info("workmail", as_id(event.get("messageId")) or as_id(event.get("invocationId")))


def _token_authorizer(event: dict[Any, Any]) -> EventInfo | None:
    # A TOKEN authorizer gets the token and the method alone: no request id to read.
    return _info("api-gateway-authorizer") if "type" in event else None


def _appsync(event: dict[Any, Any]) -> EventInfo | None:
    info = event.get("info")
    if not isinstance(info, dict):
        return None
    cid = _headers_cid(dig(event, "request", "headers"))
    if "fieldName" in info:
        return _info("appsync", cid)
    if "channel" in info:  # AppSync Events: a publish carries a batch of events
        events = event.get("events")
        return _info("appsync-events", cid, len(events) if isinstance(events, list) else None)
    return None


def _mq(event: dict[Any, Any]) -> EventInfo | None:
    """Amazon MQ: ActiveMQ sends ``messages``, RabbitMQ ``rmqMessagesByQueue`` by queue."""
    if event.get("eventSource") not in _MQ_SOURCES:
        return None
    messages = event.get("messages")
    if not isinstance(messages, list):
        by_queue = event.get("rmqMessagesByQueue")
        messages = []
        if isinstance(by_queue, dict):
            for batch in by_queue.values():
                if isinstance(batch, list):
                    messages.extend(batch)
    if not messages:
        return _info("mq", None, 0)
    first = messages[0]
    if not isinstance(first, dict):
        return _info("mq", None, len(messages))
    props = first.get("basicProperties")  # RabbitMQ keeps its ids there
    props = props if isinstance(props, dict) else first
    cid = (
        as_id(props.get("correlationId"))
        or as_id(props.get("messageId"))
        or as_id(first.get("messageID"))
    )
    # The broker says whether it delivered the message before, not how often.
    attempt = 2 if first.get("redelivered") is True else 1
    return new(EventInfo, ("mq", cid, attempt, len(messages)))


def _documentdb(event: dict[Any, Any]) -> EventInfo | None:
    events = event.get("events")
    if event.get("eventSource") != "aws:docdb" or not isinstance(events, list):
        return None
    cid = as_id(dig(events[0], "event", "_id", "_data")) if events else None
    return _info("documentdb", cid, len(events))


def _lex(event: dict[Any, Any]) -> EventInfo | None:
    return _info("lex", as_id(event.get("sessionId"))) if "bot" in event else None


def _alexa(event: dict[Any, Any]) -> EventInfo | None:
    if "context" not in event and "session" not in event:
        return None
    request_id = dig(event, "request", "requestId")
    return _info("alexa", as_id(request_id)) if request_id is not None else None


def _alexa_smart_home(event: dict[Any, Any]) -> EventInfo | None:
    message_id = dig(event, "directive", "header", "messageId")
    return _info("alexa", as_id(message_id)) if message_id is not None else None


def _iot_authorizer(event: dict[Any, Any]) -> EventInfo | None:
    if "connectionMetadata" not in event:
        return None
    return _info("iot", as_id(dig(event, "connectionMetadata", "id")))


def _iot_provisioning(event: dict[Any, Any]) -> EventInfo | None:
    return _info("iot") if "templateArn" in event else None


#: Marker key -> detector, in the order they are tried: markers that no other source
#: sends first, the looser ones (``info``, ``request``, ``events``) last.
_DETECTORS: Final[tuple[tuple[str, _Detector], ...]] = (
    ("triggerSource", _cognito),
    ("deliveryStreamArn", _firehose),
    ("invocationSchemaVersion", _s3_batch),
    ("CodePipeline.job", _codepipeline),
    ("RequestType", _cloudformation),
    ("DeploymentId", _codedeploy),
    ("xAmzRequestId", _s3_object_lambda),
    ("raw_path", _vpc_lattice_v1),
    ("actionGroup", _bedrock_agent),
    ("SecretId", _secrets_manager),
    ("invokingEvent", _config),
    ("alarmData", _cloudwatch_alarm),
    ("widgetContext", _cloudwatch_widget),
    ("Details", _connect),
    ("serverId", _transfer_family),
    ("summaryVersion", _workmail),
    ("methodArn", _token_authorizer),
    ("messages", _mq),
    ("rmqMessagesByQueue", _mq),
    ("invocationSource", _lex),
    ("directive", _alexa_smart_home),
    ("protocolData", _iot_authorizer),
    ("claimCertificateId", _iot_provisioning),
    ("info", _appsync),
    ("events", _documentdb),
    ("request", _alexa),
)
MARKER_KEYS: Final = frozenset(marker for marker, _ in _DETECTORS)
