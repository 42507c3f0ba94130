"""Workflow events published for partners on the EventBridge bus, with source `servicedesk.workflows`.

Details carry ids, step names and labels only; `ticket_id` is the workflow's parent ticket.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from functions.models.events import EventDetail

WORKFLOW_EVENT_SOURCE = "servicedesk.workflows"


class WorkflowEvent(EventDetail):
    """Fields shared by the workflow events."""

    EVENT_SOURCE: ClassVar[str] = WORKFLOW_EVENT_SOURCE

    workflow_id: str
    kind: Literal["onboarding", "escalation"]


class WorkflowStarted(WorkflowEvent):
    """A workflow started, from an HR hire event, POST /workflows/onboarding or an escalated ticket."""

    DETAIL_TYPE: ClassVar[str] = "WorkflowStarted"

    subject_id: str = Field(description="Employee id of an onboarding, ticket id of an escalation.")


class WorkflowStepCompleted(WorkflowEvent):
    """A step of a workflow finished, successfully or not."""

    DETAIL_TYPE: ClassVar[str] = "WorkflowStepCompleted"

    step: str
    outcome: Literal["completed", "failed", "waiting", "compensated"]


class PurchaseRequested(WorkflowEvent):
    """No device of the role's model is in stock; the ERP should order one and answer with
    `PurchaseOrderAnswered` (source `partner.erp`) carrying the same purchase_request_id."""

    DETAIL_TYPE: ClassVar[str] = "PurchaseRequested"

    purchase_request_id: str
    device_model: str
    employee_id: str


class TrainingEnrolmentRequested(WorkflowEvent):
    """The learning system should enrol the employee and answer with `EnrolmentAnswered`
    (source `partner.lms`) carrying the same enrolment_id."""

    DETAIL_TYPE: ClassVar[str] = "TrainingEnrolmentRequested"

    enrolment_id: str
    employee_id: str
    courses: list[str]


class ApprovalRequested(WorkflowEvent):
    """An approval is waiting for a person, or was escalated to the approver's manager."""

    DETAIL_TYPE: ClassVar[str] = "ApprovalRequested"

    approval_id: str
    assignee_id: str
    escalation_level: int = Field(ge=0)
    rule: str = Field(description="Decision policy rule that sent it to a person.")


class ApprovalDecided(WorkflowEvent):
    """An approval was decided, by the policy, a person, or by expiry."""

    DETAIL_TYPE: ClassVar[str] = "ApprovalDecided"

    approval_id: str
    status: Literal["approved", "rejected", "expired"]
    decided_by: str = Field(description="User id of the person, or `decision-policy` / `expiry`.")
    rule: str | None = None
    overruled: bool = False


class WorkflowCompleted(WorkflowEvent):
    """A workflow finished: every step succeeded."""

    DETAIL_TYPE: ClassVar[str] = "WorkflowCompleted"


class WorkflowFailed(WorkflowEvent):
    """A workflow failed or was cancelled; compensation has undone what it did."""

    DETAIL_TYPE: ClassVar[str] = "WorkflowFailed"

    failed_step: str | None = None
    cancelled: bool = False
    compensated: list[str] = Field(default_factory=list)


WORKFLOW_EVENT_TYPES: tuple[type[EventDetail], ...] = (
    WorkflowStarted,
    WorkflowStepCompleted,
    PurchaseRequested,
    TrainingEnrolmentRequested,
    ApprovalRequested,
    ApprovalDecided,
    WorkflowCompleted,
    WorkflowFailed,
)
