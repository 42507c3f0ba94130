"""Scheduled jobs of customer insights: periodic NPS surveys and the Backlog gauge metric."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

from functions import wiring
from functions.kpi_metrics import emit_kpi_metrics
from functions.observability import count
from functions.resources import KPI_METRICS_SCHEDULE_MINUTES, NPS_SURVEY_SCHEDULE_HOURS

blueprint = Blueprint(__name__)


@blueprint.schedule(Rate(NPS_SURVEY_SCHEDULE_HOURS, unit=Rate.HOURS))
def request_nps_surveys(event: Any) -> dict[str, int]:
    """Open this quarter's NPS survey for customers that have none yet."""
    result = wiring.insight_processor().request_nps_surveys()
    count("NpsSurveysRequested", result["requested"])
    return result


@blueprint.schedule(Rate(KPI_METRICS_SCHEDULE_MINUTES, unit=Rate.MINUTES))
def publish_kpi_metrics(event: Any) -> dict[str, float]:
    """Emit the open-ticket count of all tenants as the Backlog metric (EMF)."""
    levels = wiring.insight_processor().open_ticket_levels()
    total = sum(levels.values())
    emit_kpi_metrics([("Backlog", "Count", total)])
    return {"tenants": len(levels), "backlog": total}
