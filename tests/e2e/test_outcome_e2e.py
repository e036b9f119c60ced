"""Outcome records, EMF metrics and the timeout watchdog under the real runtime."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lambdaops._outcome import PRICE_PER_GB_SECOND, PRICE_PER_REQUEST
from tests.e2e.conftest import json_lines
from tests.emf_spec import datapoints, validate

pytestmark = pytest.mark.e2e


def test_five_invocations_five_records(make_env: Any) -> None:
    env = make_env(
        "outcome_app.handler",
        function_name="e2e-outcome-fn",
        memory_mb=256,
        timeout_s=2.0,
        env={"LAMBDAOPS_ARCHITECTURE": "x86_64"},
    )
    kinds = ["ok", "ok", "error", "many", "hang"]
    results = []
    for kind in kinds:
        results.append(env.invoke({"kind": kind, "gizmos": 2}))
    assert [r.status for r in results] == ["success", "success", "error", "success", "timeout"]

    stamped = [(t, line) for t, stream, line in env.lines if stream == "stdout"]
    records = [(t, rec) for t, rec in ((t, json_lines([line])) for t, line in stamped) if rec]
    outcomes = [(t, rec[0]) for t, rec in records if rec[0].get("lambdaops") == "outcome"]
    assert [rec["outcome"] for _, rec in outcomes] == [
        "success",
        "success",
        "error",
        "success",
        "timeout",
    ]
    for (_, rec), result in zip(outcomes, results, strict=True):
        assert rec["request_id"] == result.request_id
        assert rec["function_name"] == "e2e-outcome-fn" and rec["memory_limit_mb"] == 256
        assert rec["duration_ms"] <= result.duration_ms  # never more than the runtime observed
        price = rec["billed_duration_ms"] / 1000 * 256 / 1024 * PRICE_PER_GB_SECOND["x86_64"]
        assert rec["estimated_cost_usd"] == pytest.approx(price + PRICE_PER_REQUEST, rel=1e-9)
        assert rec["billed_duration_ms"] == max(1, math.ceil(rec["duration_ms"]))
    assert [rec["cold_start"] for _, rec in outcomes] == [True, False, False, False, False]
    assert outcomes[2][1]["error_type"] == "ValueError"

    # the timeout record: written before the deadline, naming where the handler was stuck
    written_at, timeout = outcomes[4]
    assert written_at * 1000 < results[4].deadline_ms
    assert timeout["stuck_in"].startswith("wait_for_inventory (")
    assert timeout["Timeout"] == 1 and timeout["GizmosProcessed"] == 2
    debug = [rec[0] for _, rec in records if rec[0].get("message") == "handling"]
    assert debug and debug[-1]["buffered"] is True  # the debug buffer came out too

    # every EMF document is valid; the 150-metric invocation got all of them out
    docs = [rec[0] for _, rec in records if "_aws" in rec[0]]
    for doc in docs:
        assert validate(doc) == []
    points = datapoints(docs)
    names = {key[2] for key in points}
    assert {f"metric_{i}" for i in range(150)} <= names
    assert sum(n for key, n in points.items() if key[2] == "ColdStart") == 1
    assert sum(n for key, n in points.items() if key[2] == "GizmosProcessed") == 5
