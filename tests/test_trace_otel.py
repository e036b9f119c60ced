"""trace_backend="otel": the same API over OpenTelemetry, checked with the SDK's in-memory
exporter (issue 17). The X-Ray backend's tests are tests/test_trace.py."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lambdaops import _trace, _trace_backend, instrument, trace
from lambdaops.testing import LambdaContext

_EXPORTER = InMemorySpanExporter()


def _provider() -> Any:
    """One SDK provider for the process (OpenTelemetry's global can be set once)."""
    provider = otel_trace.get_tracer_provider()
    if isinstance(provider, otel_trace.ProxyTracerProvider):
        provider = TracerProvider()
        otel_trace.set_tracer_provider(provider)
    if not getattr(provider, "_lambdaops_test_exporter", False):
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        provider._lambdaops_test_exporter = True
    return provider


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    _provider()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    _trace.reset()
    _EXPORTER.clear()
    yield _EXPORTER
    _trace.reset()


def sampled_header(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent={parent};Sampled=1")
    return root, parent


@trace.capture
def charge(order: int) -> dict[str, int]:
    trace.annotate("order_id", order)
    with trace.subsegment("render") as sub:
        sub.metadata("items", [1, 2, 3])
    return {"charged": order}


@trace.capture
def fail() -> None:
    raise ValueError("card declined")


def test_the_same_tree_with_faas_attributes_and_the_x_ray_parent(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> str:
        charge(42)
        try:
            fail()
        except ValueError:
            pass
        return "ok"

    root, parent = sampled_header(monkeypatch)
    assert handler({}, LambdaContext(aws_request_id="req-42")) == "ok"
    finished = {span.name: span for span in spans.get_finished_spans()}
    assert sorted(finished) == ["## charge", "## fail", "## handler", "render"]
    top = finished["## handler"]
    context = top.get_span_context()
    assert format(context.trace_id, "032x") == root[2:10] + root[11:]
    assert top.parent is not None and format(top.parent.span_id, "016x") == parent
    assert top.parent.is_remote and top.kind is SpanKind.SERVER
    attributes = dict(top.attributes or {})
    assert {k: attributes[k] for k in ("faas.trigger", "faas.coldstart", "cloud.provider")} == {
        "faas.trigger": "other",
        "faas.coldstart": True,
        "cloud.provider": "aws",
    }
    assert attributes["faas.invocation_id"] == "req-42"
    assert attributes["cloud.resource_id"] == LambdaContext().invoked_function_arn
    assert (attributes["cloud.region"], attributes["faas.name"]) == ("eu-west-1", "orders")
    assert attributes["orders.handler response"] == "ok"  # a str as it is; others as JSON
    assert attributes["aws.xray.annotations"] == ("ColdStart", "Service")
    # nesting: charge and fail under the handler, render under charge
    by_id = {span.get_span_context().span_id: span.name for span in finished.values()}
    assert {name: by_id.get(s.parent.span_id) for name, s in finished.items() if s.parent} == {
        "## charge": "## handler",
        "## fail": "## handler",
        "render": "## charge",
        "## handler": None,
    }
    charged = dict(finished["## charge"].attributes or {})
    assert (charged["order_id"], charged["orders.charge response"]) == (42, '{"charged":42}')
    assert charged["aws.xray.annotations"] == ("order_id",)
    assert dict(finished["render"].attributes or {})["orders.items"] == "[1,2,3]"
    failed = finished["## fail"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: card declined"
    assert [event.name for event in failed.events] == ["exception"]
    assert dict(failed.events[0].attributes or {})["exception.message"] == "card declined"


def test_the_handlers_error_and_an_http_trigger(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> None:
        raise RuntimeError("boom")

    sampled_header(monkeypatch)
    event = {
        "version": "2.0",
        "routeKey": "GET /x",
        "rawPath": "/x",
        "requestContext": {"http": {"method": "GET"}, "requestId": "r-1"},
    }
    with pytest.raises(RuntimeError):
        handler(event, LambdaContext())
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert dict(span.attributes or {})["faas.trigger"] == "http"
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["handler error"] == "RuntimeError: boom"


def test_a_queue_trigger_is_a_consumer_span(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> None:
        return None

    sampled_header(monkeypatch)
    record = {"eventSource": "aws:sqs", "messageId": "m-1", "body": "{}", "attributes": {}}
    handler({"Records": [record]}, LambdaContext())
    (span,) = spans.get_finished_spans()
    assert (span.kind, dict(span.attributes or {})["faas.trigger"]) == (SpanKind.CONSUMER, "pubsub")


def test_an_open_opentelemetry_span_is_the_parent(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ADOT instrumentation opened a span for the invocation: lambdaops nests under it."""

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> None:
        return None

    sampled_header(monkeypatch)
    tracer = otel_trace.get_tracer("adot-stand-in")
    with tracer.start_as_current_span("adot invocation") as outer:
        handler({}, LambdaContext())
    finished = {span.name: span for span in spans.get_finished_spans()}
    inner = finished["## handler"]
    assert inner.parent is not None
    assert inner.parent.span_id == outer.get_span_context().span_id
    assert inner.get_span_context().trace_id == outer.get_span_context().trace_id


def test_async_and_generators_nest(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @trace.capture
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n

    @trace.capture
    def numbers() -> Iterator[int]:
        yield 1
        yield 2

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> int:
        async def both() -> list[int]:
            return list(await asyncio.gather(fetch(1), fetch(2)))

        return sum(asyncio.run(both())) + sum(numbers())

    sampled_header(monkeypatch)
    assert handler({}, LambdaContext()) == 6
    finished = spans.get_finished_spans()
    top = next(s for s in finished if s.name == "## handler")
    children = sorted(
        s.name
        for s in finished
        if s.parent and s.parent.span_id == (top.get_span_context().span_id)
    )
    assert children == ["## fetch", "## fetch", "## numbers"]


def test_unsampled_invocations_make_no_span(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> int:
        return charge(1)["charged"]

    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root=1-{int(time.time()):08x}-{'a' * 24};Sampled=0")
    assert handler({}, LambdaContext()) == 1
    assert spans.get_finished_spans() == ()
    assert _trace._backend is None  # nothing loaded


def test_auto_picks_otel_only_when_a_provider_is_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_EXEC_WRAPPER", raising=False)
    _provider()
    assert _trace_backend.choose("auto") == "otel"
    assert (_trace_backend.choose("xray"), _trace_backend.choose("otel")) == ("xray", "otel")
    monkeypatch.setenv("AWS_LAMBDA_EXEC_WRAPPER", "/opt/otel-instrument")
    assert _trace_backend.choose("auto") == "otel"
    probe = (
        "import sys, lambdaops._trace_backend as b; print(b.choose('auto'), "
        "'opentelemetry' in sys.modules)"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert fresh.stdout.split() == ["xray", "False"]  # and it imported nothing to find out


def test_import_lambdaops_does_not_import_opentelemetry() -> None:
    probe = "import sys, lambdaops; print(sorted(m for m in sys.modules if 'opentelemetry' in m))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lines_and_the_outcome_record_carry_the_otel_ids(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch, lambdaops_capture: Any
) -> None:
    from lambdaops import log

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> None:
        log.info("charging", order=7)

    root, _ = sampled_header(monkeypatch)
    handler({}, LambdaContext())
    (span,) = spans.get_finished_spans()
    expected = {
        "trace_id": root[2:10] + root[11:],
        "span_id": format(span.get_span_context().span_id, "016x"),
    }
    records = [json.loads(line) for line in lambdaops_capture.lines]
    assert [{k: r.get(k) for k in expected} for r in records] == [expected, expected]
    assert [r.get("message", r.get("lambdaops")) for r in records] == ["charging", "outcome"]


_DEAD_ENDPOINT = """
import json, os, secrets, socket, sys, time
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
os.environ.update(LAMBDA_TASK_ROOT="/var/task", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
from lambdaops import instrument
from lambdaops.testing import LambdaContext

@instrument(service="orders", trace_backend="otel")
def handler(event, context):
    return "ok"

for _ in range(3):
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
    assert handler({}, LambdaContext()) == "ok"
from lambdaops import _otel
exporter = _otel._own.exporter
print(json.dumps({"failures": exporter.failures, "delay": exporter.delay}))
"""


def test_a_dead_endpoint_is_tried_once_then_backed_off_and_said_once() -> None:
    """No provider configured: lambdaops' own exports OTLP/HTTP; a closed port costs one
    failed export, then spans are dropped for 30 s (doubling), with one warning."""
    out = subprocess.run(
        [sys.executable, "-c", _DEAD_ENDPOINT], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {"failures": 1, "delay": 60.0}
    warnings = [line for line in out.stderr.splitlines() if "trace.otel.export" in line]
    assert len(warnings) == 1 and "spans are dropped for 30 s" in warnings[0]


def test_a_w3c_traceparent_is_the_parent_when_preferred(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    @instrument(service="orders", trace_backend="otel", trace_parent="w3c")
    def handler(event: Any, context: Any) -> None:
        return None

    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    http = {"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET"}},
            "headers": {"TraceParent": f"00-{trace_id}-{span_id}-01"}}  # fmt: skip
    sqs = {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "", "attributes": {},
           "messageAttributes": {"traceparent": {"stringValue": f"00-{trace_id}-{span_id}-01",
                                                 "dataType": "String"}}}]}  # fmt: skip
    root, parent = sampled_header(monkeypatch)
    for event in (http, sqs):
        handler(event, LambdaContext())
    malformed = {"headers": {"traceparent": f"00-{trace_id}-zz-01"}}
    handler(malformed, LambdaContext())  # falls back to Lambda's X-Ray header
    handler({"headers": {"traceparent": f"00-{trace_id}-{span_id}-00"}}, LambdaContext())
    finished = spans.get_finished_spans()
    assert [
        (format(s.get_span_context().trace_id, "032x"), format(s.parent.span_id, "016x"))
        for s in finished
        if s.parent is not None
    ] == [(trace_id, span_id), (trace_id, span_id), (root[2:10] + root[11:], parent)]
    assert len(finished) == 3  # the traceparent that says not sampled: no span


def test_trace_parent_is_refused_unless_xray_or_w3c() -> None:
    from lambdaops import ConfigError

    with pytest.raises(ConfigError, match=r"^argument trace_parent='b3' is not xray or w3c$"):
        instrument(trace_parent="b3")
    with pytest.raises(ConfigError, match=r"^argument trace_backend='jaeger' is not one of xray"):
        instrument(trace_backend="jaeger")


def test_botocore_calls_are_spans_from_the_opentelemetry_instrumentor(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trace_patch with otel: botocore's calls traced by opentelemetry-instrumentation-
    botocore (not the X-Ray SDK's patcher), nested under the span that made them."""
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> list[str]:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="otel-bucket")
        return [b["Name"] for b in s3.list_buckets()["Buckets"]]

    with moto.mock_aws():
        sampled_header(monkeypatch)
        assert handler({}, LambdaContext()) == ["otel-bucket"]
    finished = spans.get_finished_spans()
    top = next(s for s in finished if s.name == "## handler")
    calls = [s for s in finished if s.attributes and s.attributes.get("rpc.system") == "aws-api"]
    assert [(s.attributes["rpc.service"], s.attributes["rpc.method"]) for s in calls] == [
        ("S3", "CreateBucket"),
        ("S3", "ListBuckets"),
    ]
    assert all(s.parent and s.parent.span_id == top.get_span_context().span_id for s in calls)


@pytest.mark.parametrize("library", ["requests", "httpx"])
def test_http_calls_are_spans_from_the_opentelemetry_instrumentors(
    library: str, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trace_patch with otel on a configured (SDK) provider: requests and httpx calls traced
    by their OpenTelemetry instrumentors, CLIENT spans under the handler's span."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    client = pytest.importorskip(library)
    pytest.importorskip(f"opentelemetry.instrumentation.{library}")

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(201)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stock"

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> int:
        return int(client.get(url).status_code)

    try:
        sampled_header(monkeypatch)
        assert handler({}, LambdaContext()) == 201
    finally:
        server.shutdown()
        server.server_close()
    finished = spans.get_finished_spans()
    top = next(s for s in finished if s.name == "## handler")
    (call,) = [s for s in finished if s.kind is SpanKind.CLIENT]
    attributes = dict(call.attributes or {})
    status = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    assert (call.name, status, call.instrumentation_scope.name) == (
        "GET",
        201,
        f"opentelemetry.instrumentation.{library}",
    )
    assert call.parent is not None and call.parent.span_id == top.get_span_context().span_id


def test_a_loaded_secret_is_masked_in_what_lambdaops_writes_to_a_configured_provider(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider somebody configured sends what it is given: the exception event, status
    and metadata lambdaops writes on it are masked (the SDK's record_exception would write
    ``str(error)`` and the stack as they are)."""
    from lambdaops import _redact

    secret = "hunter2-Pa55word"

    @instrument(service="orders", trace_backend="otel")
    def handler(event: Any, context: Any) -> None:
        trace.annotate("user", f"alice:{secret}")
        trace.metadata("login", {"password": secret})
        raise PermissionError(f"login refused for {secret}")

    sampled_header(monkeypatch)
    _redact.register(secret)
    try:
        with pytest.raises(PermissionError, match=secret):  # the caller's exception: unchanged
            handler({}, LambdaContext())
    finally:
        _redact.clear()
    (span,) = spans.get_finished_spans()
    (event,) = span.events
    assert (event.name, event.attributes["exception.message"]) == (
        "exception",
        "login refused for ***",
    )
    assert "login refused for ***" in str(event.attributes["exception.stacktrace"])
    assert span.status.description == "PermissionError: login refused for ***"
    assert (span.attributes["user"], span.attributes["orders.login"]) == (
        "alice:***",
        '{"password":"***"}',
    )
    assert secret not in repr(
        [dict(span.attributes or {}), [dict(e.attributes or {}) for e in span.events]]
    )


_HANGING_COLLECTOR = """
import json, os, secrets, socket, sys, time
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(8)  # never answers
os.environ.update(LAMBDA_TASK_ROOT="/var/task",
                  OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{listener.getsockname()[1]}")
from lambdaops import _output, instrument
from lambdaops.testing import LambdaContext

started = time.monotonic()
written = []
_output.set_sink(lambda text: written.append((time.monotonic() - started, text)))

@instrument(service="orders", trace_backend="otel", timeout_margin_ms=800)
def handler(event, context):
    time.sleep(event["sleep_s"])
    return "ok"

root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
result = handler({"sleep_s": float(sys.argv[1])}, LambdaContext(timeout_s=2.0))
returned = time.monotonic() - started
records = [(round(at, 2), json.loads(text)) for at, text in written if '"outcome"' in text]
print(json.dumps({"result": result, "returned_s": returned,
                  "outcomes": [[at, r["outcome"]] for at, r in records]}))
"""


@pytest.mark.parametrize(
    ("sleep_s", "outcomes"), [(0.3, ["success"]), (1.4, ["timeout", "success"])]
)
def test_a_hanging_collector_never_carries_the_invocation_past_its_deadline(
    sleep_s: float, outcomes: list[str]
) -> None:
    """lambdaops' own provider flushing to a collector that accepts and never answers: the
    export waits at most half of what is left before Lambda's deadline, so a handler that
    returns in time stays a success, and the watchdog's timeout record (800 ms margin:
    at 1.2 s of 2 s) is written before the deadline; the late success (1.4 s) supersedes it."""
    out = subprocess.run(
        [sys.executable, "-c", _HANGING_COLLECTOR, str(sleep_s)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["result"] == "ok"
    assert [outcome for _, outcome in report["outcomes"]] == outcomes
    assert all(at < 2.0 for at, _ in report["outcomes"])  # each record before the deadline
    assert report["returned_s"] < 2.0


def test_a_handler_finishing_after_the_watchdog_leaves_no_span_current(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watchdog ends the handler's span from its own thread at the margin; the handler
    then finishes before Lambda's deadline. Its thread's context must not keep the ended
    span: the next invocation would nest under it (and an unsampled one record under it)."""

    @instrument(service="orders", trace_backend="otel", timeout_margin_ms=500)
    def handler(event: Any, context: Any) -> str:
        time.sleep(event["sleep_s"])
        return "ok"

    sampled_header(monkeypatch)
    assert handler({"sleep_s": 0.7}, LambdaContext(timeout_s=1.0)) == "ok"
    assert not otel_trace.get_current_span().get_span_context().is_valid
    second_root, second_parent = sampled_header(monkeypatch)
    assert handler({"sleep_s": 0}, LambdaContext()) == "ok"
    first, second = spans.get_finished_spans()
    assert (first.status.status_code, format(second.context.trace_id, "032x")) == (
        StatusCode.ERROR,
        second_root[2:10] + second_root[11:],
    )
    assert second.parent is not None and format(second.parent.span_id, "016x") == second_parent
