"""``make demo``: the gizmos example through ``lambdaops local``, then the availability report.

Each invocation goes through lambdaops' local Runtime API to a real
awslambdaric process, exactly as Lambda would drive it: a cold start, warm
invocations, a failure, a response the runtime cannot serialize, an
asynchronous EventBridge event that fails and is retried as Lambda retries it
(the same event under the same request id, so its second record says
``attempt: 2``), an SQS batch with partial failures, a crash (the process
exits: no outcome record, only Lambda's), a timeout (the watchdog writes the
record before the environment is killed), and a second execution environment. Then
``lambdaops report`` reads the log the run wrote, and its figures are put
beside Lambda's own count — what the platform returned for each invocation.
The demo exits 1 if the two disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from lambdaops import report
from lambdaops.local._cli import Printer
from lambdaops.local._runner import LocalResult, LocalRunner, lambda_count

#: The figures Lambda's count and the report's are compared on, as the report names them.
FIGURES = ("invocations", "successes", "errors", "timeouts", "availability", "request_availability")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="examples/gizmos", help="example directory")
    parser.add_argument("--log", default=".lambdaops/demo.log", help="where the run's log goes")
    parser.add_argument("--quiet", action="store_true", help="REPORT lines and summary only")
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="Lambda's log format"
    )
    parser.add_argument(
        "--trace-backend",
        choices=("xray", "otel"),
        default="xray",
        help="tracing backend of the demo function (otel: OTLP/HTTP to lambdaops local)",
    )
    args = parser.parse_args(argv)
    code = Path(args.example).resolve()
    if not (code / "app.py").exists():
        print(f"lambdaops demo: no app.py in {code}", file=sys.stderr)
        return 2
    steps = plan(code / "events")
    seed = code / "seed.json"
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    printer = Printer(quiet=args.quiet)
    results: list[LocalResult] = []
    with (
        log_path.open("w", encoding="utf-8") as log,
        LocalRunner(
            "app.handler",
            code,
            function_name="gizmos",
            memory_mb=256,
            timeout_s=2.0,
            concurrency=2,
            seed=seed if seed.exists() else None,
            log=log,
            log_format=args.log_format,
            env={"LAMBDAOPS_TRACE_BACKEND": args.trace_backend},
        ) as runner,
    ):
        for notice in runner.notices:
            print(f"lambdaops demo: {notice}", file=sys.stderr)
        for n, (label, event, options) in enumerate(steps, start=1):
            printer.out(f"\n#{n} {label}", style="bold")
            local = runner.invoke(event, label=label, **options)
            results.append(local)
            printer.invocation(local, runner.waterfall(local))
        tune_rows = _tune(code, steps[0][1], runner.function_env)
    printer.summary()
    printer.out(f"\nlambdaops report {log_path}", style="bold")
    built = report.build(log_path.read_text(encoding="utf-8").splitlines())
    print(report.format_table(built))
    lambdas, reports = lambda_count(results), built.as_dict()
    printer.out(
        "\nLambda's own count (what it returned for each invocation) and the report's", style="bold"
    )
    print(format_comparison(lambdas, reports))
    differ = [name for name in FIGURES if lambdas[name] != reports[name]]
    if differ:
        print(
            f"lambdaops demo: the report disagrees with Lambda on {', '.join(differ)}",
            file=sys.stderr,
        )
        return 1
    printer.out("The report agrees with Lambda.", style="green")
    dashboard = _dashboard(log_path)
    if dashboard is not None:
        printer.out(f"\nlambdaops dashboard --from {log_path}: {dashboard}", style="bold")
    if tune_rows:
        from lambdaops.local._tune import table

        printer.out(
            "\nlambdaops tune app.handler (the first event, 2 warm invocations a size)",
            style="bold",
        )
        print(table(tune_rows))
    return 0


def _dashboard(log_path: Path) -> Path | None:
    """The run's dashboard and alarms (CloudFormation), written next to its log."""
    from decimal import Decimal

    from lambdaops.dashboard import emit, template
    from lambdaops.dashboard.discover import discover

    out = log_path.with_name("dashboard.yaml")
    try:
        found = discover(log_path.read_text(encoding="utf-8").splitlines(), function="gizmos")
        options = template.Options(Decimal("99.9"), ("GizmosProcessed",), None, None)
        out.write_text(emit.dump(template.build(found, options)), encoding="utf-8")
    except Exception as exc:  # a demo step: said, and the demo goes on
        print(f"lambdaops demo: dashboard skipped: {exc}", file=sys.stderr)
        return None
    return out


def _tune(code: Path, event: Any, env: dict[str, str]) -> list[Any]:
    """A short ``lambdaops tune`` of the demo function: its duration and cost by memory size."""
    from lambdaops.local._tune import measure

    try:
        return [
            measure("app.handler", str(code), event, size, invocations=2, env=env)
            for size in (128, 256, 512)
        ]
    except Exception as exc:  # a demo step: said, and the demo goes on
        print(f"lambdaops demo: tune skipped: {exc}", file=sys.stderr)
        return []


def plan(events: Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """The run: (label, event, options for ``LocalRunner.invoke``) per invocation.

    The retried event is the one Lambda retries by itself: an asynchronous invocation
    (EventBridge) whose handler raised, sent again unchanged under the same request id to
    the same environment, whose outcome signal then counts it as attempt 2.
    """
    order, bad, unserializable, placed, crash, slow, batch = (
        _load(events / name)
        for name in (
            "order.json",
            "bad-order.json",
            "unserializable-order.json",
            "order-placed.json",
            "crash-order.json",
            "slow-order.json",
            "sqs-batch.json",
        )
    )
    retried = str(uuid.uuid4())
    return [
        ("cold start", order, {"sampled": True}),
        ("warm", order, {}),
        ("warm", order, {}),
        ("failure", bad, {}),
        ("marshal error", unserializable, {}),
        ("EventBridge event, attempt 1 (inventory down)", placed, {"request_id": retried}),
        ("Lambda's retry: the same event and request id", placed, {"request_id": retried}),
        ("SQS batch, 2 of 5 fail", batch, {}),
        ("crash", crash, {}),
        ("cold start after the crash", order, {}),
        ("timeout", slow, {}),
        ("cold start after the timeout", order, {}),
        ("second environment", order, {"environment": 1, "sampled": True}),
    ]


def format_comparison(lambdas: dict[str, Any], reports: dict[str, Any]) -> str:
    """Both counts side by side, one figure a row, a ``!=`` where they differ."""

    def show(value: Any) -> str:
        if isinstance(value, float):
            return f"{value * 100:.1f}%"
        return "-" if value is None else str(value)

    rows = [("", "Lambda", "report", "")]
    for name in FIGURES:
        mark = "" if lambdas[name] == reports[name] else "!="
        rows.append((name.replace("_", " "), show(lambdas[name]), show(reports[name]), mark))
    width = max(len(row[0]) for row in rows)
    return "\n".join(
        f"{label.ljust(width)}  {ours:>7}  {theirs:>7}  {mark}".rstrip()
        for label, ours, theirs, mark in rows
    )


if __name__ == "__main__":
    raise SystemExit(main())
