"""What the OpenTelemetry backend costs against the X-Ray one (issue 17).

Run: ``python benchmarks/otel_cost.py [--rounds N]``. One process, a handler that calls
one ``@trace.capture``'d function (two spans a sampled invocation), a fresh
``_X_AMZN_TRACE_ID`` per invocation as Lambda sets it. Microseconds per invocation,
median of rounds, minus the same handler undecorated:

* unsampled, each backend (the wrappers are the same: one global read);
* sampled, ``xray``: subsegments sent over UDP to a socket nobody reads;
* sampled, ``otel``, on lambdaops' own provider (no provider configured): the spans
  encoded as OTLP with the POST skipped (what lambdaops does in the function, as the
  X-Ray row's UDP send), and posted over OTLP/HTTP to a local receiver, flushed before
  each invocation returns (what a function without the ADOT layer pays, the HTTP round
  trip and the receiver, in this process, included);
* sampled, ``otel``, on the OpenTelemetry SDK (a provider configured, as the ADOT layer
  does), spans dropped: the SDK's own cost per span included;

and the import cost of the OpenTelemetry packages, in a fresh interpreter. docs/tracing.md
and the README's dependency table quote the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

_IMPORT_PROBE = """
import time
import lambdaops
t0 = time.perf_counter()
import opentelemetry.trace
t1 = time.perf_counter()
import lambdaops._otel
t2 = time.perf_counter()
import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter
t3 = time.perf_counter()
print((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
"""


class Imports(NamedTuple):
    """Milliseconds to import, each on top of the one before."""

    api: float  # opentelemetry-api
    backend: float  # lambdaops' otel backend and its own provider
    sdk: float  # the SDK and its OTLP/HTTP exporter, which lambdaops does not import


def import_ms(runs: int) -> Imports:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=True
        )
        samples.append([float(x) for x in out.stdout.split()])
    return Imports(*(statistics.median(column) for column in zip(*samples, strict=True)))


def _header(sampled: int) -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={sampled}"


_RECEIVER = """
import json, sys
from lambdaops.local import OTLPReceiver
receiver = OTLPReceiver().start()
print(receiver.endpoint, flush=True)
sys.stdin.read()
resources = [rs for r in receiver.received for rs in r.request.resource_spans]
spans = sum(len(scope.spans) for rs in resources for scope in rs.scope_spans)
print(json.dumps({"spans": spans, "refused": len(receiver.refused)}), flush=True)
"""


_INSTANT = """
import socket, sys, threading
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(8)
print(listener.getsockname()[1], flush=True)
def serve(conn):
    reader = conn.makefile("rb")
    while True:
        length = None
        line = reader.readline()
        if not line:
            return
        while (header := reader.readline()) not in (b"\\r\\n", b""):
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
        reader.read(length or 0)
        conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


@contextlib.contextmanager
def instant_collector() -> Iterator[str]:
    """A stand-in that answers 200 as soon as it has read a request, without decoding it, in
    a process of its own: what the round trip itself costs the function."""
    child = subprocess.Popen([sys.executable, "-c", _INSTANT], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        yield f"http://127.0.0.1:{child.stdout.readline().strip()}/v1/traces"
    finally:
        child.kill()
        child.wait()


@contextlib.contextmanager
def receiver_process() -> Iterator[tuple[str, dict[str, int]]]:
    """lambdaops' OTLP receiver in a process of its own, as the collector extension runs
    beside the function: its decoding is not the function's time. Yields its endpoint and,
    once closed, how many spans it took and how many requests it refused."""
    child = subprocess.Popen(
        [sys.executable, "-c", _RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    counts: dict[str, int] = {}
    try:
        yield child.stdout.readline().strip(), counts
    finally:
        out, _ = child.communicate("", timeout=30)
        counts.update(json.loads(out.splitlines()[-1]))


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


class _Encoded:
    """An exporter that takes the encoded request and sends nothing."""

    def ready(self) -> bool:
        return True

    def export(self, body: bytes, timeout_s: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def on_the_sdk(rounds: int, number: int) -> float:
    """The otel backend on an SDK tracer (as under the ADOT layer), its spans dropped."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from lambdaops import _otel
    from lambdaops._otel import _capture

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    saved = _otel._tracer, _otel._own
    _otel._tracer = _capture.tracer = provider.get_tracer("lambdaops")
    _otel._own = None
    try:
        return per_invocation(handlers("otel"), 1, rounds, number)
    finally:
        _otel._tracer, _otel._own = saved
        _capture.tracer = saved[0]


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
    with receiver_process() as (endpoint, counts):
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
        rows["unsampled, otel"] = per_invocation(handlers("otel"), 0, rounds, number)
        rows["sampled, otel (OTLP/HTTP to a collector, flushed)"] = per_invocation(
            handlers("otel"), 1, rounds, number // 4
        )
    if counts["refused"] or not counts["spans"]:
        raise SystemExit(f"the receiver did not take the spans: {counts}")
    from lambdaops import _otel
    from lambdaops._otel import _http, _provider

    exporter = _otel._own.exporter
    with instant_collector() as url:
        _otel._own.exporter = _provider.BackingOff(_http.Exporter(url, 2.0))
        rows["sampled, otel (OTLP/HTTP to a stand-in answering at once, flushed)"] = per_invocation(
            handlers("otel"), 1, rounds, number // 4
        )
        if _otel._own.exporter.failures:
            raise SystemExit("the stand-in collector did not answer")
    _otel._own.exporter = _Encoded()
    rows["sampled, otel (encoded, POST skipped)"] = per_invocation(
        handlers("otel"), 1, rounds, number // 4
    )
    _otel._own.exporter = exporter
    rows["sampled, otel on the SDK (spans dropped)"] = on_the_sdk(rounds, number // 4)
    print("| backend, invocation | overhead |\n|---|---:|")
    for label, micros in rows.items():
        print(f"| {label} | {micros - base_unsampled:.1f} µs |")
    imports = import_ms(rounds)
    print(
        f"\nimport opentelemetry-api: {imports.api:.1f} ms; lambdaops' otel backend on it:"
        f" {imports.backend:.1f} ms; the SDK and its OTLP/HTTP exporter (not imported by"
        f" lambdaops): {imports.sdk:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
