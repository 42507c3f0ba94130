"""The KPI dashboard and alarms: cfn-lint clean when merged over the resources, and charting
only metrics that the functions emit."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from functions.kpi_metrics import KPI_NAMESPACE
from infra import package

PROJECT_DIR = Path(__file__).resolve().parents[2]
DASHBOARD = PROJECT_DIR / "infra" / "dashboard.yaml"
REGIONS = ["ap-northeast-2", "us-east-1"]
# Files whose (name, unit, value) tuples are the KPI metrics the functions emit.
EMITTING_FILES = ("functions/domain/insights.py", "functions/domain/insight_processor.py", "functions/jobs/insights.py")
REQUIRED_ALARMS = {"BacklogAlarm", "SlaComplianceAlarm", "CsatAlarm", "EscalationRateAlarm"}


def lint_errors(text: str) -> list[str]:
    matches = lint(text, config=ManualArgs(regions=REGIONS))
    return [f"{match.rule.id} line {match.linenumber}: {match.message}" for match in matches]


def merged_template() -> dict[str, Any]:
    return package.combined_merge_template((PROJECT_DIR / "infra" / "resources.yaml", DASHBOARD))


def emitted_metric_names() -> set[str]:
    """Collect the first element of every ("Name", "Unit", value) tuple literal in the emitting files."""
    names: set[str] = set()
    for relative in EMITTING_FILES:
        tree = ast.parse((PROJECT_DIR / relative).read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and len(node.elts) == 3 and isinstance(node.elts[1], ast.Constant):
                if node.elts[1].value in {"Count", "Seconds"}:
                    first = node.elts[0]
                    if isinstance(first, ast.Constant):
                        names.add(first.value)
                    elif isinstance(first, ast.IfExp):
                        names.update(branch.value for branch in (first.body, first.orelse) if isinstance(branch, ast.Constant))
        for match in re.finditer(r'"(Nps(?:Promoters|Passives|Detractors))"', (PROJECT_DIR / relative).read_text("utf-8")):
            names.add(match.group(1))
    return names


def charted_metric_names(template: dict[str, Any]) -> set[str]:
    names = set()
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            if properties.get("Namespace") == KPI_NAMESPACE:
                names.add(properties["MetricName"])
            for query in properties.get("Metrics", []):
                metric = query.get("MetricStat", {}).get("Metric", {})
                if metric.get("Namespace") == KPI_NAMESPACE:
                    names.add(metric["MetricName"])
        if resource["Type"] == "AWS::CloudWatch::Dashboard":
            body = properties["DashboardBody"]["Fn::Sub"][0]
            for widget in json.loads(re.sub(r"\$\{[^}]+\}", "0", body))["widgets"]:
                namespace = None
                for row in widget["properties"]["metrics"]:
                    if isinstance(row[0], str):
                        namespace = row[0] if row[0] != "." else namespace
                        if namespace == KPI_NAMESPACE:
                            names.add(row[1])
    return names


def test_dashboard_merged_over_resources_lints_clean() -> None:
    assert lint_errors(json.dumps(merged_template())) == []


def test_lint_catches_broken_alarm() -> None:
    template = merged_template()
    template["Resources"]["BacklogAlarm"]["Properties"]["Statistic"] = "Mean"

    errors = lint_errors(json.dumps(template))

    assert any(error.startswith("E3030") and "Mean" in error for error in errors), errors


def test_required_alarms_exist() -> None:
    alarms = {
        logical_id
        for logical_id, resource in merged_template()["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }

    assert REQUIRED_ALARMS <= alarms


def test_dashboard_body_is_json() -> None:
    body = merged_template()["Resources"]["KpiDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]

    widgets = json.loads(re.sub(r"\$\{[^}]+\}", "0", body))["widgets"]

    assert len(widgets) == 8


def test_charts_use_only_emitted_metrics() -> None:
    charted = charted_metric_names(merged_template())
    emitted = emitted_metric_names()

    assert charted - emitted == set()
    assert {"Backlog", "SlaMet", "SlaMissed", "CsatScore", "TicketsEscalated", "TicketsCreated"} <= charted


def test_package_merges_dashboard() -> None:
    assert DASHBOARD in package.MERGE_TEMPLATES
    assert "KpiDashboard" in package.combined_merge_template()["Resources"]


@pytest.mark.parametrize("name", sorted(REQUIRED_ALARMS))
def test_alarms_notify_topic(name: str) -> None:
    properties = merged_template()["Resources"][name]["Properties"]

    assert properties["AlarmActions"] == [{"Ref": "KpiAlarmTopic"}]


def test_dashboard_deploys_on_moto(moto_environment: dict[str, str]) -> None:
    import boto3
    from moto import mock_aws

    template = json.dumps(merged_template())
    with mock_aws():
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(StackName="servicedesk-dashboard", TemplateBody=template)
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName="servicedesk-dashboard", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        body = json.loads(boto3.client("cloudwatch").get_dashboard(DashboardName="servicedesk-kpis")["DashboardBody"])
        topics = [topic["TopicArn"] for topic in boto3.client("sns").list_topics()["Topics"]]

    # NOTE: moto 5.2's CloudFormation skips AWS::CloudWatch::Alarm, so only the dashboard and
    # the topic are created here; the alarms are checked by cfn-lint and the tests above.
    assert len(body["widgets"]) == 8
    assert "ap-northeast-2" in json.dumps(body)
    assert "servicedesk-insights-dlq" in json.dumps(body)
    assert any(arn.endswith(":servicedesk-kpi-alarms") for arn in topics)
