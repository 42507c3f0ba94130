"""Customer profiles, the 360 view, known problems, proactive notices, surveys and follow-up tasks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from functions.models.tickets import Channel, Identifier, ShortText, Ticket, reject_control_characters

Language = Literal["ko", "en"]
# Services and device models are matched exactly, so they are compared in lower case.
ProductName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64, pattern=r"^[\w\-. /+]+$"),
]
GuideText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def check_time_zone(value: str) -> str:
    """Raise ValueError unless the value names an IANA time zone, such as Asia/Seoul."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {value!r}; use a name such as Asia/Seoul") from error
    return value


TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_time_zone)]


class Tier(StrEnum):
    STANDARD = "standard"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"
    VIP = "vip"


class Contact(BaseModel):
    """A person at the customer. Personal data: never logged, never put in events or audit entries."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 ()\-]{4,31}$")] | None = None
    role: ShortText | None = None
    user_id: Identifier | None = Field(default=None, description="Requester user id of this contact, if they use the API.")
    primary: bool = False

    _no_controls = field_validator("name", "role")(reject_control_characters)


class CustomerProfileRequest(BaseModel):
    """Body of PUT /customers/{customer_id}: the whole profile, created or replaced."""

    model_config = ConfigDict(extra="forbid")

    company: ShortText
    tier: Tier = Tier.STANDARD
    contacts: list[Contact] = Field(default_factory=list, max_length=20)
    preferred_channel: Channel = Channel.EMAIL
    preferred_language: Language = "ko"
    time_zone: TimeZoneName = "Asia/Seoul"
    services: list[ProductName] = Field(
        default_factory=list, max_length=50, description="Services the customer uses; known problems name them."
    )
    device_models: list[ProductName] = Field(
        default_factory=list, max_length=50, description="Device models the customer uses; known problems name them."
    )
    version: int | None = Field(
        default=None, ge=1, description="Expected version when replacing a profile; If-Match works too."
    )

    _no_controls = field_validator("company")(reject_control_characters)


class CustomerProfile(BaseModel):
    """A customer as stored and returned by the API."""

    customer_id: str
    tenant_id: str
    company: str
    tier: Tier
    contacts: list[Contact] = Field(default_factory=list)
    preferred_channel: Channel = Channel.EMAIL
    preferred_language: Language = "ko"
    time_zone: str = "Asia/Seoul"
    services: list[str] = Field(default_factory=list)
    device_models: list[str] = Field(default_factory=list)
    version: int = 1
    created_at: datetime
    updated_at: datetime


class TimelineKind(StrEnum):
    TICKET_OPENED = "ticket_opened"
    MESSAGE = "message"
    STATUS_CHANGED = "status_changed"
    TICKET_UPDATED = "ticket_updated"
    ESCALATED = "escalated"
    SURVEY_REQUESTED = "survey_requested"
    SURVEY_ANSWERED = "survey_answered"
    PROACTIVE_NOTICE = "proactive_notice"


class TimelineItem(BaseModel):
    """One touchpoint of a customer's journey; ids and labels only, never message bodies."""

    kind: TimelineKind
    occurred_at: datetime
    event_id: str
    ticket_id: str | None = None
    channel: Channel | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class TrendPoint(BaseModel):
    """One week of a trend: ISO week start date, the value, and how many observations made it."""

    week_start: date
    value: float | None
    count: int


class ChurnReason(BaseModel):
    """One rule of the churn-risk score that applied, with the points it added."""

    code: str
    points: int
    detail: str
    detail_ko: str = Field(default="", description="The same sentence in Korean.")


class ChurnRisk(BaseModel):
    """Churn-risk score from 0 to 100 with the reasons that add up to it (docs/customer-360-and-kpis.md)."""

    score: int = Field(ge=0, le=100)
    level: Literal["low", "medium", "high"]
    reasons: list[ChurnReason]
    model_version: str


class ProactiveNotice(BaseModel):
    """A notice sent to a customer about a known problem before they asked."""

    notice_id: str
    problem_id: str
    customer_id: str
    channel: Channel
    language: Language
    subject: str
    body: str
    created_at: datetime


class Customer360(BaseModel):
    """Body of GET /customers/{customer_id}/360."""

    profile: CustomerProfile
    timeline: list[TimelineItem]
    timeline_next_cursor: str | None = None
    open_tickets: list[Ticket]
    past_tickets: list[Ticket]
    satisfaction_trend: list[TrendPoint] = Field(description="Average CSAT (1-5) per week.")
    sentiment_trend: list[TrendPoint] = Field(
        description="Net sentiment per week of the requester's messages: (positive - negative) / scored, -1 to 1."
    )
    churn_risk: ChurnRisk
    notices: list[ProactiveNotice]
    window_days: int


class KnownProblemRequest(BaseModel):
    """Body of POST /known-problems."""

    model_config = ConfigDict(extra="forbid")

    problem_id: Identifier | None = Field(
        default=None, description="Caller-chosen id; sending the same id again changes nothing."
    )
    title: ShortText
    title_en: ShortText | None = Field(default=None, description="English title; the title is used when missing.")
    affected_services: list[ProductName] = Field(default_factory=list, max_length=50)
    affected_device_models: list[ProductName] = Field(default_factory=list, max_length=50)
    prevention_guide_ko: GuideText
    prevention_guide_en: GuideText
    severity: Literal["low", "medium", "high", "critical"] = "medium"

    _no_controls = field_validator("title", "title_en", "prevention_guide_ko", "prevention_guide_en")(
        reject_control_characters
    )


class KnownProblem(BaseModel):
    """A known problem as stored and returned by the API."""

    problem_id: str
    tenant_id: str
    title: str
    title_en: str | None = None
    affected_services: list[str]
    affected_device_models: list[str]
    prevention_guide_ko: str
    prevention_guide_en: str
    severity: str
    source: Literal["api", "partner_event"]
    created_by: str
    created_at: datetime


class SurveyKind(StrEnum):
    CSAT = "csat"
    NPS = "nps"


class SurveyStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"


class Survey(BaseModel):
    """A CSAT survey about one resolved ticket, or a periodic NPS survey of a customer."""

    survey_id: str
    tenant_id: str
    kind: SurveyKind
    customer_id: str
    requester_id: str
    ticket_id: str | None = None
    queue: str | None = None
    period: str | None = Field(default=None, description="NPS period, such as 2026-Q4.")
    status: SurveyStatus
    score: int | None = None
    comment: str | None = None
    follow_up_id: str | None = None
    created_at: datetime
    answered_at: datetime | None = None


class SurveyAnswerRequest(BaseModel):
    """Body of POST /surveys/{survey_id}/answer: 1-5 for CSAT, 0-10 for NPS."""

    model_config = ConfigDict(extra="forbid")

    # Strict, so that "5", 5.0 and true are rejected rather than read as a score.
    score: StrictInt = Field(ge=0, le=10)
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None

    _no_controls = field_validator("comment")(reject_control_characters)


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class FollowUpTask(BaseModel):
    """A task for a supervisor, opened by a low survey score."""

    task_id: str
    tenant_id: str
    status: FollowUpStatus
    reason: Literal["low_csat", "low_nps"]
    survey_id: str
    customer_id: str
    ticket_id: str | None = None
    score: int
    queue: str = Field(description="Supervisor queue of the task.")
    note: str | None = None
    completed_by: str | None = None
    created_at: datetime
    completed_at: datetime | None = None


class CompleteFollowUpRequest(BaseModel):
    """Body of POST /follow-ups/{task_id}/complete."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    _no_controls = field_validator("note")(reject_control_characters)


class FollowUpPage(BaseModel):
    items: list[FollowUpTask]
    next_cursor: str | None = None


class KpiValue(BaseModel):
    """One KPI over the window: its value, the numerator and denominator behind it, and its unit."""

    value: float | None = Field(description="Null when the denominator is zero.")
    numerator: float
    denominator: float
    unit: str


class KpiDay(BaseModel):
    """The KPIs of one day of the window (in the KPI time zone)."""

    day: date
    values: dict[str, float | None]


class KpiReport(BaseModel):
    """Body of GET /kpis: every KPI over the window, and the same per day."""

    from_day: date
    to_day: date
    queue: str | None
    time_zone: str
    kpis: dict[str, KpiValue]
    days: list[KpiDay]

