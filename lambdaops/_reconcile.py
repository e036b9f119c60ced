"""One final outcome per invocation attempt, from Lambda's platform records and lambdaops'.

Lambda's count is the truth: it writes ``START``/``REPORT`` (or ``platform.*``)
for every invocation, including those that died before lambdaops could write
its outcome record (a crash, an out-of-memory kill, an init failure, a marshal
error, a timeout while the handler held the GIL). So invocations are Lambda's
where Lambda's records are in the log, and lambdaops' outcome records are laid
over them by request id: inside a ``START``/``END`` bracket of the same stream
first, otherwise in order for the same request id. A log of lambdaops lines
only still counts one invocation per attempt, as before. A line that names no
request (the text format's ``[ERROR]``) belongs to the invocation open in its
stream; when the log names no streams and several invocations are open, it is
counted as unattributed rather than pinned on one of them.

The rules for one invocation (docs/outcomes.md, "How the report counts"):

1. Lambda says ``timeout`` (or ``Task timed out``) -> timeout.
2. Lambda says ``error``/``failure`` -> error, whatever lambdaops wrote.
3. The runtime reported an error inside the invocation (its ``[ERROR]`` record or
   JSON error, a process exit) -> error: the text ``REPORT`` has no ``Status``
   for errors the runtime reported itself. Over a lambdaops ``success`` only a
   platform or runtime type (``Runtime.*``, ...) counts: lambdaops records the
   handler's own exceptions, and what looks like one is a user's log line.
4. The invocation re-ran a failed init (``INIT_REPORT Phase: invoke``) -> error.
5. Otherwise lambdaops' final record decides (a late record replaces the
   watchdog's timeout of its attempt); a lambdaops ``timeout`` that Lambda did
   not time out finished before the deadline -> success.
6. Lambda's record alone, with no failure -> success.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lambdaops._platform_records import (
    PLATFORM_PREFIXES,
    TIMED_OUT,
    End,
    Frame,
    InitReport,
    Outcome,
    Parsed,
    Report,
    RuntimeDone,
    RuntimeFailure,
    Start,
    ThreadDump,
    TimedOut,
)

#: lambdaops' own error type for the watchdog's timeout.
_TIMEOUT = "Timeout"


class Final(NamedTuple):
    """How one invocation attempt ended, all sources considered."""

    outcome: str  # success | error | timeout
    cause: str | None  # the error type of a failure
    record: dict[str, Any] | None  # lambdaops' final outcome record, if any


@dataclass
class Invocation:
    """One invocation attempt: Lambda's records and lambdaops' for it, as found in the log."""

    request_id: str
    stream: str | None
    order: int  # where it starts in the log (its first line)
    bracketed: bool = False  # seen from its START / platform.start
    records: list[dict[str, Any]] = field(default_factory=list)
    report: Report | None = None
    runtime_done: RuntimeDone | None = None
    failures: list[RuntimeFailure] = field(default_factory=list)
    timed_out: bool = False
    init_failure: InitReport | None = None
    dump: list[Frame] | None = None

    @property
    def platform(self) -> bool:
        """Lambda's own records for this invocation are in the log."""
        return self.bracketed or self.report is not None or self.runtime_done is not None

    @property
    def record(self) -> dict[str, Any] | None:
        """lambdaops' final record: a late record replaces the watchdog's timeout.

        A late record also replaces an earlier late record (a race could write two for
        one attempt, with no timeout before them): the last wins.
        """
        final: dict[str, Any] | None = None
        for rec in self.records:
            if final is None or (rec.get("supersedes") == "timeout" and _replaceable(final)):
                final = rec
        return final

    @property
    def stuck_in(self) -> str | None:
        """Where a timed-out handler was: lambdaops' ``stuck_in``, else a faulthandler dump."""
        rec = self.record
        if rec is not None and isinstance(rec.get("stuck_in"), str):
            return str(rec["stuck_in"])
        if self.dump:
            top = self.dump[0]  # faulthandler prints the most recent call first
            return f"{top.function} ({top.file}:{top.line})"
        return None

    def final(self) -> Final:
        """The invocation's one outcome (the rules in the module docstring)."""
        rec = self.record
        own = rec.get("outcome") if rec is not None else None
        own_type = _text(rec.get("error_type")) if rec is not None else None
        status, platform_type = self._platform_status()
        if status == "timeout" or self.timed_out or platform_type == TIMED_OUT:
            cause = (own_type or _TIMEOUT) if own == "timeout" else (platform_type or TIMED_OUT)
            return Final("timeout", cause, rec)
        if status in ("error", "failure"):
            return Final("error", _cause(platform_type, own_type, self.failures), rec)
        failures = self.failures
        if own == "success":  # only the platform's or runtime's own errors overrule it
            failures = [f for f in failures if f.error_type.startswith(PLATFORM_PREFIXES)]
        if failures:
            return Final("error", _cause(None, own_type, failures), rec)
        if self.init_failure is not None:
            return Final("error", own_type or self.init_failure.cause, rec)
        if own in ("success", "error"):
            return Final(str(own), own_type if own == "error" else None, rec)
        if own == "timeout" and not self.platform:
            return Final("timeout", own_type or _TIMEOUT, rec)
        return Final("success", None, rec)

    def _platform_status(self) -> tuple[str | None, str | None]:
        status = error_type = None
        for source in (self.runtime_done, self.report):
            if source is not None:
                status = source.status or status
                error_type = source.error_type or error_type
        return status, error_type


def _cause(platform: str | None, own: str | None, failures: list[RuntimeFailure]) -> str:
    """The most telling error type: the platform's or runtime's own, then the handler's.

    One exception: when the runtime exited (``Runtime.ExitError``) after lambdaops recorded
    a response it could not deliver (``Function.ResponseSizeTooLarge``), the record names
    why it exited, and what the caller was told.
    """
    if platform == "Runtime.ExitError" and own and own.startswith(PLATFORM_PREFIXES):
        return own
    named = [f.error_type for f in failures]
    for candidate in (platform, *named):
        if candidate and candidate.startswith(PLATFORM_PREFIXES):
            return candidate
    return own or platform or (named[0] if named else None) or "Runtime.Unknown"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _replaceable(rec: dict[str, Any]) -> bool:
    """A record a late record of the same attempt replaces: a timeout, or a late record."""
    return rec.get("outcome") == "timeout" or rec.get("supersedes") == "timeout"


class InitFailure(NamedTuple):
    """A failed init and the stream (execution environment) it failed in."""

    stream: str | None
    report: InitReport


class Reconciled(NamedTuple):
    """What a log says happened: invocation attempts in log order, and failed inits."""

    invocations: list[Invocation]
    init_failures: list[InitFailure]
    #: Runtime error lines naming no request, with several invocations open and no stream.
    unattributed_error_lines: int = 0


class _Streams:
    """Per-stream state while walking the log: each stream is one execution environment."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self.init_failures: list[InitFailure] = []
        # between START and END: one per named stream; without stream names, all that are open
        self.open: dict[str | None, list[Invocation]] = defaultdict(list)
        self.last: dict[str | None, Invocation] = {}  # the stream's latest invocation
        self.unreported: dict[tuple[str | None, str], Invocation] = {}  # started, no REPORT
        self.line = 0
        self.pending_init: dict[str | None, InitReport] = {}  # invoke-phase init failure
        self.dump: dict[str | None, list[Frame] | None] = {}
        self.loose: list[tuple[int, str | None, dict[str, Any]]] = []  # outside brackets
        self.unattributed = 0

    def new(self, request_id: str, stream: str | None, bracketed: bool) -> Invocation:
        inv = Invocation(request_id, stream, self.line, bracketed)
        inv.init_failure = self.pending_init.pop(stream, None)
        self.invocations.append(inv)
        self.last[stream] = inv
        if bracketed:
            self.unreported[stream, request_id] = inv
        return inv

    def current(self, stream: str | None) -> Invocation | None:
        """The one invocation open in this stream (None: none, or several and no stream)."""
        opened = self.open.get(stream)
        return opened[0] if opened and len(opened) == 1 else None

    def opened(self, request_id: str, stream: str | None) -> Invocation | None:
        """The open invocation of this request in this stream."""
        for inv in self.open.get(stream, ()):
            if inv.request_id == request_id:
                return inv
        return None

    def close(self, stream: str | None, inv: Invocation) -> None:
        opened = self.open.get(stream)
        if opened:  # by identity: two attempts of one request can look alike
            opened[:] = [other for other in opened if other is not inv]

    def find(self, request_id: str, stream: str | None) -> Invocation | None:
        """The open (else latest started, unreported) invocation of this request in this stream."""
        return self.opened(request_id, stream) or self.unreported.get((stream, request_id))

    def open_for(self, request_id: str, stream: str | None) -> Invocation | None:
        """The invocation a line naming this request belongs to: this stream's, else any open."""
        inv = self.opened(request_id, stream)
        if inv is not None:
            return inv
        for opened in self.open.values():
            for other in opened:
                if other.request_id == request_id:
                    return other
        return self.find(request_id, stream)

    def add(self, stream: str | None, event: object) -> None:
        self.line += 1
        if not isinstance(event, Frame):
            self.dump[stream] = None
        if isinstance(event, Start):
            started = self.new(event.request_id, stream, True)
            if stream is not None:  # an environment runs one invocation at a time
                self.open[stream] = [started]
            else:
                self.open[stream].append(started)
        elif isinstance(event, End):
            if (inv := self.opened(event.request_id, stream)) is not None:
                self.close(stream, inv)
        elif isinstance(event, RuntimeDone):
            inv = self.find(event.request_id, stream)
            if inv is not None:
                inv.runtime_done = event
        elif isinstance(event, Report):
            inv = self.find(event.request_id, stream) or self.new(event.request_id, stream, False)
            inv.report = event
            self.unreported.pop((stream, event.request_id), None)
            self.close(stream, inv)
        elif isinstance(event, InitReport):
            self._init(stream, event)
        elif isinstance(event, Outcome):
            self._outcome(stream, event.record)
        elif isinstance(event, RuntimeFailure):
            self._failure(stream, event)
        elif isinstance(event, TimedOut):
            if (inv := self.open_for(event.request_id, stream)) is not None:
                inv.timed_out = True
        elif isinstance(event, ThreadDump):
            target = self.current(stream) or (
                None if self.open.get(stream) else self.last.get(stream)
            )
            if event.current and target is not None and target.dump is None:
                target.dump = []
                self.dump[stream] = target.dump
        elif isinstance(event, Frame):
            frames = self.dump.get(stream)
            if frames is not None:
                frames.append(event)

    def _failure(self, stream: str | None, event: RuntimeFailure) -> None:
        """A runtime error: onto the invocation it names, else the one open in its stream.

        Outside any invocation it is an init error, which ``INIT_REPORT`` counts. With
        several open (no stream names), only one whose record names the same exception can
        be its own; otherwise it is counted as unattributed, not pinned on the latest.
        """
        if event.request_id:
            inv = self.open_for(event.request_id, stream)
        else:
            opened = self.open.get(stream) or []
            same = [
                i for i in opened if _text((i.record or {}).get("error_type")) == event.error_type
            ]
            inv = opened[0] if len(opened) == 1 else same[0] if len(same) == 1 else None
            self.unattributed += len(opened) > 1 and inv is None
        if inv is not None:
            inv.failures.append(event)

    def _init(self, stream: str | None, event: InitReport) -> None:
        if not event.failed:
            return
        self.init_failures.append(InitFailure(stream, event))
        if event.phase != "invoke":
            return  # Lambda re-runs a failed init for the request: that run decides
        inv = self.current(stream)
        if inv is not None:
            inv.init_failure = event
        else:
            self.pending_init[stream] = event

    def _outcome(self, stream: str | None, rec: dict[str, Any]) -> None:
        inv = self.opened(str(rec.get("request_id")), stream)
        if inv is not None:
            inv.records.append(rec)
        else:
            self.loose.append((self.line, stream, rec))

    def place_loose(self) -> None:
        """Records outside any bracket: onto Lambda's records of the same request, in order."""
        free: dict[str, list[Invocation]] = defaultdict(list)
        for inv in self.invocations:
            if inv.platform and not inv.records:
                free[inv.request_id].append(inv)
        mine: dict[tuple[str | None, object, object], Invocation] = {}
        for line, stream, rec in self.loose:
            request = _text(rec.get("request_id")) or ""
            key = (stream, request, rec.get("attempt"))
            earlier = mine.get(key)
            if (
                earlier is not None
                and rec.get("supersedes") == "timeout"
                and _replaceable(earlier.record or {})
            ):
                earlier.records.append(rec)
                continue
            candidates = free.get(request, [])
            same = [inv for inv in candidates if inv.stream == stream]
            found = same or candidates
            if not found:
                inv = Invocation(request, stream, line)
                self.invocations.append(inv)
            else:
                inv = found[0]
                candidates.remove(inv)
                inv.order = min(inv.order, line)
            inv.records.append(rec)
            mine[key] = inv


def reconcile(parsed: Iterable[Parsed]) -> Reconciled:
    """Invocation attempts (Lambda's, with lambdaops' records laid over) and failed inits."""
    streams = _Streams()
    for item in parsed:
        streams.add(item.stream, item.event)
    streams.place_loose()
    ordered = sorted(streams.invocations, key=lambda inv: inv.order)
    return Reconciled(ordered, streams.init_failures, streams.unattributed)
