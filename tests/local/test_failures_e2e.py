"""Each way an invocation can end, under the real awslambdaric, in both of Lambda's log formats.

Every test asserts the exact platform records (timings blanked by conftest.normalize) that
Lambda writes for that ending — the shapes and their sources are in docs/local.md — plus what
the caller gets back. Timeouts are short and memory limits small to keep the suite fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from lambdaops.local import MAX_RESPONSE_BYTES

from .conftest import MakeEnv, function_events, platform_records

pytestmark = pytest.mark.e2e

RUNTIME = f"python:{sys.version_info[0]}.{sys.version_info[1]}.local"
ARN = "arn:aws:lambda:us-east-1::runtime:local"


# -- the records Lambda writes, by format (docs/local.md) ------------------------------------


def init_start(fmt: str, phase: str = "init", name: str = "local-function") -> list[Any]:
    if fmt == "text":
        return [f"INIT_START Runtime Version: {RUNTIME}\tRuntime Version ARN: {ARN}"] * (
            phase == "init"
        )
    record = {
        "initializationType": "on-demand",
        "phase": phase,
        "runtimeVersion": RUNTIME,
        "runtimeVersionArn": ARN,
        "functionName": name,
        "functionVersion": "$LATEST",
    }
    return [{"time": "T", "type": "platform.initStart", "record": record}]


def init_done(fmt: str, phase: str = "init", error_type: str | None = None) -> list[Any]:
    status = "error" if error_type else "success"
    if fmt == "text":
        if error_type is None:
            return []
        return [
            f"INIT_REPORT Init Duration: X ms\tPhase: {phase}\tStatus: error"
            f"\tError Type: {error_type}"
        ]
    done: dict[str, Any] = {"initializationType": "on-demand", "phase": phase, "status": status}
    if error_type:
        done["errorType"] = error_type
    return [
        {"time": "T", "type": "platform.initRuntimeDone", "record": done},
        {
            "time": "T",
            "type": "platform.initReport",
            "record": {**done, "metrics": {"durationMs": "X"}},
        },
    ]


def start(fmt: str, rid: str) -> list[Any]:
    if fmt == "text":
        return [f"START RequestId: {rid} Version: $LATEST"]
    return [
        {"time": "T", "type": "platform.start", "record": {"requestId": rid, "version": "$LATEST"}}
    ]


def end(
    fmt: str,
    rid: str,
    status: str = "success",
    error_type: str | None = None,
    cold: bool = False,
    memory: int | str = "X",
    size: int = 128,
) -> list[Any]:
    if fmt == "text":
        report = (
            f"REPORT RequestId: {rid}\tDuration: X ms\tBilled Duration: X ms"
            f"\tMemory Size: {size} MB\tMax Memory Used: {memory} MB"
        )
        if cold:
            report += "\tInit Duration: X ms"
        if status == "timeout":
            report += "\tStatus: timeout"
        elif status != "success":
            report += f"\tStatus: {status}\tError Type: {error_type}"
        return [f"END RequestId: {rid}", report]
    head: dict[str, Any] = {"requestId": rid, "status": status}
    if error_type:
        head["errorType"] = error_type
    metrics: dict[str, Any] = {
        "durationMs": "X",
        "billedDurationMs": "X",
        "memorySizeMB": size,
        "maxMemoryUsedMB": memory,
    }
    if cold:
        metrics["initDurationMs"] = "X"
    return [
        {
            "time": "T",
            "type": "platform.runtimeDone",
            "record": {**head, "metrics": {"durationMs": "X", "producedBytes": 0}},
        },
        {"time": "T", "type": "platform.report", "record": {**head, "metrics": metrics}},
    ]


def fault(fmt: str, text: str) -> list[Any]:
    return [text] if fmt == "text" else []


# -- success and handler errors: the platform saw a normal invocation -----------------------


def test_cold_then_warm_success(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("failures.ok", log_format=log_format)
    first = env.invoke({}, request_id="r-1")
    second = env.invoke({}, request_id="r-2")
    assert (first.json(), second.json()) == ("fine", "fine")
    assert first.platform is not None and first.platform.status == "success"
    assert platform_records(env) == [
        *init_start(log_format),
        *init_done(log_format),
        *start(log_format, "r-1"),
        *end(log_format, "r-1", cold=True),
        *start(log_format, "r-2"),
        *end(log_format, "r-2"),
    ]
    # The function's lines sit where Lambda puts them: init output after INIT_START, the
    # invocation's between START and END, REPORT last.
    order = ["P" if stream == "platform" else text for stream, text in env.events_since(0)]
    init = ["P", "failures: module init"] + ["P", "P"] * (log_format == "json")
    assert order == [*init, "P", "ok: r-1", "P", "P", "P", "ok: r-2", "P", "P"]
    assert second.platform is not None
    assert (env.events_since(0)[-1][1], order[-1]) == (second.platform.report, "P")
    assert first.platform.report in [text for _, text in env.events_since(0)][:-4]


def test_handler_exception_is_a_success_to_the_platform(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("failures.boom", log_format=log_format)
    env.start()
    mark = len(env.lines)
    res = env.invoke({"id": 7}, request_id="r-err")
    assert (res.status, res.error_type) == ("error", "ValueError")
    assert res.platform is not None and (res.platform.status, res.platform.error_type) == (
        "success",
        None,
    )
    assert platform_records(env, mark) == [*start(log_format, "r-err"), *end(log_format, "r-err")]
    # awslambdaric's [ERROR] record arrives as ONE telemetry frame, traceback included.
    (frame,) = [text for stream, text in function_events(env, mark) if stream == "telemetry"]
    if log_format == "text":
        lines = frame.split("\n")
        assert lines[0] == "[ERROR] ValueError: boom: {'id': 7}"
        assert lines[1] == "Traceback (most recent call last):"
        assert any("raise ValueError" in line for line in lines[2:])
    else:
        doc = json.loads(frame)
        assert (doc["level"], doc["errorType"], doc["errorMessage"], doc["requestId"]) == (
            "ERROR",
            "ValueError",
            "boom: {'id': 7}",
            "r-err",
        )
    env.invoke({})
    assert not env.cold  # a handler exception keeps the environment


def test_unmarshal_error(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("failures.ok", log_format=log_format)
    env.start()
    mark = len(env.lines)
    res = env.invoke(b"{not json", request_id="r-raw")
    assert (res.status, res.error_type) == ("error", "Runtime.UnmarshalError")
    assert res.error is not None
    assert res.error["errorMessage"].startswith("Unable to unmarshal input: ")
    assert platform_records(env, mark) == [*start(log_format, "r-raw"), *end(log_format, "r-raw")]
    (frame,) = [text for stream, text in function_events(env, mark) if stream == "telemetry"]
    if log_format == "text":
        assert frame.startswith("[ERROR] Runtime.UnmarshalError: Unable to unmarshal input: ")
    else:
        assert json.loads(frame)["errorType"] == "Runtime.UnmarshalError"
    assert env.invoke({}).json() == "fine" and not env.cold


# -- failures the platform sees ---------------------------------------------------------------


def test_timeout(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("failures.slow", log_format=log_format, timeout_s=0.5)
    env.start()
    mark = len(env.lines)
    res = env.invoke({}, request_id="r-slow")
    assert (res.status, res.error_type) == ("timeout", "Sandbox.Timedout")
    assert res.platform is not None and res.platform.status == "timeout"
    assert platform_records(env, mark) == [
        *start(log_format, "r-slow"),
        *fault(log_format, "T r-slow Task timed out after 0.50 seconds"),
        *end(log_format, "r-slow", "timeout"),
    ]
    assert "slow: sleeping" in env.lines_since(mark)
    assert env.pid is None


@pytest.mark.parametrize(
    ("handler", "reason"),
    [("exit1", "exit status 1"), ("segfault", "signal: segmentation fault")],
)
def test_exit_and_crash(make_env: MakeEnv, log_format: str, handler: str, reason: str) -> None:
    env = make_env(f"failures.{handler}", log_format=log_format)
    env.start()
    mark = len(env.lines)
    res = env.invoke({}, request_id="r-x")
    message = f"RequestId: r-x Error: Runtime exited with error: {reason}"
    assert (res.status, res.error_type, res.error) == (
        "crashed",
        "Runtime.ExitError",
        {"errorType": "Runtime.ExitError", "errorMessage": message},
    )
    assert platform_records(env, mark) == [
        *start(log_format, "r-x"),
        *fault(log_format, f"{message}\nRuntime.ExitError"),
        *end(log_format, "r-x", "error", "Runtime.ExitError"),
    ]
    assert env.pid is None
    env.invoke({})
    assert env.cold


@pytest.mark.parametrize("handler", ["hog", "hog_in_child"])
def test_out_of_memory(make_env: MakeEnv, log_format: str, handler: str) -> None:
    env = make_env(f"failures.{handler}", log_format=log_format, memory_mb=64, timeout_s=20)
    env.start()
    mark = len(env.lines)
    res = env.invoke({}, request_id="r-oom")
    message = "RequestId: r-oom Error: Runtime exited with error: signal: killed"
    assert (res.status, res.error_type, res.error) == (
        "crashed",
        "Runtime.OutOfMemory",
        {"errorType": "Runtime.OutOfMemory", "errorMessage": message},
    )
    assert res.duration_ms < 10_000  # killed by the watcher, long before the timeout
    assert platform_records(env, mark, keep_memory=True) == [
        *start(log_format, "r-oom"),
        *fault(log_format, f"{message}\nRuntime.OutOfMemory"),
        *end(log_format, "r-oom", "error", "Runtime.OutOfMemory", memory=64, size=64),
    ]
    assert env.pid is None


def test_response_over_six_megabytes(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("failures.big", log_format=log_format)
    env.start()
    mark = len(env.lines)
    res = env.invoke({}, request_id="r-big")
    size = MAX_RESPONSE_BYTES + 1
    assert (res.status, res.error_type, res.error) == (
        "error",
        "Function.ResponseSizeTooLarge",
        {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed "
            "payload size (6291556 bytes).",
        },
    )
    # awslambdaric logs the 413 and exits before asking for the next event: Lambda sees the
    # runtime exit, so its records say Runtime.ExitError.
    message = "RequestId: r-big Error: Runtime exited with error: exit status 1"
    assert platform_records(env, mark) == [
        *start(log_format, "r-big"),
        *fault(log_format, f"{message}\nRuntime.ExitError"),
        *end(log_format, "r-big", "error", "Runtime.ExitError"),
    ]
    logged = env.lines_since(mark)
    assert any(
        "Failed to post handler success response. Http response code: 413." in line
        and '"errorType": "RequestEntityTooLarge"' in line
        for line in logged
    ), logged
    assert env.pid is None


def test_response_of_exactly_the_limit_is_fine(make_env: MakeEnv) -> None:
    env = make_env("failures.just_under")
    res = env.invoke({})
    assert res.status == "success" and res.payload is not None
    assert len(res.payload) == MAX_RESPONSE_BYTES
    assert env.pid is not None


# -- init failures: the init phase, then Lambda's retry in the invoke phase -----------------


def test_exception_at_import(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("bad_import.handler", log_format=log_format)
    first = env.invoke({}, request_id="r-1")
    second = env.invoke({}, request_id="r-2")
    for res in (first, second):
        assert (res.status, res.error_type) == ("init_error", "ValueError")
        assert res.error is not None and res.error["errorMessage"] == "no config at import"
        assert res.platform is not None
        assert (res.platform.status, res.platform.error_type) == ("error", "ValueError")
    failed = init_done(log_format, "invoke", "ValueError")
    assert platform_records(env) == [
        *init_start(log_format, "init"),
        *init_done(log_format, "init", "ValueError"),
        *init_start(log_format, "invoke"),  # Lambda re-runs init within the invocation
        *failed,
        *start(log_format, "r-1"),
        *fault(log_format, "Unknown application error occurred\nValueError"),
        *end(log_format, "r-1", "error", "ValueError"),
        *init_start(log_format, "invoke"),  # and again on the next invoke, invoke phase only
        *failed,
        *start(log_format, "r-2"),
        *fault(log_format, "Unknown application error occurred\nValueError"),
        *end(log_format, "r-2", "error", "ValueError"),
    ]
    # The module ran three times: the init phase and two invoke-phase retries.
    assert env.lines_since(0).count("bad_import: importing") == 3


def test_exit_at_import(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("exit_at_import.handler", log_format=log_format)
    res = env.invoke({}, request_id="r-1")
    message = "RequestId: r-1 Error: Runtime exited with error: exit status 1"
    assert (res.status, res.error_type, res.error) == (
        "crashed",
        "Runtime.ExitError",
        {"errorType": "Runtime.ExitError", "errorMessage": message},
    )
    assert platform_records(env) == [
        *init_start(log_format, "init"),
        *init_done(log_format, "init", "Runtime.ExitError"),
        *init_start(log_format, "invoke"),
        *init_done(log_format, "invoke", "Runtime.ExitError"),
        *start(log_format, "r-1"),
        *fault(log_format, f"{message}\nRuntime.ExitError"),
        *end(log_format, "r-1", "error", "Runtime.ExitError"),
    ]


def test_runtime_log_format_variable(make_env: MakeEnv, log_format: str) -> None:
    env = make_env("simple.environ", log_format=log_format)
    got = env.invoke({"names": ["AWS_LAMBDA_LOG_FORMAT", "_LAMBDA_TELEMETRY_LOG_FD"]}).json()
    # awslambdaric takes the telemetry fd out of the environment once it has opened it.
    assert got == {
        "AWS_LAMBDA_LOG_FORMAT": "JSON" if log_format == "json" else "Text",
        "_LAMBDA_TELEMETRY_LOG_FD": None,
    }
