"""Structured logs under the real runtime: awslambdaric + lambdaops' local Runtime API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import json_lines

pytestmark = pytest.mark.e2e

CONTRACT = ("timestamp", "level", "message", "service", "request_id", "function_name", "cold_start")


def trace(n: int, sampled: int = 0) -> str:
    root = f"1-67891233-abcdef01234567890000{n:04d}"
    return f"Root={root};Parent=53995c3f42cd8ad{n};Sampled={sampled}"


def api_event(kind: str) -> dict[str, Any]:
    return {
        "resource": "/r",
        "path": "/r",
        "httpMethod": "GET",
        "headers": {"Accept": "*/*"},
        "requestContext": {"requestId": f"apigw-{kind}", "httpMethod": "GET", "stage": "v1"},
        "kind": kind,
    }


def test_log_contract_under_awslambdaric(make_env: Any) -> None:
    env = make_env("logs_app.handler", function_name="e2e-logs-fn")
    kinds = ["ok", "ok", "error", "logged-error", "ok"]
    results = []
    lines_by_call = []
    for i, kind in enumerate(kinds):
        start = len(env.lines)
        results.append(env.invoke(api_event(kind), trace_header=trace(i)))
        lines_by_call.append(json_lines(env.lines_since(start)))

    # responses and errors reach the runtime unchanged
    assert results[0].status == "success"
    assert results[0].json() == {"echo": "ok", "trace": trace(0)}
    assert results[2].status == "error"
    assert results[2].error is not None
    assert results[2].error["errorType"] == "ValueError"
    assert results[2].error["errorMessage"] == "requested failure"
    assert results[3].status == "success"

    for i, (result, records) in enumerate(zip(results, lines_by_call, strict=True)):
        logs = [r for r in records if "level" in r and r.get("message") != "module loaded"]
        assert logs, f"invocation {i} wrote no log lines"
        for rec in logs:
            for key in CONTRACT:
                assert key in rec, (key, rec)
            assert rec["request_id"] == result.request_id
            assert rec["service"] == "e2e-logs"
            assert rec["function_name"] == "e2e-logs-fn"
            assert rec["cold_start"] is (i == 0)
            assert rec["xray_trace_id"] == trace(i).split(";")[0][len("Root=") :]
            assert rec["correlation_id"] == f"apigw-{kinds[i]}"
        messages = [r["message"] for r in logs]
        # debug lines only for the failing invocations (raised, or logged an error)
        assert ("debug detail" in messages) is (kinds[i] in ("error", "logged-error"))
        # stdlib logging comes out in the same format
        stdlib = [r for r in logs if r.get("logger") == "e2e.stdlib"]
        assert len(stdlib) == 1 and stdlib[0]["level"] == "WARNING"

    # one process: warm invocations after the first
    assert env.cold is False


def test_debug_level_always_writes_debug_lines(make_env: Any) -> None:
    env = make_env("logs_app.handler", env={"LAMBDAOPS_LOG_LEVEL": "DEBUG"})
    for kind in ("ok", "ok"):
        start = len(env.lines)
        assert env.invoke(api_event(kind)).status == "success"
        messages = [r.get("message") for r in json_lines(env.lines_since(start))]
        assert "debug detail" in messages


def test_import_time_line_has_no_invocation_fields(make_env: Any) -> None:
    env = make_env("logs_app.handler")
    env.invoke(api_event("ok"))
    init = [r for r in json_lines(env.lines_since(0)) if r.get("message") == "module loaded"]
    assert len(init) == 1
    assert "request_id" not in init[0] and init[0]["phase"] == "init"
