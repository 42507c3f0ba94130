"""Agents API: administrators and supervisors register and update agents; agents set their own presence."""

from __future__ import annotations

import re

from chalice import Blueprint
from chalice.app import Response

from functions import wiring
from functions.api.auth import user_authorizer
from functions.api.http import HttpError, json_response, parse_body, reject_unknown_query_params, resolve_caller, typed_errors
from functions.domain import access
from functions.models.agents import AgentList, PresenceRequest, RegisterAgentRequest, UpdateAgentRequest
from functions.models.caller import Caller
from functions.observability import count
from functions.settings import get_settings

blueprint = Blueprint(__name__)

# Accepting every media type lets parse_body return 415 in the API's error format.
ANY_MEDIA_TYPE = ["*/*"]
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
_ETAG_PATTERN = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')


api_handler = typed_errors(blueprint)


@blueprint.route("/agents", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def register_agent() -> Response:
    settings = get_settings()
    caller = _caller()
    body = parse_body(blueprint.current_request, RegisterAgentRequest, settings.max_body_bytes)

    agent = wiring.agent_service().register(caller, body)

    count("AgentsRegistered")
    return json_response(
        agent.model_dump(mode="json"), 201, headers={"Location": f"/agents/{agent.agent_id}", "ETag": _etag(agent.version)}
    )


@blueprint.route("/agents", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_agents() -> Response:
    caller = _caller()
    reject_unknown_query_params(blueprint.current_request, frozenset())
    agents = wiring.agent_service().list(caller)
    return json_response(AgentList(items=agents).model_dump(mode="json"))


@blueprint.route("/agents/{agent_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_agent(agent_id: str) -> Response:
    caller = _caller()
    agent = wiring.agent_service().get(caller, _path_id(agent_id))
    return json_response(agent.model_dump(mode="json"), headers={"ETag": _etag(agent.version)})


@blueprint.route("/agents/{agent_id}", methods=["PATCH"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def update_agent(agent_id: str) -> Response:
    settings = get_settings()
    caller = _caller()
    body = parse_body(blueprint.current_request, UpdateAgentRequest, settings.max_body_bytes)

    agent = wiring.agent_service().update(caller, _path_id(agent_id), body, _expected_version(body.version))

    return json_response(agent.model_dump(mode="json"), headers={"ETag": _etag(agent.version)})


@blueprint.route("/agents/{agent_id}/presence", methods=["PUT"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def set_presence(agent_id: str) -> Response:
    settings = get_settings()
    caller = _caller()
    body = parse_body(blueprint.current_request, PresenceRequest, settings.max_body_bytes)

    agent = wiring.agent_service().set_presence(caller, _path_id(agent_id), body)

    return json_response(agent.model_dump(mode="json"), headers={"ETag": _etag(agent.version)})


def _caller() -> Caller:
    """Resolve the caller (401 when unknown) and keep partner systems off these routes (403)."""
    caller = resolve_caller(blueprint.current_request, get_settings())
    access.enforce(access.route_denial(caller, partner_route=False), caller, "call_route")
    return caller


def _etag(version: int) -> str:
    return f'"{version}"'


def _path_id(value: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise HttpError("not_found", "malformed id", resource="agent", id=value[:64])
    return value


def _expected_version(body_version: int | None) -> int | None:
    header = (blueprint.current_request.headers or {}).get("if-match")
    if header is None:
        return body_version
    match = _ETAG_PATTERN.fullmatch(header.strip())
    if match is None:
        raise HttpError(
            "invalid_input",
            "bad If-Match",
            field="If-Match",
            problem='If-Match must be the agent\'s ETag, for example "3".',
            problem_ko='If-Match는 상담원의 ETag여야 합니다. 예: "3".',
        )
    header_version = int(match.group(1))
    if body_version is not None and header_version != body_version:
        raise HttpError(
            "invalid_input",
            "versions differ",
            field="version",
            problem="If-Match and the version field name different versions; send one of them.",
            problem_ko="If-Match와 version 필드의 버전이 다릅니다. 하나만 보내 주세요.",
        )
    return header_version
