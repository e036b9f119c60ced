"""One runtime process (``python -m awslambdaric HANDLER``) with its pipes, Runtime API and limits.

The Environment decides when a process starts and what its records say; this module only
runs one: it wires stdout, stderr and the telemetry fd to readers, watches its memory, and
fails the in-flight invocation the moment the process dies, as Lambda does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone

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
