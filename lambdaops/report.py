"""``lambdaops report``: availability, latency, cold starts and cost from a function's logs.

Reads the lines a function wrote — as they are, or as CloudWatch exports and
``aws logs tail`` print them (a timestamp and stream name first) — in Lambda's
text or JSON log format. Lambda's platform records count the invocations,
because Lambda writes them whatever killed an invocation; lambdaops' outcome
records (``"lambdaops":"outcome"``) say how each ended from inside, and fill
in the figures only they carry (handler duration, batch items, HTTP status,
cost). How the two are reconciled: :mod:`lambdaops._reconcile`; one function
out of a log of several: :mod:`lambdaops._by_function`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from lambdaops._by_function import Owners, select
from lambdaops._memory_advice import Sample, advise
from lambdaops._platform_records import InitReport, Metrics, Outcome, Parsed, parse
from lambdaops._reconcile import Invocation, reconcile
from lambdaops._report_table import format_table, plot

__all__ = [
    "HTTP_TRIGGERS",
    "FunctionFilter",
    "Report",
    "build",
    "format_table",
    "plot",
    "write_html",
]

_OWN_METRICS = frozenset({"ColdStart", "Timeout"})
#: Triggers whose response is an HTTP response with a ``statusCode``.
HTTP_TRIGGERS = frozenset({"api-gateway-rest", "api-gateway-http", "alb", "lambda-url"})
_HTTP_CLASSES = ("2xx", "3xx", "4xx", "5xx")


class FunctionFilter(NamedTuple):
    """``--function``: the function reported, and the invocations left out of it."""

    name: str
    other: int  # other functions' invocations
    unknown: int  # invocations the log does not tie to any function


@dataclass
class Report:
    """The figures ``lambdaops report`` prints."""

    invocations: int = 0
    successes: int = 0
    errors: int = 0
    timeouts: int = 0
    cold_starts: int = 0
    init_durations_ms: list[float] = field(default_factory=list)
    durations_ms: list[float] = field(default_factory=list)
    requests: dict[str, bool] = field(default_factory=dict)
    by_attempt: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    items: int = 0
    items_failed: int = 0
    cost_usd: float = 0.0
    metrics: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    #: Each attempt's outcome, in log order (for the availability-over-time plot).
    outcomes: list[str] = field(default_factory=list)
    #: Failed attempts by error type (the handler's exception, or Lambda's ``Runtime.*``).
    failures_by_cause: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: Attempts counted from Lambda's platform records alone (no outcome record).
    platform_only: int = 0
    init_failures: list[InitReport] = field(default_factory=list)
    #: Attempts failed by a failed init that Lambda re-ran for them.
    init_failed_invocations: int = 0
    #: HTTP responses by status class, and HTTP-triggered attempts that failed.
    http: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((*_HTTP_CLASSES, "failed"), 0)
    )
    #: Where timed-out handlers were stuck (lambdaops' ``stuck_in`` or a faulthandler dump).
    stuck_in: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: The runtime's error lines that name no request and could belong to several open
    #: invocations (a log without stream names): counted nowhere rather than guessed.
    unattributed_error_lines: int = 0
    function: FunctionFilter | None = None
    #: (duration, cpu, peak memory, memory size) of records carrying cpu_ms, for the advice.
    cpu_samples: list[Sample] = field(default_factory=list)
    #: Set when records say their cost is the request charge only (Managed Instances).
    cost_basis: str | None = None

    # -- derived figures ------------------------------------------------------
    @property
    def availability(self) -> float | None:
        """Successful attempts / attempts."""
        return self.successes / self.invocations if self.invocations else None

    @property
    def request_availability(self) -> float | None:
        """Requests that eventually succeeded / distinct requests (retries grouped)."""
        if not self.requests:
            return None
        return sum(self.requests.values()) / len(self.requests)

    @property
    def item_availability(self) -> float | None:
        return (self.items - self.items_failed) / self.items if self.items else None

    @property
    def http_availability(self) -> float | None:
        """HTTP responses that are neither 5xx nor a failed invocation / HTTP attempts."""
        total = sum(self.http.values())
        return (total - self.http["5xx"] - self.http["failed"]) / total if total else None

    def percentile(self, q: float) -> float | None:
        """Nearest-rank percentile of the handler durations."""
        if not self.durations_ms:
            return None
        ordered = sorted(self.durations_ms)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1]

    def as_dict(self) -> dict[str, Any]:
        mean_init = (
            sum(self.init_durations_ms) / len(self.init_durations_ms)
            if self.init_durations_ms
            else None
        )
        return {
            "invocations": self.invocations,
            "successes": self.successes,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "availability": _round(self.availability),
            "request_availability": _round(self.request_availability),
            "requests": len(self.requests),
            "availability_by_attempt": {
                str(attempt): _round(ok / total)
                for attempt, (ok, total) in sorted(self.by_attempt.items())
            },
            "cold_starts": self.cold_starts,
            "cold_start_rate": _round(self.cold_starts / self.invocations)
            if self.invocations
            else None,
            "mean_init_duration_ms": _round(mean_init, 3),
            "duration_ms": {
                "p50": self.percentile(50),
                "p95": self.percentile(95),
                "p99": self.percentile(99),
                "max": max(self.durations_ms) if self.durations_ms else None,
            },
            "batch_items": self.items,
            "batch_items_failed": self.items_failed,
            "batch_item_availability": _round(self.item_availability),
            "estimated_cost_usd": _round(self.cost_usd, 12),
            "cost_per_million_usd": _round(self.cost_usd / self.invocations * 1e6, 6)
            if self.invocations
            else None,
            "cost_basis": self.cost_basis,
            "memory_advice": self.memory_advice(),
            "metrics": dict(sorted(self.metrics.items())),
            "failures_by_cause": _by_count(self.failures_by_cause),
            "platform_only": self.platform_only,
            "init_failures": {
                "total": len(self.init_failures),
                "by_phase": _by_count(_count(f.phase for f in self.init_failures)),
                "by_cause": _by_count(_count(f.cause for f in self.init_failures)),
                "failed_invocations": self.init_failed_invocations,
            },
            "http": {
                "responses": sum(self.http.values()),
                **self.http,
                "availability": _round(self.http_availability),
            },
            "stuck_in": _by_count(self.stuck_in),
            "unattributed_error_lines": self.unattributed_error_lines,
            "function": None
            if self.function is None
            else {
                "name": self.function.name,
                "other_invocations": self.function.other,
                "unknown_invocations": self.function.unknown,
            },
        }

    def memory_advice(self) -> dict[str, Any]:
        """The size the records suggest (``lambdaops._memory_advice`` says how)."""
        if self.cost_basis is not None:
            return {"recommended_mb": None, "reason": f"not billed by GB-second: {self.cost_basis}"}
        from lambdaops._outcome import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST

        return advise(self.cpu_samples, PRICE_PER_GB_SECOND["x86_64"], PRICE_PER_REQUEST)


def write_html(report: Report, path: str) -> None:
    """``--html``: the figures as one self-contained page (the writer loads only then)."""
    from lambdaops._report_html import write

    write(report, path)


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _count(names: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for name in names:
        counts[name] += 1
    return counts


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first, then by name: the order a reader wants, stable for tests."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def build(lines: Iterable[str], function: str | None = None) -> Report:
    """Aggregate a function's log lines into a :class:`Report`.

    ``function``: count only that function's invocations and metrics, for a log of
    several functions (what can be told apart: :mod:`lambdaops._by_function`).
    """
    report = Report()
    parsed = list(parse(lines))
    found = reconcile(parsed)
    report.unattributed_error_lines = found.unattributed_error_lines
    invocations = found.invocations
    report.init_failures = [f.report for f in found.init_failures]
    owners = Owners(found)
    if function is not None:
        chosen = select(found, owners, function)
        invocations, report.init_failures = chosen.invocations, chosen.init_failures
        report.function = FunctionFilter(function, chosen.other, chosen.unknown)
    _sum_metrics(report, parsed, owners, function)
    seen: dict[str, int] = defaultdict(int)
    for inv in invocations:
        seen[inv.request_id] += 1
        _add_invocation(report, inv, seen[inv.request_id])
    return report


def documents(
    parsed: Iterable[Parsed], owners: Owners | None, function: str | None
) -> Iterator[tuple[Outcome | Metrics, dict[str, Any]]]:
    """Each outcome record and EMF document (of ``function``'s, when given), with its event."""
    for item in parsed:
        event = item.event
        if isinstance(event, Outcome):
            doc = event.record
        elif isinstance(event, Metrics):
            doc = event.document
        else:
            continue
        if function is None or owners is None or owners.document(item.stream, doc) == function:
            yield event, doc


def _sum_metrics(
    report: Report, parsed: list[Parsed], owners: Owners, function: str | None
) -> None:
    """The business metrics of every EMF document (of ``function``'s, when given)."""
    for _, doc in documents(parsed, owners, function):
        _add_metrics(report, doc)


def _add_metrics(report: Report, doc: dict[str, Any]) -> None:
    if "_aws" not in doc:
        return
    try:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                if name in _OWN_METRICS:
                    continue
                value = doc.get(name)
                values = value if isinstance(value, list) else [value]
                report.metrics[name] += sum(
                    v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
                )
    except (KeyError, TypeError):
        return


def _add_invocation(report: Report, inv: Invocation, occurrence: int) -> None:
    final = inv.final()
    rec = final.record or {}
    ok = final.outcome == "success"
    report.invocations += 1
    report.successes += ok
    report.errors += final.outcome == "error"
    report.timeouts += final.outcome == "timeout"
    report.outcomes.append(final.outcome)
    if not ok:
        report.failures_by_cause[final.cause or "Runtime.Unknown"] += 1
        report.init_failed_invocations += inv.init_failure is not None
    if final.record is None:
        report.platform_only += 1
    platform = inv.report
    init_ms = platform.init_ms if platform is not None else None
    if init_ms is not None:
        report.init_durations_ms.append(init_ms)
    report.cold_starts += rec.get("cold_start") is True or init_ms is not None
    duration = _number(rec.get("duration_ms"))
    if duration is None and platform is not None:
        duration = platform.duration_ms
    if duration is not None:
        report.durations_ms.append(duration)
    report.requests[inv.request_id] = report.requests.get(inv.request_id, False) or ok
    attempt = rec.get("attempt")
    counts = report.by_attempt[attempt if isinstance(attempt, int) else occurrence]
    counts[0] += ok
    counts[1] += 1
    if isinstance(rec.get("items"), int):
        report.items += rec["items"]
        report.items_failed += int(rec.get("items_failed") or 0)
    cost = _number(rec.get("estimated_cost_usd"))
    report.cost_usd += cost if cost is not None else _platform_cost(inv)
    if isinstance(rec.get("cost_basis"), str):
        report.cost_basis = rec["cost_basis"]
    cpu, peak, size = (
        _number(rec.get(k)) for k in ("cpu_ms", "max_memory_used_mb", "memory_limit_mb")
    )
    if ok and duration is not None and cpu is not None and peak is not None and size:
        report.cpu_samples.append(Sample(duration, cpu, int(peak), int(size)))
    _add_http(report, rec, ok)
    stuck = inv.stuck_in
    if final.outcome == "timeout" and stuck:
        report.stuck_in[stuck] += 1


def _add_http(report: Report, rec: dict[str, Any], ok: bool) -> None:
    status = rec.get("status_code")
    if rec.get("trigger") not in HTTP_TRIGGERS and not isinstance(status, int):
        return
    if not ok:
        report.http["failed"] += 1
    elif isinstance(status, int) and 200 <= status < 600:
        report.http[f"{status // 100}xx"] += 1
    # a success without a status code (or a 1xx) is no HTTP response the report can class


def _platform_cost(inv: Invocation) -> float:
    """Lambda's price from its REPORT, for an attempt without an outcome record (x86_64)."""
    from lambdaops._outcome import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST

    platform = inv.report
    if platform is None or platform.billed_ms is None or platform.memory_mb is None:
        return 0.0
    gb_seconds = platform.memory_mb / 1024 * platform.billed_ms / 1000
    return gb_seconds * PRICE_PER_GB_SECOND["x86_64"] + PRICE_PER_REQUEST


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
