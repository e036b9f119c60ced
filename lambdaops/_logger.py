"""Structured logs: one JSON object per line, structlog-style binding.

The pipeline follows structlog's processor protocol — each processor is
``processor(logger, method_name, event_dict) -> event_dict`` and may raise
``DropEvent`` — so structlog's own processors plug in through the
``processors`` option. It is not built on structlog's classes because
importing structlog costs tens of milliseconds of cold start (the README's
dependency table, ``python benchmarks/imports.py``); the steps that run on
every line are inlined here instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from lambdaops import _output, _pipeline
from lambdaops._config import Config
from lambdaops._pipeline import (
    CRITICAL,
    DEBUG,
    DISCRIMINATOR,
    ERROR,
    INFO,
    METHODS,
    NAMES,
    WARNING,
    DropEvent,
    admit,
    emit,
    fail,
    hold,
    level_name,
)
from lambdaops._render import encode, encode_members, exception_fields, iso_timestamp, quote
from lambdaops._report import internal_error
from lambdaops._scope import Invocation, Scope, _current, current, fragment

__all__ = ["DISCRIMINATOR", "BoundLogger", "DropEvent", "LogSignal", "log"]

#: Every key lambdaops itself puts in a line: a user field named so takes the dict path,
#: where it wins instead of being written twice.
_OWN_KEYS = frozenset(
    (
        "timestamp",
        "level",
        "message",
        "service",
        "request_id",
        "function_name",
        "cold_start",
        "xray_trace_id",
        "correlation_id",
        "debug_sampled",
        DISCRIMINATOR,
    )
)


class BoundLogger:
    """A logger with bound fields; binding returns a new logger."""

    __slots__ = ("_bound",)

    def __init__(self, bound: dict[str, Any] | None = None) -> None:
        self._bound: dict[str, Any] = bound or {}

    # -- binding ------------------------------------------------------------
    def bind(self, **fields: Any) -> BoundLogger:
        """A new logger that adds ``fields`` to every line."""
        return BoundLogger({**self._bound, **fields})

    def unbind(self, *keys: str) -> BoundLogger:
        """A new logger without ``keys``; a missing key raises ``KeyError``."""
        bound = dict(self._bound)
        for key in keys:
            del bound[key]
        return BoundLogger(bound)

    def try_unbind(self, *keys: str) -> BoundLogger:
        """Like :meth:`unbind`, ignoring missing keys."""
        return BoundLogger({k: v for k, v in self._bound.items() if k not in keys})

    def new(self, **fields: Any) -> BoundLogger:
        """A new logger with only ``fields`` bound."""
        return BoundLogger(dict(fields))

    @property
    def fields(self) -> dict[str, Any]:
        """A copy of the bound fields."""
        return dict(self._bound)

    # -- levels ---------------------------------------------------------------
    def debug(self, message: object, /, **fields: Any) -> None:
        self._log(DEBUG, message, fields)

    def info(self, message: object, /, **fields: Any) -> None:
        self._log(INFO, message, fields)

    def warning(self, message: object, /, **fields: Any) -> None:
        self._log(WARNING, message, fields)

    warn = warning

    def error(self, message: object, /, **fields: Any) -> None:
        self._log(ERROR, message, fields)

    def critical(self, message: object, /, **fields: Any) -> None:
        self._log(CRITICAL, message, fields)

    def exception(self, message: object, /, **fields: Any) -> None:
        """An ERROR line with the exception being handled as structured fields."""
        fields.setdefault("exc_info", True)
        self._log(ERROR, message, fields)

    def is_enabled_for(self, level: int) -> bool:
        """Whether a line at ``level`` would be written now (not counting the buffer)."""
        return level >= current().level

    # -- the pipeline ---------------------------------------------------------
    def _log(self, level: int, message: object, fields: dict[str, Any]) -> None:
        try:
            scope = _current.get() or current()  # current()'s first step, inline: every line
            # admit() only when it has work: an INFO line at level INFO skips a call
            if (level < scope.level or level >= ERROR) and not admit(scope, level):
                if scope.buffer_max:
                    hold(scope, self._event(scope, level, message, fields))
                return
            config = scope.config
            if not config.processors and "exc_info" not in fields:
                # The common line, without an event dict: the invocation's own fields are
                # encoded once per invocation (``scope.fragment``), the caller's per line.
                user = {**self._bound, **fields} if self._bound else fields
                tail: str | None = ""
                if user:
                    if _OWN_KEYS.isdisjoint(user):
                        try:
                            tail = encode_members(user) or "," + encode(user)[1:-1]
                        except Exception:
                            tail = None  # NaN, cycles, depth, huge ints: the slow path copes
                    else:
                        tail = None  # a user field shadows a contract key: the dict decides
                if tail is not None:
                    text = message if type(message) is str else _as_message(message)
                    line = (
                        f'{{"timestamp":"{iso_timestamp()}"'
                        f',"level":"{NAMES.get(level) or level_name(level)}"'
                        f',"message":{quote(text)},{scope.fragment or fragment(scope)}{tail}}}\n'
                    )
                    if len(line) <= config.max_line_bytes + 1:
                        _output.write_text(line)
                        return
            emit(scope, self._event(scope, level, message, fields), METHODS.get(level, "info"))
        except Exception as exc:
            internal_error("log", exc)

    def _event(
        self, scope: Scope, level: int, message: object, fields: dict[str, Any]
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "timestamp": iso_timestamp(),
            "level": NAMES.get(level) or level_name(level),
            "message": message if isinstance(message, str) else _as_message(message),
        }
        event.update(scope.log_fields)
        if self._bound:
            event.update(self._bound)
        if fields:
            exc_info = fields.pop("exc_info", None)
            event.update(fields)
            if exc_info:
                exc = _exception_from(exc_info)
                if exc is not None:
                    event["exception"] = exception_fields(exc)
        return event


def _as_message(message: object) -> str:
    from lambdaops._render import safe_repr

    if isinstance(message, str):  # a str subclass (StrEnum, Markup): its text, as JSON has it
        return str.__str__(message)
    if isinstance(message, BaseException):
        return str(message)
    return safe_repr(message)


def _exception_from(exc_info: object) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        value = exc_info[1]
        return value if isinstance(value, BaseException) else None
    return sys.exc_info()[1]


#: The logger users import: ``from lambdaops import log``.
log = BoundLogger()
_pipeline.logger = log


class LogSignal:
    """The log signal's part of the lifecycle: level, sampling and the debug buffer."""

    name = "log"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._rate = config.debug_sample_rate
        if config.capture_stdlib:
            # At decoration time the runtime has set up its root handler already.
            from lambdaops import _stdlib

            _stdlib.install()
        # The buffer size comes with the invocation (Lifecycle.buffer_max); only debug
        # sampling has work to do when an invocation starts.
        self.start: Callable[[Invocation], None] | None = None
        if self._rate:
            from random import random  # ~1 ms of import: only for functions that sample

            self._random = random
            self.start = self._sample

    def _sample(self, inv: Invocation) -> None:
        if self._random() < self._rate:
            inv.level = DEBUG
            inv.buffer_max = 0
            inv.debug_sampled = True
            inv.fields = None
            inv.fragment = None

    def finish(self, inv: Invocation) -> None:
        if inv.outcome != "success" and inv.buffer_max:
            fail(inv)
        inv.buffer = None
        inv.buffer_max = 0
