"""The plain-text table and the PNG plot of ``lambdaops report``.

Kept apart from the figures (:mod:`lambdaops.report`): the table has no
dependencies, so it runs wherever the layer runs; the plot needs matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lambdaops.report import Report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def format_table(report: Report) -> str:
    """A plain-text table (no dependencies: it runs wherever the layer runs)."""
    d = report.as_dict()
    rows = []
    function = d["function"]
    if function is not None:
        rows.append(
            (
                "function",
                f"{function['name']} (left out: {function['other_invocations']} invocations of "
                f"other functions, {function['unknown_invocations']} of unknown function)",
            )
        )
    rows += [
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
    http = d["http"]
    if http["responses"]:
        rows.append(
            (
                "availability (by response)",
                f"{_pct(http['availability'])} of {http['responses']} HTTP responses",
            )
        )
        rows.append(
            (
                "  2xx / 3xx / 4xx / 5xx / failed",
                " / ".join(str(http[k]) for k in ("2xx", "3xx", "4xx", "5xx", "failed")),
            )
        )
    for cause, count in d["failures_by_cause"].items():
        rows.append((f"  failed: {cause}", str(count)))
    rows.append(("from platform records alone", f"{d['platform_only']} invocations"))
    if d["unattributed_error_lines"]:
        rows.append(
            (
                "unattributed error lines",
                f"{d['unattributed_error_lines']} (no request id, several invocations open, "
                "no stream names: not counted)",
            )
        )
    init = d["init_failures"]
    if init["total"]:
        causes = ", ".join(f"{cause} {n}" for cause, n in init["by_cause"].items())
        rows.append(
            (
                "init failures",
                f"{init['total']} ({causes}), {init['failed_invocations']} invocations failed",
            )
        )
    for where, count in d["stuck_in"].items():
        rows.append((f"  timed out in {where}", str(count)))
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
    if d["cost_basis"]:
        rows.append(("  cost basis", d["cost_basis"]))
    advice = d["memory_advice"]
    if advice.get("recommended_mb") is not None:
        current, best = advice["current_mb"], advice["recommended_mb"]
        p50, cost = advice["duration_p50_ms"], advice["cost_per_million_usd"]
        rows.append(
            (
                "memory advice",
                f"{best} MB (now {current} MB): p50 {p50[str(current)]:.1f} -> "
                f"{p50[str(best)]:.1f} ms, ${cost[str(current)]:.4f} -> "
                f"${cost[str(best)]:.4f} per 1M; fastest {advice['fastest_mb']} MB",
            )
        )
        rows.append(
            (
                "  from",
                f"{advice['invocations']} records, CPU-bound share "
                f"{advice['cpu_bound_share']:.0%}, peak memory {advice['peak_memory_mb']} MB",
            )
        )
        rows.append(("  model", advice["model"]))
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
