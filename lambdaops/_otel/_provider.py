"""The tracer provider lambdaops uses with ``trace_backend="otel"``.

A provider somebody configured (the ADOT layer's ``/opt/otel-instrument``, user
code) is used as it is, and flushes itself. With none, lambdaops makes a small one
(:mod:`lambdaops._otel._lite`) exporting OTLP/HTTP to ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``..._TRACES_ENDPOINT``; the collector extension's ``localhost:4318`` by
default), flushed before each invocation returns — Lambda freezes the environment
after the response, and spans left in memory would be lost.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from opentelemetry import trace as otel_trace

from lambdaops._otel import _http
from lambdaops._otel._lite import LiteProvider
from lambdaops._report import internal_error
from lambdaops._version import __version__

#: One export (and the flush at the end of an invocation) waits at most this long.
EXPORT_TIMEOUT_S = 2.0
#: After a failed export, spans are dropped for this long, doubling to BACKOFF_MAX_S.
BACKOFF_S = 30.0
BACKOFF_MAX_S = 300.0


class BackingOff:
    """Stops trying a dead endpoint for a while, and says so once.

    Without it every invocation would wait out the export timeout.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.until = 0.0
        self.delay = BACKOFF_S
        self.failures = 0
        self._lock = threading.Lock()

    def ready(self) -> bool:
        return time.monotonic() >= self.until

    def export(self, body: bytes, timeout_s: float | None = None) -> bool:
        """Send ``body`` unless backing off. A 2xx is success; another 4xx (the collector is
        there, it refused this request) is said once and not backed off; a connection error,
        a timeout, 408, 429 or 5xx start the back-off."""
        if not self.ready():
            return False
        error: BaseException | None = None
        status = 0
        try:
            status = int(self.inner.export(body, timeout_s))
        except Exception as exc:  # the connection's errors are contained here
            error = exc
        if 200 <= status < 300:
            with self._lock:
                self.delay, self.until = BACKOFF_S, 0.0
            return True
        if 400 <= status < 500 and status not in (408, 429):
            internal_error(
                "trace.otel.export",
                ConnectionError(f"OTLP export to {_http.endpoint()} refused: HTTP {status}"),
            )
            return False
        with self._lock:
            self.failures += 1
            self.until = time.monotonic() + self.delay
            if self.failures == 1:
                reason = (
                    f"{type(error).__name__}: {error}" if error is not None else f"HTTP {status}"
                )
                internal_error(
                    "trace.otel.export",
                    ConnectionError(
                        f"OTLP export to {_http.endpoint()} failed ({reason}); spans are dropped"
                        f" for {self.delay:.0f} s at a time until it answers"
                    ),
                )
            self.delay = min(BACKOFF_MAX_S, self.delay * 2)
        return False

    def shutdown(self) -> None:
        self.inner.shutdown()


def configured() -> bool:
    """Whether somebody set a tracer provider (without importing OpenTelemetry's SDK)."""
    return not isinstance(otel_trace.get_tracer_provider(), otel_trace.ProxyTracerProvider)


def resource(attributes: dict[str, Any]) -> dict[str, Any]:
    """``attributes``, with ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` over
    them as the specification orders, and the ``telemetry.sdk.*`` the SDK would add."""
    out = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "lambdaops",
        "telemetry.sdk.version": __version__,
        **attributes,
    }
    out.update(_http.key_values(os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")))
    service = os.environ.get("OTEL_SERVICE_NAME")
    if service:
        out["service.name"] = service
    return out


def own_provider(resource_attributes: dict[str, Any]) -> LiteProvider:
    """The provider lambdaops makes when none is configured, set as the global one."""
    exporter: BackingOff | None
    try:
        exporter = BackingOff(_http.Exporter(_http.endpoint(), EXPORT_TIMEOUT_S))
    except ValueError as exc:  # said once; the spans are dropped
        internal_error("trace.otel.endpoint", exc)
        exporter = None
    provider = LiteProvider(resource(resource_attributes), exporter)
    otel_trace.set_tracer_provider(provider)
    return provider
