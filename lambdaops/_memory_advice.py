"""A memory size recommended from production outcome records alone (``lambdaops report``).

The model, stated with the advice so it can be judged: each invocation's time is CPU work
(``cpu_ms``) plus waiting (the rest of ``duration_ms``); Lambda gives CPU in proportion to
memory (one vCPU at 1,769 MB), and Python's handler code uses one vCPU at most (the GIL),
so the CPU work stretches or shrinks by the share up to 1,769 MB and not beyond, while
waiting does not change. Memory must hold the peak seen (``max_memory_used_mb``) with
headroom. The cheapest size that fits wins; the fastest is named too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

FULL_VCPU_MB = 1769
#: Sizes considered (MB): Lambda's console presets and the one-vCPU point.
SIZES = (128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008)
#: Peak memory must stay under this share of the size.
HEADROOM = 0.8


class Sample(NamedTuple):
    duration_ms: float
    cpu_ms: float
    max_memory_used_mb: int
    memory_limit_mb: int


def _share(memory_mb: int) -> float:
    """The CPU a Python handler can use at ``memory_mb``: Lambda's share, at most one vCPU."""
    return min(memory_mb / FULL_VCPU_MB, 1.0)


def predict_ms(sample: Sample, memory_mb: int) -> float:
    cpu = min(sample.cpu_ms, sample.duration_ms)
    waiting = sample.duration_ms - cpu
    return waiting + cpu * _share(sample.memory_limit_mb) / _share(memory_mb)


def advise(samples: Sequence[Sample], price_per_gb_s: float, per_request: float) -> dict[str, Any]:
    """The advice, with the model's inputs, or why there is none."""
    usable = [s for s in samples if s.duration_ms > 0 and s.memory_limit_mb > 0]
    if not usable:
        return {"recommended_mb": None, "reason": "no outcome records with cpu_ms"}
    current = statistics.mode(s.memory_limit_mb for s in usable)
    peak = max(s.max_memory_used_mb for s in usable)
    fits = [m for m in sorted({*SIZES, current}) if peak <= m * HEADROOM]
    if not fits:
        return {"recommended_mb": None, "reason": f"peak memory {peak} MB fits no size"}

    def cost(memory_mb: int) -> float:
        per = [
            math.ceil(predict_ms(s, memory_mb)) / 1000 * memory_mb / 1024 * price_per_gb_s
            + per_request
            for s in usable
        ]
        return statistics.mean(per)

    def p50(memory_mb: int) -> float:
        return statistics.median(predict_ms(s, memory_mb) for s in usable)

    cheapest = min(fits, key=lambda m: (cost(m), m))
    fastest = min(fits, key=lambda m: (round(p50(m), 3), m))
    cpu_share = statistics.median(min(1.0, s.cpu_ms / s.duration_ms) for s in usable)
    return {
        "recommended_mb": cheapest,
        "fastest_mb": fastest,
        "current_mb": current,
        "cpu_bound_share": round(cpu_share, 3),
        "peak_memory_mb": peak,
        "invocations": len(usable),
        "duration_p50_ms": {str(m): round(p50(m), 3) for m in (current, cheapest, fastest)},
        "cost_per_million_usd": {
            str(m): round(cost(m) * 1e6, 6) for m in (current, cheapest, fastest)
        },
        "model": (
            "duration = waiting + cpu_ms x (CPU share now / CPU share at the size); share ="
            " memory / 1,769 MB, at most one vCPU for Python; peak memory within 80% of the"
            " size; billed ms rounded up; x86_64 price unless records say otherwise"
        ),
    }
