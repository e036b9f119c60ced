"""One handler traced by either backend (LAMBDAOPS_TRACE_BACKEND), for
tests/e2e/test_trace_backends_e2e.py: the same code must give the same tree."""

from __future__ import annotations

from typing import Any

from lambdaops import instrument, trace


@trace.capture
def price(items: int) -> int:
    trace.annotate("items", items)
    if items < 0:
        raise ValueError("negative basket")
    return items * 3


@instrument(service="e2e-backends")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with trace.subsegment("prepare") as sub:
        sub.annotate("kind", event.get("kind", "ok"))
        sub.metadata("event", event)
    trace.annotate("order_id", event.get("order_id", "none"))
    return {"total": price(int(event.get("items", 2)))}
