"""Lambda's own log records (the "platform" or "system" log), in its text and JSON formats.

Lambda writes these around the function's lines in every log stream: START/END/REPORT in the
text format, ``platform.*`` objects in the JSON format. They are the only record of an
invocation that the function itself could not see end (a crash, a kill for memory, a timeout,
an init that never finished), so the local runtime writes them exactly as Lambda does.

Sources for the shapes (docs/local.md has the details and the reasoning):

- Telemetry API ``Event`` schema, the JSON records' fields and Status values:
  https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
- The two log formats and which records each has:
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
- Which status a failure gets (``timeout``; ``failure`` for ``Sandbox.*`` error types,
  ``error`` for the rest) and the fault message: Lambda's RAPID, published in
  https://github.com/aws/aws-lambda-runtime-interface-emulator (lambda/rapid/handlers.go
  ``handleReset``, lambda/interop/events_api.go ``FaultData``, lambda/fatalerror).
- A handler exception that the runtime reports through /invocation/error is ``success`` to
  the platform ("as intended", AWS): https://github.com/aws-samples/aws-lambda-extensions/issues/85
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = [
    "LOG_FORMATS",
    "PlatformLog",
    "PlatformOutcome",
    "ReportMetrics",
    "aws_log_format",
    "iso_time",
]

LOG_FORMATS = ("text", "json")

# Telemetry API Status values.
SUCCESS = "success"
ERROR = "error"
FAILURE = "failure"
TIMEOUT = "timeout"


class PlatformOutcome(NamedTuple):
    """How Lambda's platform records end one invocation."""

    status: str  # success | error | failure | timeout (the Telemetry API's Status)
    error_type: str | None  # set for error and failure
    report: str  # the REPORT line or platform.report record written for it


class ReportMetrics(NamedTuple):
    """The figures of a REPORT line / platform.report record."""

    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None  # only on the first invocation of an environment


def status_for(error_type: str | None, timed_out: bool = False) -> str:
    """The Status Lambda gives a platform-detected failure of this type (RAPID's rule)."""
    if timed_out:
        return TIMEOUT
    if error_type is None:
        return SUCCESS
    return FAILURE if error_type.startswith("Sandbox.") else ERROR


def aws_log_format(log_format: str) -> str:
    """The value Lambda puts in AWS_LAMBDA_LOG_FORMAT for a LoggingConfig.LogFormat."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    return "JSON" if log_format == "json" else "Text"


def billed_ms(duration_ms: float) -> int:
    """Lambda bills whole milliseconds, rounded up, at least 1."""
    return max(1, math.ceil(duration_ms))


def iso_time(when: float) -> str:
    """``2024-05-20T16:29:45.006Z``: the ``time`` of a JSON record, millisecond precision."""
    stamp = datetime.fromtimestamp(when, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class PlatformLog:
    """Builds the platform records of one function, in one log format.

    Every method returns the log events to write, in order (often none: the text format has
    no counterpart of ``platform.initRuntimeDone``, the JSON format none of END).
    """

    def __init__(
        self,
        log_format: str = "text",
        *,
        function_name: str,
        runtime_version: str,
        runtime_version_arn: str,
        function_version: str = "$LATEST",
        initialization_type: str = "on-demand",
    ) -> None:
        aws_log_format(log_format)  # validates
        self.json = log_format == "json"
        self.function_name = function_name
        self.function_version = function_version
        self.runtime_version = runtime_version
        self.runtime_version_arn = runtime_version_arn
        self.initialization_type = initialization_type

    # -- init --------------------------------------------------------------------------------

    def init_start(self, phase: str, when: float) -> list[str]:
        """INIT_START (text, init phase only: Lambda logs none before an invoke-phase retry)."""
        if self.json:
            return [
                self._event(
                    "platform.initStart",
                    when,
                    {
                        "initializationType": self.initialization_type,
                        "phase": phase,
                        "runtimeVersion": self.runtime_version,
                        "runtimeVersionArn": self.runtime_version_arn,
                        "functionName": self.function_name,
                        "functionVersion": self.function_version,
                    },
                )
            ]
        if phase != "init":
            return []
        return [
            f"INIT_START Runtime Version: {self.runtime_version}"
            f"\tRuntime Version ARN: {self.runtime_version_arn}"
        ]

    def init_done(
        self, phase: str, status: str, error_type: str | None, duration_ms: float, when: float
    ) -> list[str]:
        """platform.initRuntimeDone + platform.initReport; INIT_REPORT only when init failed.

        Text: ``INIT_REPORT Init Duration: 374.97 ms\\tPhase: init\\tStatus: error\\tError Type:
        Runtime.ImportModuleError`` (``Status: timeout`` has no Error Type). A successful init
        has no text record of its own: its duration goes into the first REPORT line.
        """
        if self.json:
            done: dict[str, Any] = {
                "initializationType": self.initialization_type,
                "phase": phase,
                "status": status,
            }
            if error_type is not None and status in (ERROR, FAILURE):
                done["errorType"] = error_type
            report = dict(done, metrics={"durationMs": round(duration_ms, 3)})
            return [
                self._event("platform.initRuntimeDone", when, done),
                self._event("platform.initReport", when, report),
            ]
        if status == SUCCESS:
            return []
        line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
        if error_type is not None and status in (ERROR, FAILURE):
            line += f"\tError Type: {error_type}"
        return [line]

    # -- invoke ------------------------------------------------------------------------------

    def start(self, request_id: str, trace_header: str | None, when: float) -> list[str]:
        """``START RequestId: <id> Version: $LATEST`` / platform.start."""
        if self.json:
            record: dict[str, Any] = {"requestId": request_id, "version": self.function_version}
            if trace_header:
                record["tracing"] = _tracing(trace_header)
            return [self._event("platform.start", when, record)]
        return [f"START RequestId: {request_id} Version: {self.function_version}"]

    def fault(self, message: str) -> list[str]:
        """The platform's own error line (text format only), e.g. a runtime exit.

        ``message`` is built by :func:`fault_message` / :func:`timeout_message`.
        """
        return [] if self.json else [message]

    def end(
        self,
        request_id: str,
        outcome_status: str,
        error_type: str | None,
        metrics: ReportMetrics,
        trace_header: str | None,
        when: float,
    ) -> tuple[list[str], str]:
        """platform.runtimeDone + platform.report / END + REPORT; also returns the report.

        Text REPORT: ``REPORT RequestId: <id>\\tDuration: 12.34 ms\\tBilled Duration: 13 ms
        \\tMemory Size: 128 MB\\tMax Memory Used: 60 MB[\\tInit Duration: 150.00 ms]``, then
        ``\\tStatus: timeout`` or ``\\tStatus: error\\tError Type: Runtime.ExitError`` when the
        platform saw the invocation fail.
        """
        failed = outcome_status in (ERROR, FAILURE)
        if self.json:
            done: dict[str, Any] = {"requestId": request_id, "status": outcome_status}
            report: dict[str, Any] = {"requestId": request_id, "status": outcome_status}
            if failed and error_type is not None:
                done["errorType"] = error_type
                report["errorType"] = error_type
            if trace_header:
                done["tracing"] = _tracing(trace_header)
            done["metrics"] = {"durationMs": round(metrics.duration_ms, 3), "producedBytes": 0}
            numbers: dict[str, Any] = {
                "durationMs": round(metrics.duration_ms, 3),
                "billedDurationMs": metrics.billed_duration_ms,
                "memorySizeMB": metrics.memory_size_mb,
                "maxMemoryUsedMB": metrics.max_memory_used_mb,
            }
            if metrics.init_duration_ms is not None:
                numbers["initDurationMs"] = round(metrics.init_duration_ms, 3)
            report["metrics"] = numbers
            if trace_header:
                report["tracing"] = _tracing(trace_header)
            record = self._event("platform.report", when, report)
            return [self._event("platform.runtimeDone", when, done), record], record
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {metrics.duration_ms:.2f} ms"
            f"\tBilled Duration: {metrics.billed_duration_ms} ms"
            f"\tMemory Size: {metrics.memory_size_mb} MB"
            f"\tMax Memory Used: {metrics.max_memory_used_mb} MB"
        )
        if metrics.init_duration_ms is not None:
            line += f"\tInit Duration: {metrics.init_duration_ms:.2f} ms"
        if outcome_status == TIMEOUT:
            line += "\tStatus: timeout"
        elif failed:
            line += f"\tStatus: {outcome_status}"
            if error_type is not None:
                line += f"\tError Type: {error_type}"
        return [f"END RequestId: {request_id}", line], line

    def _event(self, kind: str, when: float, record: dict[str, Any]) -> str:
        event = {"time": iso_time(when), "type": kind, "record": record}
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _tracing(trace_header: str) -> dict[str, str]:
    """A TraceContext: the X-Ray header Lambda passed to the function."""
    return {"type": "X-Amzn-Trace-Id", "value": trace_header}


def fault_message(request_id: str, reason: str, error_type: str) -> str:
    """RAPID's fault line: ``RequestId: <id> Error: <reason>`` and the error type below it."""
    return f"RequestId: {request_id} Error: {reason}\n{error_type}"


def init_fault_message(error_type: str) -> str:
    """What Lambda logs in an invocation whose init failed after the runtime reported why."""
    return f"Unknown application error occurred\n{error_type}"


def timeout_message(request_id: str, timeout_s: float, when: float) -> str:
    """``2024-01-29T16:41:15.998Z <id> Task timed out after 3.00 seconds``."""
    return f"{iso_time(when)} {request_id} Task timed out after {timeout_s:.2f} seconds"
