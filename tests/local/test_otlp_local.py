"""``lambdaops local`` with a function traced by the OpenTelemetry SDK: the runner starts the
OTLP receiver beside the X-Ray daemon, points the function's exporter at it, and draws the
invocation's waterfall from whichever listener got the trace. Real awslambdaric processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdaops._traceheader import parse_trace_header
from lambdaops.cli import main
from lambdaops.local._runner import LocalRunner
from tests.e2e.conftest import lambdaops_local as run

pytestmark = pytest.mark.e2e

HANDLERS = Path(__file__).parent / "handlers"
_PB2 = "opentelemetry.proto.collector.trace.v1"


@pytest.fixture
def runner() -> Iterator[LocalRunner]:
    with LocalRunner("otel_app.handler", HANDLERS, timeout_s=20) as started:
        yield started


def test_the_waterfall_comes_from_the_otlp_receiver(runner: LocalRunner) -> None:
    assert runner.otlp is not None and runner.xray is not None and runner.notices == []

    local = runner.invoke({"kind": "ok"}, sampled=True)
    assert local.result.status == "success", local.result.error
    assert local.result.json() == {"endpoint": runner.otlp.endpoint, "protocol": "http/protobuf"}
    assert runner.trace_listeners(local) == [runner.otlp]
    docs = {d["name"]: d for d in runner.otlp.segments_for(local.trace_id)}
    assert sorted(docs) == ["## handler", "prepare"]
    handler = docs["## handler"]
    assert handler["trace_id"] == local.trace_id  # Lambda's Root, back in X-Ray form
    assert handler["parent_id"] == parse_trace_header(local.trace_header)["Parent"]
    assert handler["annotations"] == {"kind": "ok"}
    assert docs["prepare"]["parent_id"] == handler["id"]
    picture = runner.waterfall(local)
    assert picture is not None
    lines = picture.splitlines()
    assert lines[0].startswith(f"trace {local.trace_id}: 2 subsegments, ")
    assert [line[:10].rstrip() for line in lines[2:]] == ["## handler", "  prepare"]
    assert runner.xray.snapshot() == []

    failed = runner.invoke({"kind": "error"}, sampled=True)
    assert failed.result.status == "error"
    picture = runner.waterfall(failed)
    assert picture is not None
    assert picture.splitlines()[2].endswith("|  fault, ValueError")

    quiet = runner.invoke({"kind": "ok"}, sampled=False)
    assert quiet.result.status == "success"
    assert runner.waterfall(quiet, wait_s=0.2) is None
    assert runner.otlp.segments_for(quiet.trace_id) == []
    assert runner.otlp.refused == []


def test_lambdaops_local_prints_the_otel_waterfall() -> None:
    out = run("otel_app.handler", "--code-dir", str(HANDLERS), "--sampling", "1", "--timeout", "20")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    [top] = [i for i, line in enumerate(lines) if line.startswith("trace 1-")]
    assert " 2 subsegments, " in lines[top]
    assert lines[top + 2].startswith("## handler ")
    assert lines[top + 3].startswith("  prepare ")
    assert "OTLP receiver skipped" not in out.stderr


def test_without_opentelemetry_proto_the_receiver_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, _PB2, None)  # as if opentelemetry-proto were missing
    with LocalRunner("simple.environ", HANDLERS) as runner:
        assert runner.otlp is None
        [notice] = runner.notices
        assert notice.startswith("OTLP receiver skipped: the OTLP receiver needs ")
        assert notice.endswith("; pip install 'lambdaops[local]'")
        names = ["OTEL_EXPORTER_OTLP_ENDPOINT", "AWS_XRAY_DAEMON_ADDRESS"]
        local = runner.invoke({"names": names}, sampled=True)
        assert local.result.status == "success", local.result.error
        assert runner.xray is not None
        assert local.result.json() == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": None,
            "AWS_XRAY_DAEMON_ADDRESS": runner.xray.address,
        }
        assert runner.listeners() == [runner.xray]
        assert runner.waterfall(local, wait_s=0.1) is None


def test_the_cli_says_once_that_the_receiver_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, _PB2, None)
    args = ["local", "simple.echo", "--code-dir", str(HANDLERS), "--times", "2", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert out.err.count("lambdaops local: OTLP receiver skipped: ") == 1
    assert out.out.count("REPORT RequestId: ") == 2
