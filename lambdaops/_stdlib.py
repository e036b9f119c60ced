"""Route stdlib ``logging`` records (boto3, urllib3, user loggers) through our pipeline.

awslambdaric installs a text handler on the root logger; lambdaops swaps it
for :class:`LogHandler` so every line in the function's log stream has one
format. Records keep their logger name and any ``extra=`` fields.
"""

from __future__ import annotations

import logging
from typing import Any

from lambdaops._pipeline import admit, emit, hold, level_name
from lambdaops._render import exception_fields, iso_timestamp
from lambdaops._report import internal_error
from lambdaops._scope import current

#: Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
    "taskName",
}


class LogHandler(logging.Handler):
    """A logging handler that writes records as lambdaops JSON lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            scope = current()
            level = record.levelno
            try:
                message = record.getMessage()
            except Exception:
                message = str(record.msg)
            event: dict[str, Any] = {
                "timestamp": iso_timestamp(record.created),
                "level": level_name(level),
                "message": message,
            }
            event.update(scope.log_fields)
            event["logger"] = record.name
            for key, value in record.__dict__.items():
                if key not in _STANDARD and not key.startswith("_"):
                    event[key] = value
            if record.exc_info and record.exc_info[1] is not None:
                event["exception"] = exception_fields(record.exc_info[1])
            if not admit(scope, level):
                if scope.buffer_max:
                    hold(scope, event)
                return
            emit(scope, event, record.levelname.lower())
        except Exception as exc:
            internal_error("stdlib", exc)


_installed: LogHandler | None = None


def install() -> None:
    """Replace the Lambda runtime's root handler with ours, once per process."""
    global _installed
    if _installed is not None:
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__.startswith("LambdaLoggerHandler"):
            root.removeHandler(handler)
    _installed = LogHandler()
    root.addHandler(_installed)


def uninstall() -> None:
    """Remove our handler (tests)."""
    global _installed
    if _installed is not None:
        logging.getLogger().removeHandler(_installed)
        _installed = None
