"""Scheduled SLA breach check: forecasts running clocks and escalates tickets before they breach."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from functions import wiring
from functions.observability import count
from functions.resources import SLA_BREACH_SCHEDULE_MINUTES

blueprint = Blueprint(__name__)


@blueprint.schedule(Rate(SLA_BREACH_SCHEDULE_MINUTES, unit=Rate.MINUTES))
def predict_sla_breaches(event: Any) -> dict[str, int]:
    """Check the SLA clocks due within the lookahead of every tenant."""
    result = wiring.breach_monitor().run()
    count("SlaEscalations", result["escalated"])
    count("SlaBreaches", result["breached"])
    return result
