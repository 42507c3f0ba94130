"""KPI formulas over per-day counters. The definitions are in docs/customer-360-and-kpis.md.

The insights consumer adds to the counters of one day item per tenant and queue as events
arrive (functions/domain/insights.py); GET /kpis reads the day items of its window and applies
these formulas, so no request ever reads tickets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from functions.models.customers import KpiDay, KpiReport, KpiValue

# Counters of a KPI day item, all added with DynamoDB ADD.
COUNTERS = (
    "created",
    "resolved",
    "resolution_seconds",
    "first_responses",
    "first_response_seconds",
    "fcr",
    "sla_measured",
    "sla_met",
    "escalated",
    "automated",
    "csat_sum",
    "csat_count",
    "nps_promoters",
    "nps_passives",
    "nps_detractors",
    "sentiment_scored",
    "sentiment_negative",
    "sentiment_positive",
    "backlog_delta",
)
# The longest window one GET /kpis covers: one day item per day is read.
MAX_WINDOW_DAYS = 366
KPI_NAMES = (
    "mttr_hours",
    "first_response_minutes",
    "first_contact_resolution",
    "sla_compliance",
    "backlog",
    "escalation_rate",
    "automation_rate",
    "csat",
    "nps",
    "sentiment",
)
NPS_PROMOTER_FROM = 9
NPS_DETRACTOR_TO = 6


@dataclass(frozen=True)
class Ratio:
    numerator: float
    denominator: float
    scale: float
    unit: str

    def value(self) -> float | None:
        if not self.denominator:
            return None
        return round(self.numerator / self.denominator * self.scale, 4)


def nps_bucket(score: int) -> str:
    """Return the NPS counter a 0-10 answer adds to: promoters 9-10, passives 7-8, detractors 0-6."""
    if score >= NPS_PROMOTER_FROM:
        return "nps_promoters"
    if score <= NPS_DETRACTOR_TO:
        return "nps_detractors"
    return "nps_passives"


def ratios(totals: Mapping[str, float]) -> dict[str, Ratio]:
    """Apply the KPI formulas to summed counters; backlog is handled apart, as it is a level."""
    total = lambda name: float(totals.get(name, 0) or 0)  # noqa: E731 - short local accessor
    nps_answers = total("nps_promoters") + total("nps_passives") + total("nps_detractors")
    return {
        "mttr_hours": Ratio(total("resolution_seconds"), total("resolved"), 1 / 3600, "hours"),
        "first_response_minutes": Ratio(total("first_response_seconds"), total("first_responses"), 1 / 60, "minutes"),
        "first_contact_resolution": Ratio(total("fcr"), total("resolved"), 100, "percent"),
        "sla_compliance": Ratio(total("sla_met"), total("sla_measured"), 100, "percent"),
        "escalation_rate": Ratio(total("escalated"), total("created"), 100, "percent"),
        "automation_rate": Ratio(total("automated"), total("created"), 100, "percent"),
        "csat": Ratio(total("csat_sum"), total("csat_count"), 1, "score 1-5"),
        "nps": Ratio(total("nps_promoters") - total("nps_detractors"), nps_answers, 100, "score -100 to 100"),
        "sentiment": Ratio(
            total("sentiment_positive") - total("sentiment_negative"), total("sentiment_scored"), 1, "net share -1 to 1"
        ),
    }


def sum_counters(days: Sequence[Mapping[str, float]]) -> dict[str, float]:
    totals = {name: 0.0 for name in COUNTERS}
    for counters in days:
        for name in COUNTERS:
            totals[name] += float(counters.get(name, 0) or 0)
    return totals


def backlog_levels(
    days: Sequence[date], deltas: Mapping[date, float], open_now: float, later_deltas: float
) -> dict[date, float]:
    """Return the open-ticket count at the end of each day of the window.

    `open_now` is the current level and `later_deltas` the sum of changes on days after the
    window, so the level at the end of the window is open_now - later_deltas; earlier days
    subtract the changes that followed them.
    """
    level = open_now - later_deltas
    levels: dict[date, float] = {}
    for day in sorted(days, reverse=True):
        levels[day] = level
        level -= float(deltas.get(day, 0) or 0)
    return levels


def build_report(
    from_day: date,
    to_day: date,
    queue: str | None,
    time_zone: str,
    counters_by_day: Mapping[date, Mapping[str, float]],
    open_now: float,
    later_deltas: float,
) -> KpiReport:
    """Compute every KPI over the window and per day from the stored counters."""
    days = [date.fromordinal(ordinal) for ordinal in range(from_day.toordinal(), to_day.toordinal() + 1)]
    levels = backlog_levels(
        days, {day: counters.get("backlog_delta", 0) for day, counters in counters_by_day.items()}, open_now, later_deltas
    )

    totals = sum_counters([counters_by_day[day] for day in days if day in counters_by_day])
    kpis = {
        name: KpiValue(value=ratio.value(), numerator=ratio.numerator, denominator=ratio.denominator, unit=ratio.unit)
        for name, ratio in ratios(totals).items()
    }
    end_level = levels[to_day]
    kpis["backlog"] = KpiValue(value=end_level, numerator=end_level, denominator=1, unit="open tickets at the end of the window")

    series = []
    for day in days:
        values: dict[str, float | None] = {
            name: ratio.value() for name, ratio in ratios(counters_by_day.get(day, {})).items()
        }
        values["backlog"] = levels[day]
        values["created"] = float(counters_by_day.get(day, {}).get("created", 0) or 0)
        values["resolved"] = float(counters_by_day.get(day, {}).get("resolved", 0) or 0)
        series.append(KpiDay(day=day, values=values))
    return KpiReport(
        from_day=from_day,
        to_day=to_day,
        queue=queue,
        time_zone=time_zone,
        kpis={name: kpis[name] for name in KPI_NAMES},
        days=series,
    )
