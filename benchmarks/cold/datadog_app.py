"""Cold-start subject: the benchmark's work with Datadog's Lambda wrapper (datadog-lambda)."""

import logging

from datadog_lambda.metric import lambda_metric
from datadog_lambda.wrapper import datadog_lambda_wrapper

logger = logging.getLogger("bench")


def _downstream(x: int) -> int:
    return x * 7


@datadog_lambda_wrapper
def handler(event, context):  # type: ignore[no-untyped-def]
    logger.info("processed order")
    lambda_metric("gizmos.processed", 3)
    return {"statusCode": 200, "total": _downstream(3)}
