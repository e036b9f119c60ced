"""What ``lambdaops.params`` costs: loading it, and a cached read.

Run: ``python benchmarks/params_cost.py [--runs N]``. The import figures are medians over
N fresh interpreters of ``from lambdaops import params`` (and then ``ParamsSignal``, which a
handler with ``@instrument(params=...)`` loads) after awslambdaric's bootstrap and
``import lambdaops``. The read figures are per call, medians of rounds, against a fake
client that has answered once (no boto3, no network): a read served from the cache.
The masking figures are per line of ~300 bytes holding no secret, with 3 and then 10
secrets registered (every line lambdaops writes pays it once a secret is loaded).
docs/parameters.md and lambdaops/__init__.py quote them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import timeit
from typing import Any

_IMPORT_PROBE = """
import time
import awslambdaric.bootstrap, awslambdaric.lambda_runtime_client
import lambdaops
t = time.perf_counter()
from lambdaops import params
t2 = time.perf_counter()
from lambdaops._params import ParamsSignal
t3 = time.perf_counter()
print((t2 - t) * 1000, (t3 - t2) * 1000)
"""


class _FakeClient:
    """Answers like boto3's clients, for the one fetch that fills the cache."""

    class meta:
        region_name = "us-east-1"

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        return {"Parameter": {"Name": Name, "Value": '{"rps": 5}', "Type": "String"}}

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        return {"SecretString": "benchmark-secret-value"}


def import_ms(runs: int) -> tuple[float, float]:
    env = dict(os.environ, LAMBDA_TASK_ROOT="/var/task")
    params_ms, signal_ms = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        first, second = map(float, out.stdout.split())
        params_ms.append(first)
        signal_ms.append(second)
    return statistics.median(params_ms), statistics.median(signal_ms)


def read_ns(rounds: int, number: int = 100_000) -> dict[str, float]:
    from lambdaops import params

    aws = params._fetcher()
    aws._clients.update(ssm=_FakeClient(), secretsmanager=_FakeClient())
    calls = {
        "params.get(name)": "get('/shop/limits')",
        "params.get(name, transform='json')": "get('/shop/limits.json', transform='json')",
        "params.secret(secret_id)": "secret('shop/db')",
    }
    names = {"get": params.get, "secret": params.secret}
    for stmt in calls.values():
        eval(stmt, names)  # the one fetch: every timed call is a cached read
    return {
        label: statistics.median(
            timeit.timeit(stmt, globals=names, number=number) / number * 1e9 for _ in range(rounds)
        )
        for label, stmt in calls.items()
    }


_LINE = (
    '{"timestamp":"2026-11-26T11:27:56.488Z","level":"INFO","message":"order shipped",'
    '"service":"gizmos","request_id":"8f5c2e1a-0000-4000-8000-000000000001",'
    '"function_name":"gizmos","cold_start":false,"correlation_id":"order-42","gizmos":3}'
)


def mask_ns(rounds: int, number: int = 100_000) -> dict[int, float]:
    """Nanoseconds ``_redact.redact`` takes for one line, by how many secrets are registered."""
    from lambdaops import _redact

    out = {}
    try:
        for count in (3, 10):
            _redact.clear()
            for n in range(count):
                _redact.register(f"benchmark-secret-{n:02d}-value", min_length=0)
            out[count] = statistics.median(
                timeit.timeit(lambda: _redact.redact(_LINE), number=number) / number * 1e9
                for _ in range(rounds)
            )
    finally:
        _redact.clear()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21, help="fresh processes / read rounds")
    args = parser.parse_args(argv)
    from _harness import precompile

    precompile()
    params_ms, signal_ms = import_ms(args.runs)
    print("| what | cost (median) |\n|---|---:|")
    print(f"| `from lambdaops import params`, after `import lambdaops` | {params_ms:.2f} ms |")
    print(f"| then `ParamsSignal` (`@instrument(params=...)`) | {signal_ms:.2f} ms |")
    for label, ns in read_ns(args.runs).items():
        print(f"| cached `{label}` | {ns / 1000:.2f} µs |")
    for count, ns in mask_ns(args.runs).items():
        print(f"| masking a line, {count} secrets registered | {ns / 1000:.2f} µs |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
