"""``lambdaops report --html``: the report as one self-contained page for a wall screen.

Every figure comes from :meth:`Report.as_dict` (the JSON output), so the page never
disagrees with the table. The page loads nothing: styles inline, charts as inline SVG
drawn here, no script, and a Content-Security-Policy that forbids any fetch — a log is
untrusted input, so every string from it is escaped, and the policy would stop a script
even if one slipped through.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING, Any, NamedTuple

from lambdaops._report_table import _ms, _pct, format_table

if TYPE_CHECKING:
    from lambdaops.report import Report

#: Drawing area of a bar chart: the tallest (or longest) bar, in px.
BAR_HEIGHT = 160
BAR_LENGTH = 480
_BAR_WIDTH, _BAR_GAP, _ROW = 64, 32, 30
_LABEL_WIDTH = 260

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body{margin:0;padding:24px 32px;background:#0f172a;color:#e2e8f0;
font:16px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:28px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 10px;color:#94a3b8;
text-transform:uppercase;letter-spacing:.08em}
.sub{color:#94a3b8}.tiles{display:flex;flex-wrap:wrap;gap:14px}
.tile{background:#1e293b;border-radius:10px;padding:14px 20px;min-width:190px}
.tile.business{min-width:260px;background:#1e3a5f}
.big{font-size:44px;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.business .big{font-size:60px}.label{color:#cbd5e1;overflow-wrap:anywhere}
.note{color:#94a3b8;font-size:14px}.good{color:#4ade80}.warn{color:#fbbf24}.bad{color:#f87171}
svg{display:block;margin-top:12px}svg text{fill:#cbd5e1;font-size:13px}
.axis{stroke:#475569}.ceiling{stroke-dasharray:4 4}
.bar{fill:#60a5fa}.bar.fail{fill:#f87171}
pre{background:#1e293b;padding:12px;border-radius:8px;overflow-x:auto;font-size:13px}
"""


class Bar(NamedTuple):
    label: str
    value: float  # what the bar's size is proportional to
    text: str  # the figure written by the bar


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _short(label: str, limit: int = 36) -> str:
    """A label that fits left of its bar (the whole one is in the bar's tooltip)."""
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _number(value: float) -> str:
    """A business metric total, readable from across the room."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _grade(ratio: float | None) -> str:
    """Green at three nines and up, amber at two, red below: a glance, not an SLO."""
    if ratio is None:
        return ""
    return "good" if ratio >= 0.999 else "warn" if ratio >= 0.99 else "bad"


def _tile(big: str, label: str, note: str = "", cls: str = "") -> str:
    note_html = f'<div class="note">{_e(note)}</div>' if note else ""
    return (
        f'<div class="tile {cls}"><div class="big">{_e(big)}</div>'
        f'<div class="label">{_e(label)}</div>{note_html}</div>'
    )


def _size(value: float, scale: float, full: int) -> float:
    """A bar's size in px: ``value`` against ``scale`` (the chart's full size)."""
    return round(value / scale * full, 2) if scale > 0 else 0.0


def column_chart(title: str, bars: Sequence[Bar], scale: float, scale_text: str = "") -> str:
    """Vertical bars, each ``value / scale`` of :data:`BAR_HEIGHT` tall; with ``scale_text``,
    under a line at ``scale`` (so 60% reads as 60% of the way, not as the tallest bar)."""
    top, right = 20, len(bars) * (_BAR_WIDTH + _BAR_GAP) + _BAR_GAP
    base = top + BAR_HEIGHT
    parts = [f'<line class="axis" x1="0" y1="{base}" x2="{right}" y2="{base}"/>']
    if scale_text:
        parts.append(
            f'<line class="axis ceiling" x1="0" y1="{top}" x2="{right}" y2="{top}"/>'
            f'<text x="{right + 6}" y="{top + 4}">{_e(scale_text)}</text>'
        )
    width = right + 70
    for i, bar in enumerate(bars):
        x = _BAR_GAP + i * (_BAR_WIDTH + _BAR_GAP)
        h = _size(bar.value, scale, BAR_HEIGHT)
        y = round(top + BAR_HEIGHT - h, 2)
        mid = x + _BAR_WIDTH // 2
        parts.append(
            f'<rect class="bar" data-label="{_e(bar.label)}" x="{x}" y="{y}" '
            f'width="{_BAR_WIDTH}" height="{h}"><title>{_e(bar.label)}: {_e(bar.text)}'
            f'</title></rect><text x="{mid}" y="{y - 5}" text-anchor="middle">{_e(bar.text)}'
            f'</text><text x="{mid}" y="{top + BAR_HEIGHT + 18}" text-anchor="middle">'
            f"{_e(bar.label)}</text>"
        )
    return (
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{width}" '
        f'height="{top + BAR_HEIGHT + 26}">{"".join(parts)}</svg>'
    )


def row_chart(title: str, bars: Sequence[Bar], scale: float, cls: str = "bar") -> str:
    """Horizontal bars, each ``value / scale`` of :data:`BAR_LENGTH` long (long names fit)."""
    parts = []
    for i, bar in enumerate(bars):
        y = i * _ROW
        w = _size(bar.value, scale, BAR_LENGTH)
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 19}" text-anchor="end">'
            f"{_e(_short(bar.label))}</text>"
            f'<rect class="{cls}" data-label="{_e(bar.label)}" x="{_LABEL_WIDTH}" y="{y + 4}" '
            f'width="{w}" height="{_ROW - 8}"><title>{_e(bar.label)}: {_e(bar.text)}</title>'
            f'</rect><text x="{_LABEL_WIDTH + w + 6}" y="{y + 19}">{_e(bar.text)}</text>'
        )
    return (
        f'<svg class="chart" role="img" aria-label="{_e(title)}" '
        f'width="{_LABEL_WIDTH + BAR_LENGTH + 80}" height="{len(bars) * _ROW}">'
        f"{''.join(parts)}</svg>"
    )


def _business(d: dict[str, Any]) -> str:
    metrics: dict[str, float] = d["metrics"]
    if not metrics:
        return '<p class="note">No business metrics in this log (no EMF metric of its own).</p>'
    tiles = (_tile(_number(total), name, "total", "business") for name, total in metrics.items())
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _availability(d: dict[str, Any]) -> str:
    tiles = [
        _tile(
            _pct(d["availability"]),
            "by attempt",
            f"{d['successes']} of {d['invocations']} attempts succeeded "
            f"({d['errors']} errors, {d['timeouts']} timeouts)",
            _grade(d["availability"]),
        ),
        _tile(
            _pct(d["request_availability"]),
            "by request",
            f"of {d['requests']} requests, retries grouped",
            _grade(d["request_availability"]),
        ),
    ]
    http = d["http"]
    if http["responses"]:
        tiles.append(
            _tile(
                _pct(http["availability"]),
                "by HTTP response",
                f"of {http['responses']} responses: "
                + " / ".join(f"{k} {http[k]}" for k in ("2xx", "3xx", "4xx", "5xx", "failed")),
                _grade(http["availability"]),
            )
        )
    if d["batch_items"]:
        tiles.append(
            _tile(
                _pct(d["batch_item_availability"]),
                "by batch item",
                f"{d['batch_items_failed']} of {d['batch_items']} items failed",
                _grade(d["batch_item_availability"]),
            )
        )
    by_attempt: dict[str, float | None] = d["availability_by_attempt"]
    chart = ""
    if by_attempt:
        bars = [Bar(f"attempt {a}", v or 0.0, _pct(v)) for a, v in by_attempt.items()]
        chart = column_chart("availability by attempt", bars, 1.0, "100%")
    return f'<div class="tiles">{"".join(tiles)}</div>{chart}'


def _failures(d: dict[str, Any]) -> str:
    causes: dict[str, int] = d["failures_by_cause"]
    parts = []
    if causes:
        bars = [Bar(cause, n, str(n)) for cause, n in causes.items()]
        parts.append(row_chart("failures by cause", bars, max(causes.values()), "bar fail"))
    else:
        parts.append('<p class="note">No failed attempts.</p>')
    init = d["init_failures"]
    if init["total"]:
        causes_text = ", ".join(f"{c} {n}" for c, n in init["by_cause"].items())
        parts.append(
            f'<p class="note">Init failures: {init["total"]} ({_e(causes_text)}), '
            f"{init['failed_invocations']} invocations failed by them.</p>"
        )
    stuck: dict[str, int] = d["stuck_in"]
    if stuck:
        where = ", ".join(f"{w} ({n})" for w, n in stuck.items())
        parts.append(f'<p class="note">Timed out in: {_e(where)}.</p>')
    if d["platform_only"]:
        parts.append(
            f'<p class="note">{d["platform_only"]} attempts known from Lambda\'s platform '
            "records alone.</p>"
        )
    return "".join(parts)


def _duration(d: dict[str, Any]) -> str:
    dur: dict[str, float | None] = d["duration_ms"]
    tiles = "".join(_tile(_ms(dur[k]), k) for k in ("p50", "p95", "p99"))
    known = {k: v for k, v in dur.items() if v is not None}
    chart = ""
    if known:
        bars = [Bar(k, v, _ms(v)) for k, v in known.items()]
        chart = column_chart("handler duration", bars, max(known.values()))
    return f'<div class="tiles">{tiles}</div>{chart}'


def _cold_and_cost(d: dict[str, Any]) -> str:
    per_million = d["cost_per_million_usd"]
    return (
        '<div class="tiles">'
        + _tile(
            str(d["cold_starts"]),
            "cold starts",
            f"{_pct(d['cold_start_rate'])} of attempts, mean init "
            f"{_ms(d['mean_init_duration_ms'])}",
        )
        + _tile(
            "-" if per_million is None else f"${per_million:.4f}",
            "estimated cost per 1M invocations",
            f"${d['estimated_cost_usd'] or 0.0:.8f} for this log",
        )
        + "</div>"
    )


def page(report: Report) -> str:
    """The whole page, as text."""
    d = report.as_dict()
    function = d["function"]
    title = "lambdaops report" + (f": {function['name']}" if function else "")
    sections = [
        ("Business metrics", _business(d)),
        ("Availability", _availability(d)),
        ("Failures by cause", _failures(d)),
        ("Duration", _duration(d)),
        ("Cold starts and cost", _cold_and_cost(d)),
        ("All figures", f"<pre>{_e(format_table(report))}</pre>"),
    ]
    body = "".join(f"<section><h2>{name}</h2>{html}</section>" for name, html in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{_e(title)}</h1><div class="sub">{d["invocations"]} attempts of '
        f"{d['requests']} requests</div>{body}</body></html>\n"
    )


def write(report: Report, path: str) -> None:
    """Write :func:`page` to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page(report))
