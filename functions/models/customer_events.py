"""Events about customers: known problems, proactive notices and surveys.

The service publishes them with source `servicedesk.customers` (setting CUSTOMER_EVENT_SOURCE).
Partner monitoring systems send KnownProblemDetected to the bus. Like the ticket events, details
carry ids, labels and scores, never message bodies or personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.models.customers import GuideText, ProductName, SurveyKind
from functions.models.events import Actor
from functions.models.tickets import Channel, Identifier, ShortText


class CustomerEventDetail(BaseModel):
    """Fields shared by every customer event detail."""

    model_config = ConfigDict(extra="forbid")

    DETAIL_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[str] = "1"

    schema_version: str = Field(description="Major version of this detail's schema.")
    event_id: str = Field(description="Unique id; consumers use it to drop duplicates.")
    occurred_at: datetime
    tenant_id: str
    actor: Actor = Field(description="Who caused the change.")

    @classmethod
    def build(cls, **fields: Any) -> CustomerEventDetail:
        """Create a detail with this type's schema version filled in."""
        return cls(schema_version=cls.SCHEMA_VERSION, **fields)


class KnownProblemAnnounced(CustomerEventDetail):
    """A known problem was recorded; the insights consumer notifies the customers it affects."""

    DETAIL_TYPE: ClassVar[str] = "KnownProblemAnnounced"

    problem_id: str
    affected_services: list[str]
    affected_device_models: list[str]
    severity: str
    cursor: str | None = Field(
        default=None, description="Where the previous message of a long fan-out stopped; null for the first."
    )


class ProactiveNoticeSent(CustomerEventDetail):
    """A notice about a known problem was written for a customer; channel gateways deliver it."""

    DETAIL_TYPE: ClassVar[str] = "ProactiveNoticeSent"

    notice_id: str
    problem_id: str
    customer_id: str
    channel: Channel
    language: Literal["ko", "en"]


class SurveyRequested(CustomerEventDetail):
    """A CSAT or NPS survey is waiting for the requester's answer; channel gateways send them the link."""

    DETAIL_TYPE: ClassVar[str] = "SurveyRequested"

    survey_id: str
    kind: SurveyKind
    customer_id: str
    requester_id: str
    ticket_id: str | None = None


class SurveyAnswered(CustomerEventDetail):
    """A requester answered a survey; follow_up_id is set when the low score opened a follow-up task."""

    DETAIL_TYPE: ClassVar[str] = "SurveyAnswered"

    survey_id: str
    kind: SurveyKind
    customer_id: str
    ticket_id: str | None = None
    score: int = Field(ge=0, le=10)
    follow_up_id: str | None = None


class KnownProblemDetected(BaseModel):
    """Sent by a partner monitoring system: a problem that affects services or device models.

    The insights consumer records it as a known problem (the same problem_id again changes
    nothing) and notifies the affected customers.
    """

    model_config = ConfigDict(extra="forbid")

    DETAIL_TYPE: ClassVar[str] = "KnownProblemDetected"
    SCHEMA_VERSION: ClassVar[str] = "1"

    schema_version: Literal["1"]
    tenant_id: Identifier
    problem_id: Identifier
    monitor: Identifier = Field(description="Name of the partner system that detected the problem.")
    title: ShortText
    title_en: ShortText | None = None
    affected_services: list[ProductName] = Field(default_factory=list, max_length=50)
    affected_device_models: list[ProductName] = Field(default_factory=list, max_length=50)
    prevention_guide_ko: GuideText
    prevention_guide_en: GuideText
    severity: Literal["low", "medium", "high", "critical"] = "medium"


CUSTOMER_EVENT_TYPES: tuple[type[CustomerEventDetail], ...] = (
    KnownProblemAnnounced,
    ProactiveNoticeSent,
    SurveyRequested,
    SurveyAnswered,
)
