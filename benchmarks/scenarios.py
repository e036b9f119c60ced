"""The same work written for each library, as warm-invocation callables.

The work: one info log line, one business metric, one traced downstream call,
the cold-start metric, and (lambdaops) the outcome record. Each builder
returns a handler; :func:`invoker` turns it into a zero-argument callable that
runs one warm invocation with a fresh trace header and request id, as the
Lambda runtime does. stdout is pointed at /dev/null before any logger is
built, so every library pays for writing its lines.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any], Any]

EVENT: dict[str, Any] = {
    "resource": "/orders",
    "path": "/orders",
    "httpMethod": "POST",
    "headers": {"content-type": "application/json", "x-correlation-id": "c-123"},
    "requestContext": {"requestId": "r-1", "httpMethod": "POST", "stage": "prod"},
    "body": '{"gizmos": 3}',
}


class Context:
    """The Lambda context as awslambdaric builds it (no lambdaops import: bare stays bare)."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = "128"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "2026/01/01/[$LATEST]bench"

    def __init__(self, n: int) -> None:
        self.aws_request_id = f"8f5c2e1a-0000-4000-8000-{n:012d}"
        self._epoch_deadline_time_in_ms = int((time.time() + 3600) * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._epoch_deadline_time_in_ms - int(time.time() * 1000))


_CONTEXTS = [Context(n) for n in range(4096)]


def trace_headers(sampled: bool, n: int = 4096) -> Callable[[], str]:
    """A new trace header per invocation (Lambda sends one), cycling through ``n``."""
    rnd = random.Random(int(sampled))
    made = [
        f"Root=1-{int(time.time()):08x}-{rnd.getrandbits(96):024x};"
        f"Parent={rnd.getrandbits(64):016x};Sampled={int(sampled)}"
        for _ in range(n)
    ]
    return itertools.cycle(made).__next__


# The runtime's call, compiled as if it lived in awslambdaric's bootstrap.py: lambdaops
# treats what a handler called from there returns as the response (and checks that the
# runtime can deliver it), as it does under Lambda.
_RUNTIME_CALL = """
def run():
    environ["_X_AMZN_TRACE_ID"] = next_header()
    return handler(EVENT, next_context())
"""


def invoker(handler: Handler, sampled: bool = False) -> Callable[[], Any]:
    """One warm invocation per call, as the runtime makes it: new trace header, new request id."""
    scope: dict[str, Any] = {
        "environ": os.environ,
        "next_header": trace_headers(sampled),
        "next_context": itertools.cycle(_CONTEXTS).__next__,
        "handler": handler,
        "EVENT": EVENT,
    }
    exec(compile(_RUNTIME_CALL, "/var/runtime/awslambdaric/bootstrap.py", "exec"), scope)
    run: Callable[[], Any] = scope["run"]
    return run


def prepare_environment(daemon_address: str) -> None:
    """What a Lambda function's environment holds, as the libraries read it."""
    os.environ.update(
        {
            "LAMBDA_TASK_ROOT": os.path.dirname(os.path.abspath(__file__)),
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_XRAY_DAEMON_ADDRESS": daemon_address,
            "_HANDLER": "bench.handler",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            "POWERTOOLS_SERVICE_NAME": "bench",
        }
    )


def silence_stdout() -> None:
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives for the whole run


def _downstream(x: int) -> int:
    return x * 7


# -- handlers ----------------------------------------------------------------------------
def bare() -> Handler:
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "total": _downstream(3)}

    return handler


def lambdaops_handler(
    *, logs: bool = True, metric: bool = True, traced: bool = True, **options: Any
) -> Handler:
    from lambdaops import instrument, log, metrics, trace

    downstream = trace.capture(_downstream) if traced else _downstream

    @instrument(service="bench", namespace="Bench", **options)
    def handler(event: Any, context: Any) -> dict[str, Any]:
        if logs:
            log.info("processed order", gizmos=3)
        if metric:
            metrics.add("GizmosProcessed", 3)
        return {"statusCode": 200, "total": downstream(3)}

    return handler  # type: ignore[no-any-return]


def powertools_full() -> Handler:
    """Powertools' Logger + Metrics (with the cold-start metric) + Tracer."""
    from aws_lambda_powertools import Logger, Metrics, Tracer
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_xray_sdk.core.async_recorder import AsyncAWSXRayRecorder

    logger = Logger(service="bench")
    metrics = Metrics(namespace="Bench", service="bench")
    # its own recorder, as when Powertools runs alone (lambdaops configures the global one)
    tracer = Tracer(service="bench", provider=AsyncAWSXRayRecorder(), auto_patch=False)
    downstream = tracer.capture_method(_downstream)

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler
    def handler(event: Any, context: Any) -> dict[str, Any]:
        logger.info("processed order", gizmos=3)
        metrics.add_metric(name="GizmosProcessed", unit=MetricUnit.Count, value=3)
        return {"statusCode": 200, "total": downstream(3)}

    return handler  # type: ignore[no-any-return]


def powertools_full_with_outcome() -> Handler:
    """Powertools' full stack doing all of lambdaops' work: the outcome record too.

    Powertools has no outcome record, so this is what a team writes to get one: a
    decorator that logs how each invocation ended, with duration, billed duration,
    memory, cost, trigger and attempt, through the same Logger (which adds the request
    id, cold start, function and trace id itself). Written for speed: the trigger is
    known, not detected, and the peak RSS is read once per invocation.
    """
    import functools
    from resource import RUSAGE_SELF, getrusage

    from aws_lambda_powertools import Logger

    inner = powertools_full()
    logger = Logger(service="bench")  # the same logger: Powertools shares it by service

    def outcome_record(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            started = time.perf_counter_ns()
            outcome = "error"
            try:
                result = handler(event, context)
                outcome = "success"
                return result
            finally:
                elapsed_us = (time.perf_counter_ns() - started) // 1000
                billed = -(-elapsed_us // 1000) or 1
                memory = int(context.memory_limit_in_mb)
                logger.info(
                    "invocation outcome",
                    outcome=outcome,
                    duration_ms=elapsed_us / 1000,
                    billed_duration_ms=billed,
                    memory_limit_mb=memory,
                    max_memory_used_mb=-(-getrusage(RUSAGE_SELF).ru_maxrss // 1024),
                    estimated_cost_usd=billed / 1000 * memory / 1024 * 0.0000166667 + 2e-7,
                    trigger="api-gateway-rest",
                    attempt=1,
                    correlation_id=event["headers"].get("x-correlation-id"),
                )

        return wrapper

    return outcome_record(inner)


def powertools_logger() -> Handler:
    from aws_lambda_powertools import Logger

    logger = Logger(service="bench")

    @logger.inject_lambda_context
    def handler(event: Any, context: Any) -> dict[str, Any]:
        logger.info("processed order", gizmos=3)
        return {"statusCode": 200, "total": _downstream(3)}

    return handler  # type: ignore[no-any-return]


def embedded_metrics() -> Handler:
    """aws-embedded-metrics' ``metric_scope`` with one metric."""
    from aws_embedded_metrics import metric_scope

    @metric_scope
    def handler(event: Any, context: Any, metrics: Any) -> dict[str, Any]:
        metrics.set_namespace("Bench")
        metrics.put_metric("GizmosProcessed", 3, "Count")
        return {"statusCode": 200, "total": _downstream(3)}

    return handler  # type: ignore[no-any-return]


def structlog_plain() -> Handler:
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
        return {"statusCode": 200, "total": _downstream(3)}

    return handler


#: name -> (handler builder, sampled)
WARM: dict[str, tuple[Callable[[], Handler], bool]] = {
    "bare": (bare, False),
    "lambdaops logs": (lambda: lambdaops_handler(metric=False, traced=False), False),
    "lambdaops metric": (lambda: lambdaops_handler(logs=False, traced=False), False),
    "lambdaops trace, unsampled": (lambda: lambdaops_handler(logs=False, metric=False), False),
    "lambdaops all, unsampled": (lambdaops_handler, False),
    "lambdaops all, sampled": (lambdaops_handler, True),
    "lambdaops all, no outcome record": (lambda: lambdaops_handler(outcome=False), False),
    "lambdaops logs+metric+outcome, trace off": (
        lambda: lambdaops_handler(traced=False, trace=False),
        False,
    ),
    "powertools full, unsampled": (powertools_full, False),
    "powertools full, sampled": (powertools_full, True),
    "powertools full + outcome record (same work)": (powertools_full_with_outcome, False),
    "powertools Logger": (powertools_logger, False),
    "aws-embedded-metrics metric_scope": (embedded_metrics, False),
    "structlog": (structlog_plain, False),
}


def capture_warm(name: str, invocations: int) -> str:
    """What ``invocations`` warm invocations of scenario ``name`` write to stdout, after one
    (the first carries the cold-start metric). Run it in a fresh process: it builds the
    handler with stdout replaced, since some loggers bind ``sys.stdout`` when created."""
    import io

    prepare_environment("127.0.0.1:9")
    build, sampled = WARM[name]
    buf = io.StringIO()
    real = sys.stdout
    sys.stdout = buf
    try:
        call = invoker(build(), sampled)
        call()
        buf.seek(0)
        buf.truncate()
        for _ in range(invocations):
            call()
    finally:
        sys.stdout = real
    return buf.getvalue()
