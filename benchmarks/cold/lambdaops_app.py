"""Cold-start subject: the benchmark's work with lambdaops."""

from lambdaops import instrument, log, metrics, trace


@trace.capture
def _downstream(x: int) -> int:
    return x * 7


@instrument(service="bench", namespace="Bench")
def handler(event, context):  # type: ignore[no-untyped-def]
    log.info("processed order", gizmos=3)
    metrics.add("GizmosProcessed", 3)
    return {"statusCode": 200, "total": _downstream(3)}
