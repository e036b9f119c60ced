"""Running a captured coroutine or generator inside a span: one driver for both backends.

A backend gives :class:`Hooks` — open a span and make it current, finish it, and take it
off / put it back as current around a generator's suspensions — and these functions do
the rest alike for the X-Ray and the OpenTelemetry backend. A generator's span spans
its first ``next()`` to exhaustion, but is current only while the generator itself
runs, so work the consumer does between items does not nest under it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from lambdaops._trace import _Options


class Hooks(NamedTuple):
    #: ``start(name)``: ``(span, token)`` made current, or None if it could not be.
    start: Callable[[str], Any]
    #: ``finish(span, token, opts=None, result=None, error=None)``.
    finish: Callable[..., None]
    #: ``pause(span, token)``: no longer current (the generator yielded).
    pause: Callable[[Any, Any], None]
    #: ``resume(span)``: current again; returns the token that undoes it.
    resume: Callable[[Any], Any]


def call(
    hooks: Hooks,
    wrapped: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    opts: _Options,
) -> Any:
    opened = hooks.start(opts.name)
    if opened is None:
        return wrapped(*args, **kwargs)
    sub, token = opened
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        hooks.finish(sub, token, opts, error=exc)
        raise
    hooks.finish(sub, token, opts, result=result)
    return result


async def call_async(
    hooks: Hooks,
    wrapped: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    opts: _Options,
) -> Any:
    # Opened when the coroutine runs, in the task that runs it: gathered calls get
    # their own context, so their spans are siblings, not nested in each other.
    opened = hooks.start(opts.name)
    if opened is None:
        return await wrapped(*args, **kwargs)
    sub, token = opened
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        hooks.finish(sub, token, opts, error=exc)
        raise
    hooks.finish(sub, token, opts, result=result)
    return result


def generate(
    hooks: Hooks, gen: Generator[Any, Any, Any], opts: _Options
) -> Generator[Any, Any, Any]:
    """Delegate to ``gen`` (``send``, ``throw`` and ``close`` included) inside its span."""
    opened = hooks.start(opts.name)
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
                hooks.pause(sub, token)
            try:
                sent = yield item
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                thrown = exc
            token = hooks.resume(sub)
    except StopIteration as stop:
        hooks.finish(sub, None)
        return stop.value
    except BaseException as exc:
        hooks.finish(sub, None, opts, error=exc)
        raise


async def generate_async(
    hooks: Hooks, agen: AsyncGenerator[Any, Any], opts: _Options
) -> AsyncGenerator[Any, Any]:
    """:func:`generate` for ``async def`` generators."""
    opened = hooks.start(opts.name)
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
                    hooks.pause(sub, token)
            try:
                sent = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:
                thrown = exc
            if sub is not None:
                token = hooks.resume(sub)
    except StopAsyncIteration:
        if sub is not None:
            hooks.finish(sub, None)
    except BaseException as exc:
        if sub is not None:
            hooks.finish(sub, None, opts, error=exc)
        raise
