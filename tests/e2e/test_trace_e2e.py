"""X-Ray tracing under the real runtime: awslambdaric, a moto server, a UDP daemon stand-in.

The function process sends segment documents to :class:`XRayDaemon` exactly as
it would to the X-Ray daemon in Lambda; the test checks the tree they form.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops.local._xray_daemon import XRayDaemon, document_problems, flatten

pytestmark = pytest.mark.e2e

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def new_header(sampled: int) -> tuple[str, str, str]:
    """A fresh trace header, with its root and parent ids, as Lambda makes per invocation."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    return f"Root={root};Parent={parent};Sampled={sampled}", root, parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server with one bucket, for the function's S3 calls."""
    port = _free_port()
    server = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        import boto3

        boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", **_lower(CREDENTIALS)
        ).create_bucket(Bucket="e2e-bucket")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _lower(creds: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in creds.items()}


@pytest.fixture
def daemon() -> Iterator[XRayDaemon]:
    with XRayDaemon() as d:
        yield d


def function_env(daemon: XRayDaemon, moto_url: str, **extra: str) -> dict[str, str]:
    return {
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        "AWS_ENDPOINT_URL_S3": moto_url,
        **CREDENTIALS,
        **extra,
    }


def by_name(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for entity in entities:
        assert entity["name"] not in out, f"two subsegments named {entity['name']}"
        out[entity["name"]] = entity
    return out


def trace_of(daemon: XRayDaemon, root: str) -> list[dict[str, Any]]:
    """Every entity of one trace once its handler subsegment has arrived."""
    daemon.wait_for(
        lambda docs: any(
            e["name"] == "## handler" for e in flatten([d for d in docs if d["trace_id"] == root])
        ),
        timeout=10,
    )
    return flatten(daemon.segments_for(root))


def test_sampled_tree_boto3_errors_and_unsampled(
    make_env: Any, daemon: XRayDaemon, moto_url: str
) -> None:
    env = make_env("trace_app.handler", env=function_env(daemon, moto_url))

    # Cold start, not sampled: no datagram, and the SDK is never imported.
    header, unsampled_root, _ = new_header(0)
    first = env.invoke({"kind": "ok"}, trace_header=header)
    assert first.status == "success", first.error
    assert first.json() == {"kind": "ok", "buckets": ["e2e-bucket"], "sdk_loaded": False}

    # Sampled: the whole tree.
    header, root, parent = new_header(1)
    result = env.invoke({"kind": "ok", "order_id": "o-42"}, trace_header=header)
    assert result.status == "success", result.error
    assert result.json()["sdk_loaded"] is True
    entities = trace_of(daemon, root)
    docs = daemon.segments_for(root)
    for doc in docs:
        assert document_problems(doc) == [], doc
        assert doc["type"] == "subsegment"
    named = by_name(entities)
    assert set(named) == {"## handler", "prepare", "## list_buckets", "s3"}
    handler = named["## handler"]
    for entity in entities:
        assert entity["trace_id"] == root
        assert entity["type"] == "subsegment"
        assert not entity.get("in_progress")
    assert handler["parent_id"] == parent  # under Lambda's function segment
    assert handler["annotations"] == {
        "ColdStart": False,
        "Service": "e2e-trace",
        "order_id": "o-42",
    }
    assert handler["metadata"]["e2e-trace"]["handler response"]["buckets"] == ["e2e-bucket"]
    assert named["prepare"]["parent_id"] == handler["id"]
    assert named["prepare"]["annotations"] == {"kind": "ok"}
    assert named["prepare"]["metadata"]["e2e-trace"]["event"]["order_id"] == "o-42"
    assert named["## list_buckets"]["parent_id"] == handler["id"]
    s3 = named["s3"]
    assert s3["namespace"] == "aws"
    assert s3["parent_id"] == named["## list_buckets"]["id"]
    assert s3["aws"]["operation"] == "ListBuckets"
    assert s3["http"]["response"]["status"] == 200
    assert "fault" not in s3 and "error" not in s3
    # Children lie within their parents in time.
    ids = {e["id"]: e for e in entities}
    for entity in entities:
        up = ids.get(entity["parent_id"])
        if up is not None:
            assert up["start_time"] <= entity["start_time"] <= entity["end_time"] <= up["end_time"]

    # Sampled and failing: the handler subsegment carries the exception.
    header, error_root, _ = new_header(1)
    failed = env.invoke({"kind": "error"}, trace_header=header)
    assert failed.status == "error"
    assert failed.error is not None and failed.error["errorType"] == "ValueError"
    named = by_name(trace_of(daemon, error_root))
    handler = named["## handler"]
    assert handler["fault"] is True
    [exc] = handler["cause"]["exceptions"]
    assert exc["type"] == "ValueError" and exc["message"] == "requested failure"
    assert any(frame["label"] == "handler" for frame in exc["stack"])
    error_meta = handler["metadata"]["e2e-trace"]["handler error"]
    assert error_meta["type"] == "ValueError"
    assert "fault" not in named["## list_buckets"]

    # Not sampled again, warm: still nothing, though the SDK is loaded now.
    header, unsampled_root_2, _ = new_header(0)
    assert env.invoke({"kind": "ok"}, trace_header=header).status == "success"
    header, sentinel_root, _ = new_header(1)
    assert env.invoke({"kind": "ok"}, trace_header=header).status == "success"
    trace_of(daemon, sentinel_root)  # datagrams arrive in order: earlier ones are in
    assert daemon.segments_for(unsampled_root) == []
    assert daemon.segments_for(unsampled_root_2) == []
    assert daemon.malformed == 0
    assert {d["trace_id"] for d in daemon.snapshot()} == {root, error_root, sentinel_root}


def test_cold_start_annotation_and_waterfall(
    make_env: Any, daemon: XRayDaemon, moto_url: str
) -> None:
    env = make_env("trace_app.handler", env=function_env(daemon, moto_url))
    header, root, _ = new_header(1)
    assert env.invoke({"kind": "ok"}, trace_header=header).status == "success"
    named = by_name(trace_of(daemon, root))
    assert named["## handler"]["annotations"]["ColdStart"] is True
    picture = daemon.waterfall(root)
    lines = picture.splitlines()
    assert lines[0].startswith(f"trace {root}: 4 subsegments")
    assert any(line.startswith("## handler ") for line in lines)
    assert any(line.startswith("    s3 ListBuckets ") for line in lines)  # two levels down


def test_tracing_disabled_sends_nothing(make_env: Any, daemon: XRayDaemon, moto_url: str) -> None:
    env = make_env("trace_app.handler", env=function_env(daemon, moto_url, LAMBDAOPS_TRACE="false"))
    for _ in range(2):
        header, _, _ = new_header(1)
        result = env.invoke({"kind": "ok"}, trace_header=header)
        assert result.status == "success"
        assert result.json()["sdk_loaded"] is False
    time.sleep(0.3)
    assert daemon.snapshot() == [] and daemon.malformed == 0


def test_patching_opt_out(make_env: Any, daemon: XRayDaemon, moto_url: str) -> None:
    env = make_env(
        "trace_app.handler", env=function_env(daemon, moto_url, LAMBDAOPS_TRACE_PATCH="false")
    )
    header, root, _ = new_header(1)
    assert env.invoke({"kind": "ok"}, trace_header=header).status == "success"
    assert set(by_name(trace_of(daemon, root))) == {"## handler", "prepare", "## list_buckets"}


@pytest.mark.parametrize("address", ["not-an-address", "127.0.0.1:99999", "127.0.0.1:9"])
def test_daemon_trouble_never_reaches_the_handler(
    make_env: Any, moto_url: str, address: str
) -> None:
    """Malformed address, unusable port, nobody listening: same results, one warning at most."""
    env = make_env(
        "trace_app.handler",
        env={"AWS_XRAY_DAEMON_ADDRESS": address, "AWS_ENDPOINT_URL_S3": moto_url, **CREDENTIALS},
    )
    for kind in ("ok", "error", "ok"):
        header, _, _ = new_header(1)
        result = env.invoke({"kind": kind}, trace_header=header)
        if kind == "ok":
            assert result.status == "success"
            assert result.json()["buckets"] == ["e2e-bucket"]
        else:
            assert result.status == "error" and result.error is not None
            assert result.error["errorType"] == "ValueError"
    warnings = [
        json.loads(text)
        for _, stream, text in env.lines
        if "lambdaops internal error contained" in text and text.startswith("{")
    ]
    trace_warnings = [w for w in warnings if w["where"].startswith("trace")]
    assert len(trace_warnings) <= 1, trace_warnings
    assert warnings == trace_warnings  # nothing else broke
    if address != "127.0.0.1:9":  # a silent UDP drop on loopback raises nothing to warn about
        assert len(trace_warnings) == 1
