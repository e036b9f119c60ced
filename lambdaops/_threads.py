"""Threads keep the invocation that started them.

Python threads start with an empty context, so a thread a handler starts would
not know its invocation, and one that outlives it would borrow the *next*
invocation (the only one in flight) for its log lines and metrics. Patching
``Thread.start`` once lets every new thread carry the invocation current where
it was started — or none, for threads started outside any invocation (a thread
with no invocation in its context starts threads with none: guessing "the only
invocation in flight" there would tie independent invocations together) — and
``ThreadPoolExecutor`` work items carry the invocation that submitted them
(the pool's long-lived workers serve many invocations). Nothing here runs per
invocation: only where threads start and tasks are submitted.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from lambdaops._scope import Invocation, _current, _detached

_installed = False
_futures_patched = False


def _bind(target: Callable[..., Any], inv: Invocation | None) -> Callable[..., Any]:
    """``target`` run under ``inv`` (or detached from every invocation)."""

    def run(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(inv)
        detached = _detached.set(inv is None)
        try:
            return target(*args, **kwargs)
        finally:
            _current.reset(token)
            _detached.reset(detached)

    return run


def install() -> None:
    """Patch ``threading.Thread.start`` (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        try:
            # An instance attribute: wins over subclasses' own ``run`` too.
            self.run = _bind(self.run, _current.get())  # type: ignore[method-assign]
            if not _futures_patched:
                install_futures()  # a pool module imported after the first invocation
        except Exception:  # never the reason a thread does not start
            pass
        original(self)

    start.__wrapped__ = original  # type: ignore[attr-defined]
    threading.Thread.start = start  # type: ignore[method-assign]


def install_futures() -> None:
    """Bind pool work items to the submitting invocation, if the pool module is loaded.

    Checked at the first invocation (handler modules import their pools at init) and
    whenever a thread starts until then (a pool starts its workers on its first submit:
    that task runs in a worker bound at its start, the later ones are bound here).
    Importing ``concurrent.futures.thread`` ourselves would cost ~6 ms of cold start.
    """
    global _futures_patched
    module = sys.modules.get("concurrent.futures.thread")
    if _futures_patched or module is None:
        return
    _futures_patched = True
    pool = module.ThreadPoolExecutor
    original = pool.submit

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return original(self, _bind(fn, _current.get()), *args, **kwargs)

    submit.__wrapped__ = original  # type: ignore[attr-defined]
    pool.submit = submit
