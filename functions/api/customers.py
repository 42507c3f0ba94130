"""Customers API: profiles and the 360 view, known problems, surveys, follow-up tasks and KPIs.

Role rules are in functions/domain/customer_access.py. Partner CRM systems write profiles
through PUT /partner/customers/{customer_id} with their API key, and call nothing else here.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalice import Blueprint
from chalice.app import Response

from functions import wiring
from functions.api.auth import partner_authorizer, user_authorizer
from functions.api.http import (
    HttpError,
    json_response,
    page_size,
    queue_param,
    parse_body,
    query_param,
    reject_unknown_query_params,
    resolve_caller,
    typed_errors,
)
from functions.domain import access
from functions.models.caller import Caller
from functions.models.customers import (
    CompleteFollowUpRequest,
    CustomerProfileRequest,
    FollowUpPage,
    FollowUpStatus,
    KnownProblemRequest,
    SurveyAnswerRequest,
)
from functions.kpi_metrics import emit_kpi_metrics
from functions.observability import count
from functions.settings import Settings, get_settings

blueprint = Blueprint(__name__)

ANY_MEDIA_TYPE = ["*/*"]
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
_ETAG_PATTERN = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')
_IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_DAY_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
CUSTOMER_360_PARAMETERS = frozenset({"limit", "cursor"})
FOLLOW_UP_PARAMETERS = frozenset({"status", "limit", "cursor"})
KPI_PARAMETERS = frozenset({"from", "to", "queue"})


api_handler = typed_errors(blueprint)


# Customers.


@blueprint.route("/customers/{customer_id}", methods=["PUT"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def save_customer(customer_id: str) -> Response:
    return _save_customer(customer_id, partner_route=False)


@blueprint.route(
    "/partner/customers/{customer_id}",
    methods=["PUT"],
    content_types=ANY_MEDIA_TYPE,
    authorizer=partner_authorizer,
    api_key_required=True,
)
@api_handler
def save_partner_customer(customer_id: str) -> Response:
    return _save_customer(customer_id, partner_route=True)


@blueprint.route("/customers/{customer_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_customer(customer_id: str) -> Response:
    caller = _caller(get_settings())
    profile = wiring.customer_service().get_profile(caller, _path_id(customer_id, "customer"))
    return json_response(profile.model_dump(mode="json"), headers={"ETag": f'"{profile.version}"'})


@blueprint.route("/customers/{customer_id}/360", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_customer_360(customer_id: str) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    reject_unknown_query_params(request, CUSTOMER_360_PARAMETERS)
    view = wiring.customer_service().customer_360(
        caller, _path_id(customer_id, "customer"), page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(view.model_dump(mode="json"))


# Known problems.


@blueprint.route("/known-problems", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def create_known_problem() -> Response:
    settings = get_settings()
    caller = _caller(settings)
    body = parse_body(blueprint.current_request, KnownProblemRequest, settings.max_body_bytes)
    key = _idempotency_key()

    def create() -> dict[str, Any]:
        problem, created = wiring.customer_service().create_problem(caller, body)
        if created:
            count("KnownProblemsRecorded")
        return {"problem": problem.model_dump(mode="json"), "created": created}

    if key is None:
        result = create()
    else:
        # Without a problem_id, a retried request would record a second problem and notify
        # every customer twice; the key makes the retry return the first response.
        result = wiring.idempotent_runner().run(
            "create_known_problem",
            [caller.tenant_id, caller.user_id, key],
            body.model_dump(mode="json"),
            create,
            blueprint.lambda_context,
        )
    problem = result["problem"]
    return json_response(
        problem, 201 if result["created"] else 200, headers={"Location": f"/known-problems/{problem['problem_id']}"}
    )


@blueprint.route("/known-problems/{problem_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_known_problem(problem_id: str) -> Response:
    caller = _caller(get_settings())
    problem = wiring.customer_service().get_problem(caller, _path_id(problem_id, "known problem"))
    return json_response(problem.model_dump(mode="json"))


# Surveys.


@blueprint.route("/surveys/{survey_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_survey(survey_id: str) -> Response:
    caller = _caller(get_settings())
    survey = wiring.customer_service().get_survey(caller, _path_id(survey_id, "survey"))
    return json_response(survey.model_dump(mode="json"))


@blueprint.route("/surveys/{survey_id}/answer", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def answer_survey(survey_id: str) -> Response:
    settings = get_settings()
    caller = _caller(settings)
    body = parse_body(blueprint.current_request, SurveyAnswerRequest, settings.max_body_bytes)

    answer = wiring.customer_service().answer_survey(caller, _path_id(survey_id, "survey"), body)

    emit_kpi_metrics(answer.metrics)
    survey = answer.survey
    return json_response(survey.model_dump(mode="json"))


# Follow-up tasks.


@blueprint.route("/follow-ups", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_follow_ups() -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    reject_unknown_query_params(request, FOLLOW_UP_PARAMETERS)
    status = query_param(request, "status")
    if status is not None and status not in {member.value for member in FollowUpStatus}:
        raise HttpError(
            "invalid_input",
            "bad status",
            field="status",
            problem="status must be one of: open, done.",
            problem_ko="status는 open, done 중 하나여야 합니다.",
        )
    page = wiring.customer_service().list_follow_ups(
        caller, FollowUpStatus(status) if status else None, page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(FollowUpPage(items=page.items, next_cursor=page.next_cursor).model_dump(mode="json"))


@blueprint.route("/follow-ups/{task_id}/complete", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def complete_follow_up(task_id: str) -> Response:
    settings = get_settings()
    caller = _caller(settings)
    body = parse_body(blueprint.current_request, CompleteFollowUpRequest, settings.max_body_bytes)
    task = wiring.customer_service().complete_follow_up(caller, _path_id(task_id, "follow-up task"), body)
    return json_response(task.model_dump(mode="json"))


# KPIs.


@blueprint.route("/kpis", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_kpis() -> Response:
    request = blueprint.current_request
    caller = _caller(get_settings())
    reject_unknown_query_params(request, KPI_PARAMETERS)
    from_day = _day_param("from")
    to_day = _day_param("to")
    queue = queue_param(request)
    report = wiring.customer_service().kpis(caller, from_day, to_day, queue)
    return json_response(report.model_dump(mode="json"))


def _save_customer(customer_id: str, partner_route: bool) -> Response:
    settings = get_settings()
    caller = _caller(settings, partner_route)
    body = parse_body(blueprint.current_request, CustomerProfileRequest, settings.max_body_bytes)

    profile, created = wiring.customer_service().save_profile(
        caller, _path_id(customer_id, "customer"), body, _if_match()
    )

    location = f"/customers/{profile.customer_id}"
    return json_response(
        profile.model_dump(mode="json"), 201 if created else 200, headers={"Location": location, "ETag": f'"{profile.version}"'}
    )


def _caller(settings: Settings, partner_route: bool = False) -> Caller:
    """Resolve the caller (401 when unknown) and keep partner systems on their own routes (403)."""
    caller = resolve_caller(blueprint.current_request, settings)
    access.enforce(access.route_denial(caller, partner_route), caller, "call_route")
    return caller


def _path_id(value: str, resource: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise HttpError("not_found", "malformed id", resource=resource, id=value[:64])
    return value


def _idempotency_key() -> str | None:
    value = (blueprint.current_request.headers or {}).get("idempotency-key")
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise HttpError(
            "invalid_input",
            "bad idempotency key",
            field="Idempotency-Key",
            problem="Idempotency-Key must be 1 to 255 visible ASCII characters.",
            problem_ko="Idempotency-Key는 보이는 ASCII 문자 1~255자여야 합니다.",
        )
    return value


def _if_match() -> int | None:
    header = (blueprint.current_request.headers or {}).get("if-match")
    if header is None:
        return None
    match = _ETAG_PATTERN.fullmatch(header.strip())
    if match is None:
        raise HttpError(
            "invalid_input",
            "bad If-Match",
            field="If-Match",
            problem='If-Match must be the profile\'s ETag, for example "3".',
            problem_ko='If-Match는 프로필의 ETag여야 합니다. 예: "3".',
        )
    return int(match.group(1))


def _day_param(name: str) -> date:
    value = query_param(blueprint.current_request, name)
    if value is None:
        raise HttpError(
            "invalid_input",
            "missing day",
            field=name,
            problem=f"{name} is required, as a date YYYY-MM-DD.",
            problem_ko=f"{name}은(는) 필수이며 YYYY-MM-DD 형식의 날짜여야 합니다.",
        )
    try:
        if not _DAY_PATTERN.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as error:
        raise HttpError(
            "invalid_input",
            "bad day",
            field=name,
            problem=f"{name} must be a date YYYY-MM-DD.",
            problem_ko=f"{name}은(는) YYYY-MM-DD 형식의 날짜여야 합니다.",
        ) from error
