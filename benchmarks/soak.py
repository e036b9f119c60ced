"""Soak: many warm invocations in one process; memory and caches must not grow.

Run: ``python benchmarks/soak.py [--invocations N] [--json PATH]`` (``make soak``
runs 1,000,000). Each invocation logs a line, adds a metric, writes its
outcome record (to /dev/null) and arms/disarms the watchdog, with a fresh
request id, as a long-lived Lambda environment would see. Reports resident
memory after warm-up and at the end, the size of lambdaops' internal caches,
and throughput per tenth of the run. Exits 1 if memory grows by 4 MB or more
after warm-up or a cache grows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))


def rss_mb() -> float:
    """Current resident set size (not the peak), from /proc."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def cache_sizes(lifecycle: Any) -> dict[str, int]:
    from lambdaops import _emf, _metrics, _report, _scope, _watchdog

    outcome = next(s for s in lifecycle.signals if s.name == "outcome")
    return {
        "seen_request_ids": len(outcome._seen),
        "emf_directives": len(_emf._directives),
        "validated_metric_keys": len(_metrics._validated),
        "in_flight": len(_scope._in_flight),
        "watchdog_armed": _watchdog._watchdog.armed(),
        "reported_errors": len(_report._seen),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invocations", type=int, default=1_000_000)
    parser.add_argument("--json", help="write results to this file")
    args = parser.parse_args(argv)

    from lambdaops import instrument, log, metrics
    from lambdaops.testing import LambdaContext

    real_stdout = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    os.environ["_X_AMZN_TRACE_ID"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0"

    @instrument(service="soak")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        log.info("processed order", order_id=event["n"])
        metrics.add("GizmosProcessed", 3)
        return {"statusCode": 200}

    lifecycle = handler.lambdaops_lifecycle
    total = args.invocations
    warmup = max(1, total // 10)
    tenth = max(1, total // 10)
    rates: list[float] = []
    start = time.perf_counter()
    block_start = start
    rss_after_warmup = 0.0
    caches_after_warmup: dict[str, int] = {}
    for n in range(1, total + 1):
        handler({"n": n}, LambdaContext(aws_request_id=f"req-{n}"))
        if n == warmup:
            gc.collect()
            rss_after_warmup = rss_mb()
            caches_after_warmup = cache_sizes(lifecycle)
        if n % tenth == 0:
            now = time.perf_counter()
            rates.append(tenth / (now - block_start))
            block_start = now
    gc.collect()
    rss_end = rss_mb()
    caches_end = cache_sizes(lifecycle)
    sys.stdout = real_stdout

    growth = rss_end - rss_after_warmup
    grown = {
        k: (caches_after_warmup[k], v) for k, v in caches_end.items() if v > caches_after_warmup[k]
    }
    result = {
        "invocations": total,
        "seconds": round(time.perf_counter() - start, 1),
        "rss_after_warmup_mb": round(rss_after_warmup, 2),
        "rss_end_mb": round(rss_end, 2),
        "rss_growth_mb": round(growth, 2),
        "caches_after_warmup": caches_after_warmup,
        "caches_end": caches_end,
        "invocations_per_second_by_tenth": [round(r) for r in rates],
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    ok = growth < 4.0 and not grown
    if not ok:
        print(f"FAIL: rss growth {growth:.2f} MB, grown caches {grown}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
