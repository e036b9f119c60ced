"""JSON rendering that cannot fail.

The fast path is one call into the C encoder. Anything it refuses (NaN,
cycles, absurd depth) or a line over the size limit takes the slow path,
which rebuilds a plain copy of the value with bad parts replaced by markers.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Marker appended to shortened strings; says how much was cut.
TRUNCATED = "…[truncated {} chars]"
_MAX_DEPTH = 32
_MAX_REPR = 2048
_MAX_INT_BITS = 14_000  # ~4,200 decimal digits: below Python's int-to-text limit


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
    return _join(_encode_chunks(obj, 0))


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
    return out


def _shorten(text: str, cap: int) -> str:
    return text[:cap] + TRUNCATED.format(len(text) - cap)


def _plain(obj: object, cap: int, seen: set[int], depth: int) -> Any:
    """A JSON-safe copy of ``obj``: cycles cut, NaN named, strings and huge ints capped."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        # Past ~4,300 digits int-to-text raises (sys.int_info.str_digits_check_threshold).
        bits = obj.bit_length()
        return obj if bits <= _MAX_INT_BITS else f"<int of {bits} bits>"
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, str):
        return obj if len(obj) <= cap else _shorten(obj, cap)
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(obj, Mapping):
        if id(obj) in seen:
            return "<cycle>"
        seen.add(id(obj))
        try:
            out: dict[str, Any] = {}
            for i, (key, value) in enumerate(obj.items()):
                if i >= cap:
                    out["…"] = f"[{len(obj) - cap} more keys]"
                    break
                k = key if isinstance(key, str) else safe_repr(key)
                out[k] = _plain(value, cap, seen, depth + 1)
            return out
        finally:
            seen.discard(id(obj))
    if isinstance(obj, (list, tuple, set, frozenset)):
        if id(obj) in seen:
            return "<cycle>"
        seen.add(id(obj))
        try:
            items = list(obj)
            out_list = [_plain(v, cap, seen, depth + 1) for v in items[:cap]]
            if len(items) > cap:
                out_list.append(f"…[{len(items) - cap} more items]")
            return out_list
        finally:
            seen.discard(id(obj))
    return _plain(_default(obj), cap, seen, depth + 1)


def render(event: Mapping[str, Any], limit: int) -> str:
    """Encode ``event`` as one JSON line of at most ``limit`` characters.

    ASCII-only output (``\\u`` escapes) keeps characters equal to bytes and
    makes lone surrogates harmless.
    """
    try:
        line = encode(event)
        if len(line) <= limit:
            return line
    except Exception:
        pass
    return _render_slow(event, limit)


def _render_slow(event: Mapping[str, Any], limit: int) -> str:
    cap = max(limit, 64)
    try:
        while cap >= 64:
            line = encode(_plain(event, cap, set(), 0))
            if len(line) <= limit:
                return line
            cap //= 4
        # Still too long: keep the identifying scalars, shortened, and say so. Cutting the
        # JSON text itself would write an invalid line.
        keep: dict[str, Any] = {}
        for key in ("timestamp", "level", "request_id", "service"):
            value = event.get(key)
            if isinstance(value, str):
                keep[key] = value[:64]
        message = event.get("message", "")
        keep["message"] = _shorten(
            message if isinstance(message, str) else safe_repr(message), max(limit // 8, 16)
        )
        keep["truncated"] = True
        line = encode(_plain(keep, 256, set(), 0))
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
