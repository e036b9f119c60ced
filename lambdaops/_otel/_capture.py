"""``@trace.capture`` and ``trace.subsegment()`` spans while an invocation is sampled."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

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
