"""Interfaces that the domain needs from the outside world; adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from functions.models.events import EventDetail
from functions.models.tickets import Message, Ticket

if TYPE_CHECKING:
    from functions.domain.routing import LoadChange


@dataclass(frozen=True)
class TicketFilter:
    """Filters of GET /tickets; every field left as None matches all."""

    status: str | None = None
    customer_id: str | None = None
    assignee_id: str | None = None
    queue: str | None = None
    priority: str | None = None
    requester_id: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Customer:
    customer_id: str
    tier: str = "standard"
    name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class TicketRepository(Protocol):
    def create_ticket(
        self, ticket: Ticket, events: Sequence[EventDetail], first_message: Message, load: Sequence[LoadChange] = ()
    ) -> None:
        """Store a new ticket, its first message, its thread mapping, outbox events and load changes atomically.

        Raises ThreadConflictError when the thread already has a ticket, and
        IdempotencyConflictError when the message id is already stored.
        """

    def get_ticket(self, tenant_id: str, ticket_id: str) -> Ticket:
        """Return the ticket or raise NotFoundError."""

    def find_ticket_by_thread(self, tenant_id: str, thread_key: str) -> Ticket | None: ...

    def save_ticket(
        self, ticket: Ticket, expected_version: int, events: Sequence[EventDetail], load: Sequence[LoadChange] = ()
    ) -> None:
        """Replace the ticket if its stored version is `expected_version`, else VersionConflictError.

        The agents' load changes commit with it (functions/domain/routing.py).
        """

    def add_message(
        self,
        message: Message,
        ticket: Ticket,
        expected_version: int,
        events: Sequence[EventDetail],
        load: Sequence[LoadChange] = (),
    ) -> bool:
        """Store a message, the updated ticket and the agents' load changes atomically.

        Returns False when a message with the same id already exists (nothing is written);
        raises VersionConflictError when the ticket changed since it was read.
        """

    def get_message(self, tenant_id: str, ticket_id: str, message_id: str) -> Message | None: ...

    def list_tickets(self, tenant_id: str, filters: TicketFilter, limit: int, cursor: str | None) -> Page: ...

    def list_messages(self, tenant_id: str, ticket_id: str, limit: int, cursor: str | None) -> Page: ...

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None: ...

    def delete_outbox(self, events: Sequence[EventDetail]) -> None:
        """Remove published events from the outbox."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[EventDetail]) -> None:
        """Publish the events; raise DependencyError when any of them failed."""


class ModelEndpoint(Protocol):
    """A deployed model: JSON request in, JSON response out (SageMaker's contract)."""

    name: str

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]: ...
