"""One outcome record per invocation: how it ended, how long, what it cost.

Availability is only answerable per invocation, so every invocation leaves
exactly one JSON line — success, error or timeout — carrying the fields the
Logs Insights queries in ``docs/outcomes.md`` read. The invocation's last
EMF document is merged into the same line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from lambdaops import _output
from lambdaops._config import Config
from lambdaops._render import encode, quote
from lambdaops._scope import Invocation, fragment

#: USD per GB-second by architecture, and per request (us-east-1 list prices).
PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1_000_000
_SEEN_REQUESTS = 1000  # request ids remembered to recognise retries
_MAX_ERROR_MESSAGE = 1024
_NEVER_RETRIED_BY_ID = frozenset(
    (
        "api-gateway-rest",
        "api-gateway-http",
        "lambda-url",
        "alb",
        "sqs",
        "kinesis-stream",
        "dynamodb-stream",
        "kafka",
    )
)
#: Peak RSS is re-read when this much time has passed since the last read (or the
#: invocation took longer): a syscall saved on back-to-back short invocations.
_RSS_REFRESH_NS = 50_000_000


def estimated_cost(billed_ms: int, memory_mb: int, architecture: str) -> float:
    """Lambda's price for one invocation: billed GB-seconds plus the request."""
    gb_seconds = (billed_ms / 1000) * (memory_mb / 1024)
    return gb_seconds * PRICE_PER_GB_SECOND[architecture] + PRICE_PER_REQUEST


def _max_rss_reader() -> Callable[[], int]:
    """A function returning the process's peak RSS in MB (Lambda's Max Memory Used)."""
    try:
        from resource import RUSAGE_SELF, getrusage
    except ImportError:  # pragma: no cover - not a Unix
        return lambda: 0
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes vs KiB

    def read() -> int:
        return -(-getrusage(RUSAGE_SELF).ru_maxrss // scale)

    return read


class OutcomeSignal:
    """Writes the outcome record; recognises retries of the same request id."""

    name = "outcome"

    def __init__(self, config: Config) -> None:
        self.config = config
        self._price = PRICE_PER_GB_SECOND[config.architecture]
        self._seen: dict[str, int] = {}
        self._max_rss_mb = _max_rss_reader()
        self._memory = -1
        self._price_per_ms = 0.0
        self._rss = 0
        self._rss_read_ns = 0

    def start(self, inv: Invocation) -> None:
        # Lambda retries an invocation under the same request id only when it was invoked
        # asynchronously; synchronous sources (API Gateway, ALB, URLs) and pollers (SQS,
        # streams, Kafka, which count redeliveries themselves) never do.
        if not inv.request_id or inv.trigger in _NEVER_RETRIED_BY_ID:
            return
        previous = self._seen.get(inv.request_id)
        if previous is not None:
            inv.attempt = max(inv.attempt, previous + 1)
        self._seen[inv.request_id] = inv.attempt
        if len(self._seen) > _SEEN_REQUESTS:
            del self._seen[next(iter(self._seen))]  # dicts keep insertion order: the oldest

    def finish(self, inv: Invocation) -> None:
        _output.write(self.line(inv))

    def record(self, inv: Invocation) -> dict[str, Any]:
        """The record as a dict (what :meth:`line` writes)."""
        return json.loads(self.line(inv))  # type: ignore[no-any-return]

    def line(self, inv: Invocation) -> str:
        """The outcome record as one JSON line, assembled from pre-encoded members.

        Every invocation pays for this, so the members are formatted directly
        (strings through the C string encoder) instead of building a dict and
        encoding it; only the variable-shaped parts go through the encoder.
        """
        elapsed_us = (inv.ended_ns - inv.started_ns) // 1000
        # milliseconds with three decimals, formatted from integers (exact, and cheap)
        duration_ms = f"{elapsed_us // 1000}.{elapsed_us % 1000:03d}"
        billed = -(-elapsed_us // 1000) or 1  # rounded up to the millisecond, at least 1
        memory = inv.memory_limit_mb
        if memory != self._memory:
            self._memory = memory
            self._price_per_ms = memory / 1024 / 1000 * self._price
        cost = round(billed * self._price_per_ms + PRICE_PER_REQUEST, 12)
        if inv.ended_ns - self._rss_read_ns > _RSS_REFRESH_NS:  # peak RSS only grows
            self._rss = self._max_rss_mb()
            self._rss_read_ns = inv.ended_ns
        rss = self._rss
        # request_id, service, function_name, cold_start, xray_trace_id and
        # correlation_id: the members every log line of the invocation carries too.
        parts = [
            f'{{"outcome":"{inv.outcome}",{inv.fragment or fragment(inv)}'
            f',"duration_ms":{duration_ms},"billed_duration_ms":{billed}'
            f',"memory_limit_mb":{memory},"max_memory_used_mb":{rss}'
            f',"estimated_cost_usd":{cost!r},"trigger":"{inv.trigger}"'
            f',"attempt":{inv.attempt}'
        ]
        error = inv.error
        if error is not None:
            parts.append(f',"error_type":{quote(type(error).__name__)}')
            parts.append(f',"error_message":{quote(_message(error))}')
        elif inv.outcome == "timeout":
            parts.append(
                ',"error_type":"Timeout","error_message":'
                '"the handler was still running at the deadline margin"'
            )
            if inv.stack:
                top = inv.stack[-1]
                stuck = f"{top['function']} ({top['file']}:{top['line']})"
                parts.append(f',"stuck_in":{quote(stuck)},"stack":{encode(inv.stack)}')
        result = inv.result
        if type(result) is dict and isinstance(result.get("batchItemFailures"), list):
            failed = len(result["batchItemFailures"])
            items = inv.batch_size if inv.batch_size is not None else failed
            parts.append(f',"items":{items},"items_failed":{failed}')
        emf = inv.signal_state.pop("emf", None)
        if emf:
            parts.append("," + emf + "}")
        else:
            parts.append("}")
        return "".join(parts)


def _message(error: BaseException) -> str:
    try:
        return str(error)[:_MAX_ERROR_MESSAGE]
    except Exception:
        return f"<unprintable {type(error).__name__}>"
