"""Tell which AWS trigger sent a Lambda event, and pull its correlation id.

This runs on every invocation before the handler, so it only does a handful of
dict lookups near the top of the event: no regex, no decoding of payloads, no
deep walks.  It must never raise either: a wrong guess costs one log field, an
exception would cost the invocation.  Anything it does not recognise is
``direct``.

The common shapes are settled here, in the order of how often they come: HTTP
requests (an event with ``requestContext``), then ``Records`` batches (SQS first).
Every other source is looked for in ``_event_sources`` only once these fail, so
they cost the hot shapes nothing; the trigger table is ``_event_info.RETRY``.
"""

from __future__ import annotations

from typing import Any, Final

from lambdaops._event_info import (
    BATCH_TRIGGERS,
    CID_HEADER,
    DIRECT,
    MAX_ID_LEN,
    REDELIVERY_TRIGGERS,
    RETRY,
    TRACE_HEADER,
    TRIGGERS,
    EventInfo,
    as_id,
    dig,
    header_id,
    new,
)

__all__ = [
    "BATCH_TRIGGERS",
    "REDELIVERY_TRIGGERS",
    "RETRY",
    "TRIGGERS",
    "EventInfo",
    "inspect_event",
]

_SQS_CID_ATTRIBUTES: Final = ("correlation_id", "correlationId", "x-correlation-id")
# A tuple, not a set: ``x in tuple`` compares with ==, so an unhashable value
# (a list where a string was expected) cannot raise TypeError.
_KAFKA_SOURCES: Final = ("aws:kafka", "SelfManagedKafka")
_CLOUDWATCH_LOGS: Final = EventInfo("cloudwatch-logs", None, 1, None)
_AUTHORIZER: Final = "api-gateway-authorizer"


def inspect_event(event: object) -> EventInfo:
    """Classify ``event``; never raises, whatever it is (``direct`` when unsure).

    The helpers below are written not to raise on any JSON-shaped input; the
    ``except`` is only a last resort for hostile objects (a dict subclass whose
    ``get`` raises, say), so that observability can never fail an invocation.
    """
    try:
        return _inspect(event)
    except Exception:
        return DIRECT


#: ``lambdaops._event_sources``, loaded by the first event none of the common shapes is:
#: ``import lambdaops`` does not pay for the tables of sixty sources (~0.15 ms).
_event_sources: Any = None


def _sources() -> Any:
    global _event_sources
    if _event_sources is None:
        from lambdaops import _event_sources as module

        _event_sources = module
    return _event_sources


def _inspect(event: object) -> EventInfo:
    """Do the work of ``inspect_event``, most common shapes first.

    The HTTP branch is written out here rather than in a helper: a call is
    worth two or three key lookups, and every HTTP invocation would pay it.
    """
    if not isinstance(event, dict):
        # AppSync batch resolvers send a list of resolver events.
        return _sources().from_list(event) if type(event) is list and event else DIRECT
    ctx = event.get("requestContext")
    if not isinstance(ctx, dict):
        records = event.get("Records")  # _others' first test, inlined for SQS's sake
        if isinstance(records, list) and records:
            info = _record(records)
            if info is not None:
                return info
        return _not_records(event)
    if "elb" in ctx:
        cid = header_id(event, CID_HEADER) or header_id(event, TRACE_HEADER)
        return new(EventInfo, ("alb", cid, 1, None))
    version = event.get("version")
    if version == "2.0":
        if not isinstance(ctx.get("http"), dict):
            return _sources().with_request_context(event, ctx) or _others(event)
        if "routeArn" in event:  # an HTTP API's Lambda authorizer (payload 2.0)
            trigger = _AUTHORIZER
        else:
            domain = ctx.get("domainName")
            # Function URLs send the very same payload as HTTP APIs; only the host differs.
            if isinstance(domain, str) and ".lambda-url." in domain:
                trigger = "lambda-url"
            else:
                trigger = "api-gateway-http"
    elif "httpMethod" in event and "requestId" in ctx:
        # A REST API's REQUEST authorizer has the request's shape and its methodArn.
        trigger = _AUTHORIZER if "methodArn" in event else "api-gateway-rest"
    else:
        return _sources().with_request_context(event, ctx) or _others(event)
    # The caller's header under its lower-case name (HTTP APIs always, REST APIs
    # usually): settled here without the general header search.
    headers = event.get("headers")
    cid = headers.get(CID_HEADER) if type(headers) is dict else None
    if type(cid) is not str or not 0 < len(cid) <= MAX_ID_LEN:
        cid = header_id(event, CID_HEADER) or as_id(ctx.get("requestId"))
    return new(EventInfo, (trigger, cid, 1, None))


def _others(event: dict[Any, Any]) -> EventInfo:
    """Every event that is not an HTTP request: ``Records`` batches, then the rest."""
    records = event.get("Records")
    if isinstance(records, list) and records:
        info = _record(records)
        if info is not None:
            return info
    return _not_records(event)


def _not_records(event: dict[Any, Any]) -> EventInfo:
    """EventBridge, CloudWatch Logs and Kafka, then the sources found by a marker key."""
    if "detail-type" in event and "source" in event and "detail" in event:
        return new(EventInfo, ("eventbridge", as_id(event.get("id")), 1, None))
    logs = event.get("awslogs")
    if isinstance(logs, dict) and "data" in logs:
        return _CLOUDWATCH_LOGS
    partitions = event.get("records")
    if isinstance(partitions, dict) and event.get("eventSource") in _KAFKA_SOURCES:
        return new(EventInfo, ("kafka", None, 1, _kafka_batch_size(partitions)))
    sources = _event_sources or _sources()
    if not sources.MARKER_KEYS.isdisjoint(event):  # one C call spares by_marker's call
        info: EventInfo | None = sources.by_marker(event)
        if info is not None:
            return info
    cid = as_id(event.get("correlation_id")) or as_id(event.get("correlationId"))
    return DIRECT if cid is None else new(EventInfo, ("direct", cid, 1, None))


def _record(records: list[Any]) -> EventInfo | None:
    """Classify a ``Records`` batch by its first record (a batch has a single source)."""
    first = records[0]
    if not isinstance(first, dict):
        return None
    source = first.get("eventSource")
    if source == "aws:sqs":
        cid = _sqs_attribute_id(first.get("messageAttributes")) or as_id(first.get("messageId"))
        return new(EventInfo, ("sqs", cid, _receive_count(first.get("attributes")), len(records)))
    if source == "aws:dynamodb":
        return new(EventInfo, ("dynamodb-stream", as_id(first.get("eventID")), 1, len(records)))
    if source == "aws:kinesis":
        return new(EventInfo, ("kinesis-stream", as_id(first.get("eventID")), 1, len(records)))
    # S3 and SNS inline what ``dig`` does: its call would cost them a fifth.
    if source == "aws:s3":
        response = first.get("responseElements")
        cid = as_id(response.get("x-amz-request-id")) if isinstance(response, dict) else None
        return new(EventInfo, ("s3", cid, 1, None))
    if first.get("EventSource") == "aws:sns":  # SNS alone capitalises its keys
        sns = first.get("Sns")
        cid = as_id(sns.get("MessageId")) if isinstance(sns, dict) else None
        return new(EventInfo, ("sns", cid, 1, None))
    if source == "aws:ses":
        return new(EventInfo, ("ses", as_id(dig(first, "ses", "mail", "messageId")), 1, None))
    if source == "aws:codecommit":
        return new(EventInfo, ("codecommit", as_id(first.get("eventId")), 1, None))
    cf = first.get("cf")  # Lambda@Edge: no eventSource at all
    if isinstance(cf, dict) and "config" in cf:
        return new(EventInfo, ("cloudfront", as_id(dig(cf, "config", "requestId")), 1, None))
    return None


def _sqs_attribute_id(attributes: object) -> str | None:
    """A correlation id the producer put in the SQS message attributes, if any."""
    if not isinstance(attributes, dict) or not attributes:
        return None
    for name in _SQS_CID_ATTRIBUTES:
        attribute = attributes.get(name)
        if isinstance(attribute, dict):
            cid = as_id(attribute.get("stringValue"))
            if cid is not None:
                return cid
    return None


def _receive_count(attributes: object) -> int:
    """SQS ``ApproximateReceiveCount`` (a decimal string) as the attempt number, at least 1."""
    if not isinstance(attributes, dict):
        return 1
    count = attributes.get("ApproximateReceiveCount")
    if isinstance(count, str):
        # isascii() keeps out digits int() refuses (superscripts); the length
        # cap keeps int() away from its digit limit.
        if not (count.isascii() and count.isdigit() and len(count) <= 18):
            return 1
        number = int(count)
    elif isinstance(count, int) and not isinstance(count, bool):
        number = count
    else:
        return 1
    return number if number > 1 else 1


def _kafka_batch_size(partitions: dict[Any, Any]) -> int:
    """Records over all topic-partitions (Kafka events group records by partition)."""
    total = 0
    for batch in partitions.values():
        if isinstance(batch, list):
            total += len(batch)
    return total
