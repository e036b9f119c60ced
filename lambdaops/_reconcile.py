"""One final outcome per invocation attempt, from Lambda's platform records and lambdaops'.

Lambda's count is the truth: it writes ``START``/``REPORT`` (or ``platform.*``)
for every invocation, including those that died before lambdaops could write
its outcome record (a crash, an out-of-memory kill, an init failure, a marshal
error, a timeout while the handler held the GIL). So invocations are Lambda's
where Lambda's records are in the log, and lambdaops' outcome records are laid
over them by request id: inside a ``START``/``END`` bracket of the same stream
first, otherwise in order for the same request id. A log of lambdaops lines
only still counts one invocation per attempt, as before.

The rules for one invocation (docs/outcomes.md, "How the report counts"):

1. Lambda says ``timeout`` (or ``Task timed out``) -> timeout.
2. Lambda says ``error``/``failure`` -> error, whatever lambdaops wrote.
3. The runtime reported an error inside the invocation (its ``[ERROR]`` line or
   JSON error, a process exit) -> error: the text ``REPORT`` has no ``Status``
   for errors the runtime reported itself.
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
        """lambdaops' final record: a late record replaces the watchdog's timeout."""
        final: dict[str, Any] | None = None
        for rec in self.records:
            if final is None or (
                rec.get("supersedes") == "timeout" and final.get("outcome") == "timeout"
            ):
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
        if self.failures:
            return Final("error", _cause(None, own_type, self.failures), rec)
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


class Reconciled(NamedTuple):
    """What a log says happened: invocation attempts in log order, and failed inits."""

    invocations: list[Invocation]
    init_failures: list[InitReport]


class _Streams:
    """Per-stream state while walking the log: each stream is one execution environment."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self.init_failures: list[InitReport] = []
        self.open: dict[str | None, Invocation] = {}  # between START and END
        self.last: dict[str | None, Invocation] = {}  # the stream's latest invocation
        self.unreported: dict[tuple[str | None, str], Invocation] = {}  # started, no REPORT
        self.line = 0
        self.pending_init: dict[str | None, InitReport] = {}  # invoke-phase init failure
        self.dump: dict[str | None, list[Frame] | None] = {}
        self.loose: list[tuple[int, str | None, dict[str, Any]]] = []  # outside brackets

    def new(self, request_id: str, stream: str | None, bracketed: bool) -> Invocation:
        inv = Invocation(request_id, stream, self.line, bracketed)
        inv.init_failure = self.pending_init.pop(stream, None)
        self.invocations.append(inv)
        self.last[stream] = inv
        if bracketed:
            self.unreported[stream, request_id] = inv
        return inv

    def find(self, request_id: str, stream: str | None) -> Invocation | None:
        """The open (else latest started, unreported) invocation of this request in this stream."""
        inv = self.open.get(stream)
        if inv is not None and inv.request_id == request_id:
            return inv
        return self.unreported.get((stream, request_id))

    def open_for(self, request_id: str, stream: str | None) -> Invocation | None:
        """The invocation a line naming this request belongs to: this stream's, else any open."""
        inv = self.open.get(stream)
        if inv is not None and inv.request_id == request_id:
            return inv
        for other in self.open.values():
            if other.request_id == request_id:
                return other
        return self.find(request_id, stream)

    def add(self, stream: str | None, event: object) -> None:
        self.line += 1
        if not isinstance(event, Frame):
            self.dump[stream] = None
        if isinstance(event, Start):
            self.open[stream] = self.new(event.request_id, stream, True)
        elif isinstance(event, End):
            if (inv := self.open.get(stream)) is not None and inv.request_id == event.request_id:
                del self.open[stream]
        elif isinstance(event, RuntimeDone):
            inv = self.find(event.request_id, stream)
            if inv is not None:
                inv.runtime_done = event
        elif isinstance(event, Report):
            inv = self.find(event.request_id, stream) or self.new(event.request_id, stream, False)
            inv.report = event
            self.unreported.pop((stream, event.request_id), None)
            if self.open.get(stream) is inv:
                del self.open[stream]
        elif isinstance(event, InitReport):
            self._init(stream, event)
        elif isinstance(event, Outcome):
            self._outcome(stream, event.record)
        elif isinstance(event, RuntimeFailure):
            named = event.request_id
            inv = self.open_for(named, stream) if named else self.open.get(stream)
            if inv is not None:  # outside an invocation: an init error, which INIT_REPORT counts
                inv.failures.append(event)
        elif isinstance(event, TimedOut):
            if (inv := self.open_for(event.request_id, stream)) is not None:
                inv.timed_out = True
        elif isinstance(event, ThreadDump):
            target = self.open.get(stream) or self.last.get(stream)
            if event.current and target is not None and target.dump is None:
                target.dump = []
                self.dump[stream] = target.dump
        elif isinstance(event, Frame):
            frames = self.dump.get(stream)
            if frames is not None:
                frames.append(event)

    def _init(self, stream: str | None, event: InitReport) -> None:
        if not event.failed:
            return
        self.init_failures.append(event)
        if event.phase != "invoke":
            return  # Lambda re-runs a failed init for the request: that run decides
        inv = self.open.get(stream)
        if inv is not None:
            inv.init_failure = event
        else:
            self.pending_init[stream] = event

    def _outcome(self, stream: str | None, rec: dict[str, Any]) -> None:
        request = rec.get("request_id")
        inv = self.open.get(stream)
        if inv is not None and inv.request_id == request:
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
                and (earlier.record or {}).get("outcome") == "timeout"
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
    return Reconciled(ordered, streams.init_failures)
