"""Issue 13, in process: one final outcome per attempt that agrees with what Lambda counts.

The same causes run under the real runtime client in tests/e2e/test_availability_e2e.py;
these pin each mechanism on its own: the discriminator, responses the runtime cannot
deliver, late endings after the watchdog, threads, async handlers and HTTP status.
"""

from __future__ import annotations

import asyncio
import decimal
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lambdaops import instrument, log, metrics
from lambdaops._decorator import lifecycle_of
from lambdaops._response import MAX_RESPONSE_BYTES, Failure, check, status_code
from lambdaops.testing import Capture, LambdaContext

REPO = Path(__file__).resolve().parents[1]
# API Gateway REST proxy event, trimmed from AWS's sample
# (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html)
REST = {"resource": "/", "httpMethod": "GET", "requestContext": {"requestId": "r-1"}}
# HTTP API payload 2.0 (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# http-api-develop-integrations-lambda.html)
HTTP_V2 = {
    "version": "2.0",
    "routeKey": "GET /",
    "requestContext": {"requestId": "r-2", "http": {}},
}


# How awslambdaric's bootstrap.py calls a handler, by name (what _response.entry recognises).
RUNTIME_CALL = "def handle_event_request(h, e, c):\n    return h(e, c)\n"


def as_runtime(handler: Any) -> Any:
    """The handler as Lambda's runtime calls it: its return value is the response."""
    lifecycle_of(handler).entry = True
    return handler


# -- B. the discriminator ------------------------------------------------------------------
def test_outcome_record_starts_with_the_discriminator(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> str:
        log.info("payment declined", outcome="declined")
        return "ok"

    handler({}, LambdaContext())
    first, record = lambdaops_capture.lines
    assert record.startswith('{"lambdaops":"outcome","outcome":"success",')
    assert json.loads(first)["outcome"] == "declined" and "lambdaops" not in json.loads(first)
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success"]


@pytest.mark.parametrize("path", ["log", "bound", "stdlib"])
def test_a_user_field_cannot_pass_for_the_discriminator(
    lambdaops_capture: Capture, path: str
) -> None:
    import logging

    @instrument
    def handler(event: Any, context: Any) -> None:
        if path == "log":
            log.info("x", lambdaops="outcome", outcome="success")
        elif path == "bound":
            log.bind(lambdaops="outcome").info("x", outcome="error")
        else:
            logging.getLogger("app").warning("x", extra={"lambdaops": "outcome"})

    handler({}, LambdaContext())
    (line,) = [r for r in lambdaops_capture.records if "message" in r]
    assert line["user_lambdaops"] == "outcome" and "lambdaops" not in line
    assert len(lambdaops_capture.outcomes) == 1


# -- C. responses the runtime cannot deliver -------------------------------------------
def test_a_response_the_runtime_cannot_serialize_is_a_marshal_error(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        return {"statusCode": 200, "ids": {1, 2}}

    result = as_runtime(handler)(REST, LambdaContext())
    assert result == {"statusCode": 200, "ids": {1, 2}}  # the handler's value passes through
    (rec,) = lambdaops_capture.outcomes
    assert (rec["outcome"], rec["error_type"]) == ("error", "Runtime.MarshalError")
    assert rec["error_message"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert "status_code" not in rec


def test_a_response_over_six_megabytes_is_too_large(lambdaops_capture: Capture) -> None:
    body = "x" * MAX_RESPONSE_BYTES  # with its quotes: 6,291,558 bytes

    @instrument
    def handler(event: Any, context: Any) -> Any:
        return body

    as_runtime(handler)({}, LambdaContext())
    (rec,) = lambdaops_capture.outcomes
    assert (rec["outcome"], rec["error_type"]) == ("error", "Function.ResponseSizeTooLarge")
    assert rec["error_message"] == (
        "Response payload size (6291558 bytes) exceeded maximum allowed payload size "
        "(6291556 bytes)."
    )


def test_exact_limit_and_plain_values_are_delivered() -> None:
    assert check("x" * (MAX_RESPONSE_BYTES - 2)) is None  # 6,291,556 bytes with quotes
    assert check({"statusCode": 200, "body": "x" * 6_000_000}) is None  # 6,000,031 bytes


@pytest.mark.parametrize(("runtime", "fits"), [("python3.11", False), ("python3.12", True)])
def test_non_ascii_size_follows_the_runtimes_encoding(
    monkeypatch: pytest.MonkeyPatch, runtime: str, fits: bool
) -> None:
    # awslambdaric escapes non-ASCII (6 bytes for "é") before 3.12, writes UTF-8 (2) after.
    monkeypatch.setenv("AWS_EXECUTION_ENV", f"AWS_Lambda_{runtime}")
    monkeypatch.delitem(sys.modules, "awslambdaric.lambda_runtime_marshaller", raising=False)
    failure = check({"body": "é" * 1_500_000})
    assert (failure is None) is fits


def test_plain_values_are_delivered() -> None:
    assert check({"a": [1, 2.5, None, True, {"b": "c"}], "d": decimal.Decimal("1.5")}) is None
    assert check(b"x" * MAX_RESPONSE_BYTES) is None
    too_large = check(b"x" * (MAX_RESPONSE_BYTES + 1))
    assert too_large is not None and too_large.error_type == "Function.ResponseSizeTooLarge"
    nan = check({"v": float("nan")})  # the runtime allows NaN
    assert nan is None
    not_json = check([object()])
    assert not_json is not None and not_json.error_type == "Runtime.MarshalError"


def test_a_value_the_users_own_wrapper_returns_is_not_checked(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def inner(event: Any, context: Any) -> Any:
        return {"when": {1, 2}}  # the outer function turns it into a response

    def outer(event: Any, context: Any) -> Any:
        return {"when": sorted(inner(event, context)["when"])}

    assert outer({}, LambdaContext()) == {"when": [1, 2]}
    assert lifecycle_of(inner).entry is False
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success"]


def test_the_runtime_is_recognised_by_its_bootstrap_frame(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        return {1, 2}

    runtime: dict[str, Any] = {}
    # The call as awslambdaric makes it: handle_event_request, in a file named bootstrap.py.
    exec(compile(RUNTIME_CALL, "/var/runtime/bootstrap.py", "exec"), runtime)
    runtime["handle_event_request"](handler, {}, LambdaContext())
    assert lifecycle_of(handler).entry is True
    assert lambdaops_capture.outcomes[0]["error_type"] == "Runtime.MarshalError"


@pytest.mark.parametrize(
    ("filename", "function"),
    [
        ("/var/task/bootstrap.py", "adapt"),  # the user's own module named bootstrap.py
        ("/var/task/app_bootstrap.py", "handle_event_request"),
    ],
)
def test_only_the_runtimes_own_call_is_the_runtime(
    lambdaops_capture: Capture, filename: str, function: str
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        return {1, 2}  # the caller turns it into a response

    caller: dict[str, Any] = {}
    source = f"def {function}(h, e, c):\n    return sorted(h(e, c))\n"
    exec(compile(source, filename, "exec"), caller)
    assert caller[function](handler, {}, LambdaContext()) == [1, 2]
    assert lifecycle_of(handler).entry is False
    assert lambdaops_capture.outcomes[0]["outcome"] == "success"


def test_a_warm_up_call_at_import_does_not_decide_for_the_runtime(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        return {1, 2}

    handler({"warm": True}, None)  # at import, with no context: nothing is decided
    assert lifecycle_of(handler).entry is None
    runtime: dict[str, Any] = {}
    exec(compile(RUNTIME_CALL, "/var/runtime/bootstrap.py", "exec"), runtime)
    runtime["handle_event_request"](handler, {}, LambdaContext())
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success", "error"]


# -- D. timeouts agree with Lambda ---------------------------------------------------------
def _slow(finish: str, after_s: float) -> Any:
    @instrument(timeout_margin_ms=300)
    def handler(event: Any, context: Any) -> Any:
        metrics.add("Before", 1)
        time.sleep(after_s)
        metrics.add("After", 1)
        if finish == "raise":
            raise RuntimeError("late failure")
        return {"statusCode": 200}

    return handler


@pytest.mark.parametrize("finish", ["return", "raise"])
def test_finishing_after_the_watchdog_but_before_the_deadline_supersedes_the_timeout(
    lambdaops_capture: Capture, finish: str
) -> None:
    handler = _slow(finish, after_s=0.85)
    ctx = LambdaContext(timeout_s=1.0)  # the watchdog fires at 0.7 s, Lambda's deadline is 1 s
    if finish == "raise":
        with pytest.raises(RuntimeError, match="late failure"):
            handler(REST, ctx)
    else:
        assert handler(REST, ctx) == {"statusCode": 200}
    timeout, final = lambdaops_capture.outcomes
    assert timeout["outcome"] == "timeout" and "supersedes" not in timeout
    assert (timeout["Timeout"], timeout["Before"], timeout["ColdStart"]) == (1, 1, 1)
    expected = "success" if finish == "return" else "error"
    assert (final["outcome"], final["supersedes"]) == (expected, "timeout")
    assert final["request_id"] == timeout["request_id"] == ctx.aws_request_id
    assert final["attempt"] == timeout["attempt"] == 1
    assert (final["Timeout"], final["After"]) == (-1, 1)
    assert "ColdStart" not in final and "Before" not in final and "stack" not in final
    assert final["duration_ms"] > timeout["duration_ms"]
    if finish == "return":
        assert final["status_code"] == 200
    else:
        assert final["error_type"] == "RuntimeError"


def test_finishing_after_the_deadline_leaves_the_timeout(lambdaops_capture: Capture) -> None:
    handler = _slow("return", after_s=0.6)
    handler(REST, LambdaContext(timeout_s=0.5))  # nothing kills it here; Lambda would have
    (timeout,) = lambdaops_capture.outcomes
    assert timeout["outcome"] == "timeout"


def test_gil_held_past_the_deadline_writes_the_stack_from_faulthandler(tmp_path: Path) -> None:
    """A handler stuck in C code holding the GIL: the watchdog thread cannot run, the
    SIGALRM handler of faulthandler writes every thread's stack halfway into the margin."""
    script = tmp_path / "stuck.py"
    script.write_text(
        textwrap.dedent(
            """
            import re
            from lambdaops import instrument
            from lambdaops.testing import LambdaContext

            @instrument(timeout_margin_ms=400, timeout_stack=True)
            def handler(event, context):
                return re.match(r"(a+)+$", "a" * 34 + "b")  # seconds of backtracking, GIL held

            handler({}, LambdaContext(timeout_s=0.6))
            """
        )
    )
    env = dict(os.environ, LAMBDA_TASK_ROOT=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(2.0)  # the alarm goes off at 0.4 s; no record can be written meanwhile
    proc.kill()
    out, err = proc.communicate()
    assert b'"lambdaops":"outcome"' not in out
    text = err.decode()
    assert "(most recent call first):" in text
    assert f'File "{script}", line 8 in handler' in text


def test_an_invocation_that_ends_in_time_disarms_the_alarm(tmp_path: Path) -> None:
    script = tmp_path / "quick.py"
    script.write_text(
        textwrap.dedent(
            """
            import time
            from lambdaops import instrument
            from lambdaops.testing import LambdaContext

            @instrument(timeout_margin_ms=100, timeout_stack=True)
            def handler(event, context):
                return "ok"

            for _ in range(3):
                handler({}, LambdaContext(timeout_s=0.3))
            time.sleep(0.6)  # idle past every deadline: no alarm may go off
            print("idle done")
            """
        )
    )
    env = dict(os.environ, LAMBDA_TASK_ROOT=str(tmp_path), PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and done.stdout.endswith("idle done\n")
    assert done.stderr == ""


# -- E. nested calls and stray threads ----------------------------------------------------
def test_an_instrumented_function_called_from_a_pool_is_the_same_invocation(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    def worker(event: Any, context: Any) -> int:
        log.info("worker", n=event["n"])
        metrics.add("Items", 1)
        return int(event["n"])

    @instrument
    def handler(event: Any, context: Any) -> int:
        with ThreadPoolExecutor(max_workers=4) as pool:
            return sum(pool.map(lambda n: worker({"n": n}, context), range(4)))

    ctx = LambdaContext()
    assert handler({}, ctx) == 6
    (rec,) = lambdaops_capture.outcomes
    assert (rec["attempt"], rec["Items"]) == (1, [1, 1, 1, 1])
    assert {r["request_id"] for r in lambdaops_capture.logs} == {ctx.aws_request_id}


def test_a_thread_that_outlives_its_invocation_keeps_it(lambdaops_capture: Capture) -> None:
    go, done = threading.Event(), threading.Event()

    def background() -> None:
        go.wait(5)
        log.info("from the first invocation's thread")
        metrics.add("Straggler", 1)
        done.set()

    @instrument
    def handler(event: Any, context: Any) -> None:
        if event.get("start"):
            threading.Thread(target=background, daemon=True).start()
        else:
            go.set()
            done.wait(5)
            metrics.add("Second", 1)

    first, second = LambdaContext(), LambdaContext()
    handler({"start": True}, first)
    handler({}, second)
    (line,) = lambdaops_capture.logs
    assert line["request_id"] == first.aws_request_id
    stray = [r for r in lambdaops_capture.records if "Straggler" in r]
    assert len(stray) == 1 and stray[0]["request_id"] == first.aws_request_id
    assert "lambdaops" not in stray[0]  # a metrics document, not a second record
    records = lambdaops_capture.outcomes
    assert [r["request_id"] for r in records] == [first.aws_request_id, second.aws_request_id]
    assert "Straggler" not in records[1] and records[1]["Second"] == 1


def test_a_thread_started_outside_any_invocation_borrows_none(
    lambdaops_capture: Capture,
) -> None:
    ready, logged = threading.Event(), threading.Event()

    def background() -> None:
        ready.wait(5)
        log.info("from an import-time thread")
        logged.set()

    threading.Thread(target=background, daemon=True).start()

    @instrument
    def handler(event: Any, context: Any) -> None:
        ready.set()
        logged.wait(5)

    handler({}, LambdaContext())
    (line,) = lambdaops_capture.logs
    assert "request_id" not in line


# -- F. async handlers ---------------------------------------------------------------------
def test_async_handler_runs_to_completion_on_a_loop_kept_across_invocations(
    lambdaops_capture: Capture,
) -> None:
    loops = []

    @instrument
    async def handler(event: Any, context: Any) -> dict[str, int]:
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        metrics.add("Async", 1)
        return {"statusCode": 201}

    results = [as_runtime(handler)(REST, LambdaContext()) for _ in range(2)]
    assert results == [{"statusCode": 201}, {"statusCode": 201}]
    assert loops[0] is loops[1] and not loops[0].is_closed()
    records = lambdaops_capture.outcomes
    assert [(r["outcome"], r["status_code"], r["Async"]) for r in records] == [
        ("success", 201, 1),
        ("success", 201, 1),
    ]


def test_async_method_handler(lambdaops_capture: Capture) -> None:
    class Service:
        @instrument
        async def handle(self, event: Any, context: Any) -> str:
            await asyncio.sleep(0)
            return type(self).__name__

    assert asyncio.run(Service().handle({}, LambdaContext())) == "Service"
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success"]


# -- G. HTTP status --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event", "result", "expected"),
    [
        (REST, {"statusCode": 500, "body": "boom"}, 500),
        (REST, {"statusCode": "404"}, 404),
        (REST, {"body": "no status"}, 502),  # REST proxy: malformed response
        (HTTP_V2, {"body": "no status"}, 200),  # payload 2.0 infers 200
        (HTTP_V2, "plain text", 200),
    ],
)
def test_http_records_carry_the_status_code(
    lambdaops_capture: Capture, event: dict[str, Any], result: Any, expected: int
) -> None:
    @instrument
    def handler(e: Any, context: Any) -> Any:
        return result

    handler(event, LambdaContext())
    (rec,) = lambdaops_capture.outcomes
    assert rec["status_code"] == expected and rec["outcome"] == "success"


def test_non_http_records_have_no_status_code(lambdaops_capture: Capture) -> None:
    @instrument
    def handler(event: Any, context: Any) -> Any:
        return {"statusCode": 500}

    handler({"Records": [{"eventSource": "aws:sqs", "messageId": "m"}]}, LambdaContext())
    assert "status_code" not in lambdaops_capture.outcomes[0]
    assert status_code("alb", None) == 502


def _run_stuck(tmp_path: Path, decorator: str, prelude: str = "") -> str:
    """Run a GIL-holding handler in a child process for 2 s; its stderr."""
    script = tmp_path / "stuck_opt.py"
    script.write_text(
        "import re\nfrom lambdaops import instrument\nfrom lambdaops.testing import LambdaContext\n"
        f"{prelude}\n@instrument({decorator})\ndef handler(event, context):\n"
        "    return re.match(r'(a+)+$', 'a' * 34 + 'b')\n"
        "handler({}, LambdaContext(timeout_s=0.6))\n"
    )
    env = dict(os.environ, LAMBDA_TASK_ROOT=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(2.0)
    proc.kill()
    return proc.communicate()[1].decode()


def test_timeout_stack_is_off_unless_asked_for(tmp_path: Path) -> None:
    # Off by default: arming and disarming the timer costs ~1.6 µs an invocation
    # (docs/reliability.md); the control shows the same handler dumps when asked.
    assert _run_stuck(tmp_path, "timeout_margin_ms=400") == ""
    assert "line 7 in handler" in _run_stuck(tmp_path, "timeout_margin_ms=400, timeout_stack=True")


def test_a_sigalrm_handler_of_the_users_own_is_left_alone(tmp_path: Path) -> None:
    prelude = "import signal\nsignal.signal(signal.SIGALRM, lambda *a: print('theirs'))"
    assert _run_stuck(tmp_path, "timeout_margin_ms=400, timeout_stack=True", prelude) == ""


def test_timeout_stack_setting_is_checked_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdaops import ConfigError

    monkeypatch.setenv("LAMBDAOPS_TIMEOUT_STACK", "sometimes")
    with pytest.raises(ConfigError, match="LAMBDAOPS_TIMEOUT_STACK='sometimes'"):
        instrument(lambda event, context: None)


@pytest.mark.parametrize("name", ["lambdaops", "supersedes", "status_code"])
def test_the_records_own_keys_are_reserved_for_metrics_and_properties(name: str) -> None:
    from lambdaops import MetricError

    for call in (metrics.property, metrics.dimension):
        with pytest.raises(MetricError, match=f"name '{name}' is reserved for the outcome record"):
            call(name, "1.4.2")
    with pytest.raises(MetricError, match=f"name '{name}' is reserved for the outcome record"):
        metrics.add(name, 1)


# -- review findings: races, stale threads, async under the runtime ---------------------
def test_a_handler_finishing_while_the_watchdog_writes_waits_for_its_record(
    lambdaops_capture: Capture,
) -> None:
    """The watchdog's finishes run as one: a handler returning in the middle of them cannot
    turn the timeout record it is writing into a second 'success'."""

    class SlowFirstStep:
        name = "slow"
        start = None

        def finish(self, inv: Any) -> None:
            if inv.outcome == "timeout":
                time.sleep(0.3)  # the handler returns meanwhile

    @instrument(timeout_margin_ms=500)
    def handler(event: Any, context: Any) -> str:
        time.sleep(0.6)  # the watchdog fires at 0.5 s; Lambda's deadline is 1 s
        return "ok"

    lifecycle = lifecycle_of(handler)
    lifecycle.plan((SlowFirstStep(), *lifecycle.signals))
    handler(REST, LambdaContext(timeout_s=1.0))
    records = lambdaops_capture.outcomes
    assert [(r["outcome"], r.get("supersedes"), r["Timeout"]) for r in records] == [
        ("timeout", None, 1),
        ("success", "timeout", -1),
    ]


def test_a_worker_thread_started_by_one_invocation_serves_the_later_ones(
    lambdaops_capture: Capture,
) -> None:
    import queue

    work: queue.Queue[tuple[Any, Any]] = queue.Queue()
    done = threading.Event()

    @instrument
    def process(item: Any, context: Any) -> None:
        log.info("processing", item=item)

    def worker() -> None:
        while True:
            item, context = work.get()
            process(item, context)
            done.set()

    @instrument
    def handler(event: Any, context: Any) -> None:
        if event["n"] == 1:
            threading.Thread(target=worker, daemon=True).start()
        done.clear()
        work.put((event["n"], context))
        done.wait(5)

    contexts = [LambdaContext() for _ in range(3)]
    for n, context in enumerate(contexts, start=1):
        handler({"n": n}, context)
    assert [(r["item"], r["request_id"]) for r in lambdaops_capture.logs] == [
        (n, c.aws_request_id) for n, c in enumerate(contexts, start=1)
    ]
    assert len(lambdaops_capture.outcomes) == 3  # the worker's calls joined, none began


def test_a_thread_from_import_time_that_joins_one_invocation_does_not_keep_it(
    lambdaops_capture: Capture,
) -> None:
    import queue

    work: queue.Queue[Any] = queue.Queue()
    done = threading.Event()

    @instrument
    def process(item: Any, context: Any) -> None:
        log.info("joined", item=item)

    def worker() -> None:  # started outside any invocation
        while True:
            item, context = work.get()
            process(item, context)
            log.info("between", item=item)  # after the joined call: no invocation
            done.set()

    threading.Thread(target=worker, daemon=True).start()

    @instrument
    def handler(event: Any, context: Any) -> None:
        done.clear()
        work.put((event["n"], context))
        done.wait(5)

    first, second = LambdaContext(), LambdaContext()
    handler({"n": 1}, first)
    handler({"n": 2}, second)
    assert [(r["message"], r.get("request_id")) for r in lambdaops_capture.logs] == [
        ("joined", first.aws_request_id),
        ("between", None),
        ("joined", second.aws_request_id),
        ("between", None),
    ]


def test_a_pool_module_imported_after_the_first_invocation_is_bound_too(tmp_path: Path) -> None:
    script = tmp_path / "late_pool.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            assert "concurrent.futures.thread" not in sys.modules
            from lambdaops import instrument, log
            from lambdaops.testing import LambdaContext

            pool = None

            @instrument
            def handler(event, context):
                global pool
                if pool is None:
                    import concurrent.futures  # only now
                    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
                pool.submit(log.info, "task", n=event["n"]).result()

            for n in range(3):
                handler({"n": n}, LambdaContext(aws_request_id=f"req-{n}"))
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    tasks = [json.loads(line) for line in done.stdout.splitlines() if '"task"' in line]
    assert [(t["n"], t["request_id"]) for t in tasks] == [(n, f"req-{n}") for n in range(3)]


def test_an_async_handler_called_by_the_runtime_gets_the_response_check(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    async def handler(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        return {1, 2}

    runtime: dict[str, Any] = {}
    exec(compile(RUNTIME_CALL, "/var/runtime/bootstrap.py", "exec"), runtime)
    assert runtime["handle_event_request"](handler, {}, LambdaContext()) == {1, 2}
    (rec,) = lambdaops_capture.outcomes
    assert (rec["outcome"], rec["error_type"]) == ("error", "Runtime.MarshalError")


def test_asyncio_run_of_an_instrumented_async_handler_still_works(
    lambdaops_capture: Capture,
) -> None:
    @instrument
    async def handler(event: Any, context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    def sync_handler(event: Any, context: Any) -> Any:  # how it was done before lambdaops ran it
        return asyncio.run(handler(event, context))

    assert sync_handler(REST, LambdaContext()) == {"statusCode": 200}
    assert [r["outcome"] for r in lambdaops_capture.outcomes] == ["success"]


def test_the_runtime_refuses_what_it_cannot_pass_through() -> None:
    # Only bytes go out as they are; a bytearray or an int past Python's int-to-text limit
    # fails in the runtime's encoder (both checked against awslambdaric 4.2.2's marshaller).
    for value in (bytearray(b"abc"), 10**5000):
        failure = check(value)
        assert failure is not None and failure.error_type == "Runtime.MarshalError", value


def test_a_large_body_is_measured_not_serialized_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambdaops import _response

    def encode(result: Any) -> str:
        raise AssertionError("serialized a second time")

    monkeypatch.setattr(_response, "_runtime_encode", encode)
    # 5.2 MB of ASCII, 5.6 MB escaped (each quote and backslash takes two bytes): under
    # the limit, which a bound of 6 bytes a character could not tell.
    body = "x" * 5_000_000 + '"\\' * 100_000
    assert check({"statusCode": 200, "body": body, "rows": list(range(3000))}) is None
    monkeypatch.undo()  # over the limit, the exact size (for the message) is worth encoding
    failure = check({"body": body + "x" * 1_000_000})
    assert failure == Failure(
        "Function.ResponseSizeTooLarge",
        "Response payload size (6400012 bytes) exceeded maximum allowed payload size "
        "(6291556 bytes).",
    )


def test_the_usual_responses_are_proven_in_the_one_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flat-dict loop answers for the responses nearly every function returns; only
    anything else reaches the general walk (mutation testing: the loop's conditions)."""
    from lambdaops import _response

    def general(result: Any) -> Any:
        raise AssertionError(f"the general path for {result!r}")

    monkeypatch.setattr(_response, "_check", general)
    short = "é" * 16_384  # the longest string the loop takes
    for usual in (
        {"statusCode": 200, "body": '{"ok": true}', "isBase64Encoded": False},
        {"statusCode": 204, "total": -(1 << 63), "ratio": 0.5, "next": None},
        {short: short, **{f"k{n}": n for n in range(15)}},  # sixteen keys
        {},
    ):
        assert check(usual) is None
    for unusual in (
        {f"k{n}": n for n in range(17)},  # seventeen keys
        {"body": short + "x"},
        {"n": 1 << 63},
        {1: "int key"},
        {"headers": {"a": "b"}},
        {"when": decimal.Decimal("1")},
    ):
        with pytest.raises(AssertionError, match="the general path"):
            check(unusual)


@pytest.mark.parametrize("char", ['"', "\\"])
def test_quotes_and_backslashes_count_twice_in_a_long_body(char: str) -> None:
    # 3,200,000 characters that JSON escapes: 6,400,000 bytes, over the limit, though the
    # string is half of it (mutation testing: each count in the long-string measure).
    failure = check({"body": char * 3_200_000})
    assert failure is not None and failure.error_type == "Function.ResponseSizeTooLarge"
    assert failure.message.startswith("Response payload size (6400012 bytes)")


@pytest.mark.parametrize(
    "module", ["awslambdaric.lambda_runtime_marshaller", "lambda_runtime_marshaller"]
)
def test_the_runtimes_own_encoder_decides_when_it_is_loaded(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """awslambdaric's marshaller (the managed runtimes before 3.12 load it without the
    package): what it writes is what Lambda measures. A stand-in that writes 7,000,000
    bytes for a set shows whose answer counts."""
    import types

    runtime = types.ModuleType(module)
    runtime.to_json = lambda result: "x" * 7_000_000  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "awslambdaric.lambda_runtime_marshaller", raising=False)
    monkeypatch.setitem(sys.modules, module, runtime)
    failure = check({"ids": {1, 2}})
    assert failure is not None and failure.message.startswith("Response payload size (7000000")


def test_many_short_strings_add_up_past_the_limit() -> None:
    # 400 values of 16,000 characters: each within the loop's cheap bound, 6.4 MB together
    # (mutation testing: the short-string bound must stay an upper bound).
    failure = check({"rows": ["x" * 16_000] * 400})
    assert failure is not None and failure.message.startswith(
        "Response payload size (6401610 bytes)"
    )


def test_the_fallback_encoder_writes_as_the_runtime_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without awslambdaric's marshaller loaded, the stand-in allows NaN and writes UTF-8
    for the 3.12+ runtimes, as awslambdaric does (values past the walk's budget reach it)."""
    monkeypatch.delitem(sys.modules, "awslambdaric.lambda_runtime_marshaller", raising=False)
    assert check([float("nan")] * 5_000) is None
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    failure = check(["é" * 20_000] * 5_000)
    assert failure is not None and failure.message.startswith(
        "Response payload size (200020000 bytes)"
    )  # 2 bytes an é
