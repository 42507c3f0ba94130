"""Workflows, approvals and automated decisions: stored records, API requests and responses,
and the partner events that drive onboarding."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.models.tickets import Identifier, Label, ShortText


class WorkflowKind(StrEnum):
    ONBOARDING = "onboarding"
    ESCALATION = "escalation"


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    STARTED = "started"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"


class EmployeeType(StrEnum):
    REGULAR = "regular"
    CONTRACTOR = "contractor"
    INTERN = "intern"


class Employee(BaseModel):
    """The person being onboarded, as the HR system describes them; ids and labels only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    employee_id: Identifier
    role: Label = Field(description="Role template name, for example `engineer` or `finance-analyst`.")
    department: Label
    employee_type: EmployeeType = EmployeeType.REGULAR
    manager_id: Identifier
    start_date: date | None = None


class StartOnboardingRequest(BaseModel):
    """Body of POST /workflows/onboarding."""

    model_config = ConfigDict(extra="forbid")

    employee: Employee
    requester_id: Identifier = Field(description="User who receives the parent ticket, usually the hiring manager.")


class HireEvent(BaseModel):
    """`detail` of the HR system's `EmployeeHired` event (source `partner.hr`)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: Identifier
    hire_id: Identifier = Field(description="HR's id of the hire; repeated deliveries carry the same id.")
    employee: Employee


class PurchaseAnswer(BaseModel):
    """`detail` of the ERP's `PurchaseOrderAnswered` event (source `partner.erp`)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: Identifier
    purchase_request_id: Identifier
    outcome: Literal["delivered", "rejected"]
    device_id: Identifier | None = Field(default=None, description="Delivered device; required when outcome is delivered.")
    reason: ShortText | None = None


class TrainingAnswer(BaseModel):
    """`detail` of the learning system's `EnrolmentAnswered` event (source `partner.lms`)."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: Identifier
    enrolment_id: Identifier
    outcome: Literal["enrolled", "rejected"]
    reason: ShortText | None = None


class WorkflowStep(BaseModel):
    """One entry of a workflow's history."""

    step: str
    status: StepStatus
    at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class Workflow(BaseModel):
    """A workflow as stored and as GET /workflows/{workflow_id} returns it."""

    workflow_id: str
    tenant_id: str
    kind: WorkflowKind
    status: WorkflowStatus
    current_step: str | None = None
    ticket_id: str | None = None
    execution_arn: str | None = None
    subject_id: str = Field(description="Employee id of an onboarding, ticket id of an escalation.")
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    failure: str | None = Field(default=None, description="What failed, when status is failed.")
    outputs: dict[str, Any] = Field(default_factory=dict)
    history: list[WorkflowStep] = Field(default_factory=list)
    version: int = 1


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class DecisionOutcome(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    HUMAN = "human"


class AutomatedDecision(BaseModel):
    """What the decision policy concluded for an approval, with everything needed to explain it."""

    model_config = ConfigDict(frozen=True)

    outcome: DecisionOutcome
    rule: str = Field(description="Policy rule that fired, for example `auto_approve` or `violation.contractor_privileged`.")
    reason_en: str
    reason_ko: str
    inputs: dict[str, Any]
    model_version: str | None = None
    score: float | None = Field(default=None, description="Model's probability that a person would approve.")
    risk: Literal["low", "medium", "high"]


class Approval(BaseModel):
    """One approval request; GET /approvals lists them."""

    approval_id: str
    tenant_id: str
    workflow_id: str
    ticket_id: str | None = None
    status: ApprovalStatus
    assignee_id: str = Field(description="Who must decide now, after delegation and escalation.")
    original_approver_id: str
    escalation_level: int = 0
    subject: dict[str, Any] = Field(description="What is requested: employee id, role, system, access level.")
    automated: AutomatedDecision | None = None
    decided_by: str | None = None
    decision_comment: str | None = None
    overruled: bool = Field(default=False, description="True when a person decided against the policy's automatic outcome.")
    created_at: datetime
    decided_at: datetime | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    version: int = 1


class ApprovalPage(BaseModel):
    items: list[Approval]
    next_cursor: str | None = None


class DecisionRequest(BaseModel):
    """Body of POST /approvals/{approval_id}/decision."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: ShortText | None = Field(default=None, description="Why; shown to the requester and kept with the decision.")
