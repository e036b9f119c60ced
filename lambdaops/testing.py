"""Test helpers for users of lambdaops, and a pytest plugin.

Installed as a pytest plugin (entry point ``pytest11``), it provides:

* ``lambda_context`` — a stand-in for the Lambda context object, with a deadline;
* ``lambdaops_capture`` — every line lambdaops writes during the test, parsed.

Outside pytest, :func:`capture` and :class:`LambdaContext` work the same.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lambdaops import _output


@dataclass
class LambdaContext:
    """The attributes and method of awslambdaric's context that handlers use."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    timeout_s: float = 3.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/01/[$LATEST]test"
    #: Epoch milliseconds, as awslambdaric keeps it.
    _epoch_deadline_time_in_ms: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not self._epoch_deadline_time_in_ms:
            self._epoch_deadline_time_in_ms = int((time.time() + self.timeout_s) * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._epoch_deadline_time_in_ms - int(time.time() * 1000))


class Capture:
    """Lines written by lambdaops while installed, with parsed views."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every line as a parsed JSON object."""
        return [json.loads(line) for line in self.lines]

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Log lines only (those with a ``level``)."""
        return [r for r in self.records if "level" in r and "message" in r]

    @property
    def outcomes(self) -> list[dict[str, Any]]:
        """Outcome records only (``"lambdaops": "outcome"``), in the order written."""
        return [r for r in self.records if r.get("lambdaops") == "outcome"]

    def messages(self, level: str | None = None) -> list[str]:
        """The ``message`` of each log line, optionally of one level."""
        return [r["message"] for r in self.logs if level is None or r["level"] == level]

    def clear(self) -> None:
        self.lines.clear()


@contextmanager
def capture() -> Iterator[Capture]:
    """Capture lambdaops' output instead of writing it to stdout."""
    cap = Capture()
    previous = _output.set_sink(cap.write)
    try:
        yield cap
    finally:
        _output.set_sink(previous)


def reset() -> None:
    """Forget process state: the next invocation is a cold start again."""
    from lambdaops import _lifecycle, _params, _redact, _report, _scope

    _lifecycle.reset_cold_start()
    _scope.reset_process_scope()
    _report.reset()
    _params.params.clear()
    _redact.clear()


try:  # the pytest plugin part, only when pytest is there
    import pytest
except ImportError:  # pragma: no cover
    pass
else:

    @pytest.fixture
    def lambda_context() -> LambdaContext:
        """A fresh Lambda context with a new request id and a 3 s deadline."""
        return LambdaContext()

    @pytest.fixture
    def lambdaops_capture() -> Iterator[Capture]:
        """Everything lambdaops writes during the test; cold start reset first."""
        reset()
        with capture() as cap:
            yield cap
