"""What kind of function a callable is, read from its code flags.

``inspect`` answers the same questions but importing it (with ``ast`` and
``dis``) costs ~6 ms of cold start; these are the three checks lambdaops needs.
"""

from __future__ import annotations

import functools
from typing import Any

# inspect.CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR
_GENERATOR = 0x20
_COROUTINE = 0x80
_ASYNC_GENERATOR = 0x200


def _flags(func: Any) -> int:
    """The code flags of ``func``, through bound methods and ``functools.partial``."""
    for _ in range(8):  # bounded: a proxy may answer __func__ with itself
        if isinstance(func, functools.partial):
            func = func.func
        elif hasattr(func, "__func__"):  # bound methods, staticmethod, classmethod
            func = func.__func__
        else:
            break
    code = getattr(func, "__code__", None)
    flags = getattr(code, "co_flags", 0)
    return flags if isinstance(flags, int) else 0


def is_coroutine_function(func: Any) -> bool:
    # Python 3.12's inspect.markcoroutinefunction marks a sync function as a coroutine one.
    return (
        bool(_flags(func) & _COROUTINE) or getattr(func, "_is_coroutine_marker", None) is not None
    )


def is_async_generator_function(func: Any) -> bool:
    return bool(_flags(func) & _ASYNC_GENERATOR)


def is_generator_function(func: Any) -> bool:
    return bool(_flags(func) & _GENERATOR)
