"""Shared test setup: a clean lambdaops process state for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lambdaops import _stdlib, testing


@pytest.fixture(autouse=True)
def _clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "LAMBDAOPS_SERVICE",
        "LAMBDAOPS_NAMESPACE",
        "LAMBDAOPS_LOG_LEVEL",
        "LAMBDAOPS_DEBUG_SAMPLE_RATE",
        "LAMBDAOPS_DEBUG_BUFFER",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_METRICS_NAMESPACE",
        "AWS_LAMBDA_LOG_LEVEL",
        "AWS_LAMBDA_FUNCTION_NAME",
        "_X_AMZN_TRACE_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    testing.reset()
    yield
    _stdlib.uninstall()
    testing.reset()


@pytest.fixture(autouse=True)
def _every_emf_document_is_valid(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test does, every EMF document lambdaops wrote must pass the spec validator."""
    yield
    capture = request.node.funcargs.get("lambdaops_capture")
    if capture is None:
        return
    from tests.emf_spec import validate_line

    for line in capture.lines:
        if '"_aws"' in line:
            validate_line(line)
