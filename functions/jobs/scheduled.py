"""Scheduled jobs: fired by EventBridge schedules when deployed, by the local stack locally."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from functions import wiring
from functions.observability import count
from functions.resources import OUTBOX_RELAY_SCHEDULE_MINUTES

blueprint = Blueprint(__name__)


@blueprint.schedule(Rate(OUTBOX_RELAY_SCHEDULE_MINUTES, unit=Rate.MINUTES))
def relay_outbox(event: Any) -> dict[str, int]:
    """Publish domain events whose first publication failed."""
    result = wiring.outbox_relay().relay()
    count("OutboxEventsRelayed", result["published"])
    return result
