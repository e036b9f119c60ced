"""Property-based fuzzing: no exception escapes event parsing, log rendering or a handler.

``make fuzz`` runs 100,000 generated events per property
(``LAMBDAOPS_FUZZ_EXAMPLES``); the regular suite runs a smaller share.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdaops import instrument, log, metrics
from lambdaops._events import TRIGGERS, inspect_event
from lambdaops._render import encode_members, render
from lambdaops.testing import LambdaContext, capture
from tests.redact_support import spellings_of

EXAMPLES = int(os.environ.get("LAMBDAOPS_FUZZ_EXAMPLES", "300"))
FIXTURES = [
    json.loads(p.read_text()) for p in sorted((Path(__file__).parent / "events").glob("*.json"))
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=20)
    | st.sampled_from(["aws:sqs", "aws:sns", "aws:s3", "2.0", "1.0", "x-correlation-id"])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=12)
            | st.sampled_from(
                [
                    "Records",
                    "requestContext",
                    "headers",
                    "eventSource",
                    "EventSource",
                    "body",
                    "messageId",
                    "version",
                    "http",
                    "elb",
                    "detail-type",
                    "source",
                    "detail",
                    "id",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def mutate(base: Any, path: list[int], replacement: Any) -> Any:
    """Replace the subtree reached by ``path`` (indices into dict/list children)."""
    if not path or not isinstance(base, (dict, list)) or not base:
        return replacement
    if isinstance(base, dict):
        keys = list(base)
        key = keys[path[0] % len(keys)]
        return {**base, key: mutate(base[key], path[1:], replacement)}
    i = path[0] % len(base)
    return [*base[:i], mutate(base[i], path[1:], replacement), *base[i + 1 :]]


events = values | st.builds(
    mutate,
    st.sampled_from(FIXTURES),
    st.lists(st.integers(min_value=0, max_value=50), max_size=5),
    values,
)


@FUZZ
@given(events)
def test_event_parsing_never_raises(event: Any) -> None:
    info = inspect_event(event)
    assert info.trigger in TRIGGERS
    assert info.correlation_id is None or (
        isinstance(info.correlation_id, str) and len(info.correlation_id) <= 256
    )
    assert info.attempt >= 1


@FUZZ
@given(st.dictionaries(st.text(max_size=16), values, max_size=8), st.integers(256, 8192))
def test_log_rendering_never_raises(fields: dict[str, Any], limit: int) -> None:
    line = render({"message": "m", **fields}, limit)
    assert len(line) <= limit
    assert isinstance(json.loads(line), dict)


@instrument(service="fuzz", max_line_bytes=4096)
def _handler(event: Any, context: Any) -> str:
    log.info("event received", event=event)
    log.debug("detail", event=event)
    if isinstance(event, dict) and event:
        metrics.property("first_key", next(iter(event)))
    return "ok"


@FUZZ
@given(events)
def test_a_handler_survives_any_event(event: Any) -> None:
    with capture() as cap:
        assert _handler(event, LambdaContext()) == "ok"
    records = [json.loads(line) for line in cap.lines]
    assert sum(r.get("lambdaops") == "outcome" for r in records) == 1
    assert all(len(line) <= 1024 * 1024 for line in cap.lines)


plain = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**4000, max_value=10**4400)  # past str()'s digit limit
    | st.floats()
    | st.text()
)


@FUZZ
@given(st.dictionaries(st.text(max_size=12), plain, max_size=6))
def test_plain_fields_format_exactly_as_json_does(fields: dict[str, Any]) -> None:
    try:
        expected = json.dumps(fields, separators=(",", ":"), allow_nan=False)
    except (ValueError, OverflowError):
        expected = None  # NaN/inf or an int too long for str(): must not take the fast path
    try:
        got = encode_members(fields)
    except ValueError:
        got = None  # the logger catches it and takes the slow path
    if expected is None:
        assert got is None
    else:  # every value here is plain: the fast path must take it, and match json exactly
        assert got is not None
        assert "{" + got[1:] + "}" == expected if fields else got == ""


@instrument(service="fuzz-fields")
def _fields_handler(event: Any, context: Any) -> str:
    log.info("fields", **event)
    return "ok"


@FUZZ
@given(st.dictionaries(st.text(max_size=12).filter(str.isidentifier), plain, max_size=6))
def test_a_log_line_with_any_plain_fields_is_one_json_object(fields: dict[str, Any]) -> None:
    with capture() as cap:
        assert _fields_handler(fields, LambdaContext()) == "ok"
    # (an int past str()'s digit limit is valid JSON that json.loads refuses: keep its text)
    (line,) = [
        json.loads(raw, parse_int=lambda s: int(s) if len(s) < 4000 else s)
        for raw in cap.lines
        if '"message":"fields"' in raw
    ]
    for key, value in fields.items():
        if key == "exc_info":
            continue  # asks for the current exception: not a field
        got = line[key]  # the caller's value wins, even over a contract key
        if isinstance(value, float) and not math.isfinite(value):
            assert got == str(value)  # NaN and infinities are named, not written as numbers
        elif type(value) is int and value.bit_length() > 14_000:
            assert got == f"<int of {value.bit_length()} bits>"
        elif type(value) is int and isinstance(got, str):
            assert got == str(value)  # kept as text by parse_int above
        else:
            assert got == value and type(got) is type(value)


# -- secrets: no spelling of a registered value reaches any output (issue 15) ----------------

_secrets_text = st.text(
    alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)),
    min_size=6,
    max_size=24,
)
_LEAKS = ("field", "json_field", "url", "print", "print_bytes", "raise", "oserror", "stdlib")


@FUZZ
@given(
    secret=_secrets_text, paths=st.lists(st.sampled_from(_LEAKS), min_size=1), many=st.booleans()
)
def test_no_spelling_of_a_secret_reaches_any_output(
    secret: str, paths: list[str], many: bool
) -> None:
    import contextlib
    import io
    import logging
    import sys
    from urllib.parse import urlencode

    import awslambdaric.bootstrap as bootstrap

    from lambdaops import _redact

    stdout, stdlib = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(stdlib)
    logger = logging.getLogger("tests.fuzz.secrets")
    logger.addHandler(handler)
    reports: list[str] = []
    try:
        with contextlib.redirect_stdout(stdout), capture() as cap:
            if many:  # past 16 spellings: the one-pass index decides
                for n in range(20):
                    _redact.register(f"decoy-secret-{n:02d}-value")
            _redact.register(secret)

            @instrument
            def leaky(event: Any, context: Any) -> None:
                for path in paths:
                    if path == "field":
                        log.info("x", value=secret, nested={"k": [secret]})
                    elif path == "json_field":
                        log.info("x", cfg=json.dumps({"password": secret}))
                    elif path == "url":
                        log.info("x", url="https://h/?" + urlencode({"key": secret}))
                        print("GET", urlencode({"key": secret}))
                    elif path == "print":
                        print(secret, repr(secret), [secret])
                    elif path == "print_bytes":
                        print(secret.encode("utf-8"))
                    elif path == "stdlib":
                        logger.warning("v %s", secret, extra={"secret": secret})
                try:
                    if "oserror" in paths:
                        open(b"/nonexistent/" + secret.encode("utf-8"))  # noqa: SIM115
                    if "raise" in paths:
                        raise RuntimeError(f"failed for {secret}")
                except Exception:
                    report = bootstrap.build_fault_result(sys.exc_info(), None)
                    reports.append(json.dumps(report, ensure_ascii=False))
                    raise

            try:
                leaky({}, LambdaContext())
            except Exception:
                pass
            lines = list(cap.lines)
    finally:
        _redact.clear()
        logger.removeHandler(handler)
    written = "\n".join([*lines, stdout.getvalue(), stdlib.getvalue(), *reports])
    assert [form for form in spellings_of(secret) if form in written] == []
