from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from lambdaops import instrument, log, metrics
from lambdaops._watchdog import _watchdog, default_margin_ms
from lambdaops.testing import Capture, LambdaContext


def outcomes(cap: Capture) -> list[dict[str, Any]]:
    return [r for r in cap.records if r.get("lambdaops") == "outcome"]


def stuck_in_downstream(seconds: float) -> None:
    time.sleep(seconds)


def test_timeout_is_recorded_before_the_deadline(lambdaops_capture: Capture) -> None:
    written_at: list[float] = []
    capture_write = lambdaops_capture.write

    def stamped(text: str) -> None:
        written_at.append(time.time())
        capture_write(text)

    from lambdaops import _output

    _output.set_sink(stamped)

    @instrument(timeout_margin_ms=200)
    def handler(event: Any, context: Any) -> str:
        log.debug("about to call downstream")
        metrics.add("Started", 1)
        stuck_in_downstream(1.2)
        return "late"

    ctx = LambdaContext(timeout_s=1.0)
    deadline = ctx._epoch_deadline_time_in_ms / 1000
    assert handler({}, ctx) == "late"  # the handler's result still passes through
    recs = outcomes(lambdaops_capture)
    assert len(recs) == 1  # no second record when the handler finishes after all
    rec = recs[0]
    assert rec["outcome"] == "timeout" and rec["error_type"] == "Timeout"
    assert rec["stuck_in"].startswith("stuck_in_downstream (")
    assert rec["stack"][-1]["function"] == "stuck_in_downstream"
    assert rec["Timeout"] == 1 and rec["Started"] == 1  # metrics flushed with it
    assert rec["duration_ms"] < 1000
    # the buffered debug line was flushed, and everything was written before the deadline
    assert "about to call downstream" in lambdaops_capture.messages("DEBUG")
    assert max(written_at) < deadline


def test_no_thread_leak_and_disarmed_after_each_invocation(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        return None

    handler({}, LambdaContext())
    before = threading.active_count()
    for _ in range(200):
        handler({}, LambdaContext())
    assert threading.active_count() == before
    assert _watchdog.armed() == 0
    assert [r["outcome"] for r in outcomes(lambdaops_capture)] == ["success"] * 201


def test_no_deadline_no_watch(lambdaops_capture: Capture) -> None:
    class NoDeadline:
        aws_request_id = "r"

    seen: list[int] = []

    @instrument
    def handler(event: Any, context: Any) -> None:
        seen.append(_watchdog.armed())

    handler({}, NoDeadline())
    handler({}, None)
    assert seen == [0, 0]


@pytest.mark.parametrize(
    ("remaining", "margin"), [(100, 50), (2000, 200), (3000, 300), (900_000, 500)]
)
def test_default_margin_scales_with_short_timeouts(remaining: int, margin: int) -> None:
    assert default_margin_ms(remaining) == margin


def test_a_forked_child_leaves_the_parents_invocations_alone(lambdaops_capture: Capture) -> None:
    from lambdaops import _scope

    watched: list[int] = []

    @instrument
    def handler(event: Any, context: Any) -> None:
        watched.append(_watchdog.armed())
        _watchdog._after_fork()  # what os.register_at_fork runs in a child
        watched.append(_watchdog.armed())

    handler({}, LambdaContext())
    assert watched == [1, 0]  # the child's watchdog would never fire the parent's request
    assert _scope._in_flight == []
    assert [r["outcome"] for r in outcomes(lambdaops_capture)] == ["success"]
