"""Messages that channel gateways put on the intake queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from functions.models.tickets import (
    AttachmentRef,
    AuthorType,
    Channel,
    Identifier,
    Priority,
    ThreadKey,
    reject_control_characters,
)


class ChannelMessage(BaseModel):
    """One inbound message from a channel gateway.

    `thread_key` identifies the conversation on the channel side (an email thread id, a chat
    session, a phone call): every message with the same key joins the same ticket.
    `message_id` is the gateway's id and makes redelivery harmless.
    """

    model_config = ConfigDict(extra="forbid")

    tenant_id: Identifier
    message_id: Identifier
    channel: Channel
    thread_key: ThreadKey
    customer_id: Identifier
    requester_id: Identifier
    author_type: AuthorType = AuthorType.REQUESTER
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    priority: Priority | None = None
    sent_at: datetime | None = None
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)

    _no_controls = field_validator("subject", "body", "category")(reject_control_characters)
