"""Containment of lambdaops' own failures.

lambdaops must never break a handler, so every internal failure is caught at
the edge of the signal that failed and reported here: once per kind of
failure per process, on stderr (stdout may be the thing that is broken).
"""

from __future__ import annotations

import sys

_seen: set[tuple[str, str]] = set()


def internal_error(where: str, exc: BaseException) -> None:
    """Report a failure inside lambdaops once; never raises."""
    try:
        key = (where, type(exc).__name__)
        if key in _seen:
            return
        _seen.add(key)
        text = f"{type(exc).__name__}: {exc}"[:500]
        line = (
            '{"level":"WARNING","message":"lambdaops internal error contained",'
            f'"where":{_quote(where)},"error":{_quote(text)}}}\n'
        )
        stream = sys.__stderr__ if sys.stderr is None else sys.stderr
        if stream is not None:
            stream.write(line)
            stream.flush()
    except Exception:
        pass


def _quote(text: str) -> str:
    import json

    return json.dumps(text)


def reset() -> None:
    """Forget what was reported (tests)."""
    _seen.clear()
