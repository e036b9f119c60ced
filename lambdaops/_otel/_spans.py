"""An OpenTelemetry span behind the methods ``trace.Subsegment`` calls on an X-Ray one."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from lambdaops import _redact
from lambdaops._render import TRUNCATED, encode

#: A metadata value longer than this, as JSON, is cut with a marker (as for X-Ray).
MAX_METADATA = 8192
#: The attribute listing which attributes are annotations: the AWS X-Ray exporters make
#: those indexed annotations, the others metadata.
ANNOTATIONS = "aws.xray.annotations"
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


_keys: dict[object, str] = {}


def annotation_key(key: object) -> str:
    """The same keys as with X-Ray (letters, digits, ``_``), so both backends index alike."""
    cleaned = _keys.get(key)
    if cleaned is None:
        text = str(key)
        cleaned = "".join(c if c in _KEY_CHARS else "_" for c in text)
        if len(_keys) < 1024:  # keys are few and fixed in code; a bound all the same
            _keys[key] = cleaned
    return cleaned


def json_attribute(value: Any) -> str:
    """``value`` as JSON text, cut at :data:`MAX_METADATA` characters with a marker, a
    loaded secret masked (a configured provider's exporter sends what it is given)."""
    text = value if isinstance(value, str) else encode(value)
    if _redact.armed:
        text = _redact.redact(text)
    if len(text) <= MAX_METADATA:
        return text
    return text[:MAX_METADATA] + TRUNCATED.format(len(text) - MAX_METADATA)


def exception_attributes(
    error: BaseException, mask: Callable[[str], str] = str, escaped: bool = False
) -> dict[str, str]:
    """The ``exception`` event's attributes, as the semantic conventions name them."""
    stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    module, name = type(error).__module__, type(error).__qualname__
    return {
        "exception.type": f"{module}.{name}" if module and module != "builtins" else name,
        "exception.message": mask(str(error)),
        "exception.stacktrace": mask(stack),
        "exception.escaped": str(escaped),
    }


class SpanHandle:
    """A span, with ``put_annotation``/``put_metadata`` as on an X-Ray subsegment."""

    __slots__ = ("name", "span")

    def __init__(self, span: Any, name: str) -> None:
        self.span = span
        self.name = name

    @property
    def id(self) -> str:
        return format(self.span.get_span_context().span_id, "016x")

    @property
    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")

    def put_annotation(self, key: str, value: str | int | float | bool) -> None:
        key = annotation_key(key)
        if _redact.armed and isinstance(value, str):
            value = _redact.redact(value)
        self.span.set_attribute(key, value)
        attributes = getattr(self.span, "attributes", None) or {}
        listed = tuple(attributes.get(ANNOTATIONS, ()))
        if key not in listed:
            self.span.set_attribute(ANNOTATIONS, (*listed, key))

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.span.set_attribute(f"{namespace}.{key}", json_attribute(value))

    def record_error(self, error: BaseException, meta_key: str | None = None) -> None:
        """The exception as a span event, status ERROR; its text as metadata if asked.

        With a secret loaded the event is written here, masked: the SDK's
        ``record_exception`` would write ``str(error)`` and the stack as they are.
        """
        text = f"{type(error).__name__}: {error}"
        if _redact.armed:
            self.span.add_event("exception", exception_attributes(error, _redact.redact))
            text = _redact.redact(text)
        else:
            self.span.record_exception(error)
        self.span.set_status(Status(StatusCode.ERROR, text[:1024]))
        if meta_key is not None:
            self.span.set_attribute(meta_key, json_attribute(text))

    def fault(self, description: str) -> None:
        self.span.set_status(Status(StatusCode.ERROR, description))

    def __repr__(self) -> str:
        return f"<SpanHandle {self.name!r} id={self.id}>"


def w3c_parent(event: Any) -> SpanContext | None:
    """A W3C ``traceparent`` (``00-<32 hex>-<16 hex>-<2 hex>``) from the event's HTTP
    headers (any case) or its first SQS record's message attributes; None if absent or
    malformed."""
    value: Any = None
    if isinstance(event, dict):
        headers = event.get("headers")
        if isinstance(headers, dict):
            value = next((v for k, v in headers.items() if str(k).lower() == "traceparent"), None)
        records = event.get("Records")
        if value is None and isinstance(records, list) and records and isinstance(records[0], dict):
            attribute = (records[0].get("messageAttributes") or {}).get("traceparent")
            if isinstance(attribute, dict):
                value = attribute.get("stringValue")
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) != 4 or parts[0] != "00" or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, True, TraceFlags(flags & TraceFlags.SAMPLED))
