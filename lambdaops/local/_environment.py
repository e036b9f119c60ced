"""One local Lambda execution environment: an awslambdaric process plus its Runtime API.

Running the real runtime client in a real process is what makes local runs trustworthy:
cold and warm starts, module state kept between invocations, timeouts and memory limits that
kill the process, init failures retried in the invoke phase, and a log — the function's
lines and Lambda's platform records, in either log format — as CloudWatch would receive it.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from lambdaops.local import _platform as platform
from lambdaops.local._platform import PlatformLog, PlatformOutcome, ReportMetrics
from lambdaops.local._runtime_api import InvocationResult, RuntimeAPI
from lambdaops.local._sandbox import (
    InitFailure,
    Sandbox,
    child_environment,
    init_failure,
    python_version,
)
from lambdaops.local._service import Service

__all__ = ["Environment"]

_SETTLE_S = 2.0  # upper bound for the runtime to get back to GET /next after answering
_DRAIN_S = 1.0  # upper bound for reading what the runtime wrote before a sync
_FUNCTION_STREAMS = ("stdout", "telemetry")


class Environment(Service):
    """One execution environment: a fresh `python -m awslambdaric HANDLER` and its own RuntimeAPI.

    The process starts on start() or the first invoke() (a cold start, Lambda's init phase)
    and serves later invocations warm, until an invocation times out, runs out of memory or
    the process dies; the next invoke() is then cold again. If init fails, the invocation
    that needed it re-runs init once more in the invoke phase, as Lambda does, and so does
    every later invoke() until an init succeeds. Invocations are serialized.
    """

    #: Lambda's limit on the init phase of an on-demand function.
    init_timeout_s: float = 10.0

    def __init__(
        self,
        handler: str,
        *,
        code_dir: str | os.PathLike[str],
        function_name: str = "local-function",
        memory_mb: int = 128,
        timeout_s: float = 3.0,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        region: str = "us-east-1",
        log_format: str = "text",
        on_spawn: Callable[[int], None] | None = None,
    ) -> None:
        self.handler = handler
        #: Called with each runtime process's pid as it starts (``lambdaops tune``'s CPU share).
        self.on_spawn = on_spawn
        self.code_dir = os.path.abspath(os.fspath(code_dir))
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.region = region
        self.python = python
        self.log_format = log_format
        self.function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.platform = PlatformLog(
            log_format,
            function_name=function_name,
            runtime_version=f"python:{python_version(python)}.local",
            runtime_version_arn=f"arn:aws:lambda:{region}::runtime:local",
        )
        self._env_overrides = dict(env or {})
        self.cold = False
        self.init_duration_ms: float | None = None
        #: Every log event in arrival order: (time, stream, text); stream is "stdout",
        #: "stderr", "telemetry" (one frame of the runtime's log channel) or "platform".
        self.lines: list[tuple[float, str, str]] = []
        self._lines_lock = threading.Lock()
        self._invoke_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._sandbox: Sandbox | None = None
        self._init_failure: InitFailure | None = None
        self._last_hwm_mb: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Environment:
        """Spawn the runtime and wait for its init to finish; a no-op if it is running.

        A failed init does not raise: it is a function outcome, reported by the next
        invoke() and by :attr:`init_error`.
        """
        with self._invoke_lock:
            self._start_locked("invoke" if self._init_failure else "init", self.init_timeout_s)
        return self

    def stop(self) -> None:
        """Terminate the process (and anything it spawned) and join the reader threads."""
        with self._state_lock:
            sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            self._remember_memory(sandbox)
            sandbox.close(grace_s=0.5)

    def __enter__(self) -> Environment:
        """Nothing is spawned yet, so the first invoke() is a cold start as in Lambda."""
        return self

    # -- state -----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The runtime process id while it is running."""
        sandbox = self._sandbox
        return sandbox.proc.pid if sandbox is not None and sandbox.alive else None

    @property
    def init_error(self) -> dict[str, Any] | None:
        """Why the last init failed (the runtime's /init/error body, or the platform's error)."""
        failure = self._init_failure
        return failure.error if failure is not None else None

    def max_memory_used_mb(self) -> int | None:
        """Peak RSS of the runtime in MB, rounded up like Lambda's report.

        Once the process is gone, the last value read from it (after each invocation).
        """
        sandbox = self._sandbox
        if sandbox is not None and sandbox.alive:
            self._remember_memory(sandbox)
        return self._last_hwm_mb

    def lines_since(self, index: int) -> list[str]:
        """The function's log lines (stdout and the runtime's telemetry frames) from ``index``."""
        with self._lines_lock:
            return [text for _, stream, text in self.lines[index:] if stream in _FUNCTION_STREAMS]

    def events_since(self, index: int) -> list[tuple[str, str]]:
        """Every log event from position ``index`` of :attr:`lines`, as (stream, text)."""
        with self._lines_lock:
            return [(stream, text) for _, stream, text in self.lines[index:]]

    # -- invoking --------------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        request_id: str | None = None,
        trace_header: str | None = None,
        timeout_s: float | None = None,
    ) -> InvocationResult:
        """Invoke the handler once, cold-starting the runtime if no process is running.

        Returns only after every log event of this invocation — the function's and the
        platform's, REPORT last — is in :attr:`lines`. A timeout kills the process.
        """
        request_id = request_id or str(uuid.uuid4())
        timeout = self.timeout_s if timeout_s is None else timeout_s
        with self._invoke_lock:
            sandbox = self._sandbox
            self.cold = sandbox is None or not sandbox.alive
            if self.cold:
                began = time.time()
                retry = self._init_failure is not None
                limit = timeout if retry else self.init_timeout_s  # an invoke-phase init
                sandbox = self._start_locked("invoke" if retry else "init", limit)
                if sandbox is None and not retry:
                    began = time.time()  # Lambda retries a failed init at once, in the invoke phase
                    sandbox = self._start_locked("invoke", timeout)
                if sandbox is None:
                    return self._fail_init(request_id, trace_header, began, timeout)
            assert sandbox is not None
            self._emit(self.platform.start(request_id, trace_header, time.time()))
            sandbox.memory.arm()
            result = sandbox.api.invoke(
                event, timeout_s=timeout, request_id=request_id, trace_header=trace_header
            )
            return self._finish(sandbox, result, trace_header, timeout)

    # -- internals -------------------------------------------------------------------------

    def _finish(
        self,
        sandbox: Sandbox,
        result: InvocationResult,
        trace_header: str | None,
        timeout_s: float,
    ) -> InvocationResult:
        """Collect the invocation's output, then write the platform's records of its end."""
        rid = result.request_id
        status, error_type, fault = platform.SUCCESS, None, None
        finished_at = result.finished_at
        if result.status in ("success", "error"):
            # awslambdaric polls /next only after it has finished the invocation, and its
            # output is unbuffered: once it is back, its output is in the pipes.
            if sandbox.api.wait_idle(_SETTLE_S) or sandbox.alive:
                sandbox.memory.disarm()
                sandbox.sync_output(_DRAIN_S)
                self._remember_memory(sandbox)
            else:
                # It answered, then died before asking for the next event (e.g. awslambdaric
                # exits when its oversized response is refused): the platform sees the exit.
                sandbox.exited.wait(5.0)
                finished_at = sandbox.exited_at or time.time()
                error_type = sandbox.exit_error_type()
                status = platform.status_for(error_type)
                fault = platform.fault_message(rid, sandbox.exit_reason(), error_type)
                self._remember_memory(sandbox)
                self._discard(sandbox, grace_s=0.0)
        else:
            self._remember_memory(sandbox)
            if result.status == "timeout":
                status = platform.TIMEOUT
                fault = platform.timeout_message(rid, timeout_s, finished_at)
            else:
                error_type = result.error_type or sandbox.exit_error_type()
                status = platform.status_for(error_type)
                fault = platform.fault_message(rid, sandbox.exit_reason(), error_type)
            self._discard(sandbox, grace_s=0.0)
        if fault is not None:
            self._emit(self.platform.fault(fault))
        duration_ms = (finished_at - result.delivered_at) * 1000.0
        billed = platform.billed_ms(duration_ms)
        if status == platform.TIMEOUT:
            billed = min(billed, platform.billed_ms(timeout_s * 1000.0))
        metrics = ReportMetrics(
            duration_ms=duration_ms,
            billed_duration_ms=billed,
            memory_size_mb=self.memory_mb,
            max_memory_used_mb=self._reported_memory_mb(),
            init_duration_ms=self.init_duration_ms if self.cold else None,
        )
        records, report = self.platform.end(
            rid, status, error_type, metrics, trace_header, time.time()
        )
        self._emit(records)
        return dataclasses.replace(
            result, finished_at=finished_at, platform=PlatformOutcome(status, error_type, report)
        )

    def _fail_init(
        self, request_id: str, trace_header: str | None, began: float, timeout_s: float
    ) -> InvocationResult:
        """An invocation whose init failed twice over: START, the fault, END and REPORT."""
        failure = self._init_failure
        assert failure is not None
        now = time.time()
        self._emit(self.platform.start(request_id, trace_header, now))
        error = dict(failure.error)
        error_type = failure.error_type
        if failure.status == platform.TIMEOUT:
            fault = platform.timeout_message(request_id, timeout_s, now)
            error["errorMessage"] = f"RequestId: {request_id} Error: {error['errorMessage']}"
        elif failure.reported:
            assert error_type is not None
            fault = platform.init_fault_message(error_type)
        else:
            assert error_type is not None
            fault = platform.fault_message(request_id, failure.reason, error_type)
            error["errorMessage"] = f"RequestId: {request_id} Error: {failure.reason}"
        self._emit(self.platform.fault(fault))
        # Lambda's REPORT covers the invoke-phase init (and the few ms of the failed invoke).
        duration_ms = failure.duration_ms
        metrics = ReportMetrics(
            duration_ms=duration_ms,
            billed_duration_ms=platform.billed_ms(duration_ms),
            memory_size_mb=self.memory_mb,
            max_memory_used_mb=self._reported_memory_mb(),
            init_duration_ms=None,
        )
        records, report = self.platform.end(
            request_id, failure.status, error_type, metrics, trace_header, now
        )
        self._emit(records)
        return InvocationResult(
            request_id=request_id,
            status=failure.result_status,
            payload=None,
            error=error,
            error_type=error_type or "Sandbox.Timedout",
            delivered_at=began,
            finished_at=now,
            deadline_ms=0,
            platform=PlatformOutcome(failure.status, error_type, report),
        )

    def _start_locked(self, phase: str, limit_s: float) -> Sandbox | None:
        """Spawn and init a runtime in ``phase``; on failure record why and return None."""
        current = self._sandbox
        if current is not None and current.alive:
            return current
        if current is not None:
            self._discard(current, grace_s=0.0)
        self.init_duration_ms = None
        self._last_hwm_mb = None
        self._emit(self.platform.init_start(phase, time.time()))
        api = RuntimeAPI(function_arn=self.function_arn).start()
        try:
            sandbox = Sandbox(
                command=[self.python, "-u", "-m", "awslambdaric", self.handler],
                cwd=self.code_dir,
                env=child_environment(
                    api.address,
                    self._env_overrides,
                    function_name=self.function_name,
                    memory_mb=self.memory_mb,
                    region=self.region,
                    code_dir=self.code_dir,
                    handler=self.handler,
                    python_version=python_version(self.python),
                    log_format=platform.aws_log_format(self.log_format),
                ),
                api=api,
                on_event=self._add_event,
                memory_mb=self.memory_mb,
            )
        except BaseException:
            api.stop()
            raise
        if self.on_spawn is not None:
            self.on_spawn(sandbox.proc.pid)
        with self._state_lock:
            self._sandbox = sandbox
        sandbox.memory.arm()
        ready = api.wait_ready(limit_s)
        first_next_at = api.first_next_at
        if ready and first_next_at is not None:
            sandbox.memory.disarm()
            self._init_failure = None
            self.init_duration_ms = (first_next_at - sandbox.spawned_at) * 1000.0
            sandbox.sync_output(_DRAIN_S)
            self._remember_memory(sandbox)
            self._emit(
                self.platform.init_done(
                    phase, platform.SUCCESS, None, self.init_duration_ms, time.time()
                )
            )
            return sandbox
        failure, failed_at = init_failure(sandbox, api, self.init_timeout_s)
        self._remember_memory(sandbox)
        self._discard(sandbox, grace_s=1.0 if failure.reported else 0.0)
        duration_ms = (failed_at - sandbox.spawned_at) * 1000.0
        self._init_failure = failure = failure._replace(duration_ms=duration_ms)
        self._emit(
            self.platform.init_done(
                phase, failure.status, failure.error_type, duration_ms, failed_at
            )
        )
        return None

    def _discard(self, sandbox: Sandbox, grace_s: float) -> None:
        """Stop a process for good; `grace_s` is how long it may take to exit by itself."""
        with self._state_lock:
            if self._sandbox is sandbox:
                self._sandbox = None
        if grace_s > 0:
            sandbox.exited.wait(grace_s)
        sandbox.close(grace_s=0.0)

    def _remember_memory(self, sandbox: Sandbox) -> None:
        used = sandbox.max_memory_used_mb()
        if used is not None:
            self._last_hwm_mb = max(used, self._last_hwm_mb or 0)

    def _reported_memory_mb(self) -> int:
        """Max Memory Used: never more than the memory size (the cgroup's ceiling)."""
        return min(self._last_hwm_mb or 0, self.memory_mb)

    def _add_event(self, stream: str, text: str, when: float | None) -> None:
        with self._lines_lock:
            self.lines.append((time.time() if when is None else when, stream, text))

    def _emit(self, records: list[str]) -> None:
        with self._lines_lock:
            now = time.time()
            self.lines.extend((now, "platform", record) for record in records)
