"""The workflow queue consumers report exactly the messages that failed, so only those return."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.test_workflows_onboarding import decisions_model_dir, harness  # noqa: F401
from tests.integration.workflow_harness import WorkflowHarness

QUEUE_ARN = "arn:aws:sqs:ap-northeast-2:123456789012:servicedesk-workflow-worker"


def batch(*bodies: str) -> dict[str, Any]:
    from infra.local.lambda_runtime import sqs_event

    messages = [{"MessageId": f"m-{index}", "ReceiptHandle": f"r-{index}", "Body": body} for index, body in enumerate(bodies)]
    return sqs_event(QUEUE_ARN, messages)


def failed_ids(result: dict[str, Any]) -> list[str]:
    return sorted(failure["itemIdentifier"] for failure in result["batchItemFailures"])


def envelope(tenant_id: str, source: str, detail_type: str, detail: dict[str, Any]) -> str:
    return json.dumps({"version": "0", "id": "e-1", "source": source, "detail-type": detail_type, "detail": {"tenant_id": tenant_id, **detail}})


def test_worker_reports_unreadable_messages(harness: WorkflowHarness) -> None:
    from infra.local.lambda_runtime import invoke

    missing_workflow = json.dumps(
        {"step": "grant_access", "task_token": "token-of-nothing", "workflow": {"tenant_id": harness.tenant_id, "workflow_id": "wf-onb-missing"}}
    )
    unknown_field = json.dumps({"step": "grant_access", "extra": 1})
    notice_without_reference = json.dumps({"step": "escalation_unacknowledged"})

    result = invoke(harness.app, "handle_workflow_tasks", batch("not json", unknown_field, notice_without_reference, missing_workflow))

    # The missing workflow is reported to Step Functions with SendTaskFailure. moto rejects the
    # unknown token, which the engine counts as a task that no longer waits, so that message succeeds.
    assert failed_ids(result) == ["m-0", "m-1", "m-2"]


def test_partner_consumer_reports_invalid_events(harness: WorkflowHarness) -> None:
    from infra.local.lambda_runtime import invoke

    valid_unknown = envelope(harness.tenant_id, "partner.lms", "EnrolmentAnswered", {"enrolment_id": "en-unknown", "outcome": "enrolled"})
    wrong_type = envelope(harness.tenant_id, "partner.lms", "SomethingElse", {})
    missing_device = envelope(harness.tenant_id, "partner.erp", "PurchaseOrderAnswered", {"purchase_request_id": "pr-1", "outcome": "delivered"})
    bad_employee = envelope(harness.tenant_id, "partner.hr", "EmployeeHired", {"hire_id": "h-1", "employee": {"employee_id": "e 1"}})

    result = invoke(harness.app, "handle_partner_events", batch(valid_unknown, wrong_type, missing_device, bad_employee, "[]"))

    assert failed_ids(result) == ["m-1", "m-2", "m-3", "m-4"]


def test_escalations_consumer_ignores_unrelated_changes(harness: WorkflowHarness) -> None:
    from infra.local.lambda_runtime import invoke

    update = envelope(harness.tenant_id, "servicedesk.tickets", "TicketUpdated", {"ticket_id": "t-1", "changes": {"assignee_id": {"old": None, "new": "a-1"}}})
    result = invoke(harness.app, "handle_escalations", batch(update, "{}"))

    assert failed_ids(result) == ["m-1"]


def test_hire_for_unknown_role_fails_with_log(harness: WorkflowHarness, caplog: Any) -> None:
    import logging

    from infra.local.lambda_runtime import invoke

    employee = {"employee_id": "emp-r1", "role": "astronaut", "department": "space", "manager_id": "kim.manager"}
    hire = envelope(harness.tenant_id, "partner.hr", "EmployeeHired", {"hire_id": "h-astro", "employee": employee})
    unrelated = envelope(harness.tenant_id, "partner.lms", "EnrolmentAnswered", {"enrolment_id": "en-none", "outcome": "enrolled"})

    with caplog.at_level(logging.ERROR, logger="servicedesk"):
        result = invoke(harness.app, "handle_partner_events", batch(hire, unrelated))

    assert failed_ids(result) == ["m-0"]
    errors = [record for record in caplog.records if record.getMessage() == "hire event cannot start an onboarding"]
    assert len(errors) == 1
    assert errors[0].sqs_message_id == "m-0"
    assert errors[0].tenant_id == harness.tenant_id
