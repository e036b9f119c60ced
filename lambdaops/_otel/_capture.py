"""``@trace.capture`` and ``trace.subsegment()`` spans while an invocation is sampled."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from lambdaops import _capture_driver as _driver
from lambdaops._capture_driver import Hooks
from lambdaops._otel._spans import SpanHandle
from lambdaops._report import internal_error

if TYPE_CHECKING:
    from lambdaops._trace import _Options

#: The tracer, set by ``lambdaops._otel.setup``.
tracer: Any = None


class Opened(NamedTuple):
    """A span made current, and the token that undoes that."""

    sub: SpanHandle
    token: Any


class Settings(NamedTuple):
    capture_response: bool
    capture_error: bool
    namespace: str


_DEFAULTS = Settings(True, True, "default")


#: What the invocation in flight records (its profile's), set by ``begin``.
current: Settings = _DEFAULTS


def _detach(token: Any) -> None:
    try:
        otel_context.detach(token)
    except Exception as exc:
        internal_error("trace.otel.context", exc)


def settings() -> Settings:
    return current


def start(name: str, namespace: str = "local") -> Opened | None:
    """Open a span under the current one and make it current; None if that failed."""
    try:
        span = tracer.start_span(str(name))
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


def _pause(sub: SpanHandle, token: Any) -> None:
    _detach(token)


def _resume(sub: SpanHandle) -> Any:
    return otel_context.attach(otel_trace.set_span_in_context(sub.span))


HOOKS = Hooks(start, finish, _pause, _resume)


def call(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    return _driver.call(HOOKS, wrapped, args, kwargs, opts)


async def call_async(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    return await _driver.call_async(HOOKS, wrapped, args, kwargs, opts)


def generate(gen: Generator[Any, Any, Any], opts: _Options) -> Generator[Any, Any, Any]:
    """Delegate to ``gen``; its span is current only while ``gen`` itself runs."""
    return _driver.generate(HOOKS, gen, opts)


def generate_async(agen: AsyncGenerator[Any, Any], opts: _Options) -> AsyncGenerator[Any, Any]:
    """:func:`generate` for ``async def`` generators."""
    return _driver.generate_async(HOOKS, agen, opts)
