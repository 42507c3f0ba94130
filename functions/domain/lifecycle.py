"""The ticket status lifecycle."""

from __future__ import annotations

from functions.models.tickets import TicketStatus as S

ALLOWED_TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.RESOLVED, S.CLOSED}),
    S.ASSIGNED: frozenset({S.NEW, S.IN_PROGRESS, S.PENDING, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.PENDING, S.RESOLVED}),
    S.PENDING: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.RESOLVED}),
}

# Statuses in which a ticket needs an assignee.
NEEDS_ASSIGNEE: frozenset[S] = frozenset({S.ASSIGNED, S.IN_PROGRESS})

# Statuses in which a new requester message reopens the ticket.
REOPEN_ON_MESSAGE: frozenset[S] = frozenset({S.RESOLVED})

OPEN_STATUSES: frozenset[S] = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.PENDING, S.REOPENED})


def can_transition(current: S, requested: S) -> bool:
    """Return whether the lifecycle allows moving from `current` to `requested`."""
    return requested in ALLOWED_TRANSITIONS[current]


def allowed_next(current: S) -> list[str]:
    """Return the statuses reachable from `current`, sorted for stable error details."""
    return sorted(status.value for status in ALLOWED_TRANSITIONS[current])
