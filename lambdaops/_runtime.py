"""What lambdaops knows of the runtime that calls the handler.

Lambda's Python runtime calls the handler, serializes what it returns and
never awaits it. So a handler called by the runtime has its return value
checked as the response it becomes (``_response``), and an ``async def``
handler's coroutine is run to completion here, on one event loop kept for
the process.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import Any

_loop: Any = None


def called_by_runtime() -> bool:
    """Whether the first frame outside lambdaops (and wrapt) is the runtime's: awslambdaric's
    or a managed runtime's ``bootstrap.py``, or the shared layer's redirecting wrapper.

    A handler the runtime calls returns the response; one called by the user's own
    wrapper returns a value the wrapper may still turn into one. Looked at once.
    """
    frame: Any = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("lambdaops._", "wrapt")):
            filename: str = frame.f_code.co_filename
            return module == "lambdaops.wrapper" or filename.endswith("bootstrap.py")
        frame = frame.f_back
    return False


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to completion on the process's loop, or hand it back to be awaited
    when called from a running loop (tests, an async caller)."""
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
