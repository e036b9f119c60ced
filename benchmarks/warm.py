"""Warm per-invocation overhead: bare vs lambdaops vs structlog vs Powertools.

Run: ``python benchmarks/warm.py [--quick] [--json PATH]``. Prints a
markdown table; overhead is time minus the bare handler's, same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _harness import measure, overheads, table
from scenarios import WARM_LOGS, silence_stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for CI")
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args(argv)
    rounds, batch = (15, 300) if args.quick else (41, 1000)

    out = sys.stdout
    silence_stdout()
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_NAME", "bench")
    scenarios = {name: build() for name, build in WARM_LOGS.items()}
    results = measure(scenarios, rounds=rounds, batch=batch)
    sys.stdout = out

    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cores; {rounds} rounds x {batch} calls"
    )
    print(table(results, reference="powertools Logger"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "python": platform.python_version(),
                    "rounds": rounds,
                    "batch": batch,
                    "median_us": {n: r.median_us for n, r in results.items()},
                    "overhead_us": overheads(results),
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
