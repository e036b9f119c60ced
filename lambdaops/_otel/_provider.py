"""The tracer provider lambdaops uses with ``trace_backend="otel"``.

A provider somebody configured (the ADOT layer's ``/opt/otel-instrument``, user
code) is used as it is, and flushes itself. With none, lambdaops makes a small
one: the OpenTelemetry SDK exporting OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``..._TRACES_ENDPOINT``; the collector extension's ``localhost:4318`` by
default), flushed before each invocation returns — Lambda freezes the
environment after the response, and a batch left in memory would be lost.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from lambdaops._report import internal_error

#: One export (and the flush at the end of an invocation) waits at most this long.
EXPORT_TIMEOUT_S = 2.0
#: After a failed export, spans are dropped for this long, doubling to BACKOFF_MAX_S.
BACKOFF_S = 30.0
BACKOFF_MAX_S = 300.0


class BackingOff(SpanExporter):
    """An exporter that stops trying a dead endpoint for a while, and says so once.

    Without it every invocation would wait out the export timeout.
    """

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.until = 0.0
        self.delay = BACKOFF_S
        self.failures = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        if time.monotonic() < self.until:
            return SpanExportResult.FAILURE
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # the exporter's own errors are contained here
            result = SpanExportResult.FAILURE
            internal_error("trace.otel.export", exc)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self.delay, self.until = BACKOFF_S, 0.0
            else:
                self.failures += 1
                self.until = time.monotonic() + self.delay
                if self.failures == 1:
                    internal_error(
                        "trace.otel.export",
                        ConnectionError(
                            f"OTLP export to {_endpoint()} failed; spans are dropped for "
                            f"{self.delay:.0f} s at a time until it answers"
                        ),
                    )
                self.delay = min(BACKOFF_MAX_S, self.delay * 2)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))


#: Ended spans kept for the next flush at most (a thread tracing outside any invocation
#: must not grow the process).
MAX_PENDING = 4096


class InvocationBatch(SpanProcessor):
    """Keeps ended spans and exports them in one request when the invocation ends, in the
    handler's thread: no worker thread to wake and wait for, as a batch processor needs."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.span_exporter = exporter
        self._pending: list[ReadableSpan] = []
        self._lock = threading.Lock()
        self.dropped = 0

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            if len(self._pending) < MAX_PENDING:
                self._pending.append(span)
            else:
                self.dropped += 1

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return True
        return self.span_exporter.export(batch) is SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.force_flush()
        self.span_exporter.shutdown()


def _endpoint() -> str:
    env = os.environ
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    return base.rstrip("/") + "/v1/traces"


def configured() -> bool:
    """Whether somebody set a tracer provider (without importing OpenTelemetry's SDK)."""
    return not isinstance(otel_trace.get_tracer_provider(), otel_trace.ProxyTracerProvider)


def own_provider(resource_attributes: dict[str, Any]) -> Any:
    """The SDK provider lambdaops makes when none is configured, set as the global one."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create(resource_attributes))
    exporter = BackingOff(OTLPSpanExporter(endpoint=_endpoint(), timeout=EXPORT_TIMEOUT_S))
    provider.add_span_processor(InvocationBatch(exporter))
    otel_trace.set_tracer_provider(provider)
    return provider
