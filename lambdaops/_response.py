"""The runtime's side of a handler: who calls it, and what becomes of what it returns.

Lambda's Python runtime calls the handler, never awaits what it returns, and
serializes it only after the handler returned — after the outcome record is
written. So lambdaops recognises the runtime's own call (``entry``): an
``async def`` handler's coroutine is then run to completion here, on one event
loop kept for the process, and the return value is checked as the response it
becomes: one the runtime cannot serialize (``Runtime.MarshalError``) or one over
Lambda's synchronous limit (``Function.ResponseSizeTooLarge``) would otherwise
be recorded as a success while Lambda counts an error. The common response, a
small dict of plain values, is proven deliverable in one loop; a long string is
measured in C passes; anything else is serialized once with the runtime's own
encoder. HTTP triggers also get the status code their caller sees.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Coroutine
from typing import Any

#: Lambda's limit on a synchronous response, in bytes.
MAX_RESPONSE_BYTES = 6_291_556
#: Values a walk may visit before the runtime's encoder takes over (walking is Python,
#: ~0.1 µs a value, about what encoding costs, and it allocates nothing).
_WALK_BUDGET = 4096
#: The most bytes one character can take in the runtime's JSON (an astral character
#: escaped as a surrogate pair, ``\\ud83d\\ude00``, with ``ensure_ascii``).
_MAX_BYTES_PER_CHAR = 12


class Failure:
    """Why the runtime will fail the invocation although the handler returned.

    A slotted class, not a NamedTuple: defining one costs ~0.1 ms of ``import lambdaops``.
    """

    __slots__ = ("error_type", "message")

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Failure):
            return NotImplemented
        return (self.error_type, self.message) == (other.error_type, other.message)

    def __hash__(self) -> int:
        return hash((self.error_type, self.message))

    def __repr__(self) -> str:
        return f"Failure({self.error_type!r}, {self.message!r})"


#: A flat dict of at most this many short plain values is proven deliverable in one loop.
_FLAT_KEYS = 16
#: Sixteen keys and values this short serialize to well under the limit, however escaped.
_SHORT = 16_384
_BIG_INT = 1 << 63


def check(result: Any) -> Failure | None:
    """``None`` when the runtime can deliver ``result``; else Lambda's error for it."""
    if type(result) is dict and len(result) <= _FLAT_KEYS:
        # The usual response ({"statusCode": 200, "body": "..."}): one loop, no calls.
        for key, value in result.items():
            kind = type(value)
            if type(key) is not str or len(key) > _SHORT:
                break
            if kind is str:
                if len(value) > _SHORT:
                    break
            elif kind is int:
                if not -_BIG_INT <= value < _BIG_INT:
                    break
            elif kind is not bool and kind is not float and value is not None:
                break
        else:
            return None
    return _check(result)


def _check(result: Any) -> Failure | None:
    """The general case: a walk bounding the size, else the runtime's own encoder."""
    if type(result) is bytes:
        return _too_large(len(result))  # the runtime passes bytes through as they are
    try:
        bound = _bound(result, [_WALK_BUDGET])
    except UnicodeEncodeError as exc:  # a lone surrogate: the runtime cannot send it either
        return Failure("Runtime.MarshalError", f"Unable to marshal response: {exc}"[:1024])
    if 0 <= bound <= MAX_RESPONSE_BYTES:
        return None
    try:
        size = len(_runtime_encode(result).encode("utf-8"))
    except Exception as exc:
        return Failure("Runtime.MarshalError", f"Unable to marshal response: {exc}"[:1024])
    return _too_large(size)


def _too_large(size: int) -> Failure | None:
    if size <= MAX_RESPONSE_BYTES:
        return None
    return Failure(
        "Function.ResponseSizeTooLarge",
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )


def _bound(value: Any, budget: list[int]) -> int:
    """An upper bound of ``value``'s serialized size, or -1 when the walk cannot tell
    (a type the walk does not know, or more values than its budget)."""
    kind = type(value)
    if kind is str:
        return _str_bound(value)
    if kind is int:  # huge ints: the encoder refuses them past Python's int-to-text limit
        return 20 if -_BIG_INT <= value < _BIG_INT else -1
    if kind is float or kind is bool or value is None:
        return 24
    if kind is dict:
        budget[0] -= len(value)
        if budget[0] < 0:
            return -1
        size = 2
        for key, item in value.items():
            if type(key) is not str:
                return -1
            inner = _bound(item, budget)
            if inner < 0:
                return -1
            size += _str_bound(key) + inner + 2
        return size
    if kind is list or kind is tuple:
        budget[0] -= len(value)
        if budget[0] < 0:
            return -1
        size = 2
        for item in value:
            inner = _bound(item, budget)
            if inner < 0:
                return -1
            size += inner + 1
        return size
    return -1


def _str_bound(text: str) -> int:
    """The bytes ``text`` takes as a JSON string: a cheap bound for short strings, exact
    for long ones (a 5 MB body is measured in C passes, not serialized again)."""
    if len(text) <= _SHORT:
        return len(text) * _MAX_BYTES_PER_CHAR + 2
    if text.isascii():
        if text.isprintable():  # no control characters: only quotes and backslashes grow
            return len(text) + text.count('"') + text.count("\\") + 2
        return len(text) * 6 + 2  # a control character takes at most 6 bytes (\u001f)
    import json.encoder as encoder

    if _ensure_ascii():
        return len(encoder.encode_basestring_ascii(text))
    return len(encoder.encode_basestring(text).encode("utf-8"))


def _runtime_encode(result: Any) -> str:
    """``result`` as the runtime serializes it: its own encoder when it is loaded."""
    for name in ("awslambdaric.lambda_runtime_marshaller", "lambda_runtime_marshaller"):
        module = sys.modules.get(name)
        to_json = getattr(module, "to_json", None)
        if to_json is not None:
            return str(to_json(result))
    import decimal
    import json

    def default(obj: Any) -> Any:
        if isinstance(obj, decimal.Decimal):
            return float(obj)
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")

    return json.dumps(result, default=default, allow_nan=True, ensure_ascii=_ensure_ascii())


def _ensure_ascii() -> bool:
    """The runtimes for Python 3.12 and later write UTF-8; earlier ones escape non-ASCII."""
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    version = env.rpartition("python")[2] if env.startswith("AWS_Lambda_python") else ""
    major, _, minor = version.partition(".")
    if major.isdigit() and minor.isdigit():
        return (int(major), int(minor)) < (3, 12)
    return sys.version_info < (3, 12)


#: Triggers whose caller sees an HTTP response.
HTTP_TRIGGERS = frozenset(("api-gateway-rest", "api-gateway-http", "alb", "lambda-url"))
#: Payload format 2.0 (HTTP APIs, function URLs) reads a response without ``statusCode``
#: as a 200 with the response as its body; REST APIs and ALB answer a malformed one 502.
_IMPLICIT_200 = frozenset(("api-gateway-http", "lambda-url"))


def status_code(trigger: str, result: Any) -> int:
    """The HTTP status the caller of an HTTP-triggered invocation receives."""
    if type(result) is dict:
        code = result.get("statusCode")
        if type(code) is int:
            return code
        if code is not None:
            try:
                return int(code)
            except (TypeError, ValueError):
                return 502
    return 200 if trigger in _IMPLICIT_200 else 502


# -- the runtime's call ------------------------------------------------------------


_loop: Any = None


def entry(context: Any) -> bool | None:
    """Whether the runtime itself made this call; None (ask again next time) when the
    context is not one the runtime builds — a warm-up call at import, say — so that such
    a call cannot decide for the invocations that follow."""
    if type(getattr(context, "_epoch_deadline_time_in_ms", None)) is not int:
        return None
    return called_by_runtime()


def called_by_runtime() -> bool:
    """Whether the first frame outside lambdaops (and wrapt) is the runtime's own call of
    the handler: ``handle_event_request`` in awslambdaric's or a managed runtime's
    ``bootstrap.py``.

    A handler the runtime calls returns the response; one called by anything else (the
    user's own wrapper, a framework, a decorator stacked over ``@instrument``) returns a
    value that caller may still turn into one.
    """
    frame: Any = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("lambdaops._", "wrapt")):
            code = frame.f_code
            return bool(
                code.co_name == "handle_event_request"
                and code.co_filename.endswith("/bootstrap.py")
            )
        frame = frame.f_back
    return False


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to completion on the process's loop, or hand it back to be awaited
    when a loop already runs in this thread."""
    from asyncio import _get_running_loop

    if _get_running_loop() is not None:
        return coroutine
    return _process_loop().run_until_complete(coroutine)


def _process_loop() -> Any:
    """The event loop async handlers run on, made once: clients created on it by one
    invocation (aiohttp sessions, async SDK clients) still work in the next."""
    global _loop
    if _loop is None or _loop.is_closed():
        import asyncio

        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop
