"""Availability alarms: multi-window burn rates over the outcome records, and zero alarms.

An alarm cannot run a Logs Insights query, so the outcome records are counted into metrics
by three metric filters on the log group (``AWS::Logs::MetricFilter``, JSON patterns):
every record, the successes, and the late records (``supersedes``) that replace a watchdog's
timeout. That is the arithmetic of docs/outcomes.md's "availability by attempt" query —
attempts are records minus late records, successes are the success records. Metric math
takes Lambda's own ``Invocations`` when it is larger (an invocation that crashed before
lambdaops could write its record still counts, as a failure), and gives the error rate.

Burn rate, as SRE practice alarms on it: the error budget is ``1 - SLO``; a burn rate of
14.4 sustained for one hour spends 2% of a 30-day budget, 6 for six hours spends 5%. Each
rule alarms only when both its long window and its short window (a twelfth of it) burn
faster than the rule's rate, so it fires fast and resets fast once the errors stop: one
metric alarm per window (a sliding window: CloudWatch's default evaluation window) and a
composite alarm that ANDs the two.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from lambdaops.dashboard.discover import BusinessMetric


class BurnRule(NamedTuple):
    """One multi-window rule: the burn-rate factor and its long and short windows."""

    name: str
    factor: Decimal
    long_seconds: int
    short_seconds: int


#: The two rules of the SRE practice for a 30-day objective: page on fast burn, and on slow.
RULES = (
    BurnRule("Fast", Decimal("14.4"), 3600, 300),
    BurnRule("Slow", Decimal("6"), 21600, 1800),
)

#: Metric filter patterns over the outcome records (JSON filter pattern syntax).
FILTERS = {
    "OutcomeRecords": '{ $.lambdaops = "outcome" }',
    "OutcomeSuccesses": '{ ($.lambdaops = "outcome") && ($.outcome = "success") }',
    "LateOutcomeRecords": '{ ($.lambdaops = "outcome") && ($.supersedes = "timeout") }',
}
#: The zero alarm's window: a business metric absent for this long is treated as zero.
ZERO_WINDOW_SECONDS = 3600


class Target(NamedTuple):
    """Where the deployed function is, as ``Fn::Sub`` strings."""

    function: str
    log_group: str
    actions: Any  # AlarmActions: a list, or an intrinsic function that gives one


def error_budget(slo_pct: Decimal) -> Decimal:
    """The share of attempts allowed to fail: 99.9 gives 0.001."""
    return (Decimal(100) - slo_pct) / Decimal(100)


def threshold(slo_pct: Decimal, rule: BurnRule) -> float:
    """The error rate (0..1) at which the rule's windows alarm: factor x error budget."""
    return float(rule.factor * error_budget(slo_pct))


def lowest_objective() -> Decimal:
    """Below this objective the fast rule's threshold is 100% or more, and can never fire."""
    fastest = max(rule.factor for rule in RULES)
    return Decimal(100) - Decimal(100) / fastest


def literal(text: str) -> str:
    """``text`` inside an ``Fn::Sub`` string, where ``${`` would start a variable."""
    return text.replace("${", "${!")


def namespace(target: Target) -> str:
    return f"lambdaops/{target.function}"


def metric_filters(target: Target) -> dict[str, dict[str, Any]]:
    """The three metric filters the burn-rate alarms read."""
    resources: dict[str, dict[str, Any]] = {}
    for metric, pattern in FILTERS.items():
        resources[f"Lambdaops{metric}Filter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Fn::Sub": target.log_group},
                "FilterPattern": pattern,
                "MetricTransformations": [
                    {
                        "MetricNamespace": {"Fn::Sub": namespace(target)},
                        "MetricName": metric,
                        "MetricValue": "1",
                        "DefaultValue": 0,
                    }
                ],
            },
        }
    return resources


def burn_rate_alarms(target: Target, slo_pct: Decimal) -> dict[str, dict[str, Any]]:
    """Per rule: an alarm for each window and a composite alarm that needs both."""
    resources: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        limit = threshold(slo_pct, rule)
        ids = []
        for label, seconds in (("Long", rule.long_seconds), ("Short", rule.short_seconds)):
            logical = f"Lambdaops{rule.name}Burn{label}"
            ids.append(logical)
            resources[logical] = _window_alarm(target, slo_pct, rule, seconds, limit)
        rule_text = " AND ".join(f'ALARM("${{{logical}}}")' for logical in ids)
        resources[f"Lambdaops{rule.name}Burn"] = {
            "Type": "AWS::CloudWatch::CompositeAlarm",
            "Properties": {
                "AlarmName": {
                    "Fn::Sub": f"{target.function}-availability-{rule.name.lower()}-burn"
                },
                "AlarmDescription": (
                    f"Availability under {slo_pct}%: errors spend the budget {rule.factor}x"
                    f" too fast over both {_span(rule.long_seconds)} and"
                    f" {_span(rule.short_seconds)} (docs/dashboard.md)"
                ),
                "AlarmRule": {"Fn::Sub": rule_text},
                "ActionsEnabled": True,
                "AlarmActions": target.actions,
            },
        }
    return resources


def _span(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"


def _window_alarm(
    target: Target, slo_pct: Decimal, rule: BurnRule, seconds: int, limit: float
) -> dict[str, Any]:
    span = _span(seconds).replace(" ", "")
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {
                "Fn::Sub": f"{target.function}-availability-{rule.name.lower()}-burn-{span}"
            },
            "AlarmDescription": (
                f"Error rate over {_span(seconds)} above {rule.factor}x the error budget of a"
                f" {slo_pct}% objective (half of the {rule.name.lower()} burn-rate rule)"
            ),
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": limit,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "notBreaching",
            "Metrics": _error_rate(target, seconds),
        },
    }


def _error_rate(target: Target, seconds: int) -> list[dict[str, Any]]:
    """Failed attempts / attempts over one window, as metric math."""
    own = {"Fn::Sub": namespace(target)}
    queries = [
        _stat("records", own, "OutcomeRecords", [], seconds),
        _stat("late", own, "LateOutcomeRecords", [], seconds),
        _stat("ok", own, "OutcomeSuccesses", [], seconds),
        _stat(
            "invocations",
            "AWS/Lambda",
            "Invocations",
            [{"Name": "FunctionName", "Value": {"Fn::Sub": target.function}}],
            seconds,
        ),
        _math("platform", "FILL(invocations, 0)"),
        _math("own", "FILL(records, 0) - FILL(late, 0)"),
        _math("attempts", "MAX([platform, own])"),
        {
            **_math("error_rate", "IF(attempts > 0, 1 - FILL(ok, 0) / attempts, 0)"),
            "Label": "Error rate (failed attempts / attempts)",
            "ReturnData": True,
        },
    ]
    return queries


def _stat(ident: str, space: Any, name: str, dims: list[Any], seconds: int) -> dict[str, Any]:
    metric: dict[str, Any] = {"Namespace": space, "MetricName": name}
    if dims:
        metric["Dimensions"] = dims
    return {
        "Id": ident,
        "MetricStat": {"Metric": metric, "Period": seconds, "Stat": "Sum"},
        "ReturnData": False,
    }


def _math(ident: str, expression: str) -> dict[str, Any]:
    return {"Id": ident, "Expression": expression, "ReturnData": False}


def zero_alarm(target: Target, metric: BusinessMetric) -> dict[str, Any]:
    """The business metric summed over its coarsest dimension set is 0 (or absent) for an hour.

    lambdaops writes a metric only when the handler adds it, so no data is zero: missing
    data breaches. Each dimension set carries every value, so the coarsest set's series
    sum to the total.
    """
    coarsest = min(metric.dimension_sets, key=len) if metric.dimension_sets else ()
    series = [s for s in metric.series if tuple(k for k, _ in s) == coarsest] or [()]
    queries: list[dict[str, Any]] = []
    for index, one in enumerate(series):
        dims = [{"Name": k, "Value": v} for k, v in one]
        queries.append(_stat(f"m{index}", metric.namespace, metric.name, dims, ZERO_WINDOW_SECONDS))
    total = " + ".join(f"FILL(m{i}, 0)" for i in range(len(series)))
    queries.append({**_math("total", total), "Label": f"{metric.name} total", "ReturnData": True})
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": f"{target.function}-{literal(metric.name)}-zero"},
            "AlarmDescription": (
                f"{metric.namespace}/{metric.name} was 0 or absent for an hour: the"
                " business stopped, whatever the error rate says"
            ),
            "ComparisonOperator": "LessThanOrEqualToThreshold",
            "Threshold": 0,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "TreatMissingData": "breaching",
            "Metrics": queries,
            "AlarmActions": target.actions,
        },
    }
