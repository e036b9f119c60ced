"""What ``import lambdaops`` and a warm invocation load: the cold-start budget as a test.

Timing belongs in benchmarks/; this only pins which modules load, so a regression
(an eager import of a heavy library) fails here with its name.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
before = set(sys.modules)
import lambdaops
from lambdaops import instrument, log, metrics, trace

@instrument(service="probe")
def handler(event, context):
    log.info("hello", n=1)
    metrics.add("Things", 1)
    return trace.capture(lambda: 1)()

class Ctx:
    aws_request_id = "r"; function_name = "f"; memory_limit_in_mb = "128"
    def get_remaining_time_in_millis(self): return 3000

handler({}, Ctx())
print(json.dumps(sorted(set(sys.modules) - before)))
"""

#: Heavy or needless at start: each costs milliseconds of cold start when imported.
NOT_AT_START = [
    "boto3",
    "botocore",
    "aws_xray_sdk",
    "aws_embedded_metrics",
    "structlog",
    "wrapt",
    "inspect",
    "dataclasses",
    "asyncio",
    "random",
    "lambdaops._params",
    "lambdaops._xray",
]


@pytest.fixture(scope="module")
def loaded() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "", "LAMBDA_TASK_ROOT": "/var/task"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("module", NOT_AT_START)
def test_an_invocation_does_not_import(module: str, loaded: list[str]) -> None:
    assert module not in loaded, f"{module} is imported by import lambdaops or a warm invocation"


def test_params_load_on_first_use() -> None:
    import lambdaops
    from lambdaops import ParameterError, params

    assert type(params).__name__ == "Parameters"
    assert issubclass(ParameterError, lambdaops.LambdaopsError)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        lambdaops.nothing  # noqa: B018
