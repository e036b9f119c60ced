"""The fault matrix (docs/reliability.md): the handler's result or exception passes through
unchanged, and every invocation leaves exactly one outcome record."""

from __future__ import annotations

import asyncio
import io
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lambdaops import _output, instrument, log, metrics
from lambdaops.testing import Capture, LambdaContext, capture

SENTINEL = object()


def outcomes(cap: Capture) -> list[dict[str, Any]]:
    return [r for r in cap.records if r.get("lambdaops") == "outcome"]


# -- stdout faults ----------------------------------------------------------------------------
class BrokenStream(io.TextIOBase):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def write(self, text: str) -> int:
        raise self.exc

    def flush(self) -> None:
        raise self.exc


@pytest.mark.parametrize(
    "exc", [BrokenPipeError("pipe"), OSError(28, "No space left"), ValueError("closed file")]
)
def test_stdout_failing(
    exc: BaseException, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _output.set_sink(None)
    monkeypatch.setattr(sys, "stdout", BrokenStream(exc))

    @instrument
    def handler(event: Any, context: Any) -> object:
        log.info("hello")
        metrics.add("M", 1)
        return SENTINEL

    for _ in range(3):
        assert handler({}, LambdaContext()) is SENTINEL
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and type(exc).__name__ in err[0]  # reported once


def test_stdout_closed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _output.set_sink(None)
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)

    @instrument
    def handler(event: Any, context: Any) -> object:
        log.info("hello")
        return SENTINEL

    for _ in range(3):
        assert handler({}, LambdaContext()) is SENTINEL
    (line,) = capsys.readouterr().err.splitlines()  # one line for three invocations
    assert json.loads(line) == {
        "level": "WARNING",
        "message": "lambdaops internal error contained",
        "where": "output.write",
        "error": "ValueError: I/O operation on closed file",
    }


def test_slow_stdout_loses_nothing(lambdaops_capture: Capture) -> None:
    def slow(text: str) -> None:
        time.sleep(0.02)
        lambdaops_capture.write(text)

    _output.set_sink(slow)

    @instrument
    def handler(event: Any, context: Any) -> object:
        for i in range(5):
            log.info("line", i=i)
        return SENTINEL

    assert handler({}, LambdaContext()) is SENTINEL
    assert len(lambdaops_capture.logs) == 5 and len(outcomes(lambdaops_capture)) == 1


# -- bad values ---------------------------------------------------------------------------------
class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("repr failed")

    def __str__(self) -> str:
        raise RuntimeError("str failed")


def _cyclic() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["me"] = d
    return d


BAD_VALUES: dict[str, Callable[[], Any]] = {
    "unserialisable object": object,
    "repr raises": ReprRaises,
    "cyclic structure": _cyclic,
    "2 MB string": lambda: "x" * (2 * 1024 * 1024),
    "bytes": lambda: b"\x00\xff binary",
    "surrogates": lambda: "bad \ud800 pair",
    "nan": lambda: math.nan,
    "inf": lambda: math.inf,
}


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_bad_values_in_logs_metrics_and_messages(lambdaops_capture: Capture, name: str) -> None:
    make = BAD_VALUES[name]

    @instrument
    def handler(event: Any, context: Any) -> object:
        value = make()
        log.info(value)  # as the message itself
        log.warning("field", value=value)
        log.bind(bound=value).error("bound")
        metrics.add("Value", value)  # non-numbers and NaN are dropped with a warning
        metrics.property("prop", value)
        return SENTINEL

    assert handler({}, LambdaContext()) is SENTINEL
    (rec,) = outcomes(lambdaops_capture)
    assert rec["outcome"] == "success"
    assert all(len(line) <= 1024 * 1024 for line in lambdaops_capture.lines)
    for line in lambdaops_capture.lines:
        line.encode("utf-8")  # no raw surrogates reach the stream


def test_150_metrics_31_dimensions_long_dimension_value(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> object:
        for i in range(31):
            metrics.dimension(f"d{i}", "v")
        metrics.dimension("long", "y" * 2000)
        for i in range(150):
            metrics.add(f"m{i}", i)
        return SENTINEL

    assert handler({}, LambdaContext()) is SENTINEL
    docs = [r for r in lambdaops_capture.records if "_aws" in r]
    assert sum(len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs) == 151
    assert len(outcomes(lambdaops_capture)) == 1


# -- the handler misbehaving --------------------------------------------------------------------
@pytest.mark.parametrize(
    "exc", [ValueError("v"), SystemExit(3), KeyboardInterrupt(), GeneratorExit()]
)
def test_handler_raising_anything(lambdaops_capture: Capture, exc: BaseException) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        raise exc

    with pytest.raises(type(exc)) as info:
        handler({}, LambdaContext())
    assert info.value is exc
    (rec,) = outcomes(lambdaops_capture)
    assert rec["outcome"] == "error" and rec["error_type"] == type(exc).__name__


def test_unserialisable_result_passes_through(lambdaops_capture: Capture) -> None:
    result = {"obj": object(), "set": {1, 2}}

    @instrument
    def handler(event: Any, context: Any) -> Any:
        return result

    assert handler({}, LambdaContext()) is result
    assert outcomes(lambdaops_capture)[0]["outcome"] == "success"


def test_reentrant_handlers_one_record(lambdaops_capture: Capture) -> None:
    @instrument
    def inner(event: Any, context: Any) -> int:
        metrics.add("Inner", 1)
        return 1

    @instrument
    def outer(event: Any, context: Any) -> int:
        return inner(event, context) + inner(event, context)

    assert outer({}, LambdaContext()) == 2
    (rec,) = outcomes(lambdaops_capture)
    assert rec["Inner"] == [1, 1]


def test_async_handler_with_concurrent_tasks(lambdaops_capture: Capture) -> None:
    @instrument
    async def handler(event: Any, context: Any) -> int:
        async def task(i: int) -> int:
            await asyncio.sleep(0.001 * (5 - i))
            log.info("task", i=i)
            metrics.add("Tasks", 1)
            return i

        return sum(await asyncio.gather(*(task(i) for i in range(5))))

    ctx = LambdaContext()
    assert asyncio.run(handler({}, ctx)) == 10
    (rec,) = outcomes(lambdaops_capture)
    assert rec["Tasks"] == [1, 1, 1, 1, 1]
    assert {r["request_id"] for r in lambdaops_capture.logs} == {ctx.aws_request_id}


# -- threads and multi-concurrency -------------------------------------------------------------
def test_threads_inside_one_invocation(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        def work(n: int) -> None:
            for _ in range(100):
                log.info("w", n=n)
                metrics.add("Items", 1)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    ctx = LambdaContext()
    handler({}, ctx)
    assert len(lambdaops_capture.logs) == 800
    assert {r["request_id"] for r in lambdaops_capture.logs} == {ctx.aws_request_id}
    # 100 values a document (the EMF limit): seven documents, then the outcome record's
    items = [(r.get("lambdaops"), r["Items"]) for r in lambdaops_capture.records if "Items" in r]
    assert items == [(None, [1] * 100)] * 7 + [("outcome", [1] * 100)]


def test_several_invocations_in_flight_do_not_mix(lambdaops_capture: Capture) -> None:
    """Lambda Managed Instances style: one process, several invocations at once."""
    barrier = threading.Barrier(4)

    @instrument
    def handler(event: Any, context: Any) -> int:
        barrier.wait()  # all four are in flight together
        for _ in range(20):
            log.info("step", n=event["n"])
            metrics.add("Mine", event["n"])
        return int(event["n"])

    contexts = [LambdaContext() for _ in range(4)]
    results: list[int] = [0] * 4

    def run(n: int) -> None:
        results[n] = handler({"n": n}, contexts[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0, 1, 2, 3]
    by_request = {c.aws_request_id: n for n, c in enumerate(contexts)}
    logs = [(r["request_id"], r["n"]) for r in lambdaops_capture.logs]
    assert sorted(logs) == sorted((rid, n) for rid, n in by_request.items() for _ in range(20))
    recs = outcomes(lambdaops_capture)
    assert sorted(r["request_id"] for r in recs) == sorted(by_request)
    for rec in recs:
        assert rec["Mine"] == [by_request[rec["request_id"]]] * 20


@pytest.fixture
def quiet_capture() -> Iterator[Capture]:
    with capture() as cap:
        yield cap


def test_internal_failure_in_a_signal_is_contained(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> object:
        return SENTINEL

    class Exploding:
        name = "exploding"

        def start(self, inv: Any) -> None:
            raise RuntimeError("signal bug")

        def finish(self, inv: Any) -> None:
            raise RuntimeError("signal bug")

    lifecycle = handler.lambdaops_lifecycle
    lifecycle.plan((*lifecycle.signals, Exploding()))
    for _ in range(3):
        assert handler({}, LambdaContext()) is SENTINEL
    assert len(outcomes(lambdaops_capture)) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2  # exploding.start and exploding.finish, each reported once


def test_a_base_exception_in_a_signal_start_ends_the_invocation(lambdaops_capture: Capture) -> None:
    from lambdaops import _scope

    @instrument
    def handler(event: Any, context: Any) -> object:
        return SENTINEL

    class Interrupting:
        name = "interrupting"
        calls = 0
        finish = None

        def start(self, inv: Any) -> None:
            Interrupting.calls += 1
            if Interrupting.calls == 1:
                raise KeyboardInterrupt

    lifecycle = handler.lambdaops_lifecycle
    lifecycle.plan((*lifecycle.signals, Interrupting()))
    first, second = LambdaContext(), LambdaContext()
    with pytest.raises(KeyboardInterrupt):
        handler({}, first)
    assert handler({}, second) is SENTINEL  # not mistaken for a nested call
    records = outcomes(lambdaops_capture)
    assert [(r["request_id"], r["outcome"]) for r in records] == [
        (first.aws_request_id, "error"),
        (second.aws_request_id, "success"),
    ]
    assert records[0]["error_type"] == "KeyboardInterrupt"
    assert _scope._in_flight == [] and _scope._current.get() is None
