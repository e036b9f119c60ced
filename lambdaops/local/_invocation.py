"""One invocation as the local Runtime API sees it: queued, in flight, and its result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdaops.local._platform import PlatformOutcome


@dataclass
class InvocationResult:
    """What the platform saw of one invocation: outcome, payload or error, and timings.

    ``error`` is the runtime's parsed error body for "error" and "init_error"; for
    "timeout" and "crashed" it is the error Lambda itself would report
    (``Sandbox.Timedout``, ``Runtime.ExitError``).
    """

    request_id: str
    status: str  # "success" | "error" | "timeout" | "init_error" | "crashed"
    payload: bytes | None
    error: dict[str, Any] | None
    error_type: str | None
    delivered_at: float
    finished_at: float
    deadline_ms: int
    #: What Lambda's platform records say of it (set by Environment; None from a bare API).
    platform: PlatformOutcome | None = None
    #: The runtime's X-Ray error cause (``Lambda-Runtime-Function-XRay-Error-Cause``).
    xray_error_cause: str | None = None

    @property
    def duration_ms(self) -> float:
        """Time the runtime held the event, the figure Lambda bills as Duration."""
        return (self.finished_at - self.delivered_at) * 1000.0

    def json(self) -> Any:
        """The response payload decoded as JSON, as a Lambda Invoke caller would read it."""
        if self.payload is None:
            raise ValueError(f"invocation {self.request_id} has no payload (status {self.status})")
        return json.loads(self.payload)


@dataclass(eq=False)
class Invocation:
    """Mutable book-keeping for a queued or in-flight event, guarded by the API's lock."""

    request_id: str
    body: bytes
    timeout_s: float
    queued_at: float
    trace_header: str | None
    client_context: str | None
    delivered_at: float | None = None
    deadline_ms: int = 0
    result: InvocationResult | None = None


def platform_error(inv: Invocation, error_type: str, message: str) -> dict[str, Any]:
    return {
        "errorType": error_type,
        "errorMessage": f"RequestId: {inv.request_id} Error: {message}",
    }


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_error(body: bytes, error_type: str | None) -> dict[str, Any]:
    """The runtime's error body as a dict, tolerating runtimes that post non-JSON."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return {"errorMessage": body.decode("utf-8", "replace"), "errorType": error_type or "Unknown"}
