"""The lines of a Lambda function's log, classified for ``lambdaops report``.

The report has to count what Lambda counts, and Lambda writes a platform record
for every invocation whatever killed it, while lambdaops' outcome record is
missing whenever the process died first. So each line is turned into one typed
event: Lambda's platform records in the text format (``START``, ``END``,
``REPORT``, ``INIT_START``, ``INIT_REPORT``) and in the JSON format
(``platform.*``, the only format on Lambda Managed Instances), the runtime's own
error records (``[ERROR] Runtime.MarshalError: ...`` and its traceback, its JSON
error object, in their exact shapes: :mod:`lambdaops._runtime_errors`,
``RequestId: ... Error: Runtime exited ...``, ``Task timed out``), faulthandler
dumps, lambdaops' outcome records and EMF documents.

Lines come as Lambda wrote them, as CloudWatch exports print them (a timestamp
first) or as ``aws logs tail`` prints them (a timestamp and the log stream);
the stream is kept, because each stream is one execution environment and
between ``START`` and ``END`` the lines of a stream belong to that request.
A line without a prefix (the rest of a multi-line message) stays in the stream
of the line before it. Shapes: docs.aws.amazon.com/lambda/latest/dg/
telemetry-schema-reference.html and monitoring-cloudwatchlogs-logformat.html.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from lambdaops._runtime_errors import ErrorEvent, ErrorHeader, is_json_error

#: What a failed invocation or init is called when Lambda says ``timeout`` without a type.
TIMED_OUT = "Sandbox.Timedout"
#: Error types the platform or the runtime names; they say more than the handler's.
PLATFORM_PREFIXES = ("Runtime.", "Sandbox.", "Function.", "Extension.")


class Start(NamedTuple):
    """``START RequestId: …`` / ``platform.start``: an invocation begins in this stream."""

    request_id: str


class End(NamedTuple):
    """``END RequestId: …``: the invocation's own lines are over."""

    request_id: str


class RuntimeDone(NamedTuple):
    """``platform.runtimeDone``: the runtime finished the invocation (JSON format)."""

    request_id: str
    status: str | None
    error_type: str | None


class Report(NamedTuple):
    """``REPORT`` / ``platform.report``: Lambda's own account of one invocation."""

    request_id: str
    status: str | None  # None in the text format when Lambda saw no failure itself
    error_type: str | None
    duration_ms: float | None
    billed_ms: float | None
    memory_mb: int | None
    max_memory_mb: int | None
    init_ms: float | None


class InitStart(NamedTuple):
    """``INIT_START`` / ``platform.initStart``: an execution environment (re)starts."""

    runtime_version: str | None


class InitReport(NamedTuple):
    """``INIT_REPORT`` / ``platform.initReport``: how an init ended, and in which phase."""

    phase: str  # init (before any request) or invoke (re-run for a request)
    status: str | None
    error_type: str | None
    duration_ms: float | None

    @property
    def failed(self) -> bool:
        return self.status is not None and self.status != "success"

    @property
    def cause(self) -> str:
        return self.error_type or (TIMED_OUT if self.status == "timeout" else "Runtime.Unknown")


class RuntimeFailure(NamedTuple):
    """An error the runtime reported: its ``[ERROR]`` line, its JSON error, a process exit."""

    request_id: str | None  # None: the line names no request (text format)
    error_type: str
    message: str


class TimedOut(NamedTuple):
    """``… <request id> Task timed out after 3.00 seconds`` (text format)."""

    request_id: str


class ThreadDump(NamedTuple):
    """faulthandler's ``Current thread 0x… (most recent call first):`` (or another thread's)."""

    current: bool


class Frame(NamedTuple):
    """One ``  File "…", line N in name`` line of a faulthandler dump."""

    file: str
    line: int
    function: str


class Outcome(NamedTuple):
    """A lambdaops outcome record: a JSON object whose ``lambdaops`` is ``outcome``."""

    record: dict[str, Any]


class Metrics(NamedTuple):
    """Any other JSON object with an EMF ``_aws`` member."""

    document: dict[str, Any]


Event = (
    Start
    | End
    | RuntimeDone
    | Report
    | InitStart
    | InitReport
    | RuntimeFailure
    | TimedOut
    | ThreadDump
    | Frame
    | Outcome
    | Metrics
)


class Parsed(NamedTuple):
    """One classified line and the log stream it came from (None: no stream named)."""

    stream: str | None
    event: Event


class _Split(NamedTuple):
    prefixed: bool
    stream: str | None
    message: str


_TIMESTAMP = re.compile(
    r"(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?)[ \t]+"
)
# Lambda's stream names: 2026/11/26/[$LATEST]0123…, 2026/11/26/name[$LATEST]0123…
_STREAM = re.compile(r"(\d{4}/\d{2}/\d{2}/\S*\[[^\]\s]*\]\S*)(?:[ \t]+|$)")
_START = re.compile(r"START RequestId: ([\w-]+)")
_END = re.compile(r"END RequestId: ([\w-]+)")
_REPORT = re.compile(r"REPORT RequestId: ([\w-]+)")
_DURATION = re.compile(r"(?<!Billed )(?<!Init )(?<!Restore )\bDuration: ([0-9.]+) ms")
_BILLED = re.compile(r"\bBilled Duration: ([0-9.]+) ms")
_INIT = re.compile(r"\bInit Duration: ([0-9.]+) ms")
_MEMORY = re.compile(r"\bMemory Size: (\d+) MB")
_MAX_MEMORY = re.compile(r"\bMax Memory Used: (\d+) MB")
_STATUS = re.compile(r"\bStatus: (\w+)")
_ERROR_TYPE = re.compile(r"\bError Type: ([\w.]+)")
_PHASE = re.compile(r"\bPhase: ([\w-]+)")
_RUNTIME_VERSION = re.compile(r"Runtime Version: (\S+)")
_EXITED = re.compile(r"RequestId: ([\w-]+) Error: (.*)")
_BARE_TYPE = re.compile(r"((?:Runtime|Sandbox|Function|Extension)\.\w+)\s*$")
# awslambdaric's text error line: "[ERROR] Type: message" (a logging record has a tab after ]).
# Its type is an exception class's __name__ (never dotted) or the runtime's own Runtime.*.
_ERROR_LINE = re.compile(
    r"\[ERROR\] ((?:Runtime|Sandbox|Function|Extension)\.\w+|[A-Za-z_]\w*)(?:: (.*))?$"
)
_TIMED_OUT = re.compile(r"(?:^|\s)([\w-]+) Task timed out after [0-9.]+ seconds")
_THREAD = re.compile(r"(Current thread|Thread) 0x[0-9a-fA-F]+ \(most recent call first\):")
_FRAME = re.compile(r"\s*File \"(.+)\", line (\d+) in (\S+)\s*$")


def parse(lines: Iterable[str]) -> Iterator[Parsed]:
    """Classify a log's lines, in order; lines that are none of the above are skipped.

    An ``[ERROR]`` line is the runtime's error only when the lines of its event
    have the runtime's shape (:mod:`lambdaops._runtime_errors`), so it is
    yielded once they have said so, before the event after it.
    """
    stream: str | None = None
    pending: ErrorEvent | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        split = _split(line)
        if split.prefixed:
            stream = split.stream
        event = classify(split.message)
        if pending is not None:
            step = pending.step(split.prefixed, line, split.message, event is not None)
            if step.verdict:
                yield _runtime_error(pending)
            if step.verdict is not None:
                pending = None
            if step.consumed:
                continue
        if isinstance(event, ErrorHeader):
            pending = ErrorEvent(stream, event)
        elif event is not None:
            yield Parsed(stream, event)
    if pending is not None and pending.end():
        yield _runtime_error(pending)


def _runtime_error(pending: ErrorEvent) -> Parsed:
    header = pending.header
    return Parsed(pending.stream, RuntimeFailure(None, header.error_type, header.message))


def _split(line: str) -> _Split:
    """The stream and the message behind a CloudWatch or ``aws logs tail`` prefix."""
    stamp = _TIMESTAMP.match(line)
    if stamp is None:
        return _Split(False, None, line.strip())
    rest = line[stamp.end() :]
    stream = _STREAM.match(rest)
    if stream is None:
        return _Split(True, None, rest.strip())
    return _Split(True, stream.group(1), rest[stream.end() :].strip())


def classify(message: str) -> Event | ErrorHeader | None:
    """The event one log message is (an ``[ERROR]`` line: maybe the runtime's), or None."""
    if message.startswith("{"):
        return _json_event(message)
    if message.startswith(("START ", "END ", "REPORT ", "INIT_")):
        return _text_platform(message)
    error = _ERROR_LINE.match(message)
    if error:
        return ErrorHeader(error.group(1), error.group(2) or "")
    exited = _EXITED.match(message)
    if exited:
        return RuntimeFailure(exited.group(1), _exit_type(exited.group(2)), exited.group(2))
    bare = _BARE_TYPE.match(message)
    if bare:
        return RuntimeFailure(None, bare.group(1), "")
    timed_out = _TIMED_OUT.search(message)
    if timed_out:
        return TimedOut(timed_out.group(1))
    thread = _THREAD.match(message)
    if thread:
        return ThreadDump(thread.group(1) == "Current thread")
    frame = _FRAME.match(message)
    if frame:
        return Frame(frame.group(1), int(frame.group(2)), frame.group(3))
    brace = message.find("{")
    return _json_event(message[brace:]) if brace > 0 else None


def _exit_type(message: str) -> str:
    return "Runtime.ExitError" if "Runtime exited" in message else "Runtime.Unknown"


def _text_platform(message: str) -> Event | None:
    if m := _START.match(message):
        return Start(m.group(1))
    if m := _END.match(message):
        return End(m.group(1))
    if m := _REPORT.match(message):
        status = _group(_STATUS, message)
        return Report(
            m.group(1),
            status.lower() if status else None,
            _group(_ERROR_TYPE, message),
            _number(_DURATION, message),
            _number(_BILLED, message),
            _integer(_MEMORY, message),
            _integer(_MAX_MEMORY, message),
            _number(_INIT, message),
        )
    if message.startswith("INIT_START"):
        return InitStart(_group(_RUNTIME_VERSION, message))
    if message.startswith("INIT_REPORT"):
        status = _group(_STATUS, message)
        return InitReport(
            _group(_PHASE, message) or "init",
            status.lower() if status else None,
            _group(_ERROR_TYPE, message),
            _number(_INIT, message),
        )
    return None


def _group(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1) if m else None


def _number(pattern: re.Pattern[str], text: str) -> float | None:
    m = pattern.search(text)
    return float(m.group(1)) if m else None


def _integer(pattern: re.Pattern[str], text: str) -> int | None:
    m = pattern.search(text)
    return int(m.group(1)) if m else None


def _json_event(text: str) -> Event | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    record = obj.get("record")
    if isinstance(kind, str) and kind.startswith("platform.") and isinstance(record, dict):
        return _json_platform(kind, record)
    if obj.get("lambdaops") == "outcome":
        return Outcome(obj)
    if is_json_error(obj):  # not a user's logger.exception: that has message, logger, …
        request = obj.get("requestId")
        message = obj.get("errorMessage")
        return RuntimeFailure(
            request if isinstance(request, str) and request else None,
            str(obj["errorType"]),
            message if isinstance(message, str) else "",
        )
    if "_aws" in obj:
        return Metrics(obj)
    return None


def _json_platform(kind: str, record: dict[str, Any]) -> Event | None:
    request = _text(record.get("requestId"))
    status = _text(record.get("status"))
    error_type = _text(record.get("errorType"))
    metrics = record.get("metrics")
    numbers = metrics if isinstance(metrics, dict) else {}
    if kind == "platform.start" and request:
        return Start(request)
    if kind == "platform.runtimeDone" and request:
        return RuntimeDone(request, status, error_type)
    if kind == "platform.report" and request:
        memory = _float(numbers.get("memorySizeMB"))
        max_memory = _float(numbers.get("maxMemoryUsedMB"))
        return Report(
            request,
            status,
            error_type,
            _float(numbers.get("durationMs")),
            _float(numbers.get("billedDurationMs")),
            None if memory is None else int(memory),
            None if max_memory is None else int(max_memory),
            _float(numbers.get("initDurationMs")),
        )
    if kind == "platform.initStart":
        return InitStart(_text(record.get("runtimeVersion")))
    if kind == "platform.initReport":
        phase = _text(record.get("phase")) or "init"
        return InitReport(phase, status, error_type, _float(numbers.get("durationMs")))
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
