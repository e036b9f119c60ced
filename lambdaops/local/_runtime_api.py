"""A local Lambda Runtime API (2018-06-01) serving one execution environment.

Runtimes such as awslambdaric talk to Lambda only through this small HTTP API, so serving
it on loopback lets the real runtime and handler code run unmodified on a laptop or in CI.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
import socketserver
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import unquote

from lambdaops.local._service import Service

__all__ = ["InvocationResult", "RuntimeAPI"]

_log = logging.getLogger(__name__)

_PREFIX = "/2018-06-01/runtime"
_NEXT_PATH = f"{_PREFIX}/invocation/next"
_INIT_ERROR_PATH = f"{_PREFIX}/init/error"
_RESULT_PATH = re.compile(rf"^{re.escape(_PREFIX)}/invocation/([^/]+)/(response|error)$")

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# How many finished request ids are remembered, to answer late posts with 410 rather than 400.
_FINISHED_MEMORY = 1024
# How often a parked GET /next checks whether the runtime hung up (e.g. it was killed).
_PEER_CHECK_S = 0.25
_MAX_LINE = 65536


@dataclass
class InvocationResult:
    """What the platform saw of one invocation: outcome, payload or error, and timings.

    ``error`` is the runtime's parsed error body for "error" and "init_error"; for
    "timeout" and "crashed" it is the error Lambda itself would report
    (``Sandbox.Timedout``, ``Runtime.ExitError``).
    """

    request_id: str
    status: str  # "success" | "error" | "timeout" | "init_error" | "crashed"
    payload: bytes | None
    error: dict[str, Any] | None
    error_type: str | None
    delivered_at: float
    finished_at: float
    deadline_ms: int

    @property
    def duration_ms(self) -> float:
        """Time the runtime held the event, the figure Lambda bills as Duration."""
        return (self.finished_at - self.delivered_at) * 1000.0

    def json(self) -> Any:
        """The response payload decoded as JSON, as a Lambda Invoke caller would read it."""
        if self.payload is None:
            raise ValueError(f"invocation {self.request_id} has no payload (status {self.status})")
        return json.loads(self.payload)


@dataclass(eq=False)
class _Invocation:
    """Mutable book-keeping for a queued or in-flight event, guarded by the API's lock."""

    request_id: str
    body: bytes
    timeout_s: float
    queued_at: float
    trace_header: str | None
    client_context: str | None
    delivered_at: float | None = None
    deadline_ms: int = 0
    result: InvocationResult | None = None


class RuntimeAPI(Service):
    """Lambda Runtime API 2018-06-01 for ONE execution environment, HTTP/1.1 on loopback.

    HTTP/1.1 matters: awslambdaric's libcurl client keeps the connection alive and crashes
    on HTTP/1.0 replies. Events are handed out in order by a long-polling GET /next.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:local",
    ) -> None:
        self.function_arn = function_arn
        self._bind = (host, port)
        self._cond = threading.Condition()
        self._queue: deque[_Invocation] = deque()
        self._inflight: dict[str, _Invocation] = {}
        self._finished: dict[str, None] = {}  # insertion-ordered set of finished ids
        self._init_error: dict[str, Any] | None = None
        self._init_error_type: str | None = None
        self._init_error_at: float | None = None
        self._first_next_at: float | None = None
        self._parked = 0  # GET /next requests currently waiting for an event
        self._aborted: tuple[str, str, str] | None = None  # (status, error type, message)
        self._closed = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``host:port`` for the runtime's AWS_LAMBDA_RUNTIME_API variable."""
        if self._server is None:
            raise RuntimeError("RuntimeAPI is not started")
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> RuntimeAPI:
        """Bind and serve on a daemon thread, so a forgotten stop() never blocks exit."""
        if self._server is not None:
            return self
        if self._closed:
            raise RuntimeError("a stopped RuntimeAPI cannot be restarted; make a new one")
        server = _Server(self._bind, _Handler, self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"lambdaops-runtime-api-{self.address}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release every waiter, so no thread outlives the environment."""
        with self._cond:
            if self._aborted is None:
                self._abort_locked("crashed", "Runtime.ExitError", "Runtime API stopped")
            self._closed = True
            self._cond.notify_all()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- state -----------------------------------------------------------------------------

    @property
    def init_error(self) -> dict[str, Any] | None:
        """The body the runtime posted to /init/error, if its init failed."""
        with self._cond:
            return self._init_error

    @property
    def init_error_type(self) -> str | None:
        """The error type of the init failure (header, else the body's errorType)."""
        with self._cond:
            return self._init_error_type

    @property
    def init_error_at(self) -> float | None:
        """time.time() when /init/error arrived, to report how long a failed init took."""
        with self._cond:
            return self._init_error_at

    @property
    def first_next_at(self) -> float | None:
        """time.time() of the first GET /next: the end of init, for Init Duration."""
        with self._cond:
            return self._first_next_at

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait for init to end: True after the first GET /next or an /init/error post."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    self._first_next_at is not None
                    or self._init_error is not None
                    or self._aborted is not None
                ),
                timeout_s,
            )
            return self._first_next_at is not None or self._init_error is not None

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the runtime is parked in GET /next with nothing in flight.

        A runtime polls /next only after finishing its previous event, so this is the
        point where everything it did for that event (including its output) is done.
        """
        with self._cond:
            self._cond.wait_for(
                lambda: self._idle_locked() or self._aborted is not None or self._closed,
                timeout_s,
            )
            return self._idle_locked()

    def abort(self, status: str, error_type: str, message: str) -> None:
        """Fail queued and in-flight events at once, e.g. because the runtime process died.

        Later invoke() calls fail the same way immediately instead of waiting for a deadline.
        """
        with self._cond:
            self._abort_locked(status, error_type, message)

    # -- invoking --------------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        timeout_s: float,
        request_id: str | None = None,
        trace_header: str | None = None,
        client_context: dict[str, Any] | None = None,
    ) -> InvocationResult:
        """Queue one event and block until the runtime answers or the deadline passes.

        The deadline counts from delivery (as in Lambda, where init is not billed), or from
        queueing if no runtime ever picks the event up. ``bytes`` events are sent verbatim.
        """
        if self._server is None:
            raise RuntimeError("RuntimeAPI is not started")
        if trace_header is not None and ("\r" in trace_header or "\n" in trace_header):
            raise ValueError("trace_header must be a single header line")
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = _Invocation(
            request_id=request_id or str(uuid.uuid4()),
            body=body,
            timeout_s=timeout_s,
            queued_at=time.time(),
            trace_header=trace_header,
            client_context=json.dumps(client_context) if client_context is not None else None,
        )
        with self._cond:
            if self._aborted is not None:
                status, error_type, message = self._aborted
                self._finish_locked(
                    inv,
                    status,
                    error=_platform_error(inv, error_type, message),
                    error_type=error_type,
                )
            elif self._init_error is not None:
                self._finish_locked(
                    inv, "init_error", error=self._init_error, error_type=self._init_error_type
                )
            else:
                self._queue.append(inv)
                self._cond.notify_all()
            while inv.result is None:
                start = inv.delivered_at if inv.delivered_at is not None else inv.queued_at
                remaining = start + timeout_s - time.time()
                if remaining <= 0:
                    message = f"Task timed out after {timeout_s:.2f} seconds"
                    self._finish_locked(
                        inv,
                        "timeout",
                        error=_platform_error(inv, "Sandbox.Timedout", message),
                        error_type="Sandbox.Timedout",
                    )
                    break
                self._cond.wait(remaining)
            result = inv.result
            assert result is not None  # the loop only ends once a result is set
            return result

    # -- internals (called with self._cond held unless noted) ---------------------------------

    def _idle_locked(self) -> bool:
        return self._parked > 0 and not self._inflight and not self._queue

    def _abort_locked(self, status: str, error_type: str, message: str) -> None:
        self._aborted = (status, error_type, message)
        for inv in [*self._queue, *self._inflight.values()]:
            self._finish_locked(
                inv, status, error=_platform_error(inv, error_type, message), error_type=error_type
            )
        self._cond.notify_all()

    def _finish_locked(
        self,
        inv: _Invocation,
        status: str,
        *,
        payload: bytes | None = None,
        error: dict[str, Any] | None = None,
        error_type: str | None = None,
    ) -> None:
        now = time.time()
        delivered = inv.delivered_at if inv.delivered_at is not None else inv.queued_at
        inv.result = InvocationResult(
            request_id=inv.request_id,
            status=status,
            payload=payload,
            error=error,
            error_type=error_type,
            delivered_at=delivered,
            finished_at=now,
            deadline_ms=inv.deadline_ms or int((delivered + inv.timeout_s) * 1000),
        )
        if inv in self._queue:
            self._queue.remove(inv)
        self._inflight.pop(inv.request_id, None)
        self._finished[inv.request_id] = None
        while len(self._finished) > _FINISHED_MEMORY:
            del self._finished[next(iter(self._finished))]
        self._cond.notify_all()

    def _next_event(self, handler: _Handler) -> _Invocation | None:
        """Long-poll for the next event; None if stopping or the runtime hung up."""
        with self._cond:
            if self._first_next_at is None:
                self._first_next_at = time.time()
            self._parked += 1
            self._cond.notify_all()
            try:
                while not self._queue:
                    if self._closed or self._aborted is not None:
                        return None
                    if not self._cond.wait(_PEER_CHECK_S) and _peer_closed(handler.connection):
                        return None
                inv = self._queue.popleft()
            finally:
                self._parked -= 1
            inv.delivered_at = time.time()
            inv.deadline_ms = int((inv.delivered_at + inv.timeout_s) * 1000)
            self._inflight[inv.request_id] = inv
            return inv

    def _redeliver(self, inv: _Invocation) -> None:
        """Put back an event whose delivery failed, so a reconnecting runtime still gets it."""
        with self._cond:
            if inv.result is None and self._inflight.pop(inv.request_id, None) is not None:
                inv.delivered_at = None
                inv.deadline_ms = 0
                self._queue.appendleft(inv)
                self._cond.notify_all()

    def _post_result(
        self, request_id: str, kind: str, body: bytes, error_type: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self._cond:
            inv = self._inflight.get(request_id)
            if inv is None:
                if request_id in self._finished:
                    return 410, _api_error("InvocationGone", f"{request_id} already finished")
                return 400, _api_error("InvalidRequestID", f"unknown request id {request_id}")
            if kind == "response":
                self._finish_locked(inv, "success", payload=body)
            else:
                error = _parse_error(body, error_type)
                self._finish_locked(
                    inv, "error", error=error, error_type=error_type or _str(error.get("errorType"))
                )
            return 202, {"status": "OK"}

    def _post_init_error(self, body: bytes, error_type: str | None) -> tuple[int, dict[str, Any]]:
        with self._cond:
            if self._init_error is not None or self._first_next_at is not None:
                return 403, _api_error("InvalidStateTransition", "init already finished")
            error = _parse_error(body, error_type)
            self._init_error = error
            self._init_error_type = error_type or _str(error.get("errorType"))
            self._init_error_at = time.time()
            for inv in list(self._queue):
                self._finish_locked(
                    inv, "init_error", error=error, error_type=self._init_error_type
                )
            self._cond.notify_all()
            return 202, {"status": "OK"}


def _platform_error(inv: _Invocation, error_type: str, message: str) -> dict[str, Any]:
    return {
        "errorType": error_type,
        "errorMessage": f"RequestId: {inv.request_id} Error: {message}",
    }


def _api_error(error_type: str, message: str) -> dict[str, Any]:
    return {"errorType": error_type, "errorMessage": message}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_error(body: bytes, error_type: str | None) -> dict[str, Any]:
    """The runtime's error body as a dict, tolerating runtimes that post non-JSON."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return {"errorMessage": body.decode("utf-8", "replace"), "errorType": error_type or "Unknown"}


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the client has hung up; poll() rather than select() so any fd number works."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its RuntimeAPI and can hang up on its clients."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: RuntimeAPI
    ) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall a cold
        # start for seconds on hosts with slow resolvers; loopback needs no name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on keep-alive sockets when the API stops."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed runtime resets its connection; that is normal here, not worth a traceback.
        _log.debug("runtime API connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """One runtime connection. Every reply carries Content-Length so keep-alive stays in sync."""

    protocol_version = "HTTP/1.1"
    server_version = "lambdaops-local"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    @property
    def api(self) -> RuntimeAPI:
        return cast(_Server, self.server).api

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("runtime API: " + format, *args)

    def do_GET(self) -> None:
        if self._path() != _NEXT_PATH:
            self._send_json(404, _api_error("NotFound", f"unknown path {self.path}"))
            return
        inv = self.api._next_event(self)
        if inv is None:
            self.close_connection = True
            return
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.api.function_arn,
        }
        if inv.trace_header:
            headers["Lambda-Runtime-Trace-Id"] = inv.trace_header
        if inv.client_context:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        try:
            self._send(200, inv.body, "application/json", headers)
        except OSError:
            self.api._redeliver(inv)
            raise

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send_json(400, _api_error("InvalidRequest", "unreadable request body"))
            return
        path = self._path()
        error_type = self.headers.get(ERROR_TYPE_HEADER) or None
        match = _RESULT_PATH.match(path)
        if match is not None:
            status, reply = self.api._post_result(
                unquote(match.group(1)), match.group(2), body, error_type
            )
        elif path == _INIT_ERROR_PATH:
            status, reply = self.api._post_init_error(body, error_type)
        else:
            status, reply = 404, _api_error("NotFound", f"unknown path {self.path}")
        self._send_json(status, reply)

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _read_body(self) -> bytes:
        """Read the whole request body (Content-Length or chunked) to keep the stream aligned."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(_MAX_LINE + 1)
                if not size_line:
                    raise ValueError("truncated chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(_MAX_LINE + 1)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", {})

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
