"""What each domain event changes in the insight aggregates: timeline, counters, surveys.

The planners here are pure. They take one event, the ticket as stored now and the per-ticket
insight state, and return an InsightChanges. The repository writes it in one transaction
together with a marker of the event id, so a redelivered event changes nothing.

Events arrive from a standard SQS queue, so their order is not guaranteed. Counters are added,
so their order does not matter, and open counts follow each status event's own from and to
status. The per-ticket state (queue, first response, reopens) follows the order of arrival. When
a ticket's first event to arrive is not TicketCreated, the stored ticket supplies its identity,
queue and status.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from functions.domain import kpis
from functions.models.customer_events import CustomerEventDetail, SurveyRequested
from functions.models.customers import (
    FollowUpStatus,
    FollowUpTask,
    Survey,
    SurveyKind,
    SurveyStatus,
    TimelineItem,
    TimelineKind,
)
from functions.models.events import (
    Actor,
    EventDetail,
    MessageReceived,
    TicketCreated,
    TicketEscalated,
    TicketStatusChanged,
    TicketUpdated,
)
from functions.models.caller import Role
from functions.models.tickets import AuthorType, SentimentLabel, Ticket, TicketStatus

# Key of the tenant-wide KPI items; queue labels cannot contain "*".
ALL_QUEUES = "*"
INSIGHTS_ACTOR = Actor(user_id="insights", role=Role.SYSTEM)
OPEN_STATUSES = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING, TicketStatus.REOPENED}
)
CSAT_LOW_TO = 2
NPS_LOW_TO = 6
CSAT_RANGE = (1, 5)
NPS_BUCKET_METRICS = {"nps_promoters": "NpsPromoters", "nps_passives": "NpsPassives", "nps_detractors": "NpsDetractors"}
NPS_RANGE = (0, 10)


@dataclass
class TicketInsight:
    """Per-ticket state that the insights consumer keeps between the events of a ticket."""

    ticket_id: str
    customer_id: str
    requester_id: str
    queue: str
    created_at: datetime
    open: bool = True
    first_response_at: datetime | None = None
    agent_messages: int = 0
    reopens: int = 0
    escalated: bool = False
    csat_requested: bool = False
    # The queue whose first-contact resolutions counted this ticket, so that a reopen can take it back.
    fcr_queue: str | None = None
    version: int = 0

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> TicketInsight:
        """Start the state of a ticket from its stored identity, queue and status.

        The counted facts (first response, reopens, escalation) start empty even when the
        ticket already has them, because their own events are still to come and count them.
        """
        return cls(
            ticket_id=ticket.ticket_id,
            customer_id=ticket.customer_id,
            requester_id=ticket.requester_id,
            queue=ticket.queue,
            created_at=ticket.created_at,
            open=ticket.status in OPEN_STATUSES,
        )


@dataclass
class InsightChanges:
    """Everything one event changes; the repository writes it atomically with the event marker."""

    tenant_id: str
    day: date
    # Counter increments of KPI day items by queue; ALL_QUEUES is the tenant-wide item.
    kpi: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    customer_id: str | None = None
    customer_day: dict[str, float] = field(default_factory=dict)
    last_requester_id: str | None = None
    timeline: list[TimelineItem] = field(default_factory=list)
    ticket: TicketInsight | None = None
    surveys: list[Survey] = field(default_factory=list)
    follow_ups: list[FollowUpTask] = field(default_factory=list)
    events: list[CustomerEventDetail] = field(default_factory=list)
    # (name, unit, value) of the CloudWatch metrics this change emits.
    metrics: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, queue: str, counter: str, amount: float = 1) -> None:
        """Add to a KPI counter of the queue's day item and of the tenant-wide one."""
        for key in {queue, ALL_QUEUES}:
            self.kpi[key][counter] = self.kpi[key].get(counter, 0) + amount

    def add_customer(self, counter: str, amount: float = 1) -> None:
        self.customer_day[counter] = self.customer_day.get(counter, 0) + amount


def kpi_day(moment: datetime, time_zone: str) -> date:
    """Return the calendar day of a moment in the KPI time zone."""
    return moment.astimezone(ZoneInfo(time_zone)).date()


def is_automated(ticket: Ticket | None) -> bool:
    """Return whether a model chose the ticket's queue (without abstaining) or the router chose its agent."""
    if ticket is None:
        return False
    triaged = ticket.triage is not None and not ticket.triage.abstained
    routed = ticket.routing is not None and ticket.routing.agent_id is not None
    return triaged or routed


def sla_breached(ticket: Ticket | None) -> bool | None:
    """Return whether a ticket missed a target of its SLA clocks, or None when it has none."""
    if ticket is None or ticket.sla is None:
        return None
    return ticket.sla.first_response_breached or ticket.sla.resolution_breached


# Events whose plan reads the ticket itself (automation, escalation, reopens and SLA breaches),
# not only the insight state kept between events.
EVENTS_READING_TICKET: tuple[type[EventDetail], ...] = (TicketCreated, TicketStatusChanged)


def plan_ticket_event(
    event: EventDetail, ticket: Ticket | None, state: TicketInsight | None, time_zone: str
) -> InsightChanges | None:
    """Plan the changes of one ticket event; None when neither the state nor the ticket is known."""
    if state is None:
        if ticket is None:
            return None
        state = TicketInsight.from_ticket(ticket)
        if isinstance(event, TicketCreated):
            # The ticket may have moved on since; the counters start from its creation.
            state.queue, state.open = event.queue, True
    expected_version = state.version
    state = TicketInsight(**{**state.__dict__, "version": expected_version + 1})

    changes = InsightChanges(tenant_id=event.tenant_id, day=kpi_day(event.occurred_at, time_zone))
    changes.customer_id = state.customer_id
    changes.ticket = state

    if isinstance(event, TicketCreated):
        _plan_created(event, ticket, state, changes)
    elif isinstance(event, MessageReceived):
        _plan_message(event, state, changes)
    elif isinstance(event, TicketStatusChanged):
        _plan_status(event, ticket, state, changes)
    elif isinstance(event, TicketEscalated):
        _plan_escalated(event, state, changes)
    elif isinstance(event, TicketUpdated):
        _plan_updated(event, state, changes)
    return changes


def _timeline(kind: TimelineKind, event: EventDetail, **details: Any) -> TimelineItem:
    channel = getattr(event, "channel", None)
    return TimelineItem(
        kind=kind,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
        ticket_id=event.ticket_id,
        channel=channel,
        details={key: value for key, value in details.items() if value is not None},
    )


def _move_open(changes: InsightChanges, queue: str, amount: int) -> None:
    if amount:
        changes.add(queue, "backlog_delta", amount)


def _plan_created(event: TicketCreated, ticket: Ticket | None, state: TicketInsight, changes: InsightChanges) -> None:
    changes.timeline.append(
        _timeline(
            TimelineKind.TICKET_OPENED,
            event,
            status=event.status.value,
            priority=event.priority.value,
            queue=event.queue,
            category=event.category,
        )
    )
    changes.add(event.queue, "created")
    _move_open(changes, event.queue, 1)
    changes.metrics.append(("TicketsCreated", "Count", 1))
    if is_automated(ticket):
        changes.add(event.queue, "automated")
        changes.metrics.append(("TicketsAutomated", "Count", 1))
    changes.add_customer("tickets_opened")
    changes.last_requester_id = state.requester_id


def _record_first_response(event: EventDetail, state: TicketInsight, changes: InsightChanges) -> None:
    if state.first_response_at is not None:
        return
    state.first_response_at = event.occurred_at
    seconds = max(0.0, (event.occurred_at - state.created_at).total_seconds())
    changes.add(state.queue, "first_responses")
    changes.add(state.queue, "first_response_seconds", round(seconds, 3))
    changes.metrics.append(("FirstResponseTime", "Seconds", seconds))


def _plan_message(event: MessageReceived, state: TicketInsight, changes: InsightChanges) -> None:
    sentiment = event.sentiment.value if event.sentiment else None
    changes.timeline.append(
        _timeline(TimelineKind.MESSAGE, event, author_type=event.author_type.value, sentiment=sentiment, message_id=event.message_id)
    )
    if event.author_type == AuthorType.AGENT:
        state.agent_messages += 1
        _record_first_response(event, state, changes)
        return
    if event.author_type != AuthorType.REQUESTER or event.sentiment is None:
        return
    changes.add(state.queue, "sentiment_scored")
    changes.add_customer("messages_scored")
    if event.sentiment == SentimentLabel.NEGATIVE:
        changes.add(state.queue, "sentiment_negative")
        changes.add_customer("messages_negative")
        changes.metrics.append(("NegativeMessages", "Count", 1))
    elif event.sentiment == SentimentLabel.POSITIVE:
        changes.add(state.queue, "sentiment_positive")
        changes.add_customer("messages_positive")
    changes.metrics.append(("ScoredMessages", "Count", 1))


def _plan_status(event: TicketStatusChanged, ticket: Ticket | None, state: TicketInsight, changes: InsightChanges) -> None:
    changes.timeline.append(
        _timeline(TimelineKind.STATUS_CHANGED, event, from_status=event.from_status.value, to_status=event.to_status.value)
    )
    # The change comes from the event's own statuses, so the open counts stay right whatever
    # order the events of a ticket arrive in.
    now_open = event.to_status in OPEN_STATUSES
    _move_open(changes, state.queue, int(now_open) - int(event.from_status in OPEN_STATUSES))
    state.open = now_open

    if event.to_status == TicketStatus.IN_PROGRESS:
        _record_first_response(event, state, changes)
    if event.to_status == TicketStatus.REOPENED:
        state.reopens += 1
        changes.add_customer("reopens")
        changes.metrics.append(("TicketsReopened", "Count", 1))
        if state.fcr_queue is not None:
            # A reopen subtracts the counted first-contact resolution in the day item of the reopen.
            changes.add(state.fcr_queue, "fcr", -1)
            state.fcr_queue = None
    if event.to_status != TicketStatus.RESOLVED:
        return

    seconds = max(0.0, (event.occurred_at - state.created_at).total_seconds())
    changes.add(state.queue, "resolved")
    changes.add(state.queue, "resolution_seconds", round(seconds, 3))
    changes.metrics.append(("TicketsResolved", "Count", 1))
    changes.metrics.append(("ResolutionTime", "Seconds", seconds))
    # The stored ticket also counts, because its escalation or reopen event may not have
    # arrived yet.
    escalated = state.escalated or (ticket is not None and ticket.escalated)
    reopened = state.reopens > 0 or (ticket is not None and ticket.reopened_count > 0)
    if not reopened and not escalated and state.agent_messages <= 1:
        changes.add(state.queue, "fcr")
        state.fcr_queue = state.queue
        changes.metrics.append(("FirstContactResolutions", "Count", 1))
    breached = sla_breached(ticket)
    if breached is not None:
        changes.add(state.queue, "sla_measured")
        changes.metrics.append(("SlaMissed" if breached else "SlaMet", "Count", 1))
        if breached:
            changes.add_customer("sla_breaches")
        else:
            changes.add(state.queue, "sla_met")

    if not state.csat_requested:
        state.csat_requested = True
        survey = Survey(
            survey_id=f"csat-{state.ticket_id}",
            tenant_id=event.tenant_id,
            kind=SurveyKind.CSAT,
            customer_id=state.customer_id,
            requester_id=state.requester_id,
            ticket_id=state.ticket_id,
            queue=state.queue,
            status=SurveyStatus.PENDING,
            created_at=event.occurred_at,
        )
        changes.surveys.append(survey)
        changes.timeline.append(
            TimelineItem(
                kind=TimelineKind.SURVEY_REQUESTED,
                occurred_at=event.occurred_at,
                event_id=f"{event.event_id}-survey",
                ticket_id=state.ticket_id,
                details={"survey_id": survey.survey_id, "survey_kind": SurveyKind.CSAT.value},
            )
        )
        changes.events.append(survey_requested_event(survey, f"{event.event_id}-survey"))


def _plan_escalated(event: TicketEscalated, state: TicketInsight, changes: InsightChanges) -> None:
    changes.timeline.append(
        _timeline(
            TimelineKind.ESCALATED, event, reasons=list(event.reasons), priority=event.priority.value, queue=event.queue
        )
    )
    if not state.escalated:
        state.escalated = True
        changes.add(state.queue, "escalated")
        changes.add_customer("escalations")
        changes.metrics.append(("TicketsEscalated", "Count", 1))
    _change_queue(state, event.queue, changes)


def _plan_updated(event: TicketUpdated, state: TicketInsight, changes: InsightChanges) -> None:
    changed = {name: {"old": change.old, "new": change.new} for name, change in event.changes.items() if name != "status"}
    if changed:
        changes.timeline.append(_timeline(TimelineKind.TICKET_UPDATED, event, changes=changed))
    queue_change = event.changes.get("queue")
    if queue_change is not None and queue_change.new:
        _change_queue(state, queue_change.new, changes)


def _change_queue(state: TicketInsight, queue: str, changes: InsightChanges) -> None:
    """Move the ticket's open count from its old queue to the new one, leaving the tenant total as is."""
    if queue == state.queue:
        return
    if state.open:
        changes.kpi[state.queue]["backlog_delta"] = changes.kpi[state.queue].get("backlog_delta", 0) - 1
        changes.kpi[queue]["backlog_delta"] = changes.kpi[queue].get("backlog_delta", 0) + 1
    state.queue = queue


def survey_requested_event(survey: Survey, event_id: str) -> SurveyRequested:
    return SurveyRequested.build(
        event_id=event_id,
        occurred_at=survey.created_at,
        tenant_id=survey.tenant_id,
        actor=INSIGHTS_ACTOR,
        survey_id=survey.survey_id,
        kind=survey.kind,
        customer_id=survey.customer_id,
        requester_id=survey.requester_id,
        ticket_id=survey.ticket_id,
    )


def score_range(kind: SurveyKind) -> tuple[int, int]:
    return CSAT_RANGE if kind == SurveyKind.CSAT else NPS_RANGE


def is_low_score(kind: SurveyKind, score: int) -> bool:
    """CSAT of 2 or less and NPS of 6 or less (detractors) open a follow-up task."""
    return score <= (CSAT_LOW_TO if kind == SurveyKind.CSAT else NPS_LOW_TO)


def plan_survey_answer(
    survey: Survey,
    score: int,
    comment: str | None,
    now: datetime,
    time_zone: str,
    follow_up_queue: str,
    follow_up_id: str,
    event_id: str,
) -> InsightChanges:
    """Plan an answer: the answered survey, counters, timeline, and a follow-up task for a low score."""
    changes = InsightChanges(tenant_id=survey.tenant_id, day=kpi_day(now, time_zone), customer_id=survey.customer_id)
    low = is_low_score(survey.kind, score)
    answered = survey.model_copy(
        update={
            "status": SurveyStatus.ANSWERED,
            "score": score,
            "comment": comment,
            "answered_at": now,
            "follow_up_id": follow_up_id if low else None,
        }
    )
    changes.surveys.append(answered)
    queue = survey.queue or ALL_QUEUES
    if survey.kind == SurveyKind.CSAT:
        changes.add(queue, "csat_sum", score)
        changes.add(queue, "csat_count")
        changes.add_customer("csat_sum", score)
        changes.add_customer("csat_count")
        changes.metrics.append(("CsatScore", "Count", score))
    else:
        bucket = kpis.nps_bucket(score)
        changes.add(queue, bucket)
        changes.metrics.append((NPS_BUCKET_METRICS[bucket], "Count", 1))
        changes.add_customer("nps_sum", score)
        changes.add_customer("nps_count")
        if score <= NPS_LOW_TO:
            changes.add_customer("nps_detractors")
        changes.metrics.append(("NpsScore", "Count", score))
    changes.timeline.append(
        TimelineItem(
            kind=TimelineKind.SURVEY_ANSWERED,
            occurred_at=now,
            event_id=event_id,
            ticket_id=survey.ticket_id,
            details={"survey_id": survey.survey_id, "survey_kind": survey.kind.value, "score": score},
        )
    )
    if low:
        changes.follow_ups.append(
            FollowUpTask(
                task_id=follow_up_id,
                tenant_id=survey.tenant_id,
                status=FollowUpStatus.OPEN,
                reason="low_csat" if survey.kind == SurveyKind.CSAT else "low_nps",
                survey_id=survey.survey_id,
                customer_id=survey.customer_id,
                ticket_id=survey.ticket_id,
                score=score,
                queue=follow_up_queue,
                created_at=now,
            )
        )
        changes.metrics.append(("SurveyFollowUpsOpened", "Count", 1))
    return changes
