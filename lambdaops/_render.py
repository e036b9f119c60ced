"""JSON rendering that cannot fail.

The fast path is one call into the C encoder. Anything it refuses (NaN,
cycles, absurd depth) or a line over the size limit takes the slow path,
which writes a copy cut to the limit (:mod:`lambdaops._clip`), bad parts
replaced and what was cut marked.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lambdaops import _redact
from lambdaops._clip import TRUNCATED as TRUNCATED  # the marker of shortened strings
from lambdaops._clip import clip

_MAX_REPR = 2048


def safe_repr(obj: object) -> str:
    """``repr`` that never raises and never runs away."""
    try:
        text = repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"
    if not isinstance(text, str):
        return f"<unrepresentable {type(obj).__name__}>"
    return text if len(text) <= _MAX_REPR else _shorten(text, _MAX_REPR)


def _default(obj: object) -> object:
    """Fallback for values the encoder does not know."""
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "backslashreplace")
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}: {_exc_str(obj)}"
    isoformat = getattr(obj, "isoformat", None)
    if callable(isoformat):
        try:
            return str(isoformat())
        except Exception:
            pass
    return safe_repr(obj)


def _exc_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return safe_repr(exc)


def make_chunk_encoder(default: Callable[[Any], object]) -> Callable[[object, int], Any]:
    """The C encoder with ``default``, built once (``json.dumps`` rebuilds it on every
    call): ``encoder(obj, 0)`` gives the JSON text in pieces, for ``"".join``.

    Compact, ASCII-only, NaN refused. No circular-reference markers: a cycle ends in
    ``RecursionError``, which callers treat as "take the slow path".
    """
    try:
        from _json import make_encoder as c_make_encoder
    except ImportError:  # pragma: no cover - PyPy and friends
        encoder = json.JSONEncoder(default=default, allow_nan=False, separators=(",", ":"))
        return lambda obj, _level: (encoder.encode(obj),)
    return c_make_encoder(
        None, default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
    )


def make_encoder(default: Callable[[Any], object]) -> Callable[[object], str]:
    """Like :func:`make_chunk_encoder`, giving one string."""
    chunks = make_chunk_encoder(default)
    join = "".join
    return lambda obj: join(chunks(obj, 0))


#: The fast encoder, giving the JSON text in pieces.
_encode_chunks = make_chunk_encoder(_default)
_join = "".join
#: A str as a JSON string literal, ASCII-only (C-accelerated).
quote: Callable[[str], str] = json.encoder.encode_basestring_ascii


def encode(obj: object) -> str:
    """The fast encoder alone; raises on NaN, cycles and depth (callers fall back)."""
    text = _join(_encode_chunks(obj, 0))
    if len(text) > _LONG and type(obj) is dict:
        _note_long(obj, len(text) - 2)
    return text


#: Members written by :func:`encode` or :func:`encode_members` longer than ``_LONG``: their
#: text's length and ``(key, id(value))`` pairs. The logger encodes a line's fields before it
#: learns the line is too long, then renders the same values: :func:`render` need not encode
#: them a second time to know. Ids, never the values (no memory kept); a stale note at worst
#: sends a line to the slow path, which writes a line that fits whole unchanged.
_long: tuple[int, tuple[tuple[Any, int], ...]] | None = None
_LONG = 4096
_NO_LINE = 1 << 20  # the largest max_line_bytes _config allows: longer fields fit no line
_ABSENT = object()


def _note_long(fields: Mapping[Any, Any], length: int) -> None:
    global _long
    _long = (length, tuple([(key, id(value)) for key, value in fields.items()]))


def _known_too_long(event: Mapping[str, Any], limit: int) -> bool:
    """Whether ``event`` holds every member last noted, together longer than ``limit``."""
    global _long
    noted, _long = _long, None
    if noted is None or noted[0] + 2 <= limit:
        return False
    get = event.get
    return all(id(get(key, _ABSENT)) == ident for key, ident in noted[1])


def encode_members(fields: Mapping[str, Any]) -> str | None:
    """``fields`` as JSON members, each after a comma (``,"a":1,"b":"x"``), when every
    value is a plain str, int, finite float, bool or None; ``None`` otherwise.

    A log line's own fields are usually one or two such values: formatting them
    here costs about half of a call into the C encoder.
    """
    out = ""
    for key, value in fields.items():
        kind = type(value)
        if kind is str:
            text = quote(value)
        elif kind is int:
            text = int.__repr__(value)
        elif kind is float and value - value == 0:
            text = float.__repr__(value)
        elif value is None:
            text = "null"
        elif kind is bool:
            text = "true" if value else "false"
        else:
            return None
        if type(key) is not str:
            return None
        out += f",{quote(key)}:{text}"
    if len(out) > _LONG:
        _note_long(fields, len(out) - 1)
        if len(out) > _NO_LINE:  # the caller takes the slow path (no copy of it made)
            raise ValueError("longer than any line")
    return out


def _shorten(text: str, cap: int) -> str:
    if _redact.armed:  # before the cut, which could leave a secret's first characters
        text = _redact.redact(text)
        if len(text) <= cap:
            return text
    return text[:cap] + TRUNCATED.format(len(text) - cap)


def render(event: Mapping[str, Any], limit: int) -> str:
    """Encode ``event`` as one JSON line of at most ``limit`` characters.

    ASCII-only output (``\\u`` escapes) keeps characters equal to bytes and
    makes lone surrogates harmless.
    """
    if _long is not None and _known_too_long(event, limit):
        return _render_slow(event, limit)
    try:
        line = _join(_encode_chunks(event, 0))
        if len(line) <= limit:
            return line
    except Exception:
        pass
    return _render_slow(event, limit)


def _render_slow(event: Mapping[str, Any], limit: int) -> str:
    try:
        line = _join(_encode_chunks(clip(event, limit, _default), 0))
        if len(line) <= limit:
            return line
        # Still too long (a limit below the markers): keep the identifying scalars,
        # shortened, and say so. Cutting the JSON text itself would write an invalid line.
        keep: dict[str, Any] = {}
        for key in ("timestamp", "level", "request_id", "service"):
            value = event.get(key)
            if isinstance(value, str):
                keep[key] = value[:64]
        message = event.get("message", "")
        text = message if isinstance(message, str) else safe_repr(message)
        cap = max(limit // 8, 16)
        keep["message"] = text if len(text) <= cap else _shorten(text, cap)
        keep["truncated"] = True
        line = _join(_encode_chunks(keep, 0))
        return line if len(line) <= limit else '{"truncated":true}'
    except Exception as exc:
        return encode(
            {
                "level": "ERROR",
                "message": "lambdaops could not render a line",
                "error": type(exc).__name__,
            }
        )


#: "000" to "999": milliseconds as text without a format call on the hot path.
THREE_DIGITS = tuple(f"{i:03d}" for i in range(1000))
_MILLIS = tuple(f".{i:03d}Z" for i in range(1000))
#: (second, "YYYY-MM-DDTHH:MM:SS") of the last timestamp: one object, so threads
#: never see a second with another second's text.
_ts: tuple[int, str] = (-1, "")


def iso_timestamp(now: float | None = None) -> str:
    """ISO 8601 UTC with milliseconds; the date part is computed once a second."""
    global _ts
    ms = time.time_ns() // 1_000_000 if now is None else int(now * 1000)
    second = ms // 1000
    cached = _ts
    if cached[0] != second:
        cached = _ts = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return cached[1] + _MILLIS[ms - second * 1000]


def frame_fields(frames: Iterable[traceback.FrameSummary]) -> list[dict[str, Any]]:
    """Stack frames as the records write them (an exception's, a timed-out handler's)."""
    return [{"file": f.filename, "line": f.lineno, "function": f.name} for f in frames]


def exception_fields(exc: BaseException, max_frames: int = 50) -> dict[str, Any]:
    """An exception as structured fields: type, message and stack frames."""
    try:
        stack = frame_fields(traceback.extract_tb(exc.__traceback__)[-max_frames:])
    except Exception:
        stack = []
    out: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": _exc_str(exc),
        "stack": stack,
    }
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and cause is not exc:
        out["cause"] = {"type": type(cause).__name__, "message": _exc_str(cause)}
    return out
