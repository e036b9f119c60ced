"""Cold start: a fresh awslambdaric process per sample, against lambdaops' local Runtime API.

A sample is the init duration (process start to the runtime's first request
for work, as Lambda's Init Duration) plus the first invocation. Variants run
interleaved; the overhead of a variant is its median minus the bare
handler's median in the same run.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from lambdaops.local import Environment

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "bare": "bare_app.handler",
    "lambdaops": "lambdaops_app.handler",
    "powertools": "powertools_app.handler",
}
try:  # Datadog's wrapper where installable: `make bench` installs the `bench` extra
    import importlib.util

    if importlib.util.find_spec("datadog_lambda") is not None:
        VARIANTS["datadog"] = "datadog_app.handler"
except ImportError:  # pragma: no cover
    pass
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"


def sample(handler: str) -> tuple[float, float]:
    """(init ms, first invocation ms) of one fresh environment."""
    repo = str(HERE.parent)
    env = {
        "PYTHONPATH": os.pathsep.join([str(HERE / "cold"), repo]),
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    }
    with Environment(handler, code_dir=HERE / "cold", env=env, timeout_s=10) as environment:
        result = environment.invoke({"gizmos": 3}, trace_header=TRACE)
        if result.status != "success":
            raise RuntimeError(f"{handler}: {result.status} {result.error}")
        return float(environment.init_duration_ms or 0.0), result.duration_ms


def measure(runs: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for handler in VARIANTS.values():  # warm the page cache and pyc files once
        sample(handler)
    for _ in range(runs):
        for name, handler in VARIANTS.items():
            init_ms, first_ms = sample(handler)
            samples[name].append(init_ms + first_ms)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "runs": runs,
        "median_ms": {k: round(v, 1) for k, v in medians.items()},
        "overhead_ms": {k: round(v - medians["bare"], 1) for k, v in medians.items()},
    }
