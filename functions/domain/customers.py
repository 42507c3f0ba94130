"""Customer use cases behind the API: profiles, the 360 view, known problems, surveys,
follow-up tasks and KPIs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.domain import access, customer_access, kpis
from functions.domain.access import Denial
from functions.domain.audit import audit_timestamp
from functions.domain.churn import WINDOW_DAYS, DayCounts, churn_risk
from functions.domain.errors import DependencyError, InvalidInputError, NotFoundError
from functions.domain.ids import new_id
from functions.domain.insight_errors import ProfileVersionConflictError, StateConflictError
from functions.domain.insight_ports import CustomerEventPublisher, InsightsRepository
from functions.domain.insights import ALL_QUEUES, kpi_day, plan_survey_answer, score_range
from functions.domain.ports import Page, TicketFilter, TicketRepository
from functions.models.audit import AuditChange, AuditRecord
from functions.models.caller import Caller
from functions.models.customer_events import CustomerEventDetail, KnownProblemAnnounced, SurveyAnswered
from functions.models.customers import (
    CompleteFollowUpRequest,
    Customer360,
    CustomerProfile,
    CustomerProfileRequest,
    FollowUpStatus,
    FollowUpTask,
    KnownProblem,
    KnownProblemRequest,
    KpiReport,
    Survey,
    SurveyAnswerRequest,
    TrendPoint,
)
from functions.models.events import Actor
from functions.models.tickets import Ticket, TicketStatus

logger = logging.getLogger(f"servicedesk.{__name__}")

# Fields of a profile that hold personal data: the audit log records that they changed, not their values.
PERSONAL_FIELDS = frozenset({"contacts"})
PROFILE_AUDIT_FIELDS = (
    "company",
    "tier",
    "contacts",
    "preferred_channel",
    "preferred_language",
    "time_zone",
    "services",
    "device_models",
)
# Tickets the 360 view lists: the customer's newest, split into open and past.
TICKETS_IN_VIEW = 50
NOTICES_IN_VIEW = 20
OPEN_STATUSES = frozenset(
    {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS, TicketStatus.PENDING, TicketStatus.REOPENED}
)


@dataclass(frozen=True)
class SurveyAnswer:
    """An answered survey and the KPI metrics (name, unit, value) its answer emits."""

    survey: Survey
    metrics: list[tuple[str, str, float]]


@dataclass(frozen=True)
class CustomerSettings:
    time_zone: str
    follow_up_queue: str


class CustomerService:
    """The customer use cases, written against the insights and ticket repositories."""

    def __init__(
        self,
        repository: InsightsRepository,
        tickets: TicketRepository,
        publisher: CustomerEventPublisher,
        settings: CustomerSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._tickets = tickets
        self._publisher = publisher
        self._settings = settings
        self._clock = clock

    # Profiles.

    def save_profile(
        self, caller: Caller, customer_id: str, request: CustomerProfileRequest, expected_version: int | None
    ) -> tuple[CustomerProfile, bool]:
        """Create or replace a profile; return it and whether it was created.

        Replacing needs the expected version (body `version` or If-Match), so that two writers
        cannot overwrite each other unseen.
        """
        _enforce(customer_access.profile_write_denial(caller), caller, "save_customer", "customer", customer_id)
        previous = self._repository.get_profile(caller.tenant_id, customer_id)
        version = request.version if request.version is not None else expected_version
        # A profile stored by the seed's put_customer has no creation time (read as 1970) and is
        # replaced like a new one.
        if previous is not None and previous.created_at.year > 1970:
            if version is None:
                raise InvalidInputError(
                    "the profile exists: send its version in an If-Match header or a version field to replace it",
                    problem_ko="프로필이 이미 있습니다. 바꾸려면 버전을 If-Match 헤더나 version 필드로 보내 주세요.",
                    field="version",
                )
            if version != previous.version:
                raise ProfileVersionConflictError(customer_id, version, previous.version)
        else:
            previous = None
        now = self._clock()
        profile = CustomerProfile(
            customer_id=customer_id,
            tenant_id=caller.tenant_id,
            company=request.company,
            tier=request.tier,
            contacts=request.contacts,
            preferred_channel=request.preferred_channel,
            preferred_language=request.preferred_language,
            time_zone=request.time_zone,
            services=sorted(set(request.services)),
            device_models=sorted(set(request.device_models)),
            version=previous.version + 1 if previous else 1,
            created_at=previous.created_at if previous else now,
            updated_at=now,
        )
        record = _profile_record(caller, previous, profile, now)
        self._repository.save_profile(profile, previous, [record] if record else [])
        logger.info(
            "customer profile saved",
            extra={"tenant_id": caller.tenant_id, "customer_id": customer_id, "version": profile.version},
        )
        return profile, previous is None

    def get_profile(self, caller: Caller, customer_id: str) -> CustomerProfile:
        _enforce(customer_access.staff_denial(caller, "read customer profiles"), caller, "read_customer", "customer", customer_id)
        return self._require_profile(caller.tenant_id, customer_id)

    def customer_360(self, caller: Caller, customer_id: str, limit: int, cursor: str | None) -> Customer360:
        """Assemble the 360 view from the profile, timeline, daily aggregates and ticket index."""
        _enforce(customer_access.staff_denial(caller, "read the customer 360 view"), caller, "read_customer_360", "customer", customer_id)
        profile = self._require_profile(caller.tenant_id, customer_id)
        timeline = self._repository.list_timeline(caller.tenant_id, customer_id, limit, cursor)

        today = kpi_day(self._clock(), self._settings.time_zone)
        first = today - timedelta(days=WINDOW_DAYS - 1)
        days = self._repository.customer_days(caller.tenant_id, customer_id, first, today)
        counts = [DayCounts.from_counters(day, counters) for day, counters in days.items()]

        tickets = self._tickets.list_tickets(caller.tenant_id, TicketFilter(customer_id=customer_id), TICKETS_IN_VIEW, None)
        ticket_items: list[Ticket] = tickets.items
        return Customer360(
            profile=profile,
            timeline=timeline.items,
            timeline_next_cursor=timeline.next_cursor,
            open_tickets=[ticket for ticket in ticket_items if ticket.status in OPEN_STATUSES],
            past_tickets=[ticket for ticket in ticket_items if ticket.status not in OPEN_STATUSES],
            satisfaction_trend=weekly_trend(days, "csat_sum", "csat_count"),
            sentiment_trend=weekly_net_sentiment(days),
            churn_risk=churn_risk(counts, today),
            notices=self._repository.list_notices(caller.tenant_id, customer_id, NOTICES_IN_VIEW),
            window_days=WINDOW_DAYS,
        )

    # Known problems.

    def create_problem(self, caller: Caller, request: KnownProblemRequest) -> tuple[KnownProblem, bool]:
        """Record a known problem and announce it; the same problem_id again returns the stored one."""
        _enforce(customer_access.staff_denial(caller, "record known problems"), caller, "create_known_problem", "known problem", request.problem_id)
        if not request.affected_services and not request.affected_device_models:
            raise InvalidInputError(
                "name at least one affected service or device model, so the affected customers can be found",
                problem_ko="영향받는 고객을 찾을 수 있도록 영향받는 서비스나 기기 모델을 하나 이상 적어 주세요.",
                field="affected_services",
            )
        return record_problem(
            self._repository,
            self._publisher,
            KnownProblem(
                problem_id=request.problem_id or new_id(),
                tenant_id=caller.tenant_id,
                title=request.title,
                title_en=request.title_en,
                affected_services=sorted(set(request.affected_services)),
                affected_device_models=sorted(set(request.affected_device_models)),
                prevention_guide_ko=request.prevention_guide_ko,
                prevention_guide_en=request.prevention_guide_en,
                severity=request.severity,
                source="api",
                created_by=caller.user_id,
                created_at=self._clock(),
            ),
            Actor(user_id=caller.user_id, role=caller.role),
        )

    def get_problem(self, caller: Caller, problem_id: str) -> KnownProblem:
        _enforce(customer_access.staff_denial(caller, "read known problems"), caller, "read_known_problem", "known problem", problem_id)
        return self._repository.get_problem(caller.tenant_id, problem_id)

    # Surveys.

    def get_survey(self, caller: Caller, survey_id: str) -> Survey:
        survey = self._require_survey(caller.tenant_id, survey_id)
        _enforce(customer_access.survey_read_denial(caller, survey), caller, "read_survey", "survey", survey_id)
        return survey

    def answer_survey(self, caller: Caller, survey_id: str, request: SurveyAnswerRequest) -> SurveyAnswer:
        """Store an answer once; a low score opens a follow-up task for a supervisor.

        Sending the stored answer again (a client's retry) returns the survey unchanged.
        """
        survey = self._require_survey(caller.tenant_id, survey_id)
        _enforce(customer_access.survey_answer_denial(caller, survey), caller, "answer_survey", "survey", survey_id)
        if survey.status != "pending":
            if survey.score == request.score and survey.comment == request.comment:
                return SurveyAnswer(survey=survey, metrics=[])
            raise StateConflictError("survey", survey_id, "answered")
        low, high = score_range(survey.kind)
        if not low <= request.score <= high:
            raise InvalidInputError(
                f"a {survey.kind.value} score is a whole number from {low} to {high}",
                problem_ko=f"{survey.kind.value.upper()} 점수는 {low}에서 {high} 사이의 정수여야 합니다.",
                field="score",
            )

        now = self._clock()
        event_id = new_id()
        changes = plan_survey_answer(
            survey,
            request.score,
            request.comment,
            now,
            self._settings.time_zone,
            self._settings.follow_up_queue,
            follow_up_id=new_id(),
            event_id=event_id,
        )
        answered = changes.surveys[0]
        actor = Actor(user_id=caller.user_id, role=caller.role)
        changes.events.append(
            SurveyAnswered.build(
                event_id=event_id,
                occurred_at=now,
                tenant_id=caller.tenant_id,
                actor=actor,
                survey_id=survey_id,
                kind=survey.kind,
                customer_id=survey.customer_id,
                ticket_id=survey.ticket_id,
                score=request.score,
                follow_up_id=answered.follow_up_id,
            )
        )
        record = AuditRecord(
            tenant_id=caller.tenant_id,
            timestamp=audit_timestamp(now),
            actor=actor,
            action="survey.answered",
            resource_type="survey",
            resource_id=survey_id,
            changes={
                "status": AuditChange(old="pending", new="answered"),
                "score": AuditChange(new=str(request.score)),
                "follow_up_id": AuditChange(new=answered.follow_up_id),
            },
            event_id=event_id,
        )
        self._repository.answer_survey(changes, [record])
        publish_events(self._repository, self._publisher, changes.events)
        logger.info(
            "survey answered",
            extra={
                "tenant_id": caller.tenant_id,
                "survey_id": survey_id,
                "kind": survey.kind.value,
                "follow_up_id": answered.follow_up_id,
            },
        )
        return SurveyAnswer(survey=answered, metrics=changes.metrics)

    # Follow-up tasks.

    def list_follow_ups(self, caller: Caller, status: FollowUpStatus | None, limit: int, cursor: str | None) -> Page:
        _enforce(customer_access.supervisor_denial(caller, "list follow-up tasks"), caller, "list_follow_ups", "follow-up task", None)
        return self._repository.list_follow_ups(caller.tenant_id, status, limit, cursor)

    def complete_follow_up(self, caller: Caller, task_id: str, request: CompleteFollowUpRequest) -> FollowUpTask:
        _enforce(customer_access.supervisor_denial(caller, "complete follow-up tasks"), caller, "complete_follow_up", "follow-up task", task_id)
        task = self._repository.get_follow_up(caller.tenant_id, task_id)
        if task.status == FollowUpStatus.DONE:
            raise StateConflictError("follow-up task", task_id, "done")
        now = self._clock()
        done = task.model_copy(
            update={"status": FollowUpStatus.DONE, "note": request.note, "completed_by": caller.user_id, "completed_at": now}
        )
        record = AuditRecord(
            tenant_id=caller.tenant_id,
            timestamp=audit_timestamp(now),
            actor=Actor(user_id=caller.user_id, role=caller.role),
            action="follow_up.completed",
            resource_type="follow_up",
            resource_id=task_id,
            changes={"status": AuditChange(old="open", new="done")},
        )
        self._repository.complete_follow_up(done, [record])
        return done

    # KPIs.

    def kpis(self, caller: Caller, from_day: date, to_day: date, queue: str | None) -> KpiReport:
        """Compute the KPIs of a window of days (KPI time zone) from the stored day counters."""
        _enforce(customer_access.kpi_denial(caller, queue), caller, "read_kpis", "kpis", None)
        if to_day < from_day:
            raise InvalidInputError("`to` must not be before `from`", problem_ko="`to`는 `from`보다 앞설 수 없습니다.", field="to")
        if (to_day - from_day).days + 1 > kpis.MAX_WINDOW_DAYS:
            raise InvalidInputError(
                f"the window may span at most {kpis.MAX_WINDOW_DAYS} days",
                problem_ko=f"기간은 최대 {kpis.MAX_WINDOW_DAYS}일까지입니다.",
                field="from",
            )
        queue_key = queue or ALL_QUEUES
        counters = self._repository.kpi_days(caller.tenant_id, queue_key, from_day, to_day)
        today = kpi_day(self._clock(), self._settings.time_zone)
        later_deltas = 0.0
        if to_day < today:
            later = self._repository.kpi_days(caller.tenant_id, queue_key, to_day + timedelta(days=1), today)
            later_deltas = sum(values.get("backlog_delta", 0) for values in later.values())
        open_now = self._repository.open_level(caller.tenant_id, queue_key)
        return kpis.build_report(from_day, to_day, queue, self._settings.time_zone, counters, open_now, later_deltas)

    # Internals.

    def _require_profile(self, tenant_id: str, customer_id: str) -> CustomerProfile:
        profile = self._repository.get_profile(tenant_id, customer_id)
        if profile is None:
            raise NotFoundError("customer", customer_id)
        return profile

    def _require_survey(self, tenant_id: str, survey_id: str) -> Survey:
        survey = self._repository.get_survey(tenant_id, survey_id)
        if survey is None:
            raise NotFoundError("survey", survey_id)
        return survey


def record_problem(
    repository: InsightsRepository, publisher: CustomerEventPublisher, problem: KnownProblem, actor: Actor
) -> tuple[KnownProblem, bool]:
    """Store a known problem with its announcement; return the stored problem and whether it is new."""
    event = KnownProblemAnnounced.build(
        event_id=new_id(),
        occurred_at=problem.created_at,
        tenant_id=problem.tenant_id,
        actor=actor,
        problem_id=problem.problem_id,
        affected_services=problem.affected_services,
        affected_device_models=problem.affected_device_models,
        severity=problem.severity,
    )
    record = AuditRecord(
        tenant_id=problem.tenant_id,
        timestamp=audit_timestamp(problem.created_at),
        actor=actor,
        action="known_problem.created",
        resource_type="known_problem",
        resource_id=problem.problem_id,
        changes={
            "affected_services": AuditChange(new=",".join(problem.affected_services) or None),
            "affected_device_models": AuditChange(new=",".join(problem.affected_device_models) or None),
            "severity": AuditChange(new=problem.severity),
            "source": AuditChange(new=problem.source),
        },
        event_id=event.event_id,
    )
    if not repository.put_problem(problem, [event], [record]):
        return repository.get_problem(problem.tenant_id, problem.problem_id), False
    publish_events(repository, publisher, [event])
    logger.info(
        "known problem recorded",
        extra={"tenant_id": problem.tenant_id, "problem_id": problem.problem_id, "source": problem.source},
    )
    return problem, True


def publish_events(repository: InsightsRepository, publisher: CustomerEventPublisher, events: Sequence[CustomerEventDetail]) -> None:
    """Publish events stored in the outbox; on failure the outbox relay job publishes them later."""
    if not events:
        return
    try:
        publisher.publish(events)
    except DependencyError as error:
        logger.warning(
            "customer event publishing failed; the outbox relay will retry",
            extra={"event_ids": [event.event_id for event in events], "error": str(error)},
        )
        return
    repository.delete_outbox(events)


def weekly_trend(days: dict[date, dict[str, Any]], sum_counter: str, count_counter: str) -> list[TrendPoint]:
    """Average sum_counter / count_counter per ISO week (weeks start on Monday), oldest first."""
    sums: dict[date, float] = {}
    counts: dict[date, float] = {}
    for day, counters in days.items():
        week = day - timedelta(days=day.weekday())
        sums[week] = sums.get(week, 0) + float(counters.get(sum_counter, 0) or 0)
        counts[week] = counts.get(week, 0) + float(counters.get(count_counter, 0) or 0)
    return [
        TrendPoint(week_start=week, value=round(sums[week] / counts[week], 3) if counts[week] else None, count=int(counts[week]))
        for week in sorted(sums)
        if counts[week]
    ]


def weekly_net_sentiment(days: dict[date, dict[str, Any]]) -> list[TrendPoint]:
    """Net sentiment per ISO week: (positive - negative) / scored requester messages."""
    net = {
        day: {
            "net": float(counters.get("messages_positive", 0) or 0) - float(counters.get("messages_negative", 0) or 0),
            "scored": float(counters.get("messages_scored", 0) or 0),
        }
        for day, counters in days.items()
    }
    return weekly_trend(net, "net", "scored")


def _enforce(denial: Denial | None, caller: Caller, action: str, resource: str, resource_id: str | None) -> None:
    """Raise a denial; a hidden one becomes 404 on the resource, so its existence does not leak."""
    if denial is None:
        return
    if denial.hidden:
        logger.warning(
            "access denied",
            extra={"action": action, "reason": denial.reason, "tenant_id": caller.tenant_id, "user_id": caller.user_id},
        )
        raise NotFoundError(resource, resource_id or "")
    access.enforce(denial, caller, action, resource_id)


def _profile_record(caller: Caller, previous: CustomerProfile | None, profile: CustomerProfile, now: datetime) -> AuditRecord | None:
    changes: dict[str, AuditChange] = {}
    for name in PROFILE_AUDIT_FIELDS:
        new = getattr(profile, name)
        old = getattr(previous, name) if previous else None
        if old == new:
            continue
        if name in PERSONAL_FIELDS:
            changes[name] = AuditChange(new=f"{len(new)} contacts")
        else:
            changes[name] = AuditChange(old=_text(old), new=_text(new))
    if previous is not None and not changes:
        return None
    return AuditRecord(
        tenant_id=caller.tenant_id,
        timestamp=audit_timestamp(now),
        actor=Actor(user_id=caller.user_id, role=caller.role),
        action="customer.created" if previous is None else "customer.updated",
        resource_type="customer",
        resource_id=profile.customer_id,
        changes=changes,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(getattr(value, "value", value))
