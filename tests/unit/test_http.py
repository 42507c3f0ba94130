"""Request parsing, languages and error bodies, without AWS."""

from __future__ import annotations

import json

import pytest
from chalice.app import Request

from functions.api.http import HttpError, parse_body, resolve_caller, response_for_error
from functions.api.messages import CATALOGUE, preferred_language, render
from functions.domain.errors import InvalidTransitionError, NotFoundError
from functions.models.tickets import CreateTicketRequest
from functions.settings import Settings


def make_request(body: bytes = b"", headers: dict[str, str] | None = None, context: dict | None = None) -> Request:
    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": headers or {},
            "pathParameters": None,
            "requestContext": {"httpMethod": "POST", "resourcePath": "/tickets", **(context or {})},
            "body": body.decode("utf-8") if body else None,
            "isBase64Encoded": False,
            "stageVariables": None,
        }
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("ko", "ko"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR, ko;q=0.5", "ko"),
        ("ko;q=0, en;q=0.1", "en"),
        ("ko;q=abc", "en"),
        ("*", "en"),
    ],
)
def test_preferred_language(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected


def test_every_message_has_both_languages() -> None:
    for code, templates in CATALOGUE.items():
        assert set(templates) == {"en", "ko"}, code


def test_render_keeps_unknown_placeholders() -> None:
    assert "{resource}" in render("not_found", "en", {"id": "x"})


def test_parse_body_rejects_oversized() -> None:
    request = make_request(b"{" + b" " * 2000 + b"}", {"content-type": "application/json"})

    with pytest.raises(HttpError) as caught:
        parse_body(request, CreateTicketRequest, max_bytes=1024)

    assert caught.value.code == "payload_too_large"
    assert caught.value.details == {"size": 2002, "limit": 1024}


def test_parse_body_accepts_utf8_charset() -> None:
    body = json.dumps(
        {"title": "한글 제목", "requester_id": "r1", "customer_id": "c1", "channel": "chat"}, ensure_ascii=False
    ).encode()
    request = make_request(body, {"content-type": "application/json; charset=UTF-8"})

    assert parse_body(request, CreateTicketRequest, max_bytes=4096).title == "한글 제목"


def test_caller_from_authorizer_claims() -> None:
    claims = {"custom:tenant_id": "acme", "sub": "user-1", "custom:role": "supervisor"}
    request = make_request(context={"authorizer": {"claims": claims}})

    caller = resolve_caller(request, Settings(caller_source="authorizer"))

    assert (caller.tenant_id, caller.user_id, caller.role.value) == ("acme", "user-1", "supervisor")


def test_authorizer_mode_ignores_headers() -> None:
    request = make_request(headers={"x-tenant-id": "acme", "x-user-id": "u", "x-role": "admin"})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, Settings(caller_source="authorizer"))

    assert caught.value.code == "unauthorized"


@pytest.mark.parametrize("tenant", ["ac me", "a#b", "x" * 200, ""])
def test_malformed_tenant_is_401(tenant: str) -> None:
    request = make_request(headers={"x-tenant-id": tenant, "x-user-id": "u", "x-role": "agent"})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, Settings(caller_source="headers"))

    assert caught.value.code == "unauthorized"


def test_domain_errors_map_to_status() -> None:
    request = make_request(headers={"accept-language": "ko"})

    not_found = response_for_error(request, NotFoundError("ticket", "T1"), "req-1")
    transition = response_for_error(request, InvalidTransitionError("T1", "closed", "new", ["reopened"]), None)

    assert not_found.status_code == 404
    assert json.loads(not_found.body)["request_id"] == "req-1"
    assert transition.status_code == 409
    assert "reopened" in json.loads(transition.body)["message"]


def test_unexpected_error_is_500_without_detail() -> None:
    response = response_for_error(make_request(), RuntimeError("secret internals"), None)

    assert response.status_code == 500
    assert "secret" not in response.body
