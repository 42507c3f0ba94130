"""Use cases of the insights consumer and its scheduled jobs: aggregate ticket events, notify
customers about known problems, and send periodic NPS surveys."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from functions.domain.customers import publish_events, record_problem
from functions.domain.errors import NotFoundError, TicketBusyError, VersionConflictError
from functions.domain.ids import new_id
from functions.domain.insight_ports import ContinuationQueue, CustomerEventPublisher, InsightsRepository
from functions.domain.insights import (
    EVENTS_READING_TICKET,
    INSIGHTS_ACTOR,
    kpi_day,
    plan_ticket_event,
    survey_requested_event,
)
from functions.domain.notices import render_notice
from functions.domain.ports import TicketRepository
from functions.models.customer_events import KnownProblemAnnounced, KnownProblemDetected, ProactiveNoticeSent
from functions.models.customers import (
    CustomerProfile,
    KnownProblem,
    ProactiveNotice,
    Survey,
    SurveyKind,
    SurveyStatus,
    TimelineItem,
    TimelineKind,
)
from functions.models.events import EVENT_TYPES, Actor, EventDetail
from functions.models.tickets import Ticket
from functions.models.caller import Role

logger = logging.getLogger(f"servicedesk.{__name__}")

TICKET_EVENTS: dict[str, type[EventDetail]] = {model.DETAIL_TYPE: model for model in EVENT_TYPES}
# Attempts at one event while other events of the same ticket keep moving its insight state,
# with a random pause before each retry of up to this many seconds per attempt made. When they
# run out, the message fails and SQS delivers it again after the visibility timeout.
MAX_PLAN_ATTEMPTS = 10
PLAN_BACKOFF_STEP_SECONDS = 0.05
# The two kinds of membership partitions a known problem is matched against, in fan-out order.
MEMBERSHIP_KINDS = (("SERVICE", "affected_services"), ("DEVICE", "affected_device_models"))


class InvalidEventError(ValueError):
    """An event that can never be processed; its message fails until SQS moves it to the dead-letter queue."""


@dataclass
class Outcome:
    """Result of handling one message: an outcome label and the metrics to emit."""

    result: str
    metrics: list[tuple[str, str, float]] = field(default_factory=list)


class InsightProcessor:
    def __init__(
        self,
        repository: InsightsRepository,
        tickets: TicketRepository,
        publisher: CustomerEventPublisher,
        continuation: ContinuationQueue,
        time_zone: str,
        fan_out_batch: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._repository = repository
        self._sleep = sleep
        self._tickets = tickets
        self._publisher = publisher
        self._continuation = continuation
        self._time_zone = time_zone
        self._fan_out_batch = fan_out_batch
        self._clock = clock

    def handle(self, detail_type: str, detail: dict[str, Any]) -> Outcome:
        """Handle one EventBridge event (detail-type and detail) from the insights queue."""
        try:
            if detail_type in TICKET_EVENTS:
                return self.handle_ticket_event(TICKET_EVENTS[detail_type].model_validate(detail))
            if detail_type == KnownProblemAnnounced.DETAIL_TYPE:
                return self.notify_affected(KnownProblemAnnounced.model_validate(detail))
            if detail_type == KnownProblemDetected.DETAIL_TYPE:
                return self.record_detected_problem(KnownProblemDetected.model_validate(detail))
        except ValidationError as error:
            fields = sorted({".".join(map(str, item["loc"]))[:64] for item in error.errors(include_input=False)})[:20]
            raise InvalidEventError(f"{detail_type} detail has invalid fields: {', '.join(fields)}") from error
        raise InvalidEventError(f"the insights consumer has no handler for detail-type {detail_type[:64]}")

    # Ticket events.

    def handle_ticket_event(self, event: EventDetail) -> Outcome:
        """Apply one ticket event to the timeline and counters, once per event id while its marker lives (7 days)."""
        ticket: Ticket | None = None
        ticket_read = False
        for attempt in range(1, MAX_PLAN_ATTEMPTS + 1):
            state = self._repository.get_ticket_insight(event.tenant_id, event.ticket_id)
            # Most events need only the stored insight state, so the ticket is read once, when
            # the state is new or the event's plan reads the ticket.
            if not ticket_read and (state is None or isinstance(event, EVENTS_READING_TICKET)):
                ticket = self._read_ticket(event)
                ticket_read = True
            changes = plan_ticket_event(event, ticket, state, self._time_zone)
            if changes is None:
                logger.warning(
                    "ticket of event not found; event skipped",
                    extra={"tenant_id": event.tenant_id, "ticket_id": event.ticket_id, "event_id": event.event_id},
                )
                return Outcome("skipped")
            try:
                applied = self._repository.apply(changes, event.event_id, state.version if state else 0)
            except VersionConflictError:
                logger.info(
                    "ticket insight changed meanwhile; retrying",
                    extra={"ticket_id": event.ticket_id, "event_id": event.event_id, "attempt": attempt},
                )
                self._sleep(random.uniform(0, PLAN_BACKOFF_STEP_SECONDS * attempt))
                continue
            if not applied:
                return Outcome("duplicate")
            publish_events(self._repository, self._publisher, changes.events)
            return Outcome("applied", changes.metrics)
        raise TicketBusyError(event.ticket_id, MAX_PLAN_ATTEMPTS)

    def _read_ticket(self, event: EventDetail) -> Ticket | None:
        try:
            return self._tickets.get_ticket(event.tenant_id, event.ticket_id)
        except NotFoundError:
            return None

    # Known problems.

    def record_detected_problem(self, detected: KnownProblemDetected) -> Outcome:
        """Record a problem reported by a partner monitoring system; repeats change nothing."""
        # NOTE: the tenant comes from the event. EventBridge decides who may put events on the bus
        # (IAM), not which tenant they name, so a monitoring integration is trusted for every
        # tenant it reports on.
        if not detected.affected_services and not detected.affected_device_models:
            raise InvalidEventError("a detected problem names no affected service or device model")
        problem = KnownProblem(
            problem_id=detected.problem_id,
            tenant_id=detected.tenant_id,
            title=detected.title,
            title_en=detected.title_en,
            affected_services=sorted(set(detected.affected_services)),
            affected_device_models=sorted(set(detected.affected_device_models)),
            prevention_guide_ko=detected.prevention_guide_ko,
            prevention_guide_en=detected.prevention_guide_en,
            severity=detected.severity,
            source="partner_event",
            created_by=detected.monitor,
            created_at=self._clock(),
        )
        _, created = record_problem(
            self._repository, self._publisher, problem, Actor(user_id=detected.monitor, role=Role.PARTNER)
        )
        return Outcome("recorded" if created else "duplicate", [("KnownProblemsRecorded", "Count", int(created))])

    def notify_affected(self, announced: KnownProblemAnnounced) -> Outcome:
        """Write one notice per affected customer, at most fan_out_batch per message.

        When more customers remain, the rest continues in a new message with a cursor. A notice
        is keyed by customer and problem, so a repeated message sends nobody a second one.
        """
        problem = self._repository.get_problem(announced.tenant_id, announced.problem_id)
        position, cursor = _decode_position(announced.cursor)
        partitions = [
            (kind, name) for kind, attribute in MEMBERSHIP_KINDS for name in getattr(problem, attribute)
        ]
        sent = already = 0
        budget = self._fan_out_batch
        while position < len(partitions) and budget > 0:
            kind, name = partitions[position]
            customer_ids, cursor = self._repository.customers_using(problem.tenant_id, kind, name, budget, cursor)
            for customer_id in customer_ids:
                if self._notify(problem, customer_id):
                    sent += 1
                else:
                    already += 1
            budget -= len(customer_ids)
            if cursor is None:
                position += 1
        if position < len(partitions):
            self._continuation.send(
                {
                    "detail-type": KnownProblemAnnounced.DETAIL_TYPE,
                    "detail": announced.model_copy(
                        update={"cursor": _encode_position(position, cursor), "event_id": new_id()}
                    ).model_dump(mode="json"),
                }
            )
        logger.info(
            "known problem notices written",
            extra={"tenant_id": problem.tenant_id, "problem_id": problem.problem_id, "sent": sent, "already_sent": already},
        )
        return Outcome("notified", [("ProactiveNoticesSent", "Count", sent)])

    def _notify(self, problem: KnownProblem, customer_id: str) -> bool:
        profile = self._repository.get_profile(problem.tenant_id, customer_id)
        if profile is None:
            return False
        matched = matched_products(problem, profile)
        if not matched:
            # The membership item outlived a profile change; the profile is what counts.
            return False

        now = self._clock()
        rendered = render_notice(problem, profile.preferred_language, profile.company, matched)
        notice = ProactiveNotice(
            notice_id=f"{problem.problem_id}-{customer_id}",
            problem_id=problem.problem_id,
            customer_id=customer_id,
            channel=profile.preferred_channel,
            language=profile.preferred_language,
            subject=rendered.subject,
            body=rendered.body,
            created_at=now,
        )
        event_id = new_id()
        timeline = TimelineItem(
            kind=TimelineKind.PROACTIVE_NOTICE,
            occurred_at=now,
            event_id=event_id,
            channel=profile.preferred_channel,
            details={"problem_id": problem.problem_id, "notice_id": notice.notice_id, "severity": problem.severity},
        )
        event = ProactiveNoticeSent.build(
            event_id=event_id,
            occurred_at=now,
            tenant_id=problem.tenant_id,
            actor=INSIGHTS_ACTOR,
            notice_id=notice.notice_id,
            problem_id=problem.problem_id,
            customer_id=customer_id,
            channel=profile.preferred_channel,
            language=profile.preferred_language,
        )

        if not self._repository.put_notice(notice, problem.tenant_id, timeline, [event]):
            return False
        publish_events(self._repository, self._publisher, [event])
        return True

    # NPS surveys.

    def request_nps_surveys(self, page_size: int = 100) -> dict[str, int]:
        """Open this period's NPS survey for every customer of every tenant that has none yet.

        The survey id names the customer and the quarter, so the job may run daily: each
        customer gets one survey a quarter. It goes to the primary contact's user id, else to
        the requester of the customer's latest ticket; customers with neither are skipped.
        """
        now = self._clock()
        local = kpi_day(now, self._time_zone)
        period = f"{local.year}-Q{(local.month - 1) // 3 + 1}"
        totals = {"requested": 0, "existing": 0, "no_requester": 0}
        for tenant_id in self._repository.tenants():
            cursor: str | None = None
            while True:
                customer_ids, cursor = self._repository.customer_ids(tenant_id, page_size, cursor)
                for customer_id in customer_ids:
                    totals[self._request_nps(tenant_id, customer_id, period, now)] += 1
                if cursor is None:
                    break
        logger.info("nps surveys requested", extra={"period": period, **totals})
        return totals

    def _request_nps(self, tenant_id: str, customer_id: str, period: str, now: datetime) -> str:
        profile = self._repository.get_profile(tenant_id, customer_id)
        requester_id = nps_recipient(profile, self._repository.customer_stats(tenant_id, customer_id))
        if requester_id is None:
            return "no_requester"
        survey = Survey(
            survey_id=f"nps-{customer_id}-{period}",
            tenant_id=tenant_id,
            kind=SurveyKind.NPS,
            customer_id=customer_id,
            requester_id=requester_id,
            period=period,
            status=SurveyStatus.PENDING,
            created_at=now,
        )
        event = survey_requested_event(survey, new_id())
        timeline = TimelineItem(
            kind=TimelineKind.SURVEY_REQUESTED,
            occurred_at=now,
            event_id=event.event_id,
            details={"survey_id": survey.survey_id, "survey_kind": SurveyKind.NPS.value, "period": period},
        )
        if not self._repository.create_survey(survey, timeline, [event]):
            return "existing"
        publish_events(self._repository, self._publisher, [event])
        return "requested"

    # Gauges.

    def open_ticket_levels(self) -> dict[str, float]:
        """Return the open-ticket count of every tenant, for the Backlog metric."""
        return {tenant_id: self._repository.open_level(tenant_id, "*") for tenant_id in self._repository.tenants()}


def matched_products(problem: KnownProblem, profile: CustomerProfile) -> list[str]:
    """Return the services and device models of the profile that the problem names, sorted."""
    return sorted(
        (set(problem.affected_services) & set(profile.services))
        | (set(problem.affected_device_models) & set(profile.device_models))
    )


def nps_recipient(profile: CustomerProfile | None, stats: dict[str, Any]) -> str | None:
    if profile is not None:
        for contact in sorted(profile.contacts, key=lambda contact: not contact.primary):
            if contact.user_id:
                return contact.user_id
    requester = stats.get("last_requester_id")
    return str(requester) if requester else None


def _encode_position(position: int, cursor: str | None) -> str:
    return f"{position}:{cursor or ''}"


def _decode_position(value: str | None) -> tuple[int, str | None]:
    if not value:
        return 0, None
    position, _, cursor = value.partition(":")
    if not position.isdigit():
        raise InvalidEventError("the fan-out cursor is malformed")
    return int(position), cursor or None
