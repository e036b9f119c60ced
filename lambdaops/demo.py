"""``make demo``: the gizmos example through ``lambdaops local``, then the availability report.

Each invocation goes through lambdaops' local Runtime API to a real
awslambdaric process, exactly as Lambda would drive it: a cold start, warm
invocations, a failure, a timeout (the watchdog writes the record before the
environment is killed), an SQS batch with partial failures, a retried
request, and a second execution environment. Then ``lambdaops report`` reads
the log the run wrote.
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
from lambdaops.local._runner import LocalRunner


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="examples/gizmos", help="example directory")
    parser.add_argument("--log", default=".lambdaops/demo.log", help="where the run's log goes")
    parser.add_argument("--quiet", action="store_true", help="REPORT lines and summary only")
    args = parser.parse_args(argv)
    code = Path(args.example).resolve()
    if not (code / "app.py").exists():
        print(f"lambdaops demo: no app.py in {code}", file=sys.stderr)
        return 2
    events = code / "events"
    order, bad, slow, batch = (
        _load(events / name)
        for name in ("order.json", "bad-order.json", "slow-order.json", "sqs-batch.json")
    )
    retried = str(uuid.uuid4())
    plan: list[tuple[str, Any, dict[str, Any]]] = [
        ("cold start", order, {"sampled": True}),
        ("warm", order, {}),
        ("warm", order, {}),
        ("failure", bad, {}),
        ("retried request, attempt 1", bad, {"request_id": retried}),
        ("retried request, attempt 2", order, {"request_id": retried}),
        ("SQS batch, 2 of 5 fail", batch, {}),
        ("timeout", slow, {}),
        ("cold start after the timeout", order, {}),
        ("second environment", order, {"environment": 1, "sampled": True}),
    ]
    seed = code / "seed.json"
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    printer = Printer(quiet=args.quiet)
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
        ) as runner,
    ):
        for n, (label, event, options) in enumerate(plan, start=1):
            printer.out(f"\n#{n} {label}", style="bold")
            local = runner.invoke(event, label=label, **options)
            printer.invocation(local, runner.waterfall(local))
    printer.summary()
    printer.out(f"\nlambdaops report {log_path}", style="bold")
    print(report.format_table(report.build(log_path.read_text(encoding="utf-8").splitlines())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
