"""The dashboard body: business metrics first and largest, then how the function is doing.

The body follows CloudWatch's "Dashboard Body Structure and Syntax" (docs.aws.amazon.com/
AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html): a
``widgets`` array of ``metric``, ``log`` and ``text`` widgets on a 24-column grid. The log
widgets run the Logs Insights queries of docs/outcomes.md (:mod:`lambdaops._insights`) over
the function's log group, so the dashboard and the docs cannot drift apart. What is deployed
(the function's name, its log group, the region) is not known here: those are the
placeholders below, which :mod:`.template` turns into ``Fn::Sub`` variables.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lambdaops import _insights
from lambdaops.dashboard.discover import BusinessMetric, Series

#: Placeholders for what only CloudFormation knows (NUL never occurs in a name from a log).
FUNCTION = "\x00function\x00"
LOG_GROUP = "\x00log_group\x00"
REGION = "\x00region\x00"

_TIME_UNITS = frozenset({"Seconds", "Milliseconds", "Microseconds"})
#: Widget sizes on the 24-column grid: business metrics are the big ones.
_GRID = 24
_BUSINESS_HEIGHT = 8
_SMALL = (8, 6)
#: A metric widget's ``metrics`` array holds at most 100 metrics and expressions.
_MAX_LINES = 100


class LogPanel(NamedTuple):
    """A Logs Insights widget: its title, the query (docs/outcomes.md's) and how to draw it."""

    title: str
    query: str
    view: str  # table | timeSeries | bar | pie


#: The operational widgets after the business metrics, in dashboard order.
LOG_PANELS = (
    LogPanel("Availability by attempt (%)", _insights.AVAILABILITY_BY_ATTEMPT, "timeSeries"),
    LogPanel("Availability by request (%)", _insights.AVAILABILITY_BY_REQUEST, "table"),
    LogPanel("Errors and timeouts per hour", _insights.ERRORS_AND_TIMEOUTS, "timeSeries"),
    LogPanel("Failures by cause (errors by type)", _insights.ERRORS_BY_TYPE, "table"),
    LogPanel("Cold starts (%)", _insights.COLD_START_RATE, "timeSeries"),
    LogPanel("Duration p50 / p95 / p99 (ms)", _insights.DURATION_PERCENTILES, "timeSeries"),
    LogPanel("Estimated cost per million invocations (USD)", _insights.COST_PER_MILLION, "table"),
)

#: Lambda's own metrics for what no log line can show: throttled invocations never ran.
LAMBDA_PANELS = (
    ("Throttles", "Sum", "Throttles (Lambda)"),
    ("ConcurrentExecutions", "Maximum", "Concurrent executions (Lambda, max)"),
)

_INTRO = (
    "## Availability, failures, latency and cost\n"
    "From lambdaops' outcome records, one per invocation attempt: the Logs Insights queries "
    "of lambdaops' docs/outcomes.md. Throttles and concurrency are Lambda's own metrics."
)


def stats_for(unit: str) -> tuple[str, ...]:
    """The statistics that fit a unit: a count is summed, a time is read by percentiles."""
    if unit in _TIME_UNITS:
        return ("p50", "p95")
    if unit in ("Count", "None"):
        return ("Sum",)
    return ("Average",)  # bytes, percent, rates: a sum of them means nothing


def body(metrics: list[BusinessMetric]) -> dict[str, Any]:
    """The dashboard body, with the placeholders above in it."""
    widgets: list[dict[str, Any]] = []
    width = _GRID if len(metrics) == 1 else _GRID // 2
    for index, metric in enumerate(metrics):
        x, y = (index * width) % _GRID, (index * width) // _GRID * _BUSINESS_HEIGHT
        widgets.append(_business(metric, x, y, width))
    y = (len(metrics) * width + _GRID - 1) // _GRID * _BUSINESS_HEIGHT
    widgets.append(_widget("text", 0, y, _GRID, 2, {"markdown": _INTRO}))
    y += 2
    small = [_log(panel) for panel in LOG_PANELS] + [_lambda(*p) for p in LAMBDA_PANELS]
    width, height = _SMALL
    per_row = _GRID // width
    for index, (kind, properties) in enumerate(small):
        row, column = divmod(index, per_row)
        widgets.append(_widget(kind, column * width, y + row * height, width, height, properties))
    return {"start": "-PT24H", "periodOverride": "inherit", "widgets": widgets}


def _widget(
    kind: str, x: int, y: int, width: int, height: int, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "type": kind,
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": properties,
    }


def _business(metric: BusinessMetric, x: int, y: int, width: int) -> dict[str, Any]:
    stats = stats_for(metric.unit)
    lines: list[list[Any]] = []
    for series in metric.series:
        for stat in stats:
            lines.append(_line(metric, series, stat, len(metric.series) > 1))
    unit = "" if metric.unit == "None" else f", {metric.unit}"
    properties = {
        "title": f"{metric.name} ({' / '.join(stats)}{unit})",
        "view": "timeSeries",
        "stacked": False,
        "region": REGION,
        "period": 300,
        "stat": stats[0],
        "metrics": lines[:_MAX_LINES],
    }
    return _widget("metric", x, y, width, _BUSINESS_HEIGHT, properties)


def _line(metric: BusinessMetric, series: Series, stat: str, named: bool) -> list[Any]:
    """``[namespace, name, dim, value, ..., {rendering}]``: the documented metric array."""
    label = " ".join(f"{k}={v}" for k, v in series) if named else metric.name
    flat = [part for pair in series for part in pair]
    return [metric.namespace, metric.name, *flat, {"stat": stat, "label": f"{label} {stat}"}]


def _log(panel: LogPanel) -> tuple[str, dict[str, Any]]:
    return "log", {
        "title": panel.title,
        "query": f"SOURCE '{LOG_GROUP}' | {panel.query}",
        "region": REGION,
        "view": panel.view,
    }


def _lambda(name: str, stat: str, title: str) -> tuple[str, dict[str, Any]]:
    return "metric", {
        "title": title,
        "view": "timeSeries",
        "stacked": False,
        "region": REGION,
        "period": 60,
        "stat": stat,
        "metrics": [["AWS/Lambda", name, "FunctionName", FUNCTION, {"stat": stat}]],
    }
