"""The CloudFormation template: the dashboard, the metric filters and the alarms.

Usable as it is (``sam deploy`` / ``aws cloudformation deploy``, with the function's name
and log group as parameters) or merged into the function's own SAM template, with
``target_function``/``target_log_group`` naming them there (``Fn::Sub`` strings such as
``${AWS::StackName}-gizmos`` and ``${GizmosLogGroup}``): examples/gizmos/template.yaml is
made that way.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NamedTuple

from lambdaops.dashboard import alarms, widgets
from lambdaops.dashboard.discover import BusinessMetric, Discovery

TOPIC_PARAMETER = "LambdaopsAlarmTopicArn"
TOPIC_CONDITION = "LambdaopsHasAlarmTopic"


class Options(NamedTuple):
    """What the command line chose."""

    slo_pct: Decimal = Decimal("99.9")
    zero_alarms: tuple[str, ...] = ()
    #: The deployed function and its log group as Fn::Sub strings; None: a parameter.
    target_function: str | None = None
    target_log_group: str | None = None


def build(found: Discovery, options: Options) -> dict[str, Any]:
    """The template as a dict (``emit.dump`` writes it as YAML)."""
    if found.function is None and options.target_function is None:
        raise ValueError("the log names no function: give its name")
    parameters: dict[str, Any] = {}
    function, log_group = options.target_function, options.target_log_group
    default = found.function or "my-function"
    if function is None:
        parameters["FunctionName"] = {
            "Type": "String",
            "Default": default,
            "Description": "Name of the Lambda function the dashboard and alarms watch.",
        }
        function = "${FunctionName}"
    if log_group is None:
        parameters["LogGroupName"] = {
            "Type": "String",
            "Default": f"/aws/lambda/{default}",
            "Description": "The function's log group: the outcome records are read there.",
        }
        log_group = "${LogGroupName}"
    parameters[TOPIC_PARAMETER] = {
        "Type": "String",
        "Default": "",
        "Description": "ARN of the SNS topic the availability alarms notify; empty for none.",
    }
    actions = {"Fn::If": [TOPIC_CONDITION, [{"Ref": TOPIC_PARAMETER}], {"Ref": "AWS::NoValue"}]}
    target = alarms.Target(function, log_group, actions)
    resources: dict[str, Any] = {"LambdaopsDashboard": dashboard(found.metrics, target)}
    resources.update(alarms.metric_filters(target))
    resources.update(alarms.burn_rate_alarms(target, options.slo_pct))
    by_name = {m.name: m for m in found.metrics}
    for name in options.zero_alarms:
        resources[f"Lambdaops{_identifier(name)}Zero"] = alarms.zero_alarm(target, by_name[name])
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"lambdaops dashboard and availability alarms ({options.slo_pct}% objective),"
            " written by `lambdaops dashboard`"
        ),
        "Parameters": parameters,
        "Conditions": {
            TOPIC_CONDITION: {"Fn::Not": [{"Fn::Equals": [{"Ref": TOPIC_PARAMETER}, ""]}]}
        },
        "Resources": resources,
        "Outputs": {
            "LambdaopsDashboardName": {
                "Description": "The CloudWatch dashboard",
                "Value": {"Ref": "LambdaopsDashboard"},
            }
        },
    }


def dashboard(metrics: list[BusinessMetric], target: alarms.Target) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": f"{target.function}-lambdaops"},
            "DashboardBody": {"Fn::Sub": body_text(metrics, target)},
        },
    }


def body_text(metrics: list[BusinessMetric], target: alarms.Target) -> str:
    """The body as JSON text for ``Fn::Sub``: literal ``${`` escaped, placeholders filled."""
    text = alarms.literal(_one_widget_a_line(widgets.body(metrics)))
    for placeholder, value in (
        (widgets.FUNCTION, target.function),
        (widgets.LOG_GROUP, target.log_group),
        (widgets.REGION, "${AWS::Region}"),
    ):
        text = text.replace(json.dumps(placeholder)[1:-1], value)
    return text


def _one_widget_a_line(document: dict[str, Any]) -> str:
    """JSON with each widget on a line of its own: a template diff shows which one changed."""
    rest = {k: v for k, v in document.items() if k != "widgets"}
    head = json.dumps(rest, ensure_ascii=False)[:-1]
    rows = ",\n".join("  " + json.dumps(w, ensure_ascii=False) for w in document["widgets"])
    return f'{head}, "widgets": [\n{rows}\n]}}'


def _identifier(name: str) -> str:
    """A metric name as part of a logical id (alphanumeric only)."""
    return "".join(c for c in name if c.isascii() and c.isalnum()) or "Metric"
