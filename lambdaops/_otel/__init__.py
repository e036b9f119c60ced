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
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from lambdaops._events import BATCH_TRIGGERS
from lambdaops._otel import _provider
from lambdaops._otel._spans import ANNOTATIONS, SpanHandle, annotation_key
from lambdaops._report import internal_error
from lambdaops._response import HTTP_TRIGGERS
from lambdaops._scope import current_invocation
from lambdaops._traceheader import sampled_ids

if TYPE_CHECKING:
    from lambdaops._config import Config
    from lambdaops._trace import _Options

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


class Opened(NamedTuple):
    """A span made current, and the token that undoes that."""

    sub: SpanHandle
    token: Any


class Settings(NamedTuple):
    capture_response: bool
    capture_error: bool
    namespace: str


_DEFAULTS = Settings(True, True, "default")


class Profile:
    """What every sampled invocation of one handler shares."""

    def __init__(self, config: Config, handler_name: str) -> None:
        self.span_name = f"## {handler_name}"
        self.service = config.service
        self.patch = config.trace_patch
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

    __slots__ = ("handle", "profile", "thread", "token")

    def __init__(self, profile: Profile, handle: SpanHandle, token: Any) -> None:
        self.profile = profile
        self.handle = handle
        self.token = token
        self.thread = threading.get_ident()


_current_profile: Profile | None = None


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
    _tracer = otel_trace.get_tracer("lambdaops")


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
            getattr(module, class_name)().instrument()
        except Exception as exc:
            internal_error("trace.otel.instrument", exc)


def _parent(header: str) -> Any:
    """The context to open the handler's span in: an open OpenTelemetry span (the ADOT
    instrumentation's), else Lambda's X-Ray header; None if the header is not sampled."""
    current = otel_trace.get_current_span()
    if current.get_span_context().is_valid:
        return otel_context.get_current()
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
    global _current_profile
    if profile.patch:
        instrument_loaded()
    parent = _parent(header)
    if parent is None:
        return None
    inv = current_invocation()
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
    _current_profile = profile
    return State(profile, handle, token)


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
            try:
                _own.force_flush(int(_provider.EXPORT_TIMEOUT_S * 1000))
            except Exception as exc:
                internal_error("trace.otel.flush", exc)


def _detach(token: Any) -> None:
    try:
        otel_context.detach(token)
    except Exception as exc:
        internal_error("trace.otel.context", exc)


def settings() -> Settings:
    profile = _current_profile
    return profile.settings if profile is not None else _DEFAULTS


def start(name: str, namespace: str = "local") -> Opened | None:
    """Open a span under the current one and make it current; None if that failed."""
    try:
        span = _tracer.start_span(str(name))
        token = otel_context.attach(otel_trace.set_span_in_context(span))
        return Opened(SpanHandle(span, str(name)), token)
    except Exception as exc:
        internal_error("trace.subsegment", exc)
        return None


def finish(
    sub: SpanHandle,
    token: Any,
    opts: _Options | None = None,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    """Record the outcome per ``opts`` (of ``@trace.capture``), end the span, restore."""
    try:
        wanted = settings()
        if error is not None:
            capture = opts is not None and (
                opts.error if opts.error is not None else wanted.capture_error
            )
            sub.record_error(error, opts.error_key if capture and opts is not None else None)
        elif (
            opts is not None
            and result is not None
            and (opts.response if opts.response is not None else wanted.capture_response)
        ):
            sub.put_metadata(opts.response_key, result, wanted.namespace)
    except Exception as exc:
        internal_error("trace.record", exc)
    try:
        sub.span.end()
    except Exception as exc:
        internal_error("trace.close", exc)
    if token is not None:
        _detach(token)


def call(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    opened = start(opts.name)
    if opened is None:
        return wrapped(*args, **kwargs)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        finish(opened.sub, opened.token, opts, error=exc)
        raise
    finish(opened.sub, opened.token, opts, result=result)
    return result


async def call_async(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    opened = start(opts.name)  # in the task that runs the coroutine: gathered calls are siblings
    if opened is None:
        return await wrapped(*args, **kwargs)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        finish(opened.sub, opened.token, opts, error=exc)
        raise
    finish(opened.sub, opened.token, opts, result=result)
    return result


def generate(gen: Generator[Any, Any, Any], opts: _Options) -> Generator[Any, Any, Any]:
    """Delegate to ``gen``; its span is current only while ``gen`` itself runs."""
    opened = start(opts.name)
    if opened is None:
        return (yield from gen)
    sub, token = opened
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            try:
                item = gen.send(sent) if thrown is None else gen.throw(thrown)
            finally:
                thrown = None
                _detach(token)
            try:
                sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                thrown = exc
            token = otel_context.attach(otel_trace.set_span_in_context(sub.span))
    except StopIteration as stop:
        finish(sub, None)
        return stop.value
    except BaseException as exc:
        finish(sub, None, opts, error=exc)
        raise


async def generate_async(
    agen: AsyncGenerator[Any, Any], opts: _Options
) -> AsyncGenerator[Any, Any]:
    """:func:`generate` for ``async def`` generators."""
    opened = start(opts.name)
    sub, token = opened if opened is not None else (None, None)
    sent: Any = None
    thrown: BaseException | None = None
    try:
        while True:
            try:
                item = await (agen.asend(sent) if thrown is None else agen.athrow(thrown))
            finally:
                thrown = None
                if sub is not None:
                    _detach(token)
            try:
                sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:
                thrown = exc
            if sub is not None:
                token = otel_context.attach(otel_trace.set_span_in_context(sub.span))
    except StopAsyncIteration:
        if sub is not None:
            finish(sub, None)
    except BaseException as exc:
        if sub is not None:
            finish(sub, None, opts, error=exc)
        raise


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
    global _tracer, _own, _current_profile
    _tracer = None
    _own = None
    _current_profile = None
    _instrumented.clear()
