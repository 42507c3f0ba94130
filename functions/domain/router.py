"""The routing use cases: route a ticket, route waiting tickets when agents free up, rebalance
an agent's work when they go away. The decisions themselves come from functions/domain/routing.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from functions.domain import sla
from functions.domain.errors import DependencyError, DomainError, NotFoundError, VersionConflictError
from functions.domain.ids import new_id
from functions.domain.ports import EventPublisher, TicketFilter, TicketRepository
from functions.domain.routing import (
    HOLDING_STATUSES,
    UNASSIGNED_CODES,
    Choice,
    CustomerContext,
    LoadChange,
    choose_agent,
    customer_context,
    load_changes,
    routed_decision,
    slot_holder,
    unassigned_agents,
    waiting_decision,
)
from functions.models.agents import Agent
from functions.models.caller import Role
from functions.models.events import Actor, EventDetail, TicketRouted, TicketStatusChanged
from functions.models.tickets import RoutingDecision, Ticket, TicketStatus

logger = logging.getLogger(f"servicedesk.{__name__}")

ROUTER_ACTOR = Actor(user_id="router", role=Role.SYSTEM)
# Attempts to store one routing decision when the chosen agent's last slot or the ticket itself
# changed meanwhile; each attempt reads both again.
MAX_ROUTING_ATTEMPTS = 5
# Earlier tickets of the customer read for agent affinity, newest first, and how far back an
# agent who resolved one still counts as having handled the customer.
HISTORY_TICKETS = 20
AFFINITY_LOOKBACK = timedelta(days=90)
# Tickets rebalanced or routed from the waiting list per call.
MAX_TICKETS_PER_CALL = 50


class AgentAtCapacityError(DomainError):
    """The agent chosen for a ticket went offline or reached capacity before the assignment was stored."""

    code = "agent_unavailable"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id} has no free slot any more", agent_id=agent_id)


class AgentRepository(Protocol):
    def list_agents(self, tenant_id: str) -> list[Agent]:
        """Return every agent of the tenant, active or not."""

    def get_agent(self, tenant_id: str, agent_id: str) -> Agent:
        """Return the agent or raise NotFoundError."""


class RoutingTicketStore(TicketRepository, Protocol):
    def save_ticket(
        self, ticket: Ticket, expected_version: int, events: Sequence[EventDetail], load: Sequence[LoadChange] = ()
    ) -> None:
        """Store the ticket and the agents' load changes atomically.

        Raises VersionConflictError when the ticket changed, and AgentAtCapacityError when a change
        with enforce_capacity found the agent offline or at capacity.
        """

    def waiting_tickets(self, tenant_id: str, limit: int) -> list[Ticket]:
        """Return unassigned tickets in status new, oldest first."""


class Router:
    """Assigns tickets to agents and keeps the agents' load counters in step with the tickets."""

    def __init__(
        self,
        tickets: RoutingTicketStore,
        agents: AgentRepository,
        publisher: EventPublisher,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tickets = tickets
        self._agents = agents
        self._publisher = publisher
        self._clock = clock

    def route(self, ticket: Ticket, actor: Actor = ROUTER_ACTOR) -> Ticket:
        """Route a stored ticket that waits (new, unassigned); store and return it with the decision.

        Any other ticket is returned unchanged.
        """
        return self._decide(ticket, actor, away_agent=None)

    def plan_new(self, ticket: Ticket, give_up: bool = False) -> tuple[Ticket, list[LoadChange]]:
        """Decide on a ticket about to be created; return it with the decision and its load change.

        The caller stores both with the ticket, and its TicketCreated event carries the decision;
        AgentAtCapacityError from that write means it should plan again. With `give_up` the
        ticket waits with reason routing_contention.
        """
        now = self._clock()
        if give_up:
            choice = Choice(no_fit_code="routing_contention", no_fit_reason="every chosen agent filled up while routing")
        else:
            choice = choose_agent(ticket, self._agents.list_agents(ticket.tenant_id), self._context(ticket, now), now)
        values: dict[str, object] = {}
        if choice.candidates:
            best = choice.candidates[0]
            values = {"assignee_id": best.agent.agent_id, "status": TicketStatus.ASSIGNED, "routing": routed_decision(ticket, best, now)}
        else:
            values = {"routing": waiting_decision(ticket, choice.no_fit_code or "no_agent_in_queue", choice.no_fit_reason or "", now)}
        planned = ticket.model_copy(update=values)
        return planned, load_changes(None, planned, enforce_capacity=True)

    def route_waiting(self, tenant_id: str, limit: int = MAX_TICKETS_PER_CALL) -> int:
        """Route the tenant's waiting tickets, oldest first; return how many got an agent."""
        routed = 0
        for ticket in self._tickets.waiting_tickets(tenant_id, limit):
            try:
                stored = self.route(ticket)
            except DependencyError as error:
                logger.warning(
                    "routing a waiting ticket failed",
                    extra={"tenant_id": tenant_id, "ticket_id": ticket.ticket_id, "error": str(error)},
                )
                continue
            if stored.assignee_id is not None:
                routed += 1
        return routed

    def rebalance(self, tenant_id: str, agent_id: str) -> int:
        """Move the open tickets routed to an agent who went away to other agents or back to waiting.

        Pending tickets stay, because they wait on the customer rather than on the agent.
        Returns how many tickets were moved.
        """
        page = self._tickets.list_tickets(tenant_id, TicketFilter(assignee_id=agent_id), MAX_TICKETS_PER_CALL, None)
        moved = 0
        for ticket in page.items:
            holder = slot_holder(ticket)
            if holder is None or holder[0] != agent_id or ticket.status == TicketStatus.PENDING:
                continue
            try:
                self._decide(ticket, ROUTER_ACTOR, away_agent=agent_id)
            except DependencyError as error:
                logger.warning(
                    "rebalancing a ticket failed",
                    extra={"tenant_id": tenant_id, "ticket_id": ticket.ticket_id, "agent_id": agent_id, "error": str(error)},
                )
                continue
            moved += 1
        logger.info("agent work rebalanced", extra={"tenant_id": tenant_id, "agent_id": agent_id, "moved": moved})
        return moved

    def manual_decision(self, ticket: Ticket, agent_id: str, actor: Actor) -> RoutingDecision | None:
        """Return the routing record of a person's assignment to a registered agent, or None for anyone else."""
        try:
            self._agents.get_agent(ticket.tenant_id, agent_id)
        except NotFoundError:
            return None
        return RoutingDecision(
            agent_id=agent_id,
            queue=ticket.queue,
            reason_codes=["manual_assignment"],
            reason=f"assigned by {actor.role.value} {actor.user_id}",
            score=None,
            decided_at=self._clock(),
            unassigned_agent_ids=unassigned_agents(ticket),
        )

    # Internals.

    def _decide(self, ticket: Ticket, actor: Actor, away_agent: str | None) -> Ticket:
        for attempt in range(1, MAX_ROUTING_ATTEMPTS + 1):
            if not _needs_decision(ticket, away_agent):
                return ticket
            now = self._clock()
            exclude = frozenset(unassigned_agents(ticket)) | (frozenset({away_agent}) if away_agent else frozenset())
            choice = choose_agent(ticket, self._agents.list_agents(ticket.tenant_id), self._context(ticket, now), now, exclude)
            updated = self._apply(ticket, choice, now, away_agent)
            if updated is None:
                return ticket
            events = self._events(ticket, updated, actor)
            try:
                self._tickets.save_ticket(updated, ticket.version, events, load_changes(ticket, updated, enforce_capacity=True))
            except AgentAtCapacityError:
                logger.info(
                    "chosen agent became unavailable; routing again",
                    extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id, "attempt": attempt},
                )
            except VersionConflictError:
                logger.info(
                    "ticket changed while routing; routing again",
                    extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id, "attempt": attempt},
                )
            else:
                self._publish(events)
                logger.info(
                    "ticket routed",
                    extra={
                        "tenant_id": ticket.tenant_id,
                        "ticket_id": ticket.ticket_id,
                        "agent_id": updated.assignee_id,
                        "reason_codes": updated.routing.reason_codes if updated.routing else [],
                    },
                )
                return updated
            ticket = self._tickets.get_ticket(ticket.tenant_id, ticket.ticket_id)
        logger.warning(
            "routing gave up after repeated conflicts; the ticket stays as it is",
            extra={"tenant_id": ticket.tenant_id, "ticket_id": ticket.ticket_id, "attempts": MAX_ROUTING_ATTEMPTS},
        )
        return ticket

    def _apply(self, ticket: Ticket, choice: Choice, now: datetime, away_agent: str | None) -> Ticket | None:
        """Return the ticket with the decision applied, or None when it would change nothing."""
        values: dict[str, object] = {"version": ticket.version + 1, "updated_at": now}
        if choice.candidates:
            best = choice.candidates[0]
            status = TicketStatus.ASSIGNED if ticket.status == TicketStatus.NEW else ticket.status
            values.update({"assignee_id": best.agent.agent_id, "status": status, "routing": routed_decision(ticket, best, now)})
        else:
            code, reason = choice.no_fit_code or "no_agent_in_queue", choice.no_fit_reason or ""
            if away_agent is not None:
                code, reason = "agent_away", f"agent {away_agent} went away and {reason}"
            decision = waiting_decision(ticket, code, reason, now)
            previous = ticket.routing
            waiting_already = previous is not None and previous.agent_id is None
            same_reason = previous is not None and tuple(previous.reason_codes) in (tuple(decision.reason_codes), UNASSIGNED_CODES)
            if away_agent is None and waiting_already and same_reason:
                # An unassigned ticket keeps that reason while no other agent fits.
                return None
            values["routing"] = decision
            if away_agent is not None:
                # NOTE: releasing an in-progress or reopened ticket to new is a router-only
                # transition that PATCH /tickets does not allow; the event records it.
                values.update({"assignee_id": None, "status": TicketStatus.NEW})
        updated = ticket.model_copy(update=values)
        return sla.follow_change(ticket, updated, now)

    def _context(self, ticket: Ticket, now: datetime) -> CustomerContext:
        customer = self._tickets.get_customer(ticket.tenant_id, ticket.customer_id)
        history = self._tickets.list_tickets(
            ticket.tenant_id, TicketFilter(customer_id=ticket.customer_id), HISTORY_TICKETS, None
        ).items
        attributes = customer.attributes if customer else {}
        return customer_context(
            customer.tier if customer else None,
            attributes.get("preferred_channel"),
            history,
            ticket.ticket_id,
            AFFINITY_LOOKBACK,
            now,
        )

    def _routed_event(self, before: Ticket, after: Ticket, actor: Actor) -> EventDetail:
        routing = after.routing
        assert routing is not None
        return TicketRouted.build(
            event_id=new_id(),
            occurred_at=routing.decided_at,
            tenant_id=after.tenant_id,
            ticket_id=after.ticket_id,
            actor=actor,
            agent_id=routing.agent_id,
            previous_agent_id=before.assignee_id,
            queue=routing.queue,
            reason_codes=routing.reason_codes,
            reason=routing.reason[:500],
            reason_ko=routing.reason_ko[:500] if routing.reason_ko else None,
            score=routing.score,
            version=after.version,
        )

    def _events(self, before: Ticket, after: Ticket, actor: Actor) -> list[EventDetail]:
        routing = after.routing
        assert routing is not None
        events: list[EventDetail] = [self._routed_event(before, after, actor)]
        if after.status != before.status:
            events.append(
                TicketStatusChanged.build(
                    event_id=new_id(),
                    occurred_at=routing.decided_at,
                    tenant_id=after.tenant_id,
                    ticket_id=after.ticket_id,
                    actor=actor,
                    from_status=before.status,
                    to_status=after.status,
                    version=after.version,
                )
            )
        return events

    def _publish(self, events: Sequence[EventDetail]) -> None:
        try:
            self._publisher.publish(events)
        except DependencyError as error:
            logger.warning(
                "event publishing failed; the outbox relay will retry",
                extra={"event_ids": [event.event_id for event in events], "error": str(error)},
            )
            return
        self._tickets.delete_outbox(events)


def _needs_decision(ticket: Ticket, away_agent: str | None) -> bool:
    if away_agent is not None:
        holder = slot_holder(ticket)
        return holder is not None and holder[0] == away_agent and ticket.status in HOLDING_STATUSES
    return ticket.status == TicketStatus.NEW and ticket.assignee_id is None
