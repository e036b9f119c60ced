"""A handler for the end-to-end outcome/metrics tests, run by awslambdaric."""

from __future__ import annotations

import time
from typing import Any

from lambdaops import instrument, log, metrics


def wait_for_inventory(seconds: float) -> None:
    """Stands for a downstream call that hangs."""
    time.sleep(seconds)


@instrument(service="e2e-outcome", namespace="E2E")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    kind = event.get("kind")
    log.debug("handling", kind=kind)
    metrics.add("GizmosProcessed", event.get("gizmos", 1))
    if kind == "error":
        raise ValueError("no gizmos today")
    if kind == "many":
        for i in range(150):
            metrics.add(f"metric_{i}", i, unit="Milliseconds")
    if kind == "hang":
        wait_for_inventory(10)
    return {"kind": kind}
