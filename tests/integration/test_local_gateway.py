"""The local gateway responds as API Gateway does, with the template's GatewayResponses: unknown routes,
wrong methods and missing partner API keys get the typed error body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.api.http import STATUS_BY_CODE
from infra.local import gateway
from tests.conftest import Api, dev_token

PARTNER_KEY = "partner-key-for-tests-0123456789"
TICKET_BODY = {"title": "printer jam", "requester_id": "emp-1", "customer_id": "c1", "channel": "web_form"}


def partner_headers(tenant: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {dev_token(tenant, 'hr-system', 'partner')}",
        **extra,
    }


def call(client: Any, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode() if body is not None else b""
    response = getattr(client.http, method.lower())(path, headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no-such-route"), ("GET", "/tickets/abc/nothing"), ("DELETE", "/tickets"), ("PUT", "/audit/verify")],
)
def test_unknown_route_gets_typed_404(client: Any, tenant: str, method: str, path: str) -> None:
    headers = Api(client, tenant).headers

    status, body = call(client, method, path, headers)

    assert status == 404
    assert body["code"] == "route_not_found"
    assert STATUS_BY_CODE[body["code"]] == status
    assert body["details"] == {"gateway_error": "Missing Authentication Token"}
    assert body["message"].startswith("No route matches this method and path.")
    assert "이 메서드와 경로에 맞는 API가 없습니다." in body["message"]
    assert body["request_id"]


def test_unknown_route_body_is_template(client: Any) -> None:
    status, body = call(client, "GET", "/nothing-here", {})
    expected_status, expected_body = gateway.render_gateway_response(
        "MISSING_AUTHENTICATION_TOKEN", body["request_id"], "Missing Authentication Token"
    )

    assert status == expected_status
    assert body == json.loads(expected_body)


def test_partner_route_needs_api_key(client: Any, tenant: str) -> None:
    with gateway.installed(api_keys=frozenset({PARTNER_KEY})):
        missing = call(client, "POST", "/partner/tickets", partner_headers(tenant), TICKET_BODY)
        wrong = call(client, "POST", "/partner/tickets", partner_headers(tenant, **{"x-api-key": "guess"}), TICKET_BODY)
        accepted = call(client, "POST", "/partner/tickets", partner_headers(tenant, **{"x-api-key": PARTNER_KEY}), TICKET_BODY)

    for status, body in (missing, wrong):
        assert status == 403
        assert body["code"] == "forbidden"
        assert body["details"] == {"reason": "api_key_invalid", "gateway_error": "Forbidden"}
        assert body["request_id"]
    assert accepted[0] == 201, accepted[1]


def test_people_routes_need_no_api_key(client: Any, tenant: str) -> None:
    with gateway.installed(api_keys=frozenset({PARTNER_KEY})):
        response = Api(client, tenant).call("get", "/tickets")

    assert response.status_code == 200


def test_api_key_checked_before_token(client: Any) -> None:
    with gateway.installed(api_keys=frozenset({PARTNER_KEY})):
        status, body = call(client, "GET", "/partner/tickets/01JNF7YDH8GR6NT5ECPM4D48SQ", {})

    assert status == 403
    assert body["details"]["reason"] == "api_key_invalid"


@pytest.mark.parametrize("response_type", sorted(gateway.gateway_responses()))
def test_gateway_responses_render_typed_json(response_type: str) -> None:
    status, raw = gateway.render_gateway_response(response_type, "req-1", 'text with "quotes"')

    body = json.loads(raw)
    assert set(body) == {"code", "message", "details", "request_id"}
    assert body["request_id"] == "req-1"
    assert body["details"]["gateway_error"] == 'text with "quotes"'
    assert body["code"] in STATUS_BY_CODE
    if response_type.startswith("DEFAULT_"):
        assert status in (400, 500)
    else:
        assert STATUS_BY_CODE[body["code"]] == status
