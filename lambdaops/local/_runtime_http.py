"""The HTTP/1.1 side of the local Runtime API: the server, one handler per runtime connection.

Kept apart from :mod:`lambdaops.local._runtime_api` (which owns the invocation state) so the
wire details — keep-alive, chunked bodies, hung-up peers — live in one place. The handler
talks to its API through :class:`Backend`, so this module imports nothing of ours.
"""

from __future__ import annotations

import json
import logging
import re
import select
import socket
from typing import Any, Protocol, cast
from urllib.parse import unquote

from lambdaops.local._loopback import LoopbackHandler, LoopbackServer

__all__ = ["ERROR_TYPE_HEADER", "Backend", "Delivery", "Server", "api_error", "peer_closed"]

_log = logging.getLogger("lambdaops.local._runtime_api")

_PREFIX = "/2018-06-01/runtime"
_NEXT_PATH = f"{_PREFIX}/invocation/next"
_INIT_ERROR_PATH = f"{_PREFIX}/init/error"
_RESULT_PATH = re.compile(rf"^{re.escape(_PREFIX)}/invocation/([^/]+)/(response|error)$")

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_MAX_LINE = 65536


class Delivery(Protocol):
    """What GET /next hands the runtime: the event and its headers."""

    request_id: str
    body: bytes
    deadline_ms: int
    trace_header: str | None
    client_context: str | None


class Backend(Protocol):
    """The invocation state behind the HTTP handler (a RuntimeAPI)."""

    function_arn: str

    def next_event(self, connection: socket.socket) -> Delivery | None: ...

    def redeliver(self, delivery: Delivery) -> None: ...

    def post_result(
        self,
        request_id: str,
        kind: str,
        body: bytes,
        error_type: str | None,
        xray_cause: str | None = None,
    ) -> tuple[int, dict[str, Any]]: ...

    def post_init_error(
        self, body: bytes, error_type: str | None
    ) -> tuple[int, dict[str, Any]]: ...


def api_error(error_type: str, message: str) -> dict[str, Any]:
    """The Runtime API's error body: ``{"errorType", "errorMessage"}``."""
    return {"errorType": error_type, "errorMessage": message}


def peer_closed(sock: socket.socket) -> bool:
    """Whether the client has hung up; poll() rather than select() so any fd number works."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Server(LoopbackServer):
    """The loopback server that knows its RuntimeAPI."""

    what = "runtime API"

    def __init__(self, address: tuple[str, int], api: Backend) -> None:
        self.api = api
        super().__init__(address, _Handler)


class _Handler(LoopbackHandler):
    """One runtime connection."""

    @property
    def api(self) -> Backend:
        return cast(Server, self.server).api

    def do_GET(self) -> None:
        if self._path() != _NEXT_PATH:
            self._send_json(404, api_error("NotFound", f"unknown path {self.path}"))
            return
        inv = self.api.next_event(self.connection)
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
            self.api.redeliver(inv)
            raise

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send_json(400, api_error("InvalidRequest", "unreadable request body"))
            return
        path = self._path()
        error_type = self.headers.get(ERROR_TYPE_HEADER) or None
        match = _RESULT_PATH.match(path)
        if match is not None:
            status, reply = self.api.post_result(
                unquote(match.group(1)),
                match.group(2),
                body,
                error_type,
                xray_cause=self.headers.get(XRAY_CAUSE_HEADER),
            )
        elif path == _INIT_ERROR_PATH:
            status, reply = self.api.post_init_error(body, error_type)
        else:
            status, reply = 404, api_error("NotFound", f"unknown path {self.path}")
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
