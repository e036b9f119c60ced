"""Import cost of lambdaops and of the libraries the design names, in fresh processes.

Run: ``python benchmarks/imports.py [--runs N]``. Each figure is the median
over N fresh interpreters of the time to import the module *after*
awslambdaric's bootstrap (what a Lambda process has loaded already), with
``LAMBDA_TASK_ROOT`` set as in Lambda. These are the figures the README quotes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

MODULES = [
    "lambdaops",
    "wrapt",
    "structlog",
    "aws_embedded_metrics",
    "aws_xray_sdk.core",
    "boto3",
    "aws_lambda_powertools",
    "opentelemetry.trace",
    "lambdaops._otel",
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
]

_PROBE = """
import sys, time
import awslambdaric.bootstrap, awslambdaric.lambda_runtime_client
t = time.perf_counter()
import {module}
print((time.perf_counter() - t) * 1000)
"""


def import_ms(module: str, runs: int) -> float:
    env = dict(os.environ, LAMBDA_TASK_ROOT="/var/task")
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE.format(module=module)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args(argv)
    from _harness import precompile

    precompile()
    results = {}
    print("| module | import ms (median, after awslambdaric) |\n|---|---:|")
    for module in MODULES:
        try:
            results[module] = round(import_ms(module, args.runs), 1)
        except subprocess.CalledProcessError:
            print(f"| {module} | not installed |")
            continue
        print(f"| {module} | {results[module]} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
