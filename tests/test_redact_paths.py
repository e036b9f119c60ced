"""Issue 15's leak paths, one test each, and the masked set's size and lifetime.

The end-to-end versions, under the real awslambdaric with the telemetry log fd, are
in ``tests/e2e/test_secrets_e2e.py``; docs/reliability.md's leak matrix lists both.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest

from lambdaops import _redact, instrument, log
from lambdaops.testing import Capture, LambdaContext
from tests.redact_support import _no_secrets  # noqa: F401  (autouse)

#: A generated password as password managers make them: quotes, a backslash, non-ASCII.
_PUNCTUATED = 'Pw"7\\q+é/%z '


def password() -> str:
    return _PUNCTUATED + secrets.token_hex(6)


def test_a_json_document_logged_as_a_string_field(lambdaops_capture: Capture) -> None:
    """Item 2: the field's JSON is escaped again on the way out."""
    pw = password()
    _redact.register(pw)

    @instrument
    def handler(event: Any, context: Any) -> None:
        log.info("x", cfg=json.dumps({"db_password": pw}))
        log.info("y", cfg=json.dumps({"db_password": pw}, ensure_ascii=False))

    handler({}, LambdaContext())
    lines = [json.loads(x) for x in lambdaops_capture.lines if '"cfg"' in x]
    assert [json.loads(line["cfg"]) for line in lines] == [{"db_password": "***"}] * 2


def test_url_encoded_in_a_field_a_print_and_an_error(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 3: ``%XX`` and ``+`` spellings."""
    pw = password()
    _redact.register(pw)
    query = urlencode({"key": pw, "n": 1})
    assert quote_plus(pw) in query

    @instrument
    def handler(event: Any, context: Any) -> None:
        log.info("calling", url=f"https://example.com/?{query}")
        print("GET", f"/x/{quote(pw, safe='')}", f"/y/{quote(pw)}")
        raise RuntimeError(f"403 for ?{query}")

    with pytest.raises(RuntimeError):
        handler({}, LambdaContext())
    out = capsys.readouterr().out
    assert out == "GET /x/*** /y/***\n"
    (call,) = [json.loads(x) for x in lambdaops_capture.lines if '"calling"' in x]
    assert call["url"] == "https://example.com/?key=***&n=1"
    (record,) = [json.loads(x) for x in lambdaops_capture.lines if '"outcome"' in x]
    assert record["error_message"] == "403 for ?key=***&n=1"


def test_binary_secrets_that_are_not_utf8(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 5: SecretBinary bytes, printed (their repr) and logged (as lambdaops renders)."""
    blob = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(4) + b"\xff-binary-secret"
    lease = _redact.register_secret(blob)
    assert lease == (blob.decode("latin-1"),)

    @instrument
    def handler(event: Any, context: Any) -> None:
        print(blob)
        log.info("x", blob=blob)

    handler({}, LambdaContext())
    assert capsys.readouterr().out == "b'***'\n"
    (line,) = [json.loads(x) for x in lambdaops_capture.lines if '"blob"' in x]
    assert line["blob"] == "***"


def test_numbers_inside_a_json_secret(
    lambdaops_capture: Capture, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 8: a number leaf is masked; as a JSON value it becomes "***" (still valid JSON)."""
    _redact.register_secret(json.dumps({"pin": 48213977, "ratio": 0.7318845, "port": 5432}))

    @instrument
    def handler(event: Any, context: Any) -> None:
        log.info("x", pin=48213977, items=[48213977, 3], ratio=0.7318845, port=5432)
        print("pin is 48213977.")

    handler({}, LambdaContext())
    (line,) = [json.loads(x) for x in lambdaops_capture.lines if '"pin"' in x]
    assert (line["pin"], line["items"], line["ratio"], line["port"]) == (
        "***",
        ["***", 3],
        "***",
        5432,
    )
    assert capsys.readouterr().out == "pin is ***.\n"


def test_streams_and_handlers_taken_before_the_first_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Item 6: a StreamHandler made at import on a named logger; ``sys.__stdout__``."""
    early = io.StringIO()
    handler = logging.StreamHandler(early)
    named = logging.getLogger("tests.redact.early")
    named.addHandler(handler)
    named.propagate = False
    raw_stdout = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", raw_stdout)
    try:
        pw = password()
        _redact.register(pw)
        named.warning("token %s", pw)
        try:
            raise KeyError(pw)
        except KeyError:
            named.exception("failed")
        print("raw", pw, file=sys.__stdout__)
    finally:
        named.removeHandler(handler)
        named.propagate = True
    text = early.getvalue()
    assert text.splitlines()[0] == "token ***"
    assert text.splitlines()[-1] == "KeyError: '***'"
    assert pw not in text
    assert raw_stdout.getvalue() == "raw ***\n"
    _redact.clear()
    assert sys.__stdout__ is raw_stdout


def test_the_runtimes_json_formatter_with_extra_fields() -> None:
    """Item 7: LAMBDAOPS_CAPTURE_STDLIB=false and AWS_LAMBDA_LOG_FORMAT=JSON: awslambdaric's
    own formatter writes ``extra=`` fields; what the handler formats is masked whole."""
    from awslambdaric.lambda_runtime_log_utils import JsonFormatter

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.redact.json")
    logger.addHandler(handler)
    logger.propagate = False
    pw = password()
    try:
        _redact.register(pw)
        logger.warning("login", extra={"password": pw, "user": "alice"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    record = json.loads(sink.getvalue())
    assert (record["message"], record["password"], record["user"]) == ("login", "***", "alice")


# -- the masked set: its cost, its size and its lifetime -------------------------------------


def test_many_secrets_are_found_in_one_pass_in_every_length_class() -> None:
    """Past 16 spellings the index decides; secrets of 15+ bytes (8-byte blocks), 7-14
    (4-byte blocks) and 6 (searched one by one) are all found, near the line's ends too."""
    values = [secrets.token_hex(10) for _ in range(2000)]  # 20 characters
    for value in values:
        _redact.register(value)
    mid, short = "m1d-" + secrets.token_hex(3), "s" + secrets.token_hex(3)[:5]
    _redact.register(mid)
    _redact.register(short)
    assert _redact._small is None and _redact.registered() == 2002
    clean = '{"level":"INFO","message":"order placed","order_id":"o-12345"}'
    assert _redact.redact(clean) == clean
    for offset in range(9):  # every alignment of the secret against 8-byte blocks
        line = "x" * offset + values[1234] + f" {mid} {short} " + values[7] + "y"
        assert _redact.redact(line) == "x" * offset + "*** *** *** ***y"
    assert _redact.redact(values[-1]) == "***"


def test_released_values_leave_the_mask_after_the_retention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(_redact.time, "monotonic", lambda: clock[0])
    first, second = (
        _redact.register_secret("alpha-" + "1" * 12),
        _redact.register_secret('{"k": "bravo-secret-value"}'),
    )
    assert _redact.registered() == 3  # the document and its leaf
    held_twice = _redact.register_secret("alpha-" + "1" * 12)
    _redact.release(first)
    _redact.release(second)
    clock[0] += _redact.RETAIN_S - 1
    assert _redact.redact("bravo-secret-value") == "***"  # within the retention
    clock[0] += 2
    assert _redact.redact("bravo-secret-value alpha-111111111111") == "bravo-secret-value ***"
    assert _redact.registered() == 1 and _redact.active()
    _redact.release(held_twice)
    clock[0] += _redact.RETAIN_S
    _redact.sweep()
    assert _redact.registered() == 0 and not _redact.active()


def test_released_values_are_bounded_in_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_redact, "MAX_RELEASED", 3)
    leases = [_redact.register_secret(f"value-number-{i:04d}") for i in range(5)]
    for lease in leases:
        _redact.release(lease)
    assert _redact.registered() == 3
    assert _redact.redact("value-number-0001 value-number-0002") == "value-number-0001 ***"
