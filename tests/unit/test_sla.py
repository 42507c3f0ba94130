"""SLA clocks: policies, pauses while pending, priority changes, breaches and forecasts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from functions.domain import sla
from functions.models.tickets import Channel, Priority, Ticket, TicketStatus

SEOUL = ZoneInfo("Asia/Seoul")
HOUR = 3600


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def new_ticket(opened: datetime, priority: Priority = Priority.MEDIUM, tier: str | None = None, zone: str | None = None) -> Ticket:
    ticket = Ticket(
        ticket_id="ticket-1",
        tenant_id="acme",
        title="프린터 고장",
        requester_id="requester-1",
        customer_id="customer-1",
        channel=Channel.CHAT,
        priority=priority,
        status=TicketStatus.NEW,
        queue="hardware",
        created_at=opened,
        updated_at=opened,
    )
    clock = sla.start_clock(ticket, tier, zone)
    return sla.follow_change(None, ticket.model_copy(update={"sla": clock}), opened)


def moved(ticket: Ticket, status: TicketStatus, now: datetime, **fields: object) -> Ticket:
    after = ticket.model_copy(update={"status": status, "version": ticket.version + 1, **fields})
    return sla.follow_change(ticket, after, now)


def test_policy_follows_tier_and_priority() -> None:
    assert sla.policy_for(None, Priority.MEDIUM).policy_id == "standard-medium"
    assert sla.policy_for("VIP", Priority.CRITICAL).policy_id == "premium-critical"
    assert sla.policy_for("enterprise", Priority.LOW).calendar_id == "kr-business"


def test_due_times_count_business_hours() -> None:
    # standard-medium: 4 business hours to respond, 27 (three working days) to resolve.
    ticket = new_ticket(seoul(2026, 3, 4, 16))

    assert ticket.sla is not None
    assert ticket.sla.first_response_due_at == seoul(2026, 3, 5, 11)
    assert ticket.sla.resolution_due_at == seoul(2026, 3, 9, 16)


def test_premium_critical_runs_round_the_clock() -> None:
    ticket = new_ticket(seoul(2026, 3, 7, 23), Priority.CRITICAL, tier="vip")

    assert ticket.sla is not None
    assert ticket.sla.first_response_due_at == seoul(2026, 3, 7, 23, 15)
    assert ticket.sla.resolution_due_at == seoul(2026, 3, 8, 3)


def test_customer_time_zone_used() -> None:
    ticket = new_ticket(datetime(2026, 3, 4, 16, tzinfo=ZoneInfo("America/New_York")), zone="America/New_York")

    assert ticket.sla is not None
    assert ticket.sla.time_zone == "America/New_York"
    assert ticket.sla.first_response_due_at == datetime(2026, 3, 5, 11, tzinfo=ZoneInfo("America/New_York"))


def test_pending_pauses_and_extends_due_times() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))
    assert ticket.sla is not None
    due_before = ticket.sla.resolution_due_at

    pending = moved(ticket, TicketStatus.PENDING, seoul(2026, 3, 4, 10))
    assert pending.sla is not None
    assert pending.sla.paused_since == seoul(2026, 3, 4, 10)
    resumed = moved(pending, TicketStatus.IN_PROGRESS, seoul(2026, 3, 4, 13), assignee_id="agent-kim")

    assert resumed.sla is not None
    assert resumed.sla.paused_since is None
    assert resumed.sla.paused_seconds == 3 * HOUR
    assert resumed.sla.resolution_due_at == sla.with_due_times(resumed.sla, resumed.created_at).resolution_due_at
    # Friday 18:00 plus three business hours is Monday 12:00.
    assert due_before == seoul(2026, 3, 6, 18)
    assert resumed.sla.resolution_due_at == seoul(2026, 3, 9, 12)


def test_pause_over_weekend_counts_only_working_time() -> None:
    ticket = new_ticket(seoul(2026, 3, 6, 9))
    pending = moved(ticket, TicketStatus.PENDING, seoul(2026, 3, 6, 17))

    resumed = moved(pending, TicketStatus.IN_PROGRESS, seoul(2026, 3, 9, 10), assignee_id="agent-kim")

    assert resumed.sla is not None
    assert resumed.sla.paused_seconds == 2 * HOUR


def test_paused_clock_does_not_breach() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))
    pending = moved(ticket, TicketStatus.PENDING, seoul(2026, 3, 4, 10))
    assert pending.sla is not None

    late = sla.with_breaches(pending.sla, pending, seoul(2026, 3, 20, 10))

    assert late.first_response_breached is False
    assert late.resolution_breached is False


def test_lifecycle_stamps() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))

    started = moved(ticket, TicketStatus.IN_PROGRESS, seoul(2026, 3, 4, 10), assignee_id="agent-kim")
    resolved = moved(started, TicketStatus.RESOLVED, seoul(2026, 3, 4, 11))
    reopened = moved(resolved, TicketStatus.REOPENED, seoul(2026, 3, 4, 12))
    closed = moved(moved(reopened, TicketStatus.RESOLVED, seoul(2026, 3, 4, 13)), TicketStatus.CLOSED, seoul(2026, 3, 4, 14))

    assert started.first_response_at == seoul(2026, 3, 4, 10)
    assert resolved.resolved_at == seoul(2026, 3, 4, 11)
    assert reopened.reopened_count == 1
    assert reopened.resolved_at is None
    assert closed.resolved_at == seoul(2026, 3, 4, 13)
    assert closed.closed_at == seoul(2026, 3, 4, 14)
    assert closed.first_response_at == seoul(2026, 3, 4, 10)


def test_late_resolution_marks_breach() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))

    resolved = moved(ticket, TicketStatus.RESOLVED, seoul(2026, 3, 12, 9))

    assert resolved.sla is not None
    assert resolved.sla.resolution_breached is True
    assert resolved.sla.first_response_breached is True


def test_priority_change_recomputes_due_times() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))

    raised = sla.follow_change(ticket, ticket.model_copy(update={"priority": Priority.HIGH}), seoul(2026, 3, 4, 10))

    assert raised.sla is not None
    assert raised.sla.policy_id == "standard-high"
    assert raised.sla.first_response_due_at == seoul(2026, 3, 4, 11)


def test_forecast_predicts_breach() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))
    assert ticket.sla is not None

    slow = sla.forecast_breach(ticket.sla, ticket.created_at, seoul(2026, 3, 9, 9), predicted_hours=200)
    quick = sla.forecast_breach(ticket.sla, ticket.created_at, seoul(2026, 3, 4, 10), predicted_hours=2)

    assert slow.predicted_breach_at == ticket.sla.resolution_due_at
    assert slow.risk == 1.0
    assert quick.predicted_breach_at is None
    assert 0 < quick.risk < 0.1


def test_forecast_after_due_is_breach() -> None:
    ticket = new_ticket(seoul(2026, 3, 4, 9))
    assert ticket.sla is not None

    forecast = sla.forecast_breach(ticket.sla, ticket.created_at, seoul(2026, 3, 20, 9), predicted_hours=1)

    assert forecast.risk == 1.0
    assert forecast.predicted_breach_at == ticket.sla.resolution_due_at
