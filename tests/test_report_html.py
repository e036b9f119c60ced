"""``lambdaops report --html``: the page's figures, its bars' sizes, its isolation, its escaping,
and that a real browser (Debian's chromium, which ``make test`` installs) draws it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_support import rec

from lambdaops._report_html import BAR_HEIGHT, BAR_LENGTH, page
from lambdaops.report import build

FIXTURE = Path(__file__).parent / "fixtures" / "report.log"
EVIL_METRIC = "<script>alert(1)</script>"
EVIL_ERROR = "<img src=x onerror=alert(2)>"
EVIL_FUNCTION = 'f" onmouseover="alert(3)'


class _Rects(HTMLParser):
    """The SVG bars of a page: each ``<rect>``'s attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "rect":
            self.rects.append({k: v or "" for k, v in attrs})


def bars(html: str, cls: str = "bar") -> dict[str, dict[str, str]]:
    parser = _Rects()
    parser.feed(html)
    return {r["data-label"]: r for r in parser.rects if r["class"] == cls}


def known_lines() -> list[str]:
    """Ten attempts: Boom x4, Bust x2, Crash x1 and a success on attempt 1, then two
    retries that succeed; durations 10, 20, ... 90 and 400 ms."""
    attempts = ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "s1"]
    causes = {"e1": "Boom", "e2": "Boom", "e3": "Boom", "e4": "Boom"}
    causes |= {"e5": "Bust", "e6": "Bust", "e7": "Crash"}
    durations = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 400.0]
    lines = []
    for request, ms in zip(attempts, durations, strict=False):
        if request in causes:
            lines.append(
                rec(request, "error", error_type=causes[request], duration_ms=ms, attempt=1)
            )
        else:
            lines.append(rec(request, "success", duration_ms=ms, attempt=1))
    lines.append(rec("e1", "success", duration_ms=durations[8], attempt=2))
    lines.append(rec("e2", "success", duration_ms=durations[9], attempt=2))
    return lines


def test_the_page_holds_each_figure_business_metrics_first() -> None:
    html = page(build(FIXTURE.read_text().splitlines()))
    for figure in (
        "GizmosProcessed",
        ">7<",  # its total
        "50.0%",  # by attempt
        "80.0%",  # by request
        "70.0%",  # by batch item
        "60.0%",  # attempt 1
        "7.00 ms",  # p50
        "1950.00 ms",  # p95, p99, max
        "25.0% of attempts, mean init 110.00 ms",
        "$5.7500",  # per 1M invocations
        "$0.00004600",  # this log
        "4 of 8 attempts succeeded (2 errors, 2 timeouts)",
    ):
        assert figure in html, figure
    order = [html.index(f"<h2>{name}</h2>") for name in ("Business metrics", "Availability")]
    assert order == sorted(order)
    assert html.index("GizmosProcessed") < html.index("50.0%")


def test_bars_are_sized_by_their_figures() -> None:
    report = build(known_lines())
    d = report.as_dict()
    assert d["availability_by_attempt"] == {"1": 0.125, "2": 1.0}
    assert d["failures_by_cause"] == {"Boom": 4, "Bust": 2, "Crash": 1}
    assert d["duration_ms"] == {"p50": 50.0, "p95": 400.0, "p99": 400.0, "max": 400.0}
    html = page(report)

    fails = bars(html, "bar fail")
    assert {k: float(v["width"]) for k, v in fails.items()} == {
        "Boom": BAR_LENGTH,
        "Bust": BAR_LENGTH / 2,
        "Crash": BAR_LENGTH / 4,
    }
    columns = bars(html)
    heights = {k: float(v["height"]) for k, v in columns.items()}
    assert heights == {
        "attempt 1": 0.125 * BAR_HEIGHT,  # of 100%, not of the tallest bar
        "attempt 2": BAR_HEIGHT,
        "p50": 50 / 400 * BAR_HEIGHT,
        "p95": BAR_HEIGHT,
        "p99": BAR_HEIGHT,
        "max": BAR_HEIGHT,
    }
    # bars stand on one baseline
    assert {float(v["y"]) + float(v["height"]) for v in columns.values()} == {20 + BAR_HEIGHT}
    assert "12.5%" in html and "100.0%" in html and "50.00 ms" in html


def test_an_empty_log_still_makes_a_page() -> None:
    html = page(build([]))
    assert "No business metrics" in html and "No failed attempts" in html
    assert bars(html) == {} and bars(html, "bar fail") == {}


def test_the_page_loads_nothing() -> None:
    html = page(build(FIXTURE.read_text().splitlines()))
    assert not re.search(r"""(?i)(src|href)\s*=|url\(|@import|<script|<link|<iframe""", html)
    assert "http://" not in html and "https://" not in html
    assert "default-src 'none'" in html  # a Content-Security-Policy: no fetch, no script


def evil_lines() -> list[str]:
    emf = {
        "_aws": {
            "Timestamp": 1795600000000,
            "CloudWatchMetrics": [
                {"Namespace": "n", "Dimensions": [[]], "Metrics": [{"Name": EVIL_METRIC}]}
            ],
        },
        EVIL_METRIC: 5,
    }
    fields: dict[str, Any] = {"function_name": EVIL_FUNCTION, "attempt": 1, **emf}
    return [
        rec("r1", "error", error_type=EVIL_ERROR, duration_ms=3.0, **fields),
        rec("r2", "success", duration_ms=4.0, **fields),
    ]


def test_strings_from_the_log_are_escaped() -> None:
    report = build(evil_lines(), function=EVIL_FUNCTION)
    d = report.as_dict()
    assert d["metrics"] == {EVIL_METRIC: 10} and d["failures_by_cause"] == {EVIL_ERROR: 1}
    html = page(report)
    for raw in (EVIL_METRIC, EVIL_ERROR, EVIL_FUNCTION, "<img", "<script"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'data-label="&lt;img src=x onerror=alert(2)&gt;"' in html
    assert "lambdaops report: f&quot; onmouseover=&quot;alert(3)" in html


def test_cli_writes_the_page_beside_the_table(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "lambdaops", "report", str(FIXTURE), "--html", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "availability (by attempt)" in run.stdout
    assert out.read_text(encoding="utf-8") == page(build(FIXTURE.read_text().splitlines()))


def test_cli_unwritable_page_is_one_clear_line(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "lambdaops", "report", str(FIXTURE), "--html", str(target)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.startswith(f"lambdaops: cannot write {target}: ")
    assert run.stderr.count("\n") == 1


def test_the_writer_loads_only_for_html() -> None:
    probe = (
        "import sys, lambdaops, lambdaops.report, lambdaops.cli; "
        "print('lambdaops._report_html' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- in a real browser -----------------------------------------------------------------------

BACKGROUND = (0x0F, 0x17, 0x2A)  # the page's background, #0f172a
BAR_BLUE = (0x60, 0xA5, 0xFA)
FAIL_RED = (0xF8, 0x71, 0x71)


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "no chromium on PATH: `make test` installs Debian's (apt-get install chromium) when "
            "it runs as root (or with sudo -n) where apt-get works, and could not here"
        )
    return found


def _browse(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def _write(tmp_path: Path, lines: list[str], function: str | None = None) -> Path:
    path = tmp_path / "report.html"
    path.write_text(page(build(lines, function=function)), encoding="utf-8")
    return path


def test_chromium_draws_the_page(chromium: str, tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    html = _write(tmp_path, FIXTURE.read_text().splitlines())
    png = tmp_path / "out.png"
    run = _browse(
        chromium, tmp_path, f"--screenshot={png}", "--window-size=1280,1600", html.as_uri()
    )
    assert png.exists(), run.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with image.open(png) as shot:
        assert shot.size == (1280, 1600)
        rgb = shot.convert("RGB").tobytes()
        first = tuple(rgb[:3])
    pixels = Counter(zip(rgb[0::3], rgb[1::3], rgb[2::3], strict=True))
    assert first == BACKGROUND  # the page's own style applied
    total = 1280 * 1600
    drawn = total - pixels[BACKGROUND]
    assert drawn / total > 0.15, f"only {drawn} of {total} pixels drawn"
    # the charts themselves: the bars' fills, at least as much as three failure bars
    assert pixels[FAIL_RED] > 3 * 100, "no failure bars drawn"
    assert pixels[BAR_BLUE] > 4 * 1000, "no duration or availability bars drawn"


def test_chromium_builds_the_charts_and_runs_nothing_from_the_log(
    chromium: str, tmp_path: Path
) -> None:
    html = _write(tmp_path, [*FIXTURE.read_text().splitlines(), *evil_lines()])
    run = _browse(chromium, tmp_path, "--dump-dom", html.as_uri())
    dom = run.stdout
    assert dom.count('<svg class="chart"') == 3, run.stderr[-2000:]
    assert len(bars(dom, "bar fail")) == 4  # Timeout, KeyError, ValueError and the evil one
    assert set(bars(dom)) == {"attempt 1", "attempt 2", "attempt 3", "p50", "p95", "p99", "max"}
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_a_long_cause_is_cut_beside_its_bar_and_whole_in_its_tooltip() -> None:
    cause = "Errors." + "VeryLong" * 8
    html = page(build([rec("r1", "error", error_type=cause, attempt=1)]))
    assert f">{cause[:35]}\u2026</text>" in html
    assert f"<title>{cause}: 1</title>" in html
