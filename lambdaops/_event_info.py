"""The trigger table and what every event detector shares: the result type and id helpers.

A module of its own so that the hot path (``_events``) and the detectors of the rarer
shapes (``_event_sources``) both build on it without importing each other.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

#: How Lambda repeats a failed invocation of each trigger, which decides how ``attempt``
#: is counted (docs/outcomes.md, "Triggers"):
#:
#: * ``sync``: the caller waits for the answer and retries, if it does, with a new
#:   invocation and a new request id; nothing to count.
#: * ``async``: Lambda queues the event and retries it itself under the same request id,
#:   so the outcome signal counts the request ids it has seen.  Also the choice for
#:   sources that may call either way (``direct``, SES, WorkMail, CodeDeploy, AppSync
#:   Events' direct integrations): counting never misleads a synchronous call, whose
#:   request id is never seen twice.
#: * ``poll``: an event source mapping reads a queue or stream and redelivers under a
#:   new request id; the attempt is what the event says (SQS ``ApproximateReceiveCount``,
#:   Amazon MQ ``redelivered``), else 1.
RETRY: Final[dict[str, str]] = {
    "api-gateway-rest": "sync",
    "api-gateway-http": "sync",
    "lambda-url": "sync",
    "alb": "sync",
    "api-gateway-websocket": "sync",
    "api-gateway-authorizer": "sync",
    "vpc-lattice": "sync",
    "appsync": "sync",
    "appsync-authorizer": "sync",
    "cognito": "sync",
    "firehose": "sync",
    "s3-batch": "sync",
    "s3-object-lambda": "sync",
    "bedrock-agent": "sync",
    "lex": "sync",
    "alexa": "sync",
    "connect": "sync",
    "cloudfront": "sync",
    "secrets-manager": "sync",
    "transfer-family": "sync",
    "cloudwatch-widget": "sync",
    "iot": "sync",
    "sqs": "poll",
    "kinesis-stream": "poll",
    "dynamodb-stream": "poll",
    "kafka": "poll",
    "mq": "poll",
    "documentdb": "poll",
    "sns": "async",
    "s3": "async",
    "eventbridge": "async",
    "cloudwatch-logs": "async",
    "cloudwatch-alarm": "async",
    "ses": "async",
    "cloudformation": "async",
    "codecommit": "async",
    "codepipeline": "async",
    "codedeploy": "async",
    "config": "async",
    "workmail": "async",
    "appsync-events": "async",
    "lambda-destination": "async",
    "direct": "async",
}

TRIGGERS: Final = tuple(RETRY)

#: Triggers whose invocation carries a batch of items (``batch_size`` is set).
BATCH_TRIGGERS: Final = frozenset(
    (
        "sqs",
        "kinesis-stream",
        "dynamodb-stream",
        "kafka",
        "mq",
        "documentdb",
        "firehose",
        "s3-batch",
        "appsync",
        "appsync-events",
    )
)

#: Triggers that may report a redelivery in the event itself (``attempt`` above 1).
REDELIVERY_TRIGGERS: Final = frozenset(("sqs", "mq"))

MAX_ID_LEN: Final = 256
# An int with more digits than this would be cut anyway, and str() of a huge
# int can raise (sys.int_info.str_digits_check_threshold): refuse it up front.
_INT_ID_LIMIT: Final = 10**MAX_ID_LEN
CID_HEADER: Final = "x-correlation-id"
TRACE_HEADER: Final = "x-amzn-trace-id"


class EventInfo(NamedTuple):
    """What the event itself says about its origin (a tuple: cheap to build, immutable)."""

    trigger: str
    """One of ``TRIGGERS``."""
    correlation_id: str | None
    """Caller-supplied id if any, else the source's own request/message/job id."""
    attempt: int
    """1 unless the event says it is a redelivery (SQS ``ApproximateReceiveCount``, MQ)."""
    batch_size: int | None
    """Number of items for batch sources (``BATCH_TRIGGERS``), else None."""


#: ``new(EventInfo, (...))`` builds one without NamedTuple's Python-level ``__new__``.
new: Final = tuple.__new__
DIRECT: Final = EventInfo("direct", None, 1, None)


def as_id(value: object) -> str | None:
    """Return ``value`` as an id string, or None if it cannot be one.

    Only strings and ints qualify: a float may already have lost digits, a bool
    or a container is not an id.  Empty strings count as absent so that the
    source's own id is used instead; long ones are cut to 256 characters.
    """
    if isinstance(value, str):
        if not value:
            return None
        return value if len(value) <= MAX_ID_LEN else value[:MAX_ID_LEN]
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and -_INT_ID_LIMIT < value < _INT_ID_LIMIT
    ):
        return str(value)[:MAX_ID_LEN]
    return None


def dig(value: object, *keys: str) -> object:
    """``value[k1][k2]...`` through nested dicts; None where a level is missing or no dict."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def header_id(event: dict[Any, Any], name: str, headers_key: str = "headers") -> str | None:
    """Header ``name`` (lower case) from ``headers``, else from ``multiValueHeaders``.

    A list value (multi-value headers, VPC Lattice's v2 payload) gives its first element.
    """
    value = find_header(event.get(headers_key), name)
    if value is None and headers_key == "headers":
        value = find_header(event.get("multiValueHeaders"), name)
    if isinstance(value, list):
        value = value[0] if value else None
    return as_id(value)


def find_header(headers: object, name: str) -> object:
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
