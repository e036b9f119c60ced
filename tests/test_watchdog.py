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


# -- each part of the watchdog pinned (mutation testing, docs/mutation.md) ------------------


def test_a_fresh_watchdog_thread_fires_each_deadline_and_lives_on(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process's watchdog thread is started by whichever test comes first; this one
    starts its own, so that the thread's loop is exercised (and attributed) here."""
    from lambdaops import _watchdog as wd

    errors: list[tuple[str, str]] = []
    monkeypatch.setattr(wd, "internal_error", lambda where, exc: errors.append((where, repr(exc))))
    fired_by: list[int] = []
    fire = wd.fire

    def spy(inv: Any) -> None:
        fired_by.append(threading.get_ident())
        fire(inv)

    monkeypatch.setattr(wd, "fire", spy)
    fresh = wd.Watchdog()
    monkeypatch.setattr(wd, "_watchdog", fresh)

    @instrument(timeout_margin_ms=300)
    def handler(event: Any, context: Any) -> bool:
        if event["stuck"]:
            stuck_in_downstream(0.8)
        return bool(event["stuck"])

    # ends at once: the thread is left to sleep until this deadline's firing time (+1.2 s)
    assert handler({"stuck": False}, LambdaContext(timeout_s=1.5)) is False
    assert fresh._thread is not None
    fresh._wake.set()  # wake it with nothing in flight: it goes back to sleep until then
    time.sleep(0.05)
    # fires at +0.3 s, less than a second before the planned wake-up: arming wakes it
    assert handler({"stuck": True}, LambdaContext(timeout_s=0.6)) is True
    assert handler({"stuck": True}, LambdaContext(timeout_s=0.6)) is True  # and again
    assert [r["outcome"] for r in outcomes(lambdaops_capture)] == ["success", "timeout", "timeout"]
    assert errors == []
    thread = fresh._thread
    assert (thread.name, thread.daemon, thread.is_alive()) == ("lambdaops-watchdog", True, True)
    # Each timeout fired once; the process-wide thread an earlier test started also watches
    # the invocations in flight and may win one of them, so only this thread's share is sure.
    assert len(fired_by) == 2 and thread.ident in fired_by


def test_fire_ends_the_invocation_as_current_in_the_watchdog_thread(
    lambdaops_capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdaops import _scope
    from lambdaops import _watchdog as wd

    errors: list[str] = []
    monkeypatch.setattr(wd, "internal_error", lambda where, exc: errors.append(where))
    current: list[tuple[str | None, bool]] = []

    class SeesCurrent:
        name = "sees-current"
        start = None

        def finish(self, inv: Any) -> None:
            current.append((inv.outcome, _scope._current.get() is inv))

    @instrument(timeout_margin_ms=300)
    def handler(event: Any, context: Any) -> None:
        stuck_in_downstream(0.6)

    lifecycle = handler.lambdaops_lifecycle  # type: ignore[attr-defined]
    lifecycle.plan((SeesCurrent(), *lifecycle.signals))
    handler({}, LambdaContext(timeout_s=0.5))
    assert current[0] == ("timeout", True)
    assert errors == []
    assert _scope._current.get() is None  # and the watchdog thread's context is reset


def nest(depth: int) -> None:
    if depth:
        nest(depth - 1)
    else:
        stuck_in_downstream(0.6)


def test_the_stack_is_the_innermost_30_frames(lambdaops_capture: Capture) -> None:
    @instrument(timeout_margin_ms=300)
    def handler(event: Any, context: Any) -> None:
        nest(40)

    handler({}, LambdaContext(timeout_s=0.5))
    (rec,) = outcomes(lambdaops_capture)
    assert [f["function"] for f in rec["stack"]] == ["nest"] * 29 + ["stuck_in_downstream"]


class EpochOnly:
    """A context with awslambdaric's epoch deadline and nothing else."""

    def __init__(self, deadline_ms: int | None) -> None:
        self._epoch_deadline_time_in_ms = deadline_ms


class RemainingOnly:
    """A context that only answers get_remaining_time_in_millis()."""

    def __init__(self, remaining: Any) -> None:
        self.remaining = remaining

    def get_remaining_time_in_millis(self) -> Any:
        return self.remaining


def started(context: Any, margin_ms: int | None = 200) -> tuple[Any, Any]:
    """A TimeoutSignal and an invocation (not in flight: nothing fires) after its start."""
    from lambdaops._config import resolve
    from lambdaops._scope import Invocation
    from lambdaops._watchdog import TimeoutSignal

    config = resolve(timeout_margin_ms=margin_ms, environ={})
    signal = TimeoutSignal(config)
    inv = Invocation(config, {}, context, None)
    signal.start(inv)
    return signal, inv


def test_the_epoch_deadline_is_used_as_it_is() -> None:
    deadline = int(time.time() * 1000) + 5000

    class Both(EpochOnly):
        def get_remaining_time_in_millis(self) -> int:
            return 60_000  # disagrees: the epoch deadline wins

    for context in (EpochOnly(deadline), Both(deadline)):
        _, inv = started(context)
        assert (inv.deadline_ms, inv.fire_at) == (deadline, (deadline - 200) / 1000)
        assert inv.thread_id == threading.get_ident()


def test_without_an_epoch_deadline_the_remaining_time_sets_it() -> None:
    before = int(time.time() * 1000)
    _, inv = started(RemainingOnly(5000))
    after = int(time.time() * 1000)
    assert before + 5000 <= inv.deadline_ms <= after + 5000
    assert inv.fire_at == (inv.deadline_ms - 200) / 1000


@pytest.mark.parametrize("remaining", [0, -5, "5000", None])
def test_no_usable_remaining_time_arms_nothing(remaining: Any) -> None:
    _, inv = started(RemainingOnly(remaining))
    assert (inv.deadline_ms, inv.fire_at, inv.thread_id) == (0, float("inf"), 0)


@pytest.mark.parametrize("context", [None, object(), EpochOnly(None)])
def test_a_context_without_deadline_or_remaining_time_arms_nothing(context: Any) -> None:
    _, inv = started(context)  # and raises nothing
    assert (inv.deadline_ms, inv.fire_at, inv.thread_id) == (0, float("inf"), 0)


def test_the_default_margin_is_a_tenth_of_the_first_remaining_time() -> None:
    before = time.time() * 1000
    deadline = int(before) + 2000
    signal, inv = started(EpochOnly(deadline), margin_ms=None)
    after = time.time() * 1000
    assert int((deadline - after) * 0.1) <= signal.margin_ms <= int((deadline - before) * 0.1)
    assert inv.fire_at == (deadline - signal.margin_ms) / 1000
    # a deadline already past: nothing armed, and no margin worked out from it
    signal, inv = started(EpochOnly(int(before) - 10), margin_ms=None)
    assert (signal.margin_ms, inv.fire_at) == (None, float("inf"))


@pytest.mark.parametrize(
    ("stack", "task_root", "enabled", "armed"),
    [
        (True, "/var/task", True, True),
        (False, "/var/task", True, False),
        (True, None, True, False),
        (True, "/var/task", False, False),
    ],
)
def test_the_stack_alarm_is_used_only_when_asked_for_in_lambda(
    monkeypatch: pytest.MonkeyPatch, stack: bool, task_root: str | None, enabled: bool, armed: bool
) -> None:
    from lambdaops import _watchdog as wd
    from lambdaops._config import resolve

    if task_root is None:
        monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    else:
        monkeypatch.setenv("LAMBDA_TASK_ROOT", task_root)
    monkeypatch.setattr(wd, "_enable_alarm", lambda: enabled)  # no faulthandler in-process
    signal = wd.TimeoutSignal(resolve(timeout_stack=stack, environ={}))
    if armed:
        assert signal.alarm is wd._alarm and signal.finish == wd._alarm.disarm
    else:
        assert (signal.alarm, signal.finish) == (None, None)


def test_a_new_stack_alarm_is_off_and_owned_by_no_one() -> None:
    from lambdaops._watchdog import StackAlarm

    alarm = StackAlarm()
    assert (alarm.setitimer, alarm.owner) == (None, None)
    assert alarm.still_ours() is False


@pytest.mark.parametrize(
    ("in_flight", "has_timer", "set_at"), [(1, True, True), (2, True, False), (1, False, False)]
)
def test_the_stack_alarm_goes_off_halfway_through_the_margin_for_a_lone_invocation(
    monkeypatch: pytest.MonkeyPatch, in_flight: int, has_timer: bool, set_at: bool
) -> None:
    from lambdaops import _scope
    from lambdaops import _watchdog as wd
    from lambdaops._config import resolve
    from lambdaops._scope import Invocation

    calls: list[tuple[int, float]] = []

    class Alarm:
        real = 7
        owner = None
        setitimer = (lambda which, seconds: calls.append((which, seconds))) if has_timer else None

    config = resolve(timeout_margin_ms=200, environ={})
    signal = wd.TimeoutSignal(config)
    signal.alarm = Alarm  # type: ignore[assignment]
    deadline = int(time.time() * 1000) + 60_000
    inv = Invocation(config, {}, EpochOnly(deadline), None)
    others = [Invocation(config, {}, None, None) for _ in range(in_flight - 1)]
    now = deadline / 1000 - 10
    monkeypatch.setattr(wd, "_time", lambda: now)
    _scope._in_flight.extend([*others, inv])
    try:
        signal.start(inv)
    finally:
        del _scope._in_flight[-in_flight:]
    if set_at:
        assert calls == [(7, (deadline - 100) / 1000 - now)] and Alarm.owner is inv
    else:
        assert (calls, Alarm.owner) == ([], None)
