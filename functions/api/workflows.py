"""Workflow API: start an onboarding, follow a workflow, cancel it.

Every route sits behind API Gateway's Cognito authorizer; the role rules are in
functions/domain/workflows/access.py.
"""

from __future__ import annotations

import re

from chalice import Blueprint
from chalice.app import Response

from functions import workflow_wiring
from functions.api.auth import user_authorizer
from functions.api.http import HttpError, json_response, parse_body, resolve_caller, typed_errors
from functions.domain import access as ticket_access
from functions.domain.workflows import access
from functions.models.caller import Caller
from functions.models.workflows import StartOnboardingRequest, Workflow
from functions.observability import count, logger
from functions.settings import get_settings

blueprint = Blueprint(__name__)

ANY_MEDIA_TYPE = ["*/*"]
_WORKFLOW_ID_PATTERN = re.compile(r"^wf-[a-z]{3}-[0-9a-f]{32}$")


class WorkflowView(Workflow):
    """Body of GET /workflows/{workflow_id}: the stored workflow and its execution's status."""

    execution_status: str | None = None


api_handler = typed_errors(blueprint)


@blueprint.route("/workflows/onboarding", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def start_onboarding() -> Response:
    settings = get_settings()
    caller = _caller()
    ticket_access.enforce(access.start_denial(caller), caller, "start_workflow")
    body = parse_body(blueprint.current_request, StartOnboardingRequest, settings.max_body_bytes)

    workflow, started = workflow_wiring.onboarding_service().start(caller, body.employee, body.requester_id)
    if started:
        count("OnboardingsStarted")
    return json_response(
        workflow.model_dump(mode="json"),
        201 if started else 200,
        headers={"Location": f"/workflows/{workflow.workflow_id}"},
    )


@blueprint.route("/workflows/{workflow_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_workflow(workflow_id: str) -> Response:
    caller = _caller()
    workflow, execution_status = workflow_wiring.workflow_admin().get(caller, _workflow_id(workflow_id))
    view = WorkflowView(**workflow.model_dump(), execution_status=execution_status)
    return json_response(view.model_dump(mode="json"))


@blueprint.route(
    "/workflows/{workflow_id}/cancel", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer
)
@api_handler
def cancel_workflow(workflow_id: str) -> Response:
    caller = _caller()
    workflow = workflow_wiring.workflow_admin().cancel(caller, _workflow_id(workflow_id))
    logger.info("workflow cancelled", extra={"tenant_id": caller.tenant_id, "workflow_id": workflow.workflow_id})
    return json_response(workflow.model_dump(mode="json"))


def _caller() -> Caller:
    """Resolve the caller (401 when unknown) and keep partner systems off these routes (403)."""
    caller = resolve_caller(blueprint.current_request, get_settings())
    ticket_access.enforce(ticket_access.route_denial(caller, partner_route=False), caller, "call_route")
    return caller


def _workflow_id(value: str) -> str:
    if not _WORKFLOW_ID_PATTERN.fullmatch(value):
        raise HttpError("not_found", "malformed id", resource="workflow", id=value[:64])
    return value
