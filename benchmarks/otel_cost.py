"""What the OpenTelemetry backend costs against the X-Ray one (issue 17).

Run: ``python benchmarks/otel_cost.py [--rounds N]``. One process, a handler that calls
one ``@trace.capture``'d function (two spans a sampled invocation), a fresh
``_X_AMZN_TRACE_ID`` per invocation as Lambda sets it. Microseconds per invocation,
median of rounds, minus the same handler undecorated:

* unsampled, each backend (the wrappers are the same: one global read);
* sampled, ``xray``: subsegments sent over UDP to a socket nobody reads;
* sampled, ``otel``: spans on the SDK, to an exporter that drops them (what lambdaops
  adds in the function), and to lambdaops' own provider exporting OTLP/HTTP to a local
  receiver and flushed before each invocation returns (what a function without the
  ADOT layer pays, the HTTP round trip included);

and the import cost of the OpenTelemetry packages, in a fresh interpreter. docs/tracing.md
and the README's dependency table quote the figures.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from typing import Any

_IMPORT_PROBE = """
import time
t = time.perf_counter()
import opentelemetry.trace, opentelemetry.sdk.trace
t2 = time.perf_counter()
import opentelemetry.exporter.otlp.proto.http.trace_exporter
t3 = time.perf_counter()
print((t2 - t) * 1000, (t3 - t2) * 1000)
"""


def import_ms(runs: int) -> tuple[float, float]:
    api, exporter = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True
        )
        first, second = map(float, out.stdout.split())
        api.append(first)
        exporter.append(second)
    return statistics.median(api), statistics.median(exporter)


def _header(sampled: int) -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={sampled}"


def per_invocation(handler: Callable[..., Any], sampled: int, rounds: int, number: int) -> float:
    from lambdaops.testing import LambdaContext

    headers = [_header(sampled) for _ in range(number)]
    context = LambdaContext()
    environ = os.environ

    def run() -> None:
        for header in headers:
            environ["_X_AMZN_TRACE_ID"] = header
            handler({}, context)

    run()  # warm: the backend loads on the first sampled invocation
    return statistics.median(timeit.timeit(run, number=1) / number * 1e6 for _ in range(rounds))


def handlers(backend: str) -> Callable[..., Any]:
    from lambdaops import instrument, trace

    @trace.capture
    def price(items: int) -> int:
        return items * 3

    @instrument(service="bench", trace_backend=backend, outcome=False)
    def handler(event: Any, context: Any) -> int:
        return price(2)

    return handler


def bare(event: Any, context: Any) -> int:
    return 2 * 3


class _Drop:
    """A span exporter that keeps nothing: the SDK's work, without the export."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)
    rounds, number = args.rounds, args.number
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.update(LAMBDA_TASK_ROOT="/var/task", AWS_LAMBDA_FUNCTION_NAME="bench")
    from lambdaops import _output, _trace

    _output.set_sink(lambda text: None)
    drop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    drop.bind(("127.0.0.1", 0))
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = f"127.0.0.1:{drop.getsockname()[1]}"
    base_unsampled = per_invocation(bare, 0, rounds, number)
    rows: dict[str, float] = {}
    rows["unsampled, xray"] = per_invocation(handlers("xray"), 0, rounds, number)
    rows["sampled, xray (UDP)"] = per_invocation(handlers("xray"), 1, rounds, number // 4)
    _trace.reset()
    from lambdaops.local import OTLPReceiver  # a real OTLP/HTTP endpoint on loopback

    with OTLPReceiver() as receiver:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        rows["unsampled, otel"] = per_invocation(handlers("otel"), 0, rounds, number)
        rows["sampled, otel (OTLP/HTTP, flushed)"] = per_invocation(
            handlers("otel"), 1, rounds, number // 20
        )
    from lambdaops import _otel
    from lambdaops._otel._provider import InvocationBatch

    processors = _otel._own._active_span_processor._span_processors
    _otel._own._active_span_processor._span_processors = (InvocationBatch(_Drop()),)
    rows["sampled, otel (spans dropped)"] = per_invocation(handlers("otel"), 1, rounds, number // 4)
    _otel._own._active_span_processor._span_processors = processors
    print("| backend, invocation | overhead |\n|---|---:|")
    for label, micros in rows.items():
        print(f"| {label} | {micros - base_unsampled:.1f} µs |")
    api_ms, exporter_ms = import_ms(rounds)
    print(
        f"\nimport opentelemetry API + SDK: {api_ms:.1f} ms;"
        f" OTLP/HTTP exporter: {exporter_ms:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
