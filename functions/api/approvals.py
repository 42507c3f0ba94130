"""Approvals API: list the approvals waiting for a person, and decide one.

Every route sits behind API Gateway's Cognito authorizer; the role rules are in
functions/domain/workflows/access.py.
"""

from __future__ import annotations

import re

from chalice import Blueprint
from chalice.app import Response

from functions import workflow_wiring
from functions.api.auth import user_authorizer
from functions.api.http import (
    HttpError,
    json_response,
    page_size,
    parse_body,
    query_param,
    reject_unknown_query_params,
    resolve_caller,
    typed_errors,
)
from functions.domain import access as ticket_access
from functions.models.caller import Caller
from functions.models.workflows import DecisionRequest
from functions.observability import count, logger
from functions.settings import get_settings

blueprint = Blueprint(__name__)

ANY_MEDIA_TYPE = ["*/*"]
LIST_APPROVALS_PARAMETERS = frozenset({"assignee", "limit", "cursor"})
_APPROVAL_ID_PATTERN = re.compile(r"^ap-[0-9a-f]{32}$")
_USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")


api_handler = typed_errors(blueprint)


@blueprint.route("/approvals", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_approvals() -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller()
    reject_unknown_query_params(request, LIST_APPROVALS_PARAMETERS)
    assignee = query_param(request, "assignee") or caller.user_id
    if not _USER_ID_PATTERN.fullmatch(assignee):
        raise HttpError(
            "invalid_input",
            "bad assignee",
            field="assignee",
            problem="assignee is not a valid user id.",
            problem_ko="assignee는 올바른 사용자 ID가 아닙니다.",
        )

    page = workflow_wiring.approval_service().list_for(
        caller, assignee, page_size(request, settings), query_param(request, "cursor")
    )
    return json_response({"items": [item.model_dump(mode="json") for item in page.items], "next_cursor": page.next_cursor})


@blueprint.route(
    "/approvals/{approval_id}/decision", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer
)
@api_handler
def decide_approval(approval_id: str) -> Response:
    settings = get_settings()
    caller = _caller()
    body = parse_body(blueprint.current_request, DecisionRequest, settings.max_body_bytes)

    approval = workflow_wiring.approval_service().decide(caller, _approval_id(approval_id), body)
    count("ApprovalsOverruled" if approval.overruled else "ApprovalsDecided")
    logger.info(
        "approval decided",
        extra={"tenant_id": caller.tenant_id, "approval_id": approval.approval_id, "status": approval.status.value},
    )
    return json_response(approval.model_dump(mode="json"))


def _caller() -> Caller:
    caller = resolve_caller(blueprint.current_request, get_settings())
    ticket_access.enforce(ticket_access.route_denial(caller, partner_route=False), caller, "call_route")
    return caller


def _approval_id(value: str) -> str:
    if not _APPROVAL_ID_PATTERN.fullmatch(value):
        raise HttpError("not_found", "malformed id", resource="approval", id=value[:64])
    return value
