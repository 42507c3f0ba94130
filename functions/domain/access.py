"""Role rules: which caller may list, read, open, change and add messages to which tickets.

Every rule here is a pure function of the caller and the ticket or request, and returns a
Denial or None. The tenant is not checked here, because every repository key already starts
with the caller's tenant (docs/data-model.md), so another tenant's ticket is never loaded.

| role | sees | may change |
|---|---|---|
| requester | tickets whose requester_id is their user id | status to closed or reopened; messages as themselves |
| agent | tickets in their queues or assigned to them | every field; messages as themselves or on a requester's behalf |
| supervisor, admin | every ticket of the tenant | every field; messages as above |
| partner | tickets it opened | nothing after opening |
| system | nothing through the API | nothing |
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from functions.domain.errors import ForbiddenError, NotFoundError
from functions.domain.ports import TicketFilter
from functions.models.caller import Caller, Role
from functions.models.tickets import (
    AddMessageRequest,
    AuthorType,
    CreateTicketRequest,
    Ticket,
    TicketStatus,
    UpdateTicketRequest,
)

logger = logging.getLogger(f"servicedesk.{__name__}")

TENANT_WIDE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
# The only changes a requester may make to their own ticket.
REQUESTER_STATUSES = frozenset({TicketStatus.CLOSED, TicketStatus.REOPENED})


@dataclass(frozen=True)
class Denial:
    """Reason a caller may not do something. With `hidden` the API returns 404, so existence does not leak."""

    reason: str
    problem: str
    hidden: bool = False


def create_denial(caller: Caller, request: CreateTicketRequest) -> Denial | None:
    if caller.role in STAFF_ROLES or caller.role == Role.PARTNER:
        return None
    if caller.role == Role.REQUESTER:
        if request.requester_id != caller.user_id:
            return Denial("not_own_requester_id", "requesters open tickets only with their own user id as requester_id.")
        return None
    return _no_api_access(caller)


def read_denial(caller: Caller, ticket: Ticket) -> Denial | None:
    if caller.role in TENANT_WIDE_ROLES:
        return None
    if caller.role == Role.AGENT:
        if ticket.queue in caller.queues or (ticket.assignee_id is not None and ticket.assignee_id == caller.user_id):
            return None
        return Denial("outside_agent_queues", "the ticket is neither in one of your queues nor assigned to you.")
    if caller.role == Role.REQUESTER:
        if ticket.requester_id == caller.user_id:
            return None
        return Denial("not_own_ticket", "", hidden=True)
    if caller.role == Role.PARTNER:
        if ticket.created_by is not None and ticket.created_by == caller.user_id:
            return None
        return Denial("not_created_by_partner", "", hidden=True)
    return _no_api_access(caller)


def update_denial(caller: Caller, ticket: Ticket, request: UpdateTicketRequest) -> Denial | None:
    denial = read_denial(caller, ticket)
    if denial is not None or caller.role in STAFF_ROLES:
        return denial
    if caller.role == Role.REQUESTER:
        changed = {name for name, value in request if value is not None and name != "version"}
        if changed == {"status"} and request.status in REQUESTER_STATUSES:
            return None
        return Denial(
            "requester_update_not_allowed",
            "requesters may only close or reopen their own ticket: send status closed or reopened and nothing else.",
        )
    return Denial("partner_update_not_allowed", "partner systems cannot change tickets after opening them.")


def message_denial(caller: Caller, ticket: Ticket, request: AddMessageRequest) -> Denial | None:
    denial = read_denial(caller, ticket)
    if denial is not None:
        return denial
    if caller.role == Role.REQUESTER:
        if request.author_type == AuthorType.REQUESTER and request.author_id == caller.user_id:
            return None
        return Denial(
            "author_not_caller",
            "requesters write messages as themselves: author_type requester and author_id your user id.",
        )
    if caller.role in STAFF_ROLES:
        if request.author_type == AuthorType.SYSTEM:
            return Denial("system_author", "only the service itself writes system messages.")
        if request.author_type == AuthorType.AGENT and request.author_id != caller.user_id:
            return Denial("author_not_caller", "agent messages carry your own user id as author_id.")
        return None
    return Denial("partner_message_not_allowed", "partner systems cannot add messages.")


def list_scope(caller: Caller, filters: TicketFilter) -> tuple[TicketFilter, Denial | None]:
    """Narrow a list request to what the caller may see, so the query itself enforces the rule.

    A requester's list is pinned to requester_id (the ByRequester index). An agent lists one of
    their queues or the tickets assigned to them. One index query covers one queue, so an agent
    with several queues must name one, and an agent with exactly one gets it by default.
    """
    if caller.role in TENANT_WIDE_ROLES:
        return filters, None
    if caller.role == Role.REQUESTER:
        if filters.requester_id not in (None, caller.user_id):
            return filters, Denial("not_own_requester_id", "requesters list only their own tickets.")
        return dataclasses.replace(filters, requester_id=caller.user_id), None
    if caller.role == Role.AGENT:
        return _agent_list_scope(caller, filters)
    if caller.role == Role.PARTNER:
        return filters, Denial("partner_list_not_allowed", "partner systems read the tickets they opened by id.")
    return filters, _no_api_access(caller)


def route_denial(caller: Caller, partner_route: bool) -> Denial | None:
    """Keep partner systems on the /partner routes, which require their API key, and people off them."""
    if partner_route and caller.role != Role.PARTNER:
        return Denial("partner_route", "the /partner routes are for partner systems; use /tickets.")
    if not partner_route and caller.role == Role.PARTNER:
        return Denial("partner_off_partner_route", "partner systems call /partner/tickets with their API key.")
    return None


def enforce(
    denial: Denial | None, caller: Caller, action: str, ticket_id: str | None = None, resource: str = "ticket"
) -> None:
    """Log a denial and raise it: NotFoundError naming `resource` when hidden, else ForbiddenError.

    `ticket_id` is the id of the resource acted on, logged under that key for every resource.
    """
    if denial is None:
        return
    logger.warning(
        "access denied",
        extra={
            "action": action,
            "reason": denial.reason,
            "tenant_id": caller.tenant_id,
            "user_id": caller.user_id,
            "role": caller.role.value,
            "ticket_id": ticket_id,
        },
    )
    if denial.hidden:
        raise NotFoundError(resource, ticket_id or "")
    raise ForbiddenError(denial.problem, reason=denial.reason, problem=denial.problem)


def _agent_list_scope(caller: Caller, filters: TicketFilter) -> tuple[TicketFilter, Denial | None]:
    if filters.assignee_id is not None and filters.assignee_id == caller.user_id:
        return filters, None
    if filters.queue is not None:
        if filters.queue in caller.queues:
            return filters, None
        return filters, Denial("outside_agent_queues", f"queue {filters.queue} is not one of your queues.")
    if filters.assignee_id is not None:
        return filters, Denial(
            "outside_agent_queues", "agents list other people's tickets only within a queue: add queue=<your queue>."
        )
    if len(caller.queues) == 1:
        return dataclasses.replace(filters, queue=next(iter(caller.queues))), None
    yours = ", ".join(sorted(caller.queues)) or "none"
    return filters, Denial(
        "agent_list_needs_queue",
        f"agents list one queue at a time: add queue=<one of: {yours}> or assignee_id=<your user id>.",
    )


def _no_api_access(caller: Caller) -> Denial:
    return Denial("role_without_api_access", f"the role {caller.role.value} has no access to the tickets API.")
