"""Handlers for the availability acceptance test (issue 13), one per cause, run by awslambdaric.

Each handler is selected by name (``availability_app.<name>``); the event's ``do`` field picks
the variant, so one execution environment serves every variant of a cause.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lambdaops import instrument, log, metrics

#: A response of 6 MiB + 101 bytes once JSON-encoded (the quotes): one byte over the limit.
OVER_SIX_MB = 6 * 1024 * 1024 + 99


@instrument(service="availability")
def respond(event: dict[str, Any], context: Any) -> Any:
    """Cause 1: the handler returns; the runtime then fails to deliver what it returned."""
    do = event.get("do")
    if do == "set":
        return {"gizmos": {1, 2}}
    if do == "datetime":
        return {"at": datetime.datetime(2024, 6, 11, 12, 0, tzinfo=datetime.timezone.utc)}
    if do == "big":
        return "x" * OVER_SIX_MB
    return {"ok": True}


@instrument(service="availability")
def crash(event: dict[str, Any], context: Any) -> Any:
    """Cause 2: the environment dies under the handler (exit, segfault, memory)."""
    do = event.get("do")
    if do == "exit":
        os._exit(1)
    if do == "segfault":
        ctypes.string_at(0)
    if do == "hog":
        held = [bytearray(16 * 1024 * 1024) for _ in range(16)]  # 256 MB, past the limit
        time.sleep(30)
        return len(held)
    return {"ok": True}


@instrument(service="availability")
def stuck(event: dict[str, Any], context: Any) -> Any:
    """Cause 3: stuck until Lambda's deadline, in C with the GIL held or asleep without it."""
    do = event.get("do")
    if do == "regex":
        return bool(re.match(r"(a+)+$", "a" * 40 + "b"))  # holds the GIL for hours
    if do == "sum":
        return sum(range(10**11))  # holds the GIL for minutes
    time.sleep(30)  # releases the GIL: the watchdog writes the timeout record
    return None


@instrument(service="availability")
def late(event: dict[str, Any], context: Any) -> Any:
    """Cause 4: finishes after the watchdog fired, but before Lambda's deadline."""
    time.sleep(float(event["sleep_s"]))
    if event.get("do") == "raise":
        raise RuntimeError("inventory answered late, and badly")
    return {"ok": True}


@instrument(service="availability")
def declines(event: dict[str, Any], context: Any) -> Any:
    """Cause 5: user log fields named ``outcome`` that must not count as invocations."""
    log.info("payment declined", outcome="declined")
    log.info("retry scheduled", outcome="error", lambdaops="user")
    return {"declined": True}


@instrument(service="availability")
def enrich(item: dict[str, Any], context: Any) -> int:
    """An instrumented function the handler below calls from a thread pool."""
    metrics.add("Enriched", 1)
    return int(item["n"]) * 2


@instrument(service="availability")
def fan_out(event: dict[str, Any], context: Any) -> Any:
    """Cause 6: nested instrumented calls on pool threads are the same invocation."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        doubled = list(pool.map(lambda n: enrich({"n": n}, context), range(4)))
    return {"doubled": doubled}


_loops: list[int] = []


@instrument(service="availability")
async def handle_async(event: dict[str, Any], context: Any) -> Any:
    """Cause 7: an ``async def`` handler, which Lambda's runtime itself never awaits."""
    _loops.append(id(asyncio.get_running_loop()))
    await asyncio.sleep(0.001)
    return {"awaited": True, "same_loop": len(set(_loops)) == 1, "calls": len(_loops)}


@instrument(service="availability")
def http(event: dict[str, Any], context: Any) -> Any:
    """Cause 8: an API Gateway handler whose caller gets the status code it returns."""
    code = int(event.get("queryStringParameters", {}).get("status", 200))
    return {"statusCode": code, "body": json.dumps({"status": code})}
