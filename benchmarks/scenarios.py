"""The same work written for each library, as warm-invocation callables.

Each builder returns a zero-argument callable running one invocation of a
handler that does the scenario's work. stdout is pointed at /dev/null before
any logger is built, so every library pays for writing its lines.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from lambdaops.testing import LambdaContext

EVENT: dict[str, Any] = {
    "resource": "/orders",
    "path": "/orders",
    "httpMethod": "POST",
    "headers": {"content-type": "application/json", "x-correlation-id": "c-123"},
    "requestContext": {"requestId": "r-1", "httpMethod": "POST", "stage": "prod"},
    "body": '{"gizmos": 3}',
}
CONTEXT = LambdaContext(function_name="bench", timeout_s=3600)
TRACE_UNSAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


def silence_stdout() -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives for the whole run


def bare() -> Callable[[], object]:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": 200}

    return lambda: handler(EVENT, CONTEXT)


def lambdaops_logs() -> Callable[[], object]:
    from lambdaops import instrument, log

    @instrument(service="bench")
    def handler(event: Any, context: Any) -> dict[str, Any]:
        log.info("processed order", gizmos=3)
        return {"statusCode": 200}

    return lambda: handler(EVENT, CONTEXT)


def lambdaops_full() -> Callable[[], object]:
    from lambdaops import instrument, log, metrics

    @instrument(service="bench")
    def handler(event: Any, context: Any) -> dict[str, Any]:
        log.info("processed order", gizmos=3)
        metrics.add("GizmosProcessed", 3)
        return {"statusCode": 200}

    return lambda: handler(EVENT, CONTEXT)


def structlog_plain() -> Callable[[], object]:
    import structlog

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    logger = structlog.get_logger()

    def handler(event: Any, context: Any) -> dict[str, Any]:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=context.aws_request_id, function_name=context.function_name
        )
        logger.info("processed order", gizmos=3)
        return {"statusCode": 200}

    return lambda: handler(EVENT, CONTEXT)


def powertools_logger() -> Callable[[], object]:
    from aws_lambda_powertools import Logger

    logger = Logger(service="bench")

    @logger.inject_lambda_context
    def handler(event: Any, context: Any) -> dict[str, Any]:
        logger.info("processed order", gizmos=3)
        return {"statusCode": 200}

    return lambda: handler(EVENT, CONTEXT)


#: Scenario name -> builder; later signals add rows here.
WARM_LOGS: dict[str, Callable[[], Callable[[], object]]] = {
    "bare": bare,
    "lambdaops logs": lambdaops_logs,
    "lambdaops logs+metric+outcome": lambdaops_full,
    "structlog": structlog_plain,
    "powertools Logger": powertools_logger,
}
