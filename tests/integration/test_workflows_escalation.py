"""Escalation workflow end to end on moto. It notifies the senior agents, waits for a pick-up,
then notifies the supervisor, and stops as soon as the ticket is picked up."""

from __future__ import annotations

import json

import boto3
import pytest

from functions.domain.workflows.onboarding import workflow_id_for
from tests.conftest import Api
from tests.integration.test_workflows_onboarding import decisions_model_dir, harness, use_timeouts  # noqa: F401
from tests.integration.workflow_harness import MAX_STATE_PAYLOAD_BYTES, WorkflowHarness


def subscribe_queue(topic_arn: str, name: str) -> str:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return queue_url


def notices(queue_url: str, ticket_id: str) -> list[str]:
    sqs = boto3.client("sqs")
    levels = []
    for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        body = json.loads(message["Body"])
        if body.get("ticket_id") == ticket_id:
            levels.append(body["level"])
    return levels


def escalated_ticket(api: Api, harness: WorkflowHarness) -> tuple[str, str]:
    """Open a ticket that escalates at once; return its id and its escalation workflow's id."""
    ticket = api.create_ticket(title="최악의 서비스", description="I am furious, this is the worst outage")
    assert ticket["escalated"] is True

    def started() -> str | None:
        for event in harness.published:
            detail = event["detail"]
            if event["detail-type"] == "WorkflowStarted" and detail["kind"] == "escalation" and detail["subject_id"] == ticket["ticket_id"]:
                return str(detail["workflow_id"])
        return None

    return ticket["ticket_id"], harness.run_until(started, what="the escalation workflow to start")


def test_pickup_ends_escalation(harness: WorkflowHarness, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough that the senior agent level is still waiting when the ticket is assigned.
    use_timeouts(monkeypatch, escalation_seconds=60)
    notices_url = subscribe_queue(harness.outputs["EscalationTopicArn"], "test-escalation-notices-1")
    ticket_id, workflow_id = escalated_ticket(api, harness)
    harness.run_until(lambda: harness.workflow(workflow_id) and any(
        entry.step == "await_pickup_senior_agent" for entry in harness.workflow(workflow_id).history
    ), what="the escalation to wait for a senior agent")

    response = api.call("patch", f"/tickets/{ticket_id}", {"assignee_id": "senior-1", "version": api.call("get", f"/tickets/{ticket_id}").json["version"]})
    assert response.status_code == 200, response.body

    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    workflow = harness.workflow(workflow_id)
    assert workflow.status.value == "completed"
    assert workflow.history[-1].detail["assignee_id"] == "senior-1"
    assert notices(notices_url, ticket_id) == ["senior_agent"]
    assert harness.largest_state_payload(workflow.execution_arn) < MAX_STATE_PAYLOAD_BYTES
    assert harness.event_types(workflow_id) == ["WorkflowStarted", "WorkflowCompleted"]


def test_unacknowledged_escalation_reaches_supervisor(harness: WorkflowHarness, api: Api) -> None:
    notices_url = subscribe_queue(harness.outputs["EscalationTopicArn"], "test-escalation-notices-2")
    ticket_id, workflow_id = escalated_ticket(api, harness)

    assert harness.wait_for_execution(workflow_id) == "FAILED"

    workflow = harness.workflow(workflow_id)
    assert workflow.status.value == "failed"
    assert [entry.step for entry in workflow.history if entry.step.startswith("await_pickup")] == [
        "await_pickup_senior_agent",
        "await_pickup_supervisor",
    ]
    assert sorted(notices(notices_url, ticket_id)) == ["senior_agent", "supervisor"]
    assert "WorkflowFailed" in harness.event_types(workflow_id)


def test_repeated_escalation_event_starts_once(harness: WorkflowHarness, api: Api) -> None:
    ticket_id, workflow_id = escalated_ticket(api, harness)
    version = harness.workflow(workflow_id).outputs["escalated_version"]
    assert workflow_id == workflow_id_for(harness.tenant_id, "escalation", f"{ticket_id}:{version}")

    harness.put_partner_event(
        "servicedesk.tickets", "TicketEscalated", {"tenant_id": harness.tenant_id, "ticket_id": ticket_id, "version": version}
    )
    for _ in range(5):
        harness.pump()

    assert harness.event_types(workflow_id).count("WorkflowStarted") == 1
