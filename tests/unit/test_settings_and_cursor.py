"""Settings validation and list cursors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.adapters.dynamodb import choose_index, decode_cursor, encode_cursor
from functions.domain.errors import InvalidInputError
from functions.domain.ids import new_id
from functions.domain.ports import TicketFilter
from functions.settings import Settings


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEGATIVE_THRESHOLD", "0.7")
    monkeypatch.setenv("ESCALATING_TIERS", '["gold"]')

    settings = Settings()

    assert settings.negative_threshold == 0.7
    assert settings.escalating_tiers == frozenset({"gold"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [("NEGATIVE_THRESHOLD", "1.5"), ("MODEL_BACKEND", "tensorflow"), ("MAX_PAGE_SIZE", "0"), ("DEFAULT_PAGE_SIZE", "500")],
)
def test_settings_reject_invalid_values(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError):
        Settings()


def test_index_choice_prefers_assignee() -> None:
    index, attribute, value, remaining = choose_index("acme", TicketFilter(status="new", assignee_id="a1", queue="q"))

    assert (index, attribute, value) == ("ByAssignee", "AssigneeKey", "TENANT#acme#ASSIGNEE#a1")
    assert remaining == {"status": "new", "queue": "q"}


def test_index_choice_without_filters() -> None:
    assert choose_index("acme", TicketFilter())[:3] == ("ByTenant", "TenantKey", "TENANT#acme#TICKETS")


def test_cursor_round_trip() -> None:
    key = {"PK": {"S": "TENANT#acme#TICKET#1"}, "SK": {"S": "TICKET"}, "TenantKey": {"S": "TENANT#acme#TICKETS"}}

    assert decode_cursor(encode_cursor("ByTenant", key), "ByTenant", "acme") == key


@pytest.mark.parametrize(
    ("scope", "tenant"),
    [("ByStatus", "acme"), ("ByTenant", "other")],
)
def test_cursor_bound_to_index_and_tenant(scope: str, tenant: str) -> None:
    cursor = encode_cursor("ByTenant", {"PK": {"S": "TENANT#acme#TICKET#1"}, "SK": {"S": "TICKET"}})

    with pytest.raises(InvalidInputError):
        decode_cursor(cursor, scope, tenant)


@pytest.mark.parametrize("cursor", ["", "!!!", "e30", "bm90IGpzb24", "eyJzIjoiQnlUZW5hbnQiLCJrIjpbXX0"])
def test_garbage_cursor_is_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInputError):
        decode_cursor(cursor, "ByTenant", "acme")


def test_ids_sort_by_time() -> None:
    earlier = new_id(1_700_000_000_000)
    later = new_id(1_700_000_000_001)

    assert len(earlier) == 26
    assert earlier < later
