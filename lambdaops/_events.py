"""Tell which AWS trigger sent a Lambda event, and pull its correlation id.

This runs on every invocation before the handler, so it only does a handful of
dict lookups near the top of the event: no regex, no decoding of payloads, no
deep walks.  It must never raise either: a wrong guess costs one log field, an
exception would cost the invocation.  Anything it does not recognise is
``direct``.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

TRIGGERS: Final = (
    "api-gateway-rest",
    "api-gateway-http",
    "lambda-url",
    "alb",
    "sqs",
    "sns",
    "s3",
    "eventbridge",
    "dynamodb-stream",
    "kinesis-stream",
    "cloudwatch-logs",
    "kafka",
    "direct",
)

_MAX_ID_LEN: Final = 256
# An int with more digits than this would be cut anyway, and str() of a huge
# int can raise (sys.int_info.str_digits_check_threshold): refuse it up front.
_INT_ID_LIMIT: Final = 10**_MAX_ID_LEN
_CID_HEADER: Final = "x-correlation-id"
_ALB_TRACE_HEADER: Final = "x-amzn-trace-id"
_SQS_CID_ATTRIBUTES: Final = ("correlation_id", "correlationId", "x-correlation-id")
# A tuple, not a set: ``x in tuple`` compares with ==, so an unhashable value
# (a list where a string was expected) cannot raise TypeError.
_KAFKA_SOURCES: Final = ("aws:kafka", "SelfManagedKafka")


class EventInfo(NamedTuple):
    """What the event itself says about its origin (a tuple: cheap to build, immutable)."""

    trigger: str
    """One of ``TRIGGERS``."""
    correlation_id: str | None
    """Caller-supplied id if any, else the source's own request/message id."""
    attempt: int
    """1 unless the event says it is a redelivery (SQS ``ApproximateReceiveCount``)."""
    batch_size: int | None
    """Number of records for batch sources (SQS, Kinesis, DynamoDB, Kafka), else None."""


#: ``_new(EventInfo, (...))`` builds one without NamedTuple's Python-level ``__new__``.
_new: Final = tuple.__new__
_DIRECT: Final = EventInfo("direct", None, 1, None)
_CLOUDWATCH_LOGS: Final = EventInfo("cloudwatch-logs", None, 1, None)


def inspect_event(event: object) -> EventInfo:
    """Classify ``event``; never raises, whatever it is (``direct`` when unsure).

    The helpers below are written not to raise on any JSON-shaped input; the
    ``except`` is only a last resort for hostile objects (a dict subclass whose
    ``get`` raises, say), so that observability can never fail an invocation.
    """
    try:
        return _inspect(event)
    except Exception:
        return _DIRECT


def _inspect(event: object) -> EventInfo:
    """Do the work of ``inspect_event``, most common shapes first."""
    if not isinstance(event, dict):
        return _DIRECT
    ctx = event.get("requestContext")
    if isinstance(ctx, dict):
        info = _http(event, ctx)
        if info is not None:
            return info
    return _others(event)


def _others(event: dict[Any, Any]) -> EventInfo:
    """Every event that is not an HTTP request."""
    records = event.get("Records")
    if isinstance(records, list) and records:
        info = _record(records)
        if info is not None:
            return info
    if "detail-type" in event and "source" in event and "detail" in event:
        return _new(EventInfo, ("eventbridge", _as_id(event.get("id")), 1, None))
    logs = event.get("awslogs")
    if isinstance(logs, dict) and "data" in logs:
        return _CLOUDWATCH_LOGS
    partitions = event.get("records")
    if isinstance(partitions, dict) and event.get("eventSource") in _KAFKA_SOURCES:
        return _new(EventInfo, ("kafka", None, 1, _kafka_batch_size(partitions)))
    cid = _as_id(event.get("correlation_id")) or _as_id(event.get("correlationId"))
    return _DIRECT if cid is None else _new(EventInfo, ("direct", cid, 1, None))


def _http(event: dict[Any, Any], ctx: dict[Any, Any]) -> EventInfo | None:
    """ALB, HTTP API / function URL (payload 2.0) or REST API (payload 1.0); None if neither."""
    if "elb" in ctx:
        cid = _header_id(event, _CID_HEADER) or _header_id(event, _ALB_TRACE_HEADER)
        return _new(EventInfo, ("alb", cid, 1, None))
    version = event.get("version")
    if version == "2.0" and isinstance(ctx.get("http"), dict):
        domain = ctx.get("domainName")
        # Function URLs send the very same payload as HTTP APIs; only the host differs.
        if isinstance(domain, str) and ".lambda-url." in domain:
            trigger = "lambda-url"
        else:
            trigger = "api-gateway-http"
    elif "requestId" in ctx and ("httpMethod" in event or version == "1.0"):
        trigger = "api-gateway-rest"
    else:
        return None
    # The caller's header under its lower-case name (HTTP APIs always, REST APIs
    # usually): settled here without the general header search.
    headers = event.get("headers")
    cid = headers.get(_CID_HEADER) if type(headers) is dict else None
    if type(cid) is not str or not 0 < len(cid) <= _MAX_ID_LEN:
        cid = _header_id(event, _CID_HEADER) or _as_id(ctx.get("requestId"))
    return _new(EventInfo, (trigger, cid, 1, None))


def _record(records: list[Any]) -> EventInfo | None:
    """Classify a ``Records`` batch by its first record (a batch has a single source)."""
    first = records[0]
    if not isinstance(first, dict):
        return None
    source = first.get("eventSource")
    if source == "aws:sqs":
        cid = _sqs_attribute_id(first.get("messageAttributes")) or _as_id(first.get("messageId"))
        return _new(EventInfo, ("sqs", cid, _receive_count(first.get("attributes")), len(records)))
    if source == "aws:dynamodb":
        return _new(EventInfo, ("dynamodb-stream", _as_id(first.get("eventID")), 1, len(records)))
    if source == "aws:kinesis":
        return _new(EventInfo, ("kinesis-stream", _as_id(first.get("eventID")), 1, len(records)))
    if source == "aws:s3":
        response = first.get("responseElements")
        cid = _as_id(response.get("x-amz-request-id")) if isinstance(response, dict) else None
        return _new(EventInfo, ("s3", cid, 1, None))
    if first.get("EventSource") == "aws:sns":  # SNS alone capitalises its keys
        sns = first.get("Sns")
        cid = _as_id(sns.get("MessageId")) if isinstance(sns, dict) else None
        return _new(EventInfo, ("sns", cid, 1, None))
    return None


def _as_id(value: object) -> str | None:
    """Return ``value`` as an id string, or None if it cannot be one.

    Only strings and ints qualify: a float may already have lost digits, a bool
    or a container is not an id.  Empty strings count as absent so that the
    source's own id is used instead; long ones are cut to 256 characters.
    """
    if isinstance(value, str):
        if not value:
            return None
        return value if len(value) <= _MAX_ID_LEN else value[:_MAX_ID_LEN]
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and -_INT_ID_LIMIT < value < _INT_ID_LIMIT
    ):
        return str(value)[:_MAX_ID_LEN]
    return None


def _header_id(event: dict[Any, Any], name: str) -> str | None:
    """Header ``name`` (lower case) from ``headers``, else from ``multiValueHeaders``."""
    value = _find_header(event.get("headers"), name)
    if value is None:
        value = _find_header(event.get("multiValueHeaders"), name)
        if isinstance(value, list):
            value = value[0] if value else None
    return _as_id(value)


def _find_header(headers: object, name: str) -> object:
    """Look ``name`` up case-insensitively in one header dict; None if absent.

    HTTP APIs, function URLs and ALB send lower-case names, so the exact lookup
    nearly always settles it; REST APIs keep the client's casing, which costs
    one pass over the header names, with the length compared before lower().
    """
    if not isinstance(headers, dict) or not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    size = len(name)
    for key, value in headers.items():
        if isinstance(key, str) and len(key) == size and key.lower() == name:
            return value
    return None


def _sqs_attribute_id(attributes: object) -> str | None:
    """A correlation id the producer put in the SQS message attributes, if any."""
    if not isinstance(attributes, dict) or not attributes:
        return None
    for name in _SQS_CID_ATTRIBUTES:
        attribute = attributes.get(name)
        if isinstance(attribute, dict):
            cid = _as_id(attribute.get("stringValue"))
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
