"""Anchoring: copy each tenant's audit chain head to storage outside the audit table.

Someone who can write the whole audit table can rewrite every entry and the head into a
consistent chain. The anchor store (an S3 bucket with versioning and Object Lock) keeps every
head it was given for the retention period, so GET /audit/verify can show that the anchored
entry is no longer there.

The job moves a tenant's anchor forward only when the chain from the last anchored entry to
the current head verifies. A rewrite is therefore never anchored: it stays reported until
someone restores the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from functions.domain.audit import AnchorStore, AuditLog, ChainVerifier, anchor_break, audit_timestamp
from functions.domain.errors import DependencyError
from functions.models.audit import GENESIS_HASH, ChainAnchor, ChainBreak, ChainHead

logger = logging.getLogger(f"servicedesk.{__name__}")


class ChainDirectory(Protocol):
    def chain_tenants(self) -> Iterable[str]:
        """Yield the id of every tenant that has an audit chain."""


@dataclass
class AnchorRun:
    """Counts of one anchoring run, and the tenants whose chain disagrees with its anchor."""

    anchored: int = 0
    unchanged: int = 0
    failed: int = 0
    mismatched: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "anchored": self.anchored,
            "unchanged": self.unchanged,
            "mismatched": len(self.mismatched),
            "failed": self.failed,
        }


class AnchorJob:
    """Writes a new anchor for every tenant whose chain grew since its last anchor."""

    def __init__(
        self,
        log: AuditLog,
        directory: ChainDirectory,
        store: AnchorStore,
        max_entries_per_tenant: int = 5000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log
        self._directory = directory
        self._store = store
        self._max_entries = max_entries_per_tenant
        self._clock = clock

    def run(self) -> AnchorRun:
        run = AnchorRun()
        for tenant_id in self._directory.chain_tenants():
            try:
                self._anchor_tenant(tenant_id, run)
            except DependencyError as error:
                # One tenant's failure must not stop the others; the next run tries again.
                run.failed += 1
                logger.warning("audit anchor not written", extra={"tenant_id": tenant_id, "error": error.message})
        return run

    def _anchor_tenant(self, tenant_id: str, run: AnchorRun) -> None:
        head = self._log.read_head(tenant_id)
        if head.sequence == 0:
            run.unchanged += 1
            return
        latest = self._store.latest(tenant_id)
        if latest is not None and (latest.sequence, latest.hash) == (head.sequence, head.hash):
            run.unchanged += 1
            return

        broken = anchor_break(self._log, latest, head)
        if broken is None:
            broken, verifier = self._verify_since(tenant_id, latest, head)
        if broken is not None:
            run.mismatched.append(tenant_id)
            logger.error(
                "audit chain disagrees with its anchor; not anchored",
                extra={"tenant_id": tenant_id, "sequence": broken.sequence, "reason": broken.reason},
            )
            return

        # The last verified entry, which is the head unless the run stopped at max_entries.
        sequence, entry_hash = verifier.expected_sequence - 1, verifier.previous_hash
        self._store.write(
            ChainAnchor(tenant_id=tenant_id, sequence=sequence, hash=entry_hash, anchored_at=audit_timestamp(self._clock()))
        )
        run.anchored += 1
        logger.info("audit chain anchored", extra={"tenant_id": tenant_id, "sequence": sequence})

    def _verify_since(
        self, tenant_id: str, latest: ChainAnchor | None, head: ChainHead
    ) -> tuple[ChainBreak | None, ChainVerifier]:
        """Verify the entries after the last anchored one, up to the head or max_entries of them."""
        start = 1 if latest is None else latest.sequence + 1
        last = min(head.sequence, start + self._max_entries - 1)
        verifier = ChainVerifier(tenant_id, start, GENESIS_HASH if latest is None else latest.hash)
        for page in self._log.entry_pages(tenant_id, start, last) if start <= last else ():
            for entry in page:
                broken = verifier.check(entry)
                if broken is not None:
                    return broken, verifier
        return verifier.finish(last, head), verifier
