"""X-Ray subsegments for a handler and the code it calls, nearly free when unsampled.

``from lambdaops import trace`` gives ``@trace.capture``, ``trace.subsegment()``,
``trace.annotate()`` and ``trace.metadata()``; :class:`TraceSignal` opens the
handler's own subsegment. Lambda decides sampling (``_X_AMZN_TRACE_ID``);
``_active`` counts the sampled invocations in flight, and while it is zero every
wrapper here is one global read and a plain call. The backend — :mod:`lambdaops._xray`
(the X-Ray SDK) or :mod:`lambdaops._otel` (OpenTelemetry), per ``trace_backend`` —
loads on the first sampled invocation. Nothing here may fail a handler: tracing
failures are contained and reported once.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from lambdaops._config import Config
from lambdaops._funcs import (
    is_async_generator_function,
    is_coroutine_function,
    is_generator_function,
)
from lambdaops._report import internal_error

if TYPE_CHECKING:
    from lambdaops._scope import Invocation
    from lambdaops._xray import Opened

__all__ = ["Subsegment", "SubsegmentScope", "Trace", "TraceSignal", "trace"]

F = TypeVar("F", bound=Callable[..., Any])

#: Sampled invocations in flight; zero means every wrapper is a plain call.
_active = 0
_active_lock = threading.Lock()
#: The backend (lambdaops._xray or lambdaops._otel) once a sampled invocation needed it.
_backend: Any = None
_unavailable = False


def _load(choice: str) -> Any:
    """Import and set up the backend, once per process; None if its packages are missing."""
    global _backend, _unavailable
    if _backend is None and not _unavailable:
        try:
            from lambdaops._trace_backend import load

            _backend = load(choice)
        except Exception as exc:
            _unavailable = True
            internal_error("trace.setup", exc)
    return _backend


def _enter() -> None:
    global _active
    with _active_lock:
        _active += 1


def _leave() -> None:
    global _active
    with _active_lock:
        _active = max(0, _active - 1)


# -- the lifecycle signal ---------------------------------------------------------
class TraceSignal:
    """The handler's subsegment, for sampled invocations in Lambda; nothing otherwise."""

    name = "trace"
    #: The lifecycle calls this signal only when the trace header says ``Sampled=1``.
    sampled_only = True

    def __init__(self, config: Config) -> None:
        self.config = config
        env = os.environ
        # Outside Lambda (or under SAM local) there is no daemon and no function segment.
        self.enabled = bool(config.trace and env.get("LAMBDA_TASK_ROOT")) and not env.get(
            "AWS_SAM_LOCAL"
        )
        #: ``## handler`` for ``_HANDLER=app.handler``, as Powertools names it; the layer's
        #: wrapper keeps the original handler in ``LAMBDAOPS_HANDLER``.
        original = env.get("LAMBDAOPS_HANDLER") or env.get("_HANDLER", "")
        self.handler_name = original.rpartition(".")[2] or "handler"
        #: What sampled invocations share (names, keys, annotations), made on the first.
        self._profile: Any = None

    def start(self, inv: Invocation) -> None:
        header = inv.trace_header
        if header is None or not inv.sampled or not self.enabled:
            return
        backend = _load(self.config.trace_backend)
        if backend is None:
            return
        profile = self._profile
        if profile is None:
            profile = self._profile = backend.Profile(self.config, self.handler_name)
        state = backend.begin(profile, header, inv.cold_start)
        if state is not None:
            inv.trace_state = state
            _enter()

    def finish(self, inv: Invocation) -> None:
        state = inv.trace_state
        if state is None:
            return
        if inv.supersedes is not None:
            # The late step: the watchdog ended the span from its thread; what only the
            # handler's thread can undo (its current context) is undone now.
            release = getattr(_backend, "release", None)
            if release is not None:
                release(state)
            return
        _leave()
        _backend.end(state, inv.result, inv.error, inv.outcome)


# -- subsegments ------------------------------------------------------------------
class Subsegment:
    """A subsegment to annotate; every method does nothing when it is not sampled."""

    __slots__ = ("_target",)

    def __init__(self, entity: Any = None) -> None:
        #: Our lightweight span, an SDK subsegment, or None when not sampled.
        self._target = entity

    @property
    def entity(self) -> Any:
        """The backend's own object (an aws-xray-sdk subsegment, made on first access and
        kept in step; or the OpenTelemetry span), or None when not sampled."""
        target = self._target
        if target is None:
            return None
        try:
            return _backend.sdk_entity(target)
        except Exception as exc:
            internal_error("trace.entity", exc)
            return None

    @property
    def sampled(self) -> bool:
        return self._target is not None

    @property
    def id(self) -> str | None:
        return None if self._target is None else str(self._target.id)

    @property
    def trace_id(self) -> str | None:
        return None if self._target is None else str(self._target.trace_id)

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """An indexed, searchable value; other types are recorded as their ``str``."""
        entity = self._target
        if entity is None or value is None:
            return
        try:
            if not isinstance(value, (str, int, float, bool)):
                value = str(value)
            entity.put_annotation(_backend.annotation_key(key), value)
        except Exception as exc:
            internal_error("trace.annotate", exc)

    def metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """An unindexed value of any JSON-able shape, under ``namespace`` (default: service)."""
        entity = self._target
        if entity is None:
            return
        try:
            entity.put_metadata(str(key), value, namespace or _backend.settings().namespace)
        except Exception as exc:
            internal_error("trace.metadata", exc)

    def __repr__(self) -> str:
        target = self._target
        if target is None:
            return "<Subsegment not sampled>"
        return f"<Subsegment {target.name!r} id={target.id}>"


_NOOP = Subsegment()


class SubsegmentScope:
    """What ``trace.subsegment()`` returns, for ``with`` or ``async with``."""

    __slots__ = ("_name", "_namespace", "_opened")

    def __init__(self, name: str | None, namespace: str = "local") -> None:
        self._name = name  # None: the shared scope of unsampled invocations
        self._namespace = namespace
        self._opened: Opened | None = None

    def __enter__(self) -> Subsegment:
        if self._name is None:
            return _NOOP
        opened = self._opened = _backend.start(self._name, self._namespace)
        return _NOOP if opened is None else Subsegment(opened.sub)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        opened = self._opened
        if opened is not None:
            self._opened = None
            _backend.finish(opened.sub, opened.token, error=exc)

    async def __aenter__(self) -> Subsegment:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


_UNSAMPLED = SubsegmentScope(None)


# -- @trace.capture ---------------------------------------------------------------
class _Options:
    __slots__ = ("error", "error_key", "name", "response", "response_key")

    def __init__(self, name: str, key: str, response: bool | None, error: bool | None) -> None:
        self.name = name
        self.response_key = f"{key} response"  # metadata keys
        self.error_key = f"{key} error"
        self.response = response
        self.error = error


def _wrap(func: Callable[..., Any], opts: _Options) -> Callable[..., Any]:
    """A wrapper of ``func``'s own kind that starts with a one-global check.

    Plain closures, not ``wrapt.FunctionWrapper``: wrapt's call dispatch costs
    ~0.5 µs, a closure ~0.1 µs, and ``functools.update_wrapper`` keeps name,
    docstring and signature (through ``__wrapped__``). Each wrapper is a
    ``def``, ``async def`` or generator like ``func``, so ``@instrument`` and
    ``inspect`` see the right kind. Async generators are the exception: an
    ``async def`` wrapper cannot delegate (no ``yield from``) and would re-yield
    every item, so theirs is a ``wrapt.FunctionWrapper`` (``inspect`` sees an async
    generator function) returning the generator itself, wrapped only when sampled.
    """
    if is_coroutine_function(func):

        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            if not _active:
                return await func(*args, **kwargs)
            return await _backend.call_async(func, args, kwargs, opts)

        wrapper: Callable[..., Any] = coroutine
    elif is_async_generator_function(func):

        def async_generator(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> AsyncGenerator[Any, Any]:
            if not _active:
                return wrapped(*args, **kwargs)  # type: ignore[no-any-return]
            return _backend.generate_async(wrapped(*args, **kwargs), opts)  # type: ignore[no-any-return]

        import wrapt  # only here: async generators are rare, and wrapt costs ~2 ms of import

        return wrapt.FunctionWrapper(func, async_generator)  # type: ignore[no-any-return]
    elif is_generator_function(func):

        def generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            if not _active:
                return (yield from func(*args, **kwargs))
            return (yield from _backend.generate(func(*args, **kwargs), opts))

        wrapper = generator
    else:

        def function(*args: Any, **kwargs: Any) -> Any:
            if not _active:
                return func(*args, **kwargs)
            return _backend.call(func, args, kwargs, opts)

        wrapper = function
    functools.update_wrapper(wrapper, func)
    return wrapper


def _capture(
    func: F, name: str | None, capture_response: bool | None, capture_error: bool | None
) -> F:
    if isinstance(func, (staticmethod, classmethod)):  # wrap the function, keep the descriptor
        inner = _capture(func.__func__, name, capture_response, capture_error)
        return type(func)(inner)
    if not callable(func):
        raise TypeError(f"trace.capture expects a function, got {func!r}")
    short = str(getattr(func, "__name__", None) or type(func).__name__)
    qualname = str(getattr(func, "__qualname__", short)).rpartition("<locals>.")[2]
    opts = _Options(name or f"## {qualname}", short, capture_response, capture_error)
    return _wrap(func, opts)  # type: ignore[return-value]


# -- the public object --------------------------------------------------------------
class Trace:
    """``from lambdaops import trace``: X-Ray subsegments around your own code.

    Traced only inside an ``@instrument`` handler whose invocation Lambda
    sampled; everywhere else each call costs about as much as a plain call.
    """

    __slots__ = ()

    @overload
    def capture(self, func: F, /) -> F: ...

    @overload
    def capture(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[[F], F]: ...

    def capture(
        self,
        func: F | None = None,
        /,
        *,
        name: str | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> F | Callable[[F], F]:
        """A subsegment around each call: ``@trace.capture`` or ``@trace.capture(name=...)``.

        Works on functions, methods, ``async def`` and generators (the
        subsegment spans the iteration). The return value and exceptions are
        recorded as metadata like the handler's, per ``capture_response`` /
        ``capture_error`` (default: the handler's ``trace_capture_*`` options).
        """

        def decorate(f: F) -> F:
            return _capture(f, name, capture_response, capture_error)

        if func is not None:
            return decorate(func)
        return decorate

    def subsegment(self, name: str, namespace: str = "local") -> SubsegmentScope:
        """``with trace.subsegment("name") as sub:`` (or ``async with``) around a block."""
        if not _active:
            return _UNSAMPLED
        return SubsegmentScope(name, namespace)

    def current_subsegment(self) -> Subsegment:
        """The innermost open subsegment (a no-op one when not sampled)."""
        if not _active:
            return _NOOP
        try:
            entity = _backend.current_subsegment()
        except Exception as exc:
            internal_error("trace.current", exc)
            return _NOOP
        return _NOOP if entity is None else Subsegment(entity)

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        """Annotate the current subsegment (indexed: searchable in X-Ray)."""
        if _active:
            self.current_subsegment().annotate(key, value)

    def metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Attach unindexed metadata to the current subsegment."""
        if _active:
            self.current_subsegment().metadata(key, value, namespace)

    @property
    def sampled(self) -> bool:
        """Whether code running here is being traced."""
        return bool(_active) and self.current_subsegment().sampled

    def __repr__(self) -> str:
        return "<lambdaops.trace>"


trace = Trace()


def reset() -> None:
    """Forget per-process tracing state (tests)."""
    global _active, _unavailable, _backend
    with _active_lock:
        _active = 0
    _unavailable = False
    if _backend is not None:
        _backend.reset()
        _backend = None  # chosen again by the next sampled invocation
