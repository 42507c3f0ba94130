"""Role rules of functions/domain/access.py, without AWS."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from functions.domain import access
from functions.domain.errors import ForbiddenError, NotFoundError
from functions.domain.ports import TicketFilter
from functions.models.caller import Caller
from functions.models.tickets import (
    AddMessageRequest,
    CreateTicketRequest,
    Priority,
    Ticket,
    TicketStatus,
    UpdateTicketRequest,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

REQUESTER = Caller(tenant_id="acme", user_id="emp-1", role="requester")
OTHER_REQUESTER = Caller(tenant_id="acme", user_id="emp-2", role="requester")
AGENT = Caller(tenant_id="acme", user_id="agent-1", role="agent", queues=frozenset({"hardware"}))
TWO_QUEUE_AGENT = Caller(tenant_id="acme", user_id="agent-2", role="agent", queues=frozenset({"hardware", "identity"}))
NO_QUEUE_AGENT = Caller(tenant_id="acme", user_id="agent-3", role="agent")
SUPERVISOR = Caller(tenant_id="acme", user_id="lead-1", role="supervisor")
ADMIN = Caller(tenant_id="acme", user_id="admin-1", role="admin")
PARTNER = Caller(tenant_id="acme", user_id="hr-system", role="partner")
OTHER_PARTNER = Caller(tenant_id="acme", user_id="erp-system", role="partner")
SYSTEM = Caller(tenant_id="acme", user_id="intake", role="system")


def ticket(**changes: object) -> Ticket:
    values = {
        "ticket_id": "T1",
        "tenant_id": "acme",
        "title": "printer jam",
        "requester_id": "emp-1",
        "customer_id": "c1",
        "created_by": "hr-system",
        "channel": "web_form",
        "priority": Priority.MEDIUM,
        "status": TicketStatus.NEW,
        "queue": "hardware",
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(changes)
    return Ticket.model_validate(values)


def outcome(denial: access.Denial | None) -> str:
    if denial is None:
        return "allow"
    return "hide" if denial.hidden else "deny"


@pytest.mark.parametrize(
    ("caller", "stored", "expected"),
    [
        (REQUESTER, ticket(), "allow"),
        (OTHER_REQUESTER, ticket(), "hide"),
        (AGENT, ticket(), "allow"),
        (AGENT, ticket(queue="identity"), "deny"),
        (AGENT, ticket(queue="identity", assignee_id="agent-1"), "allow"),
        (NO_QUEUE_AGENT, ticket(), "deny"),
        (SUPERVISOR, ticket(queue="anything"), "allow"),
        (ADMIN, ticket(queue="anything"), "allow"),
        (PARTNER, ticket(), "allow"),
        (OTHER_PARTNER, ticket(), "hide"),
        (PARTNER, ticket(created_by=None), "hide"),
        (SYSTEM, ticket(), "deny"),
    ],
)
def test_read_rules(caller: Caller, stored: Ticket, expected: str) -> None:
    assert outcome(access.read_denial(caller, stored)) == expected


@pytest.mark.parametrize(
    ("caller", "stored", "change", "expected"),
    [
        (REQUESTER, ticket(status=TicketStatus.RESOLVED), {"status": "closed"}, "allow"),
        (REQUESTER, ticket(status=TicketStatus.CLOSED), {"status": "reopened", "version": 3}, "allow"),
        (REQUESTER, ticket(), {"status": "in_progress"}, "deny"),
        (REQUESTER, ticket(), {"priority": "critical"}, "deny"),
        (REQUESTER, ticket(), {"status": "closed", "priority": "low"}, "deny"),
        (OTHER_REQUESTER, ticket(), {"status": "closed"}, "hide"),
        (AGENT, ticket(), {"priority": "high", "queue": "identity"}, "allow"),
        (AGENT, ticket(queue="identity"), {"priority": "high"}, "deny"),
        (SUPERVISOR, ticket(queue="identity"), {"assignee_id": "agent-9"}, "allow"),
        (ADMIN, ticket(queue="identity"), {"status": "closed"}, "allow"),
        (PARTNER, ticket(), {"priority": "high"}, "deny"),
        (OTHER_PARTNER, ticket(), {"priority": "high"}, "hide"),
        (SYSTEM, ticket(), {"priority": "high"}, "deny"),
    ],
)
def test_update_rules(caller: Caller, stored: Ticket, change: dict, expected: str) -> None:
    request = UpdateTicketRequest.model_validate(change)

    assert outcome(access.update_denial(caller, stored, request)) == expected


@pytest.mark.parametrize(
    ("caller", "author_type", "author_id", "expected"),
    [
        (REQUESTER, "requester", "emp-1", "allow"),
        (REQUESTER, "requester", "emp-9", "deny"),
        (REQUESTER, "agent", "emp-1", "deny"),
        (OTHER_REQUESTER, "requester", "emp-2", "hide"),
        (AGENT, "agent", "agent-1", "allow"),
        (AGENT, "agent", "agent-7", "deny"),
        (AGENT, "requester", "emp-1", "allow"),
        (AGENT, "system", "agent-1", "deny"),
        (SUPERVISOR, "agent", "lead-1", "allow"),
        (PARTNER, "requester", "emp-1", "deny"),
        (SYSTEM, "system", "intake", "deny"),
    ],
)
def test_message_rules(caller: Caller, author_type: str, author_id: str, expected: str) -> None:
    request = AddMessageRequest(body="hello", channel="chat", author_type=author_type, author_id=author_id)

    assert outcome(access.message_denial(caller, ticket(), request)) == expected


@pytest.mark.parametrize(
    ("caller", "requester_id", "expected"),
    [
        (REQUESTER, "emp-1", "allow"),
        (REQUESTER, "emp-2", "deny"),
        (AGENT, "emp-2", "allow"),
        (SUPERVISOR, "emp-2", "allow"),
        (ADMIN, "emp-2", "allow"),
        (PARTNER, "emp-2", "allow"),
        (SYSTEM, "emp-2", "deny"),
    ],
)
def test_create_rules(caller: Caller, requester_id: str, expected: str) -> None:
    request = CreateTicketRequest(title="t", requester_id=requester_id, customer_id="c1", channel="email")

    assert outcome(access.create_denial(caller, request)) == expected


@pytest.mark.parametrize(
    ("caller", "filters", "expected_filters", "expected"),
    [
        (REQUESTER, TicketFilter(), TicketFilter(requester_id="emp-1"), "allow"),
        (REQUESTER, TicketFilter(status="new"), TicketFilter(status="new", requester_id="emp-1"), "allow"),
        (REQUESTER, TicketFilter(requester_id="emp-2"), None, "deny"),
        (AGENT, TicketFilter(), TicketFilter(queue="hardware"), "allow"),
        (AGENT, TicketFilter(queue="identity"), None, "deny"),
        (AGENT, TicketFilter(assignee_id="agent-1"), TicketFilter(assignee_id="agent-1"), "allow"),
        (AGENT, TicketFilter(assignee_id="agent-7"), None, "deny"),
        (
            AGENT,
            TicketFilter(queue="hardware", assignee_id="agent-7"),
            TicketFilter(queue="hardware", assignee_id="agent-7"),
            "allow",
        ),
        (TWO_QUEUE_AGENT, TicketFilter(), None, "deny"),
        (TWO_QUEUE_AGENT, TicketFilter(queue="identity"), TicketFilter(queue="identity"), "allow"),
        (NO_QUEUE_AGENT, TicketFilter(), None, "deny"),
        (SUPERVISOR, TicketFilter(), TicketFilter(), "allow"),
        (ADMIN, TicketFilter(requester_id="emp-2"), TicketFilter(requester_id="emp-2"), "allow"),
        (PARTNER, TicketFilter(), None, "deny"),
        (SYSTEM, TicketFilter(), None, "deny"),
    ],
)
def test_list_scope(caller: Caller, filters: TicketFilter, expected_filters: TicketFilter | None, expected: str) -> None:
    scoped, denial = access.list_scope(caller, filters)

    assert outcome(denial) == expected
    if expected_filters is not None:
        assert scoped == expected_filters


def test_agent_list_denial_names_queues() -> None:
    _, denial = access.list_scope(TWO_QUEUE_AGENT, TicketFilter())

    assert denial is not None
    assert "hardware, identity" in denial.problem


@pytest.mark.parametrize(
    ("caller", "partner_route", "expected"),
    [
        (PARTNER, True, "allow"),
        (PARTNER, False, "deny"),
        (SUPERVISOR, True, "deny"),
        (REQUESTER, False, "allow"),
    ],
)
def test_route_rules(caller: Caller, partner_route: bool, expected: str) -> None:
    assert outcome(access.route_denial(caller, partner_route)) == expected


def test_enforce_raises_not_found_when_hidden(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="servicedesk"), pytest.raises(NotFoundError) as caught:
        access.enforce(access.read_denial(OTHER_REQUESTER, ticket()), OTHER_REQUESTER, "read_ticket", "T1")

    assert caught.value.details == {"resource": "ticket", "id": "T1"}
    [record] = [record for record in caplog.records if record.getMessage() == "access denied"]
    assert record.reason == "not_own_ticket"
    assert record.user_id == "emp-2"
    assert record.ticket_id == "T1"


def test_enforce_raises_forbidden_with_reason() -> None:
    with pytest.raises(ForbiddenError) as caught:
        access.enforce(access.read_denial(AGENT, ticket(queue="identity")), AGENT, "read_ticket", "T1")

    assert caught.value.code == "forbidden"
    assert caught.value.details["reason"] == "outside_agent_queues"


def test_enforce_allows_without_denial() -> None:
    access.enforce(None, SUPERVISOR, "read_ticket", "T1")


def test_hidden_denial_names_its_resource() -> None:
    caller = Caller(tenant_id="acme", user_id="kim", role="requester")
    denial = access.Denial(reason="not_own_workflow", problem="not yours", hidden=True)

    with pytest.raises(NotFoundError) as caught:
        access.enforce(denial, caller, "read_workflow", "wf-onb-1", "workflow")

    assert caught.value.details == {"resource": "workflow", "id": "wf-onb-1"}
