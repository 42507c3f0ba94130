"""Responses of the running app, on moto, against docs/openapi.yaml: status, body schema and headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EVENT = ROOT / "events" / "samples" / "apigateway" / "create-ticket.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_documented(document: dict[str, Any], method: str, path: str, response: Any) -> None:
    """Assert that the status is documented for the operation and the body and headers match it."""
    operation = document["paths"][path][method]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} returned undocumented {status}: {response.body!r}"

    documented = resolve(document, operation["responses"][status])
    schema = {**documented["content"]["application/json"]["schema"], "components": document["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(response.json)]
    assert problems == [], f"{method.upper()} {path} {status}"

    for header in documented.get("headers", {}):
        if header != "X-Correlation-Id":
            assert header in response.headers, f"{method.upper()} {path} {status} lacks {header}"


def sample_body() -> dict[str, Any]:
    return json.loads(json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))["body"])


def test_ticket_lifecycle_matches_document(api: Api, document: dict[str, Any]) -> None:
    created = api.call("post", "/tickets", sample_body(), {"Idempotency-Key": "contract-1"})
    assert_documented(document, "post", "/tickets", created)
    ticket_id = created.json["ticket_id"]
    item = f"/tickets/{ticket_id}"

    assert_documented(document, "get", "/tickets", api.call("get", "/tickets?status=new&limit=5"))
    assert_documented(document, "get", "/tickets/{ticket_id}", api.call("get", item))

    patched = api.call("patch", item, {"assignee_id": "agent-park"}, {"If-Match": created.headers["ETag"]})
    assert patched.status_code == 200
    assert_documented(document, "patch", "/tickets/{ticket_id}", patched)

    message = api.call("post", f"{item}/messages", {"body": "아직도 안 돼요. Still broken.", "channel": "chat", "author_id": "emp-10482"})
    assert message.status_code == 201
    assert_documented(document, "post", "/tickets/{ticket_id}/messages", message)
    assert_documented(document, "get", "/tickets/{ticket_id}/messages", api.call("get", f"{item}/messages?limit=1"))


def test_error_responses_match_document(api: Api, document: dict[str, Any]) -> None:
    ticket = api.create_ticket()
    item = f"/tickets/{ticket['ticket_id']}"
    cases = [
        ("get", "/tickets/{ticket_id}", api.call("get", "/tickets/01JNF7YDH8GR6NT5ECPM4D48SQ"), 404),
        ("get", "/tickets", api.call("get", "/tickets?limit=0"), 400),
        ("get", "/tickets", api.call("get", "/tickets?cursor=bm90LWEtY3Vyc29y"), 400),
        ("get", "/tickets/{ticket_id}/messages", api.call("get", "/tickets/01JNF7YDH8GR6NT5ECPM4D48SQ/messages"), 404),
        ("post", "/tickets", api.call("post", "/tickets", b"{not json"), 400),
        ("post", "/tickets", api.call("post", "/tickets", {**sample_body(), "owner": "x"}), 400),
        ("post", "/tickets", api.call("post", "/tickets", sample_body(), {"Content-Type": "text/plain"}), 415),
        ("post", "/tickets", api.call("post", "/tickets", {**sample_body(), "description": "가" * 30_000}), 413),
        ("patch", "/tickets/{ticket_id}", api.call("patch", item, {"priority": "high"}, {"If-Match": '"7"'}), 409),
        ("patch", "/tickets/{ticket_id}", api.call("patch", item, {"status": "reopened", "version": 1}), 409),
        ("patch", "/tickets/{ticket_id}", api.call("patch", item, {"priority": "high"}), 400),
        ("post", "/tickets/{ticket_id}/messages", api.call("post", f"{item}/messages", {"channel": "chat"}), 400),
    ]

    for method, path, response, status in cases:
        assert response.status_code == status, (method, path, response.body)
        assert_documented(document, method, path, response)


def test_unidentified_caller_matches_document(client: Any, document: dict[str, Any]) -> None:
    response = client.http.get("/tickets", headers={"Accept-Language": "ko"})
    response.json = json.loads(response.body)

    assert response.status_code == 401
    assert response.headers["Content-Language"] == "ko"
    assert_documented(document, "get", "/tickets", response)
