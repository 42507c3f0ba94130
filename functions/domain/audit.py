"""Hash-chained audit log: the canonical form and hash of an entry, chaining, verification, the
records that domain events become, and the audit use cases.

docs/audit.md states the canonical form for auditors who re-verify a chain offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import rfc8785

from functions.domain.errors import ForbiddenError, InvalidInputError
from functions.models.audit import (
    GENESIS_HASH,
    AuditChange,
    AuditEntry,
    AuditPage,
    AuditRecord,
    ChainAnchor,
    ChainBreak,
    ChainHead,
    VerificationReport,
)
from functions.models.caller import Caller, Role
from functions.models.events import (
    EventDetail,
    MessageReceived,
    SlaBreachPredicted,
    TicketCreated,
    TicketEscalated,
    TicketRouted,
    TicketStatusChanged,
    TicketUpdated,
)

# NOTE: the audit log checks roles itself, so only these roles may read or verify their tenant's
# log. The rule belongs with the other role rules once those cover the audit log.
AUDIT_READER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})

_VERIFY_CURSOR_SCOPE = "audit-verify"


# Canonical form and hash.


def hashed_fields(entry: AuditEntry) -> dict[str, Any]:
    """Return the object whose canonical JSON an entry's hash covers: every field but `hash`."""
    return {
        "schema_version": entry.schema_version,
        "tenant_id": entry.tenant_id,
        "sequence": entry.sequence,
        "timestamp": entry.timestamp,
        "actor": {"user_id": entry.actor.user_id, "role": entry.actor.role.value},
        "action": entry.action,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "event_id": entry.event_id,
        "changes": {name: {"old": change.old, "new": change.new} for name, change in entry.changes.items()},
        "previous_hash": entry.previous_hash,
    }


def canonical_json(fields: dict[str, Any]) -> bytes:
    """Serialise with RFC 8785 (JSON Canonicalization Scheme): sorted keys, no spaces, UTF-8."""
    return rfc8785.dumps(fields)


def entry_hash(entry: AuditEntry) -> str:
    """Return the lower-case hex SHA-256 of the entry's canonical JSON, `hash` excluded."""
    return hashlib.sha256(canonical_json(hashed_fields(entry))).hexdigest()


def chain_records(head: ChainHead, records: Sequence[AuditRecord]) -> list[AuditEntry]:
    """Chain records after the head: number them on from its sequence and link each to the hash before it."""
    entries: list[AuditEntry] = []
    previous_hash, sequence = head.hash, head.sequence
    for record in records:
        sequence += 1
        unhashed = AuditEntry(**record.model_dump(), sequence=sequence, previous_hash=previous_hash, hash=GENESIS_HASH)
        entry = unhashed.model_copy(update={"hash": entry_hash(unhashed)})
        entries.append(entry)
        previous_hash = entry.hash
    return entries


def audit_timestamp(moment: datetime) -> str:
    """Format a time as the log stores it: UTC with microseconds and a Z suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Verification.


@dataclass(frozen=True)
class MalformedEntry:
    """A stored entry that no longer parses as an AuditEntry; verification reports a hash mismatch."""

    sequence: int
    problem: str


class ChainVerifier:
    """Checks entries in sequence order and reports the first break.

    Each entry must carry the next sequence number, the chain's tenant, a hash that matches its
    fields, and the previous entry's hash.
    """

    def __init__(self, tenant_id: str, from_sequence: int, previous_hash: str) -> None:
        self.tenant_id = tenant_id
        self.expected_sequence = from_sequence
        self.previous_hash = previous_hash
        self.checked = 0

    def check(self, entry: AuditEntry | MalformedEntry) -> ChainBreak | None:
        if entry.sequence != self.expected_sequence:
            return ChainBreak(
                sequence=self.expected_sequence,
                reason="gap",
                detail=f"entry {self.expected_sequence} is missing; the next stored entry is {entry.sequence}",
            )
        if isinstance(entry, MalformedEntry):
            return ChainBreak(
                sequence=entry.sequence, reason="hash mismatch", detail=f"the stored entry is malformed: {entry.problem}"
            )
        if entry.tenant_id != self.tenant_id:
            return ChainBreak(
                sequence=entry.sequence,
                reason="hash mismatch",
                detail=f"the entry names tenant {entry.tenant_id!r}, not the chain's tenant",
            )
        recomputed = entry_hash(entry)
        if recomputed != entry.hash:
            return ChainBreak(
                sequence=entry.sequence,
                reason="hash mismatch",
                detail=f"the stored hash is {entry.hash}, the fields hash to {recomputed}",
            )
        if entry.previous_hash != self.previous_hash:
            return ChainBreak(
                sequence=entry.sequence,
                reason="previous hash mismatch",
                detail=f"previous_hash is {entry.previous_hash}, entry {entry.sequence - 1} has hash {self.previous_hash}",
            )
        self.previous_hash = entry.hash
        self.expected_sequence += 1
        self.checked += 1
        return None

    def finish(self, through_sequence: int, head: ChainHead) -> ChainBreak | None:
        """Check that no entry up to `through_sequence` is missing, and at the head, that the
        last entry's hash is the one the head records."""
        if self.expected_sequence <= through_sequence:
            return ChainBreak(
                sequence=self.expected_sequence,
                reason="gap",
                detail=f"entries {self.expected_sequence} to {through_sequence} are missing",
            )
        if through_sequence == head.sequence and head.sequence > 0 and self.previous_hash != head.hash:
            return ChainBreak(
                sequence=head.sequence,
                reason="hash mismatch",
                detail=f"the chain head records hash {head.hash}, the last entry has {self.previous_hash}",
            )
        return None


# Records of domain events.


def records_for_events(events: Iterable[EventDetail]) -> list[AuditRecord]:
    """Turn domain events into audit records, one each, in order.

    Raises ValueError for an event without an actor or of a type with no mapping below, so a new
    kind of state change cannot be written without its audit record.
    """
    return [record_for_event(event) for event in events]


def record_for_event(event: EventDetail) -> AuditRecord:
    describe = _DESCRIBERS.get(type(event))
    if describe is None:
        raise ValueError(f"no audit record is defined for {type(event).__name__}: add one to functions/domain/audit.py")
    if event.actor is None:
        raise ValueError(f"{type(event).__name__} {event.event_id} has no actor. Every state change needs one for the audit log")
    action, resource_type, resource_id, changes = describe(event)
    return AuditRecord(
        tenant_id=event.tenant_id,
        timestamp=audit_timestamp(event.occurred_at),
        actor=event.actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        changes=changes,
        event_id=event.event_id,
    )


Description = tuple[str, str, str, dict[str, AuditChange]]


def _created(event: TicketCreated) -> Description:
    values = {
        "channel": event.channel.value,
        "status": event.status.value,
        "priority": event.priority.value,
        "queue": event.queue,
        "category": event.category,
    }
    # The routing decision made when opening is part of the created record, so a new ticket
    # has one entry whether or not an agent took it.
    if event.routing_reason_codes is not None:
        values["assignee_id"] = event.assignee_id
        values["routing_reason_codes"] = ",".join(event.routing_reason_codes)
    return "ticket.created", "ticket", event.ticket_id, {name: AuditChange(new=value) for name, value in values.items()}


def _updated(event: TicketUpdated) -> Description:
    changes = {name: AuditChange(old=change.old, new=change.new) for name, change in event.changes.items()}
    return "ticket.updated", "ticket", event.ticket_id, changes


def _status_changed(event: TicketStatusChanged) -> Description:
    change = AuditChange(old=event.from_status.value, new=event.to_status.value)
    return "ticket.status_changed", "ticket", event.ticket_id, {"status": change}


def _escalated(event: TicketEscalated) -> Description:
    # The event carries the new values only, so old stays null.
    changes = {
        "escalation_reasons": AuditChange(new=",".join(event.reasons)),
        "priority": AuditChange(new=event.priority.value),
        "queue": AuditChange(new=event.queue),
    }
    if event.negative_score is not None:
        changes["negative_score"] = AuditChange(new=f"{event.negative_score:.4f}")
    return "ticket.escalated", "ticket", event.ticket_id, changes


def _message_added(event: MessageReceived) -> Description:
    # Ids and labels only: the body stays out of the log.
    changes = {
        "message_id": AuditChange(new=event.message_id),
        "channel": AuditChange(new=event.channel.value),
        "author_type": AuditChange(new=event.author_type.value),
    }
    return "message.added", "ticket", event.ticket_id, changes


def _routed(event: TicketRouted) -> Description:
    changes = {
        "assignee_id": AuditChange(old=event.previous_agent_id, new=event.agent_id),
        "routing_reason_codes": AuditChange(new=",".join(event.reason_codes)),
        "queue": AuditChange(new=event.queue),
    }
    if event.score is not None:
        changes["routing_score"] = AuditChange(new=f"{event.score:.2f}")
    return "ticket.routed", "ticket", event.ticket_id, changes


def _breach_predicted(event: SlaBreachPredicted) -> Description:
    changes = {
        "sla_target": AuditChange(new=event.target),
        "sla_due_at": AuditChange(new=audit_timestamp(event.due_at)),
        "breach_risk": AuditChange(new=f"{event.risk:.4f}"),
        "predicted_by": AuditChange(new=event.predicted_by),
    }
    return "ticket.sla_breach_predicted", "ticket", event.ticket_id, changes


_DESCRIBERS: dict[type[EventDetail], Callable[[Any], Description]] = {
    TicketCreated: _created,
    TicketUpdated: _updated,
    TicketStatusChanged: _status_changed,
    TicketEscalated: _escalated,
    MessageReceived: _message_added,
    TicketRouted: _routed,
    SlaBreachPredicted: _breach_predicted,
}


# Use cases.


class AuditLog(Protocol):
    """Storage of the tenants' chains; DynamoAuditLog implements it."""

    def append(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Append records of one tenant as the next entries of its chain, atomically."""

    def read_head(self, tenant_id: str) -> ChainHead: ...

    def get_entry(self, tenant_id: str, sequence: int) -> AuditEntry | MalformedEntry | None: ...

    def entry_pages(self, tenant_id: str, first: int, last: int) -> Iterable[list[AuditEntry | MalformedEntry]]:
        """Yield the stored entries with sequence first to last, ascending, one page at a time."""

    def list_entries(self, tenant_id: str, resource_id: str | None, limit: int, cursor: str | None) -> AuditPage: ...


class AnchorStore(Protocol):
    """Copies of chain heads outside the audit table; S3AnchorStore implements it."""

    def latest(self, tenant_id: str) -> ChainAnchor | None:
        """Return the tenant's latest anchor, or None when none was written."""

    def write(self, anchor: ChainAnchor) -> None:
        """Store a new anchor as the tenant's latest, keeping the earlier ones."""


def anchor_break(log: AuditLog, anchor: ChainAnchor | None, head: ChainHead) -> ChainBreak | None:
    """Check that the chain still contains the anchored entry with the anchored hash.

    A chain rewritten as a whole, head included, verifies on its own. Only the anchor, which
    the service's roles cannot change, shows that entry `anchor.sequence` is not the one that
    was there at `anchor.anchored_at`.
    """
    if anchor is None:
        return None
    rewritten = f"the chain was truncated or rewritten after {anchor.anchored_at}"
    if head.sequence < anchor.sequence:
        return ChainBreak(
            sequence=anchor.sequence,
            reason="anchor mismatch",
            detail=f"the chain ends at entry {head.sequence}, but entry {anchor.sequence} was anchored: {rewritten}",
        )
    entry = log.get_entry(anchor.tenant_id, anchor.sequence)
    stored_hash = entry.hash if isinstance(entry, AuditEntry) else None
    if stored_hash != anchor.hash:
        found = "is missing or malformed" if stored_hash is None else f"has hash {stored_hash}"
        return ChainBreak(
            sequence=anchor.sequence,
            reason="anchor mismatch",
            detail=f"entry {anchor.sequence} {found}, but was anchored with hash {anchor.hash}: {rewritten}",
        )
    return None


class AuditService:
    """Reading and verifying a tenant's audit log, for supervisors and administrators."""

    def __init__(
        self,
        log: AuditLog,
        default_entries: int,
        max_entries: int,
        time_budget_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        anchors: AnchorStore | None = None,
    ) -> None:
        self._log = log
        self._anchors = anchors
        self._default_entries = default_entries
        self._max_entries = max_entries
        self._time_budget = time_budget_seconds
        self._monotonic = monotonic

    def list_entries(self, caller: Caller, resource_id: str | None, limit: int, cursor: str | None) -> AuditPage:
        _require_reader(caller)
        return self._log.list_entries(caller.tenant_id, resource_id, limit, cursor)

    def verify(
        self, caller: Caller, from_sequence: int | None = None, limit: int | None = None, cursor: str | None = None
    ) -> VerificationReport:
        """Verify the chain from `from_sequence` (or the cursor's position, or 1) on, up to `limit`
        entries or the time budget, whichever ends first."""
        _require_reader(caller)
        start = self._start(from_sequence, cursor)
        limit = self._limit(limit)
        tenant_id = caller.tenant_id
        deadline = self._monotonic() + self._time_budget

        head = self._log.read_head(tenant_id)
        latest_anchor = self._anchors.latest(tenant_id) if self._anchors is not None else None
        if start > head.sequence + 1:
            raise InvalidInputError(
                f"from_sequence {start} is past the end of the chain, whose last entry is {head.sequence}: "
                f"start at {head.sequence + 1} or lower",
                problem_ko=f"from_sequence {start}은(는) 마지막 항목 {head.sequence}을(를) 지났습니다. {head.sequence + 1} 이하에서 시작하세요.",
                field="from_sequence",
            )
        last = min(head.sequence, start + limit - 1)

        previous_hash = GENESIS_HASH
        if start > 1:
            # A range starts from the stored hash of the entry before it, which an earlier call verified.
            anchor = self._log.get_entry(tenant_id, start - 1)
            if anchor is None or isinstance(anchor, MalformedEntry):
                reason = "gap" if anchor is None else "hash mismatch"
                detail = "is missing" if anchor is None else f"is malformed: {anchor.problem}"
                broken = ChainBreak(sequence=start - 1, reason=reason, detail=f"entry {start - 1}, before from_sequence, {detail}")
                return VerificationReport(
                    intact=False,
                    entries=0,
                    from_sequence=start,
                    through_sequence=start - 1,
                    head=head,
                    first_broken=broken,
                    anchor=latest_anchor,
                )
            previous_hash = anchor.hash

        verifier = ChainVerifier(tenant_id, start, previous_hash)
        through = last
        for page in self._log.entry_pages(tenant_id, start, last) if start <= last else ():
            for entry in page:
                broken = verifier.check(entry)
                if broken is not None:
                    return self._report(verifier, start, head, broken, latest_anchor)
            if self._monotonic() > deadline and verifier.expected_sequence <= last:
                through = verifier.expected_sequence - 1
                break

        broken = verifier.finish(through, head) or anchor_break(self._log, latest_anchor, head)
        if broken is not None:
            return self._report(verifier, start, head, broken, latest_anchor)
        next_cursor = encode_verify_cursor(through + 1) if through < head.sequence else None
        return VerificationReport(
            intact=True,
            entries=verifier.checked,
            from_sequence=start,
            through_sequence=through,
            head=head,
            next_cursor=next_cursor,
            anchor=latest_anchor,
        )

    def _report(
        self, verifier: ChainVerifier, start: int, head: ChainHead, broken: ChainBreak, anchor: ChainAnchor | None
    ) -> VerificationReport:
        return VerificationReport(
            intact=False,
            entries=verifier.checked,
            from_sequence=start,
            through_sequence=verifier.expected_sequence - 1,
            head=head,
            first_broken=broken,
            anchor=anchor,
        )

    def _start(self, from_sequence: int | None, cursor: str | None) -> int:
        if cursor is not None and from_sequence is not None:
            raise InvalidInputError(
                "from_sequence and cursor were both sent: send only one of them",
                problem_ko="from_sequence와 cursor를 함께 보냈습니다. 하나만 보내 주세요.",
                field="from_sequence",
            )
        if cursor is not None:
            return decode_verify_cursor(cursor)
        if from_sequence is None:
            return 1
        if from_sequence < 1:
            raise InvalidInputError(
                "from_sequence must be 1 or more", problem_ko="from_sequence는 1 이상이어야 합니다.", field="from_sequence"
            )
        return from_sequence

    def _limit(self, limit: int | None) -> int:
        if limit is None:
            return self._default_entries
        if not 1 <= limit <= self._max_entries:
            raise InvalidInputError(
                f"limit must be a whole number from 1 to {self._max_entries}",
                problem_ko=f"limit는 1에서 {self._max_entries} 사이의 정수여야 합니다.",
                field="limit",
            )
        return limit


def _require_reader(caller: Caller) -> None:
    if caller.role not in AUDIT_READER_ROLES:
        allowed = " or ".join(sorted(role.value for role in AUDIT_READER_ROLES))
        raise ForbiddenError(
            f"role {caller.role.value} may not read the audit log",
            reason="audit_reader_only",
            problem=f"the audit log is open to the {allowed} roles of the tenant.",
        )


def encode_verify_cursor(next_sequence: int) -> str:
    payload = json.dumps({"s": _VERIFY_CURSOR_SCOPE, "n": next_sequence}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_verify_cursor(cursor: str) -> int:
    """Return the sequence a verification cursor continues from; InvalidInputError when it is not one."""
    invalid = InvalidInputError(
        "the cursor is not a verification cursor: send next_cursor unchanged or use from_sequence",
        problem_ko="검증용 커서가 아닙니다. next_cursor를 그대로 보내거나 from_sequence를 쓰세요.",
        field="cursor",
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        sequence = payload["n"]
        if payload["s"] != _VERIFY_CURSOR_SCOPE or not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
            raise invalid
        return sequence
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise invalid from error
