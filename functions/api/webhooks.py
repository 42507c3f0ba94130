"""Webhooks API: admins and supervisors register the endpoints that receive the tenant's events."""

from __future__ import annotations

import re

from chalice import Blueprint
from chalice.app import Response

from functions import wiring
from functions.api.auth import user_authorizer
from functions.api.http import HttpError, json_response, page_size, parse_body, query_param, resolve_caller, typed_errors
from functions.models.webhooks import CreateWebhookRequest, WebhookList
from functions.observability import count
from functions.settings import get_settings

blueprint = Blueprint(__name__)

# Accepting every media type lets parse_body return 415 in the API's error format.
ANY_MEDIA_TYPE = ["*/*"]
_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{1,64}$")
# Responses that carry a signing secret must not be kept by any cache on the way.
NO_STORE = {"Cache-Control": "no-store"}


api_handler = typed_errors(blueprint)


@blueprint.route("/webhooks", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def create_webhook() -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = resolve_caller(request, settings)
    body = parse_body(request, CreateWebhookRequest, settings.max_body_bytes)

    created = wiring.webhook_service().register(caller, body)

    count("WebhooksRegistered")
    return json_response(
        created.model_dump(mode="json"), 201, headers={"Location": f"/webhooks/{created.webhook_id}", **NO_STORE}
    )


@blueprint.route("/webhooks", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_webhooks() -> Response:
    caller = resolve_caller(blueprint.current_request, get_settings())
    webhooks = wiring.webhook_service().list_webhooks(caller)
    return json_response(WebhookList(items=webhooks).model_dump(mode="json"))


@blueprint.route("/webhooks/{webhook_id}", methods=["GET"], authorizer=user_authorizer)
@api_handler
def get_webhook(webhook_id: str) -> Response:
    caller = resolve_caller(blueprint.current_request, get_settings())
    webhook = wiring.webhook_service().get_webhook(caller, _path_id(webhook_id))
    return json_response(webhook.model_dump(mode="json"))


@blueprint.route("/webhooks/{webhook_id}", methods=["DELETE"], authorizer=user_authorizer)
@api_handler
def delete_webhook(webhook_id: str) -> Response:
    caller = resolve_caller(blueprint.current_request, get_settings())
    wiring.webhook_service().delete_webhook(caller, _path_id(webhook_id))
    return Response(body="", status_code=204)


@blueprint.route("/webhooks/{webhook_id}/rotate-secret", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def rotate_webhook_secret(webhook_id: str) -> Response:
    caller = resolve_caller(blueprint.current_request, get_settings())
    rotated = wiring.webhook_service().rotate_secret(caller, _path_id(webhook_id))
    return json_response(rotated.model_dump(mode="json"), headers=NO_STORE)


@blueprint.route("/webhooks/{webhook_id}/enable", methods=["POST"], content_types=ANY_MEDIA_TYPE, authorizer=user_authorizer)
@api_handler
def enable_webhook(webhook_id: str) -> Response:
    caller = resolve_caller(blueprint.current_request, get_settings())
    webhook = wiring.webhook_service().enable(caller, _path_id(webhook_id))
    return json_response(webhook.model_dump(mode="json"))


@blueprint.route("/webhooks/{webhook_id}/deliveries", methods=["GET"], authorizer=user_authorizer)
@api_handler
def list_webhook_deliveries(webhook_id: str) -> Response:
    request = blueprint.current_request
    settings = get_settings()
    caller = resolve_caller(request, settings)
    page = wiring.webhook_service().deliveries(
        caller, _path_id(webhook_id), page_size(request, settings), query_param(request, "cursor")
    )
    return json_response(
        {"items": [attempt.model_dump(mode="json") for attempt in page.items], "next_cursor": page.next_cursor}
    )


def _path_id(value: str) -> str:
    if not _ID_PATTERN.match(value):
        raise HttpError("not_found", "malformed id", resource="webhook", id=value[:64])
    return value
