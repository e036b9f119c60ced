"""The state a log line is written under: one invocation, or the process.

A :class:`Scope` carries what every signal reads on the hot path (level,
invocation fields, the debug buffer). :class:`Invocation` adds what the
lifecycle learns about one call of the handler. ``current()`` finds the
scope of the running code: the invocation in this context (threads carry the
invocation that started them, see ``install_threads``), else — for threads lambdaops
did not see start — the only invocation in flight, else the process scope.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from lambdaops._config import Config, resolve
from lambdaops._render import encode, quote


class Scope:
    """Logging state shared by every line written under it."""

    __slots__ = (
        "buffer",
        "buffer_max",
        "config",
        "evicted",
        "fragment",
        "level",
        "log_fields",
        "metrics",
    )

    def __init__(self, config: Config) -> None:
        self.config = config
        self.level = config.log_level
        self.log_fields: dict[str, Any] = {"service": config.service}
        #: ``log_fields`` pre-encoded as JSON members, built by the first line written.
        self.fragment: str | None = None
        #: Debug lines held back until the invocation fails; None when off.
        self.buffer: deque[dict[str, Any]] | None = None
        #: How many hidden debug lines to hold; 0 when not buffering.
        self.buffer_max = 0
        self.evicted = 0
        #: Pending metrics (a ``_metrics.MetricSet``), created on first use.
        self.metrics: Any = None

    #: How an invocation ended (set on :class:`Invocation`); the process scope never ends.
    outcome: str | None = None


class Invocation(Scope):
    """One call of an instrumented handler, built once at its start.

    Only what every invocation needs is set here; the rest of the Lambda
    context (function version, ARN) is read from it when asked for, and the
    fields as a dict (``log_fields``) are built only for the lines that need one.
    """

    __slots__ = (
        "attempt",
        "batch_size",
        "cold_start",
        "context",
        "correlation_id",
        "deadline_ms",
        "debug_sampled",
        "emf",
        "ended_ns",
        "error",
        "event",
        "failure",
        "fields",
        "fire_at",
        "function_name",
        "head",
        "lifecycle",
        "memory_limit_mb",
        "outcome",
        "request_id",
        "result",
        "sampled",
        "signal_state",
        "stack",
        "started_ns",
        "supersedes",
        "thread_id",
        "trace_header",
        "trace_state",
        "trigger",
        "xray_trace_id",
    )

    def __init__(
        self,
        config: Config,
        event: Any,
        context: Any,
        lifecycle: Any,
        request_id: str = "",
        function_name: str = "",
        memory_limit_mb: int = 0,
        cold_start: bool = False,
        info: tuple[str, str | None, int, int | None] = ("direct", None, 1, None),
        head: str | None = None,
    ) -> None:
        # Scope's fields, set here rather than through super(): this runs every invocation.
        self.config = config
        self.level = level = config.log_level
        self.fragment = None
        self.buffer = None
        #: Debug lines to hold back while the level hides them (0: none).
        self.buffer_max = config.debug_buffer if level > 10 else 0
        self.evicted = 0
        self.metrics = None
        self.event = event
        self.context = context
        #: The Lifecycle running this invocation (the watchdog ends it through this).
        self.lifecycle = lifecycle
        self.request_id = request_id
        self.function_name = function_name
        self.memory_limit_mb = memory_limit_mb
        self.cold_start = cold_start
        #: The start of ``fragment``: the members the same for every invocation alike.
        self.head = head
        #: What the event says: trigger, correlation id, attempt, batch size.
        self.trigger, self.correlation_id, self.attempt, self.batch_size = info
        self.trace_header: str | None = None
        self.xray_trace_id: str | None = None
        #: Whether the trace header says X-Ray samples this invocation.
        self.sampled = False
        self.debug_sampled = False
        self.fields: dict[str, Any] | None = None
        self.started_ns = 0
        self.ended_ns = 0
        self.outcome: str | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        #: ``time.time()`` at which the watchdog ends the invocation as a timeout.
        self.fire_at = _NEVER
        self.thread_id = 0
        #: Where the handler was stuck when the watchdog fired (timeouts only).
        self.stack: list[dict[str, Any]] | None = None
        #: Lambda's deadline (epoch ms), when the context has one.
        self.deadline_ms = 0
        #: Why a response the handler returned fails in the runtime (``_response.Failure``).
        self.failure: Any = None
        #: ``"timeout"`` when this ending replaces the watchdog's timeout record.
        self.supersedes: str | None = None
        #: The last EMF document, left by the metrics signal for the outcome record.
        self.emf: str | None = None
        #: The handler's X-Ray subsegment state (sampled invocations only).
        self.trace_state: Any = None
        #: Per-signal scratch space for signals plugged in by name, made on first use.
        self.signal_state: dict[str, Any] | None = None

    @property
    def log_fields(self) -> dict[str, Any]:  # type: ignore[override]
        """The invocation's own fields as a dict, for lines that take the dict path."""
        fields = self.fields
        if fields is None:
            fields = self.fields = {
                "service": self.config.service,
                "request_id": self.request_id,
                "function_name": self.function_name,
                "cold_start": self.cold_start,
            }
            if self.xray_trace_id:
                fields["xray_trace_id"] = self.xray_trace_id
                if self.config.trace_backend != "xray":
                    fields.update(otel_ids(self))
            if self.correlation_id:
                fields["correlation_id"] = self.correlation_id
            if self.debug_sampled:
                fields["debug_sampled"] = True
        return fields

    @property
    def function_version(self) -> str:
        return str(getattr(self.context, "function_version", None) or "")

    @property
    def function_arn(self) -> str:
        return str(getattr(self.context, "invoked_function_arn", None) or "")


_NEVER = float("inf")


def otel_ids(inv: Invocation) -> dict[str, str]:
    """OpenTelemetry's hex ids, so lines join traces in any OTel backend: the trace id
    from Lambda's X-Ray root, and the handler span's id once it is open."""
    root = inv.xray_trace_id or ""
    ids = {"trace_id": root[2:10] + root[11:]} if len(root) == 35 else {}
    handle = getattr(inv.trace_state, "handle", None)
    if handle is not None:
        ids["span_id"] = handle.id
    return ids


def fragment_head(service: str, function_name: str, cold_start: bool) -> str:
    """The members the same for every (warm or cold) invocation of a function, up to the
    request id's value: made once per lifecycle, the start of each invocation's fragment."""
    return (
        f'"service":{quote(service)},"function_name":{quote(function_name)}'
        f',"cold_start":{"true" if cold_start else "false"},"request_id":'
    )


def fragment(scope: Scope) -> str:
    """The scope's fields as JSON members, built once and shared by every line it writes
    (log lines and the outcome record)."""
    frag = scope.fragment
    if frag is None:
        if type(scope) is Invocation:
            head = scope.head or fragment_head(
                scope.config.service, scope.function_name, scope.cold_start
            )
            root, cid = scope.xray_trace_id, scope.correlation_id
            if root and cid:  # in one string build: the usual case in Lambda
                frag = (
                    f'{head}{quote(scope.request_id)},"xray_trace_id":{quote(root)}'
                    f',"correlation_id":{quote(cid)}'
                )
            else:
                frag = head + quote(scope.request_id)
                if root:
                    frag += ',"xray_trace_id":' + quote(root)
                if cid:
                    frag += ',"correlation_id":' + quote(cid)
            if root and scope.config.trace_backend != "xray":
                frag += "".join(f',"{k}":{quote(v)}' for k, v in otel_ids(scope).items())
            if scope.debug_sampled:
                frag += ',"debug_sampled":true'
        else:
            frag = encode(scope.log_fields)[1:-1]
        scope.fragment = frag
    return frag


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "lambdaops_invocation", default=None
)
#: True in a thread started outside any invocation: it never borrows one (``install_threads``).
_detached: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lambdaops_detached", default=False
)
_in_flight: list[Invocation] = []
_process: Scope | None = None


def process_scope() -> Scope:
    """The scope for code running outside any invocation (module import, tests)."""
    global _process
    if _process is None:
        _process = Scope(resolve())
    return _process


def current() -> Scope:
    """The scope the calling code runs in; cheap enough for every log line."""
    inv = _current.get()
    if inv is not None:
        return inv
    if len(_in_flight) == 1 and not _detached.get():
        return _in_flight[0]
    return _process if _process is not None else process_scope()


def current_invocation() -> Invocation | None:
    """The invocation the calling code belongs to, if any."""
    inv = _current.get()
    if inv is None and len(_in_flight) == 1 and not _detached.get():
        return _in_flight[0]
    return inv


def in_flight_for(context: Any) -> Invocation | None:
    """The invocation in flight that a handler call with ``context`` belongs to, if any.

    The current invocation while it runs (a handler called from inside another: one
    invocation); else, when this context's invocation has ended or there is none (a thread
    started earlier, serving a later request), the one in flight for the same request id.
    """
    inv = _current.get()
    if inv is not None and inv in _in_flight:
        return inv
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        for inv in list(_in_flight):
            if inv.request_id == request_id:
                return inv
    return None


def join(context: Any) -> contextvars.Token[Invocation | None] | None:
    """Make the invocation in flight that a call with ``context`` serves current in this
    context, for as long as the call runs; the token that undoes it (None: nothing to undo)."""
    inv = in_flight_for(context)
    if inv is None or _current.get() is inv:
        return None
    return _current.set(inv)


def leave(inv: Invocation) -> None:
    try:
        _in_flight.remove(inv)
    except ValueError:
        pass
    # Entered only where no invocation was current, so leaving restores exactly that
    # (and works from another context too: an async handler resumed elsewhere).
    _current.set(None)


def reset_process_scope() -> None:
    """Re-read the environment for the process scope (tests, config changes)."""
    global _process
    _process = None


# -- threads keep the invocation that started them ----------------------------------------
# Python threads start with an empty context, so a thread a handler starts would not know
# its invocation, and one that outlives it would borrow the *next* one (the only one in
# flight). Patching ``Thread.start`` once lets every new thread carry the invocation current
# where it was started — or none, for threads started outside any invocation (guessing
# "the only invocation in flight" there would tie independent invocations together) — and
# ``ThreadPoolExecutor`` tasks carry the invocation that submitted them (a pool's
# long-lived workers serve many invocations). Nothing here runs per invocation.

_threads_installed = False
_futures_patched = False


def _bind(target: Callable[..., Any], inv: Invocation | None) -> Callable[..., Any]:
    """``target`` run under ``inv`` (or detached from every invocation)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(inv)
        detached = _detached.set(inv is None)
        try:
            return target(*args, **kwargs)
        finally:
            _current.reset(token)
            _detached.reset(detached)

    return run


def install_threads() -> None:
    """Patch ``threading.Thread.start`` (once per process)."""
    global _threads_installed
    if _threads_installed:
        return
    _threads_installed = True
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        try:
            # An instance attribute: wins over subclasses' own ``run`` too.
            self.run = _bind(self.run, _current.get())  # type: ignore[method-assign]
            if not _futures_patched:
                install_futures()  # a pool module imported after the first invocation
        except Exception:  # never the reason a thread does not start
            pass
        original(self)

    start.__wrapped__ = original  # type: ignore[attr-defined]
    threading.Thread.start = start  # type: ignore[method-assign]


def install_futures() -> None:
    """Bind pool work items to the submitting invocation, if the pool module is loaded.

    Checked at the first invocation (handler modules import their pools at init) and
    whenever a thread starts until then (a pool starts its workers on its first submit:
    that task runs in a worker bound at its start, the later ones are bound here).
    Importing ``concurrent.futures.thread`` ourselves would cost ~6 ms of cold start.
    """
    global _futures_patched
    module = sys.modules.get("concurrent.futures.thread")
    if _futures_patched or module is None:
        return
    _futures_patched = True
    pool = module.ThreadPoolExecutor
    original = pool.submit

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return original(self, _bind(fn, _current.get()), *args, **kwargs)

    submit.__wrapped__ = original  # type: ignore[attr-defined]
    pool.submit = submit
