"""Korean text for the parts of error messages that the code produces in English: pydantic's
validation problems, access denials, token problems and resource names.

A Korean message never embeds English free text. Each validation problem is rebuilt from the
pydantic error type and its context values, each denial from its reason code, and anything
without a Korean text gets a general Korean sentence instead of its English problem.
"""

from __future__ import annotations

from typing import Any

# Pydantic error types (pydantic-core 2.x names) and their Korean problem, filled from the
# error's `ctx`. Types that share a meaning share a text.
_VALIDATION_PROBLEMS: dict[str, str] = {
    "missing": "필수 항목이 없습니다",
    "extra_forbidden": "정의되지 않은 필드는 보낼 수 없습니다",
    "string_too_short": "{min_length}자 이상이어야 합니다",
    "string_too_long": "{max_length}자 이하여야 합니다",
    "too_short": "항목이 {min_length}개 이상이어야 합니다",
    "too_long": "항목이 {max_length}개 이하여야 합니다",
    "string_type": "문자열이어야 합니다",
    "string_unicode": "올바른 유니코드 문자열이어야 합니다",
    "string_pattern_mismatch": "형식이 올바르지 않습니다 (정규식 {pattern})",
    "int_type": "정수여야 합니다",
    "int_parsing": "정수여야 합니다",
    "int_from_float": "소수점 없는 정수여야 합니다",
    "float_type": "숫자여야 합니다",
    "float_parsing": "숫자여야 합니다",
    "finite_number": "유한한 숫자여야 합니다",
    "bool_type": "true 또는 false여야 합니다",
    "bool_parsing": "true 또는 false여야 합니다",
    "list_type": "배열이어야 합니다",
    "dict_type": "JSON 객체여야 합니다",
    "model_type": "JSON 객체여야 합니다",
    "model_attributes_type": "JSON 객체여야 합니다",
    "enum": "다음 값 중 하나여야 합니다: {expected}",
    "literal_error": "다음 값 중 하나여야 합니다: {expected}",
    "greater_than": "{gt}보다 커야 합니다",
    "greater_than_equal": "{ge} 이상이어야 합니다",
    "less_than": "{lt}보다 작아야 합니다",
    "less_than_equal": "{le} 이하여야 합니다",
    "multiple_of": "{multiple_of}의 배수여야 합니다",
    "datetime_type": "ISO 8601 날짜와 시각이어야 합니다 (예: 2025-03-04T09:00:00+09:00)",
    "datetime_parsing": "ISO 8601 날짜와 시각이어야 합니다 (예: 2025-03-04T09:00:00+09:00)",
    "datetime_from_date_parsing": "ISO 8601 날짜와 시각이어야 합니다 (예: 2025-03-04T09:00:00+09:00)",
    "timezone_aware": "시간대를 포함한 시각이어야 합니다 (예: +09:00 또는 Z)",
    "date_type": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_parsing": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_from_datetime_parsing": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_from_datetime_inexact": "시각 없이 YYYY-MM-DD 형식의 날짜여야 합니다",
    "url_type": "URL 문자열이어야 합니다",
    "url_parsing": "올바른 URL이어야 합니다",
    "url_scheme": "허용된 스킴의 URL이어야 합니다",
    "url_too_long": "URL은 {max_length}자 이하여야 합니다",
    "uuid_parsing": "올바른 UUID여야 합니다",
    "frozen_field": "변경할 수 없는 필드입니다",
    "json_invalid": "올바른 JSON이어야 합니다",
    # Raised by this project's own validators (ValueError or AssertionError): their English
    # text names the rule, which has no Korean form, so the Korean message stays general.
    "value_error": "값이 규칙에 맞지 않습니다",
    "assertion_error": "값이 규칙에 맞지 않습니다",
}
_GENERAL_VALIDATION_PROBLEM = "값이 올바르지 않습니다 (오류 유형 {type})"

# Reason codes of access denials (functions/domain/access.py and the other role rules).
_DENIAL_PROBLEMS: dict[str, str] = {
    "not_own_requester_id": "요청자는 자신의 사용자 id를 requester_id로 한 티켓만 열고 조회할 수 있습니다.",
    "outside_agent_queues": "요청한 티켓이나 큐가 담당 큐에 속하지 않고 본인에게 배정되지도 않았습니다.",
    "requester_update_not_allowed": "요청자는 자신의 티켓의 상태를 closed 또는 reopened로만 바꿀 수 있습니다.",
    "agent_list_needs_queue": "상담원은 한 번에 한 큐의 티켓만 조회합니다. queue 또는 assignee_id(본인 id)를 지정해 주세요.",
    "partner_update_not_allowed": "파트너 시스템은 티켓을 연 뒤에는 변경할 수 없습니다.",
    "system_author": "시스템 메시지는 서비스만 작성할 수 있습니다.",
    "author_not_caller": "상담원 메시지의 author_id는 본인의 사용자 id여야 합니다.",
    "partner_message_not_allowed": "파트너 시스템은 메시지를 추가할 수 없습니다.",
    "partner_list_not_allowed": "파트너 시스템은 자신이 연 티켓을 id로만 조회합니다.",
    "partner_route": "/partner 경로는 파트너 시스템 전용입니다. /tickets를 사용해 주세요.",
    "partner_off_partner_route": "파트너 시스템은 API 키와 함께 /partner/tickets를 호출해야 합니다.",
    "role_without_api_access": "이 역할은 티켓 API를 사용할 수 없습니다.",
    "agent_management_not_allowed": "상담원 관리는 관리자와 감독자만 할 수 있습니다.",
    "not_own_agent_record": "상담원은 자신의 정보만 조회할 수 있습니다. 감독자는 모든 상담원을 조회합니다.",
    "not_own_presence": "상담원은 자신의 상태만 바꿀 수 있습니다. 감독자는 모든 상담원의 상태를 바꿉니다.",
    "workflow_start_not_allowed": "워크플로는 감독자와 관리자만 API로 시작할 수 있습니다.",
    "role_without_workflow_access": "이 역할은 워크플로를 사용할 수 없습니다.",
    "workflow_cancel_not_allowed": "워크플로는 감독자와 관리자만 취소할 수 있습니다.",
    "not_own_approvals": "자신의 승인 요청만 조회할 수 있습니다. assignee를 본인의 사용자 id로 지정해 주세요.",
    "role_without_approval_access": "이 역할은 승인 요청을 사용할 수 없습니다.",
    "not_assignee": "현재 담당자, 감독자 또는 관리자만 이 승인 요청을 결정할 수 있습니다.",
    "profile_write_not_allowed": "고객 프로필은 관리자, 감독자와 파트너 CRM 시스템만 변경할 수 있습니다.",
    "staff_only": "상담원, 감독자와 관리자만 할 수 있는 작업입니다.",
    "supervisor_only": "감독자와 관리자만 할 수 있는 작업입니다.",
    "not_survey_requester": "설문을 받은 요청자만 응답할 수 있습니다.",
    "kpis_not_allowed": "KPI는 감독자, 관리자, 그리고 자신의 큐에 대해서는 상담원만 조회할 수 있습니다.",
    "webhook_management_not_allowed": "웹훅은 테넌트의 관리자와 감독자만 관리할 수 있습니다.",
    "audit_reader_only": "감사 로그는 테넌트의 감독자와 관리자만 조회하고 검증할 수 있습니다.",
}
_GENERAL_DENIAL_PROBLEM = "이 역할로는 할 수 없는 작업입니다."

# Reason codes of AuthenticationError (functions/api/auth.py) for unauthorized and token_invalid.
_TOKEN_PROBLEMS: dict[str, str] = {
    "missing": "Authorization: Bearer <토큰> 헤더를 보내 주세요.",
    "malformed": "토큰의 형식이 올바르지 않습니다.",
    "bad_signature": "토큰의 서명이 맞지 않습니다.",
    "wrong_issuer": "토큰의 발급자가 이 서비스가 아닙니다.",
    "claims_missing": "토큰에 필요한 클레임이 없습니다.",
    "claims_invalid": "토큰의 테넌트, 사용자, 역할 또는 큐 클레임이 올바르지 않습니다.",
    "not_yet_valid": "토큰의 iat 또는 nbf가 미래 시각입니다.",
    "lifetime_too_long": "토큰의 유효 기간이 24시간을 넘습니다. 새 토큰을 발급받으세요.",
}
_GENERAL_TOKEN_PROBLEM = "토큰을 확인할 수 없습니다."

# Resource names that not_found, limit_exceeded and state_conflict messages show.
_RESOURCE_NAMES: dict[str, str] = {
    "ticket": "티켓",
    "webhook": "웹훅",
    "customer": "고객",
    "agent": "상담원",
    "approval": "승인 요청",
    "workflow": "워크플로",
    "survey": "설문",
    "known problem": "알려진 문제",
    "follow-up task": "후속 조치 작업",
}


def validation_problem(error_type: str, context: dict[str, Any] | None) -> str:
    """Return the Korean problem of one pydantic error, filled from its context values."""
    template = _VALIDATION_PROBLEMS.get(error_type)
    if template is None:
        return _GENERAL_VALIDATION_PROBLEM.format(type=error_type)
    values = {key: _context_value(value) for key, value in (context or {}).items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A context without the expected key: the sentence without the value is still true.
        return _VALIDATION_PROBLEMS["value_error"] if "{" in template else template


def denial_problem(reason: str | None) -> str:
    return _DENIAL_PROBLEMS.get(reason or "", _GENERAL_DENIAL_PROBLEM)


def token_problem(reason: str | None) -> str:
    return _TOKEN_PROBLEMS.get(reason or "", _GENERAL_TOKEN_PROBLEM)


def resource_name(resource: str) -> str:
    return _RESOURCE_NAMES.get(resource, resource)


def _context_value(value: Any) -> str:
    # pydantic joins the last two choices of `expected` with the English "or".
    return str(value).replace(" or ", ", ")
