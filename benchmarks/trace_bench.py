"""Warm cost of tracing: lambdaops ``trace`` vs Powertools' Tracer, sampled and not.

Run: ``python benchmarks/trace_bench.py [--quick] [--sink daemon|drop] [--json PATH]``.

Each invocation sets a fresh ``_X_AMZN_TRACE_ID`` (as Lambda does) and runs a
handler that calls one traced function, so a sampled invocation sends two
subsegments (handler + function) for both libraries. Datagrams go over real
UDP to a drain process standing in for the daemon (``--sink drop``: to a
socket nobody reads, which leaves out the cost of waking the daemon). Powertools gets its own
recorder (as when it runs alone) so that lambdaops' configuration of the
global ``xray_recorder`` does not change what is measured for it.

The first table is per invocation (overhead = median minus the bare
handler's, same run; "tracing" = minus lambdaops with tracing off; the ratio
compares overheads). Then the cost of each further sampled subsegment, and
per call of a decorated function with no sampled invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from _harness import Result, measure
from scenarios import trace_headers

_DRAIN = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    s.recv(65536)
"""


def start_drain() -> tuple[subprocess.Popen[str], str]:
    """A separate process reading datagrams, so sends are real and the buffer never fills."""
    proc = subprocess.Popen([sys.executable, "-c", _DRAIN], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    return proc, f"127.0.0.1:{port}"


def start_drop() -> tuple[socket.socket, str]:
    """A bound socket nobody reads: real sendto calls, no daemon process to wake up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"127.0.0.1:{sock.getsockname()[1]}"


EVENT: dict[str, Any] = {"orderId": "o-1", "items": 3}


class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 128
    aws_request_id = "r-1"

    def get_remaining_time_in_millis(self) -> int:
        return 3_600_000


CONTEXT = Context()


def invocation(handler: Callable[..., Any], next_header: Callable[[], str]) -> Callable[[], Any]:
    environ = os.environ

    def run() -> Any:
        environ["_X_AMZN_TRACE_ID"] = next_header()
        return handler(EVENT, CONTEXT)

    return run


def bare() -> Callable[..., Any]:
    def price(items: int) -> int:
        return items * 7

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "total": price(event["items"])}

    return handler


def lambdaops_handler(trace_on: bool, calls: int = 1) -> Callable[..., Any]:
    from lambdaops import instrument, trace

    @trace.capture
    def price(items: int) -> int:
        return items * 7

    @instrument(service="bench", trace=trace_on)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        total = 0
        for _ in range(calls):
            total = price(event["items"])
        return {"statusCode": 200, "total": total}

    return handler  # type: ignore[no-any-return]


def powertools_handler(calls: int = 1) -> Callable[..., Any]:
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.async_recorder import AsyncAWSXRayRecorder

    tracer = Tracer(service="bench", provider=AsyncAWSXRayRecorder(), auto_patch=False)

    @tracer.capture_method
    def price(items: int) -> int:
        return items * 7

    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        total = 0
        for _ in range(calls):
            total = price(event["items"])
        return {"statusCode": 200, "total": total}

    return handler  # type: ignore[no-any-return]


def per_call_scenarios() -> dict[str, Callable[[], Any]]:
    """One decorated function called outside any sampled invocation."""
    from aws_lambda_powertools import Tracer
    from aws_xray_sdk.core.async_recorder import AsyncAWSXRayRecorder

    from lambdaops import trace

    def plain(x: int) -> int:
        return x + 1

    @trace.capture
    def captured(x: int) -> int:
        return x + 1

    def in_block(x: int) -> int:
        with trace.subsegment("block"):
            return x + 1

    tracer = Tracer(service="bench", provider=AsyncAWSXRayRecorder(), auto_patch=False)

    @tracer.capture_method
    def powertools(x: int) -> int:
        return x + 1

    return {
        "bare": lambda: plain(1),
        "@trace.capture": lambda: captured(1),
        "with trace.subsegment()": lambda: in_block(1),
        "powertools capture_method": lambda: powertools(1),
    }


def table(results: dict[str, Result], baseline: str | None = None) -> str:
    """Medians and overheads; each lambdaops row against its Powertools counterpart."""
    bare_us = results["bare"].median_us
    head = "| scenario | median µs | spread µs | overhead µs |"
    rule = "|---|---:|---:|---:|"
    if baseline:
        head += " tracing µs | powertools overhead ÷ this |"
        rule += "---:|---:|"
    lines = [head, rule]
    for name, res in results.items():
        over = res.median_us - bare_us
        row = f"| {name} | {res.median_us:.2f} | {res.spread_us:.2f} | {over:.2f} |"
        if baseline:
            ours = name.startswith("lambdaops")
            tracing = f" {res.median_us - results[baseline].median_us:.2f}" if ours else ""
            counterpart = results.get(name.replace("lambdaops", "powertools"))
            ratio = ""
            if ours and counterpart is not None and over > 0:
                ratio = f" {(counterpart.median_us - bare_us) / over:.1f}×"
            row += f"{tracing} |{ratio} |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for CI")
    parser.add_argument("--json", help="write results to this file")
    parser.add_argument(
        "--sink",
        choices=("daemon", "drop"),
        default="daemon",
        help="daemon: a process reads every datagram (each send wakes it, as the X-Ray "
        "daemon); drop: nobody reads them (in-process cost only)",
    )
    args = parser.parse_args(argv)
    rounds, batch = (11, 300) if args.quick else (31, 1000)

    drain: subprocess.Popen[str] | None = None
    if args.sink == "daemon":
        drain, address = start_drain()
    else:
        _kept_open, address = start_drop()  # bound for the whole run
    os.environ.update(
        {
            "LAMBDA_TASK_ROOT": os.path.dirname(os.path.abspath(__file__)),
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_XRAY_DAEMON_ADDRESS": address,
            "_HANDLER": "bench.handler",
            "LAMBDAOPS_OUTCOME": "false",  # measure tracing, not the outcome record
        }
    )
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives for the whole run
    try:
        sampled, unsampled = trace_headers(True), trace_headers(False)
        invocations = {
            "bare": invocation(bare(), sampled),
            "lambdaops, trace off": invocation(lambdaops_handler(False), sampled),
            "lambdaops, unsampled": invocation(lambdaops_handler(True), unsampled),
            "lambdaops, sampled": invocation(lambdaops_handler(True), sampled),
            "lambdaops, sampled, 10 calls": invocation(lambdaops_handler(True, 10), sampled),
            "powertools, unsampled": invocation(powertools_handler(), unsampled),
            "powertools, sampled": invocation(powertools_handler(), sampled),
            "powertools, sampled, 10 calls": invocation(powertools_handler(10), sampled),
        }
        per_invocation = measure(invocations, rounds=rounds, batch=batch)
        os.environ["_X_AMZN_TRACE_ID"] = unsampled()
        per_call = measure(per_call_scenarios(), rounds=rounds, batch=batch * 10)
    finally:
        sys.stdout = out
        if drain is not None:
            drain.kill()
            drain.wait()

    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"{rounds} rounds x {batch} invocations; datagrams to: {args.sink}"
    )
    print("\nPer invocation (handler + one traced call):")
    print(table(per_invocation, "lambdaops, trace off"))
    print("\nPer extra sampled subsegment (10 calls minus 1, over 9):")
    for lib in ("lambdaops", "powertools"):
        ten = per_invocation[f"{lib}, sampled, 10 calls"].median_us
        one = per_invocation[f"{lib}, sampled"].median_us
        print(f"  {lib}: {(ten - one) / 9:.2f} µs")
    print("\nPer call, no sampled invocation:")
    print(table(per_call))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "python": platform.python_version(),
                    "rounds": rounds,
                    "batch": batch,
                    "sink": args.sink,
                    "per_invocation_us": {n: r.median_us for n, r in per_invocation.items()},
                    "per_call_us": {n: r.median_us for n, r in per_call.items()},
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
