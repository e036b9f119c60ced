"""Issue 15 end to end: each leak path under the real awslambdaric, in both log formats.

The function reads a SecureString from moto's server (over HTTP) and leaks it the way
the issue found; the test reads every byte the runtime process wrote — stdout,
stderr, and the runtime's telemetry fd, where its ``[ERROR]`` line goes on Lambda —
plus the Runtime API's error body and the X-Ray error cause header, and checks that no
spelling of the password appears while each path did run (its masked form is there).
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

import pytest

from lambdaops.local._moto import MotoServer
from lambdaops.local._xray_daemon import XRayDaemon
from tests.redact_support import spellings_of

if TYPE_CHECKING:
    from tests.params_support import FaultProxy

pytest_plugins = ["tests.params_support"]

pytestmark = pytest.mark.e2e

#: As generated passwords are: a quote, a backslash, a plus, a space, non-ASCII.
_SHAPE = 'Pw"7\\q+é %z-'


def run(
    make_env: Any,
    moto_server: MotoServer,
    function_env: dict[str, str],
    log_format: str,
    event: dict[str, Any],
    timeout_s: float = 3.0,
    **env: str,
) -> tuple[Any, Any, str]:
    pw = _SHAPE + secrets.token_hex(8)
    moto_server.seed({"parameters": {"/e2e/pw": {"value": pw, "type": "SecureString"}}})
    function = make_env(
        "secrets_app.leak", env={**function_env, **env}, log_format=log_format, timeout_s=timeout_s
    )
    result = function.invoke({"parameter": "/e2e/pw", **event})
    return function, result, pw


def everything(function: Any, result: Any) -> str:
    written = "\n".join(text for _, _, text in function.lines)
    return "\n".join([written, json.dumps(result.error), str(result.xray_error_cause)])


def assert_no_spelling(text: str, pw: str) -> None:
    leaked = [form for form in spellings_of(pw) if form in text]
    assert not leaked, leaked


@pytest.fixture(params=["text", "json"])
def log_format(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    ("path", "error_type", "message"),
    [
        ("json_field", "ValueError", '{"db_password": "***"}'),
        ("url", "PermissionError", "403 Forbidden for https://api.example.com/?key=***"),
        (
            "bytes_filename",
            "FileNotFoundError",
            "[Errno 2] No such file or directory: b'/nonexistent/***'",
        ),
        ("early_streams", "LookupError", "***"),
        ("runtime_json_extra", "KeyError", "'***'"),
    ],
)
def test_each_leak_path_is_masked(
    make_env: Any,
    moto_server: MotoServer,
    fault_proxy: FaultProxy,
    function_env: dict[str, str],
    log_format: str,
    path: str,
    error_type: str,
    message: str,
) -> None:
    function, result, pw = run(make_env, moto_server, function_env, log_format, {"path": path})
    assert result.status == "error"
    assert (result.error["errorType"], result.error["errorMessage"]) == (error_type, message)
    assert json.loads(result.xray_error_cause)["exceptions"][0]["message"] == message
    text = everything(function, result)
    assert_no_spelling(text, pw)
    telemetry = [t for _, stream, t in function.lines if stream == "telemetry"]
    if log_format == "json":  # the runtime's error record, as awslambdaric writes it
        reported = [json.loads(t) for t in telemetry if '"errorMessage"' in t]
        assert [(r["errorType"], r["errorMessage"]) for r in reported] == [(error_type, message)]
    else:
        assert [t.split("\n")[0] for t in telemetry if t.startswith("[ERROR]")] == [
            f"[ERROR] {error_type}: {message}"
        ]
    written = [t for _, _, t in function.lines]
    if path == "early_streams":
        for expected in ("early handler: ***", "dunder stdout: ***", "dunder stderr: ***"):
            assert expected in written, written
    if path == "url":
        assert any(t.startswith("GET /v1/***?key=***") for t in written), written


def test_an_exception_raised_after_the_timeout_watchdog(
    make_env: Any,
    moto_server: MotoServer,
    fault_proxy: FaultProxy,
    function_env: dict[str, str],
    log_format: str,
) -> None:
    """Item 1: timeout 3 s, margin 1.5 s: the watchdog's record at 1.5 s, the raise at
    2.25 s, before Lambda's deadline: Lambda counts the error and reports its message."""
    function, result, pw = run(
        make_env,
        moto_server,
        function_env,
        log_format,
        {"path": "late", "sleep_s": 2.25},
        LAMBDAOPS_TIMEOUT_MARGIN_MS="1500",
    )
    assert result.status == "error"
    assert result.error["errorMessage"] == "auth failed for token ***"
    assert_no_spelling(everything(function, result), pw)
    records = [json.loads(t) for _, s, t in function.lines if s == "stdout" and '"outcome"' in t]
    assert [(r["outcome"], r.get("supersedes"), r.get("error_message")) for r in records] == [
        ("timeout", None, "the handler was still running at the deadline margin"),
        ("error", "timeout", "auth failed for token ***"),
    ]


def test_binary_and_numeric_secrets(
    make_env: Any, moto_server: MotoServer, fault_proxy: FaultProxy, function_env: dict[str, str]
) -> None:
    """Items 5 and 8: SecretBinary that is not UTF-8; a number in a JSON secret. (No quote
    in the bytes: a repr holding one switches to double quotes.)"""
    noise = bytes(b if b not in b"\\'\"" else 0x2F for b in secrets.token_bytes(6))
    blob = b"\x89PNG\r\n\x1a\n" + noise + b"\xfe-key"
    pin = 40_000_000 + secrets.randbelow(9_999_999)
    account = "acct-" + secrets.token_hex(6)
    moto_server.seed(
        {
            "secrets": {
                "e2e/blob": {"binary": blob},
                "e2e/card": json.dumps({"pin": pin, "account": account}),
            }
        }
    )
    with XRayDaemon():
        function = make_env("secrets_app.documents", env=function_env)
        result = function.invoke({"binary_id": "e2e/blob", "json_id": "e2e/card"})
    assert result.status == "error"
    assert result.error["errorMessage"] == "card *** refused for b'***'"
    text = everything(function, result)
    for form in (repr(blob)[2:-1], blob.decode("utf-8", "backslashreplace"), str(pin), account):
        assert form not in text
    stdout = [t for _, s, t in function.lines if s == "stdout"]
    assert "blob b'***'" in stdout and "pin=*** account=***" in stdout
    records = [json.loads(t) for t in stdout if t.startswith("{")]
    logged = {r["message"]: r for r in records if "message" in r}
    assert logged["blob"]["blob"] == "***"
    assert (logged["pin"]["pin"], logged["pin"]["account"]) == ("***", "***")


@pytest.mark.parametrize("path", ["url", "json_field"])
def test_spans_sent_over_otlp_carry_no_spelling(
    make_env: Any,
    moto_server: MotoServer,
    fault_proxy: FaultProxy,
    function_env: dict[str, str],
    path: str,
) -> None:
    """Issue 17's backend, issue 15's rule: with trace_backend=otel and lambdaops' own
    provider, every OTLP request the receiver took (decoded by opentelemetry-proto) holds
    the handler's exception and metadata masked, and no spelling of the password."""
    from lambdaops.local._otlp_receiver import OTLPReceiver

    pw = _SHAPE + secrets.token_hex(8)
    moto_server.seed({"parameters": {"/e2e/pw": {"value": pw, "type": "SecureString"}}})
    root = f"1-{secrets.token_hex(4)}-{secrets.token_hex(12)}"
    with OTLPReceiver() as receiver:
        function = make_env(
            "secrets_app.leak",
            env={**function_env, **receiver.env(), "LAMBDAOPS_TRACE_BACKEND": "otel"},
        )
        result = function.invoke(
            {"parameter": "/e2e/pw", "path": path},
            trace_header=f"Root={root};Parent={secrets.token_hex(8)};Sampled=1",
        )
        requests = [received.request for received in receiver.received]
    assert result.status == "error"
    spans = [
        s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans
    ]
    (handler,) = [s for s in spans if s.name == "## leak"]
    (event,) = handler.events
    message = next(
        kv.value.string_value for kv in event.attributes if kv.key == "exception.message"
    )
    assert message == result.error["errorMessage"] and "***" in message
    sent = "\n".join(str(r) for r in requests) + "".join(
        r.SerializeToString().decode("utf-8", "replace") for r in requests
    )
    assert_no_spelling(sent, pw)
