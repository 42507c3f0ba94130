"""Audit API: read a tenant's audit entries and verify its hash chain.

Both routes sit behind API Gateway's Cognito authorizer, like every user route.
"""

from __future__ import annotations

import re

from chalice import Blueprint
from chalice.app import Response

from functions import wiring
from functions.api.auth import user_authorizer
from functions.api.http import HttpError, json_response, page_size, query_param, resolve_caller, typed_errors
from functions.observability import logger
from functions.settings import get_settings

blueprint = Blueprint(__name__)

_RESOURCE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,255}$")
_WHOLE_NUMBER_PATTERN = re.compile(r"^[0-9]{1,15}$")


api_handler = typed_errors(blueprint)


@blueprint.route("/audit/verify", methods=["GET"], authorizer=user_authorizer)
@api_handler
def verify_audit_log() -> Response:
    request = blueprint.current_request
    caller = resolve_caller(request, get_settings())

    report = wiring.audit_service().verify(
        caller,
        from_sequence=_whole_number("from_sequence"),
        limit=_whole_number("limit"),
        cursor=query_param(request, "cursor"),
    )
    log = logger.info if report.intact else logger.warning
    log(
        "audit log verified",
        extra={
            "tenant_id": caller.tenant_id,
            "intact": report.intact,
            "from_sequence": report.from_sequence,
            "through_sequence": report.through_sequence,
            "first_broken": report.first_broken.model_dump() if report.first_broken else None,
        },
    )
    return json_response(report.model_dump(mode="json"))


@blueprint.route("/audit", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_audit_entries() -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = resolve_caller(request, settings)
    resource_id = query_param(request, "resource_id")
    if resource_id is not None and not _RESOURCE_ID_PATTERN.match(resource_id):
        raise HttpError(
            "invalid_input",
            "bad resource id",
            field="resource_id",
            problem="resource_id is not a valid id.",
            problem_ko="resource_id는 올바른 ID가 아닙니다.",
        )

    page = wiring.audit_service().list_entries(
        caller, resource_id, page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(page.model_dump(mode="json"))


def _whole_number(name: str) -> int | None:
    value = query_param(blueprint.current_request, name)
    if value is None:
        return None
    if not _WHOLE_NUMBER_PATTERN.match(value):
        raise HttpError(
            "invalid_input",
            f"bad {name}",
            field=name,
            problem=f"{name} must be a whole number of at most 15 digits.",
            problem_ko=f"{name}은(는) 15자리 이하의 정수여야 합니다.",
        )
    return int(value)
