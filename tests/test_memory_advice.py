"""``lambdaops report``'s memory advice from outcome records alone (issue 18)."""

from __future__ import annotations

import json

from lambdaops import report
from lambdaops._memory_advice import Sample, advise, predict_ms

PRICE, REQUEST = 0.0000166667, 0.0000002


def test_cpu_work_scales_with_the_share_and_waiting_does_not() -> None:
    sample = Sample(duration_ms=500.0, cpu_ms=400.0, max_memory_used_mb=60, memory_limit_mb=256)
    # 100 ms waiting stays; 400 ms of CPU at 256/1769 of a vCPU takes 400*256/512 at 512 MB
    assert predict_ms(sample, 512) == 100.0 + 400.0 * (256 / 1769) / (512 / 1769)
    assert predict_ms(sample, 1769) == predict_ms(sample, 3008)  # one vCPU is all Python uses
    waiting = Sample(500.0, 5.0, 60, 256)
    assert round(predict_ms(waiting, 1024), 6) == round(495.0 + 5.0 * 0.25, 6)


def test_a_cpu_bound_function_is_advised_more_memory_and_a_waiting_one_less() -> None:
    busy = [Sample(800.0, 790.0, 70, 128)] * 5
    advice = advise(busy, PRICE, REQUEST)
    assert advice["current_mb"] == 128 and advice["cpu_bound_share"] == 0.988
    assert advice["fastest_mb"] == 1769

    # cost at 128: ceil(800) ms; at 256: 10 + 790/2 = 405 ms: about the same GB-s, so 128 or
    # 256 tie closely; the advice is whichever is cheaper by the formula, exactly:
    def cost(mb: int) -> float:
        import math

        return math.ceil(predict_ms(busy[0], mb)) / 1000 * mb / 1024 * PRICE + REQUEST

    best = min(
        sorted({128, 256, 512, 768, 1024, 1536, 1769, 2048, 3008}), key=lambda m: (cost(m), m)
    )
    assert advice["recommended_mb"] == best
    assert advice["cost_per_million_usd"][str(best)] == round(cost(best) * 1e6, 6)
    idle = advise([Sample(300.0, 3.0, 70, 1024)] * 5, PRICE, REQUEST)
    assert (idle["recommended_mb"], idle["current_mb"]) == (128, 1024)


def test_peak_memory_with_headroom_bounds_the_advice() -> None:
    advice = advise([Sample(300.0, 3.0, 200, 1024)] * 3, PRICE, REQUEST)
    assert advice["recommended_mb"] == 256  # 200 MB needs 250 MB at 80%: 128 is out
    assert advise([], PRICE, REQUEST) == {
        "recommended_mb": None,
        "reason": "no outcome records with cpu_ms",
    }


def _record(request: str, **fields: object) -> str:
    base = {
        "lambdaops": "outcome", "outcome": "success", "request_id": request,
        "function_name": "f", "service": "f", "cold_start": False, "duration_ms": 300.0,
        "billed_duration_ms": 300, "memory_limit_mb": 1024, "max_memory_used_mb": 70,
        "cpu_ms": 3.0, "estimated_cost_usd": 5.2e-06, "trigger": "direct", "attempt": 1,
    }  # fmt: skip
    return json.dumps({**base, **fields})


def test_the_report_prints_the_advice_and_its_model() -> None:
    built = report.build([_record(f"r-{i}") for i in range(4)])
    advice = built.as_dict()["memory_advice"]
    assert (advice["recommended_mb"], advice["current_mb"], advice["invocations"]) == (128, 1024, 4)
    table = report.format_table(built)
    assert "memory advice" in table and "128 MB (now 1024 MB)" in table
    assert "memory / 1,769 MB, at most one vCPU for Python" in table


def test_managed_instances_get_no_gb_second_advice() -> None:
    basis = "requests only: Managed Instances bill the instance"
    built = report.build([_record("r-1", estimated_cost_usd=2e-07, cost_basis=basis)])
    d = built.as_dict()
    assert d["cost_basis"] == basis
    assert d["memory_advice"] == {
        "recommended_mb": None,
        "reason": f"not billed by GB-second: {basis}",
    }
    last = report.format_table(built).splitlines()[-1]
    assert last.split(None, 2) == ["cost", "basis", basis]
