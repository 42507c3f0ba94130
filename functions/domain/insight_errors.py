"""Errors of the customer insight use cases; functions/api/http.py maps their codes to 409."""

from __future__ import annotations

from functions.domain.errors import DomainError


class StateConflictError(DomainError):
    """A survey or task is already in the state that the request would move it to."""

    code = "state_conflict"

    def __init__(self, resource: str, resource_id: str, state: str) -> None:
        super().__init__(f"{resource} {resource_id} is already {state}", resource=resource, id=resource_id, state=state)


class ProfileVersionConflictError(DomainError):
    """A customer profile changed since the caller read it, or appeared while creating it."""

    code = "profile_version_conflict"

    def __init__(self, customer_id: str, expected: int | None, current: int | None) -> None:
        super().__init__(
            f"customer {customer_id} is at version {current}, not {expected}",
            customer_id=customer_id,
            expected_version=expected,
            current_version=current,
        )
