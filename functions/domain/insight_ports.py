"""Interfaces that the customer insight use cases need; functions/adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from functions.domain.insights import InsightChanges, TicketInsight
from functions.domain.ports import Page
from functions.models.audit import AuditRecord
from functions.models.customer_events import CustomerEventDetail
from functions.models.customers import (
    CustomerProfile,
    FollowUpStatus,
    FollowUpTask,
    KnownProblem,
    ProactiveNotice,
    Survey,
    TimelineItem,
)


class InsightsRepository(Protocol):
    def get_profile(self, tenant_id: str, customer_id: str) -> CustomerProfile | None: ...

    def save_profile(self, profile: CustomerProfile, previous: CustomerProfile | None, records: Sequence[AuditRecord]) -> None:
        """Raise ProfileVersionConflictError when the stored profile is not `previous`."""

    def list_timeline(self, tenant_id: str, customer_id: str, limit: int, cursor: str | None) -> Page: ...

    def customer_days(self, tenant_id: str, customer_id: str, first: date, last: date) -> dict[date, dict[str, Any]]: ...

    def list_notices(self, tenant_id: str, customer_id: str, limit: int) -> list[ProactiveNotice]: ...

    def customers_using(self, tenant_id: str, kind: str, name: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]: ...

    def customer_ids(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]: ...

    def customer_stats(self, tenant_id: str, customer_id: str) -> dict[str, Any]: ...

    def tenants(self) -> list[str]: ...

    def get_ticket_insight(self, tenant_id: str, ticket_id: str) -> TicketInsight | None: ...

    def apply(self, changes: InsightChanges, marker_event_id: str | None, expected_ticket_version: int | None) -> bool:
        """Write a plan atomically; False when the event was applied already."""

    def put_problem(self, problem: KnownProblem, events: Sequence[CustomerEventDetail], records: Sequence[AuditRecord]) -> bool: ...

    def get_problem(self, tenant_id: str, problem_id: str) -> KnownProblem: ...

    def put_notice(self, notice: ProactiveNotice, tenant_id: str, timeline: TimelineItem, events: Sequence[CustomerEventDetail]) -> bool: ...

    def get_survey(self, tenant_id: str, survey_id: str) -> Survey | None: ...

    def create_survey(self, survey: Survey, timeline: TimelineItem, events: Sequence[CustomerEventDetail]) -> bool: ...

    def answer_survey(self, changes: InsightChanges, records: Sequence[AuditRecord]) -> None: ...

    def list_follow_ups(self, tenant_id: str, status: FollowUpStatus | None, limit: int, cursor: str | None) -> Page: ...

    def get_follow_up(self, tenant_id: str, task_id: str) -> FollowUpTask: ...

    def complete_follow_up(self, task: FollowUpTask, records: Sequence[AuditRecord]) -> None: ...

    def kpi_days(self, tenant_id: str, queue_key: str, first: date, last: date) -> dict[date, dict[str, Any]]: ...

    def open_level(self, tenant_id: str, queue_key: str) -> float: ...

    def delete_outbox(self, events: Sequence[CustomerEventDetail]) -> None: ...


class CustomerEventPublisher(Protocol):
    def publish(self, events: Sequence[CustomerEventDetail]) -> None:
        """Publish the events; raise DependencyError when any of them failed."""


class ContinuationQueue(Protocol):
    def send(self, body: dict[str, Any]) -> None:
        """Queue a message for the insights consumer, to continue a long fan-out."""
