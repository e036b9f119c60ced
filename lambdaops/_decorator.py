"""``@instrument``: the one decorator a handler needs.

It resolves the configuration once (so bad settings fail at import), builds
the handler's :class:`~lambdaops._lifecycle.Lifecycle`, and wraps the
handler so name, docstring, signature and ``async``-ness survive.

A handler function gets a plain function wrapper: it costs ~0.15 µs a call
where wrapt's ``FunctionWrapper`` costs ~0.7 µs (benchmarks/wrappers.py). A
method (a handler defined in a class body) gets wrapt's wrapper, whose
descriptor binding hands the lifecycle ``event`` and ``context`` without
``self``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from lambdaops import _config, _settings
from lambdaops._funcs import is_coroutine_function
from lambdaops._lifecycle import Lifecycle

F = TypeVar("F", bound=Callable[..., Any])


def is_instrumented(handler: object) -> bool:
    """Whether ``handler`` is already instrumented (it is never wrapped twice)."""
    return isinstance(getattr(handler, "lambdaops_lifecycle", None), Lifecycle)


def lifecycle_of(handler: object) -> Lifecycle:
    """The lifecycle of an instrumented handler."""
    lifecycle = getattr(handler, "lambdaops_lifecycle", None)
    if not isinstance(lifecycle, Lifecycle):
        raise TypeError(f"{handler!r} is not instrumented by lambdaops")
    return lifecycle


def _plain_function(func: Callable[..., Any]) -> bool:
    """Whether ``func`` is a plain handler function, ``def handler(event, context)``, that
    no class binds: then the cheap wrapper serves. Anything else — a method (defined in a
    class body, or taking ``self``/``cls`` first), ``*args`` without named parameters (a
    decorator's inner function), a callable object — gets wrapt's binding wrapper, which
    hands the lifecycle ``event`` and ``context`` apart from ``self``."""
    code = getattr(func, "__code__", None)
    qualname = getattr(func, "__qualname__", None)
    if code is None or not isinstance(qualname, str) or hasattr(func, "__func__"):
        return False
    if "." in qualname.rpartition("<locals>.")[2]:
        return False  # Service.handle: defined in a class body
    names = code.co_varnames[: code.co_argcount]
    return len(names) >= 2 and names[0] not in ("self", "cls")


def _function_wrapper(func: Callable[..., Any], lifecycle: Lifecycle) -> Callable[..., Any]:
    """A handler function's wrapper: one plain call into the lifecycle."""
    if is_coroutine_function(func):
        # Not ``async def``: Lambda's runtime calls handlers and never awaits them.
        run_async = lifecycle.run_async

        def async_handler(*args: Any, **kwargs: Any) -> Any:
            return run_async(func, None, args, kwargs)

        wrapper: Callable[..., Any] = async_handler
    else:
        wrap = lifecycle.wrap

        def handler(*args: Any, **kwargs: Any) -> Any:
            return wrap(func, None, args, kwargs)

        wrapper = handler
    functools.update_wrapper(wrapper, func)
    wrapper.lambdaops_lifecycle = lifecycle  # type: ignore[attr-defined]
    return wrapper


_method_types: Any = None


def _method_wrapper(func: Callable[..., Any], lifecycle: Lifecycle) -> Callable[..., Any]:
    """A method's (or callable object's) wrapper: wrapt binds ``self`` apart from the args."""
    global _method_types
    if _method_types is None:
        import wrapt

        class BoundInstrumentedMethod(wrapt.BoundFunctionWrapper):  # type: ignore[misc]
            @property
            def lambdaops_lifecycle(self) -> Lifecycle:
                return self._self_parent._self_lifecycle  # type: ignore[no-any-return]

        class InstrumentedMethod(wrapt.FunctionWrapper):  # type: ignore[misc]
            __bound_function_wrapper__ = BoundInstrumentedMethod

            @property
            def lambdaops_lifecycle(self) -> Lifecycle:
                return self._self_lifecycle  # type: ignore[no-any-return]

        _method_types = InstrumentedMethod
    # wrapt calls wrapper(wrapped, instance, args, kwargs): the lifecycle's own
    # methods take exactly that, so no extra frame runs per invocation.
    wrapper = _method_types(
        func, lifecycle.run_async if is_coroutine_function(func) else lifecycle.wrap
    )
    wrapper._self_lifecycle = lifecycle
    return wrapper  # type: ignore[no-any-return]


@overload
def instrument(handler: F, /) -> F: ...


@overload
def instrument(handler: None = None, /, **options: Any) -> Callable[[F], F]: ...


def instrument(handler: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
    """Instrument a Lambda handler: ``@instrument`` or ``@instrument(service=...)``.

    Each option falls back to its environment variables (``LAMBDAOPS_*``, then
    Powertools' names), then to its default. Raises ``ConfigError`` for a bad value.
    The options (written in below from ``_config.OPTIONS``):
    """
    unknown = sorted(set(options) - set(_config.NAMES))
    if unknown:
        raise TypeError(
            f"instrument() got unknown option(s) {', '.join(unknown)}; "
            f"known options: {', '.join(_config.NAMES)}"
        )
    config = _config.resolve(**options)
    _settings.check_environment()  # the process-wide ones too, now rather than at a fetch

    def decorate(func: F) -> F:
        if is_instrumented(func):
            return func  # already instrumented: one lifecycle per handler
        lifecycle = Lifecycle(config)
        if _plain_function(func):
            return _function_wrapper(func, lifecycle)  # type: ignore[return-value]
        return _method_wrapper(func, lifecycle)  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate


def _option_lines() -> str:
    """The docstring's list of options, from the one table (``python -OO`` strips docs)."""
    lines = []
    for option in _config.OPTIONS:
        names = [f"{n} (inverted)" if n == option.negated else n for n in option.env]
        env = f" ({', '.join(names)})" if names else ""
        lines.append(f"    ``{option.name}``{env}: {option.doc}; default {option.shown}.")
    return "\n" + "\n".join(lines) + "\n"


if instrument.__doc__ is not None:
    instrument.__doc__ = instrument.__doc__.rstrip() + _option_lines()
