"""Profile lambdaops' warm path: where one invocation of the benchmark handler spends time.

Run: ``python benchmarks/profile.py [--invocations N] [--lines]`` (``make bench`` installs
pyinstrument and line_profiler). The handler is the suite's ``lambdaops all, unsampled``
scenario. By default pyinstrument samples the loop and prints its call tree; ``--lines``
runs line_profiler over the lifecycle's own functions instead (its per-line overhead
inflates every figure, so read it for proportions, not for absolute times).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import scenarios
from _harness import precompile


def _loop(invocations: int) -> tuple[object, object]:
    scenarios.prepare_environment("127.0.0.1:9")
    real_stdout = sys.stdout
    scenarios.silence_stdout()
    call = scenarios.invoker(scenarios.lambdaops_handler())
    for _ in range(2000):  # warm: cold start, caches, specialised bytecode
        call()
    return call, real_stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invocations", type=int, default=200_000)
    parser.add_argument("--lines", action="store_true", help="line_profiler, not pyinstrument")
    args = parser.parse_args(argv)
    precompile()
    call, real_stdout = _loop(args.invocations)
    if args.lines:
        from line_profiler import LineProfiler

        from lambdaops import _lifecycle, _logger, _metrics, _outcome, _scope, _watchdog

        profiler = LineProfiler()
        for func in (
            _lifecycle.Lifecycle.begin,
            _lifecycle.Lifecycle.end,
            _lifecycle.Lifecycle.wrap,
            _logger.BoundLogger._log,
            _metrics.Metrics.add,
            _metrics.MetricsSignal.finish,
            _metrics._single,
            _outcome.OutcomeSignal.text,
            _scope.fragment,
            _watchdog.TimeoutSignal.start,
        ):
            profiler.add_function(func)
        profiler.enable_by_count()
        for _ in range(args.invocations):
            call()  # type: ignore[operator]
        profiler.disable_by_count()
        sys.stdout = real_stdout  # type: ignore[assignment]
        profiler.print_stats(output_unit=1e-9)
        return 0
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(args.invocations):
        call()  # type: ignore[operator]
    profiler.stop()
    sys.stdout = real_stdout  # type: ignore[assignment]
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
