"""lambdaops' own OpenTelemetry tracer provider, for a function where nobody configured one.

It implements ``opentelemetry-api``'s ``TracerProvider``/``Tracer``/``Span``, so the
instrumentors (botocore, requests, httpx) and user code trace through it as through
the SDK, at a fraction of the SDK's cost per span (no sampler objects, no attribute
copies, no processor chain: issue 17 asks a sampled invocation to cost within 2× of
the X-Ray backend) and without importing the SDK or its exporter (the README's dependency
table has their import cost).

Lambda decides sampling: a span is recorded only under a sampled parent (the handler's
span lambdaops opens from Lambda's header, or a remote W3C parent). A span with no
parent — at import, in another thread, in an unsampled invocation — is not recorded,
so no trace starts that Lambda did not sample. Ended spans wait in memory until the
invocation ends, then go in one OTLP/HTTP request (:mod:`lambdaops._otel._otlp`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from opentelemetry import trace as otel_trace
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TracerProvider,
)
from opentelemetry.util._decorator import _agnosticcontextmanager

from lambdaops import _redact
from lambdaops._otel import _otlp
from lambdaops._otel._spans import exception_attributes

#: Per span, as the SDK's defaults (``OTEL_SPAN_*_COUNT_LIMIT``): past these, dropped.
MAX_ATTRIBUTES = 128
MAX_EVENTS = 128
MAX_LINKS = 128
#: Ended spans kept for the next flush at most (a thread tracing outside any invocation
#: must not grow the process).
MAX_PENDING = 4096
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SCALARS = (str, bool, int, float, bytes)
_PLAIN = frozenset(_SCALARS)
_getrandbits = random.getrandbits
_time_ns = time.time_ns


class Event(NamedTuple):
    name: str
    attributes: Mapping[str, Any]
    timestamp: int


def _value(value: Any) -> Any:
    """An attribute value as OpenTelemetry allows it (a scalar, or a sequence of one scalar
    type, as a tuple), or None to drop it, as the SDK drops what it cannot send."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, (list, tuple)):
        kind = None
        for item in value:  # a loop, not a set of types: most sequences hold 1-3 strings
            if item is None:
                continue
            if kind is None:
                kind = type(item)
                if not issubclass(kind, _SCALARS):
                    return None
            elif type(item) is not kind:
                return None
        return value if type(value) is tuple else tuple(value)
    return None


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Event and link attributes, checked as a span's are (a copy: the caller's mapping
    may change after)."""
    if not attributes:
        return {}
    kept = {}
    for key, value in attributes.items():
        value = _value(value)
        if value is not None and isinstance(key, str) and key:
            kept[key] = value
    return kept


class LiteSpan(Span):
    """A recording span: what the OTLP encoder reads, nothing else."""

    __slots__ = (
        "attributes",
        "context",
        "dropped",
        "dropped_events",
        "dropped_links",
        "end_time",
        "events",
        "kind",
        "links",
        "name",
        "parent",
        "provider",
        "record_exception_on_exit",
        "scope",
        "start_time",
        "status",
        "status_on_exit",
    )

    def __init__(
        self,
        provider: LiteProvider,
        scope: tuple[str, str],
        name: str,
        context: SpanContext,
        parent: SpanContext,
        kind: SpanKind,
        start_time: int | None,
    ) -> None:
        self.provider = provider
        self.scope = scope
        self.name = name
        self.context = context
        self.parent = parent
        self.kind = kind
        self.attributes: dict[str, Any] = {}
        self.events: list[Event] = []
        self.links: list[Link] = []
        self.status: Status | None = None
        self.dropped = self.dropped_events = self.dropped_links = 0
        self.start_time = start_time or _time_ns()
        self.end_time: int | None = None
        self.record_exception_on_exit = True
        self.status_on_exit = True

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self.end_time is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self.end_time is not None or not isinstance(key, str) or not key:
            return
        if type(value) is not str:  # str, by far the most common, needs no check
            value = _value(value)
            if value is None:
                return
        attributes = self.attributes
        if key in attributes or len(attributes) < MAX_ATTRIBUTES:
            attributes[key] = value
        else:
            self.dropped += 1

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self.end_time is not None:
            return
        if len(self.events) >= MAX_EVENTS:
            self.dropped_events += 1
            return
        self.events.append(Event(str(name), _clean(attributes), timestamp or _time_ns()))

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        """As the specification says: a link to an invalid context is kept only if it
        carries attributes or a trace state."""
        if self.end_time is not None or not isinstance(context, SpanContext):
            return
        if not (context.is_valid or attributes or context.trace_state):
            return
        if len(self.links) >= MAX_LINKS:
            self.dropped_links += 1
            return
        self.links.append(Link(context, _clean(attributes)))

    def update_name(self, name: str) -> None:
        if self.end_time is None:
            self.name = str(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """As the specification says: UNSET changes nothing, OK is final, a description
        only with ERROR."""
        if self.end_time is not None:
            return
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        if code is StatusCode.UNSET or (
            self.status is not None and self.status.status_code is StatusCode.OK
        ):
            return
        self.status = Status(code, description if code is StatusCode.ERROR else None)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """The ``exception`` event of the semantic conventions."""
        event = {**exception_attributes(exception, escaped=escaped), **(attributes or {})}
        self.add_event("exception", event, timestamp)

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        """``with tracer.start_span(...)``: an exception recorded and the status set as the
        SDK does (``start_as_current_span`` goes through ``use_span``, which does the same)."""
        if isinstance(exc_val, Exception) and self.is_recording():
            if self.record_exception_on_exit:
                self.record_exception(exc_val, escaped=True)
            if self.status_on_exit:
                self.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc_val}"))
        self.end()

    def end(self, end_time: int | None = None) -> None:
        if self.end_time is None:
            self.end_time = end_time or _time_ns()
            self.provider.on_end(self)

    def __repr__(self) -> str:
        return f"<LiteSpan {self.name!r} {self.context.span_id:016x}>"


class LiteTracer(Tracer):
    def __init__(self, provider: LiteProvider, scope: tuple[str, str]) -> None:
        self.provider = provider
        self.scope = scope

    def start_span(
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        parent = otel_trace.get_current_span(context).get_span_context()
        if not parent.trace_flags.sampled:  # a root (invalid parent) or Lambda said no
            return NonRecordingSpan(parent) if parent.is_valid else INVALID_SPAN
        span_id = _getrandbits(64) or 1
        own = SpanContext(parent.trace_id, span_id, False, _SAMPLED, parent.trace_state)
        span = LiteSpan(self.provider, self.scope, str(name), own, parent, kind, start_time)
        span.record_exception_on_exit = record_exception
        span.status_on_exit = set_status_on_exception
        if attributes:
            if len(attributes) > MAX_ATTRIBUTES:
                span.set_attributes(attributes)
            else:  # the usual case: every pair as it may be sent, copied in one go
                for k, v in attributes.items():
                    if type(k) is str and k and (type(v) in _PLAIN or _value(v) is v is not None):
                        continue  # (_value gives back the very tuple it accepts)
                    span.set_attributes(attributes)
                    break
                else:
                    span.attributes = dict(attributes)
        for link in links or ():
            span.add_link(link.context, link.attributes)
        return span

    @_agnosticcontextmanager  # as the API's tracers: also decorates ``async def`` functions
    def start_as_current_span(
        self,
        name: str,
        context: Any = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with otel_trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class LiteProvider(TracerProvider):
    """Tracers for every instrumentation scope; the ended spans until :meth:`force_flush`."""

    def __init__(self, resource: Mapping[str, Any], exporter: Any) -> None:
        self.resource = dict(resource)
        #: ``ready()``, ``export(body, timeout_s) -> bool``, ``shutdown()``; None drops spans.
        self.exporter = exporter
        self._pending: list[LiteSpan] = []
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()
        self._tracers: dict[tuple[str, str], LiteTracer] = {}
        self.dropped = 0
        self._resource: bytes | None = None

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> Tracer:
        scope = (str(instrumenting_module_name or ""), str(instrumenting_library_version or ""))
        tracer = self._tracers.get(scope)
        if tracer is None:
            tracer = self._tracers[scope] = LiteTracer(self, scope)
        return tracer

    def on_end(self, span: LiteSpan) -> None:
        with self._lock:
            if len(self._pending) < MAX_PENDING:
                self._pending.append(span)
            else:
                self.dropped += 1

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Send the ended spans in one request; False if they could not be sent."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return True
        if self.exporter is None or not self.exporter.ready():
            return False
        if self._resource is None or _redact.armed:  # masked afresh once a secret is loaded
            self._resource = _otlp.resource(self.resource)
        body = _otlp.encode(self._resource, batch)
        with self._export_lock:  # one request at a time on the one connection
            return bool(self.exporter.export(body, timeout_millis / 1000))

    def shutdown(self) -> None:
        try:
            self.force_flush()
        finally:
            if self.exporter is not None:
                self.exporter.shutdown()
