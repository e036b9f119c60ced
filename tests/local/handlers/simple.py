"""Handlers for the local-runtime tests; each shows one thing the runtime must carry."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

print("simple: module init")  # init-phase output, read before the first invocation

_COUNT = 0  # module state survives between warm invocations


def echo(event: Any, context: Any) -> dict[str, Any]:
    global _COUNT
    _COUNT += 1
    return {"event": event, "count": _COUNT, "pid": os.getpid()}


def boom(event: Any, context: Any) -> None:
    raise ValueError(f"boom: {event}")


def sleepy(event: Any, context: Any) -> str:
    print("sleepy: going to sleep")
    time.sleep(float(event["sleep"]))
    return "awake"


def trace(event: Any, context: Any) -> str | None:
    return os.environ.get("_X_AMZN_TRACE_ID")


def request_id(event: Any, context: Any) -> str:
    return str(context.aws_request_id)


def remaining(event: Any, context: Any) -> int:
    return int(context.get_remaining_time_in_millis())


def chatty(event: Any, context: Any) -> int:
    for i in range(int(event["n"])):
        print(f"line {i}")
    sys.stdout.write("no newline at the end")
    return int(event["n"])


def environ(event: Any, context: Any) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in event["names"]}


def die(event: Any, context: Any) -> None:
    print("die: exiting", flush=True)
    os._exit(3)
