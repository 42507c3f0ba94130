"""The packaged template wires the insights consumer and schedules to their queue and rates."""

from __future__ import annotations

from typing import Any

import pytest

from functions import resources
from tests.infra.conftest import PackagedApp, referenced_logical_id, resources_of_type

pytestmark = pytest.mark.package


def function(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources_of_type(template, "AWS::Serverless::Function")[logical_id]["Properties"]


def test_insights_consumer_reads_insights_queue(packaged: PackagedApp) -> None:
    properties = function(packaged.template, "HandleInsights")
    [event] = [event for event in properties["Events"].values() if event["Type"] == "SQS"]
    queue_id = referenced_logical_id(event["Properties"]["Queue"])

    assert properties["Handler"] == "app.handle_insights"
    assert packaged.template["Resources"][queue_id]["Properties"]["QueueName"] == resources.INSIGHTS_QUEUE_NAME
    assert event["Properties"]["BatchSize"] == resources.INSIGHTS_BATCH_SIZE
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize(
    ("logical_id", "rate"),
    [
        ("RequestNpsSurveys", f"rate({resources.NPS_SURVEY_SCHEDULE_HOURS} hours)"),
        ("PublishKpiMetrics", f"rate({resources.KPI_METRICS_SCHEDULE_MINUTES} minutes)"),
    ],
)
def test_insight_schedules_match_resources_module(packaged: PackagedApp, logical_id: str, rate: str) -> None:
    properties = function(packaged.template, logical_id)
    [schedule] = [event["Properties"]["Schedule"] for event in properties["Events"].values() if event["Type"] == "Schedule"]

    assert schedule == rate
    assert properties["Environment"]["Variables"]["INSIGHTS_QUEUE_URL"] == {"Ref": "InsightsQueue"}


def test_rules_send_events_to_insights_queue(packaged: PackagedApp) -> None:
    rules = resources_of_type(packaged.template, "AWS::Events::Rule")
    targets = {
        rule["Properties"]["Name"]: referenced_logical_id(rule["Properties"]["Targets"][0]["Arn"])
        for rule in rules.values()
        if rule["Properties"]["Name"].startswith("servicedesk-insights-")
    }

    assert targets == {
        "servicedesk-insights-tickets": "InsightsQueue",
        "servicedesk-insights-known-problems": "InsightsQueue",
        "servicedesk-insights-monitoring": "InsightsQueue",
    }


def test_dashboard_and_alarms_are_packaged(packaged: PackagedApp) -> None:
    assert "KpiDashboard" in resources_of_type(packaged.template, "AWS::CloudWatch::Dashboard")
    assert {"BacklogAlarm", "SlaComplianceAlarm", "CsatAlarm", "EscalationRateAlarm"} <= set(
        resources_of_type(packaged.template, "AWS::CloudWatch::Alarm")
    )
