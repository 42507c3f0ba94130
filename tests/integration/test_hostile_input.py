"""Hostile requests get a 4xx error naming what was wrong, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Api

TICKET = {"title": "노트북 전원 문제", "requester_id": "requester-1", "customer_id": "customer-1", "channel": "web_form"}


def post_raw(api: Api, path: str, raw: bytes) -> Any:
    return api.call("post", path, raw)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested more than 32 levels deep"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "nested more than 32 levels deep"),
        (b'{"title": "a", "title": "b", "requester_id": "r", "customer_id": "c", "channel": "chat"}', "key 'title' appears more than once"),
        (b'{"title": "a", "attachments": [{"bucket": "abc", "bucket": "abd", "key": "k"}]}', "key 'bucket' appears more than once"),
        (b'{"title": NaN}', "NaN is not a JSON number"),
        (b'{"title": 1e999}', "out of range"),
        (b'{"title": ' + b"9" * 5000 + b"}", "more than 40 digits"),
        (b'{"title": "\\ud800", "requester_id": "r", "customer_id": "c", "channel": "chat"}', "lone UTF-16 surrogate"),
        (b'{"title": "\xff\xfe"}', "invalid UTF-8 at byte 11"),
        (b'{"title": "\xc0\xaf"}', "invalid UTF-8 at byte 11"),
        (b"\xef\xbb\xbf" + json.dumps(TICKET).encode(), "BOM"),
    ],
)
def test_malformed_json_is_400(api: Api, raw: bytes, problem: str) -> None:
    response = post_raw(api, "/tickets", raw)

    assert response.status_code == 400, response.body
    assert response.json["code"] == "invalid_json"
    assert problem in response.json["details"]["problem"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "a\x00b"}, "title"),
        ({"description": "line\x00"}, "description"),
        ({"description": "bell \x07"}, "description"),
        ({"description": "c1 \x85 control"}, "description"),
        ({"thread_key": "thread\x00"}, "thread_key"),
        ({"thread_key": "thread\nkey"}, "thread_key"),
        ({"requester_id": "requester\x00"}, "requester_id"),
        ({"category": "net\x00work"}, "category"),
        ({"attachments": [{"bucket": "files", "key": "a\x00.pdf"}]}, "attachments.0.key"),
        ({"attachments": [{"bucket": "files", "key": "a.pdf", "filename": "a\x1b[31m.pdf"}]}, "attachments.0.filename"),
    ],
)
def test_control_characters_are_400(api: Api, fields: dict[str, Any], field: str) -> None:
    response = api.call("post", "/tickets", {**TICKET, **fields})

    assert response.status_code == 400, response.body
    assert response.json["code"] == "invalid_input"
    assert response.json["details"]["field"] == field


def test_tab_and_newlines_allowed_in_text(api: Api) -> None:
    ticket = api.create_ticket(description="첫 줄\n둘째 줄\r\n\t들여쓰기")

    assert ticket["description"] == "첫 줄\n둘째 줄\r\n\t들여쓰기"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/tickets", {**TICKET, "is_admin": True}, "is_admin"),
        ("/tickets", {**TICKET, "attachments": [{"bucket": "files", "key": "k", "acl": "public-read"}]}, "attachments.0.acl"),
    ],
)
def test_unknown_body_field_is_400_naming_it(api: Api, path: str, body: dict[str, Any], field: str) -> None:
    response = api.call("post", path, body)

    assert response.status_code == 400
    assert response.json["code"] == "invalid_input"
    assert response.json["details"]["field"] == field
    assert response.json["details"]["errors"][0]["type"] == "extra_forbidden"


def test_unknown_field_in_patch_and_message_is_400(api: Api) -> None:
    ticket = api.create_ticket()

    patch = api.call("patch", f"/tickets/{ticket['ticket_id']}", {"priority": "high", "version": 1, "owner": "x"})
    message = api.call(
        "post",
        f"/tickets/{ticket['ticket_id']}/messages",
        {"body": "추가 문의", "channel": "chat", "author_id": "requester-1", "sentiment": "positive"},
    )

    assert (patch.status_code, patch.json["details"]["field"]) == (400, "owner")
    assert (message.status_code, message.json["details"]["field"]) == (400, "sentiment")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "가" * 201}, "title"),
        ({"description": "a" * 20_001}, "description"),
        ({"thread_key": "t" * 257}, "thread_key"),
        ({"customer_id": "c" * 129}, "customer_id"),
        ({"category": "c" * 65}, "category"),
        ({"attachments": [{"bucket": "files", "key": "k"}] * 21}, "attachments"),
        ({"attachments": [{"bucket": "files", "key": "k" * 1025}]}, "attachments.0.key"),
        ({"attachments": [{"bucket": "files", "key": "k", "size_bytes": 2**53}]}, "attachments.0.size_bytes"),
        ({"attachments": [{"bucket": "files", "key": "k", "size_bytes": 10**39}]}, "attachments.0.size_bytes"),
    ],
)
def test_oversized_fields_are_400(api: Api, fields: dict[str, Any], field: str) -> None:
    response = api.call("post", "/tickets", {**TICKET, **fields})

    assert response.status_code == 400, response.body
    assert response.json["details"]["field"] == field


def test_huge_version_is_400(api: Api) -> None:
    ticket = api.create_ticket()

    response = api.call("patch", f"/tickets/{ticket['ticket_id']}", {"priority": "high", "version": 10**39})

    assert response.status_code == 400
    assert response.json["details"]["field"] == "version"


def test_body_over_limit_is_413(api: Api) -> None:
    response = api.call("post", "/tickets", {**TICKET, "description": "가" * 30_000})

    assert response.status_code == 413
    assert response.json["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=%C2%B2", "limit"),
        ("limit=%D9%A3", "limit"),
        ("limit=" + "1" * 5000, "limit"),
        ("limit=-1", "limit"),
        ("cursor=abc%00def", "cursor"),
        ("cursor=" + "a" * 5000, "cursor"),
        ("cursor=%C0%AF", "cursor"),
        ("customer_id=c1%0A", "customer_id"),
        ("customer_id=%FF%FE", "customer_id"),
        ("customer_id=%EF%BC%83", "customer_id"),
        ("status=new&status=closed", "status"),
        ("stauts=new", "stauts"),
        ("priority=HIGH", "priority"),
    ],
)
def test_hostile_query_is_400(api: Api, query: str, field: str) -> None:
    response = api.call("get", f"/tickets?{query}")

    assert response.status_code == 400, response.body
    assert response.json["code"] == "invalid_input"
    assert response.json["details"]["field"] == field


def test_unknown_message_query_is_400(api: Api) -> None:
    ticket = api.create_ticket()

    response = api.call("get", f"/tickets/{ticket['ticket_id']}/messages?order=asc")

    assert response.status_code == 400
    assert response.json["details"]["field"] == "order"


@pytest.mark.parametrize("ticket_id", ["%00", "abc%0A", "%C0%AF", "..%2F..%2Fetc", "a" * 129])
def test_malformed_path_id_is_404(api: Api, ticket_id: str) -> None:
    response = api.call("get", f"/tickets/{ticket_id}")

    assert response.status_code == 404
    assert response.json["code"] == "not_found"


def test_bad_idempotency_key_is_400(api: Api) -> None:
    response = api.call("post", "/tickets", TICKET, headers={"Idempotency-Key": "key\n"})

    assert response.status_code == 400
    assert response.json["details"]["field"] == "Idempotency-Key"
