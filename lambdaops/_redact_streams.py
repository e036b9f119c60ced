"""Redaction of what lambdaops does not write itself, installed with the first secret.

* ``sys.stdout``/``sys.stderr`` and ``sys.__stdout__``/``sys.__stderr__`` are wrapped
  in :class:`RedactingStream` (``print``, tracebacks, warnings);
* ``logging.Handler.format`` masks what every handler formats, whatever its stream or
  formatter (handlers made before the first secret, the runtime's JSON formatter and
  its ``extra=`` fields);
* the Lambda runtime's error report: awslambdaric builds the ``[ERROR]`` line, the
  Runtime API's ``errorMessage``/``errorType``/``stackTrace`` and the X-Ray error cause
  with ``make_error`` and ``make_xray_fault``, which are wrapped to mask their result.

Exceptions themselves are never changed: whoever catches the handler's exception
gets the object it raised; only the text written from it is masked.
``LAMBDAOPS_REDACT_STREAMS=false`` leaves the streams and logging alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

_STREAMS = ("stdout", "stderr", "__stdout__", "__stderr__")
#: The runtime's module and the functions replaced in it, to put back.
_runtime_patched: list[tuple[Any, str, Any]] = []
_logging_format: Any = None


def _unset(text: str) -> str:
    return text


#: ``lambdaops._redact.redact``, handed over by :func:`protect` (this module sits below it).
_mask: Callable[[str], str] = _unset


class RedactingStream:
    """A text stream that masks registered secrets in what is written through it.

    Each ``write`` is masked on its own: a secret split across two writes (it
    would take writing it character by character) is not caught.
    """

    _lambdaops_redacting = True

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    @property
    def inner(self) -> Any:
        return self._inner

    def write(self, text: Any) -> int:
        if isinstance(text, str):
            self._inner.write(_mask(text))
        else:
            self._inner.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def mask_tree(value: Any) -> Any:
    """A copy of ``value`` (str, list, tuple, dict of them) with every string masked."""
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, list):
        return [mask_tree(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_tree(item) for item in value)
    if isinstance(value, dict):
        return {key: mask_tree(item) for key, item in value.items()}
    return value


def _masking(function: Callable[..., Any]) -> Callable[..., Any]:
    def masked(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        try:
            return mask_tree(result)
        except Exception:
            return result

    masked._lambdaops_masked = True  # type: ignore[attr-defined]
    masked.__wrapped__ = function  # type: ignore[attr-defined]
    return masked


def _patch_runtime() -> None:
    """Wrap the runtime's error-report builders, wherever its bootstrap module is loaded."""
    for name in ("awslambdaric.bootstrap", "bootstrap", "__main__"):
        module = sys.modules.get(name)
        if module is None or not callable(getattr(module, "handle_event_request", None)):
            continue
        for attr in ("make_error", "make_xray_fault"):
            function = getattr(module, attr, None)
            if callable(function) and not getattr(function, "_lambdaops_masked", False):
                setattr(module, attr, _masking(function))
                _runtime_patched.append((module, attr, function))


def _patch_logging() -> None:
    global _logging_format
    import logging  # loaded by boto3 and the runtime by the time a secret is

    if _logging_format is None:
        original = logging.Handler.format

        def format(self: logging.Handler, record: logging.LogRecord) -> str:
            text = original(self, record)
            return _mask(text) if isinstance(text, str) else text

        _logging_format = original
        logging.Handler.format = format  # type: ignore[method-assign]


def protect(mask: Callable[[str], str], streams: bool) -> None:
    """Install the wrappers, masking with ``mask`` (``streams``: the std streams and
    logging too); idempotent, never raises."""
    global _mask
    _mask = mask
    try:
        _patch_runtime()
        if streams:
            for name in _STREAMS:
                stream = getattr(sys, name, None)
                if stream is not None and not getattr(stream, "_lambdaops_redacting", False):
                    setattr(sys, name, RedactingStream(stream))
            _patch_logging()
    except Exception:
        pass


def unprotect() -> None:
    """Undo :func:`protect` where our wrappers are still installed (tests)."""
    global _logging_format, _mask
    _mask = _unset
    for name in _STREAMS:
        stream = getattr(sys, name, None)
        while isinstance(stream, RedactingStream):
            stream = stream.inner
            setattr(sys, name, stream)
    if _logging_format is not None:
        import logging

        logging.Handler.format = _logging_format  # type: ignore[method-assign]
        _logging_format = None
    while _runtime_patched:
        module, attr, function = _runtime_patched.pop()
        if getattr(getattr(module, attr, None), "__wrapped__", None) is function:
            setattr(module, attr, function)
