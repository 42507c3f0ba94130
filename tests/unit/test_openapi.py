"""The OpenAPI document: current with the models, and in step with the routes the app registers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from functions.api.http import STATUS_BY_CODE

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def load_generator() -> ModuleType:
    """Import docs/generate_openapi.py, a script outside any package, by its path."""
    name = "generate_openapi"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "generate_openapi.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref such as #/components/responses/unauthorized."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """Validate against a schema whose $refs point into the document's components."""
    return Draft202012Validator(
        {**schema, "components": document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def test_document_matches_generator(generator: ModuleType) -> None:
    expected = generator.render(generator.build_document())

    current = (ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8")

    assert current == expected, "docs/openapi.yaml is stale: run `python docs/generate_openapi.py` and commit it"


def test_every_route_is_documented(generator: ModuleType, document: dict[str, Any]) -> None:
    registered = {(method, path) for path, methods in generator.app.routes.items() for method in methods}

    assert registered - documented_routes(document) == set()


def test_every_documented_route_exists(generator: ModuleType, document: dict[str, Any]) -> None:
    registered = {(method, path) for path, methods in generator.app.routes.items() for method in methods}

    assert documented_routes(document) - registered == set()


def test_operation_ids_are_view_names(generator: ModuleType, document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert operation["operationId"] == generator.app.routes[path][method].view_name


def test_generator_rejects_undocumented_route(generator: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    trimmed = {key: value for key, value in generator.OPERATIONS.items() if key != ("PATCH", "/tickets/{ticket_id}")}
    monkeypatch.setattr(generator, "OPERATIONS", trimmed)

    with pytest.raises(ValueError, match="PATCH"):
        generator.build_document()


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validator = pytest.importorskip("openapi_spec_validator")

    validator.validate(document)
    assert document["openapi"].startswith("3.1")


def test_error_codes_sit_under_their_status(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = resolve(document, response)["content"]["application/json"]["schema"]
            assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            for code in schema["allOf"][1]["properties"]["code"]["enum"]:
                assert STATUS_BY_CODE[code] == int(status), (method, path, code)


def test_error_body_lists_every_code(document: dict[str, Any]) -> None:
    codes = document["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]

    assert codes == list(STATUS_BY_CODE)


def test_every_operation_documents_common_errors(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert {"401", "500", "503"} <= operation["responses"].keys(), (method, path)


def test_body_operations_document_size_and_media_type(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            continue
        assert {"400", "413", "415"} <= operation["responses"].keys(), (method, path)
        assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_list_tickets_documents_filters(document: dict[str, Any]) -> None:
    references = document["paths"]["/tickets"]["get"]["parameters"]
    names = {resolve(document, reference)["name"] for reference in references}

    assert {"status", "customer_id", "assignee_id", "queue", "priority", "limit", "cursor"} <= names


def test_write_headers_are_documented(document: dict[str, Any]) -> None:
    create = document["paths"]["/tickets"]["post"]
    update = document["paths"]["/tickets/{ticket_id}"]["patch"]
    read = document["paths"]["/tickets/{ticket_id}"]["get"]

    assert {"Location", "ETag"} <= create["responses"]["201"]["headers"].keys()
    assert "ETag" in update["responses"]["200"]["headers"]
    assert "ETag" in read["responses"]["200"]["headers"]
    assert {"$ref": "#/components/parameters/If-Match"} in update["parameters"]
    assert {"$ref": "#/components/parameters/Idempotency-Key"} in create["parameters"]


def test_korean_example_validates(document: dict[str, Any]) -> None:
    media = document["paths"]["/tickets"]["post"]["requestBody"]["content"]["application/json"]

    errors = list(schema_validator(document, media["schema"]).iter_errors(media["example"]))

    assert errors == []


def test_request_schema_rejects_unknown_field(document: dict[str, Any]) -> None:
    media = document["paths"]["/tickets"]["post"]["requestBody"]["content"]["application/json"]
    body = {**media["example"], "assignee_id": "agent-1"}

    assert not schema_validator(document, media["schema"]).is_valid(body)


def test_error_body_example_validates(document: dict[str, Any]) -> None:
    schema = document["paths"]["/tickets/{ticket_id}"]["patch"]["responses"]["409"]["content"]["application/json"]
    body = {
        "code": "version_conflict",
        "message": "티켓이 다른 사용자에 의해 변경되었습니다.",
        "details": {"ticket_id": "01JNF7YDH8GR6NT5ECPM4D48SQ", "expected_version": 2, "current_version": 3},
        "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    }
    validator = schema_validator(document, schema["schema"])

    assert validator.is_valid(body)
    assert not validator.is_valid({**body, "code": "not_found"})
