"""Request parsing, languages and error bodies, without AWS."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import jwt
import pytest
from chalice.app import Request
from pydantic import ValidationError

from functions.api.auth import mint_dev_token
from functions.api.http import STATUS_BY_CODE, HttpError, parse_body, resolve_caller, response_for_error
from functions.api.messages import CATALOGUE, preferred_language, render
from functions.domain.errors import InvalidTransitionError, NotFoundError
from functions.models.tickets import CreateTicketRequest
from functions.settings import Settings

SECRET = "unit-test-secret-for-development-tokens-0123"
ISSUER = "servicedesk-local"
DEV_SETTINGS = Settings(caller_source="dev_tokens", dev_token_secret=SECRET, dev_token_issuer=ISSUER)


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


def bearer(token: str) -> Request:
    return make_request(headers={"authorization": f"Bearer {token}"})


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
    claims = {"custom:tenant_id": "acme", "sub": "user-1", "custom:role": "agent", "custom:queues": "hardware, identity"}
    request = make_request(context={"authorizer": {"claims": claims}})

    caller = resolve_caller(request, Settings(caller_source="authorizer"))

    assert (caller.tenant_id, caller.user_id, caller.role.value) == ("acme", "user-1", "agent")
    assert caller.queues == frozenset({"hardware", "identity"})


def test_authorizer_mode_ignores_bearer_token() -> None:
    token = mint_dev_token(SECRET, ISSUER, "acme", "u", "admin", timedelta(minutes=5))
    request = make_request(headers={"authorization": f"Bearer {token}"})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, Settings(caller_source="authorizer"))

    assert caught.value.code == "unauthorized"
    assert caught.value.details["reason"] == "claims_missing"


def test_dev_token_identifies_caller() -> None:
    token = mint_dev_token(SECRET, ISSUER, "acme", "user-1", "agent", timedelta(minutes=5), ["hardware"])

    caller = resolve_caller(bearer(token), DEV_SETTINGS)

    assert (caller.tenant_id, caller.user_id, caller.role.value) == ("acme", "user-1", "agent")
    assert caller.queues == frozenset({"hardware"})


def test_dev_mode_ignores_unverified_claims() -> None:
    claims = {"custom:tenant_id": "acme", "sub": "user-1", "custom:role": "admin"}
    request = make_request(context={"authorizer": {"claims": claims}})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, DEV_SETTINGS)

    assert caught.value.code == "unauthorized"
    assert caught.value.details["reason"] == "missing"


def signed(claims: dict, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def valid_claims(**changes: object) -> dict:
    now = int(time.time())
    # The parameter tables below sign their tokens when pytest collects them, which can be long
    # before a test runs in a full suite, so a token stays valid for a day.
    claims = {"iss": ISSUER, "sub": "user-1", "tenant": "acme", "role": "requester", "iat": now, "exp": now + 86_400}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    ("authorization", "code", "reason"),
    [
        (None, "unauthorized", "missing"),
        ("", "unauthorized", "missing"),
        ("Basic dXNlcjpwYXNz", "token_invalid", "malformed"),
        ("Bearer ", "token_invalid", "malformed"),
        ("Bearer not-a-jwt", "token_invalid", "malformed"),
        ("Bearer a.b.c", "token_invalid", "malformed"),
        ("Bearer " + "x" * 9000, "token_invalid", "malformed"),
        ("Bearer " + signed(valid_claims(exp=int(time.time()) - 3600)), "token_expired", "expired"),
        ("Bearer " + signed(valid_claims(), secret="another-secret-of-sufficient-length-0123456"), "token_invalid", "bad_signature"),
        ("Bearer " + signed(valid_claims(iss="someone-else")), "token_invalid", "wrong_issuer"),
        ("Bearer " + signed(valid_claims(tenant=None)), "token_invalid", "claims_missing"),
        ("Bearer " + signed(valid_claims(exp=None)), "token_invalid", "claims_missing"),
        ("Bearer " + signed(valid_claims(iat=int(time.time()) + 3600)), "token_invalid", "not_yet_valid"),
        ("Bearer " + signed(valid_claims(iat=None)), "token_invalid", "claims_missing"),
        ("Bearer " + signed(valid_claims(exp=int(time.time()) + 31 * 365 * 86_400)), "token_invalid", "lifetime_too_long"),
        ("Bearer " + signed(valid_claims(), secret=SECRET * 2, algorithm="HS512"), "token_invalid", "malformed"),
        ("Bearer " + signed(valid_claims(), secret="", algorithm="none"), "token_invalid", "malformed"),
        ("Bearer " + signed(valid_claims(role="root")), "token_invalid", "claims_invalid"),
        ("Bearer " + signed(valid_claims(queues=["a", "b"])), "token_invalid", "claims_invalid"),
    ],
    ids=[
        "absent", "empty", "basic-scheme", "empty-bearer", "not-jwt", "garbage-segments", "oversized", "expired",
        "bad-signature", "wrong-issuer", "no-tenant", "no-exp", "issued-in-future", "no-iat", "lifetime-over-a-day",
        "other-algorithm", "alg-none",
        "unknown-role", "queues-not-string",
    ],
)
def test_bad_dev_token_is_401(authorization: str | None, code: str, reason: str) -> None:
    request = make_request(headers={"authorization": authorization} if authorization is not None else {})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, DEV_SETTINGS)

    assert caught.value.code == code
    assert caught.value.details["reason"] == reason
    assert STATUS_BY_CODE[code] == 401


@pytest.mark.parametrize("tenant", ["ac me", "a#b", "x" * 200, ""])
def test_malformed_tenant_is_401(tenant: str) -> None:
    token = signed(valid_claims(tenant=tenant or None))

    with pytest.raises(HttpError) as caught:
        resolve_caller(bearer(token), DEV_SETTINGS)

    assert caught.value.code == "token_invalid"


def test_denial_log_omits_token(caplog: pytest.LogCaptureFixture) -> None:
    token = signed(valid_claims(exp=int(time.time()) - 60))
    request = make_request(
        headers={"authorization": f"Bearer {token}"}, context={"requestId": "req-42", "resourcePath": "/tickets"}
    )

    with caplog.at_level(logging.WARNING, logger="servicedesk"), pytest.raises(HttpError):
        resolve_caller(request, DEV_SETTINGS)

    [record] = [record for record in caplog.records if record.getMessage() == "request unauthenticated"]
    assert record.request_id == "req-42"
    assert record.reason == "expired"
    assert token not in caplog.text
    assert token.split(".")[1] not in caplog.text


@pytest.mark.parametrize(("language", "expected"), [("en", "has expired"), ("ko", "만료되었습니다")])
def test_expired_token_body_is_typed(language: str, expected: str) -> None:
    token = signed(valid_claims(exp=int(time.time()) - 60))
    request = make_request(headers={"authorization": f"Bearer {token}", "accept-language": language})

    with pytest.raises(HttpError) as caught:
        resolve_caller(request, DEV_SETTINGS)
    response = response_for_error(request, caught.value, "req-1")
    body = json.loads(response.body)

    assert response.status_code == 401
    assert body["code"] == "token_expired"
    assert body["details"]["reason"] == "expired"
    assert expected in body["message"]
    assert token not in response.body


def test_dev_tokens_need_long_secret() -> None:
    with pytest.raises(ValidationError, match="DEV_TOKEN_SECRET"):
        Settings(caller_source="dev_tokens", dev_token_secret="short")


def test_dev_tokens_rejected_inside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.11")

    with pytest.raises(ValidationError, match="cannot run inside Lambda"):
        Settings(caller_source="dev_tokens", dev_token_secret=SECRET)


def test_headers_caller_source_is_gone() -> None:
    with pytest.raises(ValidationError):
        Settings(caller_source="headers")


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


def test_domain_problem_in_korean() -> None:
    from functions.domain.errors import InvalidInputError

    error = InvalidInputError(
        "`to` must not be before `from`", problem_ko="`to`는 `from`보다 앞설 수 없습니다.", field="to"
    )

    korean = json.loads(response_for_error(make_request(headers={"accept-language": "ko"}), error, "r1").body)
    english = json.loads(response_for_error(make_request(headers={"accept-language": "en"}), error, "r1").body)

    assert korean["message"] == "요청이 올바르지 않습니다: `to`는 `from`보다 앞설 수 없습니다. 값을 고친 뒤 다시 보내 주세요."
    assert korean["details"] == {"field": "to", "problem": "`to`는 `from`보다 앞설 수 없습니다."}
    assert english["message"] == "The request is invalid: `to` must not be before `from`. Fix the value and send it again."
    assert english["details"]["problem"] == "`to` must not be before `from`"


def test_request_problem_in_korean() -> None:
    error = HttpError(
        "invalid_input", "bad limit", field="limit", problem="limit must be 1 to 9.", problem_ko="limit는 1에서 9 사이여야 합니다."
    )

    korean = json.loads(response_for_error(make_request(headers={"accept-language": "ko"}), error, "r1").body)

    assert korean["message"] == "요청이 올바르지 않습니다: limit는 1에서 9 사이여야 합니다. 값을 고친 뒤 다시 보내 주세요."
    assert korean["details"]["problem"] == "limit는 1에서 9 사이여야 합니다."


def test_every_rejected_value_has_korean_problem() -> None:
    import ast
    from pathlib import Path

    missing = []
    for path in sorted((Path(__file__).parents[2] / "functions").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            keywords = {keyword.arg for keyword in node.keywords}
            domain_error = node.func.id == "InvalidInputError"
            code = getattr(node.args[0], "value", None) if node.args else None
            request_error = node.func.id == "HttpError" and code == "invalid_input" and "problem" in keywords
            if (domain_error or request_error) and "problem_ko" not in keywords:
                missing.append(f"{path}:{node.lineno}")

    assert missing == []
