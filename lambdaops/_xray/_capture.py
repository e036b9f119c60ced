"""``@trace.capture`` and ``trace.subsegment()`` while an invocation is sampled.

:mod:`lambdaops._trace`'s wrappers are one global read and a plain call while no
sampled invocation is in flight; when one is, they call these. Nothing here may
fail the traced code: tracing failures are contained and reported once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from contextvars import Token
from typing import TYPE_CHECKING, Any

from lambdaops import _capture_driver as _driver
from lambdaops._capture_driver import Hooks
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


HOOKS = Hooks(start, finish, _pause, _resume)


async def call_async(
    wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], opts: _Options
) -> Any:
    return await _driver.call_async(HOOKS, wrapped, args, kwargs, opts)


def generate(gen: Generator[Any, Any, Any], opts: _Options) -> Generator[Any, Any, Any]:
    """Delegate to ``gen``; its subsegment is current only while ``gen`` itself runs."""
    return _driver.generate(HOOKS, gen, opts)


def generate_async(agen: AsyncGenerator[Any, Any], opts: _Options) -> AsyncGenerator[Any, Any]:
    """:func:`generate` for ``async def`` generators."""
    return _driver.generate_async(HOOKS, agen, opts)
