"""A function traced with the OpenTelemetry SDK alone, exporting OTLP/HTTP where the
environment says (``OTEL_EXPORTER_OTLP_ENDPOINT``), its handler span under Lambda's trace
header as the AWS X-Ray propagator would put it."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

_provider = TracerProvider(resource=Resource({"service.name": "otel-app"}))
_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
_tracer = _provider.get_tracer("otel_app")


def _lambda_parent() -> Context:
    """Lambda's ``Root``/``Parent``/``Sampled`` as the remote parent of the handler span."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    _, epoch, unique = fields["Root"].split("-")
    parent = SpanContext(
        trace_id=int(epoch + unique, 16),
        span_id=int(fields["Parent"], 16),
        is_remote=True,
        trace_flags=TraceFlags(1 if fields.get("Sampled") == "1" else 0),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def handler(event: Any, context: Any) -> dict[str, Any]:
    with _tracer.start_as_current_span(
        "## handler", context=_lambda_parent(), kind=SpanKind.SERVER
    ) as span:
        span.set_attribute("aws.xray.annotations", ["kind"])
        span.set_attribute("kind", str(event.get("kind")))
        with _tracer.start_as_current_span("prepare"):
            pass
        if event.get("kind") == "error":
            raise ValueError("requested failure")
    return {
        "endpoint": os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "protocol": os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL"),
    }
