"""OTLP/HTTP transport for lambdaops' own tracer provider: one POST per invocation on a
kept-alive HTTP/1.1 connection, bounded by one deadline in all.

A few lines of HTTP rather than ``http.client``, which imports the ``email`` package
(cold start) and parses headers with it (every request); and every
``recv`` is bounded by what is left of the deadline, which a buffered file's reads are not
(a collector trickling bytes would hold the invocation past Lambda's deadline).
"""

from __future__ import annotations

import os
import socket
import time
import urllib.parse

#: A response body longer than this is not read: the connection is closed instead.
MAX_BODY = 1 << 20
#: A status or header line longer than this is not HTTP lambdaops will read.
MAX_LINE = 65536


def endpoint() -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as it is, else ``OTEL_EXPORTER_OTLP_ENDPOINT``
    plus ``/v1/traces`` (the collector extension's ``localhost:4318`` by default)."""
    env = os.environ
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces:
        return traces
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
    return base.rstrip("/") + "/v1/traces"


def _setting(name: str) -> str:
    env = os.environ
    return env.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}") or env.get(f"OTEL_EXPORTER_OTLP_{name}", "")


def key_values(text: str) -> dict[str, str]:
    """``key=value`` pairs, comma-separated, URL-encoded: the OpenTelemetry specification's
    format for ``OTEL_EXPORTER_OTLP_HEADERS`` and ``OTEL_RESOURCE_ATTRIBUTES``; a pair
    without ``=`` or a key is skipped."""
    out: dict[str, str] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip():
            out[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return out


def headers() -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_(TRACES_)HEADERS``."""
    return key_values(_setting("HEADERS"))


class _ClosedUnanswered(ConnectionError):
    """The connection ended before any byte of an answer: the request can be sent again."""


class _Reader:
    """Bytes of one connection, each ``recv`` bounded by what is left of a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = 0.0

    def _fill(self) -> bool:
        self.sock.settimeout(_left(self.deadline))
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def line(self) -> bytes:
        """Up to and with the next LF; what is left if the connection ends first."""
        while (end := self.buffer.find(b"\n")) < 0:
            if len(self.buffer) > MAX_LINE:
                raise ValueError("an HTTP line longer than 64 KiB")
            if not self._fill():
                end = len(self.buffer) - 1
                break
        line = bytes(self.buffer[: end + 1])
        del self.buffer[: end + 1]
        return line

    def skip(self, size: int) -> None:
        """Read and drop ``size`` bytes (a body lambdaops has no use for)."""
        while len(self.buffer) < size:
            size -= len(self.buffer)
            self.buffer.clear()
            if not self._fill():
                raise ConnectionError("the connection ended inside the response body")
        del self.buffer[:size]

    def skip_to_end(self) -> None:
        while self._fill():
            self.buffer.clear()
        self.buffer.clear()


class Exporter:
    """POSTs encoded requests to one endpoint over HTTP/1.1, keeping the connection; raises
    on a connection error or timeout, returns the answer's HTTP status.

    A few lines of HTTP rather than ``http.client``: see the module's docstring.
    """

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP endpoint {url!r} is not an http(s) URL")
        self.url = url
        self.timeout_s = timeout_s
        self._https = parts.scheme == "https"
        self._address = (parts.hostname, parts.port or (443 if self._https else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        self.gzip = _setting("COMPRESSION").strip().lower() == "gzip"
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/x-protobuf"]
        if self.gzip:
            lines.append("Content-Encoding: gzip")
        lines += [
            f"{key}: {value}"
            for key, value in headers().items()
            if not any(c in key + value for c in "\r\n")  # no header smuggled in a value
        ]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode()
        self._cafile = _setting("CERTIFICATE") or None
        self._sock: socket.socket | None = None
        self._reader: _Reader | None = None

    def _connect(self, deadline: float) -> None:
        sock = socket.create_connection(self._address, timeout=_left(deadline))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._https:
            import ssl  # only for an https endpoint

            context = ssl.create_default_context(cafile=self._cafile)
            sock = context.wrap_socket(sock, server_hostname=self._address[0])
        self._sock, self._reader = sock, _Reader(sock)

    def export(self, body: bytes, timeout_s: float | None = None) -> int:
        """One request, bounded by ``timeout_s`` (else the exporter's) in all (connect, send,
        the whole answer); sent a second time only if a kept connection closed unanswered."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        if self.gzip:
            import gzip  # only when asked for

            body = gzip.compress(body, compresslevel=6)
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        reused = self._sock is not None
        while True:
            try:
                if self._sock is None:
                    self._connect(deadline)
                sock, reader = self._sock, self._reader
                assert sock is not None and reader is not None
                sock.settimeout(_left(deadline))
                sock.sendall(request)
                reader.deadline = deadline
                status, keep = _response(reader)
            except Exception as exc:  # whatever it was, this connection is not used again
                self.shutdown()
                stale = isinstance(exc, (_ClosedUnanswered, ConnectionResetError, BrokenPipeError))
                if reused and stale:
                    reused = False  # the collector had closed the kept connection: once more
                    continue
                raise
            if not keep:
                self.shutdown()
            return status

    def shutdown(self) -> None:
        sock, self._sock, self._reader = self._sock, None, None
        if sock is not None:
            sock.close()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the OTLP endpoint did not answer in time")
    return left


def _response(reader: _Reader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response: its status, and whether the connection stays open."""
    first = True
    while True:
        status_line = reader.line()
        if first and not status_line:
            raise _ClosedUnanswered("the connection closed before an answer")
        first = False
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP/1.x response: {status_line[:80]!r}")
        status = int(rest[:3])
        length, chunked, keep = -1, False, version == b"HTTP/1.1"
        while True:
            header = reader.line()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                keep = value == b"keep-alive" or (keep and value != b"close")
        if 100 <= status < 200:
            continue  # an interim response (100 Continue): the final one follows
        if chunked:
            while size := int(reader.line().split(b";")[0], 16):
                if size > MAX_BODY:
                    return status, False  # not worth reading: the connection is closed
                reader.skip(size + 2)  # the chunk and its CRLF
            while reader.line() not in (b"\r\n", b"\n", b""):
                pass  # trailers
        elif length > MAX_BODY:
            keep = False  # not worth reading: the connection is closed instead
        elif length >= 0:
            reader.skip(length)
        elif status not in (204, 304):
            reader.skip_to_end()  # no length: the body runs to the end of the connection
            keep = False
        return status, keep
