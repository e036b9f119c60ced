"""Every EMF and X-Ray document lambdaops writes validates against AWS's published schemas,
for any names, values, dimensions, properties and annotations (issue 16).

The schemas and their sources: tests/schemas/README.md. A generated input may be refused
(``MetricError`` at the call, ``ConfigError`` at decoration) or repaired (one warning);
whatever is written must validate, and whatever was accepted must be in it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdaops import ConfigError, MetricError, _trace, instrument, metrics, trace
from lambdaops._metrics import UNITS
from lambdaops.local._xray_daemon import XRayDaemon, document_problems, flatten
from lambdaops.testing import LambdaContext, capture, reset
from tests.emf_spec import SCHEMAS, datapoints, duplicate_keys, validate_line

EXAMPLES = int(os.environ.get("LAMBDAOPS_FUZZ_EXAMPLES", "150"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)

# Names: anything, with the edges and the usual shapes mixed in.
names = (
    st.text(max_size=12)
    | st.text(alphabet=st.characters(codec="ascii"), min_size=1, max_size=8)
    | st.sampled_from(["Orders", "service", "function_name", "request_id", "ColdStart", "_aws"])
    | st.integers(min_value=0, max_value=600).map(lambda n: "n" * n)
    | st.sampled_from(["a\nb", ":x", " ", "caf\u00e9", "\u2028"])
)
texts = st.text(max_size=20) | st.integers(min_value=0, max_value=1600).map(lambda n: "v" * n)
numbers = st.integers() | st.floats() | st.sampled_from([0, -1, 1e308, 5e-324])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=8,
)
calls = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            names,
            numbers | st.text(max_size=3) | st.none(),
            st.sampled_from(sorted(UNITS)),
            st.sampled_from([1, 60]),
        ),
        st.tuples(st.just("dimension"), names, texts),
        st.tuples(st.just("property"), names, json_values),
    ),
    max_size=12,
)


@PROPERTY
@given(
    service=st.sampled_from(["svc", "billing"]) | names,
    namespace=st.none() | st.sampled_from(["Shop"]) | names,
    defaults=st.none() | st.dictionaries(names, texts, max_size=32),
    invocations=st.lists(calls, min_size=1, max_size=3),
)
def test_every_emf_document_validates(
    service: str,
    namespace: str | None,
    defaults: dict[str, str] | None,
    invocations: list[list[tuple[Any, ...]]],
) -> None:
    reset()
    try:
        handler = instrument(service=service, namespace=namespace, default_dimensions=defaults)(
            lambda event, context: _apply(event)
        )
    except ConfigError:
        return  # refused at decoration, naming the option: nothing to validate
    for batch in invocations:
        with capture() as cap:
            accepted = handler(batch, LambdaContext())
        docs = [validate_line(line) for line in cap.lines if "_aws" in json.loads(line)]
        assert all(duplicate_keys(line) == [] for line in cap.lines)
        written = Counter(
            (name, value)
            for (_, _, name, _, _, value), n in datapoints(docs).items()
            for _ in range(n)
            if name != "ColdStart"
        )
        assert written == Counter((name, float(value)) for name, value in accepted)


def _apply(batch: list[tuple[Any, ...]]) -> list[tuple[str, float]]:
    """Make the calls; refusals are allowed, and the accepted finite values returned."""
    accepted: list[tuple[str, float]] = []
    for kind, name, value, *rest in batch:
        try:
            if kind == "add":
                metrics.add(name, value, unit=rest[0], resolution=rest[1])
                # PutMetricData's range: past ±2^360 a value is dropped with a warning
                if type(value) in (int, float) and math.isfinite(value) and abs(value) <= 2**360:
                    accepted.append((name, value))
            elif kind == "dimension":
                metrics.dimension(name, value)
            else:
                metrics.property(name, value)
        except MetricError:
            pass
    return accepted


# -- X-Ray -------------------------------------------------------------------------------
@functools.cache
def _xray_schemas() -> tuple[Any, Any]:
    """(root, subsegment) validators of xray-segmentdocument-schema-v1.0.0 (draft-04)."""
    import jsonschema

    schema = json.loads((SCHEMAS / "xray-segmentdocument-schema-v1.0.0.json").read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    sub = {"$ref": "#/definitions/subsegment", "definitions": schema["definitions"]}
    return jsonschema.Draft4Validator(schema), jsonschema.Draft4Validator(sub)


def xray_schema_errors(doc: dict[str, Any]) -> list[str]:
    """A standalone subsegment against the schema's subsegment, a segment against its root."""
    root, sub = _xray_schemas()
    validator = sub if doc.get("type") == "subsegment" else root
    return [e.message[:200] for e in validator.iter_errors(doc)]


def test_the_schema_check_is_not_vacuous() -> None:
    good = {
        "name": "## handler",
        "id": "0123456789abcdef",
        "start_time": 1.0,
        "end_time": 2.0,
        "type": "subsegment",
        "parent_id": "0123456789abcdef",
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "annotations": {"ok": "v"},
    }
    assert xray_schema_errors(good) == []
    bad = {**good, "annotations": {"k" * 501: 1, "long": "x" * 1001, "a-b": 1}}
    assert len(xray_schema_errors(bad)) == 2  # the 501-character key and "a-b"; the value
    assert len(xray_schema_errors({**good, "annotations": {"long": "x" * 1001}})) == 1


annotation_values = (
    st.text(max_size=20)
    | st.integers(min_value=990, max_value=1600).map(lambda n: "x" * n)
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
annotation_keys = names | st.integers(min_value=495, max_value=700).map(lambda n: "k" * n)


def _expected_key(key: str) -> str:
    return re.sub("[^A-Za-z0-9_]", "_", key)[:500]


def _expected_value(value: Any) -> Any:
    if not isinstance(value, (str, int, float, bool)):
        value = str(value)
    return value[:1000] if isinstance(value, str) else value


def test_every_xray_document_validates(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with XRayDaemon() as daemon:
        monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
        monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address)
        monkeypatch.setenv("_HANDLER", "app.handler")
        for name in ("LAMBDAOPS_TRACE", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
            monkeypatch.delenv(name, raising=False)
        _trace.reset()
        try:
            _xray_property(daemon, monkeypatch)
        finally:
            _trace.reset()
        capsys.readouterr()  # the repairs' warnings


def _xray_property(daemon: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    @PROPERTY
    @given(
        sub_name=names,
        annotations=st.lists(st.tuples(annotation_keys, annotation_values), max_size=6),
    )
    def check(sub_name: str, annotations: list[tuple[str, Any]]) -> None:
        @instrument(service="svc")
        def handler(event: Any, context: Any) -> None:
            with trace.subsegment(sub_name):
                for key, value in annotations:
                    trace.annotate(key, value)

        root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        header = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
        monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
        handler({}, LambdaContext())
        daemon.wait_for(
            lambda docs: any(
                e["name"] == "## handler"
                for e in flatten([d for d in docs if d.get("trace_id") == root])
            )
        )
        docs = daemon.segments_for(root)
        assert daemon.malformed == 0
        for doc in docs:
            assert document_problems(doc) == [], doc
            assert xray_schema_errors(doc) == [], doc
        expected: dict[str, Any] = {}
        for key, value in annotations:
            if value is not None and _expected_key(key):
                expected[_expected_key(key)] = _expected_value(value)
        (inner,) = [e for e in flatten(docs) if e.get("parent_id") and e["name"] != "## handler"]
        assert inner.get("annotations", {}) == expected

    check()
