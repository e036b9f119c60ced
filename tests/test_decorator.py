from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from lambdaops import instrument, log
from lambdaops.testing import Capture, LambdaContext


def test_bare_and_configured_preserve_metadata() -> None:
    def handler(event: dict[str, Any], context: Any, *, extra: int = 1) -> dict[str, Any]:
        """Handle an order."""
        return event

    for wrapped in (instrument(handler), instrument(service="s")(handler)):
        assert wrapped.__name__ == "handler"
        assert wrapped.__doc__ == "Handle an order."
        assert inspect.signature(wrapped) == inspect.signature(handler)
        assert wrapped.__wrapped__ is handler


def test_result_and_exception_pass_through_untouched(lambdaops_capture: Capture) -> None:
    sentinel = object()
    error = KeyError("exact")

    @instrument
    def ok(event: Any, context: Any) -> object:
        return sentinel

    @instrument
    def bad(event: Any, context: Any) -> None:
        raise error

    assert ok({}, LambdaContext()) is sentinel
    with pytest.raises(KeyError) as info:
        bad({}, LambdaContext())
    assert info.value is error


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_base_exceptions_pass_through(exc_type: type[BaseException]) -> None:
    @instrument
    def handler(event: Any, context: Any) -> None:
        raise exc_type(3)

    with pytest.raises(exc_type):
        handler({}, LambdaContext())


def test_async_handler(lambdaops_capture: Capture) -> None:
    @instrument(service="async-svc")
    async def handler(event: Any, context: Any) -> int:
        async def task(i: int) -> int:
            await asyncio.sleep(0)
            log.info("task", i=i)
            return i

        results = await asyncio.gather(*(task(i) for i in range(3)))
        return sum(results)

    # Called by anything but the runtime, it returns the coroutine, as async def does
    # (tests/test_availability.py: called by the runtime, it runs to completion).
    ctx = LambdaContext()
    assert asyncio.run(handler({}, ctx)) == 3
    logs = lambdaops_capture.logs
    assert len(logs) == 3
    assert {r["request_id"] for r in logs} == {ctx.aws_request_id}
    assert {r["service"] for r in logs} == {"async-svc"}


def test_async_handler_exception_passes(lambdaops_capture: Capture) -> None:
    @instrument
    async def handler(event: Any, context: Any) -> None:
        log.debug("before")
        raise ValueError("async boom")

    with pytest.raises(ValueError, match="async boom"):
        asyncio.run(handler({}, LambdaContext()))
    assert lambdaops_capture.messages("DEBUG") == ["before"]


def test_async_handler_awaited_from_a_running_loop(lambdaops_capture: Capture) -> None:
    @instrument
    async def handler(event: Any, context: Any) -> str:
        await asyncio.sleep(0)
        log.info("awaited")
        return "ok"

    async def caller() -> str:
        return await handler({}, LambdaContext())  # type: ignore[no-any-return]

    assert asyncio.run(caller()) == "ok"
    assert lambdaops_capture.messages("INFO") == ["awaited"]


def test_methods_and_keyword_arguments(lambdaops_capture: Capture) -> None:
    class Service:
        @instrument
        def handle(self, event: Any, context: Any) -> str:
            log.info("in method")
            return type(self).__name__

    ctx = LambdaContext()
    assert Service().handle(event={}, context=ctx) == "Service"
    assert lambdaops_capture.logs[0]["request_id"] == ctx.aws_request_id


def test_nested_handlers_share_one_invocation(lambdaops_capture: Capture) -> None:
    @instrument(service="inner")
    def inner(event: Any, context: Any) -> str:
        log.info("inner")
        return "i"

    @instrument(service="outer")
    def outer(event: Any, context: Any) -> str:
        return inner(event, context) + "o"

    assert outer({}, LambdaContext()) == "io"
    (rec,) = lambdaops_capture.logs
    assert rec["service"] == "outer" and rec["cold_start"] is True


def test_instrumenting_twice_is_a_no_op() -> None:
    def handler(event: Any, context: Any) -> None:
        return None

    once = instrument(handler)
    assert instrument(once) is once
    assert instrument(service="other")(once) is once


def test_odd_arguments_do_not_break(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(*args: Any, **kwargs: Any) -> int:
        log.info("called")
        return len(args)

    assert handler() == 0
    assert handler(None, None) == 2
    assert handler("string event", object()) == 2
    assert [r["request_id"] for r in lambdaops_capture.logs] == ["", "", ""]


def test_functions_get_a_plain_wrapper_methods_a_binding_one(lambdaops_capture: Capture) -> None:
    from lambdaops._decorator import is_instrumented, lifecycle_of

    def handler(event: Any, context: Any) -> str:
        return "f"

    class Service:
        @instrument
        def handle(self, event: Any, context: Any) -> Any:
            return (self, event)

        @staticmethod
        @instrument
        def static(event: Any, context: Any) -> Any:
            return event

    wrapped = instrument(handler)
    assert inspect.isfunction(wrapped)  # no proxy object between the runtime and the handler
    assert is_instrumented(wrapped) and is_instrumented(Service.handle)
    assert not is_instrumented(handler)
    assert lifecycle_of(wrapped) is not lifecycle_of(Service.handle)
    with pytest.raises(TypeError, match="not instrumented"):
        lifecycle_of(handler)
    service = Service()
    ctx = LambdaContext()
    assert service.handle({"n": 1}, ctx) == (service, {"n": 1})
    assert Service.static({"n": 2}, ctx) == {"n": 2}
    assert wrapped({}, ctx) == "f"
    records = [r for r in lambdaops_capture.records if r.get("lambdaops") == "outcome"]
    assert [r["request_id"] for r in records] == [ctx.aws_request_id] * 3


def test_methods_the_name_does_not_reveal_still_bind_self(lambdaops_capture: Capture) -> None:
    def no_wraps(func: Any) -> Any:  # a decorator without functools.wraps
        def inner(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return inner

    def assigned(self: Any, event: Any, context: Any) -> Any:
        return (self, event)

    class Service:
        @instrument
        @no_wraps
        def handle(self, event: Any, context: Any) -> Any:
            return (self, event)

        late = instrument(assigned)

    service = Service()
    ctx = LambdaContext()
    assert service.handle({"n": 1}, ctx) == (service, {"n": 1})
    assert service.late({"n": 2}, ctx) == (service, {"n": 2})
    records = [r for r in lambdaops_capture.records if r.get("lambdaops") == "outcome"]
    assert [r["request_id"] for r in records] == [ctx.aws_request_id] * 2
