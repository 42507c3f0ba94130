"""Domain events published on the EventBridge bus.

Each event type has a detail-type, a major schema version and a pydantic model of its
detail. The JSON Schemas in `events/schemas/` are generated from these models. Details carry
ids and labels only, never message bodies or personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.models.caller import Role
from functions.models.tickets import AuthorType, Channel, Priority, SentimentLabel, TicketStatus


class Actor(BaseModel):
    """Cause of a change: a user with their role, or a component of the service with role system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1, max_length=128)
    role: Role


class EventDetail(BaseModel):
    """Fields shared by every event detail."""

    model_config = ConfigDict(extra="forbid")

    DETAIL_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[str] = "1"

    schema_version: str = Field(description="Major version of this detail's schema.")
    event_id: str = Field(description="Unique id; consumers use it to drop duplicates.")
    occurred_at: datetime
    tenant_id: str
    ticket_id: str
    actor: Actor | None = Field(
        default=None,
        description="Who caused the change. Optional in schema version 1, so consumers must accept events without it.",
    )

    @classmethod
    def build(cls, **fields: Any) -> EventDetail:
        """Create a detail with this type's schema version filled in."""
        return cls(schema_version=cls.SCHEMA_VERSION, **fields)


class TicketCreated(EventDetail):
    DETAIL_TYPE: ClassVar[str] = "TicketCreated"

    customer_id: str
    channel: Channel
    status: TicketStatus
    priority: Priority
    queue: str
    category: str | None = None
    version: int
    assignee_id: str | None = Field(default=None, description="Agent the router chose when opening; null while waiting.")
    routing_reason_codes: list[str] | None = Field(
        default=None, description="Facts behind the opening routing decision; null when routing was off or failed."
    )
    routing_score: float | None = None


class FieldChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old: str | None
    new: str | None


class TicketUpdated(EventDetail):
    DETAIL_TYPE: ClassVar[str] = "TicketUpdated"

    changes: dict[str, FieldChange]
    version: int


class TicketStatusChanged(EventDetail):
    DETAIL_TYPE: ClassVar[str] = "TicketStatusChanged"

    from_status: TicketStatus
    to_status: TicketStatus
    version: int


class TicketEscalated(EventDetail):
    DETAIL_TYPE: ClassVar[str] = "TicketEscalated"

    reasons: list[str] = Field(min_length=1)
    priority: Priority
    queue: str
    negative_score: float | None = Field(default=None, ge=0.0, le=1.0)
    version: int


class MessageReceived(EventDetail):
    DETAIL_TYPE: ClassVar[str] = "MessageReceived"

    message_id: str
    channel: Channel
    author_type: AuthorType
    sentiment: SentimentLabel | None = None
    sentiment_score: float | None = Field(default=None, ge=0.0, le=1.0)
    language: Literal["ko", "en", "mixed", "unknown"] | None = None


class TicketRouted(EventDetail):
    """The router assigned a ticket to an agent, or left it waiting in its queue, and why."""

    DETAIL_TYPE: ClassVar[str] = "TicketRouted"

    agent_id: str | None = Field(default=None, description="Chosen agent; null when the ticket waits in its queue.")
    previous_agent_id: str | None = None
    queue: str
    reason_codes: list[str]
    reason: str = Field(max_length=500)
    reason_ko: str | None = Field(default=None, max_length=500)
    score: float | None = None
    version: int


class SlaBreachPredicted(EventDetail):
    """The breach job expects a ticket to miss an SLA due time and escalated it before the breach."""

    DETAIL_TYPE: ClassVar[str] = "SlaBreachPredicted"

    target: Literal["first_response", "resolution"]
    due_at: datetime
    predicted_breach_at: datetime | None = None
    risk: float = Field(ge=0.0, le=1.0)
    predicted_by: Literal["resolution_model", "priority_median"]
    version: int


EVENT_TYPES: tuple[type[EventDetail], ...] = (
    TicketCreated,
    TicketUpdated,
    TicketStatusChanged,
    TicketEscalated,
    MessageReceived,
    TicketRouted,
    SlaBreachPredicted,
)
