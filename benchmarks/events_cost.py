"""What telling the trigger costs: ``inspect_event`` alone, per sample event.

Run: ``python benchmarks/events_cost.py [--number N] [--repeat R] [--only NAME ...]``. Every
invocation pays for this before the handler runs, so each shape is timed on its own:
every fixture in ``tests/events/`` plus ``bench-http``, the event of the warm benchmark
(``benchmarks/scenarios.py``). The figure is the best of ``R`` rounds of ``N`` calls, in
nanoseconds a call; the best, not the mean, because noise only ever adds.

For a before/after comparison, run it against another copy of the package with the same
fixtures: ``PYTHONPATH=/tmp/ev-before python benchmarks/events_cost.py`` (a ``git worktree``
of the previous commit). On a busy machine two runs minutes apart differ by more than
the change, so ``--against /tmp/ev-before`` also loads that copy's ``lambdaops/_events.py``
(self-contained before the trigger table moved out of it) and alternates the two
round by round, each best-of taken over the same stretch of load. docs/outcomes.md
("Triggers") quotes the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

_EVENTS = Path(__file__).resolve().parent.parent / "tests" / "events"


def samples() -> dict[str, Any]:
    """Every sample event by name: the warm benchmark's first, then the fixtures."""
    sys.path.insert(0, os.path.dirname(__file__))
    import scenarios

    found: dict[str, Any] = {"bench-http": scenarios.EVENT}
    for path in sorted(_EVENTS.glob("*.json")):
        found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return found


def load_inspector(root: str) -> Callable[[Any], Any]:
    """``inspect_event`` from ``root/lambdaops/_events.py``, loaded under a name of its own."""
    spec = importlib.util.spec_from_file_location(
        "_events_against", Path(root) / "lambdaops" / "_events.py"
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no lambdaops/_events.py under {root}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.inspect_event  # type: ignore[no-any-return]


def measure(
    inspectors: list[Callable[[Any], Any]], event: Any, number: int, repeat: int
) -> list[float]:
    """Nanoseconds one call of each inspector takes on ``event``, best of ``repeat`` rounds."""
    # CPU time of this process: other processes on a shared machine stretch wall time.
    timers = [
        timeit.Timer(lambda f=f: f(event), timer=time.process_time)  # type: ignore[misc]
        for f in inspectors
    ]
    best = [float("inf")] * len(timers)
    for _ in range(repeat):
        for i, timer in enumerate(timers):  # alternated: both see the same load
            best[i] = min(best[i], timer.timeit(number))
    return [seconds / number * 1e9 for seconds in best]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="sample names to time (default: all)")
    parser.add_argument("--against", help="a checkout whose lambdaops/_events.py to time too")
    args = parser.parse_args(argv)
    from lambdaops import _events
    from lambdaops._events import inspect_event

    inspectors: list[Callable[[Any], Any]] = [inspect_event]
    print(f"lambdaops from {Path(_events.__file__).resolve().parent}")
    header = f"{'sample':<36} {'trigger':<24} {'ns/call':>8}"
    if args.against:
        inspectors.append(load_inspector(args.against))
        header += f" {'against':>8} {'trigger there':<20}"
    print(header)
    for name, event in samples().items():
        if args.only and name not in args.only:
            continue
        costs = measure(inspectors, event, args.number, args.repeat)
        line = f"{name:<36} {inspect_event(event).trigger:<24} {costs[0]:>8.0f}"
        if args.against:
            line += f" {costs[1]:>8.0f} {inspectors[1](event).trigger:<20}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
