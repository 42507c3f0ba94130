"""SLA breach prediction: find clocks nearing their due times, forecast, escalate before the breach.

The job reads tickets from the BySlaDue index (never a Scan), oldest due time first. For each
running clock it forecasts resolution from the predicted handling time and marks breaches that
already happened. When a breach is expected within the escalation lead time, it escalates the
ticket once, like a negative message does: senior queue, escalation reason, TicketEscalated. Escalation for a predicted breach leaves the priority as it is,
because a higher priority would pick a tighter policy and bring the due time closer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from functions.domain import sla
from functions.domain.errors import DependencyError, VersionConflictError
from functions.domain.ids import new_id
from functions.domain.ports import EventPublisher, ModelEndpoint
from functions.domain.router import Router
from functions.models.caller import Role
from functions.models.events import Actor, EventDetail, FieldChange, SlaBreachPredicted, TicketEscalated, TicketUpdated
from functions.models.tickets import Channel, Priority, Ticket, TicketStatus

logger = logging.getLogger(f"servicedesk.{__name__}")

BREACH_JOB_ACTOR = Actor(user_id="sla-breach-job", role=Role.SYSTEM)
BREACH_REASON = "sla_breach_predicted"
# Median hours from opening to resolution per priority in the public ServiceNow incident event
# log (incident_event_log_train.csv, 17,442 incidents, computed with ml/resolution/features.py).
# They stand in for the resolution model when its endpoint is unavailable.
PRIORITY_MEDIAN_HOURS = {
    Priority.CRITICAL: 52.9,
    Priority.HIGH: 67.8,
    Priority.MEDIUM: 27.1,
    Priority.LOW: 30.4,
}
# The resolution model's priority scale: 1 critical to 4 low.
MODEL_PRIORITY = {Priority.CRITICAL: 1, Priority.HIGH: 2, Priority.MEDIUM: 3, Priority.LOW: 4}
MODEL_CONTACT_TYPE = {Channel.EMAIL: "Email", Channel.PHONE_TRANSCRIPT: "Phone"}
# Most tickets the resolution model takes per request (ml/resolution/inference.py).
MODEL_BATCH = 64


class SlaTicketStore(Protocol):
    def sla_due_tickets(
        self, shard: int, due_before: datetime, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[Ticket], dict[str, Any] | None]: ...

    def save_ticket(self, ticket: Ticket, expected_version: int, events: Sequence[EventDetail]) -> None: ...

    def delete_outbox(self, events: Sequence[EventDetail]) -> None: ...


@dataclass(frozen=True)
class BreachSettings:
    shards: int
    lookahead: timedelta
    escalation_lead: timedelta
    max_tickets: int
    senior_queue: str


class HandlingTimePredictor:
    """Predicted hours from opening to resolution: the resolution model, else the priority median."""

    def __init__(self, endpoint: ModelEndpoint | None) -> None:
        self._endpoint = endpoint

    def predict(self, tickets: Sequence[Ticket]) -> list[tuple[float, str]]:
        """Return (hours, source) per ticket, source being resolution_model or priority_median."""
        fallback = [(PRIORITY_MEDIAN_HOURS[ticket.priority], "priority_median") for ticket in tickets]
        if self._endpoint is None or not tickets:
            return fallback
        results: list[tuple[float, str]] = []
        for start in range(0, len(tickets), MODEL_BATCH):
            batch = tickets[start : start + MODEL_BATCH]
            try:
                results.extend((hours, "resolution_model") for hours in self._model_hours(batch))
            except DependencyError as error:
                logger.warning("resolution model unavailable; using priority medians", extra={"error": str(error)})
                results.extend(fallback[start : start + len(batch)])
        return results

    def _model_hours(self, tickets: Sequence[Ticket]) -> list[float]:
        assert self._endpoint is not None
        payload = {
            "tickets": [
                {
                    "ticket_id": ticket.ticket_id,
                    "opened_at": ticket.created_at.isoformat(),
                    "priority": MODEL_PRIORITY[ticket.priority],
                    "category": ticket.category,
                    "contact_type": MODEL_CONTACT_TYPE.get(ticket.channel, "Self service"),
                }
                for ticket in tickets
            ]
        }
        response = self._endpoint.invoke(payload)
        try:
            predictions = response["predictions"]
            hours = [float(prediction["resolution_hours_p50"]) for prediction in predictions]
        except (KeyError, TypeError, ValueError) as error:
            raise DependencyError(f"resolution endpoint returned an invalid response: {error}") from error
        if len(hours) != len(tickets):
            raise DependencyError(f"resolution endpoint returned {len(hours)} predictions for {len(tickets)} tickets")
        return hours


class BreachMonitor:
    """The scheduled breach check over every tenant's running SLA clocks."""

    def __init__(
        self,
        tickets: SlaTicketStore,
        predictor: HandlingTimePredictor,
        publisher: EventPublisher,
        settings: BreachSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        router: Router | None = None,
    ) -> None:
        self._tickets = tickets
        self._predictor = predictor
        self._publisher = publisher
        self._settings = settings
        self._clock = clock
        self._router = router

    def run(self) -> dict[str, int]:
        """Check the clocks due within the lookahead; return counts of checked, escalated and breached tickets."""
        now = self._clock()
        totals = {"checked": 0, "escalated": 0, "breached": 0, "conflicts": 0, "routed": 0}
        per_shard = max(self._settings.max_tickets // self._settings.shards, 1)
        for shard in range(self._settings.shards):
            cursor = None
            read = 0
            while read < per_shard:
                page, cursor = self._tickets.sla_due_tickets(shard, now + self._settings.lookahead, cursor, min(100, per_shard - read))
                read += len(page)
                page = [self._routed(ticket, totals) for ticket in page]
                for ticket, (hours, source) in zip(page, self._predictor.predict(page), strict=True):
                    self._check(ticket, hours, source, now, totals)
                if cursor is None:
                    break
        logger.info("sla breach check finished", extra=totals)
        return totals

    def _routed(self, ticket: Ticket, totals: dict[str, int]) -> Ticket:
        """Try once more to route a waiting ticket whose clock runs, so no waiting ticket depends on
        an agent change alone; return the ticket as stored."""
        if self._router is None or ticket.status != TicketStatus.NEW or ticket.assignee_id is not None:
            return ticket
        try:
            routed = self._router.route(ticket)
        except DependencyError as error:
            logger.warning(
                "routing a waiting ticket failed",
                extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id, "error": str(error)},
            )
            return ticket
        if routed.assignee_id is not None:
            totals["routed"] += 1
        return routed

    def _check(self, ticket: Ticket, hours: float, source: str, now: datetime, totals: dict[str, int]) -> None:
        clock = ticket.sla
        if clock is None:
            return
        totals["checked"] += 1
        forecast = sla.forecast_breach(clock, ticket.created_at, now, hours)
        updated_clock = sla.with_breaches(clock, ticket, now).model_copy(
            update={"predicted_breach_at": forecast.predicted_breach_at, "breach_risk": forecast.risk, "predicted_by": source}
        )
        events: list[EventDetail] = []
        values: dict[str, Any] = {}

        target, due = self._escalation_target(ticket, forecast, now)
        if target is not None and due is not None and clock.escalated_for_breach_at is None:
            updated_clock = updated_clock.model_copy(update={"escalated_for_breach_at": now})
            values.update(
                {
                    "escalated": True,
                    "queue": self._settings.senior_queue,
                    "escalation_reasons": [*ticket.escalation_reasons, BREACH_REASON]
                    if BREACH_REASON not in ticket.escalation_reasons
                    else ticket.escalation_reasons,
                }
            )
            events.append(
                self._event(
                    SlaBreachPredicted,
                    ticket,
                    target=target,
                    due_at=due,
                    predicted_breach_at=forecast.predicted_breach_at or due,
                    risk=forecast.risk,
                    predicted_by=source,
                )
            )
            events.append(
                self._event(
                    TicketEscalated,
                    ticket,
                    reasons=[BREACH_REASON],
                    priority=ticket.priority,
                    queue=self._settings.senior_queue,
                    negative_score=None,
                )
            )

        breaches = {
            name: FieldChange(old="false", new="true")
            for name in ("first_response_breached", "resolution_breached")
            if getattr(updated_clock, name) and not getattr(clock, name)
        }
        if breaches:
            events.append(self._event(TicketUpdated, ticket, changes={f"sla.{name}": change for name, change in breaches.items()}))
        # The risk alone changes on every run. Storing it each time would bump the version under
        # the agents working the ticket, so only a new forecast outcome, breach or escalation is written.
        forecast_changed = (clock.predicted_breach_at is None) != (forecast.predicted_breach_at is None)
        if not (values or breaches or forecast_changed or clock.predicted_by is None):
            return

        updated = ticket.model_copy(update={**values, "sla": updated_clock, "version": ticket.version + 1, "updated_at": now})
        try:
            self._tickets.save_ticket(updated, ticket.version, events)
        except VersionConflictError:
            # Someone changed the ticket since the query, so the next run checks it again.
            logger.info(
                "ticket changed during the sla check; the next run checks it again",
                extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id},
            )
            totals["conflicts"] += 1
            return
        if values:
            totals["escalated"] += 1
            logger.info(
                "ticket escalated before sla breach",
                extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id, "target": target, "risk": forecast.risk},
            )
        if breaches:
            totals["breached"] += 1
        self._publish(events)

    def _escalation_target(self, ticket: Ticket, forecast: sla.BreachForecast, now: datetime) -> tuple[str | None, datetime | None]:
        """Return the clock to escalate for, with its due time, or (None, None)."""
        clock = ticket.sla
        assert clock is not None
        lead = self._settings.escalation_lead
        if ticket.first_response_at is None and clock.first_response_due_at - now <= lead:
            return "first_response", clock.first_response_due_at
        if forecast.predicted_breach_at is not None and clock.resolution_due_at - now <= lead:
            return "resolution", clock.resolution_due_at
        return None, None

    def _event(self, event_type: type[EventDetail], ticket: Ticket, **fields: Any) -> EventDetail:
        return event_type.build(
            event_id=new_id(),
            occurred_at=self._clock(),
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.ticket_id,
            actor=BREACH_JOB_ACTOR,
            version=ticket.version + 1,
            **fields,
        )

    def _publish(self, events: Sequence[EventDetail]) -> None:
        if not events:
            return
        try:
            self._publisher.publish(events)
        except DependencyError as error:
            logger.warning(
                "event publishing failed; the outbox relay will retry",
                extra={"event_ids": [event.event_id for event in events], "error": str(error)},
            )
            return
        self._tickets.delete_outbox(events)
