"""Request parsing, caller resolution and the one place where errors become HTTP responses."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

from chalice import Blueprint
from chalice.app import Request, Response
from pydantic import BaseModel, ValidationError

from functions.api.auth import AuthenticationError, caller_from_authorizer_claims, caller_from_dev_token
from functions.api import korean
from functions.api.messages import localize_details, preferred_language, render
from functions.domain.errors import DomainError
from functions.json_input import JsonInputError, loads_untrusted
from functions.models.caller import Caller
from functions.observability import logger
from functions.settings import Settings

ModelT = TypeVar("ModelT", bound=BaseModel)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# Query values: cursors are the longest; filters are ids of at most 128 characters.
MAX_QUERY_VALUE_CHARS = 4096
_UNSAFE_QUERY_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")
_PAGE_SIZE_PATTERN = re.compile("[0-9]{1,6}")

STATUS_BY_CODE: dict[str, int] = {
    "invalid_input": 400,
    "invalid_json": 400,
    "unauthorized": 401,
    "token_expired": 401,
    "token_invalid": 401,
    "forbidden": 403,
    "not_found": 404,
    "route_not_found": 404,
    "method_not_allowed": 405,
    "version_conflict": 409,
    "invalid_transition": 409,
    "idempotency_conflict": 409,
    "thread_conflict": 409,
    "ticket_busy": 409,
    "ticket_closed": 409,
    "request_in_progress": 409,
    "limit_exceeded": 409,
    "approval_closed": 409,
    "approval_workflow_ended": 409,
    "workflow_not_running": 409,
    "agent_exists": 409,
    "agent_version_conflict": 409,
    "agent_unavailable": 409,
    "state_conflict": 409,
    "profile_version_conflict": 409,
    "payload_too_large": 413,
    # Returned by API Gateway itself (GatewayResponses in infra/functions.yaml), never by a function.
    "request_rejected": 400,
    "throttled": 429,
    "unsupported_media_type": 415,
    "dependency_failed": 503,
    "internal_error": 500,
}


class HttpError(Exception):
    """An error found while reading the request, before any domain call.

    `details["problem"]` says in English what was wrong, and `problem_ko` says it in Korean.
    """

    def __init__(self, code: str, message: str, problem_ko: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problem_ko = problem_ko
        self.details = details


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a body as UTF-8 JSON, keeping Hangul as characters."""
    return Response(
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})},
    )


def error_response(
    request: Request | None,
    code: str,
    details: dict[str, Any],
    request_id: str | None,
    problem_localized: bool = False,
) -> Response:
    """Build the typed error body. `problem_localized` means that details["problem"] is already in
    the request's language, as validation errors build it."""
    language = request_language(request)
    details = localize_details(code, language, details)
    body = {
        "code": code,
        "message": render(code, language, details, problem_localized=problem_localized),
        "details": details,
        "request_id": request_id,
    }
    return json_response(body, STATUS_BY_CODE.get(code, 500), headers={"Content-Language": language})


def typed_errors(blueprint: Blueprint) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Return a view decorator for `blueprint` that turns every error a view raises into the typed
    error response. Each API blueprint binds it once as `api_handler`."""

    def api_handler(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            request = blueprint.current_request
            # Chalice's local server passes path parameters percent-encoded (`acme%40corp.kr` for
            # `acme@corp.kr`), so each is decoded once here. NOTE: REST APIs on API Gateway are
            # reported to do the same for Lambda proxy events; that has not been checked on AWS here.
            path_values = {name: unquote(value) if isinstance(value, str) else value for name, value in kwargs.items()}
            try:
                return view(*args, **path_values)
            except Exception as error:  # noqa: BLE001 - the one place that maps errors to responses
                return response_for_error(request, error, (request.context or {}).get("requestId"))

        return wrapper

    return api_handler


def response_for_error(request: Request | None, error: Exception, request_id: str | None) -> Response:
    """Map an exception to its HTTP response; unexpected errors are logged and become 500."""
    if isinstance(error, HttpError):
        return _problem_response(request, error.code, error.details, error.problem_ko, request_id)
    if isinstance(error, DomainError):
        if error.code == "dependency_failed":
            logger.warning("dependency failed", extra={"error": error.message})
        details = {key: value for key, value in error.details.items() if key != "failed_items"}
        if error.code == "invalid_input":
            details.setdefault("problem", error.message)
        return _problem_response(request, error.code, details, getattr(error, "problem_ko", None), request_id)
    if isinstance(error, ValidationError):
        details = validation_details(error, request_language(request))
        return error_response(request, "invalid_input", details, request_id, problem_localized=True)
    logger.exception("unhandled error")
    return error_response(request, "internal_error", {}, request_id)


def _problem_response(
    request: Request | None, code: str, details: dict[str, Any], problem_ko: str | None, request_id: str | None
) -> Response:
    """Build an error response whose problem is in Korean when the caller reads Korean and a Korean text exists."""
    if problem_ko and "problem" in details and request_language(request) == "ko":
        return error_response(request, code, {**details, "problem": problem_ko}, request_id, problem_localized=True)
    return error_response(request, code, details, request_id)


def request_language(request: Request | None) -> str:
    return preferred_language(_header(request, "accept-language")) if request is not None else "en"


def validation_details(error: ValidationError, language: str = "en") -> dict[str, Any]:
    """Turn pydantic errors into details naming each invalid field, with problems in the language.

    Korean problems are built from each error's type and context, never from pydantic's English
    text. Field names and error types stay as they are.
    """
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        if language == "ko":
            problem = korean.validation_problem(item["type"], item.get("ctx"))
        else:
            problem = item["msg"]
        problems.append({"field": field, "problem": problem, "type": item["type"]})
    if problems:
        first = problems[0]
    else:
        first = {"field": "body", "problem": "값이 올바르지 않습니다" if language == "ko" else "invalid"}
    summary = f"'{first['field']}' 필드: {first['problem']}." if language == "ko" else f"{first['field']}: {first['problem']}."
    return {"field": first["field"], "problem": summary, "errors": problems}


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
        data = loads_untrusted(text) if text.strip() else None
    except JsonInputError as error:
        raise HttpError("invalid_json", "body is not JSON", problem=error.problem) from error
    if not isinstance(data, dict):
        raise HttpError("invalid_json", "body is not an object", problem="the body must be a JSON object")
    return model.model_validate(data)


def resolve_caller(request: Request, settings: Settings) -> Caller:
    """Identify the tenant, user and role behind a request, or raise HttpError 401.

    Deployed, API Gateway's Cognito authorizer has verified the token and passes its claims.
    With CALLER_SOURCE=dev_tokens (the local stack) the Authorization header's development
    token is verified here, and authorizer claims in the request context are ignored.
    """
    try:
        if settings.caller_source == "dev_tokens":
            secret = settings.dev_token_secret.get_secret_value() if settings.dev_token_secret else ""
            return caller_from_dev_token(_header(request, "authorization"), secret, settings.dev_token_issuer)
        claims = ((request.context or {}).get("authorizer") or {}).get("claims") or {}
        return caller_from_authorizer_claims(claims)
    except AuthenticationError as error:
        context = request.context or {}
        logger.warning(
            "request unauthenticated",
            extra={
                "request_id": context.get("requestId"),
                "reason": error.reason,
                "method": request.method,
                "path": context.get("resourcePath"),
            },
        )
        raise HttpError(error.code, "caller unknown", reason=error.reason, problem=error.problem) from error


def query_param(request: Request, name: str) -> str | None:
    """Return a query parameter, or None when absent or empty.

    Raise HttpError 400 when the parameter is repeated, longer than MAX_QUERY_VALUE_CHARS, or
    contains control or replacement characters. The local server decodes percent-encoding with
    urllib's parse_qs, which turns invalid UTF-8 (overlong forms included) into U+FFFD.
    NOTE: API Gateway's handling of invalid UTF-8 in query strings has not been checked here.
    """
    params = request.query_params or {}
    values = params.getlist(name) if name in params and hasattr(params, "getlist") else [params.get(name)]
    if len(values) > 1:
        raise HttpError(
            "invalid_input",
            "repeated parameter",
            field=name,
            problem=f"send {name} at most once.",
            problem_ko=f"{name}은(는) 한 번만 보내 주세요.",
        )
    value = values[0]
    if value in (None, ""):
        return None
    if len(value) > MAX_QUERY_VALUE_CHARS or _UNSAFE_QUERY_CHARACTERS.search(value):
        raise HttpError(
            "invalid_input",
            "bad parameter",
            field=name,
            problem=(
                f"{name} must be at most {MAX_QUERY_VALUE_CHARS} characters of UTF-8 text without control "
                "characters, percent-encoded in the URL (for example %ED%95%9C for 한)."
            ),
            problem_ko=(
                f"{name}은(는) 제어 문자가 없는 UTF-8 텍스트로 {MAX_QUERY_VALUE_CHARS}자 이하여야 하며, "
                "URL에는 퍼센트 인코딩해 넣어야 합니다(예: 한 → %ED%95%9C)."
            ),
        )
    return value


# A queue label as the ticket and agent models accept it: letters of any script, digits, "_", "-", ".", " " and "/".
QUEUE_PATTERN = re.compile(r"[\w\-. /]{1,64}")


def queue_param(request: Request) -> str | None:
    """Return the `queue` query parameter, or raise HttpError 400 unless it is a queue label."""
    queue = query_param(request, "queue")
    if queue is not None and not QUEUE_PATTERN.fullmatch(queue):
        raise HttpError(
            "invalid_input",
            "bad queue",
            field="queue",
            problem="queue must be a queue label of at most 64 characters.",
            problem_ko="queue는 64자 이하의 큐 이름이어야 합니다.",
        )
    return queue


def reject_unknown_query_params(request: Request, allowed: frozenset[str]) -> None:
    """Raise HttpError 400 naming the first query parameter that the route does not define."""
    unknown = sorted(set(request.query_params or {}) - allowed)
    if unknown:
        raise HttpError(
            "invalid_input",
            "unknown parameter",
            field=unknown[0][:64],
            problem=f"unknown query parameter; this path accepts only: {', '.join(sorted(allowed))}.",
            problem_ko=f"알 수 없는 쿼리 매개변수입니다. 이 경로는 {', '.join(sorted(allowed))}만 받습니다.",
        )


def page_size(request: Request, settings: Settings) -> int:
    raw = query_param(request, "limit")
    if raw is None:
        return settings.default_page_size
    # ASCII digits only: str.isdigit() also accepts "²" and other digits that int() rejects.
    if not _PAGE_SIZE_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= settings.max_page_size:
        raise HttpError(
            "invalid_input",
            "bad limit",
            field="limit",
            problem=f"limit must be a whole number from 1 to {settings.max_page_size}.",
            problem_ko=f"limit는 1에서 {settings.max_page_size} 사이의 정수여야 합니다.",
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
