"""``@trace.capture`` and ``trace.subsegment()`` while an invocation is sampled.

:mod:`lambdaops._trace`'s wrappers are one global read and a plain call while no
sampled invocation is in flight; when one is, they call these. Nothing here may
fail the traced code: tracing failures are contained and reported once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import Token
from typing import TYPE_CHECKING, Any

from lambdaops._report import internal_error
from lambdaops._xray._context import Stack
from lambdaops._xray._subsegments import (
    Opened,
    close_subsegment,
    open_subsegment,
    push,
    record_error,
    settings,
    unwind,
)

if TYPE_CHECKING:
    from lambdaops._trace import _Options


def start(name: str, namespace: str = "local") -> Opened | None:
    """Open a subsegment and make it current; None if unsampled or it failed."""
    try:
        return open_subsegment(name, namespace)
    except Exception as exc:
        internal_error("trace.subsegment", exc)
        return None


def finish(
    sub: Any,
    token: Token[Stack] | None,
    opts: _Options | None = None,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    """Record the outcome on the subsegment, close it and send what is finished.

    ``opts`` (of ``@trace.capture``) says which metadata to record; without it,
    only the fault and its cause.
    """
    try:
        if error is not None or (opts is not None and result is not None):
            wanted = settings()
            if error is not None:
                meta_key = None
                if opts is not None and (
                    opts.error if opts.error is not None else wanted.capture_error
                ):
                    meta_key = opts.error_key
                record_error(sub, error, meta_key, wanted.namespace)
            elif opts.response if opts.response is not None else wanted.capture_response:  # type: ignore[union-attr]
                sub.put_metadata(opts.response_key, result, wanted.namespace)  # type: ignore[union-attr]
    except Exception as exc:
        internal_error("trace.record", exc)
    try:
        close_subsegment(sub, token)
    except Exception as exc:
        internal_error("trace.close", exc)


def _resume(sub: Any) -> Token[Stack] | None:
    try:
        return push(sub)
    except Exception as exc:
        internal_error("trace.generator", exc)
        return None


def _pause(sub: Any, token: Token[Stack] | None) -> None:
    try:
        unwind(sub, token)
    except Exception as exc:
        internal_error("trace.generator", exc)


def call(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    try:  # start(), inlined: a call less on every sampled call of a captured function
        opened = open_subsegment(opts.name)
    except Exception as exc:
        internal_error("trace.subsegment", exc)
        opened = None
    if opened is None:
        return wrapped(*args, **kwargs)
    sub, token = opened
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        finish(sub, token, opts, error=exc)
        raise
    finish(sub, token, opts, result=result)
    return result


async def call_async(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    # Opened when the coroutine runs, in the task that runs it: gathered calls get
    # their own context, so their subsegments are siblings, not nested in each other.
    opened = start(opts.name)
    if opened is None:
        return await wrapped(*args, **kwargs)
    sub, token = opened
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        finish(sub, token, opts, error=exc)
        raise
    finish(sub, token, opts, result=result)
    return result


def generate(gen: Generator[Any, Any, Any], opts: _Options) -> Generator[Any, Any, Any]:
    """Delegate to ``gen``; its subsegment is current only while ``gen`` itself runs.

    The subsegment spans first ``next()`` to exhaustion, but work the consumer
    does between items does not nest under it.
    """
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
                _pause(sub, token)
            try:
                sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                thrown = exc
            token = _resume(sub)
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
                if thrown is None:
                    item = await agen.asend(sent)
                else:
                    item = await agen.athrow(thrown)
            finally:
                thrown = None
                if sub is not None:
                    _pause(sub, token)
            try:
                sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:
                thrown = exc
            if sub is not None:
                token = _resume(sub)
    except StopAsyncIteration:
        if sub is not None:
            finish(sub, None)
    except BaseException as exc:
        if sub is not None:
            finish(sub, None, opts, error=exc)
        raise
