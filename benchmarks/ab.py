"""A/B of two commits: lambdaops' warm overhead at REV_A and at REV_B, alternating.

Run: ``python benchmarks/ab.py REV_A REV_B [--runs N] [--scenario NAME]``. Each revision
is checked out into a temporary git worktree; every run is a fresh process that imports
lambdaops from one of them (alternating A, B, A, B, ... so the machine's drift hits both
alike) and times the suite's scenario against the bare handler in the same process. The
figures are the medians of the per-run overheads. This is how docs/performance.md's
per-change effects were measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

_PROBE = """
import sys, timeit, statistics
sys.path.insert(0, {tree!r})
# the editable install's finder would win over sys.path: use this worktree's lambdaops
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, {bench!r})
import lambdaops
assert lambdaops.__file__.startswith({tree!r}), lambdaops.__file__
import scenarios
scenarios.prepare_environment("127.0.0.1:9")
scenarios.silence_stdout()
build, sampled = scenarios.WARM[{scenario!r}]
calls = {{"bare": scenarios.invoker(scenarios.bare()), "it": scenarios.invoker(build(), sampled)}}
for call in calls.values():
    for _ in range(2000):
        call()
times = {{name: [] for name in calls}}
for _ in range(7):
    for name, call in calls.items():
        times[name].append(timeit.timeit(call, number=20000) / 20000 * 1e6)
sys.stdout = sys.__stdout__
print(statistics.median(times["it"]) - statistics.median(times["bare"]))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rev_a")
    parser.add_argument("rev_b")
    parser.add_argument("--runs", type=int, default=6, help="fresh processes per revision")
    parser.add_argument("--scenario", default="lambdaops all, unsampled")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for label, rev in (("A", args.rev_a), ("B", args.rev_b)):
            tree = Path(tmp) / label
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", "-f", str(tree), rev],
                check=True,
                capture_output=True,
            )
            trees[label] = tree
        try:
            results: dict[str, list[float]] = {"A": [], "B": []}
            env = dict(os.environ, PYTHONDONTWRITEBYTECODE="")
            for _ in range(args.runs):
                for label, tree in trees.items():
                    probe = _PROBE.format(tree=str(tree), bench=str(HERE), scenario=args.scenario)
                    done = subprocess.run(
                        [sys.executable, "-c", probe],
                        capture_output=True,
                        text=True,
                        check=True,
                        env=env,
                    )
                    results[label].append(float(done.stdout.strip().splitlines()[-1]))
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    capture_output=True,
                )
    a, b = statistics.median(results["A"]), statistics.median(results["B"])
    print(f"scenario: {args.scenario}; {args.runs} fresh processes each, alternating")
    print(f"A {args.rev_a}: {a:.2f} µs  (runs: {', '.join(f'{x:.2f}' for x in results['A'])})")
    print(f"B {args.rev_b}: {b:.2f} µs  (runs: {', '.join(f'{x:.2f}' for x in results['B'])})")
    print(f"B - A: {b - a:+.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
