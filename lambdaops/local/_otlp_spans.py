"""OpenTelemetry spans as the X-Ray documents the local waterfall draws.

The mapping follows what the AWS X-Ray exporter of the OpenTelemetry Collector shows in
the X-Ray console, so a trace reads the same whichever backend produced it:

- trace id ``5759e988bd862e3fe1be46a994272793`` becomes ``1-5759e988-bd862e3fe1be46a994272793``
  (the first 4 bytes are X-Ray's epoch seconds), span ids are the documents' ids and the
  parent span id their ``parent_id``; a span with a parent that is not SERVER is a
  ``subsegment``;
- the span's name, except for AWS SDK calls (``rpc.system`` ``aws-api``), which are named
  after the service (``rpc.service``) with the operation (``rpc.method``) in
  ``aws.operation``, in namespace ``aws``;
- status ERROR is a ``fault`` (``error`` for an HTTP 4xx, with ``throttle`` for 429), and
  ``exception`` events are the ``cause``'s exceptions, Python tracebacks parsed into frames;
- the attributes named by ``aws.xray.annotations`` are annotations; an
  ``aws.xray.metadata.<namespace>`` attribute holding a JSON object is that namespace's
  metadata; every other attribute is metadata in namespace ``default``, and so are the
  resource's attributes (as ``otel.resource.<key>``) on a local root span.

The protobuf messages come in as ``Any``-typed objects from opentelemetry-proto, which is
imported only by the receiver; nothing here imports it.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from lambdaops.local._traces import Document

__all__ = ["hex_ids_to_base64", "request_documents", "span_document", "xray_trace_id"]

# opentelemetry.proto.trace.v1.Span.SpanKind and Status.StatusCode
_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_SERVER, _CLIENT, _PRODUCER = 2, 3, 4
_STATUS_ERROR = 2

_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})*$")
_FRAME = re.compile(r'^  File "(?P<path>.*)", line (?P<line>\d+), in (?P<label>.*)$')
_ANNOTATIONS = "aws.xray.annotations"
_METADATA_PREFIX = "aws.xray.metadata."
# The OTLP/JSON fields holding trace and span ids (hex there, bytes in the message).
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def xray_trace_id(trace_id: bytes) -> str:
    """``1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy`` for a 16-byte OpenTelemetry trace id."""
    text = trace_id.hex()
    return f"1-{text[:8]}-{text[8:]}"


def hex_ids_to_base64(request: Any) -> None:
    """Rewrite OTLP/JSON's hex ids in place to the base64 the protobuf JSON mapping reads.

    OTLP/JSON writes ``traceId``/``spanId``/``parentSpanId`` (spans and links) as
    case-insensitive hex; ``ValueError`` for one that is not.
    """
    if not isinstance(request, dict):
        raise ValueError("the body is not a JSON object")
    for resource_spans in _items(request, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans"):
                _rewrite_ids(span)
                for link in _items(span, "links"):
                    _rewrite_ids(link)


def _items(obj: Any, *keys: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    for key in keys:
        value = obj.get(key)
        if isinstance(value, list):
            return value
    return []


def _rewrite_ids(obj: Any) -> None:
    if not isinstance(obj, dict):
        return
    for key in _ID_FIELDS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _HEX.match(value):
            raise ValueError(f"{key} {str(value)[:40]!r} is not hex")
        obj[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")


def request_documents(request: Any) -> tuple[list[Document], list[str]]:
    """The documents for every span of an ``ExportTraceServiceRequest``, and why any was
    rejected (a trace id that is not 16 bytes, a span id that is not 8)."""
    docs: list[Document] = []
    rejected: list[str] = []
    for resource_spans in request.resource_spans:
        resource = attribute_map(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _id_problem(span)
                if problem:
                    rejected.append(f"span {span.name!r}: {problem}")
                    continue
                docs.append(span_document(span, resource, scope_spans.scope.name))
    return docs, rejected


def _id_problem(span: Any) -> str:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"trace id {span.trace_id.hex()!r} must be 16 bytes, not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span id {span.span_id.hex()!r} must be 8 bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"parent span id {span.parent_span_id.hex()!r} must be 8 bytes"
    return ""


def span_document(span: Any, resource: dict[str, Any], scope: str = "") -> Document:
    """One span as an X-Ray (sub)segment document (see the module's docstring)."""
    attrs = attribute_map(span.attributes)
    kind = int(span.kind)
    parent = span.parent_span_id.hex() if any(span.parent_span_id) else None
    doc: Document = {
        "id": span.span_id.hex(),
        "trace_id": xray_trace_id(span.trace_id),
        "name": span.name or "span",
        "start_time": _seconds(span.start_time_unix_nano),
    }
    if span.end_time_unix_nano:
        doc["end_time"] = _seconds(span.end_time_unix_nano)
    else:
        doc["in_progress"] = True
    if parent is not None:
        doc["parent_id"] = parent
        if kind != _SERVER:
            doc["type"] = "subsegment"
    if attrs.get("rpc.system") == "aws-api":
        doc["name"] = str(attrs.get("rpc.service") or doc["name"])
        doc["namespace"] = "aws"
        if attrs.get("rpc.method"):
            doc["aws"] = {"operation": str(attrs["rpc.method"])}
    elif kind == _CLIENT:
        doc["namespace"] = "remote"
    http_status = attrs.get("http.response.status_code", attrs.get("http.status_code"))
    if isinstance(http_status, int):
        doc["http"] = {"response": {"status": http_status}}
    doc.update(_faults(span, http_status))
    cause = _cause(span, remote=kind in (_CLIENT, _PRODUCER))
    if cause is not None:
        doc["cause"] = cause
    annotations, metadata = _annotations_and_metadata(attrs)
    if parent is None or kind == _SERVER:
        for key, value in resource.items():
            metadata.setdefault("default", {})[f"otel.resource.{key}"] = value
    if annotations:
        doc["annotations"] = annotations
    if metadata:
        doc["metadata"] = metadata
    doc["otel"] = {"name": span.name, "kind": _KINDS.get(kind, str(kind)), "scope": scope}
    return doc


def _seconds(unix_nano: int) -> float:
    # int / int rounds once, correctly: the float nearest the exact time.
    return int(unix_nano) / 1_000_000_000


def _faults(span: Any, http_status: Any) -> dict[str, bool]:
    """X-Ray's flags: 4xx is an error (429 also a throttle), 5xx or status ERROR a fault."""
    if isinstance(http_status, int) and 400 <= http_status <= 499:
        return {"error": True, "throttle": True} if http_status == 429 else {"error": True}
    if isinstance(http_status, int) and 500 <= http_status <= 599:
        return {"fault": True}
    return {"fault": True} if span.status.code == _STATUS_ERROR else {}


def _cause(span: Any, remote: bool) -> dict[str, Any] | None:
    exceptions: list[dict[str, Any]] = []
    for event in span.events:
        if event.name != "exception":
            continue
        attrs = attribute_map(event.attributes)
        exception: dict[str, Any] = {
            "type": str(attrs.get("exception.type", "")),
            "message": str(attrs.get("exception.message", "")),
        }
        if remote:
            exception["remote"] = True
        stack = python_stack(str(attrs.get("exception.stacktrace", "")))
        if stack:
            exception["stack"] = stack
        exceptions.append(exception)
    if not exceptions and span.status.code == _STATUS_ERROR and span.status.message:
        exceptions.append({"message": span.status.message})
    return {"exceptions": exceptions} if exceptions else None


def python_stack(stacktrace: str) -> list[dict[str, Any]]:
    """The frames of a Python traceback, innermost first, as X-Ray's ``stack`` lists them."""
    frames = []
    for line in stacktrace.splitlines():
        match = _FRAME.match(line)
        if match:
            frames.append(
                {"path": match["path"], "line": int(match["line"]), "label": match["label"]}
            )
    return frames[::-1]


def _annotations_and_metadata(
    attrs: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    keys = attrs.get(_ANNOTATIONS)
    indexed = {k for k in keys if isinstance(k, str)} if isinstance(keys, list) else set()
    annotations: dict[str, Any] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key == _ANNOTATIONS:
            continue
        if key in indexed and isinstance(value, (str, int, float, bool)):
            annotations[key] = value
            continue
        if key.startswith(_METADATA_PREFIX) and isinstance(value, str):
            namespace = key[len(_METADATA_PREFIX) :]
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and namespace:
                metadata.setdefault(namespace, {}).update(parsed)
                continue
        metadata.setdefault("default", {})[key] = value
    return annotations, metadata


def attribute_map(key_values: Any) -> dict[str, Any]:
    """OTLP ``KeyValue`` list as a dict of plain Python values."""
    return {kv.key: any_value(kv.value) for kv in key_values}


def any_value(value: Any) -> Any:
    """An OTLP ``AnyValue`` as a plain Python value (bytes as hex, so it stays JSON)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attribute_map(value.kvlist_value.values)
    if which == "bytes_value":
        return bytes(value.bytes_value).hex()
    return getattr(value, which)
