"""CloudWatch metrics (EMF) of the KPIs, in their own namespace, which infra/dashboard.yaml charts and alarms on.

Powertools' shared Metrics object writes to the ServiceDesk namespace, where TicketsCreated and
Escalations already count API and intake activity. KPI figures go to ServiceDesk/KPIs through
an EphemeralMetrics object, which keeps its own metric set, so the two never add up.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from functions.observability import SERVICE_NAME

KPI_NAMESPACE = "ServiceDesk/KPIs"


def emit_kpi_metrics(values: Iterable[tuple[str, str, float]]) -> None:
    """Write (name, unit, value) metrics as one EMF line; units are CloudWatch unit names."""
    values = list(values)
    if not values:
        return
    kpi_metrics = EphemeralMetrics(namespace=KPI_NAMESPACE, service=SERVICE_NAME)
    for name, unit, value in values:
        kpi_metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
    kpi_metrics.flush_metrics()
