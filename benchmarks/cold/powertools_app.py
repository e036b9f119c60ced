"""Cold-start subject: the benchmark's work with Powertools' Logger, Metrics and Tracer."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="bench")
metrics = Metrics(namespace="Bench", service="bench")
tracer = Tracer(service="bench")


@tracer.capture_method
def _downstream(x: int) -> int:
    return x * 7


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def handler(event, context):  # type: ignore[no-untyped-def]
    logger.info("processed order", gizmos=3)
    metrics.add_metric(name="GizmosProcessed", unit=MetricUnit.Count, value=3)
    return {"statusCode": 200, "total": _downstream(3)}
