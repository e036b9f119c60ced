"""Profile lambdaops' warm path: where one invocation of the benchmark handler spends time.

Run: ``python benchmarks/hot_path.py [--invocations N] [--lines | --calls]`` (``make bench``
installs pyinstrument and line_profiler). The handler is the suite's ``lambdaops all,
unsampled`` scenario. By default pyinstrument samples the loop and prints its call tree;
``--lines`` runs line_profiler over the lifecycle's own functions instead (its per-line
overhead inflates every figure, so read it for proportions, not for absolute times);
``--calls`` counts the calls one invocation makes (cProfile), Python-level and built-in.
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
    parser.add_argument("--calls", action="store_true", help="calls per invocation (cProfile)")
    args = parser.parse_args(argv)
    precompile()
    call, real_stdout = _loop(args.invocations)
    if args.calls:
        import cProfile
        import pstats

        runs = min(args.invocations, 10_000)
        counter = cProfile.Profile()
        counter.enable()
        for _ in range(runs):
            call()  # type: ignore[operator]
        counter.disable()
        sys.stdout = real_stdout  # type: ignore[assignment]
        stats = pstats.Stats(counter).stats  # type: ignore[attr-defined]
        per_call = {
            f"{func[0].rpartition('/')[2]}:{func[2]}": calls / runs
            for func, (_, calls, *_rest) in stats.items()
            if calls >= runs
        }
        python = {name: n for name, n in per_call.items() if not name.startswith("~")}
        print(
            f"calls per invocation: {sum(per_call.values()):.0f} in all, "
            f"{sum(n for name, n in python.items() if '.py:' in name):.0f} Python-level"
        )
        for name, n in sorted(python.items(), key=lambda kv: -kv[1])[:40]:
            print(f"{n:6.1f}  {name}")
        return 0
    if args.lines:
        from line_profiler import LineProfiler

        from lambdaops import _emf, _lifecycle, _logger, _metrics, _outcome, _scope, _watchdog

        profiler = LineProfiler()
        for func in (
            _lifecycle.Lifecycle.begin,
            _lifecycle.Lifecycle.end,
            _lifecycle.Lifecycle.wrap,
            _logger.BoundLogger._log,
            _metrics.Metrics.add,
            _metrics.MetricsSignal.finish,
            _emf.single,
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
