"""make demo's check: Lambda's own count of the run, and the report's beside it."""

from __future__ import annotations

from lambdaops.demo import format_comparison, lambda_count
from lambdaops.local._runner import LocalResult
from lambdaops.local._runtime_api import InvocationResult


def result(status: str, request_id: str) -> LocalResult:
    invocation = InvocationResult(request_id, status, None, None, None, 0.0, 0.001, 0)
    return LocalResult(invocation, 0, False, None, 128, None, "Root=1-0-0;Sampled=0")


def test_lambda_count_counts_attempts_and_requests() -> None:
    """Every platform failure is an error; a retried request succeeds if any attempt did."""
    results = [
        result("success", "a"),
        result("error", "b"),
        result("crashed", "c"),
        result("success", "c"),  # the retry of c
        result("init_error", "d"),
        result("timeout", "e"),
    ]
    assert lambda_count(results) == {
        "invocations": 6,
        "successes": 2,
        "errors": 3,
        "timeouts": 1,
        "availability": 0.333333,
        "request_availability": 0.4,
    }


def test_the_comparison_marks_every_figure_that_differs() -> None:
    lambdas = lambda_count([result("success", "a"), result("crashed", "b")])
    reports = {**lambdas, "invocations": 1, "errors": 0, "availability": 1.0}
    assert format_comparison(lambdas, reports).splitlines() == [
        "                       Lambda   report",
        "invocations                 2        1  !=",
        "successes                   1        1",
        "errors                      1        0  !=",
        "timeouts                    0        0",
        "availability            50.0%   100.0%  !=",
        "request availability    50.0%    50.0%",
    ]
