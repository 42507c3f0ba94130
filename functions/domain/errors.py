"""Domain errors. Each has a stable code that the API maps to an HTTP status and message."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every expected failure; `code` selects the status and the translated message."""

    code: str = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInputError(DomainError):
    """Error of a request value that the domain rejects; `problem_ko` is the problem in Korean."""

    code = "invalid_input"

    def __init__(self, message: str, problem_ko: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.problem_ko = problem_ko


class NotFoundError(DomainError):
    code = "not_found"

    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(f"{resource} {resource_id} not found", resource=resource, id=resource_id)


class VersionConflictError(DomainError):
    code = "version_conflict"

    def __init__(self, ticket_id: str, expected: int, current: int | None) -> None:
        super().__init__(
            f"ticket {ticket_id} is at version {current}, not {expected}",
            ticket_id=ticket_id,
            expected_version=expected,
            current_version=current,
        )


class TicketBusyError(DomainError):
    """Other writers kept changing a ticket while a message was being added to it."""

    code = "ticket_busy"

    def __init__(self, ticket_id: str, attempts: int) -> None:
        super().__init__(f"ticket {ticket_id} changed on each of {attempts} attempts", ticket_id=ticket_id, attempts=attempts)


class InvalidTransitionError(DomainError):
    code = "invalid_transition"

    def __init__(self, ticket_id: str, current: str, requested: str, allowed: list[str]) -> None:
        super().__init__(
            f"ticket {ticket_id} cannot go from {current} to {requested}",
            ticket_id=ticket_id,
            current_status=current,
            requested_status=requested,
            allowed=allowed,
        )


class TicketClosedError(DomainError):
    """A change to a closed ticket other than reopening it."""

    code = "ticket_closed"

    def __init__(self, ticket_id: str, fields: list[str]) -> None:
        super().__init__(f"ticket {ticket_id} is closed", ticket_id=ticket_id, fields=fields)


class WorkflowNotRunningError(DomainError):
    """A request to change a workflow that already completed, failed or was cancelled."""

    code = "workflow_not_running"

    def __init__(self, workflow_id: str, status: str) -> None:
        super().__init__(f"workflow {workflow_id} is {status}, not running", workflow_id=workflow_id, status=status)


class IdempotencyConflictError(DomainError):
    code = "idempotency_conflict"


class ThreadConflictError(DomainError):
    """A channel thread already belongs to another ticket."""

    code = "thread_conflict"

    def __init__(self, thread_key: str, ticket_id: str | None = None) -> None:
        super().__init__(f"thread {thread_key} already has a ticket", thread_key=thread_key, ticket_id=ticket_id)


class RequestInProgressError(DomainError):
    code = "request_in_progress"


class ForbiddenError(DomainError):
    code = "forbidden"


class DependencyError(DomainError):
    """A downstream service (DynamoDB, EventBridge, a model endpoint) failed or timed out."""

    code = "dependency_failed"


class LimitExceededError(DomainError):
    """A tenant already has the maximum number of a resource."""

    code = "limit_exceeded"

    def __init__(self, resource: str, limit: int) -> None:
        super().__init__(f"the tenant already has {limit} {resource}s, the maximum", resource=resource, limit=limit)
