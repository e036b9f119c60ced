"""Shared benchmark machinery: interleaved rounds, medians, overhead over bare.

Every scenario is a zero-argument callable that runs one warm invocation.
Rounds visit the scenarios in a shuffled order so drift (thermal, other load)
hits them alike; each round times a batch and keeps the per-call figure.
Overhead is a scenario's median minus the bare handler's median *in the same
run*, and ratios are only ever taken within one run.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    name: str
    samples_us: list[float] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)

    @property
    def spread_us(self) -> float:
        """Half the inter-quartile range: how much a round's figure wanders."""
        qs = statistics.quantiles(self.samples_us, n=4)
        return (qs[2] - qs[0]) / 2


def measure(
    scenarios: dict[str, Callable[[], object]], *, rounds: int, batch: int, warmup: int = 200
) -> dict[str, Result]:
    results = {name: Result(name) for name in scenarios}
    for fn in scenarios.values():
        for _ in range(warmup):
            fn()
    order = list(scenarios)
    gc_was_enabled = gc.isenabled()
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            fn = scenarios[name]
            gc.collect()
            gc.disable()
            start = time.perf_counter_ns()
            for _ in range(batch):
                fn()
            elapsed = time.perf_counter_ns() - start
            if gc_was_enabled:
                gc.enable()
            results[name].samples_us.append(elapsed / batch / 1000)
    return results


def overheads(results: dict[str, Result], bare: str = "bare") -> dict[str, float]:
    base = results[bare].median_us
    return {name: r.median_us - base for name, r in results.items()}


def table(results: dict[str, Result], reference: str | None = None) -> str:
    over = overheads(results)
    ref = over.get(reference) if reference else None
    lines = [
        "| scenario | median µs/call | spread µs | overhead µs | vs " + (reference or "-") + " |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, res in results.items():
        ratio = ""
        if ref and name not in ("bare", reference) and over[name] > 0:
            ratio = f"{ref / over[name]:.1f}× less"
        lines.append(
            f"| {name} | {res.median_us:.2f} | {res.spread_us:.2f} | {over[name]:.2f} | {ratio} |"
        )
    return "\n".join(lines)


def precompile() -> None:
    """Write lambdaops' bytecode, as a deployment package or the layer ships it.

    An editable install has no .pyc files and, with PYTHONDONTWRITEBYTECODE set (as
    on CI machines), every fresh process would compile lambdaops from source — a cost
    no real deployment pays and the installed peers (compiled by pip) do not pay here.
    """
    import compileall
    from pathlib import Path

    import lambdaops

    compileall.compile_dir(str(Path(lambdaops.__file__).parent), quiet=1)
    compileall.compile_dir(str(Path(__file__).parent / "cold"), quiet=1)
