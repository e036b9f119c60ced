"""One runtime process (``python -m awslambdaric HANDLER``) with its pipes, Runtime API and limits.

The Environment decides when a process starts and what its records say; this module only
runs one: it wires stdout, stderr and the telemetry fd to readers, watches its memory, and
fails the in-flight invocation the moment the process dies, as Lambda does.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple

from lambdaops.local import _platform as platform
from lambdaops.local import _telemetry
from lambdaops.local._memory import MemoryWatcher
from lambdaops.local._runtime_api import RuntimeAPI
from lambdaops.local._streams import LineReader, OnEvent, PipeReader

__all__ = ["Sandbox", "describe_exit", "lambda_variables", "read_hwm_mb"]

_DRAIN_S = 1.0  # upper bound for reading what a finished process left in its pipes
OUT_OF_MEMORY = "Runtime.OutOfMemory"
EXIT_ERROR = "Runtime.ExitError"


class Sandbox:
    """A running runtime process: its API, its three log pipes and its memory watcher."""

    def __init__(
        self,
        *,
        command: list[str],
        cwd: str,
        env: Mapping[str, str],
        api: RuntimeAPI,
        on_event: OnEvent,
        memory_mb: int,
    ) -> None:
        self.api = api
        self.readers: tuple[PipeReader, ...] = (
            LineReader("stdout", on_event),
            LineReader("stderr", on_event),
            _telemetry.FrameReader("telemetry", on_event),
        )
        for reader in self.readers:
            reader.start()
        telemetry_fd = self.readers[2].child_fd
        self.spawned_at = time.time()
        self.exited_at: float | None = None
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                env={**env, _telemetry.ENV_VAR: str(telemetry_fd)},
                stdin=subprocess.DEVNULL,
                stdout=self.readers[0].child_fd,
                stderr=self.readers[1].child_fd,
                pass_fds=(telemetry_fd,),
                start_new_session=True,  # so a kill reaches whatever the handler spawned
            )
        except BaseException:
            for reader in self.readers:
                reader.stop(_DRAIN_S)
            raise
        self.memory = MemoryWatcher(self.proc.pid, memory_mb, self._out_of_memory)
        self.exited = threading.Event()
        self.returncode: int | None = None
        self._watcher = threading.Thread(
            target=self._watch, name=f"lambdaops-local-watch-{self.proc.pid}", daemon=True
        )
        self._watcher.start()

    @property
    def alive(self) -> bool:
        return not self.exited.is_set()

    @property
    def killed_for_memory(self) -> bool:
        return self.memory.exceeded.is_set()

    def exit_error_type(self) -> str:
        """Runtime.OutOfMemory if we killed it for memory, else Runtime.ExitError."""
        return OUT_OF_MEMORY if self.killed_for_memory else EXIT_ERROR

    def exit_reason(self) -> str:
        """RAPID's words for the exit: "Runtime exited with error: exit status 1"."""
        if self.returncode == 0:
            return "Runtime exited without providing a reason"
        return f"Runtime exited with error: {describe_exit(self.returncode)}"

    def sync_output(self, timeout_s: float) -> None:
        """Wait until everything the runtime wrote so far has become events."""
        for reader in self.readers:
            reader.sync(timeout_s)

    def kill(self, grace_s: float) -> None:
        """SIGTERM (if graceful) then SIGKILL the whole process group, and wait for the exit."""
        if self.alive and grace_s > 0:
            self._signal(signal.SIGTERM)
            self.exited.wait(grace_s)
        if self.alive:
            self._signal(signal.SIGKILL)
            self.exited.wait(5.0)

    def close(self, grace_s: float) -> None:
        """Kill, stop the API and read the pipes to their end: all its events are in."""
        self.kill(grace_s)
        self.memory.stop()
        self.api.stop()
        for reader in self.readers:
            reader.stop(_DRAIN_S)

    def max_memory_used_mb(self) -> int | None:
        """Peak RSS: the larger of the process's VmHWM and the tree peak the watcher saw."""
        hwm = read_hwm_mb(self.proc.pid) if self.alive else None
        peak = self.memory.peak_mb or None
        values = [v for v in (hwm, peak) if v is not None]
        return max(values) if values else None

    def _out_of_memory(self) -> None:
        self._signal(signal.SIGKILL)

    def _watch(self) -> None:
        """Fail the in-flight invocation as soon as the process dies, as Lambda does."""
        self.returncode = self.proc.wait()
        self.exited_at = time.time()
        self.memory.disarm()
        for reader in self.readers:
            reader.close_writer()
        self.api.abort("crashed", self.exit_error_type(), self.exit_reason())
        self.exited.set()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc.returncode is not None:
            return  # reaped: the pid (and group id) may already belong to someone else
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class InitFailure(NamedTuple):
    """Why the last init failed, kept to fail the invocation that needed it."""

    status: str  # the platform Status: error or timeout
    error_type: str | None  # Runtime.ImportModuleError, Runtime.ExitError, ...
    result_status: str  # InvocationResult.status: init_error, crashed or timeout
    error: dict[str, Any]  # what the caller gets (RequestId filled in per invocation)
    reported: bool  # the runtime posted /init/error (rather than dying or hanging)
    reason: str  # RAPID's words for an exit, for the fault line
    duration_ms: float = 0.0  # how long the failed init ran


def init_failure(
    sandbox: Sandbox, api: RuntimeAPI, init_timeout_s: float
) -> tuple[InitFailure, float]:
    """Why init ended without a GET /next, and when."""
    init_error = api.init_error
    if init_error is not None:
        # awslambdaric exits by itself right after posting /init/error.
        error_type = api.init_error_type or "Runtime.Unknown"
        failure = InitFailure("error", error_type, "init_error", init_error, True, "")
        return failure, api.init_error_at or time.time()
    if not sandbox.alive:
        error_type = sandbox.exit_error_type()
        reason = sandbox.exit_reason()
        error = {"errorType": error_type, "errorMessage": reason}
        failure = InitFailure(
            platform.status_for(error_type), error_type, "crashed", error, False, reason
        )
        return failure, sandbox.exited_at or time.time()
    message = f"Task timed out after {init_timeout_s:.2f} seconds"
    error = {"errorType": "Sandbox.Timedout", "errorMessage": message}
    return InitFailure(platform.TIMEOUT, None, "timeout", error, False, message), time.time()


# Variables from our own environment that would change how awslambdaric behaves.
_DROPPED_PREFIXES = ("AWS_LAMBDA_", "_LAMBDA_", "_X_AMZN_TRACE_ID", "_AWS_XRAY")
_DROPPED_NAMES = frozenset(
    {"_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV", "PYTHONPATH"}
)


def child_environment(
    api_address: str, overrides: Mapping[str, str], **variables: Any
) -> dict[str, str]:
    """Lambda's variables (``lambda_variables(**variables)``) over a copy of ours minus anything
    that would steer awslambdaric, then ``overrides``, then the Runtime API's address."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED_NAMES
    }
    python_path = os.environ.get("PYTHONPATH")
    env.update(lambda_variables(**variables))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (variables["code_dir"], python_path) if p)
    env.update(overrides)
    env["AWS_LAMBDA_RUNTIME_API"] = api_address
    return env


@functools.lru_cache(maxsize=16)
def python_version(python: str) -> str:
    """major.minor of the interpreter that will run the runtime (asked once, if not ours)."""
    ours = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if python == sys.executable:
        return ours
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ours
    return out or ours


def lambda_variables(
    *,
    function_name: str,
    memory_mb: int,
    region: str,
    code_dir: str,
    handler: str,
    python_version: str,
    log_format: str,
) -> dict[str, str]:
    """The variables Lambda sets for a Python function's runtime process."""
    today = datetime.now(timezone.utc).strftime("%Y/%m/%d")
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        # LoggingConfig.LogFormat: awslambdaric formats its own records (and `logging`) by it.
        "AWS_LAMBDA_LOG_FORMAT": log_format,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # awslambdaric switches behaviour (thread polling, JSON encoding) on this name,
        # so it must match the interpreter that actually runs.
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{python_version}",
        "LAMBDA_TASK_ROOT": code_dir,
        "_HANDLER": handler,
        "TZ": ":UTC",
    }


def describe_exit(returncode: int | None) -> str:
    """Exit status in the words Lambda uses ("exit status 1", "signal: killed")."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"


def read_hwm_mb(pid: int) -> int | None:
    """Peak RSS (VmHWM) of one process in MB, rounded up like Lambda's report."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    return -(-kib // 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None
