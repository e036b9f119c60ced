"""The local Runtime API and execution environments, checked against the real awslambdaric."""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops.local import Environment, InvocationResult, RuntimeAPI

HANDLERS = Path(__file__).parent / "handlers"
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
NEXT = "/2018-06-01/runtime/invocation/next"

MakeEnv = Callable[..., Environment]


@pytest.fixture
def make_env() -> Iterator[MakeEnv]:
    envs: list[Environment] = []

    def make(handler: str, **kwargs: Any) -> Environment:
        env = Environment(f"simple.{handler}", code_dir=HANDLERS, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.stop()


def invoke_in_thread(api: RuntimeAPI, event: Any, **kwargs: Any) -> Callable[[], InvocationResult]:
    """Run the blocking invoke() on a thread; the returned function joins and gives the result."""
    box: list[InvocationResult] = []
    thread = threading.Thread(target=lambda: box.append(api.invoke(event, **kwargs)))
    thread.start()

    def join() -> InvocationResult:
        thread.join(5)
        return box[0]

    return join


# -- the Runtime API on its own, driven by a hand-written HTTP/1.1 client ----------------------


def test_protocol_keep_alive_headers_and_late_posts() -> None:
    with RuntimeAPI(function_arn="arn:aws:lambda:eu-west-1:111122223333:function:f") as api:
        context = {"custom": {"k": "v"}}
        result = invoke_in_thread(
            api,
            {"a": 1},
            timeout_s=5,
            request_id="req-1",
            trace_header=TRACE,
            client_context=context,
        )
        conn = http.client.HTTPConnection(api.address, timeout=5)
        conn.request("GET", NEXT)
        nxt = conn.getresponse()
        assert (nxt.status, nxt.version) == (200, 11)
        assert json.loads(nxt.read()) == {"a": 1}
        assert nxt.getheader("Lambda-Runtime-Aws-Request-Id") == "req-1"
        assert nxt.getheader("Lambda-Runtime-Trace-Id") == TRACE
        assert nxt.getheader("Lambda-Runtime-Invoked-Function-Arn", "").endswith(":function:f")
        assert json.loads(nxt.getheader("Lambda-Runtime-Client-Context", "")) == context
        assert api.wait_ready(0) and api.first_next_at is not None

        conn.request("POST", "/2018-06-01/runtime/invocation/req-1/response", b'"done"')
        posted = conn.getresponse()
        assert (posted.status, json.loads(posted.read())) == (202, {"status": "OK"})
        res = result()
        assert (res.status, res.json(), res.request_id) == ("success", "done", "req-1")
        deadline = int(nxt.getheader("Lambda-Runtime-Deadline-Ms", ""))
        assert res.deadline_ms == deadline
        assert abs(deadline - (res.delivered_at + 5) * 1000) < 2
        assert 0 <= res.duration_ms < 1000

        # Same connection throughout: a late post, an unknown id and an unknown path.
        for path, status in [
            ("/2018-06-01/runtime/invocation/req-1/response", 410),
            ("/2018-06-01/runtime/invocation/nope/error", 400),
            ("/2018-06-01/runtime/nowhere", 404),
        ]:
            conn.request("POST", path, b"{}")
            reply = conn.getresponse()
            assert reply.status == status
            assert "errorType" in json.loads(reply.read())
        conn.request("GET", "/2018-06-01/other")
        reply = conn.getresponse()
        assert (reply.status, "errorType" in json.loads(reply.read())) == (404, True)
        conn.close()


def test_error_post_uses_header_then_body_error_type() -> None:
    with RuntimeAPI() as api:
        conn = http.client.HTTPConnection(api.address, timeout=5)
        cases = [({"Lambda-Runtime-Function-Error-Type": "Custom"}, "Custom"), ({}, "KeyError")]
        for header, expected in cases:
            result = invoke_in_thread(api, {}, timeout_s=5)
            conn.request("GET", NEXT)
            nxt = conn.getresponse()
            nxt.read()
            rid = nxt.getheader("Lambda-Runtime-Aws-Request-Id")
            body = json.dumps({"errorMessage": "'x'", "errorType": "KeyError", "stackTrace": []})
            conn.request("POST", f"/2018-06-01/runtime/invocation/{rid}/error", body, header)
            posted = conn.getresponse()
            assert (posted.status, posted.read()) == (202, b'{"status": "OK"}')
            res = result()
            assert (res.status, res.error_type) == ("error", expected)
            assert res.error is not None and res.error["errorMessage"] == "'x'"
            assert res.payload is None
            with pytest.raises(ValueError, match=r"has no payload \(status error\)$"):
                res.json()
        conn.close()


def test_unclaimed_event_times_out_from_queue_time() -> None:
    with RuntimeAPI() as api:
        res = api.invoke(b'{"raw": true}', timeout_s=0.2)
    assert res.status == "timeout"
    assert res.error_type == "Sandbox.Timedout"
    assert 190 <= res.duration_ms < 500
    assert not api.wait_ready(0) and api.first_next_at is None


def test_init_error_fails_queued_events_and_counts_as_ready() -> None:
    with RuntimeAPI() as api:
        result = invoke_in_thread(api, {}, timeout_s=5)
        time.sleep(0.05)
        conn = http.client.HTTPConnection(api.address, timeout=5)
        body = json.dumps({"errorMessage": "bad", "errorType": "Runtime.ImportModuleError"})
        conn.request("POST", "/2018-06-01/runtime/init/error", body)
        assert conn.getresponse().status == 202
        assert api.wait_ready(1)
        assert api.init_error == {"errorMessage": "bad", "errorType": "Runtime.ImportModuleError"}
        res = result()
        assert (res.status, res.error_type) == ("init_error", "Runtime.ImportModuleError")
        assert api.invoke({}, timeout_s=1).status == "init_error"  # fails fast from now on
        conn.close()


# -- environments running the real runtime interface client --------------------------------


@pytest.mark.e2e
def test_cold_then_warm_in_the_same_process(make_env: MakeEnv) -> None:
    env = make_env("echo", function_name="orders", memory_mb=256)
    event = {"text": "héllo ✓", "nested": {"list": [1, 2.5, None, True]}}

    first = env.invoke(event)
    assert env.cold and first.status == "success"
    pid, init_ms = env.pid, env.init_duration_ms
    assert pid is not None and init_ms is not None and 0 < init_ms < 5000
    assert first.json() == {"event": event, "count": 1, "pid": pid}
    assert "simple: module init" in [line for _, _, line in env.lines]

    second = env.invoke({"again": True})
    assert not env.cold and env.pid == pid
    assert second.json()["count"] == 2  # module state survived
    assert env.init_duration_ms == init_ms
    assert second.duration_ms < 1000
    memory = env.max_memory_used_mb()
    assert memory is not None and 5 < memory < 1024


@pytest.mark.e2e
def test_lambda_environment_variables(make_env: MakeEnv, tmp_path: Path) -> None:
    env = make_env("environ", function_name="orders", memory_mb=256, env={"MY_SETTING": "on"})
    names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
        "TZ",
        "AWS_REGION",
        "MY_SETTING",
    ]
    got = env.invoke({"names": names}).json()
    assert got == {
        "AWS_LAMBDA_FUNCTION_NAME": "orders",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/orders",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
        "LAMBDA_TASK_ROOT": str(HANDLERS),
        "_HANDLER": "simple.environ",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "MY_SETTING": "on",
    }


@pytest.mark.e2e
def test_handler_error_keeps_the_process_warm(make_env: MakeEnv) -> None:
    env = make_env("boom")
    mark = len(env.lines)
    res = env.invoke({"id": 7})
    assert res.status == "error" and res.error_type == "ValueError"
    assert res.error is not None
    assert res.error["errorMessage"] == "boom: {'id': 7}"
    assert any("raise ValueError" in frame for frame in res.error["stackTrace"])
    # awslambdaric logs the error as one record whose lines are joined by "\r".
    assert any(line.startswith("[ERROR] ValueError: boom:") for line in env.lines_since(mark))
    pid = env.pid
    assert env.invoke({}).status == "error"
    assert not env.cold and env.pid == pid


@pytest.mark.e2e
def test_timeout_kills_the_process_and_next_invoke_is_cold(make_env: MakeEnv) -> None:
    env = make_env("sleepy", timeout_s=1.0)
    env.start()
    pid = env.pid
    res = env.invoke({"sleep": 5})
    assert not env.cold
    assert res.status == "timeout" and res.error_type == "Sandbox.Timedout"
    assert res.error is not None
    assert "Task timed out after 1.00 seconds" in res.error["errorMessage"]
    assert 1000 <= res.duration_ms < 1300
    assert env.pid is None
    assert "sleepy: going to sleep" in [line for _, _, line in env.lines]

    again = env.invoke({"sleep": 0})
    assert env.cold and again.status == "success" and again.json() == "awake"
    assert env.pid not in (None, pid)


@pytest.mark.e2e
def test_trace_header_is_set_per_invocation(make_env: MakeEnv) -> None:
    env = make_env("trace")
    assert env.invoke({}, trace_header=TRACE).json() == TRACE
    assert env.invoke({}).json() is None  # awslambdaric clears it when none is sent


@pytest.mark.e2e
def test_request_id_and_remaining_time(make_env: MakeEnv) -> None:
    res = make_env("request_id").invoke({}, request_id="my-request-1")
    assert res.request_id == "my-request-1" and res.json() == "my-request-1"

    env = make_env("remaining", timeout_s=2.0)
    res = env.invoke({})
    assert 1800 <= res.json() <= 2000
    assert abs(res.deadline_ms - (res.delivered_at + 2.0) * 1000) < 2
    assert 400 <= env.invoke({}, timeout_s=0.5).json() <= 500  # per-invocation override


@pytest.mark.e2e
def test_stdout_of_each_invocation_is_read_before_invoke_returns(make_env: MakeEnv) -> None:
    env = make_env("chatty")
    env.start()
    assert "simple: module init" in env.lines_since(0)  # init output, read before start() ends
    for n in (0, 3, 500):
        mark = len(env.lines)
        res = env.invoke({"n": n})
        assert res.json() == n
        expected = [f"line {i}" for i in range(n)] + ["no newline at the end"]
        assert env.lines_since(mark) == expected
    assert {stream for _, stream, _ in env.lines} == {"stdout", "platform"}
    stamps = [stamp for stamp, _, _ in env.lines]
    assert stamps == sorted(stamps)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("simple.nope", "Runtime.HandlerNotFound"),
        ("missing_module.handler", "Runtime.ImportModuleError"),
        ("no_dot", "Runtime.MalformedHandlerName"),
    ],
)
def test_bad_handler_is_an_init_error(handler: str, error_type: str) -> None:
    with Environment(handler, code_dir=HANDLERS) as env:
        res = env.invoke({}, request_id="r-1")
        assert env.cold and env.pid is None
        assert (res.status, res.error_type, res.request_id) == ("init_error", error_type, "r-1")
        assert res.error is not None and res.error["errorType"] == error_type
        assert env.init_error == res.error
        assert any(line.startswith(f"[ERROR] {error_type}") for line in env.lines_since(0))
        assert env.invoke({}).status == "init_error"  # each invoke retries init, cold


@pytest.mark.e2e
def test_process_dying_mid_invocation_is_a_crash(make_env: MakeEnv) -> None:
    env = make_env("die")
    res = env.invoke({})
    assert res.status == "crashed" and res.error_type == "Runtime.ExitError"
    assert res.error is not None and "exit status 3" in res.error["errorMessage"]
    assert "die: exiting" in env.lines_since(0)
    assert env.pid is None
    env.invoke({})
    assert env.cold


@pytest.mark.e2e
def test_two_environments_run_concurrently(make_env: MakeEnv) -> None:
    envs = [make_env("sleepy", timeout_s=2.0), make_env("sleepy", timeout_s=2.0)]
    for env in envs:
        env.start()
    results: list[InvocationResult] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda e=env: results.append(e.invoke({"sleep": 0.5})))
        for env in envs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == ["success", "success"]
    assert elapsed < 0.95
    assert envs[0].pid != envs[1].pid
