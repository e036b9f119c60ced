"""Run a handler locally the way Lambda would: environments, deadlines, traces, REPORT lines.

:class:`LocalRunner` owns the execution environments (one awslambdaric
process each), the trace listeners that collect sampled invocations — an X-Ray
daemon stand-in (UDP) and, when opentelemetry-proto is installed, an OTLP/HTTP
receiver — and, when there is something to seed, moto's server for Parameter
Store and Secrets Manager. ``lambdaops local`` and ``make demo`` both drive it.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import lambdaops
from lambdaops._traceheader import parse_trace_header, trace_root
from lambdaops.local._environment import Environment
from lambdaops.local._runtime_api import InvocationResult
from lambdaops.local._service import Service

if TYPE_CHECKING:
    from lambdaops.local._otlp_receiver import OTLPReceiver
    from lambdaops.local._traces import TraceStore
    from lambdaops.local._xray_daemon import XRayDaemon

_PACKAGE_ROOT = str(Path(lambdaops.__file__).resolve().parents[1])


def new_trace_header(sampled: bool) -> str:
    """A trace header as Lambda passes it: Root, the function segment as Parent, Sampled."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={1 if sampled else 0}"


@dataclass
class LocalResult:
    """One invocation as the local runtime saw it.

    ``lines`` are the function's log lines (stdout and the runtime's telemetry frames);
    ``events`` is the whole log of the invocation as Lambda writes it, as (stream, text):
    platform records (stream "platform") around the function's events, REPORT last.
    """

    result: InvocationResult
    environment: int
    cold: bool
    init_duration_ms: float | None
    memory_mb: int
    max_memory_used_mb: int | None
    trace_header: str
    lines: list[str] = field(default_factory=list)
    label: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        return self.result.request_id

    @property
    def sampled(self) -> bool:
        return parse_trace_header(self.trace_header).get("Sampled") == "1"

    @property
    def trace_id(self) -> str:
        return trace_root(self.trace_header) or ""

    def report_line(self) -> str:
        """Lambda's ``REPORT`` line (or ``platform.report`` record) for this invocation."""
        platform = self.result.platform
        return platform.report if platform is not None else ""


class LocalRunner(Service):
    """Execution environments for one function, plus the services they talk to."""

    def __init__(
        self,
        handler: str,
        code_dir: str | os.PathLike[str],
        *,
        function_name: str | None = None,
        memory_mb: int = 128,
        timeout_s: float = 3.0,
        sampling: float = 0.0,
        concurrency: int = 1,
        seed: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        log: TextIO | None = None,
        log_format: str = "text",
    ) -> None:
        self.handler = handler
        self.code_dir = Path(code_dir).resolve()
        self.function_name = function_name or self.code_dir.name
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.sampling = sampling
        self.seed = seed
        self.extra_env = dict(env or {})
        self.log = log
        self.log_format = log_format
        self.environments: list[Environment] = []
        self._concurrency = concurrency
        self._moto: Any = None
        self.xray: XRayDaemon | None = None
        #: The OTLP/HTTP receiver; None when opentelemetry-proto is not installed.
        self.otlp: OTLPReceiver | None = None
        #: What the runner could not set up (said once by ``lambdaops local``).
        self.notices: list[str] = []
        self._log_lock = threading.Lock()
        self._random = random.Random()

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> LocalRunner:
        from lambdaops.local._xray_daemon import XRayDaemon

        self.xray = XRayDaemon().start()
        env = {
            "PYTHONPATH": os.pathsep.join([str(self.code_dir), _PACKAGE_ROOT]),
            "AWS_XRAY_DAEMON_ADDRESS": self.xray.address,
        }
        self.otlp = self._start_otlp()
        if self.otlp is not None:
            env.update(self.otlp.env())
        env.update(self.extra_env)
        if self.seed is not None:
            from lambdaops.local._moto import MotoServer

            self._moto = MotoServer().start()
            self._moto.seed(self.seed)
            env.update(self._moto.env())
        #: What the function's processes get (``lambdaops tune`` reuses it for the demo).
        self.function_env = env
        for _ in range(self._concurrency):
            self.environments.append(
                Environment(
                    self.handler,
                    code_dir=self.code_dir,
                    function_name=self.function_name,
                    memory_mb=self.memory_mb,
                    timeout_s=self.timeout_s,
                    env=env,
                    log_format=self.log_format,
                )
            )
        return self

    def _start_otlp(self) -> OTLPReceiver | None:
        """The OTLP receiver, or None (and a notice) without opentelemetry-proto."""
        from lambdaops.local._otlp_receiver import OTLPReceiver

        try:
            return OTLPReceiver().start()
        except ImportError as exc:
            self.notices.append(f"OTLP receiver skipped: {exc}")
            return None

    def stop(self) -> None:
        for environment in self.environments:
            environment.stop()
        for listener in self.listeners():
            listener.stop()
        if self._moto is not None:
            self._moto.stop()

    # -- invoking -------------------------------------------------------------------
    def invoke(
        self,
        event: Any,
        *,
        environment: int = 0,
        request_id: str | None = None,
        sampled: bool | None = None,
        label: str = "",
    ) -> LocalResult:
        """One invocation in environment number ``environment`` (cold if it has no process)."""
        env = self.environments[environment]
        if sampled is None:
            sampled = self._random.random() < self.sampling
        header = new_trace_header(sampled)
        start = len(env.lines)
        result = env.invoke(event, request_id=request_id, trace_header=header)
        events = env.events_since(start)
        lines = [text for stream, text in events if stream in ("stdout", "telemetry")]
        local = LocalResult(
            result=result,
            environment=environment,
            cold=env.cold,
            init_duration_ms=env.init_duration_ms,
            memory_mb=self.memory_mb,
            max_memory_used_mb=env.max_memory_used_mb(),
            trace_header=header,
            lines=lines,
            label=label,
            events=events,
        )
        if self.log is not None:
            with self._log_lock:
                # One event after another, as `aws logs tail` prints them: an event of several
                # lines (a telemetry frame with a traceback) continues on the following lines.
                for _, text in events:
                    self.log.write(text + "\n")
                self.log.flush()
        return local

    # -- traces ---------------------------------------------------------------------
    def listeners(self) -> list[TraceStore]:
        """The trace listeners running: the X-Ray daemon, then the OTLP receiver."""
        return [x for x in (self.xray, self.otlp) if x is not None]

    def trace_listeners(self, local: LocalResult, wait_s: float = 0.5) -> list[TraceStore]:
        """The listeners that got a sampled invocation's trace (normally one), once it has
        arrived; empty for an unsampled invocation or a trace that never came."""
        listeners = self.listeners()
        if not local.sampled or not listeners:
            return []

        def arrived() -> list[TraceStore]:
            return [x for x in listeners if x.segments_for(local.trace_id)]

        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not arrived():
            time.sleep(0.02)
        time.sleep(0.05)  # let the rest of the invocation's datagrams or exports land
        return arrived()

    def waterfall(self, local: LocalResult, wait_s: float = 0.5) -> str | None:
        """The waterfall of a sampled invocation, drawn by whichever listener got its trace."""
        found = self.trace_listeners(local, wait_s)
        if not found:
            return None
        return "\n".join(listener.waterfall(local.trace_id) for listener in found)


def lambda_count(results: Sequence[LocalResult]) -> dict[str, Any]:
    """Lambda's figures: what the platform returned for each invocation (an attempt), and per
    request id whether any attempt succeeded. Rounded as the report rounds them."""
    statuses = [local.result.status for local in results]
    requests: dict[str, bool] = {}
    for local in results:
        requests[local.request_id] = requests.get(local.request_id, False) or (
            local.result.status == "success"
        )
    successes = statuses.count("success")
    return {
        "invocations": len(statuses),
        "successes": successes,
        "errors": sum(status in ("error", "crashed", "init_error") for status in statuses),
        "timeouts": statuses.count("timeout"),
        "availability": round(successes / len(statuses), 6) if statuses else None,
        "request_availability": round(sum(requests.values()) / len(requests), 6)
        if requests
        else None,
    }
