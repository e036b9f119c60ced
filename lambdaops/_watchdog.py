"""The timeout watchdog: end the invocation just before Lambda's deadline.

Lambda freezes or kills a timed-out environment without warning, so anything
not written by then is lost. One daemon thread per process waits for the
armed deadline minus a margin; if the handler is still running then, it ends
the invocation as ``timeout`` — outcome record with the handler thread's
stack, metrics, debug buffer — and flushes stdout. Arming and disarming are
attribute writes; the thread is only woken when it must fire earlier than
it planned to.
"""

from __future__ import annotations

import contextvars
import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from threading import get_ident
from typing import Any

from lambdaops import _output, _scope
from lambdaops._config import Config
from lambdaops._render import frame_fields
from lambdaops._report import internal_error
from lambdaops._scope import Invocation, _in_flight

_MAX_FRAMES = 30
_time = time.time


def default_margin_ms(remaining_ms: int) -> int:
    """A few hundred ms, scaled down for short timeouts: 10% of the time, 50..500 ms."""
    return int(min(500, max(50, remaining_ms * 0.1)))


class Watchdog:
    """One per process; watches every invocation in flight that has a deadline.

    The invocations in flight are the lifecycle's own list (``_scope._in_flight``)
    and an armed one carries its ``fire_at``: arming is an attribute write and
    disarming is nothing at all — an ended invocation leaves the list, and one
    that ended but is still in it (a handler running on past its timeout) has an
    outcome, which the thread skips.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._sleep_until: float = math.inf
        #: The latest deadline armed, kept after the invocation ended: the thread
        #: sleeps until it.
        self._last_armed = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def arm(self, inv: Invocation, fire_at: float) -> None:
        """Watch ``inv`` (already in flight) until ``fire_at`` (``time.time()`` seconds).

        Lock-free on the hot path: the deadline is published first and the
        thread's planned wake-up read after, while the thread publishes its
        plan first and re-reads the deadlines after, so one of the two always
        sees the other and the thread is never left sleeping past ``fire_at``.
        """
        inv.fire_at = fire_at
        self._last_armed = fire_at
        if self._thread is None:
            self._start()
        if fire_at < self._sleep_until - 0.001:  # not for float jitter
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lambdaops-watchdog", daemon=True
                )
                # Started from an empty context: the thread serves every invocation,
                # it must not carry the one that happened to start it (_scope.install_threads).
                contextvars.Context().run(self._thread.start)

    def armed(self) -> int:
        """How many running invocations are being watched (tests)."""
        return len(_watched())

    def _run(self) -> None:
        while True:
            try:
                self._wake.clear()
                now = time.time()
                due = [inv for inv in _watched() if inv.fire_at <= now]
                for inv in due:
                    inv.fire_at = math.inf  # fired once, whatever happens next
                    fire(inv)
                if due:
                    continue
                _alarm.still_ours()
                plan = self._next()
                if plan == math.inf and self._last_armed > now:
                    # Nothing armed now (the invocation ended before we woke): sleep until
                    # its deadline anyway. The next invocation's deadline is later, so
                    # arming it needs no wake-up — one wake-up per deadline, not per call.
                    plan = self._last_armed
                self._sleep_until = plan
                # Re-read after publishing the plan: a deadline armed meanwhile is seen here.
                self._sleep_until = wake_at = min(plan, self._next())
                if wake_at != math.inf:
                    self._wake.wait(max(0.0, wake_at - time.time()))
                else:
                    self._wake.wait()
            except Exception as exc:
                internal_error("watchdog", exc)
                time.sleep(0.01)

    @staticmethod
    def _next() -> float:
        return min((inv.fire_at for inv in _watched()), default=math.inf)

    def _after_fork(self) -> None:
        """A forked child has no watchdog thread: start afresh, and leave the parent's
        invocations (inherited in the in-flight list) to the parent's watchdog."""
        for inv in list(_scope._in_flight):
            inv.fire_at = math.inf
        self.__init__()  # type: ignore[misc]


def _watched() -> list[Invocation]:
    """The invocations in flight that are armed and still running."""
    return [
        inv
        for inv in list(_scope._in_flight)  # a copy: the list changes under us
        if inv.outcome is None and inv.fire_at != math.inf
    ]


def handler_stack(thread_id: int) -> list[dict[str, Any]]:
    """Where the handler's thread is now, innermost frame last."""
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return []
    return frame_fields(traceback.extract_stack(frame)[-_MAX_FRAMES:])


def fire(inv: Invocation) -> None:
    """End ``inv`` as a timeout, from the watchdog thread, and flush stdout."""
    if inv.outcome is not None:
        return
    try:
        _alarm.disarm(inv)  # the watchdog runs: faulthandler need not write the stack too
        inv.stack = handler_stack(inv.thread_id)
        token = _scope._current.set(inv)
        try:
            inv.lifecycle.end(inv, None, None, outcome="timeout")
        finally:
            _scope._current.reset(token)
        _output.flush()
    except Exception as exc:
        internal_error("watchdog.fire", exc)


_watchdog = Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._after_fork)


class StackAlarm:
    """The stuck stack when the watchdog thread cannot run.

    A handler stuck in a C call that holds the GIL (a catastrophic regex, ``sum`` over a
    huge range) keeps every Python thread, the watchdog included, from running until
    Lambda kills it. faulthandler's signal handler needs no GIL: armed with a real-time
    timer to go off halfway through the margin, it writes every thread's stack to
    stderr if the watchdog has not fired by then (the record then comes from Lambda's
    own ``Status: timeout``). One ``setitimer`` arms it and one ``alarm(0)`` disarms it
    per invocation (the disarm matters: a timer left pending would go off while the
    environment idles, frozen or not). Those two system calls cost ~1.6 µs a warm
    invocation, more than the rest of the lifecycle's timeout work, so the alarm is
    the ``timeout_stack`` option's, off by default. Used only in Lambda, only while
    nothing else owns ``SIGALRM``, and only for one invocation in flight at a time
    (the timer is the process's).
    """

    def __init__(self) -> None:
        #: ``signal.setitimer`` once enabled; None when off.
        self.setitimer: Any = None
        self.owner: Invocation | None = None

    def enable(self) -> bool:
        """Register faulthandler for ``SIGALRM``, unless another handler has it."""
        import signal

        if not hasattr(signal, "setitimer") or signal.getsignal(signal.SIGALRM) != signal.SIG_DFL:
            return False
        stream = sys.__stderr__
        try:
            import faulthandler

            if stream is None:
                return False
            faulthandler.register(signal.SIGALRM, file=stream, all_threads=True, chain=False)
        except (AttributeError, OSError, ValueError, RuntimeError):
            return False
        self._signal = signal
        self._alarm = signal.alarm
        self.real = signal.ITIMER_REAL
        self.setitimer = signal.setitimer
        return True

    def disarm(self, inv: Invocation) -> None:
        if self.owner is inv:
            self.owner = None
            self._alarm(0)  # cheaper than setitimer(ITIMER_REAL, 0), the same timer

    def still_ours(self) -> bool:
        """False once user code installed its own SIGALRM handler: then never arm again."""
        if self.setitimer is None:
            return False
        if self._signal.getsignal(self._signal.SIGALRM) != self._signal.SIG_DFL:
            self.setitimer = None
            return False
        return True


_alarm = StackAlarm()


class TimeoutSignal:
    """Arms the watchdog from the invocation's deadline.

    A function's timeout is the same for every invocation, so the margin is
    worked out from the first invocation's remaining time and kept; after that,
    arming is a subtraction and a dict write.
    """

    name = "timeout"

    def __init__(self, config: Config) -> None:
        #: ``timeout_margin_ms`` as configured; checked against the first invocation's time.
        self.wanted_ms = config.timeout_margin_ms
        self.margin_ms: int | None = None
        #: Only in Lambda (and ``lambdaops local``): the alarm is process-wide state.
        self.alarm = (
            _alarm
            if config.timeout_stack and os.environ.get("LAMBDA_TASK_ROOT") and _enable_alarm()
            else None
        )
        #: Without the alarm there is nothing to undo: an ended invocation is not watched.
        self.finish: Callable[[Invocation], None] | None = (
            _alarm.disarm if self.alarm is not None else None
        )

    def start(self, inv: Invocation) -> None:
        # awslambdaric's context keeps the epoch deadline; reading it skips a method call.
        deadline_ms = getattr(inv.context, "_epoch_deadline_time_in_ms", None)
        if type(deadline_ms) is not int:
            deadline_ms = self._deadline_from_remaining(inv.context)
            if deadline_ms is None:
                return  # no deadline, no cost
        margin = self.margin_ms
        if margin is None:
            remaining = deadline_ms - time.time() * 1000
            if remaining <= 0:
                return
            margin = self.margin_ms = self._fit(int(remaining))
        inv.thread_id = get_ident()
        inv.deadline_ms = deadline_ms
        _watchdog.arm(inv, (deadline_ms - margin) / 1000)
        alarm = self.alarm
        if alarm is not None and alarm.setitimer is not None and len(_in_flight) == 1:
            alarm.owner = inv
            alarm.setitimer(alarm.real, (deadline_ms - margin / 2) / 1000 - _time())

    def _fit(self, remaining_ms: int) -> int:
        """The configured margin, unless it cannot fit the function's timeout: then the
        default (10% of the time, 50..500 ms) and one warning, at the first invocation."""
        wanted = self.wanted_ms
        if wanted is None:
            return default_margin_ms(remaining_ms)
        if wanted < remaining_ms:
            return wanted
        fitted = default_margin_ms(remaining_ms)
        from lambdaops._logger import log  # once per process at most

        log.warning(
            "timeout_margin_ms does not fit the function's timeout; using the default",
            timeout_margin_ms=wanted,
            remaining_ms=remaining_ms,
            margin_ms=fitted,
        )
        return fitted

    @staticmethod
    def _deadline_from_remaining(context: object) -> int | None:
        remaining_fn = getattr(context, "get_remaining_time_in_millis", None)
        if remaining_fn is None:
            return None
        remaining = remaining_fn()
        if not isinstance(remaining, (int, float)) or remaining <= 0:
            return None
        return int(time.time() * 1000 + remaining)


_alarm_tried: bool | None = None


def _enable_alarm() -> bool:
    global _alarm_tried
    if _alarm_tried is None:
        _alarm_tried = _alarm.enable()
    return _alarm_tried
