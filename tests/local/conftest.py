"""Fixtures for the local runtime's tests: environments over tests/local/handlers, and
normalizers that keep every platform record exact except its timings.

Durations, timestamps and memory figures change from run to run; everything else in a
platform record (its kind, request id, status, error type, field names and order) is
compared exactly. The shapes follow AWS's pages, cited in lambdaops/local/_platform.py:
https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html and
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops.local import Environment

HANDLERS = Path(__file__).parent / "handlers"

MakeEnv = Callable[..., Environment]

_MS = re.compile(r"(Duration|Billed Duration|Init Duration): \d+(\.\d\d)? ms")
_MEMORY = re.compile(r"Max Memory Used: \d+ MB")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


@pytest.fixture
def make_env() -> Iterator[MakeEnv]:
    envs: list[Environment] = []

    def make(handler: str, **kwargs: Any) -> Environment:
        env = Environment(handler, code_dir=HANDLERS, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.stop()


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def platform_records(env: Environment, since: int = 0, keep_memory: bool = False) -> list[Any]:
    """The platform records from ``since``, timings blanked: text lines, or JSON objects."""
    records = [text for stream, text in env.events_since(since) if stream == "platform"]
    return [normalize(record, keep_memory) for record in records]


def normalize(record: str, keep_memory: bool = False) -> Any:
    """One platform record with its timings (and, unless kept, memory figure) blanked."""
    if record.startswith("{"):
        doc = json.loads(record)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["time"]), doc
        doc["time"] = "T"
        metrics = doc["record"].get("metrics", {})
        for key in ("durationMs", "billedDurationMs", "initDurationMs"):
            if key in metrics:
                assert isinstance(metrics[key], (int, float)) and metrics[key] >= 0, doc
                metrics[key] = "X"
        if "maxMemoryUsedMB" in metrics and not keep_memory:
            assert isinstance(metrics["maxMemoryUsedMB"], int), doc
            metrics["maxMemoryUsedMB"] = "X"
        return doc
    text = _MS.sub(lambda m: f"{m.group(1)}: X ms", record)
    if not keep_memory:
        text = _MEMORY.sub("Max Memory Used: X MB", text)
    return _STAMP.sub("T ", text)


def function_events(env: Environment, since: int = 0) -> list[tuple[str, str]]:
    """The function's own events (stdout, stderr, telemetry frames) from ``since``."""
    return [(s, t) for s, t in env.events_since(since) if s != "platform"]
