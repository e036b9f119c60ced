"""One outcome record per invocation: how it ended, how long, what it cost.

Availability is only answerable per invocation, so every invocation leaves
exactly one JSON line — success, error or timeout — carrying the fields the
Logs Insights queries in ``docs/outcomes.md`` read. The invocation's last
EMF document is merged into the same line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from lambdaops import _output, _redact
from lambdaops._config import Config
from lambdaops._event_info import RETRY, dig
from lambdaops._render import THREE_DIGITS, encode, quote
from lambdaops._response import HTTP_TRIGGERS, status_code
from lambdaops._scope import Invocation, fragment

#: USD per GB-second by architecture, and per request (us-east-1 list prices).
PRICE_PER_GB_SECOND = {"x86_64": 0.0000166667, "arm64": 0.0000133334}
PRICE_PER_REQUEST = 0.20 / 1_000_000
_SEEN_REQUESTS = 1000  # request ids remembered to recognise retries
_MAX_ERROR_MESSAGE = 1024
#: Triggers whose failed invocations Lambda does not repeat under the same request id
#: (``_event_info.RETRY``: synchronous callers and event source mappings).
_NEVER_RETRIED_BY_ID = frozenset(t for t, kind in RETRY.items() if kind != "async")
#: Where a batch source's per-item ids sit in its records, for ``batchItemFailures``.
_ITEM_IDS = {
    "sqs": ("messageId",),
    "kinesis-stream": ("kinesis", "sequenceNumber"),
    "dynamodb-stream": ("dynamodb", "SequenceNumber"),
}
#: Streams retry from the first failed record on: everything after it fails with it.
_CHECKPOINTED = frozenset(("kinesis-stream", "dynamodb-stream"))
#: Peak RSS is re-read when this much time has passed since the last read (or the
#: invocation took longer): a syscall saved on back-to-back short invocations.
_RSS_REFRESH_NS = 50_000_000
#: Invocations shorter than this (µs) report their duration as cpu_ms: reading the CPU clock
#: would cost more than they take to matter (a syscall, ~1 µs of a warm invocation's ~7).
_CPU_READ_US = 1000


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


#: On Lambda Managed Instances the price is the EC2 instance plus a management fee, billed
#: apart: the record states the request charge only, and says why.
_MANAGED_COST = (
    f"{round(PRICE_PER_REQUEST, 12)!r}"
    ',"cost_basis":"requests only: Managed Instances bill the instance"'
)


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
        #: estimated_cost_usd as text by billed milliseconds, for the current memory size
        self._costs: dict[int, str] = {}
        self._rss = 0
        self._rss_read_ns = 0
        #: Process CPU time where the last invocation ended (None before the first).
        self._cpu_mark: int | None = None
        #: Lambda Managed Instances bill the instance, not GB-seconds: only the request
        #: charge is lambdaops' to state (AWS_LAMBDA_MAX_CONCURRENCY is set there alone).
        self._managed = bool(os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY"))

    #: Nothing to do as an invocation starts: the record is written as it ends.
    start = None

    def _attempt(self, inv: Invocation) -> None:
        """Count this invocation among earlier ones of the same request id here.

        Called only for triggers not in ``_NEVER_RETRIED_BY_ID``: Lambda retries under
        the same request id only asynchronous invocations; synchronous sources (API
        Gateway, ALB, URLs, Cognito, ...) and pollers (SQS, streams, Kafka, MQ, which
        say in the event when they redeliver) never do.
        """
        if not inv.request_id:
            return
        previous = self._seen.get(inv.request_id)
        if previous is not None:
            inv.attempt = max(inv.attempt, previous + 1)
        self._seen[inv.request_id] = inv.attempt
        if len(self._seen) > _SEEN_REQUESTS:
            del self._seen[next(iter(self._seen))]  # dicts keep insertion order: the oldest

    def finish(self, inv: Invocation) -> None:
        if inv.trigger not in _NEVER_RETRIED_BY_ID and inv.supersedes is None:
            self._attempt(inv)  # a record superseding a timeout is the same attempt
        _output.write_text(self.text(inv))

    def record(self, inv: Invocation) -> dict[str, Any]:
        """The record as a dict (what :meth:`finish` writes, without counting a retry)."""
        return json.loads(self.text(inv))  # type: ignore[no-any-return]

    def text(self, inv: Invocation) -> str:
        """The outcome record as one JSON line with its newline, from pre-encoded members.

        Every invocation pays for this, so the members are formatted directly
        (strings through the C string encoder, numbers from cached text) instead
        of building a dict and encoding it.
        """
        elapsed_us = (inv.ended_ns - inv.started_ns) // 1000
        billed = -(-elapsed_us // 1000) or 1  # rounded up to the millisecond, at least 1
        if inv.memory_limit_mb != self._memory:
            self._memory = inv.memory_limit_mb
            self._price_per_ms = self._memory / 1024 / 1000 * self._price
            self._costs.clear()
        cost = self._costs.get(billed)
        if cost is None:
            cost = repr(round(billed * self._price_per_ms + PRICE_PER_REQUEST, 12))
            if len(self._costs) >= 1024:
                self._costs.clear()
            self._costs[billed] = cost
        mark = self._cpu_mark
        if elapsed_us < _CPU_READ_US and mark is not None:
            # Too short to pay for reading the CPU clock (a syscall, ~1 µs): its CPU is at
            # most its wall time, which the next reading then leaves out.
            cpu_us = elapsed_us
            if inv.outcome != "timeout":
                self._cpu_mark = mark + elapsed_us * 1000
        else:
            cpu_ns = time.process_time_ns()  # one read per invocation, from the last mark
            if mark is None:
                mark = getattr(inv.lifecycle, "cold_cpu_ns", None) or cpu_ns
            if inv.outcome != "timeout":  # a record superseding the timeout counts from the start
                self._cpu_mark = cpu_ns
            cpu_us = max(0, cpu_ns - mark) // 1000
        if self._managed:
            cost = _MANAGED_COST
        if inv.ended_ns - self._rss_read_ns > _RSS_REFRESH_NS:  # peak RSS only grows
            self._rss = self._max_rss_mb()
            self._rss_read_ns = inv.ended_ns
        # service, function_name, cold_start, request_id, xray_trace_id and
        # correlation_id: the members every log line of the invocation carries too.
        line = (
            f'{{"lambdaops":"outcome","outcome":"{inv.outcome}",{inv.fragment or fragment(inv)}'
            f',"duration_ms":{elapsed_us // 1000}.{THREE_DIGITS[elapsed_us % 1000]}'
            f',"billed_duration_ms":{billed},"memory_limit_mb":{self._memory}'
            f',"max_memory_used_mb":{self._rss}'
            f',"cpu_ms":{cpu_us // 1000}.{THREE_DIGITS[cpu_us % 1000]}'
            f',"estimated_cost_usd":{cost}'
            f',"trigger":"{inv.trigger}","attempt":{inv.attempt}'
        )
        error = inv.error
        result = inv.result
        if error is not None:
            line += (
                f',"error_type":{quote(type(error).__name__)}'
                f',"error_message":{quote(_message(error))}'
            )
        elif inv.failure is not None:
            failure = inv.failure
            line += (
                f',"error_type":{quote(failure.error_type)}'
                f',"error_message":{quote(failure.message)}'
            )
        elif inv.outcome == "timeout":
            line += (
                ',"error_type":"Timeout","error_message":'
                '"the handler was still running at the deadline margin"'
            )
            if inv.stack:
                top = inv.stack[-1]
                stuck = f"{top['function']} ({top['file']}:{top['line']})"
                line += f',"stuck_in":{quote(stuck)},"stack":{encode(inv.stack)}'
        elif inv.trigger in HTTP_TRIGGERS:
            code = result.get("statusCode") if type(result) is dict else None
            if type(code) is not int:
                code = status_code(inv.trigger, result)
            line += f',"status_code":{code}'
        if inv.supersedes is not None:
            line += f',"supersedes":"{inv.supersedes}"'
        if type(result) is dict and (inv.batch_size is not None or "batchItemFailures" in result):
            counts = _item_counts(inv, result)
            if counts is not None:
                line += f',"items":{counts[0]},"items_failed":{counts[1]}'
        emf = inv.emf
        if emf is not None:
            inv.emf = None
            return f"{line},{emf}}}\n"
        return line + "}\n"


def _item_counts(inv: Invocation, result: dict[Any, Any]) -> tuple[int, int] | None:
    """Items in the batch and how many failed, from a response that reports per item.

    ``batchItemFailures`` (SQS, Kinesis, DynamoDB streams, ...) counts as Lambda reads
    it: an identifier that is empty or not in the batch fails the whole batch, and a
    stream retries from its first failed record on. Firehose's ``records[].result``
    counts a record not ``Ok`` or ``Dropped`` (or missing) as failed, S3 Batch
    Operations' ``results[].resultCode`` anything but ``Succeeded``.
    """
    trigger = inv.trigger
    size = inv.batch_size
    if "batchItemFailures" in result:
        failures = result["batchItemFailures"]
        if not isinstance(failures, list):
            return None
        items = size if size is not None else len(failures)
        path = _ITEM_IDS.get(trigger)
        if path is None or not failures:
            return items, min(len(failures), items)
        return items, _failed_items(inv.event, path, failures, items, trigger in _CHECKPOINTED)
    if size is None:
        return None
    if trigger == "firehose":
        records = result.get("records")
        if not isinstance(records, list):
            return None
        done = sum(1 for r in records if dig(r, "result") in ("Ok", "Dropped"))
        return size, max(size - done, 0)
    if trigger == "s3-batch":
        results = result.get("results")
        if not isinstance(results, list):
            return None
        failed = sum(1 for r in results if dig(r, "resultCode") != "Succeeded")
        return size, min(failed, size)
    return None


def _failed_items(
    event: Any, path: tuple[str, ...], failures: list[Any], items: int, checkpointed: bool
) -> int:
    """How many of the batch's items Lambda will deliver again for these failures."""
    records = event.get("Records") if isinstance(event, dict) else None
    ids = [dig(r, *path) for r in records] if isinstance(records, list) else []
    failed = set()
    for failure in failures:
        key = dig(failure, "itemIdentifier")
        if not isinstance(key, str) or not key or key not in ids:
            return items  # Lambda reads the whole response as a failure
        failed.add(key)
    if checkpointed:
        return items - min(ids.index(key) for key in failed)
    return min(len(failed), items)


def _message(error: BaseException) -> str:
    try:
        text = str(error)
        if _redact.armed:  # before the cut, which could leave a secret's first characters
            text = _redact.redact(text)
        return text[:_MAX_ERROR_MESSAGE]
    except Exception:
        return f"<unprintable {type(error).__name__}>"
