"""``lambdaops report``: availability, latency, cold starts and cost from a function's logs.

Reads the lines a function wrote — lambdaops' JSON lines as they are, or as
CloudWatch exports and ``aws logs tail`` print them (a timestamp and stream
name before the JSON) — and Lambda's ``REPORT`` lines for init durations.
Every figure comes from the outcome records: one per invocation attempt.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_INIT = re.compile(r"Init Duration:\s*([0-9.]+)\s*ms")
_REQUEST = re.compile(r"RequestId:\s*([0-9A-Za-z-]+)")
_OWN_METRICS = frozenset({"ColdStart", "Timeout"})


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
            "metrics": dict(sorted(self.metrics.items())),
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _json_in(line: str) -> dict[str, Any] | None:
    """The JSON object in a log line, after any timestamp/stream prefix."""
    start = line.find("{")
    if start < 0:
        return None
    try:
        obj = json.loads(line[start:])
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def build(lines: Iterable[str]) -> Report:
    """Aggregate a function's log lines into a :class:`Report`."""
    report = Report()
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if "REPORT RequestId:" in line:
            init = _INIT.search(line)
            if init:
                report.init_durations_ms.append(float(init.group(1)))
            continue
        record = _json_in(line)
        if record is None:
            continue
        if "_aws" in record:
            _add_metrics(report, record)
        if "outcome" in record:
            _add_outcome(report, record)
    return report


def _add_metrics(report: Report, doc: dict[str, Any]) -> None:
    try:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                if name in _OWN_METRICS:
                    continue
                value = doc.get(name)
                values = value if isinstance(value, list) else [value]
                report.metrics[name] += sum(v for v in values if isinstance(v, (int, float)))
    except (KeyError, TypeError):
        return


def _add_outcome(report: Report, rec: dict[str, Any]) -> None:
    outcome = rec.get("outcome")
    ok = outcome == "success"
    report.invocations += 1
    report.successes += ok
    report.errors += outcome == "error"
    report.timeouts += outcome == "timeout"
    report.cold_starts += rec.get("cold_start") is True
    duration = rec.get("duration_ms")
    if isinstance(duration, (int, float)):
        report.durations_ms.append(float(duration))
    request = rec.get("request_id")
    if isinstance(request, str) and request:
        report.requests[request] = report.requests.get(request, False) or ok
    raw_attempt = rec.get("attempt")
    attempt = raw_attempt if isinstance(raw_attempt, int) else 1
    counts = report.by_attempt[attempt]
    counts[0] += ok
    counts[1] += 1
    if isinstance(rec.get("items"), int):
        report.items += rec["items"]
        report.items_failed += int(rec.get("items_failed") or 0)
    cost = rec.get("estimated_cost_usd")
    if isinstance(cost, (int, float)):
        report.cost_usd += cost
    report.outcomes.append(str(outcome))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def format_table(report: Report) -> str:
    """A plain-text table (no dependencies: it runs wherever the layer runs)."""
    d = report.as_dict()
    rows = [
        ("invocations (attempts)", str(d["invocations"])),
        ("  success / error / timeout", f"{d['successes']} / {d['errors']} / {d['timeouts']}"),
        ("availability (by attempt)", _pct(d["availability"])),
        (
            "availability (by request)",
            f"{_pct(d['request_availability'])} of {d['requests']} requests",
        ),
    ]
    for attempt, value in d["availability_by_attempt"].items():
        rows.append((f"  attempt {attempt}", _pct(value)))
    rows += [
        (
            "cold starts",
            f"{d['cold_starts']} ({_pct(d['cold_start_rate'])}), "
            f"mean init {_ms(d['mean_init_duration_ms'])}",
        ),
        (
            "duration p50 / p95 / p99",
            " / ".join(_ms(d["duration_ms"][k]) for k in ("p50", "p95", "p99")),
        ),
        ("duration max", _ms(d["duration_ms"]["max"])),
    ]
    if d["batch_items"]:
        rows.append(
            (
                "batch items (failed)",
                f"{d['batch_items']} ({d['batch_items_failed']}), "
                f"{_pct(d['batch_item_availability'])} available",
            )
        )
    cost = d["estimated_cost_usd"] or 0.0
    per_million = d["cost_per_million_usd"]
    rows.append(
        (
            "estimated cost",
            f"${cost:.8f} total, ${per_million:.4f} per 1M invocations"
            if per_million is not None
            else f"${cost:.8f}",
        )
    )
    for name, total in d["metrics"].items():
        rows.append((f"metric {name}", f"{total:g}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def plot(report: Report, path: str) -> None:
    """Latency distribution and availability over the run, as a PNG (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.hist(report.durations_ms or [0.0], bins=30, color="#3b7dd8")
    for q, style in ((50, "-"), (95, "--"), (99, ":")):
        value = report.percentile(q)
        if value is not None:
            left.axvline(value, color="black", linestyle=style, label=f"p{q} {value:.1f} ms")
    left.set_xlabel("handler duration (ms)")
    left.set_ylabel("invocations")
    left.legend()
    ok = 0
    xs, ys = [], []
    for n, outcome in enumerate(report.outcomes, start=1):
        ok += outcome == "success"
        xs.append(n)
        ys.append(ok / n * 100)
    right.plot(xs, ys, marker="o", color="#2a9d4b")
    right.set_ylim(0, 105)
    right.set_xlabel("invocation")
    right.set_ylabel("availability so far (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
