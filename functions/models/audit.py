"""Audit log records, chained entries, the chain head and the API's audit responses.

docs/audit.md defines the canonical form that an entry's hash covers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from functions.models.events import Actor

# The previous hash of entry 1: 64 zeros, the hex form of a 32-byte zero SHA-256 value.
GENESIS_HASH = "0" * 64
# Version of the entry layout that the hash covers. A change of fields or canonical form needs a new one.
ENTRY_SCHEMA_VERSION = 1

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class AuditChange(BaseModel):
    """Old and new value of one changed field, as text. Old is null when it was empty or not recorded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    old: str | None = None
    new: str | None = None


class AuditRecord(BaseModel):
    """One state change to append: who did what to which resource, and which fields changed.

    Changes hold field names and old and new values only, never message bodies or personal data.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: str = Field(min_length=1, max_length=128)
    timestamp: str = Field(description="Time of the change, UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.")
    actor: Actor
    action: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
    resource_type: str = Field(min_length=1, max_length=64)
    resource_id: str = Field(min_length=1, max_length=256)
    changes: dict[str, AuditChange] = Field(default_factory=dict)
    event_id: str | None = Field(default=None, description="Id of the domain event behind the change, if any.")


class AuditEntry(AuditRecord):
    """A record placed in its tenant's chain: its sequence number and the hashes that link it."""

    schema_version: int = ENTRY_SCHEMA_VERSION
    sequence: int = Field(ge=1)
    previous_hash: Sha256Hex
    hash: Sha256Hex


class ChainHead(BaseModel):
    """Sequence and hash of the last entry of a tenant's chain, or 0 and the genesis hash for an empty chain."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=0)
    hash: Sha256Hex
    updated_at: str | None = None


class ChainAnchor(BaseModel):
    """A chain head copied to storage outside the audit table (an S3 bucket with Object Lock).

    A later chain must still hold entry `sequence` with this `hash`; if it does not, the table
    was rewritten after `anchored_at`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1
    tenant_id: str = Field(min_length=1, max_length=128)
    sequence: int = Field(ge=1)
    hash: Sha256Hex
    anchored_at: str = Field(description="Time the anchor was written, UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.")


BreakReason = Literal["hash mismatch", "previous hash mismatch", "gap", "anchor mismatch"]


class ChainBreak(BaseModel):
    """The first entry at which verification failed, and why."""

    sequence: int
    reason: BreakReason
    detail: str


class VerificationReport(BaseModel):
    """Result of GET /audit/verify over one range of a tenant's chain.

    `entries` counts the entries checked in this call. While `next_cursor` is set, the range
    ended before the head and the next call continues from there.
    """

    intact: bool
    entries: int = Field(ge=0)
    from_sequence: int = Field(ge=1)
    through_sequence: int = Field(ge=0, description="Last sequence checked, or from_sequence - 1 when none was.")
    head: ChainHead
    first_broken: ChainBreak | None = None
    next_cursor: str | None = None
    anchor: ChainAnchor | None = Field(
        default=None, description="The latest anchor of the chain outside the audit table, null when none was written yet."
    )


class AuditPage(BaseModel):
    """One page of audit entries, newest first."""

    items: list[AuditEntry]
    next_cursor: str | None = None
