"""The state a log line is written under: one invocation, or the process.

A :class:`Scope` carries what every signal reads on the hot path (level,
invocation fields, the debug buffer). :class:`Invocation` adds what the
lifecycle learns about one call of the handler. ``current()`` finds the
scope of the running code: the invocation in this context, else the only
invocation in flight (threads the handler started do not inherit context
variables), else the process scope.
"""

from __future__ import annotations

import contextvars
from collections import deque
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


class Invocation(Scope):
    """One call of an instrumented handler, built once at its start.

    Only what every invocation needs is set here; the rest of the Lambda
    context (function version, ARN) is read from it when asked for.
    """

    __slots__ = (
        "attempt",
        "batch_size",
        "cold_start",
        "context",
        "correlation_id",
        "ended_ns",
        "error",
        "event",
        "function_name",
        "lifecycle",
        "memory_limit_mb",
        "outcome",
        "request_id",
        "result",
        "signal_state",
        "stack",
        "started_ns",
        "thread_id",
        "trace_header",
        "trigger",
        "xray_trace_id",
    )

    def __init__(self, config: Config, event: Any, context: Any, lifecycle: Any) -> None:
        # Scope's fields, set here rather than through super(): this runs every invocation.
        self.config = config
        self.level = config.log_level
        self.log_fields = {"service": config.service}
        self.fragment = None
        self.buffer = None
        #: Debug lines to hold back while the level hides them (0: none).
        self.buffer_max = config.debug_buffer if config.log_level > 10 else 0
        self.evicted = 0
        self.metrics = None
        self.event = event
        self.context = context
        #: The Lifecycle running this invocation (the watchdog ends it through this).
        self.lifecycle = lifecycle
        self.request_id = ""
        self.function_name = ""
        self.memory_limit_mb = 0
        self.cold_start = False
        self.trace_header: str | None = None
        self.xray_trace_id: str | None = None
        self.trigger = "direct"
        self.correlation_id: str | None = None
        self.attempt = 1
        self.batch_size: int | None = None
        self.started_ns = 0
        self.ended_ns = 0
        self.outcome: str | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread_id = 0
        #: Where the handler was stuck when the watchdog fired (timeouts only).
        self.stack: list[dict[str, Any]] | None = None
        #: Per-signal scratch space, keyed by the signal's name.
        self.signal_state: dict[str, Any] = {}

    @property
    def function_version(self) -> str:
        return str(getattr(self.context, "function_version", None) or "")

    @property
    def function_arn(self) -> str:
        return str(getattr(self.context, "invoked_function_arn", None) or "")


_STANDARD_FIELDS = frozenset(
    ("service", "request_id", "function_name", "cold_start", "xray_trace_id", "correlation_id")
)
_quoted: dict[str, str] = {}


def _q(text: str) -> str:
    """A JSON string literal, remembered for the few strings that repeat (service, name)."""
    quoted = _quoted.get(text)
    if quoted is None:
        quoted = quote(text)
        if len(_quoted) < 256:
            _quoted[text] = quoted
    return quoted


def fragment(scope: Scope) -> str:
    """The scope's fields as JSON members, built once and shared by every line it writes
    (log lines and the outcome record)."""
    frag = scope.fragment
    if frag is None:
        fields = scope.log_fields
        if isinstance(scope, Invocation) and _STANDARD_FIELDS.issuperset(fields):
            frag = (
                f'"service":{_q(scope.config.service)},"request_id":{quote(scope.request_id)}'
                f',"function_name":{_q(scope.function_name)}'
                f',"cold_start":{"true" if scope.cold_start else "false"}'
            )
            if "xray_trace_id" in fields:
                frag += f',"xray_trace_id":{quote(fields["xray_trace_id"])}'
            if "correlation_id" in fields:
                frag += f',"correlation_id":{quote(fields["correlation_id"])}'
        else:
            frag = encode(fields)[1:-1]
        scope.fragment = frag
    return frag


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "lambdaops_invocation", default=None
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
    if len(_in_flight) == 1:
        return _in_flight[0]
    return _process if _process is not None else process_scope()


def current_invocation() -> Invocation | None:
    """The invocation the calling code belongs to, if any."""
    inv = _current.get()
    if inv is None and len(_in_flight) == 1:
        return _in_flight[0]
    return inv


def enter(inv: Invocation) -> contextvars.Token[Invocation | None]:
    _in_flight.append(inv)  # list.append/remove are atomic: no lock needed
    return _current.set(inv)


def leave(inv: Invocation, token: contextvars.Token[Invocation | None]) -> None:
    try:
        _in_flight.remove(inv)
    except ValueError:
        pass
    try:
        _current.reset(token)
    except ValueError:
        # Reset from another context (an async handler resumed elsewhere).
        _current.set(None)


def reset_process_scope() -> None:
    """Re-read the environment for the process scope (tests, config changes)."""
    global _process
    _process = None
