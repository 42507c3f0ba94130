"""Tickets, conversation messages and the requests that change them."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]*$")
]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w\-. /]+$")
]

# C0 controls (NUL included), DEL and C1 controls: Unicode category Cc.
_CONTROL_CHARACTERS = {chr(code) for code in (*range(32), *range(0x7F, 0xA0))} - {"\n", "\r", "\t"}
# Largest integer that JSON clients (JavaScript numbers) hold exactly; bounds every integer field.
MAX_SAFE_INTEGER = 2**53 - 1


def reject_control_characters(value: str | None) -> str | None:
    """Raise ValueError when text contains control characters other than tab and newlines."""
    if value is not None and any(character in _CONTROL_CHARACTERS for character in value):
        raise ValueError("must not contain control characters")
    return value


# One line of text such as a name or a comment; no control characters.
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(reject_control_characters),
]


def normalise_thread_key(value: str) -> str:
    """Return a thread key in Unicode NFC; raise ValueError when it contains control characters.

    Gateways on macOS send decomposed (NFD) Hangul, others composed (NFC): without
    normalisation one conversation key would open two tickets.
    """
    if any(character in _CONTROL_CHARACTERS or character in "\n\r\t" for character in value):
        raise ValueError("must not contain control characters")
    return unicodedata.normalize("NFC", value)


ThreadKey = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(normalise_thread_key)
]


class Channel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    PHONE_TRANSCRIPT = "phone_transcript"
    MOBILE_APP = "mobile_app"
    WEB_FORM = "web_form"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class AuthorType(StrEnum):
    REQUESTER = "requester"
    AGENT = "agent"
    SYSTEM = "system"


class SentimentLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Sentiment(BaseModel):
    """A model's sentiment verdict on one text."""

    label: SentimentLabel
    score: float = Field(ge=0.0, le=1.0, description="Probability of the label.")
    negative: float = Field(ge=0.0, le=1.0, description="Probability that the text is negative.")
    language: str = Field(max_length=8, description="ko, en or mixed.")
    model: str = Field(max_length=64)
    model_version: str = Field(max_length=64)


class TriageVerdict(BaseModel):
    """The triage model's category and queue for a ticket; abstained means a person decides."""

    category: str | None = Field(default=None, max_length=64)
    queue: str = Field(max_length=64)
    confidence: float = Field(ge=0.0, le=1.0)
    abstained: bool = False
    model: str = Field(max_length=64)
    model_version: str = Field(max_length=64)


class AttachmentRef(BaseModel):
    """A file kept in S3; only its location travels with the ticket."""

    model_config = ConfigDict(extra="forbid")

    bucket: Annotated[str, StringConstraints(min_length=3, max_length=63, pattern=r"^[a-z0-9.\-]+$")]
    key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    size_bytes: int | None = Field(default=None, ge=0, le=MAX_SAFE_INTEGER)

    _no_controls = field_validator("key", "filename")(reject_control_characters)


class CreateTicketRequest(BaseModel):
    """Body of POST /tickets."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText
    description: LongText = ""
    requester_id: Identifier
    customer_id: Identifier
    channel: Channel
    category: Label | None = None
    priority: Priority | None = None
    thread_key: ThreadKey | None = Field(
        default=None, description="Channel conversation id; later channel messages with it join this ticket."
    )
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)

    _no_controls = field_validator("title", "description")(reject_control_characters)


class UpdateTicketRequest(BaseModel):
    """Body of PATCH /tickets/{id}; every field is optional, at least one must change."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    assignee_id: Identifier | None = None
    priority: Priority | None = None
    queue: Label | None = None
    category: Label | None = None
    version: int | None = Field(
        default=None, ge=1, le=MAX_SAFE_INTEGER, description="Expected version; If-Match works too."
    )


class AddMessageRequest(BaseModel):
    """Body of POST /tickets/{id}/messages."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    channel: Channel
    author_type: AuthorType = AuthorType.REQUESTER
    author_id: Identifier
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)

    _no_controls = field_validator("body")(reject_control_characters)

    @field_validator("body")
    @classmethod
    def _has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain text, not only spaces and line breaks")
        return value


class RoutingDecision(BaseModel):
    """The router's latest decision on a ticket: the chosen agent, or none while it waits in its queue."""

    agent_id: str | None = Field(default=None, description="Chosen agent; null while the ticket waits in its queue.")
    queue: str
    reason_codes: list[str] = Field(
        default_factory=list, description="Stable codes of the facts behind the decision, for reports and filters."
    )
    reason: str = Field(description="The decision in one English sentence, for people reading the ticket.")
    reason_ko: str | None = Field(default=None, description="The same sentence in Korean.")
    score: float | None = Field(default=None, description="Score of the chosen agent; null when no agent was chosen.")
    decided_at: datetime
    unassigned_agent_ids: list[str] = Field(
        default_factory=list,
        description="Agents the ticket was unassigned from. Routing does not choose them again, but a person can still assign them.",
    )


class SlaClock(BaseModel):
    """A ticket's SLA clocks: targets in business seconds of a calendar and the due times they give."""

    policy_id: str
    calendar_id: str
    time_zone: str = Field(description="IANA time zone whose working hours the clocks count.")
    first_response_target_seconds: int = Field(ge=0, description="Business seconds allowed until the first response.")
    resolution_target_seconds: int = Field(ge=0, description="Business seconds allowed until resolution.")
    first_response_due_at: datetime
    resolution_due_at: datetime
    paused_seconds: int = Field(
        default=0, ge=0, description="Business seconds spent pending (waiting on the customer); they extend the due times."
    )
    paused_since: datetime | None = Field(default=None, description="Start of the current pause; null while running.")
    first_response_breached: bool = False
    resolution_breached: bool = False
    predicted_breach_at: datetime | None = Field(
        default=None, description="When the breach job expects resolution to miss its due time; null when on track."
    )
    breach_risk: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Share of the remaining business time the predicted handling needs, capped at 1."
    )
    predicted_by: str | None = Field(default=None, description="resolution_model or priority_median.")
    escalated_for_breach_at: datetime | None = None


class Ticket(BaseModel):
    """A ticket as stored and returned by the API."""

    ticket_id: str
    tenant_id: str
    title: str
    description: str = ""
    requester_id: str
    customer_id: str
    created_by: str | None = Field(
        default=None, description="User id of the caller that opened the ticket; null for channel messages."
    )
    channel: Channel
    category: str | None = None
    priority: Priority
    status: TicketStatus
    queue: str
    assignee_id: str | None = None
    thread_key: str | None = None
    escalated: bool = False
    escalation_reasons: list[str] = Field(default_factory=list)
    last_sentiment: Sentiment | None = None
    triage: TriageVerdict | None = None
    message_count: int = 0
    attachments: list[AttachmentRef] = Field(default_factory=list)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = Field(
        default=None, description="First agent message or first move to in_progress, whichever came first."
    )
    resolved_at: datetime | None = Field(default=None, description="Last move to resolved; cleared when reopened.")
    closed_at: datetime | None = Field(default=None, description="Move to closed; cleared when reopened.")
    reopened_count: int = Field(default=0, ge=0)
    routing: RoutingDecision | None = None
    sla: SlaClock | None = None


class Message(BaseModel):
    """One message of a ticket's conversation, from any channel."""

    message_id: str
    ticket_id: str
    tenant_id: str
    channel: Channel
    author_type: AuthorType
    author_id: str
    body: str
    sentiment: Sentiment | None = None
    attachments: list[AttachmentRef] = Field(default_factory=list)
    created_at: datetime


class TicketPage(BaseModel):
    items: list[Ticket]
    next_cursor: str | None = None


class MessagePage(BaseModel):
    items: list[Message]
    next_cursor: str | None = None
