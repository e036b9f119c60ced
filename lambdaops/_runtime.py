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
