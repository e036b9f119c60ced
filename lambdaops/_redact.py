"""Secret redaction: values lambdaops loaded as secrets never leave the process.

Secrets are registered as they are loaded (decrypted SecureString parameters,
Secrets Manager values). :func:`redact` replaces each registered value, in
every spelling a line can carry it (raw, JSON-escaped, ``repr``-escaped), with
:data:`MASK`. ``_output.write`` applies it to every line lambdaops writes;
with nothing registered the check there is one truthiness test.

Output lambdaops does not write itself is covered once the first secret is
registered: ``sys.stdout``/``sys.stderr`` are wrapped in a redacting stream
(``print``, tracebacks, awslambdaric's ``[ERROR]`` line when it logs to
stdout), the root logger's handlers get a redacting filter, and the lifecycle
scrubs the handler's exception (:func:`scrub_exception`) before the runtime
reports it. Values shorter than :func:`configured_min_length` are not redacted: masking
every "true" or "prod" would make logs unreadable.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

#: Replacement text for a redacted value.
MASK = "***"
#: Default for ``LAMBDAOPS_REDACT_MIN_LENGTH``: shorter values are not redacted.
MIN_LENGTH = 6

#: Every registered spelling, longest first (so no partial leftovers). Replaced, never
#: mutated: a fetch thread may register while another thread is redacting (an in-place
#: sort would show it an empty list). ``_output.write`` tests it directly: keep it a
#: list, empty when inactive, read through the module.
_needles: list[str] = []
_lock = threading.Lock()
#: Markers the renderer appends when it shortens a string (raw and JSON-escaped).
_CUT_MARKS = ("\u2026[truncated ", "\\u2026[truncated ")


def configured_min_length() -> int:
    """``LAMBDAOPS_REDACT_MIN_LENGTH``, else :data:`MIN_LENGTH` (read per registration)."""
    raw = os.environ.get("LAMBDAOPS_REDACT_MIN_LENGTH")
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            pass
    return MIN_LENGTH


def _spellings(value: str) -> set[str]:
    """How ``value`` can appear in text: raw, inside JSON, inside a repr, both."""
    inner_repr = repr(value)[1:-1]
    return {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        inner_repr,
        json.dumps(inner_repr)[1:-1],
    }


def register(value: str, min_length: int | None = None) -> None:
    """Redact ``value`` from everything lambdaops writes from now on."""
    if not isinstance(value, str):
        return
    if len(value) < (min_length if min_length is not None else configured_min_length()):
        return
    global _needles
    with _lock:
        new = [form for form in _spellings(value) if form and form not in _needles]
        if not new:
            return
        _needles = sorted(_needles + new, key=len, reverse=True)
    if _streams_wanted():
        protect_streams()


def register_secret(value: Any) -> None:
    """Register a loaded secret and every string inside it.

    A Secrets Manager value is often a JSON document (``{"password": ...}``):
    the handler usually logs one field, so each string leaf is registered too.
    Bytes are registered as the text they decode to.
    """
    limit = configured_min_length()
    _register_tree(value, limit, 0)


def _register_tree(value: Any, limit: int, depth: int) -> None:
    if depth > 32:
        return
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return
    if isinstance(value, str):
        register(value, limit)
        text = value.strip()
        if depth == 0 and text[:1] in ("{", "[") and len(text) >= 2:
            try:
                parsed = json.loads(text)
            except ValueError:
                return
            _register_tree(parsed, limit, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _register_tree(item, limit, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _register_tree(item, limit, depth + 1)


def redact(text: str) -> str:
    """``text`` with every registered secret masked."""
    needles = _needles
    for needle in needles:
        if needle in text:
            text = text.replace(needle, MASK)
    if "[truncated " in text:
        text = _mask_cut_prefixes(text, needles)
    return text


def _mask_cut_prefixes(text: str, needles: list[str]) -> str:
    """Mask the start of a secret left where the renderer shortened a string.

    A string cut at its size cap can end in the first characters of a secret;
    the text is already truncated, so masking them loses nothing.
    """
    for mark in _CUT_MARKS:
        start = 0
        while True:
            at = text.find(mark, start)
            if at < 0:
                break
            head = text[:at]
            cut = 0
            for needle in needles:
                for size in range(min(len(needle) - 1, len(head)), cut, -1):
                    if head.endswith(needle[:size]):
                        cut = size
                        break
            if cut:
                text = head[:-cut] + MASK + text[at:]
                at += len(MASK) - cut
            start = at + len(mark)
    return text


def active() -> bool:
    return bool(_needles)


# -- exceptions -----------------------------------------------------------------------

_C_ATTRS = ("strerror", "filename", "filename2", "msg", "text", "reason")
_scrubbed_types: dict[type[BaseException], type[BaseException]] = {}


def scrub_exception(exc: BaseException | None) -> None:
    """Mask registered secrets in an exception's message, notes and chain, in place.

    For the lifecycle's error path: the runtime prints ``str(exc)`` and posts
    it to the Runtime API (in Lambda through a log fd no stream wrapper sees),
    so the exception itself must be clean. Never raises.
    """
    if exc is None or not _needles:
        return
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        try:
            _scrub_one(item)
        except Exception:
            pass
        for linked in (item.__cause__, item.__context__):
            if linked is not None:
                todo.append(linked)


def _leaks(text: str) -> bool:
    return any(needle in text for needle in _needles)


def _clean(value: Any) -> Any:
    """A str with secrets masked; other values unchanged unless their repr leaks."""
    if isinstance(value, str):
        return redact(value) if _leaks(value) else value
    try:
        text = repr(value)
    except Exception:
        return value
    return redact(text) if _leaks(text) else value


def _scrub_one(exc: BaseException) -> None:
    args = exc.args
    cleaned = tuple(_clean(arg) for arg in args)
    if any(a is not b for a, b in zip(args, cleaned, strict=True)):
        exc.args = cleaned
    for name in _C_ATTRS:
        value = getattr(exc, name, None)
        if isinstance(value, str) and _leaks(value):
            try:
                setattr(exc, name, redact(value))
            except (AttributeError, TypeError):
                pass
    attrs = getattr(exc, "__dict__", None)
    if attrs:
        for name, value in list(attrs.items()):
            if isinstance(value, str) and _leaks(value):
                attrs[name] = redact(value)
            elif name == "__notes__" and isinstance(value, list):
                attrs[name] = [redact(n) if isinstance(n, str) else n for n in value]
    try:
        text = str(exc)
    except Exception:
        return
    if _leaks(text):
        _mask_str(exc)


def _mask_str(exc: BaseException) -> None:
    """Last resort for a custom ``__str__``: a same-named subclass whose str is masked.

    ``except`` clauses still match (it is a subclass); only heap types allow it.
    """
    cls = type(exc)
    if cls in _scrubbed_types.values():
        return
    masked = _scrubbed_types.get(cls)
    if masked is None:

        def __str__(self: BaseException) -> str:
            return redact(cls.__str__(self))

        def __repr__(self: BaseException) -> str:
            return redact(cls.__repr__(self))

        masked = type(
            cls.__name__,
            (cls,),
            {
                "__str__": __str__,
                "__repr__": __repr__,
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
            },
        )
        _scrubbed_types[cls] = masked
    try:
        exc.__class__ = masked
    except TypeError:
        pass


# -- streams and stdlib logging ---------------------------------------------------------


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
        if _needles and isinstance(text, str):
            self._inner.write(redact(text))
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


def _filter_record(record: Any) -> bool:
    """A logging filter (callables are accepted): masks a record before it is formatted."""
    if not _needles:
        return True
    try:
        message = record.getMessage()
        if _leaks(message):
            record.msg = redact(message)
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
        if record.exc_text and _leaks(record.exc_text):
            record.exc_text = redact(record.exc_text)
        if record.stack_info and _leaks(record.stack_info):
            record.stack_info = redact(record.stack_info)
    except Exception:
        pass
    return True


#: Handlers given the filter, so clear() can take it back.
_filtered: list[Any] = []


def _streams_wanted() -> bool:
    raw = os.environ.get("LAMBDAOPS_REDACT_STREAMS", "").strip().lower()
    return raw not in ("0", "false", "no", "off")


def protect_streams() -> None:
    """Wrap stdout/stderr and filter the root logger's handlers; idempotent, never raises."""
    try:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is not None and not getattr(stream, "_lambdaops_redacting", False):
                setattr(sys, name, RedactingStream(stream))
        import logging  # here, not at import: logging costs ~3 ms of cold start

        for handler in logging.getLogger().handlers:
            if _filter_record not in handler.filters:
                handler.addFilter(_filter_record)
                _filtered.append(handler)
    except Exception:
        pass


def unprotect_streams() -> None:
    """Undo :func:`protect_streams` where our wrapper is still the installed stream."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        while isinstance(stream, RedactingStream):
            stream = stream.inner
            setattr(sys, name, stream)
    for handler in _filtered:
        handler.removeFilter(_filter_record)
    _filtered.clear()


def clear() -> None:
    """Forget every registered secret and unwrap the streams (tests)."""
    global _needles
    with _lock:
        _needles = []
    unprotect_streams()
