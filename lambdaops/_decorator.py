"""``@instrument``: the one decorator a handler needs.

It resolves the configuration once (so bad settings fail at import), builds
the handler's :class:`~lambdaops._lifecycle.Lifecycle`, and wraps the
handler with wrapt so name, docstring, signature and ``async``-ness survive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

import wrapt

from lambdaops import _config
from lambdaops._lifecycle import Lifecycle

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = _config.resolve.__code__.co_varnames[: _config.resolve.__code__.co_kwonlyargcount]


class InstrumentedHandler(wrapt.FunctionWrapper):  # type: ignore[misc]
    """The wrapper type, so an instrumented handler is recognised (never wrapped twice)."""

    @property
    def lambdaops_lifecycle(self) -> Lifecycle:
        return self._self_lifecycle  # type: ignore[no-any-return]


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE, without importing asyncio (~20 ms)


def _is_async(func: Callable[..., Any]) -> bool:
    code = getattr(func, "__code__", None)
    return bool(getattr(code, "co_flags", 0) & _CO_COROUTINE)


@overload
def instrument(handler: F, /) -> F: ...


@overload
def instrument(handler: None = None, /, **options: Any) -> Callable[[F], F]: ...


def instrument(handler: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
    """Instrument a Lambda handler: ``@instrument`` or ``@instrument(service=...)``.

    Options: ``service``, ``namespace``, ``log_level``, ``debug_sample_rate``,
    ``debug_buffer``, ``max_line_bytes``, ``capture_stdlib``, ``processors``;
    each falls back to its ``LAMBDAOPS_*`` environment variable, then to
    Powertools' name, then to a default. Raises ``ConfigError`` for a bad value.
    """
    unknown = sorted(set(options) - set(_OPTIONS) | ({"environ"} & set(options)))
    if unknown:
        raise TypeError(
            f"instrument() got unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(o for o in _OPTIONS if o != 'environ')}"
        )
    config = _config.resolve(**options)

    def decorate(func: F) -> F:
        if isinstance(func, InstrumentedHandler):
            return func  # already instrumented: one lifecycle per handler
        lifecycle = Lifecycle(config)
        # wrapt calls wrapper(wrapped, instance, args, kwargs): the lifecycle's own
        # methods take exactly that, so no extra frame runs per invocation.
        wrapper = InstrumentedHandler(
            func, lifecycle.wrap_async if _is_async(func) else lifecycle.wrap
        )
        wrapper._self_lifecycle = lifecycle
        return wrapper

    if handler is not None:
        return decorate(handler)
    return decorate
