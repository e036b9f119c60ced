"""lambdaops' own OpenTelemetry provider (issue 17): the API's span semantics, the OTLP
protobuf it writes — decoded with opentelemetry-proto and compared with what the SDK's own
encoder (opentelemetry-exporter-otlp-proto-common) writes for the same span — and its
HTTP/1.1 exporter against a server speaking the variants a collector may answer with."""

from __future__ import annotations

import gzip
import json
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import (
    INVALID_SPAN,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from lambdaops import _redact
from lambdaops._otel import _http, _lite, _otlp, _provider
from lambdaops._otel._lite import LiteProvider, LiteSpan

TRACE_ID = 0x5759E988BD862E3FE1BE46A994272793
PARENT_ID = 0x53995C3F42CD8AD8


class Capture:
    """An exporter that keeps each encoded request."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def ready(self) -> bool:
        return True

    def export(self, body: bytes, timeout_s: float | None = None) -> bool:
        self.bodies.append(body)
        return True

    def shutdown(self) -> None:
        pass

    def requests(self) -> list[ExportTraceServiceRequest]:
        return [ExportTraceServiceRequest.FromString(body) for body in self.bodies]

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests()
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def capture() -> Capture:
    return Capture()


@pytest.fixture
def provider(capture: Capture) -> LiteProvider:
    return LiteProvider({"service.name": "orders", "cloud.provider": "aws"}, capture)


def remote_parent(sampled: bool = True, state: TraceState | None = None) -> Any:
    flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
    remote = SpanContext(TRACE_ID, PARENT_ID, True, flags, state)
    return otel_trace.set_span_in_context(NonRecordingSpan(remote))


def value_of(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(value_of(v) for v in any_value.array_value.values)
    return getattr(any_value, kind)


def attributes_of(message: Any) -> dict[str, Any]:
    return {kv.key: value_of(kv.value) for kv in message.attributes}


def test_every_attribute_type_round_trips(provider: LiteProvider, capture: Capture) -> None:
    span = provider.get_tracer("t").start_span("s", context=remote_parent())
    span.set_attributes(
        {
            "str": "héllo \U0001f600",
            "bool": True,
            "false": False,
            "int": -7,
            "int64 max": 2**63 - 1,
            "past int64": 2**70,  # kept as its digits
            "float": 1.5,
            "bytes": b"\x00\xff",
            "strs": ["a", "b"],
            "ints": (1, 2),
            "bools": (True, False),
            "floats": (0.5,),
            "with a gap": ("a", None),
            "empty": (),
            # what OpenTelemetry cannot send is dropped, as the SDK drops it
            "mixed": ("a", 1),
            "dict": {"a": 1},
            "none": None,
            "object": object(),
        }
    )
    span.set_attribute(7, "a key that is not a string")  # type: ignore[arg-type]
    span.end()
    provider.force_flush()
    (decoded,) = capture.spans()
    assert attributes_of(decoded) == {
        "str": "héllo \U0001f600",
        "bool": True,
        "false": False,
        "int": -7,
        "int64 max": 2**63 - 1,
        "past int64": str(2**70),
        "float": 1.5,
        "bytes": b"\x00\xff",
        "strs": ("a", "b"),
        "ints": (1, 2),
        "bools": (True, False),
        "floats": (0.5,),
        "with a gap": ("a", None),
        "empty": (),
    }


class CardDeclined(Exception):
    pass


def _sdk_request(span: LiteSpan, resource: dict[str, Any]) -> ExportTraceServiceRequest:
    """The same span through the SDK's own OTLP encoder."""
    from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    readable = ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=Resource(resource),
        attributes=span.attributes,
        events=[Event(e.name, e.attributes, e.timestamp) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status or Status(StatusCode.UNSET),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=InstrumentationScope(*span.scope),
    )
    return encode_spans([readable])


@pytest.mark.parametrize("kind", list(SpanKind))
def test_the_request_is_what_the_sdks_encoder_writes(kind: SpanKind) -> None:
    """Every field lambdaops writes — ids, parent, trace state, kind, times, attributes,
    events, links, status, flags, scope, resource — byte for byte as the SDK's encoder."""
    resource = {"service.name": "orders", "cloud.region": "eu-west-1"}
    capture = Capture()
    provider = LiteProvider(resource, capture)
    tracer = provider.get_tracer("lambdaops", "0.1.0")
    parent = remote_parent(state=TraceState([("vendor", "value")]))
    top = tracer.start_span("## handler", context=parent, kind=kind, attributes={"a": 1})
    linked = SpanContext(TRACE_ID + 1, PARENT_ID + 1, False, TraceFlags(1))
    child = tracer.start_span(
        "price",
        context=otel_trace.set_span_in_context(top),
        links=[Link(linked, {"why": "batch"})],
    )
    try:
        raise CardDeclined("card declined")
    except CardDeclined as exc:  # a class outside builtins: its type is module-qualified
        child.record_exception(exc, {"extra": 2})
    child.set_status(Status(StatusCode.ERROR, "ValueError: card declined"))
    child.end()
    top.end()
    provider.force_flush()
    ours = ExportTraceServiceRequest.FromString(capture.bodies[0])
    sdk_top, sdk_child = _sdk_request(top, resource), _sdk_request(child, resource)
    assert [s for rs in ours.resource_spans for ss in rs.scope_spans for s in ss.spans] == [
        sdk_child.resource_spans[0].scope_spans[0].spans[0],
        sdk_top.resource_spans[0].scope_spans[0].spans[0],
    ]
    assert ours.resource_spans[0].resource == sdk_top.resource_spans[0].resource
    assert (
        ours.resource_spans[0].scope_spans[0].scope
        == sdk_top.resource_spans[0].scope_spans[0].scope
    )


def test_exceptions_status_and_nesting_through_the_api(
    provider: LiteProvider, capture: Capture
) -> None:
    tracer = provider.get_tracer("app")
    token = otel_trace.context_api.attach(remote_parent())
    try:
        with tracer.start_as_current_span("outer") as outer:
            with pytest.raises(KeyError), tracer.start_as_current_span("inner") as inner:
                assert otel_trace.get_current_span() is inner
                raise KeyError("sku")
            assert otel_trace.get_current_span() is outer
            outer.set_status(StatusCode.OK, "ignored: only ERROR keeps a description")
            outer.set_status(Status(StatusCode.ERROR, "too late: OK is final"))
            outer.set_status(StatusCode.UNSET)
    finally:
        otel_trace.context_api.detach(token)
    inner.set_attribute("after", "the end")  # an ended span takes nothing
    inner.end()  # a second end sends nothing again
    provider.force_flush()
    decoded = {s.name: s for s in capture.spans()}
    assert list(decoded) == ["inner", "outer"]
    assert decoded["inner"].parent_span_id == decoded["outer"].span_id
    assert decoded["outer"].parent_span_id == PARENT_ID.to_bytes(8, "big")
    assert (decoded["inner"].status.code, decoded["inner"].status.message) == (2, "KeyError: 'sku'")
    assert (decoded["outer"].status.code, decoded["outer"].status.message) == (1, "")
    (event,) = decoded["inner"].events
    event_attributes = attributes_of(event)
    assert event.name == "exception"
    assert {k: v for k, v in event_attributes.items() if k != "exception.stacktrace"} == {
        "exception.type": "KeyError",
        "exception.message": "'sku'",
        "exception.escaped": "False",
    }
    assert event_attributes["exception.stacktrace"].endswith("KeyError: 'sku'\n")
    assert "after" not in attributes_of(decoded["inner"])


def test_only_spans_under_a_sampled_parent_are_recorded(
    provider: LiteProvider, capture: Capture
) -> None:
    tracer = provider.get_tracer("app")
    assert tracer.start_span("no parent") is INVALID_SPAN
    unsampled = tracer.start_span("unsampled", context=remote_parent(sampled=False))
    assert not unsampled.is_recording()
    assert unsampled.get_span_context().trace_id == TRACE_ID
    sampled = tracer.start_span("sampled", context=remote_parent())
    assert sampled.is_recording() and sampled.get_span_context().trace_flags.sampled
    for span in (unsampled, sampled):
        span.end()
    provider.force_flush()
    assert [s.name for s in capture.spans()] == ["sampled"]


def test_limits_drop_and_count(
    provider: LiteProvider, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lite, "MAX_PENDING", 3)
    tracer = provider.get_tracer("app")
    first = tracer.start_span("first", context=remote_parent())
    first.set_attributes({f"a{n}": n for n in range(_lite.MAX_ATTRIBUTES + 2)})
    first.set_attribute("a0", "replaced: a key it has is not a new one")
    for n in range(_lite.MAX_EVENTS + 1):
        first.add_event(f"e{n}")
    first.end()
    for n in range(4):
        tracer.start_span(f"more {n}", context=remote_parent()).end()
    assert provider.dropped == 2
    provider.force_flush()
    spans = capture.spans()
    assert [s.name for s in spans] == ["first", "more 0", "more 1"]
    assert len(spans[0].attributes) == _lite.MAX_ATTRIBUTES
    assert spans[0].dropped_attributes_count == 2
    assert attributes_of(spans[0])["a0"] == "replaced: a key it has is not a new one"
    assert len(spans[0].events) == _lite.MAX_EVENTS


def test_one_request_per_flush_with_a_scope_per_tracer(
    provider: LiteProvider, capture: Capture
) -> None:
    for name, version in (("lambdaops", "0.1.0"), ("opentelemetry.instrumentation.botocore", "")):
        provider.get_tracer(name, version).start_span("s", context=remote_parent()).end()
    assert provider.get_tracer("lambdaops", "0.1.0") is provider.get_tracer("lambdaops", "0.1.0")
    assert provider.force_flush() is True
    assert provider.force_flush() is True  # nothing pending: no request
    (request,) = capture.requests()
    (resource,) = request.resource_spans
    assert attributes_of(resource.resource) == {"service.name": "orders", "cloud.provider": "aws"}
    assert [(ss.scope.name, ss.scope.version, len(ss.spans)) for ss in resource.scope_spans] == [
        ("lambdaops", "0.1.0", 1),
        ("opentelemetry.instrumentation.botocore", "", 1),
    ]


def test_a_loaded_secret_is_masked_in_every_string_sent(
    provider: LiteProvider, capture: Capture
) -> None:
    secret = "s3cr3t-Passw0rd-value"
    tracer = provider.get_tracer("app")
    span = tracer.start_span("s", context=remote_parent())
    span.set_attribute("cached before the secret", f"token={secret}"[:9])  # a cached pair
    _redact.register(secret)
    try:
        span.set_attribute("url", f"https://x/?p={secret}")
        span.set_attribute("list", (secret, "other"))
        span.record_exception(ValueError(f"login failed for {secret}"))
        span.end()
        provider.force_flush()
    finally:
        _redact.clear()
    assert secret.encode() not in capture.bodies[0]
    (decoded,) = capture.spans()
    attributes = attributes_of(decoded)
    assert (attributes["url"], attributes["list"]) == ("https://x/?p=***", ("***", "other"))
    assert attributes_of(decoded.events[0])["exception.message"] == "login failed for ***"


def test_the_resource_takes_the_opentelemetry_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%20b,bad")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-otel")
    resource = _provider.resource({"service.name": "from-lambdaops", "team": "x"})
    assert resource == {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "lambdaops",
        "telemetry.sdk.version": _provider.__version__,
        "service.name": "from-otel",
        "team": "a b",
        "deployment.environment": "prod",
    }


# -- the HTTP exporter -------------------------------------------------------------------


class _Collector(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, replies: list[bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.replies = replies
        self.requests: list[tuple[bytes, dict[str, str], bytes]] = []
        self.connections = 0
        self.close_after_each = False


class _Handler(socketserver.StreamRequestHandler):
    server: _Collector

    def handle(self) -> None:
        self.server.connections += 1
        while True:
            line = self.rfile.readline()
            if not line:
                return
            headers: dict[str, str] = {}
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = self.rfile.read(int(headers.get("content-length", "0")))
            self.server.requests.append((line, headers, body))
            self.wfile.write(self.server.replies.pop(0))
            if self.server.close_after_each:
                return


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector([])
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 2\r\n\r\n\n\x00"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\n\x00\r\n0\r\n\r\n"
CONTINUE_THEN_OK = b"HTTP/1.1 100 Continue\r\n\r\n" + OK
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"
CLOSING = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def url(server: _Collector) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1/traces"


def test_the_exporter_keeps_one_connection_across_answers(collector: _Collector) -> None:
    collector.replies += [OK, CHUNKED, CONTINUE_THEN_OK, UNAVAILABLE, OK]
    exporter = _http.Exporter(url(collector), 2.0)
    assert [exporter.export(b"body %d" % n) for n in range(5)] == [200, 200, 200, 503, 200]
    assert collector.connections == 1
    line, headers, body = collector.requests[0]
    assert (line, headers["content-type"], body) == (
        b"POST /v1/traces HTTP/1.1\r\n",
        "application/x-protobuf",
        b"body 0",
    )
    assert headers["host"] == f"127.0.0.1:{collector.server_address[1]}"


def test_a_closed_connection_is_opened_again(collector: _Collector) -> None:
    collector.replies += [CLOSING, OK, OK]
    exporter = _http.Exporter(url(collector), 2.0)
    assert exporter.export(b"1") == 200
    collector.close_after_each = True  # from now on it closes without saying so
    assert exporter.export(b"2") == 200  # told to close after the first: a new connection
    assert exporter.export(b"3") == 200  # the kept one is closed: the reuse fails, once more
    assert [r[2] for r in collector.requests] == [b"1", b"2", b"3"]
    assert collector.connections == 3


def test_headers_and_gzip_from_the_opentelemetry_variables(
    collector: _Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,x-team=orders,broken")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    collector.replies.append(OK)
    assert _http.Exporter(url(collector), 2.0).export(b"spans") == 200
    _, headers, body = collector.requests[0]
    assert (headers["api-key"], headers["x-team"], headers["content-encoding"]) == (
        "a b",
        "orders",
        "gzip",
    )
    assert gzip.decompress(body) == b"spans"


def test_a_dead_endpoint_raises_and_a_bad_url_is_named() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        _http.Exporter(f"http://127.0.0.1:{port}/v1/traces", 2.0).export(b"x")
    with pytest.raises(
        ValueError, match=r"^OTLP endpoint 'localhost:4318' is not an http\(s\) URL$"
    ):
        _http.Exporter("localhost:4318", 2.0)


def test_a_refusing_collector_is_backed_off_and_said_once(
    collector: _Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    collector.replies += [UNAVAILABLE]
    backing = _provider.BackingOff(_http.Exporter(url(collector), 2.0))
    assert backing.export(b"1") is False
    assert backing.export(b"2") is False  # backing off: not sent
    assert (len(collector.requests), backing.failures, backing.delay) == (1, 1, 60.0)
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "trace.otel" in line]
    assert json.loads(line)["error"] == (
        f"ConnectionError: OTLP export to {_http.endpoint()} failed (HTTP 503); spans are"
        " dropped for 30 s at a time until it answers"
    )


# -- the instrumentors on lambdaops' own provider ------------------------------------------

_INSTRUMENTED_APP = """
import json, os, secrets, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3, httpx, moto, requests

from lambdaops import instrument
from lambdaops.local import OTLPReceiver
from lambdaops.testing import LambdaContext

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/stock"
receiver = OTLPReceiver().start()
os.environ.update(LAMBDA_TASK_ROOT="/var/task", AWS_ACCESS_KEY_ID="testing",
                  AWS_SECRET_ACCESS_KEY="testing", **receiver.env())

@instrument(service="orders", trace_backend="otel")
def handler(event, context):
    with moto.mock_aws():
        buckets = boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"]
    return [requests.get(url).text, httpx.get(url).text, buckets]

root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
assert handler({}, LambdaContext()) == ["ok", "ok", []]
spans = [
    (ss.scope.name, s)
    for r in receiver.received for rs in r.request.resource_spans
    for ss in rs.scope_spans for s in ss.spans
]
names = {s.span_id: s.name for _, s in spans}
status = lambda s: next(
    (kv.value.int_value for kv in s.attributes
     if kv.key in ("http.response.status_code", "http.status_code")), None)
print(json.dumps(sorted(
    [scope, s.name, s.kind, names.get(s.parent_span_id), status(s)] for scope, s in spans
)))
"""


def test_botocore_requests_and_httpx_calls_are_spans_on_lambdaops_own_provider() -> None:
    """trace_patch with otel and no provider configured: the botocore, requests and httpx
    instrumentors trace through lambdaops' provider, under the handler's span, and the
    spans reach the OTLP receiver. In a child process: the global provider is set once."""
    pytest.importorskip("opentelemetry.instrumentation.requests")
    pytest.importorskip("opentelemetry.instrumentation.httpx")
    pytest.importorskip("opentelemetry.instrumentation.botocore")
    pytest.importorskip("moto")
    out = subprocess.run(
        [sys.executable, "-c", _INSTRUMENTED_APP], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == [
        ["lambdaops", "## handler", 2, None, None],
        ["opentelemetry.instrumentation.botocore", "S3.ListBuckets", 3, "## handler", 200],
        ["opentelemetry.instrumentation.httpx", "GET", 3, "## handler", 200],
        ["opentelemetry.instrumentation.requests", "GET", 3, "## handler", 200],
    ]


def test_one_export_is_bounded_in_all_by_the_timeout() -> None:
    """A collector that accepts and never answers, and one that answers a byte at a time:
    each costs the timeout once in all (not per read), with no second try."""
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []

    def trickle() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)
            if len(accepted) == 2:  # the second connection: a byte every 50 ms, forever
                try:
                    for byte in OK * 100:
                        conn.sendall(bytes([byte]))
                        time.sleep(0.05)
                except OSError:
                    pass

    threading.Thread(target=trickle, daemon=True).start()
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
    try:
        for _ in range(2):
            exporter = _http.Exporter(target, 0.4)
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                exporter.export(b"spans")
            assert 0.35 < time.monotonic() - started < 0.6  # not a second per line read
        assert len(accepted) == 2  # one connection each: a timeout is not retried
    finally:
        listener.close()
        for conn in accepted:
            conn.close()


# -- what a review found (each failed before its fix) ------------------------------------


def test_cached_encodings_never_stand_for_another_value(
    provider: LiteProvider, capture: Capture
) -> None:
    """Equal is not the same: (True,), (1,) and (1.0,) or 0.0 and -0.0 each go as
    themselves; long or numerous values do not grow the cache past its bound."""
    tracer = provider.get_tracer("t")
    values = [(True,), (1,), (1.0,), 0.0, -0.0, float("nan"), 1, True]
    for value in values:
        span = tracer.start_span("s", context=remote_parent())
        span.set_attribute("v", value)
        span.end()
    for n in range(3000):
        span = tracer.start_span("s", context=remote_parent())
        span.set_attribute("ids", tuple(f"{n}-{i}" for i in range(100)))
        span.end()
    provider.force_flush()
    decoded = [value_of(s.attributes[0].value) for s in capture.spans()[: len(values)]]
    expected = ["(True,)", "(1,)", "(1.0,)", "0.0", "-0.0", "nan", "1", "True"]
    assert [repr(v) for v in decoded] == expected
    assert len(_otlp._pairs) <= _otlp._MAX_PAIRS
    assert not any(key == "ids" for key, _, _ in _otlp._pairs)


def test_a_lone_surrogate_costs_one_character_not_the_request(
    provider: LiteProvider, capture: Capture
) -> None:
    bad = json.loads('"id \\ud800 end"')  # valid JSON, not valid UTF-8
    span = provider.get_tracer("t").start_span(bad, context=remote_parent())
    span.set_attribute("id", bad)
    span.record_exception(ValueError(bad))
    span.end()
    assert provider.force_flush() is True
    (decoded,) = capture.spans()  # opentelemetry-proto refuses bad UTF-8: this decodes
    assert (decoded.name, attributes_of(decoded)["id"]) == ("id ? end", "id ? end")
    assert attributes_of(decoded.events[0])["exception.message"] == "id ? end"


def test_unchecked_input_is_cleaned_not_a_lost_batch(
    provider: LiteProvider, capture: Capture
) -> None:
    tracer = provider.get_tracer("t")
    span = tracer.start_span(123, context=remote_parent())  # type: ignore[arg-type]
    span.add_event("e", {1: "x", "ok": 1, "bad": object()})  # type: ignore[dict-item]
    span.record_exception(ValueError("v"), {2: "x"})  # type: ignore[dict-item]
    linked = SpanContext(TRACE_ID, PARENT_ID, True, TraceFlags(1))
    span.add_link(linked, {"a": object(), "b": "kept"})
    span.add_link(None)  # type: ignore[arg-type]
    span.add_link(otel_trace.INVALID_SPAN_CONTEXT)  # no attributes, no state: not kept
    span.add_link(otel_trace.INVALID_SPAN_CONTEXT, {"why": "kept: it says something"})
    span.end()
    assert provider.force_flush() is True
    (decoded,) = capture.spans()
    assert decoded.name == "123"
    assert [(e.name, attributes_of(e).get("ok")) for e in decoded.events] == [
        ("e", 1),
        ("exception", None),
    ]
    assert "2" not in attributes_of(decoded.events[1])
    assert [attributes_of(link) for link in decoded.links] == [
        {"b": "kept"},
        {"why": "kept: it says something"},
    ]


def test_with_start_span_records_the_exception_as_the_sdk_does(
    provider: LiteProvider, capture: Capture
) -> None:
    tracer = provider.get_tracer("t")
    with pytest.raises(ValueError), tracer.start_span("told", context=remote_parent()):
        raise ValueError("boom")
    quiet = tracer.start_span(
        "quiet", context=remote_parent(), record_exception=False, set_status_on_exception=False
    )
    with pytest.raises(ValueError), quiet:
        raise ValueError("boom")
    provider.force_flush()
    told, silent = capture.spans()
    assert (told.status.code, told.status.message, [e.name for e in told.events]) == (
        2,
        "ValueError: boom",
        ["exception"],
    )
    assert attributes_of(told.events[0])["exception.escaped"] == "True"
    assert (silent.status.code, list(silent.events)) == (0, [])


def test_numbers_and_bytes_that_spell_a_secret_are_masked(
    provider: LiteProvider, capture: Capture
) -> None:
    span = provider.get_tracer("t").start_span("s", context=remote_parent())
    _redact.register_secret('{"pin": 48213977, "key": "s3cr3t-value"}')
    try:
        span.set_attributes({"pin": 48213977, "key": b"s3cr3t-value", "other": 7, "raw": b"ok"})
        span.end()
        provider.force_flush()
    finally:
        _redact.clear()
    assert b"s3cr3t-value" not in capture.bodies[0]
    (decoded,) = capture.spans()
    assert attributes_of(decoded) == {"pin": "***", "key": "***", "other": 7, "raw": b"ok"}


def test_a_refusal_is_said_with_its_status_and_not_backed_off(
    collector: _Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    collector.replies += [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", OK]
    backing = _provider.BackingOff(_http.Exporter(url(collector), 2.0))
    assert (backing.export(b"1"), backing.export(b"2")) == (False, True)
    assert (len(collector.requests), backing.failures) == (2, 0)
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "trace.otel" in line]
    assert json.loads(line)["error"] == (
        f"ConnectionError: OTLP export to {_http.endpoint()} refused: HTTP 400"
    )


def test_a_kept_connection_that_stops_answering_is_not_sent_twice() -> None:
    """The collector may have the request: after a timeout it is not sent again."""
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        reader = conn.makefile("rb")
        while True:
            headers: dict[str, str] = {}
            if not reader.readline():
                return
            while (header := reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            received.append(reader.read(int(headers["content-length"])))
            if len(received) == 1:
                conn.sendall(OK)  # the first answered; the second never

    threading.Thread(target=serve, daemon=True).start()
    exporter = _http.Exporter(f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces", 0.3)
    try:
        assert exporter.export(b"A") == 200
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            exporter.export(b"B")
        assert time.monotonic() - started < 0.6
        assert received == [b"A", b"B"]
    finally:
        listener.close()


def test_concurrent_flushes_send_whole_requests(collector: _Collector) -> None:
    collector.replies += [OK] * 40
    exporter = _provider.BackingOff(_http.Exporter(url(collector), 5.0))
    provider = LiteProvider({"service.name": "orders"}, exporter)
    tracer = provider.get_tracer("t")
    big = "x" * 300_000

    def work() -> None:
        for _ in range(20):
            span = tracer.start_span("s", context=remote_parent())
            span.set_attribute("payload", big)
            span.end()
            provider.force_flush()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requests = [ExportTraceServiceRequest.FromString(body) for _, _, body in collector.requests]
    spans = [
        s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    assert len(spans) == 40 and exporter.failures == 0
    assert all(attributes_of(s)["payload"] == big for s in spans)


def test_an_absurd_or_huge_answer_closes_the_connection_not_the_next_request(
    collector: _Collector,
) -> None:
    """A Content-Length past any sense, or a body over 1 MiB: the status counts, the body is
    not read, and the connection is closed, so the next request starts clean."""
    absurd = b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\nxyz"
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 10
    collector.replies += [absurd, huge, OK]
    exporter = _http.Exporter(url(collector), 2.0)
    assert [exporter.export(b"%d" % n) for n in range(3)] == [200, 200, 200]
    assert collector.connections == 3


def test_a_tracer_named_with_other_types_costs_nothing_else(
    provider: LiteProvider, capture: Capture
) -> None:
    odd = provider.get_tracer("mylib", (1, 2))  # type: ignore[arg-type]
    odd.start_span("odd", context=remote_parent()).end()
    provider.get_tracer("lambdaops").start_span("## handler", context=remote_parent()).end()
    assert provider.force_flush() is True
    (request,) = capture.requests()
    scopes = [(ss.scope.name, ss.scope.version, [s.name for s in ss.spans])
              for rs in request.resource_spans for ss in rs.scope_spans]  # fmt: skip
    assert scopes == [("mylib", "(1, 2)", ["odd"]), ("lambdaops", "", ["## handler"])]


def test_bytes_that_are_not_utf8_and_spell_a_secret_are_masked(
    provider: LiteProvider, capture: Capture
) -> None:
    key = b"\x8f\x01\xfe-binary-kms-key"
    span = provider.get_tracer("t").start_span("s", context=remote_parent())
    _redact.register_secret(key)
    try:
        span.set_attributes({"key": key, "keys": (key, b"other")})
        span.end()
        provider.force_flush()
    finally:
        _redact.clear()
    assert key not in capture.bodies[0]
    (decoded,) = capture.spans()
    assert attributes_of(decoded) == {"key": "***", "keys": ("***", b"other")}
