"""Churn-risk score: a transparent points model over a customer's recent daily aggregates.

Each rule adds points and a reason in English and Korean. The score is their sum, capped at 100. The rules and their
points are listed in docs/customer-360-and-kpis.md, and CHURN_MODEL_VERSION changes with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from functions.models.customers import ChurnReason, ChurnRisk

CHURN_MODEL_VERSION = "points-1"
# The score looks back this many days; "recent" is the last RECENT_DAYS of them.
WINDOW_DAYS = 90
RECENT_DAYS = 30
MEDIUM_FROM = 30
HIGH_FROM = 60


@dataclass(frozen=True)
class DayCounts:
    """One day of a customer's aggregate counters (the customer day items of the insights table)."""

    day: date
    tickets_opened: int = 0
    messages_scored: int = 0
    messages_negative: int = 0
    messages_positive: int = 0
    escalations: int = 0
    reopens: int = 0
    sla_breaches: int = 0
    csat_sum: int = 0
    csat_count: int = 0
    nps_sum: int = 0
    nps_count: int = 0
    nps_detractors: int = 0

    @classmethod
    def from_counters(cls, day: date, counters: Mapping[str, object]) -> DayCounts:
        """Build from stored counters; unknown keys are ignored and missing ones are zero."""
        values = {name: int(counters.get(name, 0) or 0) for name in _COUNTER_FIELDS}
        return cls(day=day, **values)


_COUNTER_FIELDS = tuple(name for name in DayCounts.__dataclass_fields__ if name != "day")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _capped(count: int, per_item: int, cap: int) -> int:
    return min(cap, count * per_item)


def churn_risk(days: Iterable[DayCounts], today: date) -> ChurnRisk:
    """Score churn risk from the day counters of the WINDOW_DAYS days up to `today`."""
    window_start = today - timedelta(days=WINDOW_DAYS - 1)
    recent_start = today - timedelta(days=RECENT_DAYS - 1)
    in_window = [day for day in days if window_start <= day.day <= today]
    recent = [day for day in in_window if day.day >= recent_start]
    earlier = [day for day in in_window if day.day < recent_start]
    reasons: list[ChurnReason] = []

    recent_scored = sum(day.messages_scored for day in recent)
    recent_negative = _share(sum(day.messages_negative for day in recent), recent_scored)
    earlier_negative = _share(
        sum(day.messages_negative for day in earlier), sum(day.messages_scored for day in earlier)
    )
    if recent_negative is not None and recent_scored >= 3:
        if recent_negative >= 0.5:
            reasons.append(
                ChurnReason(
                    code="negative_sentiment",
                    points=20,
                    detail=f"{recent_negative:.0%} of {recent_scored} messages in the last {RECENT_DAYS} days were negative",
                    detail_ko=f"최근 {RECENT_DAYS}일 메시지 {recent_scored}건 중 {recent_negative:.0%}가 부정적이었습니다",
                )
            )
        if earlier_negative is not None and recent_negative - earlier_negative >= 0.2:
            reasons.append(
                ChurnReason(
                    code="sentiment_worsening",
                    points=15,
                    detail=f"negative share rose from {earlier_negative:.0%} to {recent_negative:.0%}",
                    detail_ko=f"부정 메시지 비율이 {earlier_negative:.0%}에서 {recent_negative:.0%}로 올랐습니다",
                )
            )

    escalations = sum(day.escalations for day in in_window)
    if escalations:
        reasons.append(
            ChurnReason(
                code="escalations",
                points=_capped(escalations, 8, 20),
                detail=f"{escalations} escalated tickets in {WINDOW_DAYS} days",
                detail_ko=f"{WINDOW_DAYS}일 동안 에스컬레이션된 티켓 {escalations}건",
            )
        )

    reopens = sum(day.reopens for day in in_window)
    if reopens:
        reasons.append(
            ChurnReason(
                code="reopens",
                points=_capped(reopens, 6, 15),
                detail=f"{reopens} reopened tickets in {WINDOW_DAYS} days",
                detail_ko=f"{WINDOW_DAYS}일 동안 다시 열린 티켓 {reopens}건",
            )
        )

    csat_count = sum(day.csat_count for day in in_window)
    if csat_count:
        csat_average = sum(day.csat_sum for day in in_window) / csat_count
        detail = f"average CSAT {csat_average:.1f} of 5 over {csat_count} answers"
        detail_ko = f"CSAT 응답 {csat_count}건의 평균이 5점 만점에 {csat_average:.1f}점"
        if csat_average <= 2:
            reasons.append(ChurnReason(code="low_csat", points=25, detail=detail, detail_ko=detail_ko))
        elif csat_average < 3.5:
            reasons.append(ChurnReason(code="mediocre_csat", points=10, detail=detail, detail_ko=detail_ko))

    detractors = sum(day.nps_detractors for day in in_window)
    if detractors:
        reasons.append(
            ChurnReason(
                code="nps_detractor",
                points=20,
                detail=f"{detractors} NPS answers of 6 or less in {WINDOW_DAYS} days",
                detail_ko=f"{WINDOW_DAYS}일 동안 6점 이하 NPS 응답 {detractors}건",
            )
        )

    breaches = sum(day.sla_breaches for day in in_window)
    if breaches:
        reasons.append(
            ChurnReason(
                code="sla_breaches",
                points=_capped(breaches, 5, 15),
                detail=f"{breaches} SLA breaches in {WINDOW_DAYS} days",
                detail_ko=f"{WINDOW_DAYS}일 동안 SLA 위반 {breaches}건",
            )
        )

    contacts = sum(day.tickets_opened for day in recent)
    if contacts >= 3:
        reasons.append(
            ChurnReason(
                code="frequent_contact",
                points=15 if contacts >= 6 else 8,
                detail=f"{contacts} tickets in the last {RECENT_DAYS} days",
                detail_ko=f"최근 {RECENT_DAYS}일 동안 티켓 {contacts}건",
            )
        )

    score = min(100, sum(reason.points for reason in reasons))
    level = "low"
    if score >= MEDIUM_FROM:
        level = "medium"
    if score >= HIGH_FROM:
        level = "high"
    return ChurnRisk(score=score, level=level, reasons=reasons, model_version=CHURN_MODEL_VERSION)
