"""Onboarding end to end on moto with state machine execution: hire event to completed
workflow, duplicates, out-of-stock devices, failed steps with compensation, and cancel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.domain.workflows.approvals import Person
from tests.conftest import Api
from tests.integration.workflow_harness import MAX_STATE_PAYLOAD_BYTES, WorkflowHarness

MANAGER = Person(user_id="manager-1", manager_id="director-1")
DIRECTOR = Person(user_id="director-1")


@pytest.fixture(scope="session")
def decisions_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ml.decisions.train import train

    root = tmp_path_factory.mktemp("models")
    train(root / "decisions", [])
    return root


@pytest.fixture
def harness(
    aws: dict[str, str], client: Any, tenant: str, decisions_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkflowHarness]:
    import boto3

    from app import app
    from functions import workflow_wiring

    monkeypatch.setenv("MODEL_ARTIFACTS_DIR", str(decisions_model_dir))
    use_timeouts(monkeypatch)

    sqs = boto3.client("sqs")
    events = boto3.client("events")
    queue_url = sqs.create_queue(QueueName="test-workflow-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="test-workflow-events", EventBusName="servicedesk", EventPattern=json.dumps({"source": ["servicedesk.workflows"]}))
    events.put_targets(Rule="test-workflow-events", EventBusName="servicedesk", Targets=[{"Id": "queue", "Arn": queue_arn}])

    test_harness = WorkflowHarness(app, aws, tenant, queue_url)
    test_harness.seed({"laptop-dev": 2, "laptop-office": 1}, [MANAGER, DIRECTOR])
    yield test_harness
    workflow_wiring.reset()


def use_timeouts(monkeypatch: pytest.MonkeyPatch, approval_seconds: int = 2, escalation_seconds: int = 2) -> None:
    """Set how long approvals and escalation levels wait for a person in the workflows started next."""
    monkeypatch.setenv("APPROVAL_TIMEOUT_SECONDS", str(approval_seconds))
    monkeypatch.setenv("ESCALATION_ACK_TIMEOUT_SECONDS", str(escalation_seconds))
    _reset_workflows()


def _reset_workflows() -> None:
    from functions import workflow_wiring
    from functions.settings import get_settings

    get_settings.cache_clear()
    workflow_wiring.reset()


def answer_training(harness: WorkflowHarness, workflow_id: str, outcome: str = "enrolled") -> str:
    enrolment_id = harness.waiting_step(workflow_id, "enrol_training")["enrolment_id"]
    harness.put_partner_event(
        "partner.lms", "EnrolmentAnswered", {"tenant_id": harness.tenant_id, "enrolment_id": enrolment_id, "outcome": outcome}
    )
    return enrolment_id


def workflow_id_of(harness: WorkflowHarness, employee_id: str) -> str:
    from functions.domain.workflows.onboarding import workflow_id_for

    return workflow_id_for(harness.tenant_id, "onboarding", employee_id)


def test_hire_event_onboards_employee(harness: WorkflowHarness, api: Api) -> None:
    harness.hire("emp-100")
    workflow_id = workflow_id_of(harness, "emp-100")

    answer_training(harness, workflow_id)
    status = harness.wait_for_execution(workflow_id)

    assert status == "SUCCEEDED"
    workflow = harness.workflow(workflow_id)
    assert workflow.status.value == "completed"
    assert workflow.outputs["device_id"].startswith("laptop-dev-")
    assert sorted(workflow.outputs["granted_access"]) == ["ci:admin", "groupware:write", "wiki:read"]
    steps = [entry.step for entry in workflow.history if entry.status.value == "completed"]
    for step in ("start", "grant_access", "reserve_device", "enrol_training", "grant_privileged_access", "complete"):
        assert step in steps

    response = api.call("get", f"/workflows/{workflow_id}")
    assert response.status_code == 200, response.body
    assert response.json["status"] == "completed"
    assert response.json["execution_status"] == "SUCCEEDED"
    assert response.json["current_step"] == "complete"

    ticket = api.call("get", f"/tickets/{workflow.ticket_id}").json
    assert ticket["status"] == "resolved"
    messages = api.call("get", f"/tickets/{workflow.ticket_id}/messages?limit=50").json["items"]
    system_notes = [message["body"] for message in messages if message["author_type"] == "system"]
    assert any("Access granted" in note for note in system_notes)
    assert any("온보딩이 완료되었습니다" in note for note in system_notes)

    published = harness.event_types(workflow_id)
    for detail_type in ("WorkflowStarted", "WorkflowStepCompleted", "TrainingEnrolmentRequested", "ApprovalDecided", "WorkflowCompleted"):
        assert detail_type in published
    assert harness.largest_state_payload(workflow.execution_arn) < MAX_STATE_PAYLOAD_BYTES


def test_low_risk_admin_access_approved_by_policy(harness: WorkflowHarness) -> None:
    from functions import workflow_wiring

    harness.hire("emp-101")
    workflow_id = workflow_id_of(harness, "emp-101")
    answer_training(harness, workflow_id)
    harness.wait_for_execution(workflow_id)

    approval = workflow_wiring.workflow_repository().get_approval(harness.tenant_id, f"ap-{workflow_id[7:]}")
    assert approval.status.value == "approved"
    assert approval.decided_by == "decision-policy"
    assert approval.automated.rule == "auto_approve"
    assert approval.automated.model_version.startswith("decisions-")
    assert approval.automated.score >= 0.9
    assert approval.automated.inputs["system"] == "ci"
    assert "모델 승인 확률" in approval.automated.reason_ko
    recorded = workflow_wiring.workflow_repository().list_decisions(harness.tenant_id)
    assert [decision["approval_id"] for decision in recorded] == [approval.approval_id]


def test_duplicate_hire_event_starts_one_onboarding(harness: WorkflowHarness, api: Api) -> None:
    harness.hire("emp-200")
    harness.hire("emp-200")
    workflow_id = workflow_id_of(harness, "emp-200")

    harness.waiting_step(workflow_id, "enrol_training")
    for _ in range(10):
        harness.pump()

    executions = harness.sfn.list_executions(stateMachineArn=harness.outputs["OnboardingStateMachineArn"])["executions"]
    assert [execution["name"] for execution in executions].count(workflow_id) == 1
    tickets = api.call("get", "/tickets?limit=100").json["items"]
    assert len([ticket for ticket in tickets if ticket["title"].startswith("Onboarding emp-200")]) == 1
    assert harness.event_types(workflow_id).count("WorkflowStarted") == 1


def test_out_of_stock_device_purchased(harness: WorkflowHarness) -> None:
    from functions import workflow_wiring

    harness.hire("emp-300", role="sales-rep", department="sales")
    workflow_id = workflow_id_of(harness, "emp-300")

    purchase_request_id = harness.waiting_step(workflow_id, "request_purchase")["purchase_request_id"]
    assert "PurchaseRequested" in harness.event_types(workflow_id)
    harness.put_partner_event(
        "partner.erp",
        "PurchaseOrderAnswered",
        {"tenant_id": harness.tenant_id, "purchase_request_id": purchase_request_id, "outcome": "delivered", "device_id": "tablet-new-1"},
    )
    answer_training(harness, workflow_id)

    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    assert harness.workflow(workflow_id).outputs["device_id"] == "tablet-new-1"
    devices = workflow_wiring.workflow_repository().list_devices(harness.tenant_id, "tablet-field")
    assert [(device["device_id"], device["status"], device["workflow_id"]) for device in devices] == [
        ("tablet-new-1", "reserved", workflow_id)
    ]


def test_rejected_training_compensates(harness: WorkflowHarness, api: Api) -> None:
    from functions import workflow_wiring

    harness.hire("emp-400")
    workflow_id = workflow_id_of(harness, "emp-400")
    harness.waiting_step(workflow_id, "enrol_training")
    # Let the access and device branches finish before the failure arrives.
    harness.run_until(lambda: harness.workflow(workflow_id).outputs.get("device_id"), what="device reservation")
    harness.run_until(lambda: "ci:admin" in harness.workflow(workflow_id).outputs.get("granted_access", []), what="privileged access")
    device_id = harness.workflow(workflow_id).outputs["device_id"]

    answer_training(harness, workflow_id, outcome="rejected")

    assert harness.wait_for_execution(workflow_id) == "FAILED"
    workflow = harness.workflow(workflow_id)
    assert workflow.status.value == "failed"
    assert "Onboarding.TrainingRejected" in workflow.failure
    repository = workflow_wiring.workflow_repository()
    assert repository.list_grants(harness.tenant_id, workflow_id) == []
    device = next(item for item in repository.list_devices(harness.tenant_id, "laptop-dev") if item["device_id"] == device_id)
    assert device["status"] == "available"
    assert "workflow_id" not in device
    messages = api.call("get", f"/tickets/{workflow.ticket_id}/messages?limit=50").json["items"]
    assert any("TrainingRejected" in message["body"] and "released" in message["body"] for message in messages)
    assert "WorkflowFailed" in harness.event_types(workflow_id)


def test_rejected_purchase_compensates(harness: WorkflowHarness) -> None:
    harness.hire("emp-401", role="sales-rep", department="sales")
    workflow_id = workflow_id_of(harness, "emp-401")
    purchase_request_id = harness.waiting_step(workflow_id, "request_purchase")["purchase_request_id"]

    harness.put_partner_event(
        "partner.erp",
        "PurchaseOrderAnswered",
        {"tenant_id": harness.tenant_id, "purchase_request_id": purchase_request_id, "outcome": "rejected", "reason": "budget frozen"},
    )

    assert harness.wait_for_execution(workflow_id) == "FAILED"
    workflow = harness.workflow(workflow_id)
    assert "budget frozen" in workflow.failure
    assert workflow.outputs["compensated"] == ["revoke_access"]


def test_cancel_stops_and_compensates(harness: WorkflowHarness, api: Api) -> None:
    body = {
        "employee": {"employee_id": "emp-500", "role": "engineer", "department": "engineering", "manager_id": "manager-1"},
        "requester_id": "manager-1",
    }
    response = api.call("post", "/workflows/onboarding", body)
    assert response.status_code == 201, response.body
    workflow_id = response.json["workflow_id"]
    assert api.call("post", "/workflows/onboarding", body).status_code == 200
    harness.waiting_step(workflow_id, "enrol_training")
    harness.run_until(lambda: harness.workflow(workflow_id).outputs.get("device_id"), what="device reservation")

    cancelled = api.call("post", f"/workflows/{workflow_id}/cancel")

    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json["status"] == "cancelled"
    execution_arn = cancelled.json["execution_arn"]
    # NOTE: AWS ends a stopped execution as ABORTED at once. moto 5.2 keeps it running until its
    # waiting tasks get a response; the cancel fails them with Workflow.Cancelled, so moto ends it FAILED.
    ended = harness.run_until(
        lambda: harness.execution_status(execution_arn) in ("ABORTED", "FAILED"), 15, "the execution to stop"
    )
    assert ended
    assert harness.workflow(workflow_id).status.value == "cancelled"
    assert "release_device" in cancelled.json["outputs"]["compensated"]
    again = api.call("post", f"/workflows/{workflow_id}/cancel", headers={"Accept-Language": "ko"})
    assert again.status_code == 409
    assert again.json["code"] == "workflow_not_running"
    assert "취소할 수 없습니다" in again.json["message"]



def test_racing_cancels_compensate_once(
    harness: WorkflowHarness, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import workflow_wiring
    from functions.domain.errors import WorkflowNotRunningError

    body = {
        "employee": {"employee_id": "emp-510", "role": "engineer", "department": "engineering", "manager_id": "manager-1"},
        "requester_id": "manager-1",
    }
    workflow_id = api.call("post", "/workflows/onboarding", body).json["workflow_id"]
    harness.waiting_step(workflow_id, "enrol_training")
    harness.run_until(lambda: harness.workflow(workflow_id).outputs.get("device_id"), what="device reservation")
    # Both requests read the workflow while it was running, as two cancels at once do.
    running = harness.workflow(workflow_id)
    service = workflow_wiring.onboarding_service()
    reference = {"tenant_id": running.tenant_id, "workflow_id": workflow_id, "ticket_id": running.ticket_id}

    monkeypatch.setattr(service, "_workflow", lambda workflow_ref: running)

    service.compensate(reference, None, cancelled=True)
    with pytest.raises(WorkflowNotRunningError):
        service.compensate(reference, None, cancelled=True)

    assert harness.workflow(workflow_id).status.value == "cancelled"
    history = harness.workflow(workflow_id).history
    assert [step.step for step in history].count("compensate") == 1

def test_unknown_role_rejected(harness: WorkflowHarness, api: Api) -> None:
    body = {
        "employee": {"employee_id": "emp-600", "role": "astronaut", "department": "space", "manager_id": "manager-1"},
        "requester_id": "manager-1",
    }
    response = api.call("post", "/workflows/onboarding", body)

    assert response.status_code == 400
    assert response.json["details"]["field"] == "employee.role"


def test_requester_reads_own_onboarding(harness: WorkflowHarness, client: Any) -> None:
    harness.hire("emp-700", manager_id="manager-1")
    workflow_id = workflow_id_of(harness, "emp-700")
    harness.waiting_step(workflow_id, "enrol_training")
    path = f"/workflows/{workflow_id}"

    own = Api(client, harness.tenant_id, user_id="manager-1", role="requester").call("get", path)
    other = Api(client, harness.tenant_id, user_id="manager-9", role="requester").call("get", path)
    agent = Api(client, harness.tenant_id, user_id="agent-1", role="agent", queues=("general",)).call("get", path)

    assert own.status_code == 200, own.body
    assert own.json["execution_status"] == "RUNNING"
    assert other.status_code == 404
    assert agent.status_code == 200
