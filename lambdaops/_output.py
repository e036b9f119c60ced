"""Where every line lambdaops writes goes: stdout, or a sink swapped in by tests.

One function so that redaction, capture and failure containment have a
single place to live. A failing stdout (closed, broken pipe) is reported once
and the line is dropped: observability must not take the handler down.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from lambdaops import _redact
from lambdaops._report import internal_error

Sink = Callable[[str], object]


def _stdout(text: str) -> None:
    sys.stdout.write(text)


_sink: Sink = _stdout


def write(line: str) -> None:
    """Write one JSON line (without its newline); never raises."""
    write_text(line + "\n")


def write_text(text: str) -> None:
    """Write whole lines, newlines included (the hot paths build them so); never raises."""
    try:
        if _redact.armed:
            _write_masked(_redact.redact(text))
        elif _sink is _stdout:
            sys.stdout.write(text)  # the usual case, one call shorter
        else:
            _sink(text)
    except Exception as exc:
        internal_error("output.write", exc)


def _write_masked(text: str) -> None:
    if _sink is _stdout:
        stream: Any = sys.stdout
        if getattr(stream, "_lambdaops_redacting", False):
            stream = stream.inner  # masked once here, not again by our wrapper
        stream.write(text)
    else:
        _sink(text)


def flush() -> None:
    """Flush stdout, before Lambda may freeze the environment."""
    try:
        if _sink is _stdout:
            sys.stdout.flush()
    except Exception as exc:
        internal_error("output.flush", exc)


def set_sink(sink: Sink | None) -> Sink:
    """Install ``sink`` (``None`` restores stdout); returns the previous one."""
    global _sink
    previous = _sink
    _sink = sink if sink is not None else _stdout
    return previous
