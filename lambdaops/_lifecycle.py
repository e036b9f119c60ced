"""The invocation lifecycle, top to bottom: begin, run the handler, end.

Every signal (logs, metrics, outcome record, tracing, ...) plugs in as an
object with ``start(inv)`` and ``finish(inv)``; the lifecycle calls them in
order around the handler and contains their failures, so neither the
decorator nor this module grows a branch per feature, and nothing a signal
does can change what the handler returns or raises.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from lambdaops import _response
from lambdaops._config import Config
from lambdaops._events import inspect_event
from lambdaops._report import internal_error
from lambdaops._scope import (
    Invocation,
    _current,
    _in_flight,
    fragment_head,
    in_flight_for,
    install_futures,
    install_threads,
    join,
    leave,
)
from lambdaops._traceheader import trace_header, trace_root


class Signal(Protocol):
    """What a signal provides to the lifecycle.

    ``start`` and ``finish`` may be ``None``: a signal with nothing to do at one
    end costs nothing there. A signal with ``sampled_only = True`` (tracing) is
    called only for invocations whose trace header says X-Ray samples them.
    """

    name: str

    @property
    def start(self) -> Callable[[Invocation], None] | None: ...

    @property
    def finish(self) -> Callable[[Invocation], None] | None: ...


#: (signal name, method) pairs, in signal order: a plain tuple, unpacked in the loops that
#: call them (a NamedTuple class would cost ~0.1 ms of import for nothing read by name).
Phase = tuple[tuple[str, Callable[[Invocation], None]], ...]
#: The signals that write again when a handler finishes after the watchdog's timeout
#: record: the metrics added since, and the record with the real outcome.
_LATE = frozenset(("trace", "metrics", "outcome"))


def _phase(signals: tuple[Signal, ...], which: str, sampled: bool) -> Phase:
    """The (name, method) pairs one end of an invocation calls, in signal order."""
    out = []
    for signal in signals:
        method = getattr(signal, which, None)
        if method is not None and (sampled or not getattr(signal, "sampled_only", False)):
            out.append((signal.name, method))
    return tuple(out)


def build_signals(config: Config) -> tuple[Signal, ...]:
    """The signals one decorated handler runs, chosen once from its config.

    Order matters at the end: the log buffer is flushed first, the metrics
    are collected before the outcome record that carries their last document.
    """
    from lambdaops._logger import LogSignal
    from lambdaops._metrics import MetricsSignal
    from lambdaops._watchdog import TimeoutSignal

    signals: list[Signal] = [LogSignal(config), TimeoutSignal(config)]
    if config.params:
        from lambdaops._params import ParamsSignal

        signals.append(ParamsSignal(config))
    if config.trace:
        from lambdaops._trace import TraceSignal

        signals.append(TraceSignal(config))
    signals.append(MetricsSignal(config))
    if config.outcome:
        from lambdaops._outcome import OutcomeSignal

        signals.append(OutcomeSignal(config))
    return tuple(signals)


_cold_start = True
_end_lock = threading.Lock()


class _ProcessEnv:
    """Lambda's per-process environment, read once (``os.environ`` costs ~0.6 µs a read)."""

    def __init__(self) -> None:
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        try:
            self.memory_limit_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
        except ValueError:
            self.memory_limit_mb = 0


_ENV = _ProcessEnv()
_SAMPLED = "Sampled=1"


class Lifecycle:
    """The lifecycle of one decorated handler."""

    __slots__ = (
        "_heads",
        "_memory",
        "_memory_raw",
        "_name",
        "_name_raw",
        "cold_cpu_ns",
        "config",
        "entry",
        "finishers",
        "finishers_late",
        "finishers_sampled",
        "signals",
        "starters",
        "starters_sampled",
    )

    def __init__(self, config: Config) -> None:
        self.config = config
        self._name_raw: Any = object()
        self._name = ""
        self._heads = ("", "")
        self._memory_raw: Any = object()
        self._memory = 0
        #: Whether the runtime itself calls this handler, so that its return value is the
        #: response (then checked for what the runtime can deliver); None: not known yet.
        self.entry: bool | None = None
        #: Process CPU time as the cold invocation began (where its cpu_ms starts).
        self.cold_cpu_ns: int | None = None
        self.plan(build_signals(config))
        install_threads()

    def plan(self, signals: tuple[Signal, ...]) -> None:
        """Run ``signals``: work out once which of them each end of an invocation calls."""
        self.signals = signals
        self.starters = _phase(signals, "start", sampled=False)
        self.starters_sampled = _phase(signals, "start", sampled=True)
        self.finishers = _phase(signals, "finish", sampled=False)
        self.finishers_sampled = _phase(signals, "finish", sampled=True)
        # From the sampled list: a sampled invocation's trace has a late step too (below).
        self.finishers_late = tuple((n, f) for n, f in self.finishers_sampled if n in _LATE)

    # -- begin ----------------------------------------------------------------
    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation | None:
        """Describe the invocation, enter it and start every signal; ``None``: pass through."""
        global _cold_start
        # Rare: a call from inside an invocation (one invocation, one record), or from
        # another thread for one in flight (it joins that one): see _pass_through.
        if (_in_flight or _current.get() is not None) and in_flight_for(
            args[1] if len(args) >= 2 else kwargs.get("context")
        ) is not None:
            return None
        try:
            if len(args) >= 2:
                event, context = args[0], args[1]
            else:
                event = args[0] if args else kwargs.get("event")
                context = kwargs.get("context")
            request_id = getattr(context, "aws_request_id", None)
            if type(request_id) is not str:
                request_id = str(request_id or "")
            # Function name and memory are the same for every invocation of a process:
            # the context's values are checked against the last ones seen, converted once.
            name = getattr(context, "function_name", None)
            if name is not self._name_raw:
                self._name_raw = name
                self._name = str(name or _ENV.function_name)
                self._heads = (
                    fragment_head(self.config.service, self._name, False),
                    fragment_head(self.config.service, self._name, True),
                )
            memory = getattr(context, "memory_limit_in_mb", None)
            if memory is not self._memory_raw:
                self._memory_raw = memory
                try:
                    self._memory = int(memory) if memory else _ENV.memory_limit_mb
                except (TypeError, ValueError):
                    self._memory = _ENV.memory_limit_mb
            # Positional arguments, and the cold-start flag as an index into the two cached
            # fragment heads: the cheapest call for what every invocation builds.
            inv = Invocation(
                self.config,
                event,
                context,
                self,
                request_id,
                self._name,
                self._memory,
                _cold_start,
                inspect_event(event),
                self._heads[_cold_start],
            )
            if _cold_start:
                _cold_start = False
                install_futures()
                # Where the cold invocation's cpu_ms starts (warm ones start where the last
                # ended: one CPU-clock read per invocation, not two).
                self.cold_cpu_ns = time.process_time_ns()
            if self.entry is None:
                self.entry = _response.entry(context)
            header = trace_header()
            if header:
                inv.trace_header = header
                inv.xray_trace_id = trace_root(header)
                inv.sampled = _SAMPLED in header
            inv.started_ns = time.perf_counter_ns()
        except Exception as exc:
            internal_error("lifecycle.begin", exc)
            return None
        # Entered before the signals start: the watchdog finds armed invocations in flight.
        _in_flight.append(inv)  # list.append/remove are atomic: no lock needed
        _current.set(inv)
        try:
            for signal, start in self.starters_sampled if inv.sampled else self.starters:
                try:
                    start(inv)
                except Exception as exc:
                    internal_error(f"{signal}.start", exc)
        except BaseException as exc:  # KeyboardInterrupt, SystemExit, a timeout signal...
            self.end(inv, None, exc)  # the invocation is over: its record, and out of flight
            leave(inv)
            raise
        return inv

    # -- end ------------------------------------------------------------------
    def end(
        self,
        inv: Invocation,
        result: Any,
        error: BaseException | None,
        outcome: str | None = None,
    ) -> None:
        """Finish every signal exactly once, whoever comes first: the handler or the watchdog.

        A handler that finishes after the watchdog wrote its timeout, but before Lambda's
        deadline, was not a timeout for Lambda: its real outcome is written again, as a
        record that supersedes the timeout (``_finish_late``).
        """
        ended_ns = time.perf_counter_ns()
        if outcome is not None:
            # The watchdog. Its finishes run under the lock: a handler finishing meanwhile
            # waits for the timeout record before it writes the record that supersedes it.
            with _end_lock:
                if inv.outcome is not None:
                    return
                inv.outcome = outcome
                inv.ended_ns = ended_ns
                self._run(inv, self.finishers_sampled if inv.sampled else self.finishers)
            return
        failure = None
        if error is None and self.entry and result is not None:
            try:
                failure = _response.check(result)
            except Exception as exc:
                internal_error("lifecycle.response", exc)
        with _end_lock:
            if inv.outcome is not None:
                if inv.outcome != "timeout" or inv.supersedes is not None:
                    return
                inv.supersedes = "timeout"  # the watchdog's record is out: this one follows
            inv.outcome = "success" if error is None and failure is None else "error"
        inv.ended_ns = ended_ns
        inv.result = result
        inv.failure = failure
        if error is not None:
            inv.error = error
        if inv.supersedes is not None:
            self._finish_late(inv)
            return
        self._run(inv, self.finishers_sampled if inv.sampled else self.finishers)

    @staticmethod
    def _run(inv: Invocation, steps: Phase) -> None:
        for signal, finish in steps:
            try:
                finish(inv)
            except Exception as exc:
                internal_error(f"{signal}.finish", exc)

    def _finish_late(self, inv: Invocation) -> None:
        """The handler finished after the watchdog's timeout record: if Lambda's deadline has
        not passed, Lambda counts this outcome, so metrics and record are written again."""
        if inv.deadline_ms and time.time() * 1000 >= inv.deadline_ms:
            inv.outcome = "timeout"  # too late: Lambda has counted the timeout
            inv.supersedes = None
            return
        inv.stack = None
        self._run(inv, self.finishers_late)

    # -- run ------------------------------------------------------------------
    def wrap(
        self,
        handler: Callable[..., Any],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Run a sync handler inside the lifecycle (wrapt's wrapper signature)."""
        inv = self.begin(args, kwargs)
        if inv is None:
            return _pass_through(handler, args, kwargs)
        try:
            result = handler(*args, **kwargs)
        except BaseException as exc:
            self.end(inv, None, exc)
            raise
        else:
            self.end(inv, result, None)
            return result
        finally:
            leave(inv)

    async def wrap_async(
        self,
        handler: Callable[..., Awaitable[Any]],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Run an ``async def`` handler inside the lifecycle (wrapt's wrapper signature)."""
        inv = self.begin(args, kwargs)
        if inv is None:
            joined = join(args[1] if len(args) >= 2 else kwargs.get("context"))
            try:
                return await handler(*args, **kwargs)
            finally:
                if joined is not None:
                    _current.reset(joined)
        try:
            result = await handler(*args, **kwargs)
        except BaseException as exc:
            self.end(inv, None, exc)
            raise
        else:
            self.end(inv, result, None)
            return result
        finally:
            leave(inv)

    def run_async(
        self,
        handler: Callable[..., Awaitable[Any]],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """An ``async def`` handler as Lambda's runtime can call it.

        The runtime calls handlers synchronously and does not await what they return, so
        when the runtime calls it the coroutine runs to completion here, on one loop kept
        for the process (clients made on it survive warm invocations). Called by anything
        else (tests, the user's own ``asyncio.run(handler(event, context))``), it returns
        the coroutine, as an ``async def`` function does.
        """
        if self.entry is None:
            # Decided here, not inside the coroutine, where the caller is the event loop.
            self.entry = _response.entry(args[1] if len(args) >= 2 else kwargs.get("context"))
        coroutine = self.wrap_async(handler, instance, args, kwargs)
        return _response.run_coroutine(coroutine) if self.entry else coroutine


def _pass_through(
    handler: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """A call that belongs to an invocation already in flight (or that lambdaops could not
    describe): the handler runs as it is, under that invocation for as long as it runs."""
    joined = join(args[1] if len(args) >= 2 else kwargs.get("context"))
    try:
        return handler(*args, **kwargs)
    finally:
        if joined is not None:
            _current.reset(joined)


def reset_cold_start() -> None:
    """Make the next invocation a cold start again, re-reading the environment (tests)."""
    global _cold_start, _ENV
    _cold_start = True
    _ENV = _ProcessEnv()
