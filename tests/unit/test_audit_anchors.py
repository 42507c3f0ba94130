"""Anchoring rules without AWS: the anchor check of verification and the anchoring job."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.domain.audit import AuditService, anchor_break, chain_records, entry_hash
from functions.domain.audit_anchors import AnchorJob
from functions.models.audit import GENESIS_HASH, ChainAnchor, ChainHead
from functions.models.events import Actor
from tests.unit.test_audit_chain import SUPERVISOR_CALLER, MemoryAuditLog, chain_of, record

MOMENT = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


class MemoryAnchors:
    """The AnchorStore port over a list of versions per tenant."""

    def __init__(self) -> None:
        self.versions: dict[str, list[ChainAnchor]] = {}

    def latest(self, tenant_id: str) -> ChainAnchor | None:
        versions = self.versions.get(tenant_id)
        return versions[-1] if versions else None

    def write(self, anchor: ChainAnchor) -> None:
        self.versions.setdefault(anchor.tenant_id, []).append(anchor)


class Directory:
    def __init__(self, *tenants: str) -> None:
        self.tenants = tenants

    def chain_tenants(self) -> list[str]:
        return list(self.tenants)


def anchor_at(log: MemoryAuditLog, sequence: int) -> ChainAnchor:
    return ChainAnchor(
        tenant_id="acme", sequence=sequence, hash=log.entries[sequence].hash, anchored_at="2025-03-04T05:06:07.000000Z"
    )


def forged_chain(count: int) -> MemoryAuditLog:
    """A chain of `count` entries, rewritten from entry 1 with another actor and rehashed."""
    intruder = Actor(user_id="intruder", role="admin")
    records = [record(number).model_copy(update={"actor": intruder}) for number in range(1, count + 1)]
    return MemoryAuditLog(chain_records(ChainHead(sequence=0, hash=GENESIS_HASH), records))


def job(log: MemoryAuditLog, anchors: MemoryAnchors, max_entries: int = 100) -> AnchorJob:
    return AnchorJob(log, Directory("acme"), anchors, max_entries_per_tenant=max_entries, clock=lambda: MOMENT)


# Verification against an anchor.


def test_anchor_break_none_for_matching_chain() -> None:
    log = MemoryAuditLog(chain_of(5))

    assert anchor_break(log, anchor_at(log, 3), log.read_head("acme")) is None
    assert anchor_break(log, None, log.read_head("acme")) is None


def test_anchor_break_names_rewritten_entry() -> None:
    original = MemoryAuditLog(chain_of(5))
    anchor = anchor_at(original, 3)
    forged = forged_chain(5)

    broken = anchor_break(forged, anchor, forged.read_head("acme"))

    assert broken is not None
    assert broken.sequence == 3
    assert broken.reason == "anchor mismatch"
    assert anchor.hash in broken.detail
    assert forged.entries[3].hash in broken.detail


def test_anchor_break_names_truncation() -> None:
    original = MemoryAuditLog(chain_of(5))
    truncated = MemoryAuditLog(chain_of(2))

    broken = anchor_break(truncated, anchor_at(original, 4), truncated.read_head("acme"))

    assert broken is not None
    assert broken.sequence == 4
    assert "ends at entry 2" in broken.detail


def test_verify_reports_anchor_mismatch_of_consistent_chain() -> None:
    anchors = MemoryAnchors()
    anchors.write(anchor_at(MemoryAuditLog(chain_of(6)), 4))
    forged = forged_chain(6)
    service = AuditService(forged, default_entries=10, max_entries=10, time_budget_seconds=5.0, anchors=anchors)

    report = service.verify(SUPERVISOR_CALLER)

    assert report.intact is False
    assert report.entries == 6
    assert report.first_broken is not None
    assert report.first_broken.reason == "anchor mismatch"
    assert report.first_broken.sequence == 4
    assert report.anchor == anchors.latest("acme")


def test_verify_with_matching_anchor_is_intact() -> None:
    log = MemoryAuditLog(chain_of(6))
    anchors = MemoryAnchors()
    anchors.write(anchor_at(log, 6))
    service = AuditService(log, default_entries=10, max_entries=10, time_budget_seconds=5.0, anchors=anchors)

    report = service.verify(SUPERVISOR_CALLER)

    assert report.intact is True
    assert report.anchor is not None
    assert report.anchor.sequence == 6


# The anchoring job.


def test_job_anchors_new_chain_at_head() -> None:
    log = MemoryAuditLog(chain_of(3))
    anchors = MemoryAnchors()

    run = job(log, anchors).run()

    assert run.as_dict() == {"anchored": 1, "unchanged": 0, "mismatched": 0, "failed": 0}
    [anchor] = anchors.versions["acme"]
    assert (anchor.sequence, anchor.hash) == (3, log.entries[3].hash)
    assert anchor.anchored_at == "2025-03-04T05:06:07.000000Z"


def test_job_skips_unchanged_and_empty_chains() -> None:
    log = MemoryAuditLog(chain_of(3))
    anchors = MemoryAnchors()
    job(log, anchors).run()

    again = job(log, anchors).run()
    empty = AnchorJob(MemoryAuditLog([]), Directory("acme"), MemoryAnchors()).run()

    assert again.unchanged == 1
    assert len(anchors.versions["acme"]) == 1
    assert empty.unchanged == 1


def test_job_refuses_rewritten_chain() -> None:
    anchors = MemoryAnchors()
    job(MemoryAuditLog(chain_of(3)), anchors).run()
    forged = forged_chain(5)

    run = job(forged, anchors).run()

    assert run.mismatched == ["acme"]
    assert len(anchors.versions["acme"]) == 1


def test_job_refuses_changed_entry_after_anchor() -> None:
    entries = chain_of(5)
    anchors = MemoryAnchors()
    job(MemoryAuditLog(entries[:2]), anchors).run()
    changed = entries[3].model_copy(update={"action": "ticket.deleted"})
    log = MemoryAuditLog([*entries[:3], changed, entries[4]])

    run = job(log, anchors).run()

    assert run.mismatched == ["acme"]
    assert anchors.latest("acme").sequence == 2
    assert entry_hash(changed) != changed.hash


def test_job_anchors_long_tail_in_steps() -> None:
    log = MemoryAuditLog(chain_of(7))
    anchors = MemoryAnchors()

    job(log, anchors, max_entries=3).run()
    job(log, anchors, max_entries=3).run()
    job(log, anchors, max_entries=3).run()

    assert [anchor.sequence for anchor in anchors.versions["acme"]] == [3, 6, 7]
    assert [anchor.hash for anchor in anchors.versions["acme"]] == [log.entries[number].hash for number in (3, 6, 7)]


def test_job_counts_store_failure_and_continues() -> None:
    from functions.domain.errors import DependencyError

    class FailingAnchors(MemoryAnchors):
        def latest(self, tenant_id: str) -> ChainAnchor | None:
            if tenant_id == "broken":
                raise DependencyError("S3 get_object of the audit anchor failed: SlowDown")
            return super().latest(tenant_id)

    anchors = FailingAnchors()
    log = MemoryAuditLog(chain_of(2))

    run = AnchorJob(log, Directory("broken", "acme"), anchors, clock=lambda: MOMENT).run()

    assert run.failed == 1
    assert run.anchored == 1
    assert anchors.latest("acme").sequence == 2
