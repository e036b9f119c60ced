"""Issue 16, settings: every process-wide variable refused at decoration, naming itself."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from lambdaops import ConfigError, instrument
from lambdaops._settings import SETTINGS, check_environment, setting
from lambdaops._watchdog import default_margin_ms
from lambdaops.testing import Capture, LambdaContext

DOCS = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"

#: name -> (a good value, what it parses to, a value out of range, the range as refused)
CASES: dict[str, tuple[str, Any, str, str]] = {
    "LAMBDAOPS_PARAMS_MAX_AGE": ("30.5", 30.5, "-1", "between 0 and 3.16224e+07"),
    "LAMBDAOPS_PARAMS_TIMEOUT": ("0.5", 0.5, "61", "between 0.05 and 60"),
    "LAMBDAOPS_PARAMS_MAX_ATTEMPTS": ("3", 3, "11", "between 1 and 10"),
    "LAMBDAOPS_PARAMS_WAIT": ("0", 0.0, "nan", "between 0 and 60"),
    "LAMBDAOPS_PARAMS_BACKOFF": ("0.25", 0.25, "3601", "between 0 and 3600"),
    "LAMBDAOPS_PARAMS_BACKOFF_MAX": ("120", 120.0, "86401", "between 0 and 86400"),
    "LAMBDAOPS_REDACT_MIN_LENGTH": ("8", 8, "0", "between 1 and 1024"),
    "LAMBDAOPS_REDACT_STREAMS": ("off", False, "", ""),
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in SETTINGS:
        monkeypatch.delenv(spec.name, raising=False)


def test_every_setting_has_a_case() -> None:
    assert sorted(CASES) == sorted(spec.name for spec in SETTINGS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_good_value_is_read_exactly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    good, parsed, _, _ = CASES[name]
    default = next(spec.default for spec in SETTINGS if spec.name == name)
    assert setting(name) == default
    monkeypatch.setenv(name, good)
    assert setting(name) == parsed and type(setting(name)) is type(parsed)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_value_fails_decoration_naming_the_variable(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, out_of_range, refused = CASES[name]
    monkeypatch.setenv(name, "abc")
    kind = (
        "a boolean (true/false)"
        if name.endswith("STREAMS")
        else ("a whole number" if name.endswith(("ATTEMPTS", "LENGTH")) else "a number")
    )
    with pytest.raises(ConfigError) as info:
        instrument(lambda event, context: None)
    assert str(info.value) == f"environment variable {name}='abc' is not {kind}"
    if out_of_range:
        monkeypatch.setenv(name, out_of_range)
        with pytest.raises(ConfigError) as info:
            check_environment()
        assert str(info.value) == f"environment variable {name}={out_of_range!r} must be {refused}"


def test_a_fraction_of_an_attempt_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDAOPS_PARAMS_MAX_ATTEMPTS", "2.5")
    with pytest.raises(ConfigError, match=r"MAX_ATTEMPTS='2.5' is not a whole number$"):
        check_environment()


def test_the_docs_settings_table_is_the_settings_table() -> None:
    rows = re.findall(r"^\| `(LAMBDAOPS_[A-Z_]+)` \| (`[^`]*`) \| (.+) \|$", DOCS.read_text(), re.M)
    assert rows == [(spec.name, spec.shown, spec.doc) for spec in SETTINGS]


def test_a_timeout_margin_that_cannot_fit_is_clamped_with_one_warning(
    lambdaops_capture: Capture,
) -> None:
    @instrument(timeout_margin_ms=5000)
    def handler(event: Any, context: Any) -> str:
        time.sleep(0.05)
        return "done"

    for _ in range(2):
        # a 1 s function: a 5 s margin cannot fit
        assert handler({}, LambdaContext(timeout_s=1.0)) == "done"
    records = [json.loads(line) for line in lambdaops_capture.lines]
    (warning,) = [r for r in records if r.get("level") == "WARNING"]
    assert warning["message"] == (
        "timeout_margin_ms does not fit the function's timeout; using the default"
    )
    assert warning["timeout_margin_ms"] == 5000 and 900 < warning["remaining_ms"] <= 1000
    assert warning["margin_ms"] == default_margin_ms(warning["remaining_ms"])
    assert [r["outcome"] for r in records if r.get("lambdaops") == "outcome"] == ["success"] * 2


# -- names CloudWatch reserves or rejects, refused when the handler is decorated -------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"namespace": "AWS/Lambda"},
            "argument namespace='AWS/Lambda': the AWS/ namespaces are reserved for AWS services",
        ),
        (
            {"namespace": "n" * 256},
            "argument namespace: a namespace is at most 255 characters, got 256",
        ),
        (
            {"default_dimensions": {f"d{i}": "v" for i in range(31)}},
            "argument default_dimensions: 31 dimensions; a metric has at most 30",
        ),
        (
            {"default_dimensions": {"tenant": ""}},
            "argument default_dimensions: dimension 'tenant' value must be 1-1024 characters",
        ),
        (
            {"default_dimensions": {"tenant": "v" * 1025}},
            "argument default_dimensions: dimension 'tenant' value must be 1-1024 characters",
        ),
        (
            {"default_dimensions": {"n" * 251: "v"}},
            f"argument default_dimensions: dimension name {'n' * 40!r} must be 1-250 characters",
        ),
    ],
)
def test_names_cloudwatch_rejects_fail_decoration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        instrument(**options)
    assert str(info.value) == message


def test_the_same_limits_apply_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDAOPS_NAMESPACE", "AWS/EC2")
    with pytest.raises(ConfigError, match=r"^environment variable LAMBDAOPS_NAMESPACE='AWS/EC2'"):
        instrument(lambda event, context: None)
    monkeypatch.delenv("LAMBDAOPS_NAMESPACE")
    monkeypatch.setenv("LAMBDAOPS_DEFAULT_DIMENSIONS", ",".join(f"d{i}=v" for i in range(31)))
    with pytest.raises(ConfigError) as info:
        instrument(lambda event, context: None)
    assert str(info.value) == (
        "environment variable LAMBDAOPS_DEFAULT_DIMENSIONS: 31 dimensions; a metric has at most 30"
    )
    monkeypatch.setenv("LAMBDAOPS_DEFAULT_DIMENSIONS", ",".join(f"d{i}=v" for i in range(30)))
    assert instrument(lambda event, context: None) is not None  # 30 is allowed
