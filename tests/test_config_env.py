"""Every environment variable in the README's configuration table, set alone, resolves to
exactly the value it promises.

The cases are checked against the table itself, so a row added to the README without a case
here (or a case whose row was removed) fails, and each case's value differs from the default,
so a variable that is not read at all fails too.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from lambdaops import instrument, metrics
from lambdaops._config import Config, resolve
from lambdaops.testing import Capture, LambdaContext

README = Path(__file__).resolve().parents[1] / "README.md"
_NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def readme_variables() -> list[str]:
    """The variables named in the environment and Powertools columns of the README's
    configuration table, in table order (not the defaults column: `INFO` is no variable)."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip().strip("|").split("|") for line in section.splitlines()]
    rows = [row for row in rows if len(row) > 1]
    header = [cell.strip().lower() for cell in rows[0]]
    columns = [i for i, cell in enumerate(header) if "environment" in cell or "powertools" in cell]
    assert len(columns) == 2, header
    found: list[str] = []
    for row in rows[2:]:  # after the header and its --- line
        for i in columns:
            found.extend(n for n in _NAME.findall(row[i]) if n not in found)
    return found


class Case(NamedTuple):
    """A variable's value and what ``resolve()`` must make of it."""

    value: str
    read: Callable[[Config], Any]
    expected: Any


def _other_architecture() -> str:
    return "x86_64" if resolve(environ={}).architecture == "arm64" else "arm64"


CASES: dict[str, Case] = {
    "LAMBDAOPS_SERVICE": Case("orders", lambda c: c.service, "orders"),
    "POWERTOOLS_SERVICE_NAME": Case("pt-orders", lambda c: c.service, "pt-orders"),
    "LAMBDAOPS_NAMESPACE": Case("Shop", lambda c: c.namespace, "Shop"),
    "POWERTOOLS_METRICS_NAMESPACE": Case("PtShop", lambda c: c.namespace, "PtShop"),
    "LAMBDAOPS_LOG_LEVEL": Case("warning", lambda c: c.log_level, 30),
    "AWS_LAMBDA_LOG_LEVEL": Case("ERROR", lambda c: c.log_level, 40),
    "POWERTOOLS_LOG_LEVEL": Case("critical", lambda c: c.log_level, 50),
    "LAMBDAOPS_DEBUG_SAMPLE_RATE": Case("0.25", lambda c: c.debug_sample_rate, 0.25),
    "POWERTOOLS_LOGGER_SAMPLE_RATE": Case("0.5", lambda c: c.debug_sample_rate, 0.5),
    "LAMBDAOPS_DEBUG_BUFFER": Case("17", lambda c: c.debug_buffer, 17),
    "LAMBDAOPS_MAX_LINE_BYTES": Case("4096", lambda c: c.max_line_bytes, 4096),
    "LAMBDAOPS_CAPTURE_STDLIB": Case("false", lambda c: c.capture_stdlib, False),
    "LAMBDAOPS_DEFAULT_DIMENSIONS": Case(
        "tenant=acme, stage = prod",
        lambda c: c.default_dimensions,
        (("tenant", "acme"), ("stage", "prod")),
    ),
    "LAMBDAOPS_OUTCOME": Case("false", lambda c: c.outcome, False),
    "LAMBDAOPS_TIMEOUT_MARGIN_MS": Case("750", lambda c: c.timeout_margin_ms, 750),
    "LAMBDAOPS_TIMEOUT_STACK": Case("true", lambda c: c.timeout_stack, True),
    "LAMBDAOPS_ARCHITECTURE": Case(
        _other_architecture(), lambda c: c.architecture, _other_architecture()
    ),
    "LAMBDAOPS_TRACE": Case("false", lambda c: c.trace, False),
    "POWERTOOLS_TRACE_DISABLED": Case("true", lambda c: c.trace, False),
    "LAMBDAOPS_TRACE_CAPTURE_RESPONSE": Case("false", lambda c: c.trace_capture_response, False),
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": Case("false", lambda c: c.trace_capture_response, False),
    "LAMBDAOPS_TRACE_CAPTURE_ERROR": Case("false", lambda c: c.trace_capture_error, False),
    "POWERTOOLS_TRACER_CAPTURE_ERROR": Case("false", lambda c: c.trace_capture_error, False),
    "LAMBDAOPS_TRACE_PATCH": Case("false", lambda c: c.trace_patch, False),
    "LAMBDAOPS_TRACE_BACKEND": Case("OTel", lambda c: c.trace_backend, "otel"),
    "LAMBDAOPS_TRACE_PARENT": Case("W3C", lambda c: c.trace_parent, "w3c"),
}

#: Variables read outside ``resolve()``, each by a test that sets it and pins its effect.
ELSEWHERE = {
    "LAMBDAOPS_PARAMS_MAX_AGE": (
        "tests/test_params.py",
        "test_default_max_age_comes_from_the_environment",
    ),
}

VARIABLES = readme_variables()


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the table's variables set, whatever the shell running the tests has."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    return monkeypatch


def test_the_table_names_the_variables_it_should() -> None:
    # the parser itself: a sample of rows, both columns, no default-column words
    assert VARIABLES[:3] == ["LAMBDAOPS_SERVICE", "POWERTOOLS_SERVICE_NAME", "LAMBDAOPS_NAMESPACE"]
    assert "POWERTOOLS_TRACE_DISABLED" in VARIABLES and "INFO" not in VARIABLES
    assert len(VARIABLES) == len(set(VARIABLES))


def test_every_case_has_a_row_and_every_row_a_case() -> None:
    assert sorted(VARIABLES) == sorted([*CASES, *ELSEWHERE])


@pytest.mark.parametrize("name", VARIABLES)
def test_variable_resolves_exactly(name: str, bare_environment: pytest.MonkeyPatch) -> None:
    if name in ELSEWHERE:
        path, test = ELSEWHERE[name]
        source = (README.parent / path).read_text()
        body = source.split(f"def {test}(", 1)[1].split("\ndef ", 1)[0]
        assert f'setenv("{name}"' in body
        return
    assert name in CASES, f"README's configuration table names {name}: add a case for it"
    case = CASES[name]
    default = case.read(resolve())
    assert default != case.expected, "the case must change the value, or it proves nothing"
    bare_environment.setenv(name, case.value)
    got = case.read(resolve())
    assert got == case.expected and type(got) is type(case.expected)


def test_default_dimensions_from_the_environment_reach_the_emf_document(
    bare_environment: pytest.MonkeyPatch, lambdaops_capture: Capture
) -> None:
    bare_environment.setenv("LAMBDAOPS_DEFAULT_DIMENSIONS", "tenant=acme,stage=prod")

    @instrument(service="shop")
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 2)

    handler({}, LambdaContext())
    (rec,) = lambdaops_capture.outcomes
    (directive,) = rec["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["tenant", "stage"]]
    assert (rec["tenant"], rec["stage"], rec["Orders"]) == ("acme", "prod", 2)


def test_outcome_off_from_the_environment_writes_no_record(
    bare_environment: pytest.MonkeyPatch, lambdaops_capture: Capture
) -> None:
    bare_environment.setenv("LAMBDAOPS_OUTCOME", "false")

    @instrument
    def handler(event: Any, context: Any) -> str:
        metrics.add("Orders", 1)
        return "ok"

    assert handler({}, LambdaContext()) == "ok"
    assert lambdaops_capture.outcomes == []
    (doc,) = [r for r in lambdaops_capture.records if "_aws" in r]
    assert doc["Orders"] == 1 and "lambdaops" not in doc


def test_host_architecture_is_the_default(bare_environment: pytest.MonkeyPatch) -> None:
    machine = platform.machine().lower()
    expected = "arm64" if machine in ("arm64", "aarch64") else "x86_64"
    assert resolve().architecture == expected
