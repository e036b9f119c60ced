"""The OpenTelemetry half of tracing (``trace_backend="otel"``), loaded on the first sampled
invocation.

The same functions as :mod:`lambdaops._xray`, over ``opentelemetry-api``: the handler's
span (FaaS semantic conventions, parent from Lambda's X-Ray header unless an
OpenTelemetry span is already open for the invocation), ``@trace.capture`` and
``trace.subsegment()`` spans, annotations and metadata as attributes, exceptions as
span events. ``import lambdaops`` never imports OpenTelemetry.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from lambdaops._events import BATCH_TRIGGERS
from lambdaops._otel import _capture, _provider
from lambdaops._otel._capture import (
    Opened,
    Settings,
    _detach,
    call,
    call_async,
    finish,
    generate,
    generate_async,
    settings,
    start,
)
from lambdaops._otel._spans import ANNOTATIONS, SpanHandle, annotation_key, w3c_parent
from lambdaops._report import internal_error
from lambdaops._response import HTTP_TRIGGERS
from lambdaops._scope import current_invocation
from lambdaops._traceheader import sampled_ids

if TYPE_CHECKING:
    from lambdaops._config import Config

__all__ = [
    "Opened",
    "Profile",
    "annotation_key",
    "begin",
    "call",
    "call_async",
    "current_subsegment",
    "end",
    "finish",
    "generate",
    "generate_async",
    "release",
    "reset",
    "sdk_entity",
    "settings",
    "setup",
    "start",
]

#: The instrumentors used for the libraries ``trace_patch`` covers, when installed.
INSTRUMENTORS = {
    "botocore": ("opentelemetry.instrumentation.botocore", "BotocoreInstrumentor"),
    "requests": ("opentelemetry.instrumentation.requests", "RequestsInstrumentor"),
    "httpx": ("opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
}
_instrumented: set[str] = set()
#: The provider lambdaops made (and so flushes), or None when somebody else's is in use.
_own: Any = None
_tracer: Any = None


class Profile:
    """What every sampled invocation of one handler shares."""

    def __init__(self, config: Config, handler_name: str) -> None:
        self.span_name = f"## {handler_name}"
        self.service = config.service
        self.patch = config.trace_patch
        self.prefer_w3c = config.trace_parent == "w3c"
        self.settings = Settings(
            config.trace_capture_response, config.trace_capture_error, config.service
        )
        self.response_key = f"{handler_name} response"
        self.error_key = f"{handler_name} error"
        env = os.environ
        #: Span attributes from the environment, the same for every invocation.
        self.environment = {
            key: env[var]
            for key, var in (
                ("cloud.region", "AWS_REGION"),
                ("faas.name", "AWS_LAMBDA_FUNCTION_NAME"),
            )
            if env.get(var)
        }


class State:
    """One sampled invocation's handler span."""

    __slots__ = ("deadline_ms", "handle", "profile", "thread", "token")

    def __init__(self, profile: Profile, handle: SpanHandle, token: Any, deadline_ms: int) -> None:
        self.profile = profile
        self.handle = handle
        self.token = token
        self.thread = threading.get_ident()
        #: Lambda's deadline (epoch ms; 0 unknown): the flush must not carry the invocation past it.
        self.deadline_ms = deadline_ms


def setup() -> None:
    """The tracer: on the configured provider, else on a small one of lambdaops' own."""
    global _own, _tracer
    if _tracer is not None:
        return
    if not _provider.configured():
        env = os.environ
        _own = _provider.own_provider(
            {
                "service.name": env.get("LAMBDAOPS_SERVICE")
                or env.get("POWERTOOLS_SERVICE_NAME")
                or env.get("AWS_LAMBDA_FUNCTION_NAME", "service_undefined"),
                "cloud.provider": "aws",
                "cloud.platform": "aws_lambda",
                "cloud.region": env.get("AWS_REGION", ""),
                "faas.name": env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
                "faas.version": env.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
            }
        )
    _tracer = _capture.tracer = otel_trace.get_tracer("lambdaops")


def instrument_loaded() -> None:
    """Instrument the supported libraries the function has imported, once each."""
    for name, (module_name, class_name) in INSTRUMENTORS.items():
        if name in _instrumented or name not in sys.modules:
            continue
        _instrumented.add(name)
        try:
            module = __import__(module_name, fromlist=[class_name])
        except ImportError:
            continue  # the instrumentor is not installed: that library goes untraced
        try:
            instrumentor = getattr(module, class_name)()
            if not getattr(instrumentor, "is_instrumented_by_opentelemetry", False):
                instrumentor.instrument()
        except Exception as exc:
            internal_error("trace.otel.instrument", exc)


def _parent(header: str, inv: Any, prefer_w3c: bool) -> Any:
    """The context to open the handler's span in: an open OpenTelemetry span (the ADOT
    instrumentation's), else — with ``trace_parent="w3c"`` — the event's ``traceparent``,
    else Lambda's X-Ray header; None if what decides says not sampled."""
    current = otel_trace.get_current_span()
    if current.get_span_context().is_valid and current.is_recording():  # an ended one is not
        return otel_context.get_current()
    if prefer_w3c and inv is not None:
        remote = w3c_parent(inv.event)
        if remote is not None:
            if not remote.trace_flags.sampled:
                return None
            return otel_trace.set_span_in_context(NonRecordingSpan(remote))
    ids = sampled_ids(header)
    if ids is None:
        return None
    root, parent = ids
    try:  # Root=1-5759e988-bd862e3fe1be46a994272793 -> 5759e988bd862e3fe1be46a994272793
        trace_id = int(root[2:10] + root[11:], 16)
        span_id = int(parent, 16)
    except ValueError:
        return None
    remote = SpanContext(trace_id, span_id, True, TraceFlags(TraceFlags.SAMPLED))
    return otel_trace.set_span_in_context(NonRecordingSpan(remote))


def begin(profile: Profile, header: str, cold_start: bool) -> State | None:
    """Open the handler's span and make it current."""
    if profile.patch:
        instrument_loaded()
    inv = current_invocation()
    parent = _parent(header, inv, profile.prefer_w3c)
    if parent is None:
        return None
    trigger = getattr(inv, "trigger", "direct") or "direct"
    if trigger in HTTP_TRIGGERS:
        kind, faas_trigger = SpanKind.SERVER, "http"
    elif trigger in BATCH_TRIGGERS:
        kind, faas_trigger = SpanKind.CONSUMER, "pubsub"
    else:
        kind, faas_trigger = SpanKind.SERVER, "other"
    attributes: dict[str, Any] = {
        "faas.trigger": faas_trigger,
        "faas.coldstart": bool(cold_start),
        "cloud.provider": "aws",
        "lambdaops.trigger": trigger,
        # the X-Ray backend's two annotations, set with the rest: one attribute set to build
        "ColdStart": bool(cold_start),
        "Service": profile.service,
        ANNOTATIONS: ("ColdStart", "Service"),
    }
    if inv is not None:
        attributes["faas.invocation_id"] = inv.request_id
        arn = getattr(inv.context, "invoked_function_arn", None)
        if isinstance(arn, str) and arn:
            attributes["cloud.resource_id"] = arn
    attributes.update(profile.environment)
    span = _tracer.start_span(profile.span_name, context=parent, kind=kind, attributes=attributes)
    handle = SpanHandle(span, profile.span_name)
    token = otel_context.attach(otel_trace.set_span_in_context(span, parent))
    _capture.current = profile.settings
    return State(profile, handle, token, getattr(inv, "deadline_ms", 0) or 0)


def end(state: State, result: Any, error: BaseException | None, outcome: str | None = None) -> None:
    """Record the outcome, end the handler's span and flush the spans of our own provider."""
    handle, profile = state.handle, state.profile
    try:
        if error is not None:
            wanted = profile.settings.capture_error
            handle.record_error(error, profile.error_key if wanted else None)
        elif outcome == "timeout":  # ended by the watchdog: the handler is still running
            handle.fault("the handler was still running at the deadline margin")
        elif result is not None and profile.settings.capture_response:
            handle.put_metadata(profile.response_key, result, profile.service)
    finally:
        handle.span.end()
        if state.thread == threading.get_ident():  # the watchdog's thread attached nothing
            _detach(state.token)
        if _own is not None:
            budget_s = flush_budget_s(state.deadline_ms)
            try:
                if budget_s > 0:
                    _own.force_flush(int(budget_s * 1000))
            except Exception as exc:
                internal_error("trace.otel.flush", exc)


def release(state: State) -> None:
    """The handler finished after the watchdog ended its span: detach the span from the
    handler thread's context, which the watchdog's thread could not (else every later
    invocation would nest under it, sampled or not)."""
    if state.thread == threading.get_ident():
        _detach(state.token)


#: Below this, no export is tried: the spans wait for the next flush, the invocation's end is
#: not delayed.
MIN_FLUSH_S = 0.01


def flush_budget_s(deadline_ms: int) -> float:
    """How long the end-of-invocation export may wait: the export timeout, or half of what
    is left before Lambda's deadline (the metrics and the outcome record come after the
    trace, and a collector that hangs must not turn a success into a timeout, nor cost the
    watchdog's timeout record); 0 when that is under :data:`MIN_FLUSH_S`."""
    budget = _provider.EXPORT_TIMEOUT_S
    if deadline_ms:
        budget = min(budget, (deadline_ms - time.time() * 1000) / 2000)
    return budget if budget >= MIN_FLUSH_S else 0.0


def current_subsegment() -> SpanHandle | None:
    """The innermost open span, if it is recording."""
    span = otel_trace.get_current_span()
    if not span.is_recording():
        return None
    return SpanHandle(span, str(getattr(span, "name", "")))


def sdk_entity(target: SpanHandle) -> Any:
    """The OpenTelemetry span itself (``Subsegment.entity``)."""
    return target.span


def reset() -> None:
    """Forget per-process state (tests); a provider set globally stays."""
    global _tracer, _own
    _tracer = _capture.tracer = None
    _own = None
    _capture.current = _capture._DEFAULTS
    # _instrumented stays: an instrumentor's patching outlives this, process-wide
