"""``lambdaops dashboard``: metric discovery, the dashboard body, the alarms, the template.

Fixtures (tests/fixtures/dashboard/): ``two_metrics.log``, as ``aws logs tail`` prints it:
function ``orders`` (three invocations in two environments) emits ``OrdersPlaced`` (Count)
and ``CheckoutLatency`` (Milliseconds) in namespace ``Shop`` under two dimension sets,
``[service]`` and ``[service, tenant]`` with tenants ``acme`` and ``globex``, one document
on a line of its own, and lambdaops' ``ColdStart``; function ``billing`` shares the log
with ``InvoicesSent``. ``gizmos.log`` is ``make demo``'s .lambdaops/demo.log as it was
written: the demo function's log, from which examples/gizmos/template.yaml is generated.

The body is checked against CloudWatch's documented structure: "Dashboard Body Structure
and Syntax", https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
CloudWatch-Dashboard-Body-Structure.html (``validate_body`` below, one rule per statement
of that page).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from lambdaops import _insights
from lambdaops.cli import main
from lambdaops.dashboard import alarms, emit, template, widgets
from lambdaops.dashboard.discover import BusinessMetric, discover

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "dashboard"
TWO_METRICS = FIXTURES / "two_metrics.log"
GIZMOS_LOG = FIXTURES / "gizmos.log"
GIZMOS_TEMPLATE = REPO / "examples" / "gizmos" / "template.yaml"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
GIZMOS_TARGET = ["--target-function", "${AWS::StackName}-gizmos"]
GIZMOS_TARGET += ["--target-log-group", "${GizmosLogGroup}"]

ORDERS = ("orders",)
ACME = (("service", "orders"), ("tenant", "acme"))
GLOBEX = (("service", "orders"), ("tenant", "globex"))
SETS = (("service",), ("service", "tenant"))
SERIES = ((("service", "orders"),), ACME, GLOBEX)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def generate(tmp_path: Path, *args: str, log: Path = TWO_METRICS) -> tuple[Path, dict[str, Any]]:
    out = tmp_path / "dashboard.yaml"
    assert main(["dashboard", "--from", str(log), "--output", str(out), *args]) == 0
    return out, yaml.safe_load(out.read_text())


def resolved_body(resource: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """The dashboard body as CloudFormation will pass it: Fn::Sub's variables filled in."""
    text = resource["Properties"]["DashboardBody"]["Fn::Sub"]
    filled = re.sub(r"\$\{([^}!]+)\}", lambda m: values[m.group(1)], text)
    return json.loads(filled.replace("${!", "${"))  # type: ignore[no-any-return]


SAMPLE = {
    "AWS::Region": "eu-west-1",
    "FunctionName": "orders",
    "LogGroupName": "/aws/lambda/orders",
    "AWS::StackName": "shop",
    "GizmosLogGroup": "/aws/lambda/shop-gizmos",
}


# -- discovery -----------------------------------------------------------------------------


def test_discovery_finds_both_metrics_under_both_dimension_sets() -> None:
    found = discover(lines(TWO_METRICS), function="orders")
    assert found.function == "orders"
    assert found.outcome_records == 3
    assert found.metrics == [
        BusinessMetric("Shop", "OrdersPlaced", "Count", SETS, SERIES),
        BusinessMetric("Shop", "CheckoutLatency", "Milliseconds", SETS, SERIES),
    ]


def test_discovery_without_function_keeps_every_function_and_names_the_busiest() -> None:
    found = discover(lines(TWO_METRICS))
    assert found.function == "orders"  # three records to billing's one
    assert [(m.namespace, m.name) for m in found.metrics] == [
        ("Shop", "OrdersPlaced"),
        ("Shop", "CheckoutLatency"),
        ("Billing", "InvoicesSent"),
    ]
    billing = discover(lines(TWO_METRICS), function="billing").metrics
    assert billing == [
        BusinessMetric(
            "Billing", "InvoicesSent", "Count", (("service",),), ((("service", "billing"),),)
        )
    ]


def test_discovery_of_the_demo_log() -> None:
    found = discover(lines(GIZMOS_LOG))
    assert found.function == "gizmos"
    assert found.metrics == [
        BusinessMetric(
            "Gizmos", "GizmosProcessed", "Count", (("service",),), ((("service", "gizmos"),),)
        )
    ]


def test_lambdaops_own_metrics_are_not_business_metrics() -> None:
    names = {m.name for m in discover(lines(GIZMOS_LOG) + lines(TWO_METRICS)).metrics}
    assert not names & {"ColdStart", "Timeout"}


def test_a_malformed_document_is_skipped() -> None:
    bad = [
        '{"_aws":{"CloudWatchMetrics":"nope"},"A":1}',
        '{"_aws":{"CloudWatchMetrics":[{"Namespace":1,"Metrics":[{"Name":"A"}]}]},"A":1}',
        '{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["d"]],'
        '"Metrics":[{"Name":"B"}, 7]}]},"B":1}',
    ]
    assert discover(bad).metrics == [BusinessMetric("N", "B", "None", ((),), ((),))]


# -- the dashboard -------------------------------------------------------------------------

WIDGETS = [
    ("metric", "OrdersPlaced (Sum, Count)"),
    ("metric", "CheckoutLatency (p50 / p95, Milliseconds)"),
    ("text", None),
    ("log", "Availability by attempt (%)"),
    ("log", "Availability by request (%)"),
    ("log", "Errors and timeouts per hour"),
    ("log", "Failures by cause (errors by type)"),
    ("log", "Cold starts (%)"),
    ("log", "Duration p50 / p95 / p99 (ms)"),
    ("log", "Estimated cost per million invocations (USD)"),
    ("metric", "Throttles (Lambda)"),
    ("metric", "Concurrent executions (Lambda, max)"),
]


@pytest.fixture
def orders(tmp_path: Path) -> dict[str, Any]:
    return generate(tmp_path, "--function", "orders", "--zero-alarm", "OrdersPlaced")[1]


def test_widget_list_and_order(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    got = [(w["type"], w["properties"].get("title")) for w in body["widgets"]]
    assert got == WIDGETS


def test_business_metrics_come_first_and_largest(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    places = [(w["x"], w["y"], w["width"], w["height"]) for w in body["widgets"]]
    assert places[:3] == [(0, 0, 12, 8), (12, 0, 12, 8), (0, 8, 24, 2)]
    assert places[3:] == [
        (x, y, 8, 6) for y in (10, 16, 22) for x in (0, 8, 16)
    ]  # three small widgets a row under them
    area = [w * h for _, _, w, h in places]
    assert min(area[:2]) > max(area[3:])


def test_a_stat_that_fits_each_unit(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    placed, latency = body["widgets"][0]["properties"], body["widgets"][1]["properties"]
    assert placed["metrics"] == [
        [
            "Shop",
            "OrdersPlaced",
            "service",
            "orders",
            {"stat": "Sum", "label": "service=orders Sum"},
        ],
        [
            "Shop",
            "OrdersPlaced",
            "service",
            "orders",
            "tenant",
            "acme",
            {"stat": "Sum", "label": "service=orders tenant=acme Sum"},
        ],
        [
            "Shop",
            "OrdersPlaced",
            "service",
            "orders",
            "tenant",
            "globex",
            {"stat": "Sum", "label": "service=orders tenant=globex Sum"},
        ],
    ]
    assert [line[-1]["stat"] for line in latency["metrics"]] == ["p50", "p95"] * 3
    assert latency["metrics"][3][:6] == [
        "Shop",
        "CheckoutLatency",
        "service",
        "orders",
        "tenant",
        "acme",
    ]
    assert (placed["region"], placed["period"]) == ("eu-west-1", 300)
    assert widgets.stats_for("Bytes") == ("Average",)
    assert widgets.stats_for("None") == ("Sum",)
    assert widgets.stats_for("Seconds") == ("p50", "p95")


def test_log_widgets_run_the_docs_queries_on_the_log_group(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    logs = [w["properties"] for w in body["widgets"] if w["type"] == "log"]
    prefix = "SOURCE '/aws/lambda/orders' | "
    assert [p["query"] for p in logs] == [
        prefix + q
        for q in (
            _insights.AVAILABILITY_BY_ATTEMPT,
            _insights.AVAILABILITY_BY_REQUEST,
            _insights.ERRORS_AND_TIMEOUTS,
            _insights.ERRORS_BY_TYPE,
            _insights.COLD_START_RATE,
            _insights.DURATION_PERCENTILES,
            _insights.COST_PER_MILLION,
        )
    ]
    # a time series needs a query binned by time; the rest are tables
    assert all((p["view"] == "timeSeries") == ("by bin(" in p["query"]) for p in logs)


def test_lambda_own_throttles_and_concurrency(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    own = [w["properties"]["metrics"] for w in body["widgets"][-2:]]
    assert own == [
        [["AWS/Lambda", "Throttles", "FunctionName", "orders", {"stat": "Sum"}]],
        [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", "orders", {"stat": "Maximum"}]],
    ]


def test_docs_print_exactly_the_shared_queries() -> None:
    text = (REPO / "docs" / "outcomes.md").read_text()
    section = text[text.index("## CloudWatch Logs Insights queries") :]
    blocks = re.findall(r"\n```\n(.*?)\n```\n", section, re.S)
    assert blocks == list(_insights.ALL.values())
    assert "lambdaops/_insights.py" in section


# -- the body against CloudWatch's documented structure ------------------------------------

#: From "Dashboard Body Structure and Syntax" (URL in the module docstring).
_WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
_BODY_KEYS = {"widgets", "start", "end", "periodOverride", "variables"}
_METRIC_VIEWS = {"timeSeries", "singleValue", "gauge", "bar", "pie", "table"}
_LOG_VIEWS = {"table", "timeSeries", "bar", "pie"}
_RENDERING = {"accountId", "color", "expression", "id", "label", "period", "region"}
_RENDERING |= {"stat", "visible", "yAxis"}


def validate_body(body: Any) -> list[str]:
    """What breaks the documented dashboard body structure; empty when nothing does."""
    problems: list[str] = []
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        return ["the body is a JSON object with a widgets array (required, may be empty)"]
    problems += [f"unknown body key {k}" for k in body if k not in _BODY_KEYS]
    if len(body["widgets"]) > 500:
        problems.append("a body holds 0 to 500 widgets")
    if body.get("periodOverride", "auto") not in ("auto", "inherit"):
        problems.append("periodOverride is auto or inherit")
    for index, widget in enumerate(body["widgets"]):
        problems += [f"widget {index}: {p}" for p in _widget_problems(widget)]
    return problems


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _widget_problems(widget: Any) -> list[str]:
    if not isinstance(widget, dict):
        return ["a widget is an object"]
    problems: list[str] = []
    if widget.get("type") not in _WIDGET_TYPES:
        problems.append(f"type is one of {sorted(_WIDGET_TYPES)} (required)")
    ranges = {"x": (0, 23), "y": (0, None), "width": (1, 24), "height": (1, 1000)}
    for key, (low, high) in ranges.items():
        if key not in widget:
            continue  # optional: CloudWatch places the widget
        value = widget[key]
        if not _is_int(value) or value < low or (high is not None and value > high):
            problems.append(f"{key} is an integer in {low}..{high or 'any'}")
    x, width = widget.get("x"), widget.get("width")
    if isinstance(x, int) and isinstance(width, int) and x + width > 24:
        problems.append("the widget fits the 24-column grid")
    properties = widget.get("properties")
    if not isinstance(properties, dict):
        return [*problems, "properties is an object (required)"]
    check = {"metric": _metric_problems, "log": _log_problems, "text": _text_problems}
    return problems + check.get(widget.get("type", ""), lambda _: [])(properties)


def _common(properties: dict[str, Any]) -> list[str]:
    problems = []
    if "title" in properties and not isinstance(properties["title"], str):
        problems.append("title is a string")
    if "stacked" in properties and not isinstance(properties["stacked"], bool):
        problems.append("stacked is a boolean")
    return problems


def _metric_problems(properties: dict[str, Any]) -> list[str]:
    problems = _common(properties)
    if not isinstance(properties.get("region"), str):
        problems.append("a metric widget names its region (required)")
    if properties.get("view", "timeSeries") not in _METRIC_VIEWS:
        problems.append(f"view is one of {sorted(_METRIC_VIEWS)}")
    period = properties.get("period", 300)
    if not _is_int(period) or not (period in (1, 5, 10, 30) or period % 60 == 0):
        problems.append("period is 1, 5, 10, 30 or a multiple of 60 seconds")
    if "stat" in properties and not isinstance(properties["stat"], str):
        problems.append("stat is a string")
    metrics = properties.get("metrics")
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= 500:
        return [*problems, "metrics is an array of metric arrays (1 to 500)"]
    for line in metrics:
        problems += [f"metric {line!r}: {p}" for p in _metric_array_problems(line)]
    return problems


def _metric_array_problems(line: Any) -> list[str]:
    """``[Namespace, MetricName, DimName, DimValue, ..., {rendering}]`` or ``[{expression}]``."""
    if not isinstance(line, list) or not line:
        return ["each metric is a non-empty array"]
    rendering = line[-1] if isinstance(line[-1], dict) else None
    strings = line[:-1] if rendering is not None else line
    problems = []
    if rendering is not None:
        problems += [f"unknown rendering property {k}" for k in rendering if k not in _RENDERING]
        if "expression" in rendering:
            return problems + ([] if not strings else ["an expression array holds only its object"])
    if not all(isinstance(s, str) and s for s in strings):
        problems.append("namespace, metric name and dimensions are non-empty strings")
    if len(strings) < 2 or len(strings) % 2:
        problems.append("namespace and metric name, then dimension name/value pairs")
    if len(strings) > 2 + 2 * 30:
        problems.append("at most 30 dimensions")
    return problems


def _log_problems(properties: dict[str, Any]) -> list[str]:
    problems = _common(properties)
    query = properties.get("query")
    if not isinstance(query, str) or not query.strip():
        problems.append("a log widget has a query (required)")
    elif not re.match(r"SOURCE '[^']+'( \| SOURCE '[^']+')* \| ", query):
        problems.append("the query starts with SOURCE '<log group>' | ...")
    if not isinstance(properties.get("region"), str):
        problems.append("a log widget names its region (required)")
    if properties.get("view", "table") not in _LOG_VIEWS:
        problems.append(f"view is one of {sorted(_LOG_VIEWS)}")
    return problems


def _text_problems(properties: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(properties.get("markdown"), str):
        problems.append("a text widget has markdown (required)")
    if properties.get("background", "solid") not in ("solid", "transparent"):
        problems.append("background is solid or transparent")
    return problems


def test_the_body_follows_the_documented_structure(orders: dict[str, Any]) -> None:
    body = resolved_body(orders["Resources"]["LambdaopsDashboard"], SAMPLE)
    assert validate_body(body) == []


def test_the_gizmos_body_follows_the_documented_structure() -> None:
    from cfnlint.decode import decode

    decoded, matches = decode(str(GIZMOS_TEMPLATE))
    assert not matches and decoded is not None
    assert validate_body(resolved_body(decoded["Resources"]["LambdaopsDashboard"], SAMPLE)) == []


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ({}, "widgets array"),
        ({"widgets": [{"type": "graph", "properties": {}}]}, "type is one of"),
        ({"widgets": [{"type": "text", "properties": {}}]}, "markdown"),
        (
            {"widgets": [{"type": "text", "x": 20, "width": 6, "properties": {"markdown": ""}}]},
            "grid",
        ),
        (
            {
                "widgets": [
                    {"type": "log", "properties": {"query": "fields @message", "region": "r"}}
                ]
            },
            "SOURCE",
        ),
        ({"widgets": [{"type": "log", "properties": {"query": "SOURCE 'g' | x"}}]}, "region"),
        (
            {"widgets": [{"type": "metric", "properties": {"region": "r", "metrics": [["N"]]}}]},
            "name/value",
        ),
        (
            {
                "widgets": [
                    {"type": "metric", "properties": {"region": "r", "metrics": [["N", "M", "d"]]}}
                ]
            },
            "name/value",
        ),
        (
            {"widgets": [{"type": "metric", "properties": {"region": "r", "metrics": "N"}}]},
            "array of metric",
        ),
        (
            {
                "widgets": [
                    {
                        "type": "metric",
                        "properties": {"region": "r", "metrics": [["N", "M", {"colour": 1}]]},
                    }
                ]
            },
            "rendering",
        ),
        (
            {
                "widgets": [
                    {
                        "type": "metric",
                        "properties": {"region": "r", "period": 90, "metrics": [["N", "M"]]},
                    }
                ]
            },
            "period",
        ),
        (
            {
                "widgets": [
                    {
                        "type": "metric",
                        "height": 0,
                        "properties": {"region": "r", "metrics": [["N", "M"]]},
                    }
                ]
            },
            "height",
        ),
    ],
)
def test_the_validator_catches(broken: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in validate_body(broken)), validate_body(broken)


# -- the alarms ----------------------------------------------------------------------------


def test_burn_rate_thresholds_for_99_9(orders: dict[str, Any]) -> None:
    resources = orders["Resources"]
    windows = {
        name: (r["Properties"]["Threshold"], r["Properties"]["Metrics"][0]["MetricStat"]["Period"])
        for name, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and "Burn" in name
    }
    # error budget 0.1%: 14.4 x 0.001 = 1.44% over 1 h and 5 min,
    # 6 x 0.001 = 0.6% over 6 h and 30 min
    assert windows == {
        "LambdaopsFastBurnLong": (0.0144, 3600),
        "LambdaopsFastBurnShort": (0.0144, 300),
        "LambdaopsSlowBurnLong": (0.006, 21600),
        "LambdaopsSlowBurnShort": (0.006, 1800),
    }
    rules = {
        name: r["Properties"]["AlarmRule"]["Fn::Sub"]
        for name, r in resources.items()
        if r["Type"] == "AWS::CloudWatch::CompositeAlarm"
    }
    assert rules == {
        f"Lambdaops{rule}Burn": f'ALARM("${{Lambdaops{rule}BurnLong}}")'
        f' AND ALARM("${{Lambdaops{rule}BurnShort}}")'
        for rule in ("Fast", "Slow")
    }
    assert rules["LambdaopsFastBurn"].startswith('ALARM("${LambdaopsFastBurnLong}") AND ')


def test_threshold_arithmetic_is_exact() -> None:
    fast, slow = alarms.RULES
    assert alarms.error_budget(Decimal("99.9")) == Decimal("0.001")
    assert alarms.threshold(Decimal("99.9"), fast) == 0.0144
    assert alarms.threshold(Decimal("99.95"), fast) == 0.0072
    assert alarms.threshold(Decimal("99.95"), slow) == 0.003
    assert alarms.threshold(Decimal("99"), slow) == 0.06
    assert alarms.lowest_objective() == Decimal("100") - Decimal("100") / Decimal("14.4")


def test_the_error_rate_is_the_availability_query_as_metric_math(orders: dict[str, Any]) -> None:
    props = orders["Resources"]["LambdaopsFastBurnShort"]["Properties"]
    math = {q["Id"]: q.get("Expression") for q in props["Metrics"] if "Expression" in q}
    assert math == {
        "platform": "FILL(invocations, 0)",
        "own": "FILL(records, 0) - FILL(late, 0)",
        "attempts": "MAX([platform, own])",
        "error_rate": "IF(attempts > 0, 1 - FILL(ok, 0) / attempts, 0)",
    }
    assert [q["Id"] for q in props["Metrics"] if q["ReturnData"]] == ["error_rate"]
    assert (props["ComparisonOperator"], props["TreatMissingData"]) == (
        "GreaterThanThreshold",
        "notBreaching",
    )
    filters = {
        r["Properties"]["MetricTransformations"][0]["MetricName"]: r["Properties"]["FilterPattern"]
        for r in orders["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
    }
    assert filters == alarms.FILTERS


def test_the_zero_alarm_sums_the_coarsest_dimension_set(orders: dict[str, Any]) -> None:
    props = orders["Resources"]["LambdaopsOrdersPlacedZero"]["Properties"]
    assert [q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q] == [
        {
            "Namespace": "Shop",
            "MetricName": "OrdersPlaced",
            "Dimensions": [{"Name": "service", "Value": "orders"}],
        }
    ]
    assert (props["ComparisonOperator"], props["Threshold"], props["TreatMissingData"]) == (
        "LessThanOrEqualToThreshold",
        0,
        "breaching",
    )


@pytest.mark.parametrize("slo", ["93", "100", "abc", "nan"])
def test_an_objective_no_alarm_can_reach_is_refused(
    slo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", "--from", str(TWO_METRICS), "--slo", slo]) == 2
    assert f"--slo {slo}:" in capsys.readouterr().err


def test_an_unknown_zero_alarm_metric_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dashboard", "--from", str(GIZMOS_LOG), "--zero-alarm", "Gizmos"])
    assert code == 2
    assert "no such metric (it has GizmosProcessed)" in capsys.readouterr().err


def test_a_log_without_a_function_needs_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "bare.log"
    log.write_text("START RequestId: r Version: $LATEST\nEND RequestId: r\n")
    assert main(["dashboard", "--from", str(log)]) == 2
    assert "pass --function NAME" in capsys.readouterr().err
    assert (
        main(
            [
                "dashboard",
                "--from",
                str(log),
                "--function",
                "f",
                "--output",
                str(tmp_path / "t.yaml"),
            ]
        )
        == 0
    )
    assert "no lambdaops outcome records" in capsys.readouterr().err


# -- the template --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--function", "orders", "--zero-alarm", "OrdersPlaced", "--zero-alarm", "CheckoutLatency"],
        ["--slo", "99.99"],
        [
            "--slo",
            "99.5",
            "--target-function",
            "${AWS::StackName}-orders",
            "--target-log-group",
            "/aws/lambda/${AWS::StackName}-orders",
        ],
    ],
)
def test_cfn_lint_passes_on_the_output(args: list[str], tmp_path: Path) -> None:
    path, _ = generate(tmp_path, *args)
    lint = subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_yaml_is_the_template(tmp_path: Path) -> None:
    found = discover(lines(TWO_METRICS))
    document = template.build(found, template.Options(zero_alarms=("OrdersPlaced",)))
    assert yaml.safe_load(emit.dump(document)) == document
    odd = {
        "a": "two\nlines",
        "b": " edge\nspace ",
        "c": 6e-05,
        "d": [],
        "e": {},
        "f": [[1], {"g": None}],
    }
    assert yaml.safe_load(emit.dump(odd)) == odd


def test_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--from", str(GIZMOS_LOG)]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["Parameters"]["FunctionName"]["Default"] == "gizmos"
    assert document["Parameters"]["LogGroupName"]["Default"] == "/aws/lambda/gizmos"


def test_the_gizmos_template_holds_what_the_command_writes(tmp_path: Path) -> None:
    """examples/gizmos/template.yaml: regenerate with the command in its Resources comment."""
    from cfnlint.decode import decode

    _, generated = generate(
        tmp_path, "--zero-alarm", "GizmosProcessed", *GIZMOS_TARGET, log=GIZMOS_LOG
    )
    decoded, matches = decode(str(GIZMOS_TEMPLATE))
    assert not matches and decoded is not None
    for section in ("Parameters", "Conditions", "Resources", "Outputs"):
        for name, value in generated[section].items():
            assert decoded[section].get(name) == value, f"{section}.{name} differs"
    assert "GizmosFunction" in decoded["Resources"]  # merged into the function's template


def test_import_lambdaops_does_not_import_the_dashboard() -> None:
    probe = (
        "import sys, lambdaops.cli; lambdaops.cli.build_parser();"
        " print(sorted(m for m in sys.modules if 'dash' in m or 'insights' in m))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # the parser adds the subcommand only; discovery, widgets and alarms load when it runs
    assert out.stdout.strip() == "['lambdaops.dashboard', 'lambdaops.dashboard.cli']"
    bare = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, lambdaops; print([m for m in sys.modules if 'dashboard' in m])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "[]"
