"""Churn score, KPI formulas, notice templates and the event planners, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from events import generate
from functions.domain import kpis
from functions.domain.churn import DayCounts, churn_risk
from functions.domain.insights import (
    ALL_QUEUES,
    TicketInsight,
    is_low_score,
    kpi_day,
    plan_survey_answer,
    plan_ticket_event,
)
from functions.domain.notices import render_notice
from functions.models.customer_events import CUSTOMER_EVENT_TYPES, KnownProblemDetected
from functions.models.customers import KnownProblem, Survey, SurveyKind, SurveyStatus
from functions.models.events import Actor, MessageReceived, TicketCreated, TicketEscalated, TicketStatusChanged
from functions.models.tickets import SlaClock, Ticket

SAMPLES = Path(generate.__file__).resolve().parent / "samples" / "eventbridge-customers"
TODAY = date(2026, 3, 31)
CREATED = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
ACTOR = Actor(user_id="supervisor-1", role="supervisor")


# Churn score.


def test_churn_quiet_customer_is_low() -> None:
    risk = churn_risk([DayCounts(day=TODAY, tickets_opened=1, messages_scored=2)], TODAY)

    assert risk.score == 0
    assert risk.level == "low"
    assert risk.reasons == []


def test_churn_adds_each_reason() -> None:
    days = [
        DayCounts(day=TODAY - timedelta(days=60), messages_scored=10, messages_negative=1),
        DayCounts(day=TODAY, tickets_opened=6, messages_scored=4, messages_negative=3, escalations=1, reopens=1),
        DayCounts(day=TODAY - timedelta(days=1), csat_sum=3, csat_count=2, nps_count=1, nps_detractors=1, sla_breaches=2),
    ]

    risk = churn_risk(days, TODAY)
    points = {reason.code: reason.points for reason in risk.reasons}

    assert points == {
        "negative_sentiment": 20,
        "sentiment_worsening": 15,
        "escalations": 8,
        "reopens": 6,
        "low_csat": 25,
        "nps_detractor": 20,
        "sla_breaches": 10,
        "frequent_contact": 15,
    }
    assert risk.score == 100
    assert risk.level == "high"


def test_churn_reasons_in_korean() -> None:
    days = [
        DayCounts(day=TODAY - timedelta(days=60), messages_scored=10, messages_negative=1),
        DayCounts(day=TODAY, tickets_opened=4, messages_scored=4, messages_negative=3, escalations=2, reopens=1),
        DayCounts(day=TODAY - timedelta(days=1), csat_sum=6, csat_count=2, nps_count=1, nps_detractors=1, sla_breaches=2),
    ]

    details_ko = {reason.code: reason.detail_ko for reason in churn_risk(days, TODAY).reasons}

    assert details_ko == {
        "negative_sentiment": "최근 30일 메시지 4건 중 75%가 부정적이었습니다",
        "sentiment_worsening": "부정 메시지 비율이 10%에서 75%로 올랐습니다",
        "escalations": "90일 동안 에스컬레이션된 티켓 2건",
        "reopens": "90일 동안 다시 열린 티켓 1건",
        "mediocre_csat": "CSAT 응답 2건의 평균이 5점 만점에 3.0점",
        "nps_detractor": "90일 동안 6점 이하 NPS 응답 1건",
        "sla_breaches": "90일 동안 SLA 위반 2건",
        "frequent_contact": "최근 30일 동안 티켓 4건",
    }


def test_churn_caps_repeated_reasons() -> None:
    risk = churn_risk([DayCounts(day=TODAY, escalations=9, reopens=9, sla_breaches=9)], TODAY)
    points = {reason.code: reason.points for reason in risk.reasons}

    assert points == {"escalations": 20, "reopens": 15, "sla_breaches": 15}
    assert risk.level == "medium"


def test_churn_ignores_days_outside_window() -> None:
    risk = churn_risk([DayCounts(day=TODAY - timedelta(days=90), escalations=3)], TODAY)

    assert risk.score == 0


def test_churn_needs_three_scored_messages() -> None:
    risk = churn_risk([DayCounts(day=TODAY, messages_scored=2, messages_negative=2)], TODAY)

    assert risk.reasons == []


def test_day_counts_read_stored_counters() -> None:
    counts = DayCounts.from_counters(TODAY, {"escalations": 2.0, "unknown": 5, "csat_sum": None})

    assert counts.escalations == 2
    assert counts.csat_sum == 0


# KPI formulas.


def test_kpi_formulas_over_counters() -> None:
    counters = {
        TODAY: {
            "created": 4,
            "resolved": 2,
            "resolution_seconds": 7200,
            "first_responses": 2,
            "first_response_seconds": 600,
            "fcr": 1,
            "sla_measured": 2,
            "sla_met": 1,
            "escalated": 1,
            "automated": 3,
            "csat_sum": 9,
            "csat_count": 2,
            "nps_promoters": 2,
            "nps_passives": 1,
            "nps_detractors": 1,
            "sentiment_scored": 4,
            "sentiment_negative": 1,
            "sentiment_positive": 2,
            "backlog_delta": 2,
        }
    }

    report = kpis.build_report(TODAY, TODAY, None, "Asia/Seoul", counters, open_now=5, later_deltas=0)
    values = {name: kpi.value for name, kpi in report.kpis.items()}

    assert values == {
        "mttr_hours": 1.0,
        "first_response_minutes": 5.0,
        "first_contact_resolution": 50.0,
        "sla_compliance": 50.0,
        "backlog": 5,
        "escalation_rate": 25.0,
        "automation_rate": 75.0,
        "csat": 4.5,
        "nps": 25.0,
        "sentiment": 0.25,
    }


def test_kpis_without_data_are_null() -> None:
    report = kpis.build_report(TODAY, TODAY, "hardware", "Asia/Seoul", {}, open_now=0, later_deltas=0)

    assert all(kpi.value is None for name, kpi in report.kpis.items() if name != "backlog")
    assert report.kpis["backlog"].value == 0


def test_backlog_levels_walk_back_from_now() -> None:
    days = [TODAY - timedelta(days=2), TODAY - timedelta(days=1), TODAY]
    deltas = {days[0]: 3, days[1]: -1, days[2]: 2}

    levels = kpis.backlog_levels(days, deltas, open_now=10, later_deltas=4)

    assert levels == {days[2]: 6, days[1]: 4, days[0]: 5}


def test_report_has_one_entry_per_day() -> None:
    report = kpis.build_report(TODAY - timedelta(days=6), TODAY, None, "Asia/Seoul", {}, open_now=0, later_deltas=0)

    assert [entry.day for entry in report.days] == [TODAY - timedelta(days=offset) for offset in range(6, -1, -1)]


@pytest.mark.parametrize(("score", "bucket"), [(10, "nps_promoters"), (9, "nps_promoters"), (8, "nps_passives"), (7, "nps_passives"), (6, "nps_detractors"), (0, "nps_detractors")])
def test_nps_buckets(score: int, bucket: str) -> None:
    assert kpis.nps_bucket(score) == bucket


@pytest.mark.parametrize(("kind", "score", "low"), [(SurveyKind.CSAT, 2, True), (SurveyKind.CSAT, 3, False), (SurveyKind.NPS, 6, True), (SurveyKind.NPS, 7, False)])
def test_low_score_thresholds(kind: SurveyKind, score: int, low: bool) -> None:
    assert is_low_score(kind, score) is low


def test_kpi_day_uses_time_zone() -> None:
    late_utc = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)

    assert kpi_day(late_utc, "Asia/Seoul") == date(2026, 3, 31)
    assert kpi_day(late_utc, "UTC") == date(2026, 3, 30)


# Notice templates.


def problem(**fields: Any) -> KnownProblem:
    values = {
        "problem_id": "p1",
        "tenant_id": "t1",
        "title": "VPN 접속 장애",
        "title_en": "VPN connection failures",
        "affected_services": ["vpn"],
        "affected_device_models": [],
        "prevention_guide_ko": "클라이언트를 업데이트하세요.",
        "prevention_guide_en": "Update the client.",
        "severity": "high",
        "source": "api",
        "created_by": "agent-1",
        "created_at": CREATED,
        **fields,
    }
    return KnownProblem(**values)


def test_korean_notice_uses_korean_texts() -> None:
    notice = render_notice(problem(), "ko", "한빛물류", ["vpn"])

    assert notice.subject == "[사전 안내] VPN 접속 장애"
    assert "한빛물류 담당자님께" in notice.body
    assert "클라이언트를 업데이트하세요." in notice.body
    assert "Update the client." not in notice.body


def test_english_notice_uses_english_texts() -> None:
    notice = render_notice(problem(), "en", "Acme", ["vpn", "lg-gram-16"])

    assert notice.subject == "[Advance notice] VPN connection failures"
    assert "affects vpn, lg-gram-16" in notice.body
    assert "Update the client." in notice.body


def test_english_notice_falls_back_to_title() -> None:
    notice = render_notice(problem(title_en=None), "en", "Acme", ["vpn"])

    assert notice.subject == "[Advance notice] VPN 접속 장애"


# Planners.


def ticket(**fields: Any) -> Ticket:
    values = {
        "ticket_id": "tk1",
        "tenant_id": "t1",
        "title": "x",
        "requester_id": "requester-1",
        "customer_id": "c1",
        "channel": "email",
        "priority": "medium",
        "status": "new",
        "queue": "hardware",
        "created_at": CREATED,
        "updated_at": CREATED,
        **fields,
    }
    return Ticket(**values)


def status_event(to_status: str, minutes: int, from_status: str = "in_progress") -> TicketStatusChanged:
    return TicketStatusChanged.build(
        event_id=f"e-{to_status}-{minutes}",
        occurred_at=CREATED + timedelta(minutes=minutes),
        tenant_id="t1",
        ticket_id="tk1",
        actor=ACTOR,
        from_status=from_status,
        to_status=to_status,
        version=2,
    )


def test_created_event_counts_ticket_and_backlog() -> None:
    event = TicketCreated.build(
        event_id="e1", occurred_at=CREATED, tenant_id="t1", ticket_id="tk1", actor=ACTOR, customer_id="c1",
        channel="email", status="new", priority="medium", queue="hardware", version=1,
    )

    changes = plan_ticket_event(event, ticket(), None, "Asia/Seoul")

    assert changes is not None
    assert changes.kpi["hardware"] == {"created": 1, "backlog_delta": 1}
    assert changes.kpi[ALL_QUEUES] == {"created": 1, "backlog_delta": 1}
    assert changes.customer_day == {"tickets_opened": 1}
    assert changes.timeline[0].kind == "ticket_opened"


def test_resolution_counts_mttr_fcr_sla_and_requests_csat() -> None:
    sla = SlaClock(
        policy_id="p",
        calendar_id="c",
        time_zone="Asia/Seoul",
        first_response_target_seconds=3600,
        resolution_target_seconds=7200,
        first_response_due_at=CREATED,
        resolution_due_at=CREATED,
        resolution_breached=True,
    )
    state = TicketInsight(ticket_id="tk1", customer_id="c1", requester_id="requester-1", queue="hardware", created_at=CREATED, version=3)

    changes = plan_ticket_event(status_event("resolved", 90), ticket(status="resolved", sla=sla), state, "Asia/Seoul")

    assert changes is not None
    assert changes.kpi["hardware"] == {
        "backlog_delta": -1,
        "resolved": 1,
        "resolution_seconds": 5400,
        "fcr": 1,
        "sla_measured": 1,
    }
    assert changes.customer_day == {"sla_breaches": 1}
    assert [survey.survey_id for survey in changes.surveys] == ["csat-tk1"]
    assert changes.ticket is not None
    assert changes.ticket.version == 4
    assert changes.ticket.csat_requested
    assert changes.ticket.fcr_queue == "hardware"


def test_second_resolution_requests_no_second_survey() -> None:
    state = TicketInsight(
        ticket_id="tk1", customer_id="c1", requester_id="r", queue="q", created_at=CREATED, open=True, reopens=1, csat_requested=True
    )

    changes = plan_ticket_event(status_event("resolved", 10, "reopened"), ticket(), state, "UTC")

    assert changes is not None
    assert changes.surveys == []
    assert "fcr" not in changes.kpi["q"]


def test_reopen_moves_ticket_back_to_backlog() -> None:
    state = TicketInsight(ticket_id="tk1", customer_id="c1", requester_id="r", queue="q", created_at=CREATED, open=False)

    changes = plan_ticket_event(status_event("reopened", 5, "resolved"), ticket(), state, "UTC")

    assert changes is not None
    assert changes.kpi["q"] == {"backlog_delta": 1}
    assert changes.customer_day == {"reopens": 1}
    assert changes.ticket is not None and changes.ticket.reopens == 1


def test_reopen_takes_back_first_contact_resolution() -> None:
    state = TicketInsight(ticket_id="tk1", customer_id="c1", requester_id="r", queue="q", created_at=CREATED, open=False, fcr_queue="q")

    reopened = plan_ticket_event(status_event("reopened", 5, "resolved"), ticket(), state, "UTC")

    assert reopened is not None
    assert reopened.kpi["q"] == {"backlog_delta": 1, "fcr": -1}
    assert reopened.kpi[ALL_QUEUES] == {"backlog_delta": 1, "fcr": -1}
    assert reopened.ticket is not None
    assert reopened.ticket.fcr_queue is None
    again = plan_ticket_event(status_event("resolved", 8, "reopened"), ticket(), reopened.ticket, "UTC")
    assert again is not None
    assert "fcr" not in again.kpi["q"]


def test_first_agent_message_sets_first_response() -> None:
    state = TicketInsight(ticket_id="tk1", customer_id="c1", requester_id="r", queue="q", created_at=CREATED)
    event = MessageReceived.build(
        event_id="m1", occurred_at=CREATED + timedelta(minutes=12), tenant_id="t1", ticket_id="tk1", actor=ACTOR,
        message_id="msg", channel="chat", author_type="agent",
    )

    first = plan_ticket_event(event, None, state, "UTC")
    assert first is not None and first.ticket is not None
    second = plan_ticket_event(event, None, first.ticket, "UTC")

    assert first.kpi["q"] == {"first_responses": 1, "first_response_seconds": 720}
    assert second is not None and second.kpi == {}


def test_escalation_moves_open_ticket_between_queues() -> None:
    state = TicketInsight(ticket_id="tk1", customer_id="c1", requester_id="r", queue="general", created_at=CREATED)
    event = TicketEscalated.build(
        event_id="x1", occurred_at=CREATED, tenant_id="t1", ticket_id="tk1", actor=ACTOR, reasons=["negative_sentiment"],
        priority="high", queue="senior", version=2,
    )

    changes = plan_ticket_event(event, None, state, "UTC")

    assert changes is not None
    assert changes.kpi["general"] == {"escalated": 1, "backlog_delta": -1}
    assert changes.kpi["senior"] == {"backlog_delta": 1}
    assert changes.kpi[ALL_QUEUES] == {"escalated": 1}


def test_event_of_unknown_ticket_is_skipped() -> None:
    assert plan_ticket_event(status_event("resolved", 1), None, None, "UTC") is None


def test_low_survey_answer_plans_follow_up() -> None:
    survey = Survey(
        survey_id="csat-tk1", tenant_id="t1", kind="csat", customer_id="c1", requester_id="r", ticket_id="tk1",
        queue="hardware", status=SurveyStatus.PENDING, created_at=CREATED,
    )

    changes = plan_survey_answer(survey, 1, None, CREATED, "UTC", "supervisor-follow-up", "f1", "e1")

    assert changes.kpi["hardware"] == {"csat_sum": 1, "csat_count": 1}
    assert changes.follow_ups[0].task_id == "f1"
    assert changes.surveys[0].follow_up_id == "f1"


# Event contracts.


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_customer_event_sample_validates(path: Path) -> None:
    event = json.loads(path.read_text("utf-8"))
    schema = json.loads((generate.SCHEMAS_DIR / f"{event['detail-type']}.v1.json").read_text("utf-8"))
    models = {model.DETAIL_TYPE: model for model in (*CUSTOMER_EVENT_TYPES, KnownProblemDetected)}

    assert list(Draft202012Validator(schema).iter_errors(event["detail"])) == []
    assert event["source"] == schema["x-eventbridge"]["source"]
    assert models[event["detail-type"]].model_validate(event["detail"]).model_dump(mode="json") == event["detail"]


def test_every_customer_event_has_sample() -> None:
    sampled = {json.loads(path.read_text("utf-8"))["detail-type"] for path in SAMPLES.glob("*.json")}

    assert sampled == {model.DETAIL_TYPE for model in (*CUSTOMER_EVENT_TYPES, KnownProblemDetected)}


def test_settings_reject_unknown_kpi_time_zone() -> None:
    from pydantic import ValidationError

    from functions.settings import Settings

    with pytest.raises(ValidationError, match="KPI_TIME_ZONE"):
        Settings(kpi_time_zone="Asia/Nowhere")


def test_backlog_right_when_events_arrive_reversed() -> None:
    created = TicketCreated.build(
        event_id="e1", occurred_at=CREATED, tenant_id="t1", ticket_id="tk1", actor=ACTOR, customer_id="c1",
        channel="email", status="new", priority="medium", queue="hardware", version=1,
    )
    resolved = status_event("resolved", 30, "new")
    stored = ticket(status="resolved")

    first = plan_ticket_event(resolved, stored, None, "UTC")
    assert first is not None
    second = plan_ticket_event(created, stored, first.ticket, "UTC")
    assert second is not None

    total = first.kpi[ALL_QUEUES].get("backlog_delta", 0) + second.kpi[ALL_QUEUES].get("backlog_delta", 0)
    assert total == 0


# Role rules.


def caller(role: str, user_id: str = "u1", queues: tuple[str, ...] = ()) -> Any:
    from functions.models.caller import Caller

    return Caller(tenant_id="t1", user_id=user_id, role=role, queues=frozenset(queues))


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("supervisor", True), ("partner", True), ("agent", False), ("requester", False)])
def test_profile_writers(role: str, allowed: bool) -> None:
    from functions.domain.customer_access import profile_write_denial

    assert (profile_write_denial(caller(role)) is None) is allowed


def test_survey_rules_hide_other_requesters_survey() -> None:
    from functions.domain.customer_access import survey_answer_denial, survey_read_denial

    survey = Survey(
        survey_id="s1", tenant_id="t1", kind="nps", customer_id="c1", requester_id="r1", status="pending", created_at=CREATED
    )

    assert survey_answer_denial(caller("requester", "r1"), survey) is None
    assert survey_answer_denial(caller("requester", "r2"), survey).hidden
    assert not survey_answer_denial(caller("supervisor"), survey).hidden
    assert survey_read_denial(caller("supervisor"), survey) is None
    assert survey_read_denial(caller("agent"), survey).hidden


def test_kpi_rule_limits_agents_to_their_queues() -> None:
    from functions.domain.customer_access import kpi_denial

    agent = caller("agent", queues=("hardware",))

    assert kpi_denial(agent, "hardware") is None
    assert kpi_denial(agent, None).reason == "outside_agent_queues"
    assert kpi_denial(caller("requester"), None).reason == "kpis_not_allowed"
    assert kpi_denial(caller("admin"), None) is None


# Processor.


class RecordingTickets:
    """Ticket repository that returns one ticket and counts reads."""

    def __init__(self, stored: Ticket) -> None:
        self.stored = stored
        self.reads = 0

    def get_ticket(self, tenant_id: str, ticket_id: str) -> Ticket:
        self.reads += 1
        return self.stored


class MemoryInsights:
    """Insights repository that keeps ticket insight states and applied event ids in memory."""

    def __init__(self) -> None:
        self.states: dict[str, TicketInsight] = {}
        self.applied: set[str] = set()

    def get_ticket_insight(self, tenant_id: str, ticket_id: str) -> TicketInsight | None:
        return self.states.get(ticket_id)

    def apply(self, changes: Any, marker_event_id: str | None, expected_ticket_version: int | None) -> bool:
        if marker_event_id in self.applied:
            return False
        self.applied.add(marker_event_id or "")
        self.states[changes.ticket.ticket_id] = changes.ticket
        return True

    def delete_outbox(self, events: Any) -> None:
        return None


class DiscardingPublisher:
    def publish(self, events: Any) -> None:
        return None


def test_processor_reads_ticket_only_when_needed() -> None:
    from functions.domain.insight_processor import InsightProcessor

    tickets = RecordingTickets(ticket())
    processor = InsightProcessor(
        repository=MemoryInsights(),  # type: ignore[arg-type]
        tickets=tickets,  # type: ignore[arg-type]
        publisher=DiscardingPublisher(),  # type: ignore[arg-type]
        continuation=None,  # type: ignore[arg-type]
        time_zone="UTC",
        fan_out_batch=10,
    )
    created = TicketCreated.build(
        event_id="e1", occurred_at=CREATED, tenant_id="t1", ticket_id="tk1", actor=ACTOR, customer_id="c1",
        channel="email", status="new", priority="medium", queue="hardware", version=1,
    )
    message = MessageReceived.build(
        event_id="m1", occurred_at=CREATED + timedelta(minutes=5), tenant_id="t1", ticket_id="tk1", actor=ACTOR,
        message_id="msg", channel="chat", author_type="agent",
    )

    results = [processor.handle_ticket_event(created).result]
    reads_after_created = tickets.reads
    results.append(processor.handle_ticket_event(message).result)
    reads_after_message = tickets.reads
    results.append(processor.handle_ticket_event(status_event("resolved", 30)).result)

    assert results == ["applied", "applied", "applied"]
    assert reads_after_created == 1
    assert reads_after_message == 1
    assert tickets.reads == 2
