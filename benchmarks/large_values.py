"""What a 3.4 MB value costs: captured into a sampled invocation's trace, and logged.

Run: ``python benchmarks/large_values.py [--runs N]``.

The value is what a handler might return or log: 18,000 customer records (dicts of
strings, ints, a bool and a list; 3.4 MB as JSON), and for logging also one string of
3.4 million characters. Figures are medians of ``--runs`` rounds; each round times
every variant once, alternating, so the machine's drift hits them alike, and ratios
are taken within a round.

* capture: a sampled invocation returning the value with ``trace_capture_response``
  on, minus the same invocation with it off (the response is then not recorded), over
  real UDP to a socket nobody reads. The capture is cut to ``MAX_METADATA`` characters
  of JSON, so it should cost what that much of the value does, not what 3.4 MB does.
* log line: ``log.info("x", body=value)`` against ``json.dumps(value)``; the line is
  cut to ``max_line_bytes`` (256 KB), and should cost at most twice the dumps.

docs/performance.md ("Large values") has the figures and what they were before.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import scenarios


def records() -> list[dict[str, Any]]:
    """18,000 records, 3.4 MB as JSON."""
    return [
        {
            "id": i,
            "name": f"customer-{i:06d}",
            "email": f"user{i}@example.com",
            "active": i % 2 == 0,
            "tags": ["alpha", "beta"],
            "balance": i * 3,
            "note": "lorem ipsum dolor sit amet " * 2,
        }
        for i in range(18_000)
    ]


def ms(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def capture_rounds(value: Any, runs: int) -> list[tuple[float, float]]:
    """(capture on, capture off) ms of one sampled invocation returning ``value``, per round."""
    from lambdaops import instrument

    @instrument(service="bench")
    def captured(event: Any, context: Any) -> Any:
        return value

    @instrument(service="bench", trace_capture_response=False)
    def not_captured(event: Any, context: Any) -> Any:
        return value

    on = scenarios.invoker(captured, sampled=True)
    off = scenarios.invoker(not_captured, sampled=True)
    for _ in range(3):  # warm: the SDK is imported by the first sampled invocation
        on(), off()
    return [(ms(on), ms(off)) for _ in range(runs)]


def log_rounds(value: Any, runs: int) -> list[tuple[float, float]]:
    """(log.info, json.dumps) ms of ``value``, per round."""
    from lambdaops import log

    for _ in range(2):
        log.info("x", body=value)
    return [
        (ms(lambda: log.info("x", body=value)), ms(lambda: json.dumps(value))) for _ in range(runs)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="rounds (medians are printed)")
    args = parser.parse_args(argv)

    drop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # real sends, no daemon to wake
    drop.bind(("127.0.0.1", 0))
    scenarios.prepare_environment(f"127.0.0.1:{drop.getsockname()[1]}")
    out = sys.stdout
    scenarios.silence_stdout()

    from lambdaops._xray._span import MAX_METADATA

    value = records()
    size = len(json.dumps(value, separators=(",", ":")))
    python = sys.version.split()[0]
    rows = [f"value: {len(value):,} records, {size / 1e6:.1f} MB as JSON; Python {python}"]

    rounds = capture_rounds(value, args.runs)
    on = statistics.median(r[0] for r in rounds)
    off = statistics.median(r[1] for r in rounds)
    capture = statistics.median(r[0] - r[1] for r in rounds)
    rows.append(
        f"capture of the response in a sampled invocation: {capture:.2f} ms "
        f"(invocation {on:.2f} ms captured, {off:.2f} ms not; cut to {MAX_METADATA:,} chars)"
    )
    for name, logged in (("records", value), ("one string", "x" * size)):
        rounds = log_rounds(logged, args.runs)
        line = statistics.median(r[0] for r in rounds)
        dumps = statistics.median(r[1] for r in rounds)
        ratio = statistics.median(r[0] / r[1] for r in rounds)
        rows.append(
            f"log line, {name}: {line:.1f} ms, json.dumps {dumps:.1f} ms, ratio {ratio:.2f}x"
        )
    sys.stdout = out
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
