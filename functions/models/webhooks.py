"""Webhook subscriptions, their delivery attempts, and the messages on the webhooks queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from functions.models.events import EVENT_TYPES
from functions.models.tickets import reject_control_characters

# Detail-types a subscription may name: every domain event that partners can receive.
SUBSCRIBABLE_EVENT_TYPES: tuple[str, ...] = tuple(model.DETAIL_TYPE for model in EVENT_TYPES)

EventTypeName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_URL_LENGTH = 2048


class CreateWebhookRequest(BaseModel):
    """Body of POST /webhooks."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="HTTPS endpoint that receives the events. Private, loopback and link-local addresses are rejected.",
    )
    event_types: list[EventTypeName] = Field(
        min_length=1,
        max_length=len(SUBSCRIBABLE_EVENT_TYPES),
        description="Detail-types to deliver: " + ", ".join(SUBSCRIBABLE_EVENT_TYPES) + ".",
    )
    description: str | None = Field(default=None, max_length=256)

    @field_validator("event_types")
    @classmethod
    def _known_and_unique(cls, values: list[str]) -> list[str]:
        unknown = [value for value in values if value not in SUBSCRIBABLE_EVENT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown event types {', '.join(unknown)}; choose from {', '.join(SUBSCRIBABLE_EVENT_TYPES)}"
            )
        if len(set(values)) != len(values):
            raise ValueError("event types must not repeat")
        return values

    @field_validator("description")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return reject_control_characters(value)


class Webhook(BaseModel):
    """A tenant's webhook subscription as the API returns it: never with its signing secret."""

    webhook_id: str
    tenant_id: str
    url: str
    event_types: list[str]
    description: str | None = None
    enabled: bool = True
    consecutive_failures: int = Field(0, description="Failed attempts since the last successful delivery.")
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    last_delivery_at: datetime | None = Field(None, description="Time of the last successful delivery.")
    last_failure_at: datetime | None = None
    last_error: str | None = Field(None, description="Why the last failed attempt failed.")
    secret_rotated_at: datetime | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime


class StoredWebhook(Webhook):
    """A subscription with its signing secrets, as stored; only the delivery path reads the secrets."""

    signing_secret: str = Field(repr=False)
    previous_signing_secret: str | None = Field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None

    def public(self) -> Webhook:
        """Return the subscription without its secrets."""
        return Webhook.model_validate(self.model_dump(include=set(Webhook.model_fields)))

    def signing_secrets(self, now: datetime) -> list[str]:
        """Return the secrets that sign a delivery at `now`: the current one, then the previous
        one while its rotation grace period lasts."""
        secrets = [self.signing_secret]
        if self.previous_signing_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            secrets.append(self.previous_signing_secret)
        return secrets


class WebhookCreated(Webhook):
    """Response of POST /webhooks: the subscription and, this one time, its signing secret."""

    signing_secret: str = Field(description="Key of the HMAC-SHA256 signatures. It is never returned again.")


class SecretRotated(BaseModel):
    """Response of POST /webhooks/{webhook_id}/rotate-secret."""

    webhook_id: str
    signing_secret: str = Field(description="The new key. It is never returned again.")
    previous_secret_expires_at: datetime = Field(
        description="Until then deliveries carry a signature with the previous key as well."
    )


class WebhookList(BaseModel):
    """Every subscription of the tenant; there are at most WEBHOOK_MAX_PER_TENANT."""

    items: list[Webhook]


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    # The retry schedule ran out; the event is not delivered to this endpoint.
    GAVE_UP = "gave_up"
    # This failure reached the limit of consecutive failures and disabled the subscription.
    DISABLED = "disabled"


class DeliveryAttempt(BaseModel):
    """One HTTP attempt to deliver one event to one endpoint."""

    delivery_id: str = Field(description="Id of this attempt, time-ordered.")
    webhook_id: str
    event_id: str = Field(description="The event's id, sent as the Webhook-Id header.")
    event_type: str
    attempt: int = Field(ge=1, description="1 for the first try of this event, 2 for its first retry, and so on.")
    attempted_at: datetime
    outcome: DeliveryOutcome
    status_code: int | None = Field(None, description="HTTP status of the response; null when none arrived.")
    latency_ms: int = Field(ge=0)
    error: str | None = Field(None, description="Why the attempt failed: timeout, connection error or status.")
    next_attempt_at: datetime | None = None


class DeliveryPage(BaseModel):
    items: list[DeliveryAttempt]
    next_cursor: str | None = None


class DeliveryMessage(BaseModel):
    """Body of a message on the webhooks queue that requests one delivery to one subscription.

    The consumer writes these itself: one per subscription when an event arrives, and one per
    retry. `deliver_after` lets a retry wait longer than SQS's maximum message delay.
    """

    model_config = ConfigDict(extra="forbid")

    KIND: ClassVar[str] = "webhook_delivery"

    kind: Literal["webhook_delivery"] = "webhook_delivery"
    tenant_id: str
    webhook_id: str
    event_type: str
    event_id: str
    detail: dict[str, Any]
    attempt: int = Field(1, ge=1)
    deliver_after: float = Field(0.0, ge=0, description="Unix time in seconds before which no attempt is made.")


class WebhookDisabled(BaseModel):
    """Detail of the event published when a subscription is disabled after consecutive failures."""

    model_config = ConfigDict(extra="forbid")

    DETAIL_TYPE: ClassVar[str] = "WebhookDisabled"
    SCHEMA_VERSION: ClassVar[str] = "1"

    schema_version: str = SCHEMA_VERSION
    event_id: str
    occurred_at: datetime
    tenant_id: str
    webhook_id: str
    host: str = Field(description="Host of the endpoint; the full URL may carry credentials and is left out.")
    consecutive_failures: int
    last_status_code: int | None = None
    last_error: str | None = None
