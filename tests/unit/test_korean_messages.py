"""Error bodies in Korean carry no English free text; English bodies keep pydantic's detail."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.api.http import HttpError, response_for_error
from functions.api.korean import _DENIAL_PROBLEMS, validation_problem
from functions.domain.errors import ForbiddenError, InvalidInputError, NotFoundError
from functions.models.tickets import Channel, CreateTicketRequest
from functions.models.webhooks import CreateWebhookRequest
from tests.unit.test_http import make_request

# Two or more Latin letters in a row, outside the quoted field names and the allowed tokens.
_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
ALLOWED_TOKENS = {"JSON", "URL", "UUID", "ISO", "YYYY", "MM", "DD", "id", "true", "false", "API", "UTF", "iat", "nbf"}


def english_words(text: str, allowed: set[str]) -> list[str]:
    """Latin words in `text` other than identifiers the message may quote."""
    return [word for word in _ENGLISH_WORD.findall(text) if word not in ALLOWED_TOKENS | allowed]


def body_for(error: Exception, language: str) -> dict[str, Any]:
    response = response_for_error(make_request(headers={"accept-language": language}), error, "req-1")
    return json.loads(response.body)


def validation_error(model: type[BaseModel], data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return caught.value


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=2, max_length=5)
    count: int = Field(ge=1, le=9)
    labels: list[str] = Field(default_factory=list, max_length=2)
    code: str = Field(default="a", pattern=r"^[a-z]+$")
    active: bool = True


# Validation errors.


@pytest.mark.parametrize(
    ("data", "field", "error_type", "korean"),
    [
        ({"count": 1}, "title", "missing", "필수 항목이 없습니다"),
        ({"title": "abcdef", "count": 1}, "title", "string_too_long", "5자 이하여야 합니다"),
        ({"title": "a", "count": 1}, "title", "string_too_short", "2자 이상이어야 합니다"),
        ({"title": 3, "count": 1}, "title", "string_type", "문자열이어야 합니다"),
        ({"title": "ab", "count": "many"}, "count", "int_parsing", "정수여야 합니다"),
        ({"title": "ab", "count": 0}, "count", "greater_than_equal", "1 이상이어야 합니다"),
        ({"title": "ab", "count": 10}, "count", "less_than_equal", "9 이하여야 합니다"),
        ({"title": "ab", "count": 1, "labels": ["a", "b", "c"]}, "labels", "too_long", "항목이 2개 이하여야 합니다"),
        ({"title": "ab", "count": 1, "code": "A1"}, "code", "string_pattern_mismatch", "형식이 올바르지 않습니다"),
        ({"title": "ab", "count": 1, "active": "maybe"}, "active", "bool_parsing", "true 또는 false여야 합니다"),
        ({"title": "ab", "count": 1, "colour": "red"}, "colour", "extra_forbidden", "정의되지 않은 필드는 보낼 수 없습니다"),
    ],
)
def test_validation_error_in_korean(data: dict[str, Any], field: str, error_type: str, korean: str) -> None:
    body = body_for(validation_error(Sample, data), "ko")

    [error] = body["details"]["errors"]
    assert error["field"] == field
    assert error["type"] == error_type
    assert korean in error["problem"]
    assert body["details"]["field"] == field
    assert f"'{field}' 필드: " in body["details"]["problem"]
    assert korean in body["message"]
    assert english_words(body["message"], {field}) == []
    assert english_words(error["problem"], {field}) == []


def test_invalid_enum_lists_choices_in_korean() -> None:
    body = body_for(validation_error(CreateTicketRequest, {"title": "x", "requester_id": "r", "customer_id": "c", "channel": "fax"}), "ko")

    [error] = body["details"]["errors"]
    assert error["type"] == "enum"
    assert error["problem"].startswith("다음 값 중 하나여야 합니다: ")
    for channel in Channel:
        assert channel.value in error["problem"]
    assert " or " not in body["message"]


def test_validation_error_in_english_keeps_pydantic_text() -> None:
    body = body_for(validation_error(Sample, {"title": "abcdef", "count": 1}), "en")

    [error] = body["details"]["errors"]
    assert error["problem"] == "String should have at most 5 characters"
    assert body["message"] == "The request is invalid: title: String should have at most 5 characters. Fix the value and send it again."


def test_custom_validator_message_stays_out_of_korean() -> None:
    error = validation_error(CreateWebhookRequest, {"url": "https://example.com/h", "event_types": ["NoSuchEvent"]})

    korean = body_for(error, "ko")
    english = body_for(error, "en")

    assert korean["details"]["errors"][0]["problem"] == "값이 규칙에 맞지 않습니다"
    assert english_words(korean["message"], {"event_types"}) == []
    assert "TicketCreated" in english["message"]


def test_several_errors_all_in_korean() -> None:
    body = body_for(validation_error(Sample, {"title": 1, "count": "x", "extra": 1}), "ko")

    assert [item["field"] for item in body["details"]["errors"]] == ["title", "count", "extra"]
    for item in body["details"]["errors"]:
        assert english_words(item["problem"], set()) == [], item


def test_unknown_error_type_has_general_korean_problem() -> None:
    assert validation_problem("some_future_type", None) == "값이 올바르지 않습니다 (오류 유형 some_future_type)"
    assert validation_problem("string_too_long", {}) == "값이 규칙에 맞지 않습니다"


def test_handler_check_in_korean_names_field_only() -> None:
    error = HttpError("invalid_input", "bad limit", field="limit", problem="limit must be a whole number from 1 to 100.")

    korean = body_for(error, "ko")
    english = body_for(error, "en")

    assert korean["message"] == "요청이 올바르지 않습니다: 'limit' 값을 확인해 주세요. 값을 고친 뒤 다시 보내 주세요."
    assert "whole number" in english["message"]


def test_domain_check_without_field_in_korean() -> None:
    korean = body_for(InvalidInputError("the range is empty"), "ko")

    assert korean["message"] == "요청이 올바르지 않습니다. 값을 고친 뒤 다시 보내 주세요."


def test_invalid_json_in_korean() -> None:
    korean = body_for(HttpError("invalid_json", "body is not JSON", problem="Expecting value at line 1"), "ko")

    assert english_words(korean["message"], set()) == []
    assert "Expecting" not in korean["message"]


def test_not_found_names_resource_in_korean() -> None:
    korean = body_for(NotFoundError("webhook", "W1"), "ko")

    assert korean["message"].startswith("웹훅 'W1'")


# Denials.


@pytest.mark.parametrize("reason", sorted(_DENIAL_PROBLEMS))
def test_denial_in_korean(reason: str) -> None:
    error = ForbiddenError("denied", reason=reason, problem="an English explanation of the rule.")

    korean = body_for(error, "ko")
    english = body_for(error, "en")

    assert korean["details"]["reason"] == reason
    assert korean["details"]["problem"] == _DENIAL_PROBLEMS[reason]
    assert korean["message"] == f"이 작업을 할 권한이 없습니다: {_DENIAL_PROBLEMS[reason]}"
    assert "English" not in json.dumps(korean, ensure_ascii=False)
    assert english["details"]["problem"] == "an English explanation of the rule."
    assert english["message"] == "You are not allowed to do this: an English explanation of the rule."


def test_unknown_denial_reason_in_general_korean() -> None:
    korean = body_for(ForbiddenError("denied", reason="rule_added_later", problem="some rule."), "ko")

    assert korean["message"] == "이 작업을 할 권한이 없습니다: 이 역할로는 할 수 없는 작업입니다."


def test_every_denial_reason_has_korean() -> None:
    """Every reason the role rules of functions/ can return has a Korean problem."""
    import pathlib

    reasons = {"webhook_management_not_allowed", "audit_reader_only"}
    for path in pathlib.Path("functions").rglob("*.py"):
        reasons.update(re.findall(r'Denial\(\s*"([a-z_]+)"', path.read_text("utf-8")))
    # Hidden denials answer 404 not_found, whose message names no rule.
    hidden = {"not_own_ticket", "not_created_by_partner", "not_own_workflow", "not_own_survey"}

    missing = sorted(reasons - set(_DENIAL_PROBLEMS) - hidden)

    assert missing == []


def test_token_error_in_korean() -> None:
    error = HttpError("token_invalid", "caller unknown", reason="bad_signature", problem="the signature does not match.")

    korean = body_for(error, "ko")

    assert korean["details"]["problem"] == "토큰의 서명이 맞지 않습니다."
    assert "does not match" not in korean["message"]
