"""One local Lambda execution environment: an awslambdaric process plus its Runtime API.

Running the real runtime client in a real process is what makes local runs trustworthy:
cold and warm starts, module state kept between invocations, timeouts that kill the
process, and stdout captured line by line as CloudWatch would receive it.
"""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from lambdaops.local._runtime_api import InvocationResult, RuntimeAPI
from lambdaops.local._service import Service

__all__ = ["Environment"]

# Written by us into the child's own stdout/stderr pipe: pipes are FIFO, so once the reader
# sees the marker, everything the child wrote before it has been read. Shorter than
# PIPE_BUF, so the write is atomic.
_SYNC_MARK = b"\x00\x1b[lambdaops-local-sync]\x1b\x00"
_READ_SIZE = 65536
# Variables from our own environment that would change how awslambdaric behaves.
_DROPPED_PREFIXES = ("AWS_LAMBDA_", "_LAMBDA_", "_X_AMZN_TRACE_ID", "_AWS_XRAY")
_DROPPED_NAMES = frozenset(
    {"_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV", "PYTHONPATH"}
)
_SETTLE_S = 2.0  # upper bound for the runtime to get back to GET /next after answering
_DRAIN_S = 1.0  # upper bound for reading what a finished process left in its pipes


class _StreamReader:
    """Drains one child pipe on a thread, so the child never blocks on a full pipe."""

    def __init__(self, name: str, on_line: Callable[[str, str], None]) -> None:
        self.name = name
        self._on_line = on_line
        self._read_fd, write_fd = os.pipe()
        # We keep the write end too: it carries our sync marks, and is closed when the child exits.
        self._write_fd: int | None = write_fd
        self.child_fd = write_fd
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._marks_sent = 0
        self._marks_seen = 0
        self._eof = False
        self._stopping = False
        self._pending = b""
        self._thread = threading.Thread(
            target=self._run, name=f"lambdaops-local-{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close_writer(self) -> None:
        """Drop our copy of the write end, so the reader sees EOF once the child is gone."""
        with self._write_lock:
            if self._write_fd is not None:
                os.close(self._write_fd)
                self._write_fd = None

    def sync(self, timeout_s: float) -> bool:
        """Wait until everything written to the pipe so far has become lines."""
        with self._write_lock:
            if self._write_fd is not None:
                self._marks_sent += 1
                target = self._marks_sent
                os.write(self._write_fd, _SYNC_MARK)
            else:
                target = -1
        with self._cond:
            return self._cond.wait_for(
                lambda: self._eof or (target >= 0 and self._marks_seen >= target), timeout_s
            )

    def stop(self, timeout_s: float) -> None:
        """Read to EOF if it comes soon, then give up (a grandchild may hold the pipe open)."""
        self.close_writer()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._stopping = True
            self._thread.join(1.0)
        if not self._thread.is_alive() and self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        try:
            while not self._stopping:
                if not poller.poll(200):
                    continue
                data = os.read(self._read_fd, _READ_SIZE)
                if not data:
                    break
                self._feed(data)
        except OSError:
            pass
        finally:
            if self._pending:
                self._emit(self._pending)
                self._pending = b""
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _feed(self, data: bytes) -> None:
        buf = self._pending + data
        while True:
            mark = buf.find(_SYNC_MARK)
            newline = buf.find(b"\n")
            if mark >= 0 and (newline < 0 or mark < newline):
                # The child is idle when we sync, so a partial line before the mark is complete.
                if mark:
                    self._emit(buf[:mark])
                buf = buf[mark + len(_SYNC_MARK) :]
                with self._cond:
                    self._marks_seen += 1
                    self._cond.notify_all()
            elif newline >= 0:
                self._emit(buf[:newline])
                buf = buf[newline + 1 :]
            else:
                break
        self._pending = buf

    def _emit(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self._on_line(self.name, raw.decode("utf-8", "replace"))


class _Sandbox:
    """One runtime process with its own Runtime API and pipe readers."""

    def __init__(
        self,
        api: RuntimeAPI,
        proc: subprocess.Popen[bytes],
        readers: tuple[_StreamReader, _StreamReader],
        spawned_at: float,
    ) -> None:
        self.api = api
        self.proc = proc
        self.readers = readers
        self.spawned_at = spawned_at
        self.exited = threading.Event()
        self.returncode: int | None = None
        self._watcher = threading.Thread(
            target=self._watch, name=f"lambdaops-local-watch-{proc.pid}", daemon=True
        )
        self._watcher.start()

    def _watch(self) -> None:
        """Fail the in-flight invocation as soon as the process dies, as Lambda does."""
        self.returncode = self.proc.wait()
        for reader in self.readers:
            reader.close_writer()
        self.api.abort(
            "crashed",
            "Runtime.ExitError",
            f"Runtime exited with error: {_describe_exit(self.returncode)}",
        )
        self.exited.set()

    @property
    def alive(self) -> bool:
        return not self.exited.is_set()

    def sync_output(self, timeout_s: float) -> None:
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
        self.kill(grace_s)
        self.api.stop()
        for reader in self.readers:
            reader.stop(_DRAIN_S)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc.returncode is not None:
            return  # reaped: the pid (and group id) may already belong to someone else
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Environment(Service):
    """One execution environment: a fresh `python -m awslambdaric HANDLER` and its own RuntimeAPI.

    The process starts on the first invoke() (a cold start) and serves later invocations
    warm, until an invocation times out or the process dies; the next invoke() is then cold
    again. Invocations are serialized, as in a real execution environment.
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
    ) -> None:
        self.handler = handler
        self.code_dir = os.path.abspath(os.fspath(code_dir))
        self.function_name = function_name
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.region = region
        self.python = python
        self.function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self._env_overrides = dict(env or {})
        self.cold = False
        self.init_duration_ms: float | None = None
        self.lines: list[tuple[float, str, str]] = []
        self._lines_lock = threading.Lock()
        self._invoke_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._sandbox: _Sandbox | None = None
        self._init_failure: InvocationResult | None = None
        self._last_hwm_mb: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Environment:
        """Spawn the runtime and wait for its init to finish; a no-op if it is running.

        A failed init does not raise: it is a function outcome, reported by the next
        invoke() and by :attr:`init_error`, and the next invoke() tries a fresh process.
        """
        with self._invoke_lock:
            self._start_locked()
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
        """Peak RSS (VmHWM) of the runtime process in MB, rounded up like Lambda's report.

        Once the process is gone, the last value read from it (after each invocation).
        """
        sandbox = self._sandbox
        if sandbox is not None and sandbox.alive:
            self._remember_memory(sandbox)
        return self._last_hwm_mb

    def lines_since(self, index: int) -> list[str]:
        """stdout lines from position ``index`` of :attr:`lines` (which also holds stderr)."""
        with self._lines_lock:
            return [text for _, stream, text in self.lines[index:] if stream == "stdout"]

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

        Returns only after the process's output for this invocation has been read into
        :attr:`lines`. A timeout kills the process, as Lambda does.
        """
        request_id = request_id or str(uuid.uuid4())
        timeout = self.timeout_s if timeout_s is None else timeout_s
        with self._invoke_lock:
            sandbox = self._sandbox
            self.cold = sandbox is None or not sandbox.alive
            if self.cold:
                sandbox = self._start_locked()
                if sandbox is None:
                    failure = self._init_failure
                    assert failure is not None
                    return _with_request_id(failure, request_id)
            assert sandbox is not None
            result = sandbox.api.invoke(
                event, timeout_s=timeout, request_id=request_id, trace_header=trace_header
            )
            if result.status in ("success", "error"):
                # awslambdaric polls /next only after it has finished the invocation, and its
                # output is unbuffered: once it is back, its output is in the pipe.
                sandbox.api.wait_idle(_SETTLE_S)
                sandbox.sync_output(_DRAIN_S)
                self._remember_memory(sandbox)
            else:
                self._remember_memory(sandbox)
                self._discard(sandbox, grace_s=0.0)
            return result

    # -- internals -------------------------------------------------------------------------

    def _start_locked(self) -> _Sandbox | None:
        """Spawn and init a runtime; on failure record why and return None."""
        current = self._sandbox
        if current is not None and current.alive:
            return current
        if current is not None:
            self._discard(current, grace_s=0.0)
        self._init_failure = None
        self.init_duration_ms = None
        self._last_hwm_mb = None

        api = RuntimeAPI(function_arn=self.function_arn)
        api.start()
        readers = (
            _StreamReader("stdout", self._add_line),
            _StreamReader("stderr", self._add_line),
        )
        for reader in readers:
            reader.start()
        spawned_at = time.time()
        try:
            proc = subprocess.Popen(
                [self.python, "-u", "-m", "awslambdaric", self.handler],
                cwd=self.code_dir,
                env=self._child_env(api.address),
                stdin=subprocess.DEVNULL,
                stdout=readers[0].child_fd,
                stderr=readers[1].child_fd,
                start_new_session=True,  # so a kill reaches whatever the handler spawned
            )
        except BaseException:
            api.stop()
            for reader in readers:
                reader.stop(_DRAIN_S)
            raise
        sandbox = _Sandbox(api, proc, readers, spawned_at)
        with self._state_lock:
            self._sandbox = sandbox

        ready = api.wait_ready(self.init_timeout_s)
        first_next_at = api.first_next_at
        if ready and first_next_at is not None:
            self.init_duration_ms = (first_next_at - spawned_at) * 1000.0
            sandbox.sync_output(_DRAIN_S)
            self._remember_memory(sandbox)
            return sandbox

        now = time.time()
        init_error = api.init_error
        if init_error is not None:
            failed_at = api.init_error_at or now
            self.init_duration_ms = (failed_at - spawned_at) * 1000.0
            status, error, error_type = "init_error", init_error, api.init_error_type
            grace = 1.0  # awslambdaric exits by itself right after posting /init/error
        elif not sandbox.alive:
            failed_at = now
            error_type = "Runtime.ExitError"
            message = f"Runtime exited with error: {_describe_exit(sandbox.returncode)}"
            status, error = "crashed", {"errorType": error_type, "errorMessage": message}
            grace = 0.0
        else:
            failed_at = now
            error_type = "Sandbox.Timedout"
            message = f"Init phase timed out after {self.init_timeout_s:.2f} seconds"
            status, error = "timeout", {"errorType": error_type, "errorMessage": message}
            grace = 0.0
        self._init_failure = InvocationResult(
            request_id="",
            status=status,
            payload=None,
            error=error,
            error_type=error_type,
            delivered_at=failed_at,
            finished_at=failed_at,
            deadline_ms=0,
        )
        self._remember_memory(sandbox)
        self._discard(sandbox, grace_s=grace)
        return None

    def _discard(self, sandbox: _Sandbox, grace_s: float) -> None:
        """Stop a process for good; `grace_s` is how long it may take to exit by itself."""
        with self._state_lock:
            if self._sandbox is sandbox:
                self._sandbox = None
        if grace_s > 0:
            sandbox.exited.wait(grace_s)
        sandbox.close(grace_s=0.0)

    def _remember_memory(self, sandbox: _Sandbox) -> None:
        if sandbox.alive:
            hwm = _read_hwm_mb(sandbox.proc.pid)
            if hwm is not None:
                self._last_hwm_mb = hwm

    def _add_line(self, stream: str, text: str) -> None:
        with self._lines_lock:
            self.lines.append((time.time(), stream, text))

    def _child_env(self, api_address: str) -> dict[str, str]:
        """Lambda's variables over a copy of ours minus anything that would steer awslambdaric."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_DROPPED_PREFIXES) and name not in _DROPPED_NAMES
        }
        python_path = os.environ.get("PYTHONPATH")
        today = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                # awslambdaric switches behaviour (thread polling, JSON encoding) on this name,
                # so it must match the interpreter that actually runs.
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{_python_version(self.python)}",
                "LAMBDA_TASK_ROOT": self.code_dir,
                "_HANDLER": self.handler,
                "TZ": ":UTC",
                "PYTHONPATH": os.pathsep.join(p for p in (self.code_dir, python_path) if p),
            }
        )
        env.update(self._env_overrides)
        env["AWS_LAMBDA_RUNTIME_API"] = api_address
        return env


def _with_request_id(result: InvocationResult, request_id: str) -> InvocationResult:
    return InvocationResult(
        request_id=request_id,
        status=result.status,
        payload=result.payload,
        error=result.error,
        error_type=result.error_type,
        delivered_at=result.delivered_at,
        finished_at=result.finished_at,
        deadline_ms=result.deadline_ms,
    )


def _describe_exit(returncode: int | None) -> str:
    """Exit status in the words Lambda uses ("exit status 1", "signal: killed")."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"


def _read_hwm_mb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    return -(-kib // 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


@functools.lru_cache(maxsize=16)
def _python_version(python: str) -> str:
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
