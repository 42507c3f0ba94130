"""Tickets API: open, read, list and update tickets, and their conversation.

Every route sits behind API Gateway's Cognito authorizer. The /partner routes also require an
API key of the partner usage plan and a partner machine token; partner systems may call only
those (functions/domain/access.py).
"""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint
from chalice.app import Response

from functions import wiring
from functions.api.auth import partner_authorizer, user_authorizer
from functions.api.http import (
    HttpError,
    json_response,
    page_size,
    parse_body,
    query_param,
    queue_param,
    reject_unknown_query_params,
    resolve_caller,
    typed_errors,
)
from functions.domain import access
from functions.domain.ports import TicketFilter
from functions.models.caller import Caller
from functions.models.tickets import (
    AddMessageRequest,
    CreateTicketRequest,
    Priority,
    TicketStatus,
    UpdateTicketRequest,
)
from functions.observability import count, logger
from functions.settings import Settings, get_settings

blueprint = Blueprint(__name__)

# Chalice rejects unlisted media types with its own error body. Accepting every type here lets
# parse_body return 415 in the API's typed error format instead.
ANY_MEDIA_TYPE = ["*/*"]
# Query parameters of the list routes. Any other parameter is rejected with 400 naming it, so a
# misspelt filter cannot silently return the unfiltered list.
LIST_TICKETS_PARAMETERS = frozenset(
    {"status", "customer_id", "assignee_id", "queue", "priority", "requester_id", "limit", "cursor"}
)
LIST_MESSAGES_PARAMETERS = frozenset({"limit", "cursor"})
# Matched with fullmatch: "$" alone would also accept a trailing newline.
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")
_IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_ETAG_PATTERN = re.compile(r'^(?:W/)?"?([0-9]{1,18})"?$')


api_handler = typed_errors(blueprint)


@blueprint.route("/tickets", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def create_ticket() -> Response:
    return _create_ticket(partner_route=False)


@blueprint.route(
    "/partner/tickets",
    methods=["POST"],
    content_types=ANY_MEDIA_TYPE,
    authorizer=partner_authorizer,
    api_key_required=True,
)
@api_handler
def create_partner_ticket() -> Response:
    return _create_ticket(partner_route=True)


@blueprint.route("/partner/tickets/{ticket_id}", methods=["GET"], authorizer=partner_authorizer, api_key_required=True)
@api_handler
def get_partner_ticket(ticket_id: str) -> Response:
    caller = _caller(get_settings(), partner_route=True)
    ticket = wiring.ticket_service().get_ticket(caller, _path_id(ticket_id))
    return json_response(ticket.model_dump(mode="json"), headers={"ETag": _etag(ticket.version)})


def _create_ticket(partner_route: bool) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings, partner_route)
    body = parse_body(request, CreateTicketRequest, settings.max_body_bytes)
    key = _idempotency_key()

    def create() -> dict[str, Any]:
        ticket = wiring.ticket_service().create_ticket(caller, body)
        count("TicketsCreated")
        if ticket.escalated:
            count("Escalations")
        return ticket.model_dump(mode="json")

    if key is None:
        ticket = create()
    else:
        # The key is scoped to the user, so that no user can replay another user's stored response.
        ticket = wiring.idempotent_runner().run(
            "create_ticket",
            [caller.tenant_id, caller.user_id, key],
            body.model_dump(mode="json"),
            create,
            blueprint.lambda_context,
        )
    location = f"/partner/tickets/{ticket['ticket_id']}" if partner_route else f"/tickets/{ticket['ticket_id']}"
    return json_response(ticket, 201, headers={"Location": location, "ETag": _etag(ticket["version"])})


@blueprint.route("/tickets", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_tickets() -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    reject_unknown_query_params(request, LIST_TICKETS_PARAMETERS)
    filters = TicketFilter(
        status=_enum_param("status", TicketStatus),
        customer_id=_id_param("customer_id"),
        assignee_id=_id_param("assignee_id"),
        queue=queue_param(request),
        priority=_enum_param("priority", Priority),
        requester_id=_id_param("requester_id"),
    )
    page = wiring.ticket_service().list_tickets(
        caller, filters, page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(
        {"items": [ticket.model_dump(mode="json") for ticket in page.items], "next_cursor": page.next_cursor}
    )


@blueprint.route("/tickets/{ticket_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_ticket(ticket_id: str) -> Response:
    caller = _caller(get_settings())
    ticket = wiring.ticket_service().get_ticket(caller, _path_id(ticket_id))
    return json_response(ticket.model_dump(mode="json"), headers={"ETag": _etag(ticket.version)})


@blueprint.route("/tickets/{ticket_id}", methods=["PATCH"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def update_ticket(ticket_id: str) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    body = parse_body(request, UpdateTicketRequest, settings.max_body_bytes)
    expected_version = _expected_version(body.version)

    ticket = wiring.ticket_service().update_ticket(caller, _path_id(ticket_id), body, expected_version)
    logger.info("ticket patched", extra={"ticket_id": ticket.ticket_id, "version": ticket.version})
    return json_response(ticket.model_dump(mode="json"), headers={"ETag": _etag(ticket.version)})


@blueprint.route(
    "/tickets/{ticket_id}/messages", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer
)
@api_handler
def add_message(ticket_id: str) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    body = parse_body(request, AddMessageRequest, settings.max_body_bytes)
    ticket_id = _path_id(ticket_id)
    key = _idempotency_key()

    def add() -> dict[str, Any]:
        outcome = wiring.ticket_service().add_message(caller, ticket_id, body)
        count("MessagesProcessed")
        if outcome.escalated_now:
            count("Escalations")
        return {
            "message": outcome.message.model_dump(mode="json"),
            "ticket": outcome.ticket.model_dump(mode="json"),
        }

    if key is None:
        result = add()
    else:
        result = wiring.idempotent_runner().run(
            "add_message",
            [caller.tenant_id, caller.user_id, ticket_id, key],
            body.model_dump(mode="json"),
            add,
            blueprint.lambda_context,
        )
    return json_response(result, 201)


@blueprint.route("/tickets/{ticket_id}/messages", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_messages(ticket_id: str) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = _caller(settings)
    reject_unknown_query_params(request, LIST_MESSAGES_PARAMETERS)
    page = wiring.ticket_service().list_messages(
        caller, _path_id(ticket_id), page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(
        {"items": [message.model_dump(mode="json") for message in page.items], "next_cursor": page.next_cursor}
    )


def _caller(settings: Settings, partner_route: bool = False) -> Caller:
    """Resolve the caller (401 when unknown) and keep partner systems on their own routes (403)."""
    caller = resolve_caller(blueprint.current_request, settings)
    access.enforce(access.route_denial(caller, partner_route), caller, "call_route")
    return caller


def _etag(version: int) -> str:
    return f'"{version}"'


def _path_id(value: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise HttpError("not_found", "malformed id", resource="ticket", id=value[:64])
    return value


def _id_param(name: str) -> str | None:
    value = query_param(blueprint.current_request, name)
    if value is not None and not _ID_PATTERN.fullmatch(value):
        raise HttpError(
            "invalid_input",
            "bad filter",
            field=name,
            problem=f"{name} is not a valid id.",
            problem_ko=f"{name}은(는) 올바른 ID가 아닙니다.",
        )
    return value


def _enum_param(name: str, enum: type[TicketStatus] | type[Priority]) -> str | None:
    value = query_param(blueprint.current_request, name)
    if value is not None and value not in {member.value for member in enum}:
        allowed = ", ".join(member.value for member in enum)
        raise HttpError(
            "invalid_input",
            "bad filter",
            field=name,
            problem=f"{name} must be one of: {allowed}.",
            problem_ko=f"{name}은(는) 다음 중 하나여야 합니다: {allowed}.",
        )
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


def _expected_version(body_version: int | None) -> int | None:
    header = (blueprint.current_request.headers or {}).get("if-match")
    header_version = None
    if header is not None:
        match = _ETAG_PATTERN.fullmatch(header.strip())
        if match is None:
            raise HttpError(
                "invalid_input",
                "bad If-Match",
                field="If-Match",
                problem='If-Match must be the ticket\'s ETag, for example "3".',
                problem_ko='If-Match는 티켓의 ETag여야 합니다. 예: "3".',
            )
        header_version = int(match.group(1))
    if header_version is not None and body_version is not None and header_version != body_version:
        raise HttpError(
            "invalid_input",
            "versions differ",
            field="version",
            problem="If-Match and the version field name different versions; send one of them.",
            problem_ko="If-Match와 version 필드의 버전이 다릅니다. 하나만 보내 주세요.",
        )
    return header_version if header_version is not None else body_version
