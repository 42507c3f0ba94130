"""Ticket use cases: open, read, list, update, and converse across channels."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from functions.domain import access, lifecycle, sla
from functions.domain.errors import (
    DependencyError,
    InvalidInputError,
    InvalidTransitionError,
    ThreadConflictError,
    TicketBusyError,
    TicketClosedError,
    VersionConflictError,
)
from functions.domain.escalation import EscalationPolicy, decide_escalation, raised_priority
from functions.domain.ids import new_id
from functions.domain.ports import EventPublisher, Page, TicketFilter, TicketRepository
from functions.domain.router import MAX_ROUTING_ATTEMPTS, AgentAtCapacityError, Router
from functions.domain.routing import LoadChange, load_changes, unassigned_decision
from functions.domain.sentiment import SentimentAnalyser
from functions.domain.triage import TriageAnalyser
from functions.models.caller import Caller, Role
from functions.models.events import (
    Actor,
    EventDetail,
    FieldChange,
    MessageReceived,
    TicketCreated,
    TicketEscalated,
    TicketStatusChanged,
    TicketUpdated,
)
from functions.models.intake import ChannelMessage
from functions.models.tickets import (
    AddMessageRequest,
    AuthorType,
    CreateTicketRequest,
    Message,
    Priority,
    Sentiment,
    Ticket,
    TicketStatus,
    UpdateTicketRequest,
)

# A child of Powertools' "servicedesk" logger, so records carry its JSON format and correlation id.
logger = logging.getLogger(f"servicedesk.{__name__}")

# How often a message append is tried when other writers change the ticket meanwhile, and the
# longest random pause before the next try grows by this many seconds per attempt.
MAX_APPEND_ATTEMPTS = 10
APPEND_BACKOFF_STEP_SECONDS = 0.05
# Waiting tickets tried when a ticket frees an agent's slot, within the PATCH request. Tickets
# beyond it wait for the next release, agent change or breach job run.
ROUTE_ON_RELEASE_LIMIT = 10
# The actor of changes made by the intake consumer for channel messages.
INTAKE_ACTOR = Actor(user_id="intake", role=Role.SYSTEM)


@dataclass(frozen=True)
class MessageOutcome:
    """Result of adding one message: the stored message, the ticket after it, and what happened."""

    message: Message
    ticket: Ticket
    created_ticket: bool = False
    duplicate: bool = False
    escalated_now: bool = False


class TicketService:
    """The ticket use cases, written against the repository, publisher and model ports."""

    def __init__(
        self,
        repository: TicketRepository,
        publisher: EventPublisher,
        sentiment: SentimentAnalyser | None,
        policy: EscalationPolicy,
        default_queue: str,
        triage: TriageAnalyser | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        router: Router | None = None,
    ) -> None:
        self._repository = repository
        self._publisher = publisher
        self._sentiment = sentiment
        self._policy = policy
        self._default_queue = default_queue
        self._triage = triage
        self._clock = clock
        self._router = router

    # Reading.

    def get_ticket(self, caller: Caller, ticket_id: str) -> Ticket:
        ticket = self._repository.get_ticket(caller.tenant_id, ticket_id)
        access.enforce(access.read_denial(caller, ticket), caller, "read_ticket", ticket_id)
        return ticket

    def list_tickets(self, caller: Caller, filters: TicketFilter, limit: int, cursor: str | None) -> Page:
        scoped, denial = access.list_scope(caller, filters)
        access.enforce(denial, caller, "list_tickets")
        return self._repository.list_tickets(caller.tenant_id, scoped, limit, cursor)

    def list_messages(self, caller: Caller, ticket_id: str, limit: int, cursor: str | None) -> Page:
        self.get_ticket(caller, ticket_id)
        return self._repository.list_messages(caller.tenant_id, ticket_id, limit, cursor)

    # Writing.

    def create_ticket(self, caller: Caller, request: CreateTicketRequest) -> Ticket:
        """Open a ticket; its description becomes the first message of the conversation."""
        access.enforce(access.create_denial(caller, request), caller, "create_ticket")
        now = self._clock()
        ticket = Ticket(
            ticket_id=new_id(),
            tenant_id=caller.tenant_id,
            title=request.title,
            description=request.description,
            requester_id=request.requester_id,
            customer_id=request.customer_id,
            created_by=caller.user_id,
            channel=request.channel,
            category=request.category,
            priority=request.priority or Priority.MEDIUM,
            status=TicketStatus.NEW,
            queue=self._default_queue,
            thread_key=request.thread_key,
            attachments=request.attachments,
            created_at=now,
            updated_at=now,
        )
        opening_text = f"{request.title}\n{request.description}".strip()
        first_message = Message(
            message_id=new_id(),
            ticket_id=ticket.ticket_id,
            tenant_id=caller.tenant_id,
            channel=request.channel,
            author_type=AuthorType.REQUESTER,
            author_id=request.requester_id,
            body=opening_text,
            attachments=request.attachments,
            created_at=now,
        )
        try:
            return self._open_with_message(ticket, first_message, opening_text, _actor(caller)).ticket
        except ThreadConflictError as error:
            existing = self._repository.find_ticket_by_thread(caller.tenant_id, request.thread_key or "")
            raise ThreadConflictError(request.thread_key or "", existing.ticket_id if existing else None) from error

    def update_ticket(
        self, caller: Caller, ticket_id: str, request: UpdateTicketRequest, expected_version: int | None
    ) -> Ticket:
        """Apply a PATCH under optimistic locking; a stale version raises VersionConflictError."""
        if expected_version is None:
            raise InvalidInputError(
                "the expected version is missing: send an If-Match header or a version field",
                problem_ko="기대하는 버전이 없습니다. If-Match 헤더나 version 필드로 보내 주세요.",
                field="version",
            )
        current = self._repository.get_ticket(caller.tenant_id, ticket_id)
        access.enforce(access.update_denial(caller, current, request), caller, "update_ticket", ticket_id)
        if current.version != expected_version:
            raise VersionConflictError(ticket_id, expected_version, current.version)

        updated, changes = self._apply_update(current, request)
        if not changes:
            return current
        now = self._clock()
        updated = updated.model_copy(update={"version": current.version + 1, "updated_at": now})
        if "assignee_id" in changes and updated.assignee_id and self._router is not None:
            decision = self._router.manual_decision(updated, updated.assignee_id, _actor(caller))
            updated = updated.model_copy(update={"routing": decision or updated.routing})
        elif "assignee_id" in changes and current.assignee_id is not None:
            # Routing then gives the ticket to someone else, not straight back to this agent.
            updated = updated.model_copy(update={"routing": unassigned_decision(updated, current.assignee_id, now)})
        updated = sla.follow_change(current, updated, now)
        load = load_changes(current, updated)

        events: list[EventDetail] = []
        if "status" in changes:
            events.append(
                self._event(
                    TicketStatusChanged,
                    updated,
                    from_status=current.status,
                    to_status=updated.status,
                    version=updated.version,
                )
            )
        events.append(self._event(TicketUpdated, updated, changes=changes, version=updated.version))

        events = _with_actor(events, _actor(caller))
        self._repository.save_ticket(updated, expected_version, events, load)
        self._publish(events)
        logger.info(
            "ticket updated",
            extra={"ticket_id": ticket_id, "tenant_id": caller.tenant_id, "version": updated.version},
        )
        if any(change.delta < 0 for change in load):
            self._route_waiting(caller.tenant_id)
            # The freed slot may have routed this very ticket again, so return what is stored.
            return self._repository.get_ticket(caller.tenant_id, ticket_id)
        return updated

    def add_message(
        self, caller: Caller, ticket_id: str, request: AddMessageRequest, message_id: str | None = None
    ) -> MessageOutcome:
        """Append a message from any channel to a ticket's conversation."""
        ticket = self._repository.get_ticket(caller.tenant_id, ticket_id)
        access.enforce(access.message_denial(caller, ticket, request), caller, "add_message", ticket_id)
        message = Message(
            message_id=message_id or new_id(),
            ticket_id=ticket.ticket_id,
            tenant_id=caller.tenant_id,
            channel=request.channel,
            author_type=request.author_type,
            author_id=request.author_id,
            body=request.body,
            attachments=request.attachments,
            created_at=self._clock(),
        )
        return self._append(ticket, message, _actor(caller))

    def ingest_channel_message(self, inbound: ChannelMessage) -> MessageOutcome:
        """Thread a channel message into its ticket, opening one for a new thread.

        Redelivery of the same gateway message id changes nothing and reports a duplicate.
        """
        message_id = f"{inbound.channel.value}-{inbound.message_id}"
        existing_ticket = self._repository.find_ticket_by_thread(inbound.tenant_id, inbound.thread_key)
        message = Message(
            message_id=message_id,
            ticket_id=existing_ticket.ticket_id if existing_ticket else new_id(),
            tenant_id=inbound.tenant_id,
            channel=inbound.channel,
            author_type=inbound.author_type,
            author_id=inbound.requester_id,
            body=inbound.body,
            attachments=inbound.attachments,
            created_at=inbound.sent_at or self._clock(),
        )
        if existing_ticket is not None:
            return self._append(existing_ticket, message, INTAKE_ACTOR)

        now = self._clock()
        ticket = Ticket(
            ticket_id=message.ticket_id,
            tenant_id=inbound.tenant_id,
            title=(inbound.subject or _title_from_body(inbound.body)),
            description=inbound.body,
            requester_id=inbound.requester_id,
            customer_id=inbound.customer_id,
            channel=inbound.channel,
            category=inbound.category,
            priority=inbound.priority or Priority.MEDIUM,
            status=TicketStatus.NEW,
            queue=self._default_queue,
            thread_key=inbound.thread_key,
            attachments=inbound.attachments,
            created_at=now,
            updated_at=now,
        )
        try:
            return self._open_with_message(
                ticket, message, f"{inbound.subject or ''}\n{inbound.body}".strip(), INTAKE_ACTOR
            )
        except ThreadConflictError:
            # Another message of the same new thread opened the ticket first: join it.
            winner = self._repository.find_ticket_by_thread(inbound.tenant_id, inbound.thread_key)
            if winner is None:
                raise
            logger.info(
                "thread opened concurrently; appending",
                extra={"tenant_id": inbound.tenant_id, "ticket_id": winner.ticket_id, "message_id": message_id},
            )
            return self._append(winner, message.model_copy(update={"ticket_id": winner.ticket_id}), INTAKE_ACTOR)

    # Changes made by the service's own components (workflows), not by an API caller.

    def add_system_note(self, tenant_id: str, ticket_id: str, message_id: str, body: str, actor: Actor) -> MessageOutcome:
        """Append a system message to a ticket's conversation; a repeated message id changes nothing."""
        ticket = self._repository.get_ticket(tenant_id, ticket_id)
        message = Message(
            message_id=message_id,
            ticket_id=ticket_id,
            tenant_id=tenant_id,
            channel=ticket.channel,
            author_type=AuthorType.SYSTEM,
            author_id=actor.user_id,
            body=body,
            created_at=self._clock(),
        )
        return self._append(ticket, message, actor)

    def change_status_as_system(self, tenant_id: str, ticket_id: str, status: TicketStatus, actor: Actor) -> Ticket:
        """Move a ticket to `status` for a service component, retrying when other writers change it.

        A ticket already in `status` is returned unchanged; a transition the lifecycle forbids
        raises InvalidTransitionError.
        """
        for attempt in range(1, MAX_APPEND_ATTEMPTS + 1):
            current = self._repository.get_ticket(tenant_id, ticket_id)
            updated, changes = self._apply_update(current, UpdateTicketRequest(status=status))
            if not changes:
                return current
            now = self._clock()
            updated = updated.model_copy(update={"version": current.version + 1, "updated_at": now})
            # The lifecycle stamps, SLA clocks and agent load follow every status change.
            updated = sla.follow_change(current, updated, now)
            load = load_changes(current, updated)
            events: list[EventDetail] = [
                self._event(
                    TicketStatusChanged, updated, from_status=current.status, to_status=updated.status, version=updated.version
                ),
                self._event(TicketUpdated, updated, changes=changes, version=updated.version),
            ]
            events = _with_actor(events, actor)
            try:
                self._repository.save_ticket(updated, current.version, events, load)
            except VersionConflictError as conflict:
                if attempt == MAX_APPEND_ATTEMPTS:
                    raise TicketBusyError(ticket_id, attempt) from conflict
                time.sleep(random.uniform(0, APPEND_BACKOFF_STEP_SECONDS * attempt))
                continue
            self._publish(events)
            return updated
        raise AssertionError("unreachable")

    # Internals.

    def _open_with_message(self, ticket: Ticket, message: Message, text: str, actor: Actor) -> MessageOutcome:
        sentiment = self._score(text, ticket, message.author_type)
        message = message.model_copy(update={"sentiment": sentiment})
        ticket = self._triaged(ticket, text).model_copy(update={"message_count": 1, "last_sentiment": sentiment})

        escalated_ticket, escalation_event = self._escalate_if_needed(ticket, text, sentiment, message.author_type)
        unrouted = self._with_sla_clock(escalated_ticket)

        # The routing decision commits with the ticket, so a new ticket is stored once, at
        # version 1, with its agent or its reason to wait.
        for attempt in range(1, MAX_ROUTING_ATTEMPTS + 1):
            ticket, load = self._planned_route(unrouted, last_attempt=attempt == MAX_ROUTING_ATTEMPTS)
            routing = ticket.routing
            events: list[EventDetail] = [
                self._event(
                    TicketCreated,
                    ticket,
                    customer_id=ticket.customer_id,
                    channel=ticket.channel,
                    status=ticket.status,
                    priority=ticket.priority,
                    queue=ticket.queue,
                    category=ticket.category,
                    version=ticket.version,
                    assignee_id=ticket.assignee_id,
                    routing_reason_codes=routing.reason_codes if routing else None,
                    routing_score=routing.score if routing else None,
                ),
                self._message_event(message),
            ]
            if escalation_event is not None:
                events.append(escalation_event)

            events = _with_actor(events, actor)
            try:
                self._repository.create_ticket(ticket, events, first_message=message, load=load)
            except AgentAtCapacityError:
                logger.info(
                    "chosen agent became unavailable; routing the new ticket again",
                    extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "attempt": attempt},
                )
                continue
            break
        self._publish(events)
        logger.info(
            "ticket created",
            extra={
                "ticket_id": ticket.ticket_id,
                "tenant_id": ticket.tenant_id,
                "channel": ticket.channel.value,
                "escalated": ticket.escalated,
            },
        )
        return MessageOutcome(message=message, ticket=ticket, created_ticket=True, escalated_now=ticket.escalated)

    def _append(self, ticket: Ticket, message: Message, actor: Actor) -> MessageOutcome:
        existing = self._repository.get_message(ticket.tenant_id, ticket.ticket_id, message.message_id)
        if existing is not None:
            return MessageOutcome(message=existing, ticket=ticket, duplicate=True)

        sentiment = self._score(message.body, ticket, message.author_type)
        message = message.model_copy(update={"sentiment": sentiment})

        for attempt in range(1, MAX_APPEND_ATTEMPTS + 1):
            now = self._clock()
            updated = ticket.model_copy(
                update={
                    "message_count": ticket.message_count + 1,
                    "version": ticket.version + 1,
                    "updated_at": now,
                    "last_sentiment": sentiment or ticket.last_sentiment,
                }
            )
            if message.author_type == AuthorType.AGENT and updated.first_response_at is None:
                updated = updated.model_copy(update={"first_response_at": message.created_at})
            events: list[EventDetail] = [self._message_event(message)]
            if message.author_type == AuthorType.REQUESTER and updated.status in lifecycle.REOPEN_ON_MESSAGE:
                updated = updated.model_copy(update={"status": TicketStatus.REOPENED})
                events.append(
                    self._event(
                        TicketStatusChanged,
                        updated,
                        from_status=ticket.status,
                        to_status=TicketStatus.REOPENED,
                        version=updated.version,
                    )
                )
            updated, escalation_event = self._escalate_if_needed(updated, message.body, sentiment, message.author_type)
            if escalation_event is not None:
                events.append(escalation_event)
            updated = sla.follow_change(ticket, updated, now)

            events = _with_actor(events, actor)
            try:
                stored = self._repository.add_message(message, updated, ticket.version, events, load_changes(ticket, updated))
            except VersionConflictError as conflict:
                if attempt == MAX_APPEND_ATTEMPTS:
                    raise TicketBusyError(ticket.ticket_id, attempt) from conflict
                time.sleep(random.uniform(0, APPEND_BACKOFF_STEP_SECONDS * attempt))
                logger.info(
                    "ticket changed while appending; retrying",
                    extra={"ticket_id": ticket.ticket_id, "message_id": message.message_id, "attempt": attempt},
                )
                ticket = self._repository.get_ticket(ticket.tenant_id, ticket.ticket_id)
                continue
            if not stored:
                existing = self._repository.get_message(ticket.tenant_id, ticket.ticket_id, message.message_id)
                return MessageOutcome(message=existing or message, ticket=ticket, duplicate=True)

            self._publish(events)
            return MessageOutcome(
                message=message, ticket=updated, escalated_now=escalation_event is not None
            )
        raise AssertionError("unreachable")

    def _with_sla_clock(self, ticket: Ticket) -> Ticket:
        """Start the SLA clocks of a new ticket in its customer's tier and time zone (Asia/Seoul when unknown)."""
        customer = self._repository.get_customer(ticket.tenant_id, ticket.customer_id)
        zone = customer.attributes.get("time_zone") if customer else None
        try:
            clock = sla.start_clock(ticket, customer.tier if customer else None, zone if isinstance(zone, str) else None)
        except InvalidInputError:
            logger.warning(
                "customer time zone unknown; using the default",
                extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "customer_id": ticket.customer_id},
            )
            clock = sla.start_clock(ticket, customer.tier if customer else None, None)
        return sla.follow_change(None, ticket.model_copy(update={"sla": clock}), ticket.created_at)

    def _planned_route(self, ticket: Ticket, last_attempt: bool) -> tuple[Ticket, list[LoadChange]]:
        """Return the new ticket with its routing decision and the load change it needs.

        On the last attempt no agent is chosen, so contention for agents cannot keep a ticket from
        opening. When the agents cannot be read the ticket opens without a decision and waits
        for the next routing pass.
        """
        if self._router is None:
            return ticket, []
        try:
            return self._router.plan_new(ticket, give_up=last_attempt)
        except DependencyError as error:
            logger.warning(
                "routing failed; the ticket waits in its queue",
                extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "error": str(error)},
            )
            return ticket, []

    def _route_waiting(self, tenant_id: str) -> None:
        """Give freed agent slots to waiting tickets; a failure leaves them for the next pass."""
        if self._router is None:
            return
        try:
            self._router.route_waiting(tenant_id, ROUTE_ON_RELEASE_LIMIT)
        except DependencyError as error:
            logger.warning("routing waiting tickets failed", extra={"tenant_id": tenant_id, "error": str(error)})

    def _triaged(self, ticket: Ticket, text: str) -> Ticket:
        """Route a new ticket by the triage model: its queue, and its category unless one was given.

        An abstained verdict sends the ticket to the model's review queue with no category, so
        a person decides. When the model is unavailable the ticket keeps the default queue.
        """
        if self._triage is None:
            return ticket
        try:
            verdict = self._triage.classify(text)
        except DependencyError as error:
            logger.warning(
                "triage unavailable; using the default queue",
                extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "error": str(error)},
            )
            return ticket
        return ticket.model_copy(
            update={
                "triage": verdict,
                "queue": verdict.queue,
                "category": ticket.category or verdict.category,
            }
        )

    def _score(self, text: str, ticket: Ticket, author_type: AuthorType) -> Sentiment | None:
        """Return the sentiment of a requester's text, or None for agents or when the model fails."""
        if self._sentiment is None or author_type != AuthorType.REQUESTER:
            return None
        try:
            return self._sentiment.analyse([text])[0]
        except DependencyError as error:
            # The message is still stored: text signals can escalate without the model, and a
            # missing score must not lose a customer's message.
            logger.warning(
                "sentiment unavailable; continuing without it",
                extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "error": str(error)},
            )
            return None

    def _escalate_if_needed(
        self, ticket: Ticket, text: str, sentiment: Sentiment | None, author_type: AuthorType
    ) -> tuple[Ticket, EventDetail | None]:
        if author_type != AuthorType.REQUESTER:
            return ticket, None
        customer = self._repository.get_customer(ticket.tenant_id, ticket.customer_id)
        decision = decide_escalation(
            self._policy,
            text,
            sentiment.negative if sentiment else None,
            customer.tier if customer else None,
        )
        new_reasons = [reason.value for reason in decision.reasons if reason.value not in ticket.escalation_reasons]
        if not new_reasons:
            return ticket, None

        escalated = ticket.model_copy(
            update={
                "escalated": True,
                "escalation_reasons": [*ticket.escalation_reasons, *new_reasons],
                "priority": raised_priority(ticket.priority, decision.reasons),
                "queue": self._policy.senior_queue,
            }
        )
        event = self._event(
            TicketEscalated,
            escalated,
            reasons=new_reasons,
            priority=escalated.priority,
            queue=escalated.queue,
            negative_score=sentiment.negative if sentiment else None,
            version=escalated.version,
        )
        logger.info(
            "ticket escalated",
            extra={"ticket_id": ticket.ticket_id, "tenant_id": ticket.tenant_id, "reasons": new_reasons},
        )
        return escalated, event

    def _apply_update(self, current: Ticket, request: UpdateTicketRequest) -> tuple[Ticket, dict[str, FieldChange]]:
        changes: dict[str, FieldChange] = {}
        values: dict[str, object] = {}

        for field in ("assignee_id", "priority", "queue", "category"):
            requested = getattr(request, field)
            if requested is not None and requested != getattr(current, field):
                values[field] = requested
                changes[field] = FieldChange(old=_text(getattr(current, field)), new=_text(requested))
        # An explicit null assignee unassigns the ticket; an absent one leaves it as it is.
        unassigning = "assignee_id" in request.model_fields_set and request.assignee_id is None
        if unassigning and current.assignee_id is not None:
            values["assignee_id"] = None
            changes["assignee_id"] = FieldChange(old=_text(current.assignee_id), new=_text(None))

        if current.status == TicketStatus.CLOSED and request.status in (None, TicketStatus.CLOSED) and changes:
            raise TicketClosedError(current.ticket_id, sorted(changes))

        if request.status is not None and request.status != current.status:
            if not lifecycle.can_transition(current.status, request.status):
                raise InvalidTransitionError(
                    current.ticket_id, current.status.value, request.status.value, lifecycle.allowed_next(current.status)
                )
            values["status"] = request.status
            changes["status"] = FieldChange(old=current.status.value, new=request.status.value)

        updated = current.model_copy(update=values)
        if "status" not in values and updated.status == TicketStatus.ASSIGNED and not updated.assignee_id:
            # Unassigning mirrors assigning: an assigned ticket goes back to new, in its queue.
            values["status"] = TicketStatus.NEW
            changes["status"] = FieldChange(old=current.status.value, new=TicketStatus.NEW.value)
            updated = current.model_copy(update=values)
        if updated.status in lifecycle.NEEDS_ASSIGNEE and not updated.assignee_id:
            raise InvalidInputError(
                f"status {updated.status.value} needs an assignee: set assignee_id in the same request",
                problem_ko=f"{updated.status.value} 상태에는 담당자가 필요합니다. 같은 요청에 assignee_id를 넣어 주세요.",
                field="assignee_id",
            )
        if updated.status == TicketStatus.NEW and updated.assignee_id and "assignee_id" in values:
            values["status"] = TicketStatus.ASSIGNED
            changes["status"] = FieldChange(old=current.status.value, new=TicketStatus.ASSIGNED.value)
            updated = current.model_copy(update=values)
        return updated, changes

    def _message_event(self, message: Message) -> EventDetail:
        sentiment = message.sentiment
        return MessageReceived.build(
            event_id=new_id(),
            occurred_at=message.created_at,
            tenant_id=message.tenant_id,
            ticket_id=message.ticket_id,
            message_id=message.message_id,
            channel=message.channel,
            author_type=message.author_type,
            sentiment=sentiment.label if sentiment else None,
            sentiment_score=sentiment.score if sentiment else None,
            language=sentiment.language if sentiment and sentiment.language in {"ko", "en", "mixed"} else None,
        )

    def _event(self, event_type: type[EventDetail], ticket: Ticket, **fields: object) -> EventDetail:
        return event_type.build(
            event_id=new_id(), occurred_at=self._clock(), tenant_id=ticket.tenant_id, ticket_id=ticket.ticket_id, **fields
        )

    def _publish(self, events: Sequence[EventDetail]) -> None:
        """Publish events that were stored in the outbox with the state change.

        A failure is logged and left to the outbox relay job, because the change itself is
        already committed and the caller must not see it as failed.
        """
        try:
            self._publisher.publish(events)
        except DependencyError as error:
            logger.warning(
                "event publishing failed; the outbox relay will retry",
                extra={"event_ids": [event.event_id for event in events], "error": str(error)},
            )
            return
        self._repository.delete_outbox(events)


def _actor(caller: Caller) -> Actor:
    return Actor(user_id=caller.user_id, role=caller.role)


def _with_actor(events: list[EventDetail], actor: Actor) -> list[EventDetail]:
    """Name the actor on every event of a change; the audit log records it from there."""
    return [event.model_copy(update={"actor": actor}) for event in events]


def _title_from_body(body: str) -> str:
    first_line = body.strip().splitlines()[0] if body.strip() else "(no subject)"
    return first_line[:120]


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
