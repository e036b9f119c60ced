"""What CloudWatch accepts in EMF names and settings, checked where they enter.

A name is refused when it is written, at the call or at decoration, never found wrong per
document. The limits are the stricter of the EMF JSON schema and the CloudWatch API
reference (docs/metrics.md has the table and the sources). The settings' lengths and counts
are :mod:`lambdaops._parse`'s, checked as the configuration is read; this module adds what
a length cannot say (characters, reserved names) and is a leaf too, so ``_parse`` could call it.
"""

from __future__ import annotations

from lambdaops._errors import ConfigError
from lambdaops._parse import MAX_DIMENSION_NAME, MAX_DIMENSION_VALUE, MAX_DIMENSIONS, MAX_NAMESPACE

__all__ = ["MAX_DIMENSIONS", "MAX_DIMENSION_NAME", "MAX_DIMENSION_VALUE"]

MAX_METRIC_NAME = 255  # MetricDatum.MetricName (the EMF schema allows 1,024)
MAX_PROPERTY_NAME = 255  # lambdaops' own: a property is not a metric, but keep keys sane

#: Top-level members of the outcome record: a metric, dimension or property of this name
#: would be written twice in the record that carries the invocation's last document.
RECORD_FIELDS = frozenset(
    [
        "_aws",
        "lambdaops",
        "outcome",
        "supersedes",
        "status_code",
        "request_id",
        "service",
        "function_name",
        "cold_start",
        "duration_ms",
        "billed_duration_ms",
        "memory_limit_mb",
        "max_memory_used_mb",
        "estimated_cost_usd",
        "cpu_ms",
        "cost_basis",
        "trace_id",  # with trace_backend="otel"
        "span_id",
        "trigger",
        "attempt",
        "correlation_id",
        "xray_trace_id",
        "error_type",
        "error_message",
        "items",
        "items_failed",
        "stuck_in",
        "stack",
    ]
)
#: The metrics lambdaops writes itself: a user's metric of the name would mix with them.
OWN_METRICS = frozenset(["ColdStart", "Timeout"])
#: What a document written on its own line carries besides the user's members.
DOCUMENT_MEMBERS = frozenset(["_aws", "request_id", "xray_trace_id"])


def name_problem(kind: str, name: object, limit: int, *, ascii_only: bool = False) -> str | None:
    """Why ``name`` cannot be a ``kind`` name (``metric``, ``dimension``, ``property``),
    or None. Control characters are refused because the schema's ``^(.*)$`` stops at a
    newline and CloudWatch rejects them."""
    if not isinstance(name, str) or not name.strip():
        return f"{kind} name must be a non-empty string, got {name!r}"
    if len(name) > limit:
        return f"{kind} name {name[:40]!r}… is longer than {limit} characters"
    if ascii_only and not (name.isascii() and name.isprintable()):
        return f"{kind} name {name!r} is not printable ASCII (CloudWatch's rule for it)"
    if not name.isprintable():
        return f"{kind} name {name!r} holds a control character"
    if name in OWN_METRICS:
        return f"{kind} name {name!r} is lambdaops' own metric"
    return None


def dimension_name_problem(name: object) -> str | None:
    """CloudWatch's rules for a dimension name, and the EMF schema's length."""
    problem = name_problem("dimension", name, MAX_DIMENSION_NAME, ascii_only=True)
    if problem is None and str(name).startswith(":"):
        return f"dimension name {name!r} starts with a colon"
    return problem


def check_namespace(value: str, source: str) -> str:
    """``value`` if CloudWatch takes it for a namespace; otherwise ``ConfigError`` naming
    ``source``. (``_parse`` checks a namespace that is set; this one also the default,
    the service name.)"""
    problem = None
    if not isinstance(value, str) or not value.strip():
        problem = f"{value!r} is empty"
    elif len(value) > MAX_NAMESPACE:
        problem = f"{value[:40]!r}… is longer than {MAX_NAMESPACE} characters"
    elif value.startswith("AWS/"):
        problem = f"{value!r} starts with AWS/, which CloudWatch reserves for AWS services"
    elif not value.isprintable():
        problem = f"{value!r} holds a control character"
    elif not value.isascii():
        problem = f"{value!r} is not ASCII (CloudWatch's rule for namespaces)"
    elif value.startswith(":"):
        problem = f"{value!r} starts with a colon (CloudWatch's pattern [^:].*)"
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")
    return value


def check_default_dimensions(
    pairs: tuple[tuple[str, str], ...], source: str
) -> tuple[tuple[str, str], ...]:
    """``pairs`` if they make a valid dimension set in every document; otherwise
    ``ConfigError`` naming ``source``. A setting is refused rather than repaired: it is
    a constant, and a deployment that cannot publish its metrics should not start.
    (``_parse`` refuses the same counts and lengths first, naming the variable.)"""
    if len(pairs) > MAX_DIMENSIONS:
        raise ConfigError(
            f"{source}: {len(pairs)} dimensions; a dimension set holds at most {MAX_DIMENSIONS}"
        )
    for name, value in pairs:
        problem = dimension_name_problem(name)
        if problem is None and name in DOCUMENT_MEMBERS:
            problem = f"dimension name {name!r} is a member every document has"
        if problem is None and (not isinstance(value, str) or not value.strip()):
            problem = f"dimension {name!r}: empty value"
        if problem is None and len(value) > MAX_DIMENSION_VALUE:
            problem = f"dimension {name!r}: value longer than {MAX_DIMENSION_VALUE} characters"
        if problem is not None:
            raise ConfigError(f"{source}: {problem}")
    return pairs


def merges_into_record(pairs: tuple[tuple[str, str], ...], service: str) -> bool:
    """Whether documents with these default dimensions can ride in the outcome record:
    not when one takes a record field's name, except ``service`` of the record's value."""
    return all(
        name not in RECORD_FIELDS or (name == "service" and value == service)
        for name, value in pairs
    )
