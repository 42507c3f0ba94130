"""Drives the workflows end to end on moto: seeds a tenant, publishes partner events, and
delivers the queues to the app's consumers with the local stack's poller until a condition holds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3

from functions.domain.workflows.approvals import Person
from functions.domain.workflows.onboarding import RoleTemplate, SystemAccess
from infra.local.pollers import QueuePoller

ENGINEER = RoleTemplate(
    role="engineer",
    access=(SystemAccess("groupware", "write"), SystemAccess("wiki", "read"), SystemAccess("ci", "admin")),
    device_model="laptop-dev",
    training_courses=("security-basics", "dev-onboarding"),
)
FINANCE = RoleTemplate(
    role="finance-analyst",
    access=(SystemAccess("groupware", "write"), SystemAccess("erp", "read"), SystemAccess("payroll", "admin")),
    device_model="laptop-office",
    training_courses=("security-basics", "finance-controls"),
)
SALES = RoleTemplate(
    role="sales-rep",
    access=(SystemAccess("groupware", "write"), SystemAccess("crm", "write")),
    device_model="tablet-field",
    training_courses=("security-basics",),
)
CONSUMERS = {
    "WorkflowWorkerQueueUrl": "handle_workflow_tasks",
    "PartnerEventsQueueUrl": "handle_partner_events",
    "EscalationsQueueUrl": "handle_escalations",
}
# Largest state input or output that the tests accept: Step Functions allows 256 KiB.
MAX_STATE_PAYLOAD_BYTES = 8 * 1024


class WorkflowHarness:
    def __init__(self, app: Any, outputs: dict[str, str], tenant_id: str, events_queue_url: str) -> None:
        self.app = app
        self.outputs = outputs
        self.tenant_id = tenant_id
        self.events_queue_url = events_queue_url
        self.sqs = boto3.client("sqs")
        self.events = boto3.client("events")
        self.sfn = boto3.client("stepfunctions")
        self.pollers = [
            QueuePoller(app, self.sqs, outputs[output], handler, 10) for output, handler in CONSUMERS.items()
        ]
        self.published: list[dict[str, Any]] = []

    # Seeding.

    def seed(self, devices: dict[str, int], people: list[Person], templates: tuple[RoleTemplate, ...] = (ENGINEER, FINANCE, SALES)) -> None:
        from functions import workflow_wiring

        repository = workflow_wiring.workflow_repository()
        for template in templates:
            repository.put_role_template(self.tenant_id, template)
        for model, count in devices.items():
            for index in range(count):
                repository.put_device(self.tenant_id, model, f"{model}-{index:03d}")
        for person in people:
            repository.put_person(self.tenant_id, person)

    # Partner events.

    def put_partner_event(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        response = self.events.put_events(
            Entries=[{"EventBusName": "servicedesk", "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
        )
        assert response["FailedEntryCount"] == 0, response

    def hire(self, employee_id: str, role: str = "engineer", manager_id: str = "manager-1", employee_type: str = "regular", department: str = "engineering") -> None:
        self.put_partner_event(
            "partner.hr",
            "EmployeeHired",
            {
                "tenant_id": self.tenant_id,
                "hire_id": f"hire-{employee_id}",
                "employee": {
                    "employee_id": employee_id,
                    "role": role,
                    "department": department,
                    "employee_type": employee_type,
                    "manager_id": manager_id,
                },
            },
        )

    # Running.

    def pump(self) -> int:
        """Deliver one batch of each queue; return how many messages were received."""
        received = sum(poller.poll_once(wait_seconds=0)["received"] for poller in self.pollers)
        self._collect_events()
        return received

    def run_until(self, condition: Callable[[], Any], timeout_seconds: float = 30.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            self.pump()
            result = condition()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_seconds} s waiting for {what}")

    def workflow(self, workflow_id: str) -> Any:
        from functions import workflow_wiring

        return workflow_wiring.workflow_repository().find_workflow(self.tenant_id, workflow_id)

    def execution_status(self, execution_arn: str) -> str:
        return self.sfn.describe_execution(executionArn=execution_arn)["status"]

    def wait_for_execution(self, workflow_id: str, statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED", "ABORTED"), timeout_seconds: float = 40.0) -> str:
        def ended() -> str | None:
            workflow = self.workflow(workflow_id)
            if workflow is None or not workflow.execution_arn:
                return None
            status = self.execution_status(workflow.execution_arn)
            return status if status in statuses else None

        return self.run_until(ended, timeout_seconds, f"execution of {workflow_id} to end")

    def largest_state_payload(self, execution_arn: str) -> int:
        """Return the largest state input or output, in UTF-8 bytes, in an execution's history."""
        largest = 0
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        for event in events:
            for details in event.values():
                if isinstance(details, dict):
                    for key in ("input", "output"):
                        if isinstance(details.get(key), str):
                            largest = max(largest, len(details[key].encode("utf-8")))
        return largest

    def waiting_step(self, workflow_id: str, step: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            workflow = self.workflow(workflow_id)
            for entry in reversed(workflow.history if workflow else []):
                if entry.step == step and entry.status.value == "waiting":
                    return entry.detail
            return None

        return self.run_until(found, what=f"step {step} of {workflow_id} to wait")

    def _collect_events(self) -> None:
        for _ in range(5):
            messages = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self.published.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def event_types(self, workflow_id: str) -> list[str]:
        return [event["detail-type"] for event in self.published if event["detail"].get("workflow_id") == workflow_id]
