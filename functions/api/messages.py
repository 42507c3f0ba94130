"""User-facing error messages in English and Korean, chosen by the Accept-Language header."""

from __future__ import annotations

from typing import Any

from functions.api import korean

SUPPORTED_LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"

# Each template may use the keys of the error's details.
CATALOGUE: dict[str, dict[str, str]] = {
    "invalid_input": {
        "en": "The request is invalid: {problem}. Fix the value and send it again.",
        "ko": "요청이 올바르지 않습니다: {problem} 값을 고친 뒤 다시 보내 주세요.",
    },
    "invalid_field": {
        "en": "Field '{field}' is invalid: {problem}.",
        "ko": "'{field}' 필드가 올바르지 않습니다: {problem}",
    },
    "invalid_json": {
        "en": "The body is not valid JSON ({problem}). Send a JSON object encoded in UTF-8.",
        "ko": "본문이 올바른 JSON이 아닙니다 ({problem}). UTF-8로 인코딩한 JSON 객체를 보내 주세요.",
    },
    "not_found": {
        "en": "{resource} '{id}' was not found. Check the id and your tenant.",
        "ko": "{resource} '{id}'을(를) 찾을 수 없습니다. id와 테넌트를 확인해 주세요.",
    },
    "route_not_found": {
        "en": "No resource at this path. See the API document for the available paths.",
        "ko": "이 경로에는 리소스가 없습니다. API 문서에서 사용 가능한 경로를 확인해 주세요.",
    },
    "method_not_allowed": {
        "en": "This method is not allowed on this path.",
        "ko": "이 경로에서는 허용되지 않는 메서드입니다.",
    },
    "version_conflict": {
        "en": "Ticket {ticket_id} was changed by someone else (now version {current_version}, you sent "
        "{expected_version}). Reload it and apply your change again.",
        "ko": "티켓 {ticket_id}이(가) 다른 사용자에 의해 변경되었습니다 (현재 버전 {current_version}, 보낸 버전 "
        "{expected_version}). 다시 불러온 뒤 변경 사항을 적용해 주세요.",
    },
    "invalid_transition": {
        "en": "Ticket {ticket_id} cannot move from {current_status} to {requested_status}. "
        "Allowed next statuses: {allowed}.",
        "ko": "티켓 {ticket_id}은(는) {current_status}에서 {requested_status}(으)로 바꿀 수 없습니다. "
        "가능한 다음 상태: {allowed}.",
    },
    "ticket_closed": {
        "en": "Ticket {ticket_id} is closed, so {fields} cannot change. Reopen it first (status reopened).",
        "ko": "티켓 {ticket_id}은(는) 종료되어 {fields}을(를) 바꿀 수 없습니다. 먼저 다시 열어 주세요 (status reopened).",
    },
    "idempotency_conflict": {
        "en": "This Idempotency-Key was already used with a different request. Use a new key for a new request.",
        "ko": "이 Idempotency-Key는 다른 요청에 이미 사용되었습니다. 새 요청에는 새 키를 사용해 주세요.",
    },
    "ticket_busy": {
        "en": "Ticket {ticket_id} is being changed by other requests right now, so the message was not added. "
        "Send it again in a moment.",
        "ko": "티켓 {ticket_id}이(가) 지금 다른 요청으로 변경되는 중이라 메시지를 추가하지 못했습니다. 잠시 뒤 다시 보내 주세요.",
    },
    "thread_conflict": {
        "en": "Thread '{thread_key}' already belongs to ticket {ticket_id}. Add a message to that ticket instead.",
        "ko": "스레드 '{thread_key}'은(는) 이미 티켓 {ticket_id}에 연결되어 있습니다. 그 티켓에 메시지를 추가해 주세요.",
    },
    "request_in_progress": {
        "en": "A request with this Idempotency-Key is still being processed. Retry in a few seconds.",
        "ko": "같은 Idempotency-Key의 요청이 아직 처리 중입니다. 몇 초 뒤 다시 시도해 주세요.",
    },
    "limit_exceeded": {
        "en": "This tenant already has {limit} {resource}s, the maximum. Delete one before adding another.",
        "ko": "이 테넌트에는 이미 최대 개수인 {limit}개의 {resource}이(가) 있습니다. 하나를 삭제한 뒤 추가해 주세요.",
    },
    "agent_exists": {
        "en": "Agent {agent_id} is already registered. Change it with PATCH /agents/{agent_id}.",
        "ko": "상담원 {agent_id}은(는) 이미 등록되어 있습니다. PATCH /agents/{agent_id}로 변경해 주세요.",
    },
    "agent_version_conflict": {
        "en": "Agent {agent_id} was changed by someone else (now version {current_version}, you sent "
        "{expected_version}). Reload the agent and apply your change again.",
        "ko": "상담원 {agent_id}의 정보가 다른 사용자에 의해 변경되었습니다 (현재 버전 {current_version}, 보낸 버전 "
        "{expected_version}). 다시 불러온 뒤 변경 사항을 적용해 주세요.",
    },
    "agent_unavailable": {
        "en": "Agent {agent_id} has no free slot any more. Try again to route to another agent.",
        "ko": "상담원 {agent_id}에게 더 이상 빈 자리가 없습니다. 다시 시도하면 다른 상담원에게 배정합니다.",
    },
    "state_conflict": {
        "en": "{resource} '{id}' is already {state}, so nothing was changed.",
        "ko": "{resource} '{id}'은(는) 이미 {state} 상태라서 아무것도 바꾸지 않았습니다.",
    },
    "profile_version_conflict": {
        "en": "Customer {customer_id} was changed by someone else (now version {current_version}, you sent "
        "{expected_version}). Reload the profile and apply your change again.",
        "ko": "고객 {customer_id}의 프로필이 다른 사용자에 의해 변경되었습니다 (현재 버전 {current_version}, 보낸 버전 "
        "{expected_version}). 프로필을 다시 불러온 뒤 변경 사항을 적용해 주세요.",
    },
    "approval_closed": {
        "en": "Approval {approval_id} is already {status}; a person's decision or an expiry cannot be changed.",
        "ko": "승인 {approval_id}은(는) 이미 {status} 상태입니다. 담당자의 결정이나 만료는 바꿀 수 없습니다.",
    },
    "approval_workflow_ended": {
        "en": "Approval {approval_id} belongs to workflow {workflow_id}, which is {status} and gave its access back, so it cannot grant access now. Start a new onboarding for this employee instead.",
        "ko": "승인 {approval_id}은(는) {status} 상태로 접근 권한을 회수한 워크플로 {workflow_id}에 속해 있어 이제 권한을 부여할 수 없습니다. 이 직원의 온보딩을 새로 시작해 주세요.",
    },
    "workflow_not_running": {
        "en": "Workflow {workflow_id} is {status}, so it cannot be cancelled.",
        "ko": "워크플로 {workflow_id}은(는) {status} 상태라 취소할 수 없습니다.",
    },
    "unauthorized": {
        "en": "Authentication is missing or invalid: {problem}.",
        "ko": "인증 정보가 없거나 올바르지 않습니다. 이 서비스의 토큰을 Authorization: Bearer <토큰> 헤더로 보내 주세요.",
    },
    "token_expired": {
        "en": "The bearer token has expired. Get a new token and send the request again.",
        "ko": "베어러 토큰이 만료되었습니다. 새 토큰을 받은 뒤 요청을 다시 보내 주세요.",
    },
    "token_invalid": {
        "en": "The bearer token is invalid ({reason}): {problem}. Send a token issued for this service as "
        "Authorization: Bearer <token>.",
        "ko": "베어러 토큰이 올바르지 않습니다 ({reason}): {problem} 이 서비스용으로 발급된 토큰을 "
        "Authorization: Bearer <token> 헤더로 보내 주세요.",
    },
    "forbidden": {
        "en": "You are not allowed to do this: {problem}.",
        "ko": "이 작업을 할 권한이 없습니다: {problem}",
    },
    "payload_too_large": {
        "en": "The body is {size} bytes; the limit is {limit} bytes. Send a smaller body or attach large "
        "files by S3 reference.",
        "ko": "본문이 {size}바이트로 한도 {limit}바이트를 넘습니다. 더 작게 보내거나 큰 파일은 S3 참조로 첨부해 주세요.",
    },
    "unsupported_media_type": {
        "en": "Content-Type '{content_type}' is not supported. Send application/json; charset=utf-8.",
        "ko": "Content-Type '{content_type}'은(는) 지원하지 않습니다. application/json; charset=utf-8로 보내 주세요.",
    },
    "request_rejected": {
        "en": "API Gateway rejected the request; details.gateway_error says why.",
        "ko": "API Gateway가 요청을 거부했습니다. 이유는 details.gateway_error를 확인해 주세요.",
    },
    "throttled": {
        "en": "Too many requests: retry after a short wait.",
        "ko": "요청이 너무 많습니다. 잠시 뒤 다시 시도해 주세요.",
    },
    "dependency_failed": {
        "en": "A service this request depends on is unavailable. Retry later; nothing was changed unless the "
        "response says so.",
        "ko": "이 요청이 사용하는 서비스를 지금 사용할 수 없습니다. 잠시 뒤 다시 시도해 주세요.",
    },
    "internal_error": {
        "en": "An unexpected error occurred. Retry later and quote the request id if it persists.",
        "ko": "예기치 않은 오류가 발생했습니다. 잠시 뒤 다시 시도하고, 계속되면 요청 id를 알려 주세요.",
    },
}


def preferred_language(accept_language: str | None) -> str:
    """Pick en or ko from an Accept-Language header by its q-values; English when none fits."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in SUPPORTED_LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


# Korean templates for errors whose `problem` exists only in English (a handler's or the domain's
# own check). They name the field instead, so a Korean message never embeds English text.
KOREAN_WITHOUT_PROBLEM: dict[str, str] = {
    "invalid_input": "요청이 올바르지 않습니다: '{field}' 값을 확인해 주세요. 값을 고친 뒤 다시 보내 주세요.",
    "invalid_field": "'{field}' 필드가 올바르지 않습니다. 값을 고친 뒤 다시 보내 주세요.",
    "invalid_json": "본문이 올바른 JSON이 아닙니다. UTF-8로 인코딩한 JSON 객체를 보내 주세요.",
}
KOREAN_WITHOUT_FIELD = "요청이 올바르지 않습니다. 값을 고친 뒤 다시 보내 주세요."
# Codes whose details carry a reason code that selects a Korean problem.
_DENIAL_CODES = frozenset({"forbidden"})
_TOKEN_CODES = frozenset({"unauthorized", "token_invalid"})


def localize_details(code: str, language: str, details: dict[str, Any]) -> dict[str, Any]:
    """Return the details with `problem` in the language, where the reason code gives one.

    Only denials and token errors carry a reason code. Other details are returned unchanged.
    """
    if language != "ko" or "problem" not in details:
        return details
    if code in _DENIAL_CODES:
        return {**details, "problem": korean.denial_problem(details.get("reason"))}
    if code in _TOKEN_CODES:
        return {**details, "problem": korean.token_problem(details.get("reason"))}
    return details


def render(code: str, language: str, details: dict[str, Any], problem_localized: bool = False) -> str:
    """Fill the template of an error code in a language; unknown keys stay as written.

    In Korean, `details["problem"]` is used only when `problem_localized` marks it as Korean or
    the code's reason selects a Korean problem; otherwise a template without it is used.
    """
    templates = CATALOGUE.get(code) or CATALOGUE["internal_error"]
    template = templates.get(language) or templates[DEFAULT_LANGUAGE]
    values = {key: (", ".join(map(str, value)) if isinstance(value, list) else value) for key, value in details.items()}
    if language != "ko" and isinstance(values.get("problem"), str):
        # English templates end the problem with their own full stop.
        values["problem"] = values["problem"].rstrip(". ")
    if language == "ko":
        template, values = _korean_template(code, template, values, problem_localized)
    try:
        return template.format_map(_Missing(values))
    except (ValueError, IndexError):
        return templates[DEFAULT_LANGUAGE]


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _korean_template(
    code: str, template: str, values: dict[str, Any], problem_localized: bool
) -> tuple[str, dict[str, Any]]:
    values = dict(values)
    if isinstance(values.get("resource"), str):
        values["resource"] = korean.resource_name(values["resource"])
    if code in _DENIAL_CODES:
        values["problem"] = korean.denial_problem(values.get("reason"))
    elif code in _TOKEN_CODES:
        values["problem"] = korean.token_problem(values.get("reason"))
    elif "{problem}" in template and not problem_localized and code in KOREAN_WITHOUT_PROBLEM:
        needs_field = "{field}" in KOREAN_WITHOUT_PROBLEM[code]
        template = KOREAN_WITHOUT_FIELD if needs_field and "field" not in values else KOREAN_WITHOUT_PROBLEM[code]
    return template, values
