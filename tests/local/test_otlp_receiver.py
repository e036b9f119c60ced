"""The OTLP/HTTP receiver of ``lambdaops local`` on real parts: spans made and exported by
the OpenTelemetry SDK (``OTLPSpanExporter``, protobuf, plain, gzip or deflate), OTLP/JSON
bodies written by hand per the specification (hex ids, integer enums, 64-bit integers as
strings), and the failures the specification names (400, 415, partial success).

Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.rpc import status_pb2
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from lambdaops.local import OTLPReceiver

TRACE = 0x5759E988BD862E3FE1BE46A994272793
XRAY_TRACE = "1-5759e988-bd862e3fe1be46a994272793"
LAMBDA_PARENT = 0x53995C3F42CD8AD8  # the function segment Lambda names in Parent=


class CountingIds(IdGenerator):
    """Span ids 1, 2, 3… so the expected documents can name them."""

    def __init__(self) -> None:
        self.last = 0

    def generate_span_id(self) -> int:
        self.last += 1
        return self.last

    def generate_trace_id(self) -> int:
        return TRACE


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as started:
        yield started


def provider_for(receiver: OTLPReceiver, processor: str, compression: Compression) -> Any:
    exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", compression=compression)
    provider = TracerProvider(
        resource=Resource({"service.name": "otlp-test"}), id_generator=CountingIds()
    )
    span_processor = SimpleSpanProcessor(exporter) if processor == "simple" else None
    provider.add_span_processor(span_processor or BatchSpanProcessor(exporter))
    return provider


def _fail() -> None:
    raise ValueError("requested failure")


def make_tree(provider: Any) -> None:
    """A handler span under Lambda's parent, as a function would make it."""
    tracer = provider.get_tracer("tests.otlp")
    lambda_parent = SpanContext(TRACE, LAMBDA_PARENT, is_remote=True, trace_flags=TraceFlags(1))
    context = trace.set_span_in_context(NonRecordingSpan(lambda_parent))
    with tracer.start_as_current_span("## handler", context=context, kind=SpanKind.SERVER) as h:
        h.set_attribute("aws.xray.annotations", ["order_id", "ColdStart"])
        h.set_attribute("order_id", "o-42")
        h.set_attribute("ColdStart", True)
        h.set_attribute("faas.trigger", "other")
        h.set_attribute("aws.xray.metadata.otlp-test", json.dumps({"event": {"order_id": "o-42"}}))
        with tracer.start_as_current_span("prepare"):
            pass
        with tracer.start_as_current_span("S3.ListBuckets", kind=SpanKind.CLIENT) as call:
            call.set_attribute("rpc.system", "aws-api")
            call.set_attribute("rpc.service", "S3")
            call.set_attribute("rpc.method", "ListBuckets")
            call.set_attribute("http.response.status_code", 200)
        try:
            with tracer.start_as_current_span("fail"):
                _fail()
        except ValueError:
            pass


def without_times(doc: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(doc["start_time"], float) and isinstance(doc["end_time"], float)
    assert doc["start_time"] <= doc["end_time"]
    return {k: v for k, v in doc.items() if k not in ("start_time", "end_time")}


@pytest.mark.parametrize(
    ("processor", "compression", "encoding"),
    [
        ("simple", Compression.NoCompression, ""),
        ("simple", Compression.Gzip, "gzip"),
        ("batch", Compression.Deflate, "deflate"),
    ],
)
def test_sdk_spans_become_the_xray_tree(
    receiver: OTLPReceiver, processor: str, compression: Compression, encoding: str
) -> None:
    provider = provider_for(receiver, processor, compression)
    make_tree(provider)
    provider.shutdown()  # flushes the batch processor
    docs = receiver.wait_for(4)
    assert receiver.refused == []
    assert {r.content_type for r in receiver.received} == {"application/x-protobuf"}
    assert {r.content_encoding for r in receiver.received} == {encoding}
    # The simple processor exports each span as it ends; the batch one, all four at once.
    assert len(receiver.received) == (4 if processor == "simple" else 1)
    assert receiver.segments_for(XRAY_TRACE) == docs
    named = {doc["name"]: doc for doc in docs}
    assert list(named) == ["prepare", "S3", "fail", "## handler"]  # as they ended
    fail = named["fail"]
    [exception] = fail["cause"]["exceptions"]
    assert exception["stack"][0]["path"] == __file__
    assert exception["stack"][0]["label"] == "_fail"  # innermost first, as X-Ray lists them
    assert [f["label"] for f in exception["stack"]][1:].count("make_tree") == 1
    del exception["stack"]
    assert {name: without_times(doc) for name, doc in named.items()} == {
        "## handler": {
            "id": "0000000000000001",
            "trace_id": XRAY_TRACE,
            "name": "## handler",
            "parent_id": "53995c3f42cd8ad8",  # a SERVER span: a segment, no "type"
            "annotations": {"order_id": "o-42", "ColdStart": True},
            "metadata": {
                "otlp-test": {"event": {"order_id": "o-42"}},
                "default": {"faas.trigger": "other", "otel.resource.service.name": "otlp-test"},
            },
            "otel": {"name": "## handler", "kind": "server", "scope": "tests.otlp"},
        },
        "prepare": {
            "id": "0000000000000002",
            "trace_id": XRAY_TRACE,
            "name": "prepare",
            "parent_id": "0000000000000001",
            "type": "subsegment",
            "otel": {"name": "prepare", "kind": "internal", "scope": "tests.otlp"},
        },
        "S3": {
            "id": "0000000000000003",
            "trace_id": XRAY_TRACE,
            "name": "S3",
            "parent_id": "0000000000000001",
            "type": "subsegment",
            "namespace": "aws",
            "aws": {"operation": "ListBuckets"},
            "http": {"response": {"status": 200}},
            "metadata": {
                "default": {
                    "rpc.system": "aws-api",
                    "rpc.service": "S3",
                    "rpc.method": "ListBuckets",
                    "http.response.status_code": 200,
                }
            },
            "otel": {"name": "S3.ListBuckets", "kind": "client", "scope": "tests.otlp"},
        },
        "fail": {
            "id": "0000000000000004",
            "trace_id": XRAY_TRACE,
            "name": "fail",
            "parent_id": "0000000000000001",
            "type": "subsegment",
            "fault": True,
            "cause": {"exceptions": [{"type": "ValueError", "message": "requested failure"}]},
            "otel": {"name": "fail", "kind": "internal", "scope": "tests.otlp"},
        },
    }
    handler = named["## handler"]
    for child in ("prepare", "S3", "fail"):
        assert handler["start_time"] <= named[child]["start_time"]
        assert named[child]["end_time"] <= handler["end_time"]
    picture = receiver.waterfall(XRAY_TRACE).splitlines()
    assert picture[0].startswith(f"trace {XRAY_TRACE}: 4 subsegments, ")
    assert [line[:16].rstrip() for line in picture[2:]] == [
        "## handler",
        "  prepare",
        "  S3 ListBuckets",
        "  fail",
    ]
    assert picture[-1].endswith("|  fault, ValueError")


# -- OTLP/JSON ------------------------------------------------------------------------------
T0 = 1_700_000_000_000_000_000  # ns; the offsets below are exact in binary


def _attr(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"key": key, "value": value}


def json_tree(trace_id: str = "5759E988BD862E3FE1BE46A994272793") -> dict[str, Any]:
    """Three spans as OTLP/JSON writes them: hex ids (here upper case), integer enums,
    64-bit integers as decimal strings, lowerCamelCase keys, and a field from the future."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", {"stringValue": "json-test"})]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "00000000000000A1",
                                "name": "## handler",
                                "kind": 2,
                                "startTimeUnixNano": str(T0),
                                "endTimeUnixNano": str(T0 + 500_000_000),
                                "attributes": [
                                    _attr(
                                        "aws.xray.annotations",
                                        {"arrayValue": {"values": [{"stringValue": "attempt"}]}},
                                    ),
                                    _attr("attempt", {"intValue": "2"}),
                                ],
                                "status": {},
                                "someFutureField": {"ignored": True},
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "00000000000000A2",
                                "parentSpanId": "00000000000000a1",
                                "name": "s3.GetObject",
                                "kind": 3,
                                "startTimeUnixNano": str(T0 + 125_000_000),
                                "endTimeUnixNano": str(T0 + 250_000_000),
                                "attributes": [
                                    _attr("rpc.system", {"stringValue": "aws-api"}),
                                    _attr("rpc.service", {"stringValue": "s3"}),
                                    _attr("rpc.method", {"stringValue": "GetObject"}),
                                    _attr("http.response.status_code", {"intValue": 503}),
                                ],
                                "events": [
                                    {
                                        "timeUnixNano": str(T0 + 250_000_000),
                                        "name": "exception",
                                        "attributes": [
                                            _attr("exception.type", {"stringValue": "Boom"}),
                                            _attr("exception.message", {"stringValue": "no"}),
                                        ],
                                    }
                                ],
                                "status": {"code": 2, "message": "Service Unavailable"},
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "00000000000000A3",
                                "parentSpanId": "00000000000000A1",
                                "name": "slow",
                                "kind": 1,
                                "startTimeUnixNano": str(T0 + 375_000_000),
                            },
                        ],
                    }
                ],
            }
        ]
    }


def post(
    receiver: OTLPReceiver,
    body: bytes,
    content_type: str,
    encoding: str | None = None,
    path: str = "/v1/traces",
) -> tuple[int, str, bytes]:
    """POST with urllib: (status, response content type, response body)."""
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(
        receiver.endpoint + path, data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_json_with_hex_ids_and_the_waterfall(receiver: OTLPReceiver, encoding: str | None) -> None:
    body = json.dumps(json_tree()).encode()
    if encoding:
        body = gzip.compress(body)
    assert post(receiver, body, "application/json; charset=utf-8", encoding) == (
        200,
        "application/json",
        b"{}",
    )
    assert [(r.content_type, r.content_encoding) for r in receiver.received] == [
        ("application/json", encoding or "")
    ]
    t0 = T0 // 1_000_000_000
    assert receiver.segments_for(XRAY_TRACE) == [
        {
            "id": "00000000000000a1",
            "trace_id": XRAY_TRACE,
            "name": "## handler",
            "start_time": t0 + 0.0,
            "end_time": t0 + 0.5,
            "annotations": {"attempt": 2},
            "metadata": {"default": {"otel.resource.service.name": "json-test"}},
            "otel": {"name": "## handler", "kind": "server", "scope": "manual"},
        },
        {
            "id": "00000000000000a2",
            "trace_id": XRAY_TRACE,
            "name": "s3",
            "start_time": t0 + 0.125,
            "end_time": t0 + 0.25,
            "parent_id": "00000000000000a1",
            "type": "subsegment",
            "namespace": "aws",
            "aws": {"operation": "GetObject"},
            "http": {"response": {"status": 503}},
            "fault": True,
            "cause": {"exceptions": [{"type": "Boom", "message": "no", "remote": True}]},
            "metadata": {
                "default": {
                    "rpc.system": "aws-api",
                    "rpc.service": "s3",
                    "rpc.method": "GetObject",
                    "http.response.status_code": 503,
                }
            },
            "otel": {"name": "s3.GetObject", "kind": "client", "scope": "manual"},
        },
        {
            "id": "00000000000000a3",
            "trace_id": XRAY_TRACE,
            "name": "slow",
            "start_time": t0 + 0.375,
            "in_progress": True,
            "parent_id": "00000000000000a1",
            "type": "subsegment",
            "otel": {"name": "slow", "kind": "internal", "scope": "manual"},
        },
    ]
    assert receiver.waterfall(XRAY_TRACE, width=8).splitlines() == [
        f"trace {XRAY_TRACE}: 3 subsegments, 500.0 ms",
        "subsegment      offset ms  duration ms",
        "## handler            0.0        500.0  |████████|",
        "  s3 GetObject      125.0        125.0  |  ██    |  fault, Boom",
        "  slow              375.0        125.0  |      ██|  in progress",
    ]


def test_protobuf_request_gets_an_export_response(receiver: OTLPReceiver) -> None:
    request = trace_service_pb2.ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = TRACE.to_bytes(16, "big")
    span.span_id = (7).to_bytes(8, "big")
    span.name = "lone"
    span.start_time_unix_nano = T0
    span.end_time_unix_nano = T0 + 250_000_000
    status, content_type, body = post(
        receiver, request.SerializeToString(), "application/x-protobuf"
    )
    assert (status, content_type) == (200, "application/x-protobuf")
    response = trace_service_pb2.ExportTraceServiceResponse.FromString(body)
    assert not response.HasField("partial_success")  # "MUST leave partial_success unset"
    assert receiver.received[0].request == request
    assert [d["id"] for d in receiver.segments_for(XRAY_TRACE)] == ["0000000000000007"]


def test_spans_with_bad_ids_are_a_partial_success(receiver: OTLPReceiver) -> None:
    tree = json_tree()
    spans = tree["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[2]["traceId"] = "ABCD"
    spans[1]["spanId"] = ""
    status, content_type, body = post(receiver, json.dumps(tree).encode(), "application/json")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {
        "partialSuccess": {
            "rejectedSpans": "2",  # int64: a decimal string in JSON
            "errorMessage": "span 's3.GetObject': span id '' must be 8 bytes, not all zero; "
            "span 'slow': trace id 'abcd' must be 16 bytes, not all zero",
        }
    }
    assert [d["name"] for d in receiver.snapshot()] == ["## handler"]


def _status(body: bytes) -> tuple[int, str]:
    status = status_pb2.Status.FromString(body)
    return status.code, status.message


def test_malformed_bodies_get_400_with_a_status(receiver: OTLPReceiver) -> None:
    status, content_type, body = post(receiver, b"\x0a\xff\xff", "application/x-protobuf")
    assert (status, content_type) == (400, "application/x-protobuf")
    code, message = _status(body)
    assert code == 3  # INVALID_ARGUMENT
    assert message.startswith("undecodable application/x-protobuf body: ")

    status, content_type, body = post(receiver, b'{"resourceSpans": [', "application/json")
    assert (status, content_type) == (400, "application/json")
    reply = json.loads(body)
    assert reply["code"] == 3 and reply["message"].startswith("undecodable application/json body")

    tree = json_tree(trace_id="not-hex")
    status, _, body = post(receiver, json.dumps(tree).encode(), "application/json")
    assert (status, json.loads(body)) == (
        400,
        {"code": 3, "message": "undecodable application/json body: traceId 'not-hex' is not hex"},
    )

    status, _, body = post(receiver, b"plain bytes", "application/x-protobuf", "gzip")
    assert (status, _status(body)) == (400, (3, "the body is not valid gzip data"))
    assert [s for s, _ in receiver.refused] == [400, 400, 400, 400]
    assert receiver.received == [] and receiver.snapshot() == []


def test_other_content_types_and_encodings_get_415(receiver: OTLPReceiver) -> None:
    status, content_type, body = post(receiver, b"{}", "text/plain")
    assert (status, content_type) == (415, "application/x-protobuf")
    assert _status(body) == (
        0,
        "content type 'text/plain': send application/x-protobuf or application/json",
    )
    status, _, body = post(receiver, b"{}", "application/json", "br")
    assert (status, json.loads(body)) == (
        415,
        {"code": 0, "message": "content encoding 'br': send gzip, deflate or none"},
    )
    assert receiver.refused == [
        (415, "content type 'text/plain': send application/x-protobuf or application/json"),
        (415, "content encoding 'br': send gzip, deflate or none"),
    ]


def test_metrics_and_logs_are_acknowledged_and_other_paths_are_not_found(
    receiver: OTLPReceiver,
) -> None:
    assert post(receiver, b"", "application/x-protobuf", path="/v1/metrics") == (
        200,
        "application/x-protobuf",
        b"",
    )
    assert post(receiver, b"{}", "application/json", path="/v1/logs")[0] == 200
    assert receiver.dropped == {"/v1/metrics": 1, "/v1/logs": 1}
    status, _, body = post(receiver, b"", "application/x-protobuf", path="/v1/spans")
    assert (status, _status(body)) == (404, (0, "no OTLP endpoint at /v1/spans"))
    with pytest.raises(urllib.error.HTTPError) as got:
        urllib.request.urlopen(receiver.endpoint + "/v1/traces", timeout=5)
    assert got.value.code == 405 and got.value.headers["Allow"] == "POST"


def test_env_points_an_exporter_here(receiver: OTLPReceiver) -> None:
    assert receiver.env() == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    receiver.stop()
    with pytest.raises(RuntimeError, match="not started"):
        receiver.endpoint  # noqa: B018
