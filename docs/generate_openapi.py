"""Generate docs/openapi.yaml, the OpenAPI 3.1 description of the REST API.

Paths and methods come from the routes registered on the Chalice app, and request and response
schemas from the pydantic models, so the document changes when they do. Run
`python docs/generate_openapi.py` after changing a route or a model, and commit the result.
With `--check` it writes nothing and exits 1 when the file is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# app.py sits at the project root, which is not on sys.path when this file runs as a script.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from pydantic import BaseModel, TypeAdapter  # noqa: E402
from pydantic.json_schema import GenerateJsonSchema, models_json_schema  # noqa: E402

from app import app  # noqa: E402
from functions.api import audit as audit_api  # noqa: E402
from functions.api import tickets as tickets_api  # noqa: E402
from functions.api import webhooks as webhooks_api  # noqa: E402
from functions.api import approvals as approvals_api  # noqa: E402
from functions.api import workflows as workflows_api  # noqa: E402
from functions.api.http import QUEUE_PATTERN, JSON_CONTENT_TYPE, STATUS_BY_CODE  # noqa: E402
from functions.api.messages import SUPPORTED_LANGUAGES  # noqa: E402
from functions.domain import lifecycle  # noqa: E402
from functions.models.agents import Agent, AgentList, PresenceRequest, RegisterAgentRequest, UpdateAgentRequest  # noqa: E402
from functions.models.audit import AuditPage, VerificationReport  # noqa: E402
from functions.models.workflows import Approval, ApprovalPage, DecisionRequest, StartOnboardingRequest, Workflow  # noqa: E402
from functions.models.customers import (  # noqa: E402
    CompleteFollowUpRequest,
    Customer360,
    CustomerProfile,
    CustomerProfileRequest,
    FollowUpPage,
    FollowUpTask,
    KnownProblem,
    KnownProblemRequest,
    KpiReport,
    Survey,
    SurveyAnswerRequest,
)
from functions.models.tickets import (  # noqa: E402
    AddMessageRequest,
    CreateTicketRequest,
    Identifier,
    Message,
    MessagePage,
    Ticket,
    TicketPage,
    UpdateTicketRequest,
)
from functions.models.webhooks import (  # noqa: E402
    CreateWebhookRequest,
    DeliveryPage,
    SecretRotated,
    Webhook,
    WebhookCreated,
    WebhookList,
)
from functions.settings import Settings  # noqa: E402

OPENAPI_PATH = ROOT / "docs" / "openapi.yaml"
CREATE_TICKET_SAMPLE = ROOT / "events" / "samples" / "apigateway" / "create-ticket.json"
SCHEMA_REF = "#/components/schemas/{model}"

_DEFAULTS = Settings.model_fields


class MessageAdded(BaseModel):
    """Body of a 201 response to POST /tickets/{ticket_id}/messages."""

    message: Message
    ticket: Ticket


class ResponseJsonSchema(GenerateJsonSchema):
    """Marks every response field as required, because responses serialise every field, null included."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None and not field.get("serialization_exclude")
        return super().field_is_required(field, total)


def lifecycle_table() -> str:
    """List the allowed next statuses of each status, one Markdown bullet each."""
    return "\n".join(
        f"- {current.value} → {', '.join(lifecycle.allowed_next(current))}" for current in lifecycle.ALLOWED_TRANSITIONS
    )


@dataclass(frozen=True)
class Operation:
    """Description of one route beyond its path and method: texts, models, parameters and errors."""

    summary: str
    description: str
    success_status: int
    success_description: str
    # None for a response without a body (204).
    response_model: type[BaseModel] | None
    request_model: type[BaseModel] | None = None
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    success_headers: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()
    tag: str = "tickets"
    # Security schemes that must all be satisfied; None keeps the document-wide default.
    security: tuple[str, ...] | None = None
    # Another success status with the same body, for example 201 when a PUT creates the resource.
    created_status: int | None = None


# Every operation can fail these ways: no caller identity, an unexpected fault, or a dependency
# (DynamoDB, EventBridge, a model endpoint) that failed.
COMMON_ERROR_CODES = ("unauthorized", "token_expired", "token_invalid", "internal_error", "dependency_failed")
BODY_ERROR_CODES = ("invalid_input", "invalid_json", "payload_too_large", "unsupported_media_type")

WEBHOOK_ROLES = "Admins and supervisors of the tenant only; other roles get 403."
WEBHOOK_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/webhooks"): Operation(
        summary="Register a webhook",
        description=(
            "Registers an HTTPS endpoint that receives the tenant's events of the listed types, signed "
            "with HMAC-SHA256 (docs/webhooks.md). The response carries the signing secret; it is never "
            "returned again. URLs whose host is a private, loopback, link-local or metadata address are "
            "rejected. " + WEBHOOK_ROLES
        ),
        success_status=201,
        success_description="The webhook was registered; keep `signing_secret`.",
        response_model=WebhookCreated,
        request_model=CreateWebhookRequest,
        success_headers=("Location", "Cache-Control"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "limit_exceeded"),
        tag="webhooks",
    ),
    ("GET", "/webhooks"): Operation(
        summary="List webhooks",
        description="Lists every webhook of the tenant, without secrets. " + WEBHOOK_ROLES,
        success_status=200,
        success_description="The tenant's webhooks.",
        response_model=WebhookList,
        error_codes=("forbidden",),
        tag="webhooks",
    ),
    ("GET", "/webhooks/{webhook_id}"): Operation(
        summary="Read a webhook",
        description="Returns one webhook with its delivery state, without its secret. " + WEBHOOK_ROLES,
        success_status=200,
        success_description="The webhook.",
        response_model=Webhook,
        error_codes=("forbidden", "not_found"),
        tag="webhooks",
    ),
    ("DELETE", "/webhooks/{webhook_id}"): Operation(
        summary="Delete a webhook",
        description=(
            "Deletes a webhook; queued deliveries to it are dropped. Its delivery records expire "
            "on their own. " + WEBHOOK_ROLES
        ),
        success_status=204,
        success_description="The webhook was deleted.",
        response_model=None,
        error_codes=("forbidden", "not_found"),
        tag="webhooks",
    ),
    ("POST", "/webhooks/{webhook_id}/rotate-secret"): Operation(
        summary="Rotate a webhook's signing secret",
        description=(
            "Replaces the signing secret and returns the new one, once. Until "
            "`previous_secret_expires_at` (WEBHOOK_SECRET_GRACE_SECONDS, "
            f"{_DEFAULTS['webhook_secret_grace_seconds'].default // 3600} hours by default) every "
            "delivery carries a signature with each secret. " + WEBHOOK_ROLES
        ),
        success_status=200,
        success_description="The new secret.",
        response_model=SecretRotated,
        success_headers=("Cache-Control",),
        error_codes=("forbidden", "not_found"),
        tag="webhooks",
    ),
    ("POST", "/webhooks/{webhook_id}/enable"): Operation(
        summary="Enable a webhook",
        description=(
            "Enables a webhook that was disabled after "
            f"{_DEFAULTS['webhook_max_consecutive_failures'].default} (WEBHOOK_MAX_CONSECUTIVE_FAILURES) "
            "consecutive failed deliveries, and resets its failure count. Events that occurred while "
            "it was disabled are not delivered. " + WEBHOOK_ROLES
        ),
        success_status=200,
        success_description="The enabled webhook.",
        response_model=Webhook,
        error_codes=("forbidden", "not_found"),
        tag="webhooks",
    ),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Operation(
        summary="List a webhook's delivery attempts",
        description=(
            "Lists delivery attempts, newest first: status code, latency, error and, for a failed "
            "attempt that will be retried, the time of the next attempt. Records expire after "
            f"{_DEFAULTS['webhook_delivery_retention_days'].default} days (WEBHOOK_DELIVERY_RETENTION_DAYS). "
            + WEBHOOK_ROLES
        ),
        success_status=200,
        success_description="One page of delivery attempts.",
        response_model=DeliveryPage,
        query=("limit", "cursor"),
        error_codes=("invalid_input", "forbidden", "not_found"),
        tag="webhooks",
    ),
}

AUDIT_ROLES = "Only the supervisor and admin roles of the tenant may read it; other roles get 403."
AUDIT_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/audit"): Operation(
        summary="List audit entries",
        description=(
            "Lists the caller's tenant's audit log, newest first: every entry, or with `resource_id` "
            "the entries of one resource (a ticket's entries include its messages). Entries name the "
            "actor, the action and the changed fields with old and new values, never message bodies. "
            + AUDIT_ROLES
        ),
        success_status=200,
        success_description="One page of audit entries.",
        response_model=AuditPage,
        query=("resource_id", "limit", "cursor"),
        error_codes=("invalid_input", "forbidden"),
        tag="audit",
    ),
    ("GET", "/audit/verify"): Operation(
        summary="Verify the audit log",
        description=(
            "Walks the caller's tenant's hash chain from `from_sequence` (default 1) and checks each "
            "entry's sequence number, its SHA-256 hash over the canonical JSON of its fields, and its "
            "link to the entry before it (docs/audit.md). One call checks at most `limit` entries and "
            "stops early when its time budget (AUDIT_VERIFY_SECONDS, "
            f"{_DEFAULTS['audit_verify_seconds'].default:.0f} s by default) runs out; while "
            "`next_cursor` is set, call again with it to continue. A broken chain returns "
            "`intact: false` and `first_broken` with the sequence and the reason: `hash mismatch`, "
            "`previous hash mismatch` or `gap`. " + AUDIT_ROLES
        ),
        success_status=200,
        success_description="The verification result of one range of the chain.",
        response_model=VerificationReport,
        query=("from_sequence", "verify_limit", "cursor"),
        error_codes=("invalid_input", "forbidden"),
        tag="audit",
    ),
}

PARTNER_ONLY = " Partner systems only, with a partner machine token and the partner API key; people get 403."
PROFILE_WRITERS = " Admins and supervisors; partner CRM systems use PUT /partner/customers/{customer_id}. Other roles get 403."
STAFF_ONLY = " Agents, supervisors and admins; other roles get 403."
SUPERVISORS_ONLY = " Supervisors and admins; other roles get 403."
PROFILE_DESCRIPTION = (
    "Creates the customer's profile (201) or replaces it (200). Replacing needs the current version in "
    "If-Match or the `version` field; a stale one gets 409 profile_version_conflict. Services and device "
    "models are stored in lower case and matched exactly against known problems. Contacts are personal "
    "data: the audit log records only how many there are."
)
# Path parameters whose name is also a query parameter's get a component of their own.
PATH_PARAMETER_COMPONENTS = {"customer_id": "customer_id_path"}
CUSTOMER_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("PUT", "/customers/{customer_id}"): Operation(
        summary="Create or replace a customer profile",
        description=PROFILE_DESCRIPTION + PROFILE_WRITERS,
        success_status=200,
        success_description="The stored profile (201 when it was created).",
        created_status=201,
        response_model=CustomerProfile,
        request_model=CustomerProfileRequest,
        headers=("If-Match",),
        success_headers=("ETag", "Location"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "profile_version_conflict"),
        tag="customers",
    ),
    ("PUT", "/partner/customers/{customer_id}"): Operation(
        summary="Create or replace a customer profile from a partner CRM",
        description=PROFILE_DESCRIPTION + PARTNER_ONLY,
        success_status=200,
        success_description="The stored profile (201 when it was created).",
        created_status=201,
        response_model=CustomerProfile,
        request_model=CustomerProfileRequest,
        headers=("If-Match",),
        success_headers=("ETag", "Location"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "profile_version_conflict"),
        tag="partners",
        security=("bearerToken", "partnerApiKey"),
    ),
    ("GET", "/customers/{customer_id}"): Operation(
        summary="Read a customer profile",
        description="Returns the customer's profile with its version as ETag." + STAFF_ONLY,
        success_status=200,
        success_description="The profile.",
        response_model=CustomerProfile,
        success_headers=("ETag",),
        error_codes=("forbidden", "not_found"),
        tag="customers",
    ),
    ("GET", "/customers/{customer_id}/360"): Operation(
        summary="Read the customer 360 view",
        description=(
            "Returns the profile, one page of the journey timeline (newest first; `limit` and `cursor` page "
            "it), the customer's newest tickets split into open and past, the weekly satisfaction (CSAT) "
            "and net sentiment trends and the churn-risk score with its reasons over the last 90 days, "
            "and the proactive notices sent. The timeline and trends come from the insights consumer, so "
            "they trail the tickets by the queue's delay (docs/customer-360-and-kpis.md)." + STAFF_ONLY
        ),
        success_status=200,
        success_description="The 360 view.",
        response_model=Customer360,
        query=("limit", "cursor"),
        error_codes=("invalid_input", "forbidden", "not_found"),
        tag="customers",
    ),
    ("POST", "/known-problems"): Operation(
        summary="Record a known problem",
        description=(
            "Records a problem that affects services or device models. The insights consumer then writes "
            "one notice per affected customer in the customer's language, with the prevention guide, and "
            "puts it on their timeline. Sending a `problem_id` that exists returns the stored problem "
            "with 200 and notifies nobody again. A retry with the same Idempotency-Key returns the first "
            "response." + STAFF_ONLY
        ),
        success_status=201,
        success_description="The recorded problem (200 when the problem_id existed).",
        response_model=KnownProblem,
        request_model=KnownProblemRequest,
        headers=("Idempotency-Key",),
        success_headers=("Location",),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "idempotency_conflict", "request_in_progress"),
        tag="customers",
    ),
    ("GET", "/known-problems/{problem_id}"): Operation(
        summary="Read a known problem",
        description="Returns one known problem." + STAFF_ONLY,
        success_status=200,
        success_description="The problem.",
        response_model=KnownProblem,
        error_codes=("forbidden", "not_found"),
        tag="customers",
    ),
    ("GET", "/surveys/{survey_id}"): Operation(
        summary="Read a survey",
        description=(
            "Returns a CSAT or NPS survey. The requester it was sent to may read it (other requesters get "
            "404), and so may supervisors and admins; other roles get 403."
        ),
        success_status=200,
        success_description="The survey.",
        response_model=Survey,
        error_codes=("forbidden", "not_found"),
        tag="surveys",
    ),
    ("POST", "/surveys/{survey_id}/answer"): Operation(
        summary="Answer a survey",
        description=(
            "Stores the answer of the requester the survey was sent to: 1 to 5 for CSAT, 0 to 10 for NPS. "
            "A CSAT of 2 or less or an NPS of 6 or less opens a follow-up task for a supervisor, named in "
            "`follow_up_id`. A survey is answered once: the same answer again returns the survey unchanged, and a "
            "different one gets 409 state_conflict. Other "
            "requesters get 404, staff 403."
        ),
        success_status=200,
        success_description="The answered survey.",
        response_model=Survey,
        request_model=SurveyAnswerRequest,
        error_codes=(*BODY_ERROR_CODES, "forbidden", "not_found", "state_conflict"),
        tag="surveys",
    ),
    ("GET", "/follow-ups"): Operation(
        summary="List follow-up tasks",
        description="Lists the tasks that low survey scores opened, newest first." + SUPERVISORS_ONLY,
        success_status=200,
        success_description="One page of tasks.",
        response_model=FollowUpPage,
        query=("follow_up_status", "limit", "cursor"),
        error_codes=("invalid_input", "forbidden"),
        tag="surveys",
    ),
    ("POST", "/follow-ups/{task_id}/complete"): Operation(
        summary="Complete a follow-up task",
        description="Marks a task done with an optional note; a done task gets 409 state_conflict." + SUPERVISORS_ONLY,
        success_status=200,
        success_description="The completed task.",
        response_model=FollowUpTask,
        request_model=CompleteFollowUpRequest,
        error_codes=(*BODY_ERROR_CODES, "forbidden", "not_found", "state_conflict"),
        tag="surveys",
    ),
    ("GET", "/kpis"): Operation(
        summary="Read the KPIs of a period",
        description=(
            "Returns MTTR, first-response time, first-contact resolution, SLA compliance, backlog, "
            "escalation rate, automation rate, CSAT, NPS and net sentiment over the days `from` to `to` "
            "(calendar days of KPI_TIME_ZONE, at most 366), each with its numerator and denominator, and "
            "the same per day. The figures come from daily counters that the insights consumer keeps "
            "(docs/customer-360-and-kpis.md defines each one). Supervisors and admins read any queue or "
            "the whole tenant; agents only one of their queues; other roles get 403."
        ),
        success_status=200,
        success_description="The KPI report.",
        response_model=KpiReport,
        query=("from", "to", "kpi_queue"),
        error_codes=("invalid_input", "forbidden"),
        tag="kpis",
    ),
}

# Rule for who may see a ticket, repeated in the descriptions of the ticket operations.
TICKET_VISIBILITY = (
    " Requesters see their own tickets (others answer 404), agents the tickets of their queues and "
    "those assigned to them (others answer 403), supervisors and admins the whole tenant."
)

WORKFLOW_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/workflows/onboarding"): Operation(
        summary="Start an onboarding",
        description=(
            "Starts the onboarding workflow of a new employee (docs/workflows.md): access from the role "
            "template, a device from the inventory and training enrolment, with a parent ticket for "
            "`requester_id`. The workflow id is derived from the tenant and the employee id, so a repeated "
            "request returns the existing workflow with 200. Supervisors and admins; other roles get 403."
        ),
        success_status=201,
        success_description="The started workflow (200 with the existing one for the same employee).",
        response_model=Workflow,
        request_model=StartOnboardingRequest,
        success_headers=("Location",),
        error_codes=(*BODY_ERROR_CODES, "forbidden"),
        tag="workflows",
    ),
    ("GET", "/workflows/{workflow_id}"): Operation(
        summary="Read a workflow",
        description=(
            "Returns a workflow's status, current step, step history, outputs (granted access, device, "
            "enrolment) and its Step Functions execution status. Supervisors, admins and agents read every "
            "workflow of the tenant; a requester reads the onboardings they requested (others answer 404)."
        ),
        success_status=200,
        success_description="The workflow.",
        response_model=workflows_api.WorkflowView,
        error_codes=("forbidden", "not_found"),
        tag="workflows",
    ),
    ("POST", "/workflows/{workflow_id}/cancel"): Operation(
        summary="Cancel a workflow",
        description=(
            "Stops a running workflow. An onboarding is compensated: granted access is revoked and the "
            "reserved device released; the parent ticket says so. A workflow that is not running gets 409 "
            "workflow_not_running. Supervisors and admins; other roles get 403."
        ),
        success_status=200,
        success_description="The cancelled workflow.",
        response_model=Workflow,
        error_codes=("forbidden", "not_found", "workflow_not_running"),
        tag="workflows",
    ),
    ("GET", "/approvals"): Operation(
        summary="List pending approvals",
        description=(
            "Lists the approvals waiting for `assignee` (default: the caller), newest first, with the "
            "decision policy's rule, score and reason. Anyone lists their own; supervisors and admins "
            "list anyone's. Partner systems get 403."
        ),
        success_status=200,
        success_description="One page of pending approvals.",
        response_model=ApprovalPage,
        query=("assignee", "limit", "cursor"),
        error_codes=("invalid_input", "forbidden"),
        tag="approvals",
    ),
    ("POST", "/approvals/{approval_id}/decision"): Operation(
        summary="Decide an approval",
        description=(
            "Approves or rejects a pending approval, with an optional comment; the waiting workflow "
            "continues. On an approval the decision policy decided, a different decision is an overrule: "
            "the access is granted or revoked and the overrule becomes a training label. A person's "
            "decision or an expiry cannot be changed (409 approval_closed), though the same person's "
            "same decision again returns the approval unchanged. An overrule cannot "
            "grant access of a workflow that failed or was cancelled (409 approval_workflow_ended). "
            "The current assignee, supervisors and admins; others get 403."
        ),
        success_status=200,
        success_description="The decided approval.",
        response_model=Approval,
        request_model=DecisionRequest,
        error_codes=(*BODY_ERROR_CODES, "forbidden", "not_found", "approval_closed", "approval_workflow_ended"),
        tag="approvals",
    ),
}

AGENT_MANAGERS = " Admins and supervisors; other roles get 403."
AGENT_OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/agents"): Operation(
        summary="Register an agent",
        description=(
            "Registers an agent with skills (category, language, level 1 to 5), queues, capacity per "
            "channel, weekly working hours in a time zone, and presence. An online agent takes "
            "waiting tickets of their queues at once (docs/routing-and-sla.md)." + AGENT_MANAGERS
        ),
        success_status=201,
        success_description="The registered agent, with zero load.",
        response_model=Agent,
        request_model=RegisterAgentRequest,
        success_headers=("Location", "ETag"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "agent_exists"),
        tag="agents",
    ),
    ("GET", "/agents"): Operation(
        summary="List agents",
        description="Lists every agent of the tenant with their current load." + AGENT_MANAGERS,
        success_status=200,
        success_description="The tenant's agents, by agent id.",
        response_model=AgentList,
        error_codes=("invalid_input", "forbidden"),
        tag="agents",
    ),
    ("GET", "/agents/{agent_id}"): Operation(
        summary="Read an agent",
        description="Returns one agent with their load per channel. Agents may read their own record; admins and supervisors any.",
        success_status=200,
        success_description="The agent.",
        response_model=Agent,
        success_headers=("ETag",),
        error_codes=("forbidden", "not_found"),
        tag="agents",
    ),
    ("PATCH", "/agents/{agent_id}"): Operation(
        summary="Update an agent",
        description=(
            "Changes skills, queues, capacity, working hours, name or `active`. Needs the current "
            "version in If-Match or `version`; a stale one gets 409 agent_version_conflict. More "
            "capacity routes waiting tickets; `active: false` rebalances the agent's open tickets. "
            "Load counters change only with tickets." + AGENT_MANAGERS
        ),
        success_status=200,
        success_description="The updated agent.",
        response_model=Agent,
        request_model=UpdateAgentRequest,
        headers=("If-Match",),
        success_headers=("ETag",),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "not_found", "agent_version_conflict"),
        tag="agents",
    ),
    ("PUT", "/agents/{agent_id}/presence"): Operation(
        summary="Set an agent's presence",
        description=(
            "Sets presence to online, busy or away. Online routes waiting tickets to the agent; away "
            "moves their assigned, in-progress and reopened tickets to other agents or back to "
            "waiting (pending tickets stay). Agents set their own presence; admins and supervisors anyone's."
        ),
        success_status=200,
        success_description="The agent with the new presence.",
        response_model=Agent,
        request_model=PresenceRequest,
        success_headers=("ETag",),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "not_found", "agent_version_conflict"),
        tag="agents",
    ),
}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("POST", "/tickets"): Operation(
        summary="Open a ticket",
        description=(
            "Opens a ticket in the caller's tenant. The title and description become the first "
            "message of the conversation; its sentiment may escalate the ticket at once. With an "
            "Idempotency-Key, a repeated request of the same user returns the stored response "
            "instead of opening a second ticket. A requester opens tickets only with their own "
            "user id as `requester_id`; partner systems use POST /partner/tickets."
        ),
        success_status=201,
        success_description="The ticket was opened, or an earlier request with the same Idempotency-Key is replayed.",
        response_model=Ticket,
        request_model=CreateTicketRequest,
        headers=("Idempotency-Key",),
        success_headers=("Location", "ETag"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "thread_conflict", "idempotency_conflict", "request_in_progress"),
    ),
    ("GET", "/tickets"): Operation(
        summary="List tickets",
        description=(
            "Lists the tickets the caller may see, newest first, filtered by any combination of the "
            "query parameters. A requester's list holds their own tickets. An agent lists one of "
            "their queues (`queue`, optional when they work exactly one) or the tickets assigned to "
            "them (`assignee_id` set to their user id); without either, 403. Supervisors and admins "
            "list the whole tenant. A page may hold fewer than `limit` tickets while `next_cursor` "
            "is set; keep following the cursor until it is null."
        ),
        success_status=200,
        success_description="One page of tickets.",
        response_model=TicketPage,
        query=("status", "customer_id", "assignee_id", "queue", "priority", "requester_id", "limit", "cursor"),
        error_codes=("invalid_input", "forbidden"),
    ),
    ("GET", "/tickets/{ticket_id}"): Operation(
        summary="Read a ticket",
        description="Returns one ticket with its ETag, which PATCH expects in If-Match." + TICKET_VISIBILITY,
        success_status=200,
        success_description="The ticket.",
        response_model=Ticket,
        success_headers=("ETag",),
        error_codes=("forbidden", "not_found"),
    ),
    ("POST", "/partner/tickets"): Operation(
        summary="Open a ticket from a partner system",
        description=(
            "Opens a ticket like POST /tickets, for an HR, ERP or CRM system; the ticket records "
            "the partner as `created_by`, and only that partner reads it back." + PARTNER_ONLY
        ),
        success_status=201,
        success_description="The ticket was opened, or an earlier request with the same Idempotency-Key is replayed.",
        response_model=Ticket,
        request_model=CreateTicketRequest,
        headers=("Idempotency-Key",),
        success_headers=("Location", "ETag"),
        error_codes=(*BODY_ERROR_CODES, "forbidden", "thread_conflict", "idempotency_conflict", "request_in_progress"),
        tag="partners",
        security=("bearerToken", "partnerApiKey"),
    ),
    ("GET", "/partner/tickets/{ticket_id}"): Operation(
        summary="Read a ticket opened by this partner",
        description=(
            "Returns a ticket that the calling partner system opened; any other ticket answers 404." + PARTNER_ONLY
        ),
        success_status=200,
        success_description="The ticket.",
        response_model=Ticket,
        success_headers=("ETag",),
        error_codes=("forbidden", "not_found"),
        tag="partners",
        security=("bearerToken", "partnerApiKey"),
    ),
    ("PATCH", "/tickets/{ticket_id}"): Operation(
        summary="Update a ticket",
        description=(
            "Changes status, assignee, priority, queue or category under optimistic locking: send "
            "the ticket's ETag in If-Match or its version in the body. Assigning a new ticket moves "
            "it to assigned, and assigned and in_progress need an assignee. A request that changes "
            "nothing returns the ticket unchanged. Agents, supervisors and admins change every "
            "field of the tickets they see; a requester only sets the status of their own ticket "
            "to closed or reopened." + TICKET_VISIBILITY + " Allowed status changes:\n\n" + lifecycle_table()
        ),
        success_status=200,
        success_description="The updated ticket.",
        response_model=Ticket,
        request_model=UpdateTicketRequest,
        headers=("If-Match",),
        success_headers=("ETag",),
        error_codes=(
            *BODY_ERROR_CODES,
            "forbidden",
            "not_found",
            "version_conflict",
            "invalid_transition",
            "ticket_closed",
        ),
    ),
    ("POST", "/tickets/{ticket_id}/messages"): Operation(
        summary="Add a message",
        description=(
            "Appends a message to the ticket's conversation. A requester's message is scored for "
            "sentiment, may escalate the ticket and reopens a resolved ticket. With an "
            "Idempotency-Key, a repeated request of the same user returns the stored response. "
            "Requesters write as themselves (author_type requester, author_id their user id); "
            "staff write agent messages with their own user id, or record a requester's words; "
            "nobody writes system messages." + TICKET_VISIBILITY
        ),
        success_status=201,
        success_description="The stored message and the ticket after it.",
        response_model=MessageAdded,
        request_model=AddMessageRequest,
        headers=("Idempotency-Key",),
        error_codes=(
            *BODY_ERROR_CODES,
            "forbidden",
            "not_found",
            "ticket_busy",
            "idempotency_conflict",
            "request_in_progress",
        ),
    ),
    ("GET", "/tickets/{ticket_id}/messages"): Operation(
        summary="List a ticket's messages",
        description="Lists the conversation of one ticket, oldest first." + TICKET_VISIBILITY,
        success_status=200,
        success_description="One page of messages.",
        response_model=MessagePage,
        query=("limit", "cursor"),
        error_codes=("invalid_input", "forbidden", "not_found"),
    ),
    **WEBHOOK_OPERATIONS,
    **AUDIT_OPERATIONS,
    **CUSTOMER_OPERATIONS,
    **WORKFLOW_OPERATIONS,
    **AGENT_OPERATIONS,
}

# Meaning of each error code, shown in the description of its status.
CODE_MEANINGS: dict[str, str] = {
    "invalid_input": "a field, filter, header or cursor is invalid, and `details.field` names it",
    "invalid_json": "the body is not a UTF-8 JSON object",
    "unauthorized": "no bearer token, or a verified token without the tenant, user and role claims",
    "token_expired": "the bearer token has expired, so get a new one",
    "token_invalid": "the bearer token is malformed, badly signed or names an invalid tenant, user or role; `details.reason` says which",
    "forbidden": "the caller's role or relation to the resource does not allow this, and `details.reason` names the rule",
    "not_found": "no resource with this id in the caller's tenant, or a malformed id",
    "route_not_found": "no route at this path",
    "method_not_allowed": "the path has no route for this method",
    "version_conflict": "another request changed the ticket first, so reload it and retry",
    "invalid_transition": "the lifecycle does not allow this status change, and `details.allowed` lists the next statuses",
    "idempotency_conflict": "the Idempotency-Key was used with a different body",
    "ticket_busy": "other requests kept changing the ticket while the message was added, so send it again",
    "ticket_closed": "the ticket is closed and only reopening it may change it; `details.fields` names the rejected fields",
    "thread_conflict": "another ticket already has this `thread_key`, and `details.ticket_id` names it",
    "request_in_progress": "a request with the same Idempotency-Key is still running",
    "limit_exceeded": "the tenant already has the maximum number of this resource, named in `details.limit`",
    "approval_closed": "a person already decided the approval or it expired, so it cannot change",
    "approval_workflow_ended": "the approval's workflow failed or was cancelled and gave its access back, so no overrule can grant it",
    "workflow_not_running": "the workflow already completed, failed or was cancelled",
    "state_conflict": "the survey or task is already answered or done, so nothing changed",
    "profile_version_conflict": "another request changed the profile first, so reload it and retry",
    "agent_exists": "an agent with this `agent_id` is already registered, so change it with PATCH",
    "agent_version_conflict": "another request changed the agent first, so reload it and retry",
    "agent_unavailable": "the chosen agent filled up while routing, so retry to route to another agent",
    "payload_too_large": "the body exceeds the size limit",
    "unsupported_media_type": "the body is not application/json in UTF-8",
    "internal_error": "an unexpected fault, so quote `request_id` when reporting it",
    "request_rejected": "API Gateway rejected the request before any function ran, and `details.gateway_error` says why",
    "throttled": "API Gateway throttled the partner API key (rate or daily quota), so retry later",
    "dependency_failed": "a service behind the API failed or timed out, so retry later",
}


def queue_schema() -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{QUEUE_PATTERN.pattern}$"}


def identifier_schema() -> dict[str, Any]:
    schema = TypeAdapter(Identifier).json_schema()
    schema.pop("title", None)
    return schema


def query_parameters() -> dict[str, dict[str, Any]]:
    max_page_size = _DEFAULTS["max_page_size"].default
    default_page_size = _DEFAULTS["default_page_size"].default
    return {
        "status": {"description": "Only tickets in this status.", "schema": {"$ref": SCHEMA_REF.format(model="TicketStatus")}},
        "customer_id": {"description": "Only tickets of this customer.", "schema": identifier_schema()},
        "assignee_id": {"description": "Only tickets assigned to this agent.", "schema": identifier_schema()},
        "assignee": {"description": "User whose pending approvals to list; the caller by default.", "schema": identifier_schema()},
        "queue": {"description": "Only tickets in this queue.", "schema": queue_schema()},
        "requester_id": {"description": "Only tickets of this requester.", "schema": identifier_schema()},
        "priority": {"description": "Only tickets of this priority.", "schema": {"$ref": SCHEMA_REF.format(model="Priority")}},
        "limit": {
            "description": (
                f"Maximum items per page. The bounds are settings: DEFAULT_PAGE_SIZE "
                f"({default_page_size}) and MAX_PAGE_SIZE ({max_page_size}) as deployed by default."
            ),
            "schema": {"type": "integer", "minimum": 1, "maximum": max_page_size, "default": default_page_size},
        },
        "cursor": {
            "description": (
                "`next_cursor` of the previous page, unchanged. A cursor only continues the list, "
                "filters and tenant it came from."
            ),
            "schema": {"type": "string", "minLength": 1},
        },
        "from": {
            "description": "First day of the window, YYYY-MM-DD, in the KPI time zone.",
            "required": True,
            "schema": {"type": "string", "format": "date"},
        },
        "to": {
            "description": "Last day of the window, YYYY-MM-DD, included.",
            "required": True,
            "schema": {"type": "string", "format": "date"},
        },
        "kpi_queue": {
            "name": "queue",
            "description": "Only this queue; the whole tenant when absent.",
            "schema": queue_schema(),
        },
        "follow_up_status": {
            "name": "status",
            "description": "Only tasks in this status.",
            "schema": {"type": "string", "enum": ["open", "done"]},
        },
        "resource_id": {
            "description": "Only the audit entries of this resource, for example a ticket id.",
            "schema": {"type": "string", "pattern": audit_api._RESOURCE_ID_PATTERN.pattern},
        },
        "from_sequence": {
            "description": (
                "Sequence number to start verifying at; the stored hash of the entry before it is "
                "taken as the start. Send either this or `cursor`."
            ),
            "schema": {"type": "integer", "minimum": 1, "default": 1},
        },
        "verify_limit": {
            "name": "limit",
            "description": (
                "Maximum entries to check in this call. The bounds are settings: "
                f"AUDIT_VERIFY_DEFAULT_ENTRIES ({_DEFAULTS['audit_verify_default_entries'].default}) and "
                f"AUDIT_VERIFY_MAX_ENTRIES ({_DEFAULTS['audit_verify_max_entries'].default}) as deployed by default."
            ),
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": _DEFAULTS["audit_verify_max_entries"].default,
                "default": _DEFAULTS["audit_verify_default_entries"].default,
            },
        },
    }


def header_parameters() -> dict[str, dict[str, Any]]:
    return {
        "Idempotency-Key": {
            "description": (
                "Client-chosen key that makes a retry safe: the same key with the same body replays "
                "the first response for "
                f"{_DEFAULTS['idempotency_expiry_seconds'].default // 3600} hours (IDEMPOTENCY_EXPIRY_SECONDS); "
                "with a different body it fails with 409 idempotency_conflict."
            ),
            "schema": {"type": "string", "pattern": tickets_api._IDEMPOTENCY_KEY_PATTERN.pattern},
        },
        "If-Match": {
            "description": (
                'The ETag from the last read, for example "3". Either this header or the body\'s '
                "`version` is required; when both are sent they must agree."
            ),
            "schema": {"type": "string", "pattern": tickets_api._ETAG_PATTERN.pattern},
        },
        "Accept-Language": {
            "description": (
                f"Language of error messages: {' or '.join(SUPPORTED_LANGUAGES)}, chosen by q-value; "
                "English when neither is acceptable."
            ),
            "schema": {"type": "string"},
            "example": "ko-KR,ko;q=0.9,en;q=0.8",
        },
        "X-Correlation-Id": {
            "description": (
                "Id that ties this request to the caller's own logs; logged with every line and "
                "returned in the response. The API Gateway request id is used when absent."
            ),
            "schema": {"type": "string", "maxLength": 128},
        },
    }


def response_headers() -> dict[str, dict[str, Any]]:
    return {
        "ETag": {
            "description": 'The ticket\'s version in quotes, for example "3"; send it back in If-Match.',
            "schema": {"type": "string"},
        },
        "Location": {"description": "Path of the new resource.", "schema": {"type": "string"}},
        "Cache-Control": {
            "description": "no-store: the response carries a secret that no cache may keep.",
            "schema": {"type": "string", "const": "no-store"},
        },
        "Content-Language": {
            "description": "Language of the error message.",
            "schema": {"type": "string", "enum": list(SUPPORTED_LANGUAGES)},
        },
        "X-Correlation-Id": {
            "description": "The request's X-Correlation-Id, or the API Gateway request id.",
            "schema": {"type": "string"},
        },
    }


def error_body_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Body of every error response.",
        "additionalProperties": False,
        "required": ["code", "message", "details", "request_id"],
        "properties": {
            "code": {
                "type": "string",
                "enum": list(STATUS_BY_CODE),
                "description": "Stable error code; each response lists the codes it can carry.",
            },
            "message": {
                "type": "string",
                "description": "What failed and what to do, in the language named by Content-Language.",
            },
            "details": {
                "type": "object",
                "description": (
                    "Values behind the message, for example `field` and `problem` for invalid input, "
                    "`current_version` for a version conflict."
                ),
            },
            "request_id": {
                "type": ["string", "null"],
                "description": "API Gateway request id; quote it when reporting a problem.",
            },
        },
    }


def component_schemas() -> dict[str, Any]:
    """Build the JSON Schemas of every request and response model, keyed by component name."""
    request_models = {operation.request_model for operation in OPERATIONS.values() if operation.request_model}
    response_models = {operation.response_model for operation in OPERATIONS.values() if operation.response_model}
    models = [(model, "validation") for model in sorted(request_models, key=lambda model: model.__name__)]
    models += [(model, "serialization") for model in sorted(response_models, key=lambda model: model.__name__)]

    _, top = models_json_schema(models, ref_template=SCHEMA_REF, schema_generator=ResponseJsonSchema)
    schemas = dict(sorted(top["$defs"].items()))
    schemas["ErrorBody"] = error_body_schema()
    return schemas


def model_reference(schemas: dict[str, Any], model: type[BaseModel], mode: str) -> dict[str, str]:
    """Return the $ref of a model's component, which pydantic suffixes when input and output differ."""
    suffix = "-Input" if mode == "validation" else "-Output"
    for name in (model.__name__, model.__name__ + suffix):
        if name in schemas:
            return {"$ref": SCHEMA_REF.format(model=name)}
    raise KeyError(f"no component schema for {model.__name__}")


def error_response(status_codes: list[str]) -> dict[str, Any]:
    """Build the response of one error status, listing the codes it can carry."""
    return {
        "description": "\n".join(f"{'- ' if len(status_codes) > 1 else ''}`{code}`: {CODE_MEANINGS[code]}." for code in status_codes),
        "headers": {
            "Content-Language": {"$ref": "#/components/headers/Content-Language"},
            "X-Correlation-Id": {"$ref": "#/components/headers/X-Correlation-Id"},
        },
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": SCHEMA_REF.format(model="ErrorBody")},
                        {"properties": {"code": {"enum": status_codes}}},
                    ]
                }
            }
        },
    }


def error_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    """Build one response per status that the codes map to; shared ones refer to components."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys((*codes, *COMMON_ERROR_CODES)):
        by_status.setdefault(STATUS_BY_CODE[code], []).append(code)

    responses: dict[str, Any] = {}
    for status, status_codes in sorted(by_status.items()):
        if len(status_codes) == 1 and status_codes[0] in COMMON_ERROR_CODES:
            responses[str(status)] = {"$ref": f"#/components/responses/{status_codes[0]}"}
        else:
            responses[str(status)] = error_response(status_codes)
    return responses


def registered_routes() -> set[tuple[str, str]]:
    """Return (method, path) of every route registered on the Chalice app."""
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def operation_object(method: str, path: str, operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    route = app.routes[path][method]
    parameters: list[dict[str, Any]] = []
    for name in re.findall(r"\{(\w+)\}", path):
        parameters.append({"$ref": f"#/components/parameters/{PATH_PARAMETER_COMPONENTS.get(name, name)}"})
    parameters += [{"$ref": f"#/components/parameters/{name}"} for name in operation.query]
    parameters += [{"$ref": f"#/components/parameters/{name}"} for name in operation.headers]
    parameters += [
        {"$ref": "#/components/parameters/Accept-Language"},
        {"$ref": "#/components/parameters/X-Correlation-Id"},
    ]

    success_headers = {name: {"$ref": f"#/components/headers/{name}"} for name in operation.success_headers}
    success_headers["X-Correlation-Id"] = {"$ref": "#/components/headers/X-Correlation-Id"}
    success: dict[str, Any] = {"description": operation.success_description, "headers": success_headers}
    if operation.response_model is not None:
        schema = model_reference(schemas, operation.response_model, "serialization")
        success["content"] = {"application/json": {"schema": schema}}
    responses = {str(operation.success_status): success}
    if operation.created_status is not None:
        responses[str(operation.created_status)] = {**success, "description": "Created. " + operation.success_description}
    responses.update(error_responses(operation.error_codes))

    result: dict[str, Any] = {
        "operationId": route.view_name,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "parameters": parameters,
    }
    if operation.security is not None:
        result["security"] = [{name: [] for name in operation.security}]
    if operation.request_model is not None:
        result["requestBody"] = request_body(operation, schemas)
    result["responses"] = responses
    return result


def request_body(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    assert operation.request_model is not None
    limit = _DEFAULTS["max_body_bytes"].default
    media: dict[str, Any] = {"schema": model_reference(schemas, operation.request_model, "validation")}
    if operation.request_model is CreateTicketRequest and CREATE_TICKET_SAMPLE.is_file():
        sample = json.loads(CREATE_TICKET_SAMPLE.read_text(encoding="utf-8"))
        media["example"] = json.loads(sample["body"])
    return {
        "required": True,
        "description": (
            f"UTF-8 JSON object, at most {limit} bytes (MAX_BODY_BYTES) by default; larger bodies get 413. "
            "Other media types or charsets get 415. Unknown fields are rejected."
        ),
        "content": {"application/json": media},
    }


def build_document() -> dict[str, Any]:
    """Build the OpenAPI document of the routes registered on the app."""
    registered = registered_routes()
    undocumented = registered - OPERATIONS.keys()
    unregistered = OPERATIONS.keys() - registered
    if undocumented or unregistered:
        raise ValueError(
            f"routes and OPERATIONS differ: add {sorted(undocumented)} to OPERATIONS, "
            f"remove {sorted(unregistered)} from it"
        )

    schemas = component_schemas()
    for name in ("TicketStatus", "Priority"):
        if name not in schemas:
            raise KeyError(f"component {name} is missing; the query parameters refer to it")

    paths: dict[str, dict[str, Any]] = {}
    for method, path in sorted(OPERATIONS, key=lambda key: (key[1], key[0])):
        paths.setdefault(path, {})[method.lower()] = operation_object(method, path, OPERATIONS[(method, path)], schemas)

    parameters: dict[str, Any] = {
        "ticket_id": {
            "name": "ticket_id",
            "in": "path",
            "required": True,
            "description": "Id of the ticket; a malformed id gets 404.",
            "schema": identifier_schema(),
        },
        **{
            PATH_PARAMETER_COMPONENTS.get(name, name): {
                "name": name,
                "in": "path",
                "required": True,
                "description": f"Id of the {label}; a malformed id gets 404.",
                "schema": identifier_schema(),
            }
            for name, label in (
                ("customer_id", "customer"),
                ("problem_id", "known problem"),
                ("survey_id", "survey"),
                ("task_id", "follow-up task"),
                ("agent_id", "agent"),
            )
        },
        "workflow_id": {
            "name": "workflow_id",
            "in": "path",
            "required": True,
            "description": "Id of the workflow; a malformed id gets 404.",
            "schema": {"type": "string", "pattern": workflows_api._WORKFLOW_ID_PATTERN.pattern},
        },
        "approval_id": {
            "name": "approval_id",
            "in": "path",
            "required": True,
            "description": "Id of the approval; a malformed id gets 404.",
            "schema": {"type": "string", "pattern": approvals_api._APPROVAL_ID_PATTERN.pattern},
        },
        "webhook_id": {
            "name": "webhook_id",
            "in": "path",
            "required": True,
            "description": "Id of the webhook; a malformed id gets 404.",
            "schema": {"type": "string", "pattern": webhooks_api._ID_PATTERN.pattern},
        },
    }
    parameters |= {name: {"name": name, "in": "query", "required": False, **spec} for name, spec in query_parameters().items()}
    parameters |= {name: {"name": name, "in": "header", "required": False, **spec} for name, spec in header_parameters().items()}

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Service desk API",
            "version": project["version"],
            "description": (
                "Tickets and their conversations for service desk clients. Bodies are UTF-8 JSON "
                f"(`{JSON_CONTENT_TYPE}`) and Korean text is sent as characters, not escapes. Every "
                "error has the same body, ErrorBody, with a stable `code`.\n\n"
                "Every request carries `Authorization: Bearer <JWT>`. Deployed, API Gateway's Cognito "
                "authorizer verifies the user pool's ID token (people) or access token with the "
                "`servicedesk/partner` scope (partner systems), and the API reads the claims "
                "`custom:tenant_id`, `sub`, `custom:role` and, for agents, `custom:queues` "
                "(comma-separated). The local stack signs HS256 development tokens instead "
                "(`servicedesk token`), with the claims `tenant`, `sub`, `role`, `queues`, `exp` and "
                "`iss`. Roles are requester, agent, supervisor, admin and partner. Every read and "
                "write is scoped to the caller's tenant (docs/security.md)."
            ),
        },
        "tags": [
            {"name": "tickets", "description": "Tickets and their conversations."},
            {"name": "partners", "description": "Tickets opened and read by partner systems (HR, ERP, CRM)."},
            {"name": "webhooks", "description": "Endpoints of partners that receive the tenant's events over HTTPS."},
            {"name": "audit", "description": "The tenant's tamper-evident audit log."},
            {"name": "workflows", "description": "Onboarding and escalation workflows on Step Functions."},
            {"name": "approvals", "description": "Approvals decided by the decision policy or by people."},
            {"name": "customers", "description": "Customer profiles, the 360 view and known problems."},
            {"name": "surveys", "description": "CSAT and NPS surveys and the follow-up tasks of low scores."},
            {"name": "kpis", "description": "Service desk KPIs over a period."},
            {"name": "agents", "description": "Agents, their skills, capacity, working hours and presence, for routing."},
        ],
        "security": [{"bearerToken": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {code: error_response([code]) for code in COMMON_ERROR_CODES},
            "parameters": parameters,
            "headers": response_headers(),
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "Cognito ID token of a person, or Cognito access token of a partner system; "
                        "locally, a development token from `servicedesk token`."
                    ),
                },
                "partnerApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "API key of the partner usage plan; required on the /partner routes besides the token.",
                },
            },
        },
    }


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings as literal blocks, so descriptions read as text."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def render(document: dict[str, Any]) -> str:
    header = "# Generated by docs/generate_openapi.py from the Chalice routes and pydantic models; do not edit.\n"
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/generate_openapi.py", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing, and exit 1 when the file is stale")
    parser.add_argument("--output", type=Path, default=OPENAPI_PATH, help="document path (default: docs/openapi.yaml)")
    arguments = parser.parse_args(argv)

    text = render(build_document())
    current = arguments.output.read_text(encoding="utf-8") if arguments.output.is_file() else None
    if arguments.check:
        if current != text:
            print(f"stale: {arguments.output}. Run `python docs/generate_openapi.py` and commit the result.", file=sys.stderr)
            return 1
        return 0
    if current != text:
        arguments.output.write_text(text, encoding="utf-8")
        print(f"wrote {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
