"""Tenant isolation by construction: for any two tenants A != B, nothing that the repository
writes for A can be read or listed as B, and every key it writes starts with A's prefix.

Hypothesis picks the tenants, including ids where one is a prefix of the other, and the ids of
the ticket, requester, customer and channel thread; B requests exactly A's ids.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.adapters.dynamodb import TICKET_INDEXES, tenant_prefix
from functions.domain.errors import NotFoundError
from functions.domain.ids import new_id
from functions.domain.ports import Customer, TicketFilter
from functions.models.events import Actor, MessageReceived, TicketCreated
from functions.models.tickets import Message, Priority, Ticket, TicketStatus

# The Identifier pattern of functions/models/tickets.py, shortened so examples stay readable.
IDENTIFIERS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@\-]{0,15}", fullmatch=True)
SUFFIXES = st.from_regex(r"[A-Za-z0-9._:@\-]{1,4}", fullmatch=True)
# Thread keys are free text from channel gateways, so they may contain the key separator '#'.
THREAD_KEYS = st.text(st.characters(min_codepoint=33, max_codepoint=0x11FF), min_size=1, max_size=24)


@st.composite
def tenant_pairs(draw: st.DrawFn) -> tuple[str, str]:
    """Two different tenant ids; often one is a prefix of the other, the likeliest collision."""
    first = draw(IDENTIFIERS)
    shape = draw(st.sampled_from(["independent", "b_extends_a", "a_extends_b"]))
    if shape == "b_extends_a":
        return first, first + draw(SUFFIXES)
    if shape == "a_extends_b":
        return first + draw(SUFFIXES), first
    second = draw(IDENTIFIERS.filter(lambda value: value != first))
    return first, second


def key_values(item: dict[str, Any]) -> dict[str, str]:
    """Return the partition and index key attributes of an item as written (string values only)."""
    return {
        name: value["S"]
        for name, value in item.items()
        if (name == "PK" or (name.endswith("Key") and name != "CreatedKey")) and "S" in value
    }


@pytest.fixture
def repository(aws: dict[str, str]) -> Any:
    from functions import wiring

    return wiring.repository()


@pytest.fixture
def written_items(aws: dict[str, str]) -> Any:
    """Collect every item that a DynamoDB write request of this test puts."""
    from functions.adapters.clients import client

    items: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        for operation in params.get("TransactItems", []):
            if "Put" in operation:
                items.append(operation["Put"]["Item"])
        if "Item" in params:
            items.append(params["Item"])

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-parameter-build.dynamodb.*", record)
    yield items
    dynamodb.meta.events.unregister("before-parameter-build.dynamodb.*", record)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tenants=tenant_pairs(), requester_id=IDENTIFIERS, customer_id=IDENTIFIERS, thread_key=THREAD_KEYS)
def test_other_tenant_reads_nothing(
    repository: Any, written_items: list[dict[str, Any]], tenants: tuple[str, str], requester_id: str,
    customer_id: str, thread_key: str,
) -> None:
    # Both tenants get the same new leading part, which keeps examples apart in the shared moto
    # table and keeps the prefix relation that Hypothesis drew.
    run = f"iso{new_id()[-8:]}"
    tenant_a, tenant_b = run + tenants[0], run + tenants[1]
    written_items.clear()
    now = datetime.now(UTC)
    ticket = Ticket(
        ticket_id=new_id(), tenant_id=tenant_a, title="printer", requester_id=requester_id,
        customer_id=customer_id, created_by=requester_id, channel="email", priority=Priority.MEDIUM,
        status=TicketStatus.NEW, queue="hardware", assignee_id=requester_id, thread_key=thread_key,
        created_at=now, updated_at=now,
    )
    first = Message(
        message_id=new_id(), ticket_id=ticket.ticket_id, tenant_id=tenant_a, channel="email",
        author_type="requester", author_id=requester_id, body="printer jam", created_at=now,
    )
    created = TicketCreated.build(
        event_id=new_id(), occurred_at=now, tenant_id=tenant_a, ticket_id=ticket.ticket_id, customer_id=customer_id,
        channel="email", status=TicketStatus.NEW, priority=Priority.MEDIUM, queue="hardware", version=1,
        actor=Actor(user_id=requester_id, role="requester"),
    )
    repository.create_ticket(ticket, [created], first_message=first)
    reply = Message(
        message_id=new_id(), ticket_id=ticket.ticket_id, tenant_id=tenant_a, channel="chat",
        author_type="agent", author_id=requester_id, body="on my way", created_at=now,
    )
    received = MessageReceived.build(
        event_id=new_id(), occurred_at=now, tenant_id=tenant_a, ticket_id=ticket.ticket_id,
        message_id=reply.message_id, channel="chat", author_type="agent",
        actor=Actor(user_id=requester_id, role="agent"),
    )
    repository.add_message(reply, ticket.model_copy(update={"version": 2, "message_count": 2}), 1, [received])
    repository.put_customer(tenant_a, Customer(customer_id=customer_id, tier="vip"))

    with pytest.raises(NotFoundError):
        repository.get_ticket(tenant_b, ticket.ticket_id)
    assert repository.find_ticket_by_thread(tenant_b, thread_key) is None
    assert repository.get_message(tenant_b, ticket.ticket_id, reply.message_id) is None
    assert repository.get_customer(tenant_b, customer_id) is None
    assert repository.list_messages(tenant_b, ticket.ticket_id, 100, None).items == []
    filters = [
        TicketFilter(),
        TicketFilter(requester_id=requester_id),
        TicketFilter(assignee_id=requester_id),
        TicketFilter(customer_id=customer_id),
        TicketFilter(status=ticket.status.value),
        TicketFilter(queue=ticket.queue),
        TicketFilter(priority=ticket.priority.value),
    ]
    assert {field for field, _, _ in TICKET_INDEXES} <= {
        name for ticket_filter in filters for name, value in vars(ticket_filter).items() if value is not None
    }
    for ticket_filter in filters:
        assert repository.list_tickets(tenant_b, ticket_filter, 100, None).items == [], ticket_filter

    assert repository.get_ticket(tenant_a, ticket.ticket_id).ticket_id == ticket.ticket_id
    assert [item.ticket_id for item in repository.list_tickets(tenant_a, TicketFilter(), 100, None).items] == [ticket.ticket_id]
    prefix = tenant_prefix(tenant_a)
    assert written_items
    for item in written_items:
        for name, value in key_values(item).items():
            if name == "PK" and value.startswith("OUTBOX#"):
                # The outbox is the documented exception: only the relay job reads it.
                continue
            assert value.startswith(prefix), f"{name}={value!r} lacks {prefix!r}"
