"""Parameter tests' fixtures: one moto server per session and a fault-injecting proxy.

The proxy sits between boto3 and moto (``AWS_ENDPOINT_URL_SSM`` points at it) so tests see
every request by its ``X-Amz-Target`` and can make the service throttle, fail or hang.
Test modules load it as a plugin: ``pytest_plugins = ["tests.params_support"]``.
"""

from __future__ import annotations

import atexit
import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from lambdaops import _params, _redact
from lambdaops._params import _cache
from lambdaops.local._moto import MotoServer

MODES = ("pass", "throttle", "error", "hang", "reset", "garbage")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 whose failure mode a test can switch.

    ``pass`` forwards (after ``delay_s``), ``throttle`` answers 400 ThrottlingException,
    ``error`` answers 500, ``hang`` holds the request ``hang_s`` then drops it, ``reset``
    drops the connection without an answer (as a refused or reset connection looks to the
    client), ``garbage`` answers 200 with a body that is not JSON. Every request is
    recorded as (action, JSON body) whatever the mode.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode = "pass"
        self.delay_s = 0.0
        self.hang_s = 10.0
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def set_mode(self, mode: str, *, delay_s: float | None = None) -> None:
        """Switch behaviour; leaving ``hang`` releases the requests held so far."""
        if mode not in MODES:
            raise ValueError(mode)
        if delay_s is not None:
            self.delay_s = delay_s
        if self.mode == "hang" and mode != "hang":
            self._release.set()
            self._release = threading.Event()
        self.mode = mode

    # -- what was asked --------------------------------------------------------------
    def calls(self, action: str, name: str | None = None) -> list[dict[str, Any]]:
        """Bodies of requests for ``action`` (``GetParameter`` or ``AmazonSSM.GetParameter``),
        optionally only those naming ``name`` (Name, Names, Path or SecretId)."""
        with self._lock:
            found = [
                body
                for target, body in self.requests
                if target == action or target.endswith("." + action)
            ]
        if name is None:
            return found
        return [body for body in found if name in _names(body)]

    def count(self, action: str, name: str | None = None) -> int:
        return len(self.calls(action, name))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving ---------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = {}
                with proxy._lock:
                    proxy.requests.append((target, parsed))
                mode = proxy.mode
                if mode == "throttle":
                    self._answer(400, "ThrottlingException", "Rate exceeded")
                elif mode == "error":
                    self._answer(500, "InternalServerError", "injected failure")
                elif mode == "hang":
                    proxy._release.wait(proxy.hang_s)
                    self.close_connection = True
                elif mode == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)  # no answer: the client sees the connection die
                elif mode == "garbage":
                    payload = b"<html>not the JSON you expected"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                else:
                    if proxy.delay_s:
                        time.sleep(proxy.delay_s)
                    self._forward(body)

            def _answer(self, status: int, error_type: str, message: str) -> None:
                payload = json.dumps({"__type": error_type, "message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("x-amzn-ErrorType", error_type)
                self.send_header("x-amzn-RequestId", "fault-proxy")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS
                    }
                    conn.request("POST", self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                finally:
                    conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle(self) -> None:
                try:
                    super().handle()
                except (ConnectionError, TimeoutError, OSError):
                    pass  # the client gave up (a hang it timed out on)

        return Handler


def _names(body: dict[str, Any]) -> list[str]:
    out = [body.get(k) for k in ("Name", "Path", "SecretId")]
    out.extend(body.get("Names") or ())
    return [n for n in out if isinstance(n, str)]


# -- fixtures -------------------------------------------------------------------------

_shared: MotoServer | None = None


def shared_moto() -> MotoServer:
    """One moto server for the whole test session (it takes ~0.5 s to start)."""
    global _shared
    if _shared is None or not _shared.running:
        _shared = MotoServer().start()
        atexit.register(_shared.stop)
    return _shared


@pytest.fixture
def moto_server() -> MotoServer:
    """The session's moto server, emptied for this test."""
    server = shared_moto()
    server.reset()
    return server


@pytest.fixture
def fault_proxy(moto_server: MotoServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(moto_server.endpoint).start()
    yield proxy
    proxy.stop()


#: Fast failure settings for the function under test: no test waits on real timeouts.
FAST_SETTINGS = {
    "LAMBDAOPS_PARAMS_TIMEOUT": "0.5",
    "LAMBDAOPS_PARAMS_MAX_ATTEMPTS": "2",
    "LAMBDAOPS_PARAMS_WAIT": "1.0",
    "LAMBDAOPS_PARAMS_BACKOFF": "0.1",
    "LAMBDAOPS_PARAMS_BACKOFF_MAX": "0.2",
}


def aws_env(server: MotoServer, proxy: FaultProxy) -> dict[str, str]:
    """Everything a process needs to reach moto through the proxy, and nothing real."""
    return {
        **server.env(proxy.url),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        **FAST_SETTINGS,
    }


@pytest.fixture
def function_env(moto_server: MotoServer, fault_proxy: FaultProxy) -> dict[str, str]:
    """The environment for a function process (awslambdaric) that reads through the proxy."""
    return aws_env(moto_server, fault_proxy)


@pytest.fixture
def params_env(
    monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, fault_proxy: FaultProxy
) -> Iterator[FaultProxy]:
    """This process's ``lambdaops.params`` pointed at moto through the proxy, clean."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "LAMBDAOPS_PARAMS_MAX_AGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env(moto_server, fault_proxy).items():
        monkeypatch.setenv(name, value)
    _params.params.reset()
    _redact.clear()
    yield fault_proxy
    _params.params.reset()
    _redact.clear()


class FakeClock:
    """A monotonic clock the test moves by hand (ages, expiry and backoff)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_cache, "_clock", fake)
    return fake
