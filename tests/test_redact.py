"""Secret redaction: registered values never reach lambdaops' output, stdout or stderr."""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdaops import _redact, _render, instrument, log
from lambdaops.testing import Capture, LambdaContext
from tests.redact_support import _no_secrets  # noqa: F401  (autouse)


def canary() -> str:
    return "cnry-" + secrets.token_hex(12)


def test_nothing_registered_leaves_text_alone() -> None:
    assert not _redact.active()
    assert _redact.redact("password=hunter2hunter2") == "password=hunter2hunter2"


def test_every_spelling_is_masked() -> None:
    secret = 'p@ss"wo\\rd-é-\u2603'
    _redact.register(secret)
    assert _redact.redact(f"raw {secret} end") == "raw *** end"
    as_json = json.dumps({"v": secret})  # ASCII escapes, as lambdaops renders
    assert secret not in json.loads(_redact.redact(as_json))["v"]
    assert _redact.redact(json.dumps(secret, ensure_ascii=False)) == '"***"'
    assert _redact.redact(repr({"v": secret})) == "{'v': '***'}"
    assert _redact.redact(json.dumps(repr(secret))) == "\"'***'\""


def test_short_values_are_not_redacted_and_the_minimum_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _redact.register("prod")  # below the default minimum of 6
    assert not _redact.active()
    assert _redact.redact("env=prod") == "env=prod"
    monkeypatch.setenv("LAMBDAOPS_REDACT_MIN_LENGTH", "4")
    _redact.register("prod")
    assert _redact.redact("env=prod") == "env=***"


def test_json_secret_registers_each_string_leaf() -> None:
    document = json.dumps(
        {
            "username": "admin",
            "password": "hunter2hunter2",
            "port": 5432,
            "nested": {"token": "tok-abcdef"},
        }
    )
    _redact.register_secret(document)
    out = _redact.redact("user admin logged in with hunter2hunter2 and tok-abcdef on 5432")
    assert out == "user admin logged in with *** and *** on 5432"  # "admin" is too short
    _redact.register_secret(b"binary-secret-bytes")
    assert _redact.redact("x binary-secret-bytes") == "x ***"


def test_a_secret_cut_by_the_renderer_leaves_no_prefix(lambdaops_capture: Capture) -> None:
    secret = canary()
    _redact.register(secret)

    @instrument(max_line_bytes=1024)
    def handler(event: Any, context: Any) -> None:
        # The slow path keeps ~796 characters of this message (tests/test_render.py pins the
        # cutter): unmasked, the cut would fall inside the secret, leaving its first characters.
        log.info("x" * 790 + secret + "y" * 2000)

    handler({}, LambdaContext())
    (line,) = [line for line in lambdaops_capture.lines if "xxxx" in line]
    assert "truncated" in line
    assert secret[:6] not in line
    assert "***" in line


def test_lambdaops_lines_are_masked_including_fields_logged_on_purpose(
    lambdaops_capture: Capture,
) -> None:
    secret = canary()
    _redact.register_secret(secret)

    @instrument
    def handler(event: Any, context: Any) -> None:
        log.info(f"token {secret}", token=secret, nested={"list": [secret]}, obj=object())
        log.info({"as": "message", "token": secret})
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            log.exception("failed")

    handler({}, LambdaContext())
    text = "\n".join(lambdaops_capture.lines)
    assert lambdaops_capture.messages()[0] == "token ***"
    assert secret not in text
    assert text.count("***") >= 5


def test_metric_properties_are_masked(lambdaops_capture: Capture) -> None:
    from lambdaops import metrics

    secret = canary()
    _redact.register(secret)

    @instrument
    def handler(event: Any, context: Any) -> None:
        metrics.add("Orders", 1)
        metrics.property("leaky", secret)

    handler({}, LambdaContext())
    emf = [line for line in lambdaops_capture.lines if '"Orders"' in line]
    assert emf, lambdaops_capture.lines
    assert all(secret not in line for line in lambdaops_capture.lines)
    assert '"leaky":"***"' in emf[0]


def test_outcome_record_of_a_failed_invocation_is_masked(lambdaops_capture: Capture) -> None:
    secret = canary()
    _redact.register(secret)

    @instrument
    def handler(event: Any, context: Any) -> None:
        raise RuntimeError(f"upstream said {secret}")

    with pytest.raises(RuntimeError, match=rf"^upstream said {secret}$"):  # unchanged
        handler({}, LambdaContext())
    (record,) = [json.loads(x) for x in lambdaops_capture.lines if '"outcome"' in x]
    assert record["error_message"] == "upstream said ***"
    assert all(secret not in line for line in lambdaops_capture.lines)


# -- exceptions: the caller's object is never changed; what is written from it is masked -


class _Custom(Exception):
    def __init__(self, token: str) -> None:
        super().__init__("custom")
        self.token = token

    def __str__(self) -> str:
        return f"custom failure with {self.token.upper().lower()}"


def test_the_handlers_exception_reaches_its_caller_unchanged(lambdaops_capture: Capture) -> None:
    """Issue 15, item 10: a retry wrapper or a test sees the object the handler raised."""
    secret = canary()
    _redact.register(secret)
    payload = {"token": secret, "attempt": 3}
    raised = ValueError(payload, 7)
    raised.detail = f"detail {secret}"  # type: ignore[attr-defined]
    custom = _Custom(secret)

    @instrument
    def handler(event: Any, context: Any) -> None:
        raise custom if event.get("custom") else raised

    with pytest.raises(ValueError) as info:
        handler({}, LambdaContext())
    assert info.value is raised and type(info.value) is ValueError
    assert info.value.args == (payload, 7) and info.value.args[0] is payload
    assert raised.detail == f"detail {secret}"  # type: ignore[attr-defined]
    with pytest.raises(_Custom) as custom_info:
        handler({"custom": True}, LambdaContext())
    assert type(custom_info.value) is _Custom and custom_info.value.token == secret
    assert str(custom_info.value) == f"custom failure with {secret}"
    errors = [json.loads(x)["error_message"] for x in lambdaops_capture.lines if '"outcome"' in x]
    assert errors == ["({'token': '***', 'attempt': 3}, 7)", "custom failure with ***"]


def test_the_runtimes_error_report_is_masked_without_touching_the_exception() -> None:
    """The [ERROR] line, errorMessage/errorType/stackTrace and the X-Ray cause are built by
    awslambdaric's make_error / make_xray_fault: masked there, for any exception that
    reaches the runtime, however late (issue 15, items 1 and 4)."""
    import awslambdaric.bootstrap as bootstrap  # the real runtime's module

    original = bootstrap.make_error, bootstrap.make_xray_fault
    secret = canary()
    _redact.register(secret)
    exc_info: Any = None
    try:
        open(b"/nonexistent/" + secret.encode())  # noqa: SIM115
    except OSError:
        exc_info = sys.exc_info()
    assert secret in str(exc_info[1])  # the exception keeps its bytes filename
    report = bootstrap.build_fault_result(exc_info, None)
    assert report["errorMessage"] == "[Errno 2] No such file or directory: b'/nonexistent/***'"
    assert report["errorType"] == "FileNotFoundError"
    assert secret not in json.dumps(report)
    fault = bootstrap.make_xray_fault("RuntimeError", f"auth failed for {secret}", "/var/task", [])
    assert fault["exceptions"][0]["message"] == "auth failed for ***"
    _redact.clear()
    assert (bootstrap.make_error, bootstrap.make_xray_fault) == original


def test_an_error_message_cut_by_the_outcome_record_leaves_no_prefix(
    lambdaops_capture: Capture,
) -> None:
    secret = canary()
    _redact.register(secret)

    @instrument
    def handler(event: Any, context: Any) -> None:
        raise ValueError("x" * 1020 + secret)  # the outcome record keeps 1,024 characters

    with pytest.raises(ValueError, match=r"^x{1020}"):
        handler({}, LambdaContext())
    assert lambdaops_capture.lines
    assert all(secret[:4] not in line for line in lambdaops_capture.lines)


# -- streams and stdlib logging ---------------------------------------------------------


def test_stdout_and_stderr_are_wrapped_once_a_secret_is_registered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = canary()
    before = sys.stdout
    _redact.register(secret)
    assert sys.stdout is not before
    print("printed", secret)
    print(f"to stderr {secret}", file=sys.stderr)
    sys.stdout.writelines([f"{secret}\n"])
    out, err = capsys.readouterr()
    assert secret not in out and secret not in err
    assert out == "printed ***\n***\n"
    assert err == "to stderr ***\n"
    _redact.clear()
    assert sys.stdout is before


def test_streams_can_be_left_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAMBDAOPS_REDACT_STREAMS", "false")
    before = sys.stdout
    _redact.register(canary())
    assert sys.stdout is before


def test_root_logging_handlers_get_a_redacting_filter() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        secret = canary()
        _redact.register(secret)
        logger = logging.getLogger("tests.redact")
        logger.warning("token %s", secret)
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("failed")
        text = stream.getvalue()
        assert "token ***" in text
        assert "RuntimeError: boom ***" in text
        assert secret not in text
    finally:
        root.removeHandler(handler)
    _redact.clear()
    assert not handler.filters


# -- properties -------------------------------------------------------------------------

_secret_text = st.text(
    alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)),
    min_size=6,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(secret=_secret_text, before=st.text(max_size=30), after=st.text(max_size=30))
def test_rendered_lines_never_carry_a_registered_secret(
    secret: str, before: str, after: str
) -> None:
    _redact.clear()
    _redact.register(secret)
    try:
        line = _render.render({"message": before + secret + after, "f": [secret]}, 256 * 1024)
        out = _redact.redact(line)
        assert secret not in out
        assert json.dumps(secret)[1:-1] not in out
    finally:
        _redact.clear()
