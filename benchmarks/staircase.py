"""Where lambdaops' warm overhead goes: the signals added one at a time.

Run: ``python benchmarks/staircase.py [--rounds N]``. Same harness and handler as
``run.py``; each row adds one signal to the previous one, so the differences
between rows are what each costs inside a full invocation loop (on this machine
roughly 2-3x what the same code costs timed alone).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import scenarios
from _harness import measure, overheads, precompile
from trace_bench import start_drain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    precompile()
    drain, address = start_drain()
    scenarios.prepare_environment(address)
    real_stdout = sys.stdout
    scenarios.silence_stdout()
    make = scenarios.lambdaops_handler
    steps = {
        "bare": scenarios.bare(),
        "decorator only (no outcome record, tracing off)": make(
            logs=False, metric=False, traced=False, outcome=False, trace=False
        ),
        "+ outcome record": make(logs=False, metric=False, traced=False, trace=False),
        "+ tracing, unsampled": make(logs=False, metric=False),
        "+ one info line": make(metric=False),
        "+ one metric (everything)": make(),
        "+ timeout_stack (faulthandler's SIGALRM timer)": make(timeout_stack=True),
    }
    try:
        results = measure(
            {name: scenarios.invoker(h) for name, h in steps.items()},
            rounds=args.rounds,
            batch=1000,
        )
    finally:
        sys.stdout = real_stdout
        drain.kill()
        drain.wait()
    previous = 0.0
    print("| step | overhead µs | added µs |\n|---|---:|---:|")
    for name, over in overheads(results).items():
        print(f"| {name} | {over:.2f} | {over - previous:+.2f} |")
        previous = over
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
