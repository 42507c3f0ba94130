"""Approval routing: who decides, delegation while an approver is away, and escalation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

# Longest chain of delegations followed before the request stays with the last person found.
MAX_DELEGATION_HOPS = 3


@dataclass(frozen=True)
class Person:
    """An approver in the tenant's directory."""

    user_id: str
    manager_id: str | None = None
    away_until: date | None = None
    delegate_id: str | None = None

    def is_away(self, today: date) -> bool:
        return self.away_until is not None and today <= self.away_until


@dataclass(frozen=True)
class Routing:
    assignee_id: str
    delegated_from: tuple[str, ...] = ()


def route_approval(approver_id: str, lookup: Callable[[str], Person | None], today: date) -> Routing:
    """Follow delegations from the approver to someone who is present.

    A person who is away and named a delegate hands over to them; the chain stops at a person
    who is present, has no delegate, is unknown, or after MAX_DELEGATION_HOPS. A loop of
    delegations stops where it would revisit someone.
    """
    current = approver_id
    delegated_from: list[str] = []
    for _ in range(MAX_DELEGATION_HOPS):
        person = lookup(current)
        if person is None or not person.is_away(today) or not person.delegate_id:
            break
        if person.delegate_id == approver_id or person.delegate_id in delegated_from:
            break
        delegated_from.append(current)
        current = person.delegate_id
    return Routing(assignee_id=current, delegated_from=tuple(delegated_from))


def escalation_target(assignee_id: str, lookup: Callable[[str], Person | None], today: date) -> Routing | None:
    """Return the routing to the assignee's manager (with delegation), or None when there is none."""
    person = lookup(assignee_id)
    if person is None or not person.manager_id:
        return None
    return route_approval(person.manager_id, lookup, today)
