"""Scheduled job that copies every tenant's audit chain head to the anchor bucket."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from functions import wiring
from functions.observability import count, logger
from functions.resources import AUDIT_ANCHOR_SCHEDULE_MINUTES

blueprint = Blueprint(__name__)


@blueprint.schedule(Rate(AUDIT_ANCHOR_SCHEDULE_MINUTES, unit=Rate.MINUTES))
def anchor_audit_chains(event: Any) -> dict[str, int]:
    """Anchor each chain that grew, and count the chains that disagree with their anchor for an alarm."""
    job = wiring.anchor_job()
    if job is None:
        logger.warning("audit anchoring is off: set AUDIT_ANCHOR_BUCKET to the name of the anchor bucket")
        return {"anchored": 0, "unchanged": 0, "mismatched": 0, "failed": 0}

    result = job.run().as_dict()

    count("AuditChainsAnchored", result["anchored"])
    count("AuditAnchorMismatches", result["mismatched"])
    count("AuditAnchorFailures", result["failed"])
    return result
