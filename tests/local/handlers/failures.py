"""Handlers that fail the ways Lambda reports at the platform level, one per way."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from typing import Any

print("failures: module init")


def ok(event: Any, context: Any) -> str:
    print(f"ok: {context.aws_request_id}")
    return "fine"


def boom(event: Any, context: Any) -> None:
    raise ValueError(f"boom: {event}")


def slow(event: Any, context: Any) -> None:
    print("slow: sleeping")
    time.sleep(30)


def exit1(event: Any, context: Any) -> None:
    print("exit1: leaving", flush=True)
    os._exit(1)


def segfault(event: Any, context: Any) -> None:
    ctypes.string_at(0)


def hog(event: Any, context: Any) -> None:
    """Grows by 8 MB every 10 ms to 400 MB, then holds it (the watcher must catch it)."""
    chunks = []
    for _ in range(50):
        chunks.append(bytearray(8 * 1024 * 1024))
        time.sleep(0.01)
    time.sleep(30)


def hog_in_child(event: Any, context: Any) -> None:
    """The memory is in a child process: Lambda's limit is on the whole environment."""
    code = "import time; b = bytearray(200 * 1024 * 1024); time.sleep(30)"
    subprocess.run([sys.executable, "-c", code], check=False)


def big(event: Any, context: Any) -> str:
    """A response of 6 MiB + 101 bytes once JSON-encoded: one byte over Lambda's limit."""
    return "x" * (6 * 1024 * 1024 + 99)


def just_under(event: Any, context: Any) -> str:
    """6 MiB + 100 bytes once JSON-encoded (the two quotes): exactly Lambda's limit."""
    return "x" * (6 * 1024 * 1024 + 98)
