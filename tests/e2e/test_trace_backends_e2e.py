"""Issue 17: the X-Ray and the OpenTelemetry backend give the same tree under the real
awslambdaric — names, nesting, annotations, errors — one sent as UDP segment documents to
the X-Ray daemon stand-in, the other as OTLP/HTTP spans to lambdaops local's receiver."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest

from lambdaops.local._otlp_receiver import OTLPReceiver
from lambdaops.local._traces import flatten
from lambdaops.local._xray_daemon import XRayDaemon

pytestmark = pytest.mark.e2e


def header() -> tuple[str, str]:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=1", root


def tree(store: Any, root: str) -> list[tuple[str, str | None, dict[str, Any], bool]]:
    """(name, parent's name, annotations, fault) of each entity of one trace."""
    store.wait_for(
        lambda docs: any(
            e["name"] == "## handler" for e in flatten([d for d in docs if d["trace_id"] == root])
        ),
        timeout=15,
    )
    entities = flatten(store.segments_for(root))
    names = {e["id"]: e["name"] for e in entities}
    return sorted(
        (
            e["name"],
            names.get(e.get("parent_id", "")),
            dict(e.get("annotations", {})),
            bool(e.get("fault")),
        )
        for e in entities
    )


def run(make_env: Any, backend: str, events: list[dict[str, Any]]) -> list[list[Any]]:
    trees = []
    with XRayDaemon() as daemon, OTLPReceiver() as receiver:
        env = make_env(
            "backends_app.handler",
            env={
                "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
                **receiver.env(),
                "LAMBDAOPS_TRACE_BACKEND": backend,
            },
        )
        store = daemon if backend == "xray" else receiver
        for event in events:
            trace_header, root = header()
            env.invoke(event, trace_header=trace_header)
            trees.append(tree(store, root))
        other = receiver if backend == "xray" else daemon
        assert other.documents == []  # the other path carried nothing
    return trees


def test_both_backends_give_the_same_tree(make_env: Any) -> None:
    events = [{"order_id": "o-1", "items": 2}, {"order_id": "o-2", "items": -1, "kind": "bad"}]
    xray, otel = run(make_env, "xray", events), run(make_env, "otel", events)
    assert otel == xray
    assert xray[0] == [
        (
            "## handler",
            None,
            {"ColdStart": True, "Service": "e2e-backends", "order_id": "o-1"},
            False,
        ),
        ("## price", "## handler", {"items": 2}, False),
        ("prepare", "## handler", {"kind": "ok"}, False),
    ]
    assert xray[1] == [
        (
            "## handler",
            None,
            {"ColdStart": False, "Service": "e2e-backends", "order_id": "o-2"},
            True,
        ),
        ("## price", "## handler", {"items": -1}, True),
        ("prepare", "## handler", {"kind": "bad"}, False),
    ]
