"""Handlers for tests/local/test_tune.py: one CPU-bound, one waiting on I/O."""

from __future__ import annotations

import time
from typing import Any


def busy(event: dict[str, Any], context: Any) -> int:
    total = 0
    for i in range(int(event["n"])):
        total += i * i
    return total


def waits(event: dict[str, Any], context: Any) -> str:
    time.sleep(float(event["sleep_s"]))
    return "ok"
