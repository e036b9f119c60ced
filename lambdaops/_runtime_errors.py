"""The runtime's own error record, told apart from a user's log line that looks like it.

awslambdaric reports each error it catches (the handler's exception,
``Runtime.UnmarshalError``, ``Runtime.MarshalError``, an init error) with its
``log_error`` (``awslambdaric/bootstrap.py``): in the JSON log format one object
with exactly the keys of :data:`JSON_ERROR_KEYS`; in the text format one log event
(one telemetry frame) of ``[ERROR] Type: message``, ``Traceback (most recent call
last):`` and the stack, whose lines are indented with no-break spaces (U+00A0) and
which has no final ``Type: message`` line. A user's ``logger.exception`` looks
alike: through awslambdaric's JSON formatter it has ``message``, ``logger`` and
``location`` too; in a text format of the user's (``[%(levelname)s] %(name)s:
%(message)s``) Python's traceback follows, indented with ASCII spaces. Lambda
counts neither as a failure, so only the runtime's exact shape may count.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: The keys of awslambdaric's JSON error record, and no others.
JSON_ERROR_KEYS = frozenset(
    {"timestamp", "level", "errorType", "errorMessage", "requestId", "stackTrace"}
)
_TRACEBACK = "Traceback (most recent call last):"
_INDENT = "\u00a0"  # awslambdaric's ERROR_LOG_IDENT
_PYTHON_FRAME = '  File "'  # traceback.format_* indents with ASCII spaces


def is_json_error(obj: dict[str, Any]) -> bool:
    """The object is awslambdaric's JSON error record, not a user's log line with an error."""
    error_type = obj.get("errorType")
    return (
        obj.keys() == JSON_ERROR_KEYS
        and obj.get("level") == "ERROR"
        and isinstance(error_type, str)
        and bool(error_type)
        and isinstance(obj.get("stackTrace"), list)
    )


class ErrorHeader(NamedTuple):
    """``[ERROR] Type: message``: the runtime's error record if the lines after it say so."""

    error_type: str
    message: str


class Step(NamedTuple):
    """What one more line says about a pending ``[ERROR]`` header."""

    verdict: bool | None  # True: the runtime's; False: a user's line; None: not known yet
    consumed: bool  # the line is part of the header's log event


class ErrorEvent:
    """Follows the lines after an ``[ERROR]`` header until they say whose it is.

    The rest of a multi-line event follows its first line without a prefix
    (``aws logs tail``, exports) or, in a log without prefixes, on the next
    lines; a prefixed line starts another event.
    """

    def __init__(self, stream: str | None, header: ErrorHeader) -> None:
        self.stream = stream
        self.header = header
        self.traceback = False

    def step(self, prefixed: bool, line: str, message: str, is_event: bool) -> Step:
        """Take the next line: ``line`` as written, ``message`` without its prefix."""
        if prefixed:
            return Step(self.traceback, False)
        if not self.traceback:
            if message == _TRACEBACK:
                self.traceback = True
                return Step(None, True)
            # more lines of the message, until the next event says there was no traceback
            return Step(False, False) if is_event else Step(None, True)
        if line.startswith(_INDENT):
            return Step(True, True)
        if line.startswith(_PYTHON_FRAME):
            return Step(False, True)  # Python's own traceback: logging's, not the runtime's
        return Step(True, False)  # an empty stack (Runtime.UnmarshalError), then the next event

    def end(self) -> bool:
        """At the end of the log: the runtime's if its traceback line came."""
        return self.traceback
