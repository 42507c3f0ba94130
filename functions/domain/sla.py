"""SLA policies and clocks: targets per customer tier and priority, counted in business time.

Rules the clocks follow:
- Both clocks start when the ticket is opened. Their due times are the instants at which the
  target plus the paused business seconds of the calendar have passed since then.
- While the ticket is pending (waiting on the customer) the clocks are paused. On leaving
  pending, the business seconds of the pause are added to paused_seconds, so both due times
  move later by exactly the working time that was paused.
- A priority change picks the policy of the new priority and recomputes both due times from
  the opening time, pauses included.
- The first response is met by the first agent message or the first move to in_progress.
  Resolution is met by the move to resolved. A reopened ticket keeps its original due times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.domain.calendars import add_business_seconds, business_seconds_between, get_calendar, time_zone
from functions.models.tickets import Priority, SlaClock, Ticket, TicketStatus

HOUR = 3600
DEFAULT_TIME_ZONE = "Asia/Seoul"
# Tiers whose tickets get the premium policies; every other tier gets the standard ones.
PREMIUM_TIERS = frozenset({"enterprise", "vip"})


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business seconds of one calendar, for one tier group and priority."""

    policy_id: str
    calendar_id: str
    first_response_seconds: int
    resolution_seconds: int


def _policy(policy_id: str, calendar_id: str, first_response_hours: float, resolution_hours: float) -> SlaPolicy:
    return SlaPolicy(policy_id, calendar_id, int(first_response_hours * HOUR), int(resolution_hours * HOUR))


# Business hours of kr-business are 9 per working day, so 27 hours are three working days.
POLICIES: dict[tuple[str, Priority], SlaPolicy] = {
    ("premium", Priority.CRITICAL): _policy("premium-critical", "always", 0.25, 4),
    ("premium", Priority.HIGH): _policy("premium-high", "kr-extended", 0.5, 8),
    ("premium", Priority.MEDIUM): _policy("premium-medium", "kr-business", 2, 18),
    ("premium", Priority.LOW): _policy("premium-low", "kr-business", 4, 27),
    ("standard", Priority.CRITICAL): _policy("standard-critical", "kr-extended", 1, 8),
    ("standard", Priority.HIGH): _policy("standard-high", "kr-business", 2, 16),
    ("standard", Priority.MEDIUM): _policy("standard-medium", "kr-business", 4, 27),
    ("standard", Priority.LOW): _policy("standard-low", "kr-business", 8, 45),
}


def policy_for(tier: str | None, priority: Priority) -> SlaPolicy:
    group = "premium" if (tier or "").lower() in PREMIUM_TIERS else "standard"
    return POLICIES[(group, priority)]


def start_clock(ticket: Ticket, tier: str | None, zone_name: str | None) -> SlaClock:
    """Start the clocks of a new ticket under the policy of its customer's tier and its priority."""
    policy = policy_for(tier, ticket.priority)
    zone = zone_name or DEFAULT_TIME_ZONE
    time_zone(zone)
    clock = SlaClock(
        policy_id=policy.policy_id,
        calendar_id=policy.calendar_id,
        time_zone=zone,
        first_response_target_seconds=policy.first_response_seconds,
        resolution_target_seconds=policy.resolution_seconds,
        first_response_due_at=ticket.created_at,
        resolution_due_at=ticket.created_at,
    )
    return with_due_times(clock, ticket.created_at)


def with_due_times(clock: SlaClock, opened_at: datetime) -> SlaClock:
    """Recompute both due times from the opening time, the targets and the paused seconds."""
    calendar = get_calendar(clock.calendar_id)
    zone = time_zone(clock.time_zone)
    first_due = add_business_seconds(calendar, zone, opened_at, clock.first_response_target_seconds + clock.paused_seconds)
    resolution_due = add_business_seconds(calendar, zone, opened_at, clock.resolution_target_seconds + clock.paused_seconds)
    return clock.model_copy(update={"first_response_due_at": first_due, "resolution_due_at": resolution_due})


def business_seconds_elapsed(clock: SlaClock, opened_at: datetime, now: datetime) -> int:
    """Return the business seconds the clock has run since opening, pauses (the current one too) excluded."""
    calendar = get_calendar(clock.calendar_id)
    zone = time_zone(clock.time_zone)
    running_until = clock.paused_since or now
    return max(business_seconds_between(calendar, zone, opened_at, running_until) - clock.paused_seconds, 0)


def follow_change(before: Ticket | None, after: Ticket, now: datetime) -> Ticket:
    """Stamp the lifecycle times and move the SLA clocks for one change of a ticket.

    `before` is None for a new ticket. Call it on every stored change so that the stamps and
    clocks never miss a transition.
    """
    previous_status = before.status if before else None
    values: dict[str, object] = {}

    if after.status != previous_status:
        if after.status == TicketStatus.IN_PROGRESS and after.first_response_at is None:
            values["first_response_at"] = now
        if after.status == TicketStatus.RESOLVED:
            values["resolved_at"] = now
        if after.status == TicketStatus.CLOSED:
            values["closed_at"] = now
        if after.status == TicketStatus.REOPENED:
            values.update({"reopened_count": after.reopened_count + 1, "resolved_at": None, "closed_at": None})
    stamped = after.model_copy(update=values) if values else after

    clock = stamped.sla
    if clock is None:
        return stamped
    paused_before = clock.paused_seconds
    clock = _paused_or_resumed(clock, stamped.status, now)
    if clock.paused_seconds != paused_before:
        clock = with_due_times(clock, stamped.created_at)
    if before is not None and before.priority != stamped.priority:
        policy = _policy_like(clock, stamped.priority)
        clock = clock.model_copy(
            update={
                "policy_id": policy.policy_id,
                "calendar_id": policy.calendar_id,
                "first_response_target_seconds": policy.first_response_seconds,
                "resolution_target_seconds": policy.resolution_seconds,
            }
        )
        clock = with_due_times(clock, stamped.created_at)
    clock = with_breaches(clock, stamped, now)
    return stamped.model_copy(update={"sla": clock})


def with_breaches(clock: SlaClock, ticket: Ticket, now: datetime) -> SlaClock:
    """Set the breach flags from the due times; a flag, once set, stays set."""
    responded = ticket.first_response_at
    resolved = ticket.resolved_at
    paused = clock.paused_since is not None
    first_breached = clock.first_response_breached or (
        responded > clock.first_response_due_at if responded else (not paused and now > clock.first_response_due_at)
    )
    resolution_breached = clock.resolution_breached or (
        resolved > clock.resolution_due_at if resolved else (not paused and now > clock.resolution_due_at)
    )
    return clock.model_copy(update={"first_response_breached": first_breached, "resolution_breached": resolution_breached})


def _paused_or_resumed(clock: SlaClock, current: TicketStatus, now: datetime) -> SlaClock:
    if current == TicketStatus.PENDING and clock.paused_since is None:
        return clock.model_copy(update={"paused_since": now})
    if current != TicketStatus.PENDING and clock.paused_since is not None:
        calendar = get_calendar(clock.calendar_id)
        paused = business_seconds_between(calendar, time_zone(clock.time_zone), clock.paused_since, now)
        return clock.model_copy(update={"paused_since": None, "paused_seconds": clock.paused_seconds + paused})
    return clock


def _policy_like(clock: SlaClock, priority: Priority) -> SlaPolicy:
    """Return the policy of the clock's tier group (the prefix of its policy id) for a new priority."""
    group = clock.policy_id.split("-", 1)[0]
    return POLICIES.get((group, priority), POLICIES[("standard", priority)])


@dataclass(frozen=True)
class BreachForecast:
    """When resolution is expected, whether that misses the due time, and how much of the time left it needs."""

    expected_resolution_at: datetime
    predicted_breach_at: datetime | None
    risk: float


# Share of the predicted handling time still assumed to remain when a ticket has already taken
# longer than predicted: the prediction was wrong, so it is not treated as nearly done.
OVERRUN_REMAINING_SHARE = 0.1


def forecast_breach(clock: SlaClock, opened_at: datetime, now: datetime, predicted_hours: float) -> BreachForecast:
    """Forecast resolution from the predicted handling time in elapsed (wall-clock) hours.

    The handling time counts from opening, without pauses because a pending ticket does not
    progress: the current pause in wall-clock time, earlier ones by their business seconds, which
    can be less than their wall-clock time. Risk is the remaining handling time over the time left until the
    due time, capped at 1; a breach is predicted when it exceeds 1 or the due time has passed.
    """
    predicted = timedelta(hours=max(predicted_hours, 0.0))
    paused_wall = timedelta(0)
    if clock.paused_since is not None:
        paused_wall = now - clock.paused_since
    elapsed = now - opened_at - paused_wall - timedelta(seconds=clock.paused_seconds)
    remaining = predicted - elapsed
    if remaining < predicted * OVERRUN_REMAINING_SHARE:
        remaining = predicted * OVERRUN_REMAINING_SHARE
    expected = now + remaining
    time_left = (clock.resolution_due_at - now).total_seconds()
    if time_left <= 0:
        return BreachForecast(expected, clock.resolution_due_at, 1.0)
    risk = min(remaining.total_seconds() / time_left, 1.0)
    breach_at = clock.resolution_due_at if expected > clock.resolution_due_at else None
    return BreachForecast(expected, breach_at, round(risk, 4))
