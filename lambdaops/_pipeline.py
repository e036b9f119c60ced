"""Where every log line ends, whichever door it came in by (``log`` or stdlib ``logging``).

The level check, the debug buffer, the processors and the write live here,
below both :mod:`lambdaops._logger` and the stdlib bridge (:mod:`lambdaops._stdlib`),
so the log signal can install the bridge without an import circle.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Any

from lambdaops import _output
from lambdaops._render import iso_timestamp, render
from lambdaops._scope import Scope

DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRITICAL"}
#: The structlog method name a processor sees, by level.
METHODS = {level: name.lower() for level, name in NAMES.items()}
#: The key that marks lambdaops' own records (outcome records: ``"lambdaops":"outcome"``);
#: a field the caller names so is written as ``user_lambdaops``, so nothing can pass for one.
DISCRIMINATOR = "lambdaops"

#: What processors get as structlog's ``logger`` argument: ``lambdaops.log``, which
#: :mod:`lambdaops._logger` makes and sets here (it sits above this module).
logger: Any = None


class DropEvent(Exception):
    """Raised by a processor to drop the line (structlog's convention)."""


def _drop_event_types() -> tuple[type[BaseException], ...]:
    structlog = sys.modules.get("structlog")
    if structlog is not None:
        return (DropEvent, structlog.DropEvent)
    return (DropEvent,)


def level_name(level: int) -> str:
    for threshold in (CRITICAL, ERROR, WARNING, INFO):
        if level >= threshold:
            return NAMES[threshold]
    return "DEBUG"


def admit(scope: Scope, level: int) -> bool:
    """Whether a line at ``level`` is written now; the one level check of every line.

    A hidden line is the caller's to keep in the debug buffer (``hold``, when
    ``scope.buffer_max``); an ERROR line first writes the buffer out (``fail``).
    """
    if level < scope.level:
        return False
    if level >= ERROR and scope.buffer_max:
        fail(scope)
    return True


def emit(scope: Scope, event: dict[str, Any], method: str = "info") -> None:
    """Run the processors, render and write one event."""
    processors = scope.config.processors
    if processors:
        try:
            for proc in processors:
                event = proc(logger, method, event)
        except _drop_event_types():
            return
    if DISCRIMINATOR in event:
        event["user_" + DISCRIMINATOR] = event.pop(DISCRIMINATOR)
    _output.write(render(event, scope.config.max_line_bytes))


def hold(scope: Scope, event: dict[str, Any]) -> None:
    """Keep a hidden debug line in the bounded buffer, counting evictions."""
    buffer = scope.buffer
    if buffer is None:  # created on the first hidden line: most invocations have none
        buffer = scope.buffer = deque(maxlen=scope.buffer_max)
    elif len(buffer) >= scope.buffer_max:
        scope.evicted += 1
    buffer.append(event)


def fail(scope: Scope) -> None:
    """The invocation failed: write its buffered debug lines, then stop buffering."""
    buffer = scope.buffer
    scope.buffer = None
    scope.buffer_max = 0
    if scope.level > DEBUG:
        scope.level = DEBUG
    if not buffer and not scope.evicted:
        return
    if scope.evicted:
        note = {
            "timestamp": iso_timestamp(),
            "level": "WARNING",
            "message": f"{scope.evicted} older debug lines were evicted from the buffer",
            **scope.log_fields,
            "buffered_evicted": scope.evicted,
        }
        emit(scope, note, "warning")
    while buffer:
        event = buffer.popleft()
        event["buffered"] = True
        emit(scope, event, "debug")
