"""Which tracing backend a process uses: the X-Ray SDK's or OpenTelemetry's.

Chosen once, on the first sampled invocation, from ``trace_backend``; ``auto`` picks
OpenTelemetry when a tracer provider is configured — by the ADOT Lambda layer's
``AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument`` or by code that set one — without
importing OpenTelemetry to find out.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def choose(choice: str) -> str:
    """``xray`` or ``otel`` for the option's value."""
    if choice != "auto":
        return choice
    if os.environ.get("AWS_LAMBDA_EXEC_WRAPPER", "").endswith("otel-instrument"):
        return "otel"
    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return "xray"
    return "xray" if isinstance(api.get_tracer_provider(), api.ProxyTracerProvider) else "otel"


def load(choice: str) -> Any:
    """The backend module for ``choice``, set up; raises if its packages are missing."""
    if choose(choice) == "otel":
        from lambdaops import _otel as backend
    else:
        from lambdaops import _xray as backend  # type: ignore[no-redef]
    backend.setup()
    return backend
