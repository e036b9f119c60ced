"""A stand-in for an OpenTelemetry collector: an OTLP/HTTP trace receiver on loopback.

Point ``OTEL_EXPORTER_OTLP_ENDPOINT`` of a local execution environment at
:attr:`OTLPReceiver.endpoint` (:meth:`OTLPReceiver.env`) and every span the function
exports is kept, as the request and as an X-Ray-shaped document
(:mod:`lambdaops.local._otlp_spans`), so the waterfall and the tests read an OpenTelemetry
trace as they read an X-Ray one. The protocol is the OTLP specification's OTLP/HTTP:
``POST /v1/traces`` with ``application/x-protobuf`` or ``application/json`` (ids in hex),
optionally gzip- or deflate-compressed; 200 with an ``ExportTraceServiceResponse`` in the
request's encoding (``partial_success`` when spans were rejected), 400 for a body that does
not decode, 415 for another content type or encoding, each failure with a
``google.rpc.Status``. ``/v1/metrics`` and ``/v1/logs`` are acknowledged and dropped, so a
function exporting those too does not log failures.

opentelemetry-proto is imported when the receiver starts, not before: ``lambdaops.local``
stays fast to import, and works without it (:meth:`OTLPReceiver.start` raises
``ImportError``).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import zlib
from dataclasses import dataclass
from typing import Any, cast

from lambdaops.local._loopback import LoopbackHandler, LoopbackServer
from lambdaops.local._otlp_spans import hex_ids_to_base64, request_documents
from lambdaops.local._traces import TraceStore

__all__ = ["OTLPReceiver", "Received"]

_log = logging.getLogger("lambdaops.local._otlp_receiver")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
TRACES_PATH = "/v1/traces"
_DROPPED_PATHS = ("/v1/metrics", "/v1/logs")
_MAX_BODY = 32 << 20  # decompressed too
_INVALID_ARGUMENT = 3  # google.rpc.Code


@dataclass
class Received:
    """One accepted export: its encoding and the decoded ``ExportTraceServiceRequest``."""

    content_type: str
    content_encoding: str
    request: Any
    rejected: list[str]


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class OTLPReceiver(TraceStore):
    """An OTLP/HTTP listener on 127.0.0.1 that keeps the spans functions export."""

    kind = "OTLP receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        #: Every accepted trace export, in arrival order.
        self.received: list[Received] = []
        #: (HTTP status, message) of every refused request.
        self.refused: list[tuple[int, str]] = []
        #: Metric and log exports acknowledged and dropped, by path.
        self.dropped: dict[str, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._pb: Any = None
        self._json_format: Any = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """``http://host:port`` for ``OTEL_EXPORTER_OTLP_ENDPOINT``; must be started."""
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The variables that send an OTLP exporter's traces here (protobuf over HTTP)."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        }

    def start(self) -> OTLPReceiver:
        if self._server is not None:
            return self
        try:
            from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

            # protobuf ships no type information; the receiver uses two functions of it.
            json_format = importlib.import_module("google.protobuf.json_format")
        except ImportError as exc:
            raise ImportError(
                f"the OTLP receiver needs opentelemetry-proto ({exc}); "
                "pip install 'lambdaops[local]'"
            ) from exc
        self._pb, self._json_format = trace_service_pb2, json_format
        server = _Server((self.host, self.port), self)
        self.port = server.server_port
        self._server = server
        self._thread = server.serve_in_thread(f"lambdaops-otlp-receiver-{self.port}", 0.1)
        return self

    def stop(self) -> None:
        """Stop listening; what was received stays readable."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def clear(self) -> None:
        with self._cond:
            self.documents.clear()
            self.received.clear()
            self.refused.clear()
            self.dropped.clear()

    def _problems(self) -> str:
        return f", {len(self.refused)} refused requests"

    # -- the protocol -------------------------------------------------------------------
    def handle(
        self, path: str, content_type: str, content_encoding: str, body: bytes
    ) -> tuple[int, str, bytes]:
        """Answer one POST: (HTTP status, response content type, response body)."""
        media = content_type.split(";", 1)[0].strip().lower()
        reply_type = JSON if media == JSON else PROTOBUF
        try:
            if path not in (TRACES_PATH, *_DROPPED_PATHS):
                raise _Refused(404, f"no OTLP endpoint at {path}")
            if media not in (PROTOBUF, JSON):
                raise _Refused(415, f"content type {content_type!r}: send {PROTOBUF} or {JSON}")
            data = _decode(content_encoding, body)
            if path != TRACES_PATH:
                with self._cond:
                    self.dropped[path] = self.dropped.get(path, 0) + 1
                return 200, reply_type, b"{}" if media == JSON else b""
            request = self._parse(media, data)
        except _Refused as refused:
            with self._cond:
                self.refused.append((refused.status, refused.message))
                self._cond.notify_all()
            return refused.status, reply_type, _status(refused, reply_type == JSON)
        docs, rejected = request_documents(request)
        with self._cond:
            self.received.append(Received(media, content_encoding, request, rejected))
        self._keep(docs)
        return 200, reply_type, self._response(rejected, media == JSON)

    def _parse(self, media: str, data: bytes) -> Any:
        request = self._pb.ExportTraceServiceRequest()
        try:
            if media == PROTOBUF:
                request.ParseFromString(data)
            else:
                obj = json.loads(data)
                hex_ids_to_base64(obj)
                self._json_format.ParseDict(obj, request, ignore_unknown_fields=True)
        except Exception as exc:  # DecodeError, ParseError, ValueError: all bad data
            raise _Refused(400, f"undecodable {media} body: {exc}") from None
        return request

    def _response(self, rejected: list[str], as_json: bool) -> bytes:
        response = self._pb.ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = len(rejected)
            response.partial_success.error_message = "; ".join(rejected[:5])
        if as_json:
            return json.dumps(self._json_format.MessageToDict(response)).encode()
        return cast(bytes, response.SerializeToString())


def _decode(encoding: str, body: bytes) -> bytes:
    """The body without its Content-Encoding; refused if unknown, corrupt or too large."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return body
    if name not in ("gzip", "deflate"):
        raise _Refused(415, f"content encoding {encoding!r}: send gzip, deflate or none")
    attempts = (31,) if name == "gzip" else (15, -15)  # deflate: zlib-wrapped, or raw
    for wbits in attempts:
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, _MAX_BODY + 1)
        except zlib.error:
            continue
        if len(data) > _MAX_BODY:
            raise _Refused(413, f"the decompressed body is over {_MAX_BODY} bytes")
        if inflater.eof:
            return data
    raise _Refused(400, f"the body is not valid {name} data")


def _status(refused: _Refused, as_json: bool) -> bytes:
    """A ``google.rpc.Status`` (code, message), encoded by hand to need no more packages."""
    code = _INVALID_ARGUMENT if refused.status == 400 else 0
    if as_json:
        return json.dumps({"code": code, "message": refused.message}).encode()
    message = refused.message.encode()
    out = (b"\x08" + _varint(code)) if code else b""
    return out + b"\x12" + _varint(len(message)) + message


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Server(LoopbackServer):
    what = "OTLP receiver"

    def __init__(self, address: tuple[str, int], receiver: OTLPReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class _Handler(LoopbackHandler):
    """One exporter connection."""

    timeout = 60.0  # an idle keep-alive connection is closed after this

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except (_Refused, ValueError) as exc:
            refused = exc if isinstance(exc, _Refused) else _Refused(400, f"bad framing: {exc}")
            self.close_connection = True  # the rest of the body is still on the wire
            self._send(refused.status, PROTOBUF, _status(refused, False))
            return
        receiver = cast(_Server, self.server).receiver
        status, content_type, reply = receiver.handle(
            self.path.split("?", 1)[0],
            self.headers.get("Content-Type", ""),
            self.headers.get("Content-Encoding", ""),
            body,
        )
        self._send(status, content_type, reply)

    def do_GET(self) -> None:
        self._send(405, PROTOBUF, _status(_Refused(405, "OTLP/HTTP takes POST"), False))

    def _read_body(self) -> bytes:
        """The whole request body (Content-Length or chunked); 413 past 32 MiB."""
        too_large = _Refused(413, f"the body is over {_MAX_BODY} bytes")
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > _MAX_BODY:
                    raise too_large
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError(f"Content-Length {length}")
        if length > _MAX_BODY:
            raise too_large
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 405:
            self.send_header("Allow", "POST")
        self.end_headers()
        self.wfile.write(body)
