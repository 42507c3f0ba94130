"""Request parsing, caller resolution and the one place where errors become HTTP responses."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from chalice.app import Request, Response
from pydantic import BaseModel, ValidationError

from functions.api.messages import preferred_language, render
from functions.domain.errors import DomainError
from functions.models.caller import Caller, Role
from functions.observability import logger
from functions.settings import Settings

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "invalid_json": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "route_not_found": 404,
    "method_not_allowed": 405,
    "version_conflict": 409,
    "invalid_transition": 409,
    "idempotency_conflict": 409,
    "thread_conflict": 409,
    "request_in_progress": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "dependency_failed": 503,
    "internal_error": 500,
}


class HttpError(Exception):
    """An error found while reading the request, before any domain call."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a body as UTF-8 JSON, keeping Hangul as characters."""
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def error_response(request: Request | None, code: str, details: dict[str, Any], request_id: str | None) -> Response:
    language = preferred_language(_header(request, "accept-language")) if request is not None else "en"
    body = {
        "code": code,
        "message": render(code, language, details),
        "details": details,
        "request_id": request_id,
    }
    return json_response(body, STATUS_BY_CODE.get(code, 500), headers={"Content-Language": language})


def response_for_error(request: Request | None, error: Exception, request_id: str | None) -> Response:
    """Map an exception to its HTTP response; unexpected errors are logged and become 500."""
    if isinstance(error, HttpError):
        return error_response(request, error.code, error.details, request_id)
    if isinstance(error, DomainError):
        if error.code == "dependency_failed":
            logger.warning("dependency failed", extra={"error": error.message})
        details = {key: value for key, value in error.details.items() if key != "failed_items"}
        if error.code == "invalid_input":
            details.setdefault("problem", error.message)
        return error_response(request, error.code, details, request_id)
    if isinstance(error, ValidationError):
        return error_response(request, "invalid_input", validation_details(error), request_id)
    logger.exception("unhandled error")
    return error_response(request, "internal_error", {}, request_id)


def validation_details(error: ValidationError) -> dict[str, Any]:
    """Turn pydantic errors into details naming each invalid field."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append({"field": field, "problem": item["msg"], "type": item["type"]})
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    return {
        "field": first["field"],
        "problem": f"{first['field']}: {first['problem']}.",
        "errors": problems,
    }


def parse_body(request: Request, model: type[ModelT], max_bytes: int) -> ModelT:
    """Read a JSON body into a model; raise HttpError for size, media type, encoding or JSON faults."""
    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise HttpError("payload_too_large", "body too large", size=len(raw), limit=max_bytes)

    content_type = _header(request, "content-type") or ""
    media_type, _, parameters = content_type.partition(";")
    charset = _charset(parameters)
    if media_type.strip().lower() != "application/json" or charset not in (None, "utf-8", "utf8"):
        raise HttpError("unsupported_media_type", "unsupported media type", content_type=content_type or "(none)")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HttpError("invalid_json", "body is not UTF-8", problem=f"invalid UTF-8 at byte {error.start}") from error
    try:
        data = json.loads(text) if text.strip() else None
    except json.JSONDecodeError as error:
        raise HttpError("invalid_json", "body is not JSON", problem=f"{error.msg} at line {error.lineno} column {error.colno}") from error
    if not isinstance(data, dict):
        raise HttpError("invalid_json", "body is not an object", problem="the body must be a JSON object")
    return model.model_validate(data)


def resolve_caller(request: Request, settings: Settings) -> Caller:
    """Identify the tenant, user and role behind a request, or raise HttpError 401."""
    if settings.caller_source == "headers":
        tenant_id = _header(request, "x-tenant-id")
        user_id = _header(request, "x-user-id")
        role = _header(request, "x-role") or Role.AGENT.value
        source = "X-Tenant-Id, X-User-Id and X-Role headers"
    else:
        claims = ((request.context or {}).get("authorizer") or {}).get("claims") or {}
        tenant_id = claims.get("custom:tenant_id")
        user_id = claims.get("sub")
        role = claims.get("custom:role")
        source = "the authorizer's custom:tenant_id, sub and custom:role claims"
    if not tenant_id or not user_id or not role:
        raise HttpError("unauthorized", "caller unknown", problem=f"send {source}.")
    try:
        return Caller(tenant_id=tenant_id, user_id=user_id, role=role)
    except ValidationError as error:
        raise HttpError(
            "unauthorized", "caller invalid", problem=f"the caller identity in {source} is malformed."
        ) from error


def query_param(request: Request, name: str) -> str | None:
    value = (request.query_params or {}).get(name)
    return value if value not in (None, "") else None


def page_size(request: Request, settings: Settings) -> int:
    raw = query_param(request, "limit")
    if raw is None:
        return settings.default_page_size
    if not raw.isdigit() or not 1 <= int(raw) <= settings.max_page_size:
        raise HttpError(
            "invalid_input",
            "bad limit",
            field="limit",
            problem=f"limit must be a whole number from 1 to {settings.max_page_size}.",
        )
    return int(raw)


def _header(request: Request | None, name: str) -> str | None:
    if request is None or request.headers is None:
        return None
    return request.headers.get(name)


def _charset(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None
