"""``lambdaops local`` end to end: the CLI drives real awslambdaric processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdaops.report import build
from tests.e2e.conftest import lambdaops_local as run

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
GIZMOS = REPO / "examples" / "gizmos"


def test_local_runs_and_reports(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    out = run(
        "app.handler",
        "--code-dir",
        str(GIZMOS),
        "--event",
        str(GIZMOS / "events" / "order.json"),
        "--event",
        str(GIZMOS / "events" / "bad-order.json"),
        "--times",
        "2",
        "--concurrency",
        "2",
        "--memory",
        "512",
        "--log",
        str(log),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    reports = [line for line in out.stdout.splitlines() if line.startswith("REPORT RequestId:")]
    assert len(reports) == 4
    assert all("Memory Size: 512 MB" in line for line in reports)
    assert sum("Init Duration:" in line for line in reports) == 2  # one per environment
    figures = build(log.read_text().splitlines()).as_dict()
    assert figures["invocations"] == 4 and figures["errors"] == 2
    assert figures["cold_starts"] == 2 and figures["mean_init_duration_ms"] > 0
    assert figures["metrics"] == {"GizmosProcessed": 6}


def test_timeout_kills_the_environment(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    out = run(
        "app.handler",
        "--code-dir",
        str(GIZMOS),
        "--event",
        str(GIZMOS / "events" / "slow-order.json"),
        "--timeout",
        "1",
        "--log",
        str(log),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    assert "Status: timeout" in out.stdout
    outcomes = [json.loads(line) for line in log.read_text().splitlines() if '"outcome"' in line]
    assert [o["outcome"] for o in outcomes] == ["timeout"]
    assert outcomes[0]["stuck_in"].startswith("check_inventory (")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nodot",), "module.function"),
        (("missing.handler", "--code-dir", str(GIZMOS)), "not found"),
        (("app.handler", "--code-dir", "/no/such/dir"), "does not exist"),
        (("app.handler", "--code-dir", str(GIZMOS), "--event", "/no/such.json"), "does not exist"),
        (("app.handler", "--code-dir", str(GIZMOS), "--sampling", "2"), "between 0 and 1"),
    ],
)
def test_bad_arguments_give_one_clear_line(args: tuple[str, ...], needle: str) -> None:
    out = run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lambdaops: ") and needle in lines[0]


def test_unreadable_event_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = run("app.handler", "--code-dir", str(GIZMOS), "--event", str(bad))
    assert out.returncode == 2 and "cannot read event" in out.stderr
