"""Approvals end to end on moto: a person decides, a timeout escalates to the manager and then
expires, delegation, the policy's automatic decisions and their overrule, and route roles."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from functions.domain.workflows.approvals import Person
from tests.conftest import Api
from tests.integration.test_workflows_onboarding import (  # noqa: F401
    answer_training,
    decisions_model_dir,
    harness,
    use_timeouts,
    workflow_id_of,
)
from tests.integration.workflow_harness import MAX_STATE_PAYLOAD_BYTES, WorkflowHarness


def approval_id_of(workflow_id: str) -> str:
    return f"ap-{workflow_id[7:]}"


def wait_for_pending(harness: WorkflowHarness, approval_id: str, assignee_id: str) -> dict:
    from functions import workflow_wiring

    def pending() -> object:
        repository = workflow_wiring.workflow_repository()
        try:
            approval = repository.get_approval(harness.tenant_id, approval_id)
        except Exception:  # noqa: BLE001 - not created yet
            return None
        return approval if approval.status.value == "pending" and approval.assignee_id == assignee_id and approval.automated else None

    return harness.run_until(pending, what=f"approval {approval_id} to wait for {assignee_id}")


def test_person_rejects_privileged_access(harness: WorkflowHarness, client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough that the approval does not escalate before the manager decides.
    use_timeouts(monkeypatch, approval_seconds=60)
    harness.hire("fin-100", role="finance-analyst", department="finance")
    workflow_id = workflow_id_of(harness, "fin-100")
    approval_id = approval_id_of(workflow_id)
    approval = wait_for_pending(harness, approval_id, "manager-1")
    assert approval.automated.outcome.value == "human"
    assert approval.automated.rule == "human.risk_not_low"
    assert approval.automated.risk == "high"
    manager = Api(client, harness.tenant_id, user_id="manager-1", role="requester")

    listed = manager.call("get", "/approvals?assignee=manager-1")
    assert listed.status_code == 200, listed.body
    assert [item["approval_id"] for item in listed.json["items"]] == [approval_id]
    decided = manager.call("post", f"/approvals/{approval_id}/decision", {"decision": "reject", "comment": "급여 관리자 권한은 불필요"})
    assert decided.status_code == 200, decided.body
    answer_training(harness, workflow_id)

    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    workflow = harness.workflow(workflow_id)
    assert "payroll:admin" not in workflow.outputs["granted_access"]
    assert decided.json["status"] == "rejected"
    assert decided.json["decided_by"] == "manager-1"
    assert manager.call("get", "/approvals?assignee=manager-1").json["items"] == []
    again = manager.call("post", f"/approvals/{approval_id}/decision", {"decision": "approve"})
    assert again.status_code == 409
    assert again.json["code"] == "approval_closed"
    retried = manager.call("post", f"/approvals/{approval_id}/decision", {"decision": "reject", "comment": "급여 관리자 권한은 불필요"})
    assert retried.status_code == 200, retried.body
    assert retried.json["version"] == decided.json["version"]
    assert retried.json["status"] == "rejected"
    approval_execution = harness.sfn.describe_execution(
        executionArn=harness.outputs["ApprovalStateMachineArn"].replace(":stateMachine:", ":execution:") + f":{approval_id}"
    )
    assert approval_execution["status"] == "SUCCEEDED"
    assert harness.largest_state_payload(approval_execution["executionArn"]) < MAX_STATE_PAYLOAD_BYTES
    published = harness.event_types(workflow_id)
    assert "ApprovalRequested" in published
    assert "ApprovalDecided" in published



def test_cancel_closes_pending_approval(harness: WorkflowHarness, client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    use_timeouts(monkeypatch, approval_seconds=60)
    harness.hire("fin-900", role="finance-analyst", department="finance")
    workflow_id = workflow_id_of(harness, "fin-900")
    approval_id = approval_id_of(workflow_id)
    wait_for_pending(harness, approval_id, "manager-1")
    supervisor = Api(client, harness.tenant_id, user_id="supervisor-1", role="supervisor")
    manager = Api(client, harness.tenant_id, user_id="manager-1", role="requester")

    cancelled = supervisor.call("post", f"/workflows/{workflow_id}/cancel")

    assert cancelled.status_code == 200, cancelled.body
    assert manager.call("get", "/approvals?assignee=manager-1").json["items"] == []
    late = manager.call("post", f"/approvals/{approval_id}/decision", {"decision": "approve"})
    assert late.status_code == 409
    assert late.json["code"] == "approval_closed"

def test_unanswered_approval_escalates_then_expires(harness: WorkflowHarness) -> None:
    from functions import workflow_wiring

    harness.hire("fin-200", role="finance-analyst", department="finance")
    workflow_id = workflow_id_of(harness, "fin-200")
    approval_id = approval_id_of(workflow_id)
    wait_for_pending(harness, approval_id, "manager-1")

    escalated = wait_for_pending(harness, approval_id, "director-1")
    assert escalated.escalation_level == 1
    answer_training(harness, workflow_id)

    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    approval = workflow_wiring.workflow_repository().get_approval(harness.tenant_id, approval_id)
    assert approval.status.value == "expired"
    assert approval.decided_by == "expiry"
    assert [entry["action"] for entry in approval.history] == ["opened", "escalated"]
    workflow = harness.workflow(workflow_id)
    assert "payroll:admin" not in workflow.outputs["granted_access"]
    privileged_step = next(entry for entry in workflow.history if entry.step == "grant_privileged_access")
    assert privileged_step.detail["approval_status"] == "expired"


def test_away_approver_delegates(harness: WorkflowHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    use_timeouts(monkeypatch, approval_seconds=60)
    away = Person(user_id="manager-2", manager_id="director-1", away_until=date.today() + timedelta(days=5), delegate_id="deputy-2")
    harness.seed({}, [away, Person(user_id="deputy-2", manager_id="director-1")], templates=())
    harness.hire("fin-300", role="finance-analyst", department="finance", manager_id="manager-2")
    approval_id = approval_id_of(workflow_id_of(harness, "fin-300"))

    approval = wait_for_pending(harness, approval_id, "deputy-2")

    assert approval.original_approver_id == "manager-2"
    assert approval.history[0]["delegated_from"] == ["manager-2"]


def test_contractor_payroll_rejected_by_policy(harness: WorkflowHarness) -> None:
    from functions import workflow_wiring

    harness.hire("con-100", role="finance-analyst", department="finance", employee_type="contractor")
    workflow_id = workflow_id_of(harness, "con-100")
    answer_training(harness, workflow_id)

    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    approval = workflow_wiring.workflow_repository().get_approval(harness.tenant_id, approval_id_of(workflow_id))
    assert approval.status.value == "rejected"
    assert approval.decided_by == "decision-policy"
    assert approval.automated.rule == "violation.contractor_restricted_system"
    assert approval.automated.reason_ko == "외부 계약자는 payroll에 접근할 수 없습니다."


def test_cancelled_workflow_overrule_conflicts(harness: WorkflowHarness, client: object) -> None:
    from functions import workflow_wiring

    harness.hire("con-300", role="finance-analyst", department="finance", employee_type="contractor")
    workflow_id = workflow_id_of(harness, "con-300")
    approval_id = approval_id_of(workflow_id)
    repository = workflow_wiring.workflow_repository()

    def decided_by_policy() -> object:
        try:
            approval = repository.get_approval(harness.tenant_id, approval_id)
        except Exception:  # noqa: BLE001 - not created yet
            return None
        return approval if approval.decided_by == "decision-policy" else None

    harness.run_until(decided_by_policy, what="the policy's decision")
    harness.waiting_step(workflow_id, "enrol_training")
    supervisor = Api(client, harness.tenant_id, user_id="supervisor-1", role="supervisor")
    assert supervisor.call("post", f"/workflows/{workflow_id}/cancel").status_code == 200

    overruled = supervisor.call(
        "post", f"/approvals/{approval_id}/decision", {"decision": "approve"}, headers={"Accept-Language": "ko"}
    )

    assert overruled.status_code == 409, overruled.body
    assert overruled.json["code"] == "approval_workflow_ended"
    assert overruled.json["details"]["status"] == "cancelled"
    assert "온보딩을 새로 시작" in overruled.json["message"]
    assert "payroll" not in [grant.system for grant in repository.list_grants(harness.tenant_id, workflow_id)]
    assert repository.get_approval(harness.tenant_id, approval_id).status.value == "rejected"


def test_overrule_racing_cancel_revokes_access(
    harness: WorkflowHarness, client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import workflow_wiring

    harness.hire("con-310", role="finance-analyst", department="finance", employee_type="contractor")
    workflow_id = workflow_id_of(harness, "con-310")
    answer_training(harness, workflow_id)
    assert harness.wait_for_execution(workflow_id) == "SUCCEEDED"
    repository = workflow_wiring.workflow_repository()
    # The first read returns the stored workflow and later reads return it cancelled, as when a cancel ends in between.
    reads = []
    original = repository.get_workflow

    def get_workflow(tenant_id: str, requested_id: str) -> object:
        workflow = original(tenant_id, requested_id)
        reads.append(requested_id)
        return workflow if len(reads) == 1 else workflow.model_copy(update={"status": "cancelled"})

    monkeypatch.setattr(repository, "get_workflow", get_workflow)
    supervisor = Api(client, harness.tenant_id, user_id="supervisor-1", role="supervisor")

    overruled = supervisor.call("post", f"/approvals/{approval_id_of(workflow_id)}/decision", {"decision": "approve"})

    assert overruled.status_code == 200, overruled.body
    assert len(reads) == 2
    assert "payroll" not in [grant.system for grant in repository.list_grants(harness.tenant_id, workflow_id)]


def test_overrule_becomes_training_label(harness: WorkflowHarness, client: object) -> None:
    from functions import workflow_wiring
    from ml.decisions.history import rows_from_recorded

    harness.hire("emp-700")
    workflow_id = workflow_id_of(harness, "emp-700")
    answer_training(harness, workflow_id)
    harness.wait_for_execution(workflow_id)
    approval_id = approval_id_of(workflow_id)
    supervisor = Api(client, harness.tenant_id)

    overruled = supervisor.call("post", f"/approvals/{approval_id}/decision", {"decision": "reject", "comment": "CI admin not needed"})

    assert overruled.status_code == 200, overruled.body
    assert overruled.json["overruled"] is True
    assert overruled.json["status"] == "rejected"
    repository = workflow_wiring.workflow_repository()
    assert "ci" not in [grant.system for grant in repository.list_grants(harness.tenant_id, workflow_id)]
    rows = rows_from_recorded(repository.list_decisions(harness.tenant_id))
    assert [(row["system"], row["approved"], row["overruled"]) for row in rows] == [("ci", False, True)]


@pytest.mark.parametrize(
    ("role", "user_id", "method", "path", "status"),
    [
        ("requester", "requester-9", "post", "/workflows/onboarding", 403),
        ("agent", "agent-9", "post", "/workflows/onboarding", 403),
        ("partner", "partner-hr", "post", "/workflows/onboarding", 403),
        ("agent", "agent-9", "get", "/approvals?assignee=manager-1", 403),
        ("partner", "partner-hr", "get", "/approvals", 403),
        ("requester", "requester-9", "post", "/workflows/wf-onb-00000000000000000000000000000000/cancel", 403),
        ("supervisor", "supervisor-1", "get", "/workflows/wf-onb-00000000000000000000000000000000", 404),
        ("supervisor", "supervisor-1", "get", "/workflows/not-a-workflow", 404),
    ],
)
def test_workflow_routes_check_roles(client: object, tenant: str, role: str, user_id: str, method: str, path: str, status: int) -> None:
    caller = Api(client, tenant, user_id=user_id, role=role)
    body = {
        "employee": {"employee_id": "emp-1", "role": "engineer", "department": "engineering", "manager_id": "manager-1"},
        "requester_id": "manager-1",
    } if method == "post" and path.endswith("onboarding") else None

    response = caller.call(method, path, body)

    assert response.status_code == status, response.body


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/workflows/onboarding"), ("get", "/workflows/wf-onb-00000000000000000000000000000000"),
     ("post", "/workflows/wf-onb-00000000000000000000000000000000/cancel"), ("get", "/approvals"),
     ("post", "/approvals/ap-00000000000000000000000000000000/decision")],
)
def test_workflow_routes_need_token(client: object, method: str, path: str) -> None:
    response = getattr(client.http, method)(path, headers={"Content-Type": "application/json"}, body=b"{}")

    assert response.status_code == 401


def test_decision_by_other_person_forbidden(harness: WorkflowHarness, client: object, monkeypatch: pytest.MonkeyPatch) -> None:
    use_timeouts(monkeypatch, approval_seconds=60)
    harness.hire("fin-800", role="finance-analyst", department="finance")
    approval_id = approval_id_of(workflow_id_of(harness, "fin-800"))
    wait_for_pending(harness, approval_id, "manager-1")
    stranger = Api(client, harness.tenant_id, user_id="manager-9", role="requester")

    response = stranger.call("post", f"/approvals/{approval_id}/decision", {"decision": "approve"})

    assert response.status_code == 403
    assert response.json["details"]["reason"] == "not_assignee"
