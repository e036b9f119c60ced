"""``make demo``: run the gizmos example under the real Lambda runtime client, locally.

Each invocation goes through lambdaops' local Runtime API to a fresh or warm
awslambdaric process, exactly as Lambda would drive it; the demo then shows
what lambdaops wrote to the function's log stream.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from lambdaops.local import Environment

_TRACE = "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0"


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _show(line: str) -> str:
    try:
        rec = json.loads(line)
    except ValueError:
        return f"    {line}"
    if "level" in rec:
        extras = {
            k: v
            for k, v in rec.items()
            if k
            not in (
                "timestamp",
                "level",
                "message",
                "service",
                "request_id",
                "function_name",
                "xray_trace_id",
            )
        }
        return f"    {rec['level']:<7} {rec['message']}  {json.dumps(extras)}"
    return "    " + json.dumps(rec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--example", default="examples/gizmos", help="example directory")
    args = parser.parse_args(argv)
    code = Path(args.example).resolve()
    if not (code / "app.py").exists():
        print(f"lambdaops demo: no app.py in {code}", file=sys.stderr)
        return 2
    events = code / "events"
    plan = [
        ("cold start", _load(events / "order.json")),
        ("warm", _load(events / "order.json")),
        ("failure", _load(events / "bad-order.json")),
        ("warm after failure", _load(events / "order.json")),
    ]
    repo = Path(__file__).resolve().parents[1]
    env_vars = {"PYTHONPATH": os.pathsep.join([str(repo), str(code)])}
    with Environment(
        "app.handler",
        code_dir=code,
        function_name="gizmos",
        memory_mb=256,
        timeout_s=3,
        env=env_vars,
    ) as env:
        for n, (label, event) in enumerate(plan, start=1):
            start = len(env.lines)
            result = env.invoke(event, trace_header=_TRACE.format(n, n, n))
            cold = " (cold start, init %.0f ms)" % (env.init_duration_ms or 0) if env.cold else ""
            print(f"\n#{n} {label}: {result.status} in {result.duration_ms:.1f} ms{cold}")
            for line in env.lines_since(start):
                if line.strip():
                    print(_show(line))
    print("\nEvery line above is one JSON object in the function's log stream.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
