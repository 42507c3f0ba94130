"""The audit chain without I/O: canonical form and hash against a fixed vector, chaining,
verification of tampered chains, the records of domain events, and the audit use cases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from functions.domain.audit import (
    AuditService,
    ChainVerifier,
    MalformedEntry,
    canonical_json,
    chain_records,
    decode_verify_cursor,
    encode_verify_cursor,
    entry_hash,
    hashed_fields,
    record_for_event,
    records_for_events,
)
from functions.domain.errors import ForbiddenError, InvalidInputError
from functions.models.audit import GENESIS_HASH, AuditChange, AuditEntry, AuditPage, AuditRecord, ChainHead
from functions.models.caller import Caller, Role
from functions.models.events import (
    EVENT_TYPES,
    Actor,
    EventDetail,
    FieldChange,
    MessageReceived,
    SlaBreachPredicted,
    TicketCreated,
    TicketEscalated,
    TicketRouted,
    TicketStatusChanged,
    TicketUpdated,
)

# The vector of docs/audit.md; an offline verifier must produce the same bytes and hash.
VECTOR_CANONICAL = (
    '{"action":"ticket.updated","actor":{"role":"supervisor","user_id":"supervisor-kim"},'
    '"changes":{"assignee_id":{"new":"agent-park","old":null},"queue":{"new":"하드웨어","old":"general"}},'
    '"event_id":"01JNF7YDH8GR6NT5ECPM4D48SR",'
    '"previous_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"resource_id":"01JNF7YDH8GR6NT5ECPM4D48SQ","resource_type":"ticket","schema_version":1,"sequence":1,'
    '"tenant_id":"acme","timestamp":"2025-03-04T05:06:07.000008Z"}'
).encode("utf-8")
VECTOR_HASH = "146bf1726ff3b54e283c9cf25b7a02d296dd1b8cd3684e0699b98149a063740a"
SUPERVISOR = Actor(user_id="supervisor-kim", role=Role.SUPERVISOR)
OCCURRED_AT = datetime(2025, 3, 4, 5, 6, 7, 8, tzinfo=UTC)


def vector_entry() -> AuditEntry:
    return AuditEntry(
        tenant_id="acme",
        timestamp="2025-03-04T05:06:07.000008Z",
        actor=SUPERVISOR,
        action="ticket.updated",
        resource_type="ticket",
        resource_id="01JNF7YDH8GR6NT5ECPM4D48SQ",
        changes={
            "queue": AuditChange(old="general", new="하드웨어"),
            "assignee_id": AuditChange(old=None, new="agent-park"),
        },
        event_id="01JNF7YDH8GR6NT5ECPM4D48SR",
        sequence=1,
        previous_hash=GENESIS_HASH,
        hash=VECTOR_HASH,
    )


def record(number: int, tenant_id: str = "acme") -> AuditRecord:
    return AuditRecord(
        tenant_id=tenant_id,
        timestamp=f"2025-03-04T05:06:{number % 60:02d}.000000Z",
        actor=SUPERVISOR,
        action="ticket.updated",
        resource_type="ticket",
        resource_id=f"ticket-{number}",
        changes={"priority": AuditChange(old="medium", new="high")},
        event_id=f"event-{number}",
    )


def chain_of(count: int) -> list[AuditEntry]:
    return chain_records(ChainHead(sequence=0, hash=GENESIS_HASH), [record(number) for number in range(1, count + 1)])


def first_break(entries: Iterable[AuditEntry | MalformedEntry], head: ChainHead) -> object:
    verifier = ChainVerifier("acme", 1, GENESIS_HASH)
    for entry in entries:
        broken = verifier.check(entry)
        if broken is not None:
            return broken
    return verifier.finish(head.sequence, head)


def head_of(entries: list[AuditEntry]) -> ChainHead:
    return ChainHead(sequence=entries[-1].sequence, hash=entries[-1].hash)


# Canonical form and hash.


def test_canonical_json_matches_vector() -> None:
    assert canonical_json(hashed_fields(vector_entry())) == VECTOR_CANONICAL


def test_entry_hash_matches_vector() -> None:
    assert entry_hash(vector_entry()) == VECTOR_HASH
    assert hashlib.sha256(VECTOR_CANONICAL).hexdigest() == VECTOR_HASH


def test_canonical_json_equals_sorted_compact_dump() -> None:
    fields = hashed_fields(vector_entry())

    plain = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    assert canonical_json(fields) == plain


def test_canonical_json_keeps_hangul_and_escapes_controls() -> None:
    encoded = canonical_json({"b": "줄\n바꿈\u0001", "a": None})

    assert encoded == '{"a":null,"b":"줄\\n바꿈\\u0001"}'.encode("utf-8")


def test_hash_covers_every_field() -> None:
    entry = vector_entry()
    variations = {
        "tenant_id": "other",
        "timestamp": "2025-03-04T05:06:07.000009Z",
        "actor": Actor(user_id="supervisor-kim", role=Role.ADMIN),
        "action": "ticket.created",
        "resource_type": "message",
        "resource_id": "01JNF7YDH8GR6NT5ECPM4D48SZ",
        "changes": {"queue": AuditChange(old="general", new="하드웨어")},
        "event_id": None,
        "sequence": 2,
        "previous_hash": "1" * 64,
        "schema_version": 2,
    }

    for field, value in variations.items():
        assert entry_hash(entry.model_copy(update={field: value})) != VECTOR_HASH, field


def test_hash_ignores_stored_hash_and_key_order() -> None:
    entry = vector_entry()
    reordered = entry.model_copy(update={"changes": dict(reversed(list(entry.changes.items()))), "hash": "f" * 64})

    assert entry_hash(reordered) == VECTOR_HASH


# Chaining.


def test_chain_records_links_from_genesis() -> None:
    entries = chain_of(3)

    assert [entry.sequence for entry in entries] == [1, 2, 3]
    assert entries[0].previous_hash == GENESIS_HASH
    assert entries[1].previous_hash == entries[0].hash
    assert entries[2].previous_hash == entries[1].hash
    assert all(entry_hash(entry) == entry.hash for entry in entries)


def test_chain_records_continues_after_head() -> None:
    head = ChainHead(sequence=41, hash="a" * 64)

    entries = chain_records(head, [record(1), record(2)])

    assert [entry.sequence for entry in entries] == [42, 43]
    assert entries[0].previous_hash == "a" * 64


# Verification.


def test_verifier_accepts_intact_chain() -> None:
    entries = chain_of(5)

    assert first_break(entries, head_of(entries)) is None


def test_verifier_names_changed_field() -> None:
    entries = chain_of(5)
    entries[2] = entries[2].model_copy(update={"changes": {"priority": AuditChange(old="medium", new="low")}})

    broken = first_break(entries, head_of(entries))

    assert broken.sequence == 3
    assert broken.reason == "hash mismatch"


def test_verifier_names_rehashed_rewrite() -> None:
    entries = chain_of(5)
    rewritten = entries[2].model_copy(update={"action": "ticket.created"})
    entries[2] = rewritten.model_copy(update={"hash": entry_hash(rewritten)})

    broken = first_break(entries, head_of(chain_of(5)))

    assert broken.sequence == 4
    assert broken.reason == "previous hash mismatch"


def test_verifier_names_missing_entry() -> None:
    entries = chain_of(5)
    del entries[1]

    broken = first_break(entries, head_of(chain_of(5)))

    assert broken.sequence == 2
    assert broken.reason == "gap"


def test_verifier_names_missing_tail() -> None:
    entries = chain_of(5)

    broken = first_break(entries[:3], head_of(entries))

    assert broken.sequence == 4
    assert broken.reason == "gap"


def test_verifier_compares_last_entry_with_head() -> None:
    entries = chain_of(3)
    rewritten = entries[2].model_copy(update={"resource_id": "ticket-x"})
    entries[2] = rewritten.model_copy(update={"hash": entry_hash(rewritten)})

    broken = first_break(entries, head_of(chain_of(3)))

    assert broken.sequence == 3
    assert broken.reason == "hash mismatch"
    assert "chain head" in broken.detail


def test_verifier_rejects_entry_of_other_tenant() -> None:
    foreign = chain_records(ChainHead(sequence=0, hash=GENESIS_HASH), [record(1, tenant_id="other")])

    broken = first_break(foreign, head_of(foreign))

    assert broken.sequence == 1
    assert broken.reason == "hash mismatch"


def test_verifier_reports_malformed_entry() -> None:
    entries: list[AuditEntry | MalformedEntry] = list(chain_of(3))
    entries[1] = MalformedEntry(sequence=2, problem="hash: string does not match pattern")

    broken = first_break(entries, ChainHead(sequence=3, hash="b" * 64))

    assert broken.sequence == 2
    assert broken.reason == "hash mismatch"


# Records of domain events.


def event(event_type: type[EventDetail], **fields: object) -> EventDetail:
    return event_type.build(
        event_id="event-1",
        occurred_at=OCCURRED_AT,
        tenant_id="acme",
        ticket_id="ticket-1",
        actor=SUPERVISOR,
        **fields,
    )


EXAMPLE_EVENTS: dict[type[EventDetail], dict[str, object]] = {
    TicketCreated: {
        "customer_id": "customer-1",
        "channel": "email",
        "status": "new",
        "priority": "medium",
        "queue": "general",
        "version": 1,
    },
    TicketUpdated: {"changes": {"assignee_id": FieldChange(old=None, new="agent-park")}, "version": 2},
    TicketStatusChanged: {"from_status": "new", "to_status": "assigned", "version": 2},
    TicketEscalated: {"reasons": ["negative_sentiment"], "priority": "high", "queue": "senior", "negative_score": 0.93, "version": 3},
    MessageReceived: {"message_id": "message-1", "channel": "chat", "author_type": "requester", "sentiment": "negative"},
    TicketRouted: {
        "agent_id": "agent-park",
        "queue": "hardware",
        "reason_codes": ["queue_member", "category_skill"],
        "reason": "routed to agent-park",
        "score": 42.5,
        "version": 2,
    },
    SlaBreachPredicted: {
        "target": "resolution",
        "due_at": "2026-03-02T09:00:00+00:00",
        "risk": 1.0,
        "predicted_by": "priority_median",
        "version": 3,
    },
}


def test_every_event_type_has_audit_record() -> None:
    assert set(EXAMPLE_EVENTS) == set(EVENT_TYPES)
    for event_type, fields in EXAMPLE_EVENTS.items():
        audit_record = record_for_event(event(event_type, **fields))

        assert audit_record.tenant_id == "acme", event_type
        assert audit_record.resource_id == "ticket-1", event_type
        assert audit_record.actor == SUPERVISOR, event_type
        assert audit_record.event_id == "event-1", event_type
        assert audit_record.timestamp == "2025-03-04T05:06:07.000008Z", event_type


def test_event_records_name_actions_and_changes() -> None:
    records = records_for_events([event(event_type, **fields) for event_type, fields in EXAMPLE_EVENTS.items()])

    assert [item.action for item in records] == [
        "ticket.created",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.escalated",
        "message.added",
        "ticket.routed",
        "ticket.sla_breach_predicted",
    ]
    assert records[1].changes == {"assignee_id": AuditChange(old=None, new="agent-park")}
    assert records[2].changes == {"status": AuditChange(old="new", new="assigned")}
    assert records[3].changes["negative_score"] == AuditChange(new="0.9300")
    assert set(records[4].changes) == {"message_id", "channel", "author_type"}
    assert records[5].changes["assignee_id"] == AuditChange(old=None, new="agent-park")
    assert records[5].changes["routing_reason_codes"] == AuditChange(new="queue_member,category_skill")
    assert records[6].changes["sla_target"] == AuditChange(new="resolution")


def test_event_without_actor_is_rejected() -> None:
    anonymous = event(TicketStatusChanged, from_status="new", to_status="assigned", version=2).model_copy(
        update={"actor": None}
    )

    with pytest.raises(ValueError, match="no actor"):
        record_for_event(anonymous)


def test_unmapped_event_type_is_rejected() -> None:
    class TicketMerged(EventDetail):
        DETAIL_TYPE = "TicketMerged"

    with pytest.raises(ValueError, match="TicketMerged"):
        record_for_event(TicketMerged.build(event_id="e", occurred_at=OCCURRED_AT, tenant_id="acme", ticket_id="t", actor=SUPERVISOR))


# Use cases, on an in-memory log.


class MemoryAuditLog:
    """The AuditLog port over a dict, for the service's input rules."""

    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = {entry.sequence: entry for entry in entries}
        self.pages_read = 0

    def append(self, records: list[AuditRecord]) -> list[AuditEntry]:
        raise NotImplementedError

    def read_head(self, tenant_id: str) -> ChainHead:
        if not self.entries:
            return ChainHead(sequence=0, hash=GENESIS_HASH)
        last = self.entries[max(self.entries)]
        return ChainHead(sequence=last.sequence, hash=last.hash)

    def get_entry(self, tenant_id: str, sequence: int) -> AuditEntry | None:
        return self.entries.get(sequence)

    def entry_pages(self, tenant_id: str, first: int, last: int) -> Iterable[list[AuditEntry]]:
        selected = [self.entries[number] for number in sorted(self.entries) if first <= number <= last]
        for start in range(0, len(selected), 2):
            self.pages_read += 1
            yield selected[start : start + 2]

    def list_entries(self, tenant_id: str, resource_id: str | None, limit: int, cursor: str | None) -> AuditPage:
        return AuditPage(items=[])


SUPERVISOR_CALLER = Caller(tenant_id="acme", user_id="supervisor-kim", role=Role.SUPERVISOR)


def service(entries: list[AuditEntry], clock: Iterable[float] | None = None) -> AuditService:
    ticks = iter(clock) if clock is not None else None
    return AuditService(
        MemoryAuditLog(entries),
        default_entries=4,
        max_entries=10,
        time_budget_seconds=5.0,
        monotonic=(lambda: next(ticks)) if ticks is not None else (lambda: 0.0),
    )


def test_verify_follows_cursor_to_head() -> None:
    audit = service(chain_of(9))

    first = audit.verify(SUPERVISOR_CALLER)
    second = audit.verify(SUPERVISOR_CALLER, cursor=first.next_cursor)
    third = audit.verify(SUPERVISOR_CALLER, cursor=second.next_cursor)

    assert (first.from_sequence, first.through_sequence, first.entries) == (1, 4, 4)
    assert (second.from_sequence, second.through_sequence) == (5, 8)
    assert (third.through_sequence, third.entries, third.next_cursor) == (9, 1, None)
    assert all(report.intact for report in (first, second, third))


def test_verify_stops_at_time_budget() -> None:
    # Start at 0 s; the first page ends at 6 s, past the 5 s budget.
    audit = service(chain_of(9), clock=[0.0, 6.0])

    report = audit.verify(SUPERVISOR_CALLER, limit=9)

    assert report.intact
    assert report.through_sequence == 2
    assert decode_verify_cursor(report.next_cursor) == 3


def test_verify_empty_chain_is_intact() -> None:
    report = service([]).verify(SUPERVISOR_CALLER)

    assert report.intact
    assert report.entries == 0
    assert report.head.sequence == 0


@pytest.mark.parametrize("role", [Role.AGENT, Role.REQUESTER, Role.PARTNER, Role.SYSTEM])
def test_audit_is_closed_to_other_roles(role: Role) -> None:
    caller = Caller(tenant_id="acme", user_id="someone", role=role)

    with pytest.raises(ForbiddenError):
        service(chain_of(1)).verify(caller)
    with pytest.raises(ForbiddenError):
        service(chain_of(1)).list_entries(caller, None, 10, None)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 11}, "limit"),
        ({"from_sequence": 0}, "from_sequence"),
        ({"from_sequence": 5}, "from_sequence"),
        ({"from_sequence": 2, "cursor": encode_verify_cursor(2)}, "from_sequence"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"cursor": encode_verify_cursor(2).upper()}, "cursor"),
    ],
)
def test_verify_rejects_bad_range(arguments: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        service(chain_of(3)).verify(SUPERVISOR_CALLER, **arguments)

    assert raised.value.details["field"] == field
