"""DynamoDB storage of customer profiles, timelines, insight counters, known problems, notices,
surveys and follow-up tasks, in the tickets table. Key layout: docs/data-model.md.

Every key starts with the tenant id except the tenant registry (`REGISTRY#TENANTS`), whose sort
key is the tenant id. The scheduled jobs read it to visit each tenant without a Scan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from functions.adapters.audit import DynamoAuditLog
from functions.adapters.dynamodb import (
    customer_pk,
    decode_cursor,
    encode_cursor,
    from_item,
    outbox_item,
    outbox_pk,
    tenant_prefix,
    to_item,
)
from functions.domain.errors import DependencyError, NotFoundError, VersionConflictError
from functions.domain.insight_errors import ProfileVersionConflictError, StateConflictError
from functions.domain.insights import ALL_QUEUES, InsightChanges, TicketInsight
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

# Event markers only need to outlive redelivery of the event (SQS retention, 4 days).
EVENT_MARKER_RETENTION = timedelta(days=7)
TENANT_REGISTRY_PK = "REGISTRY#TENANTS"

_serializer = TypeSerializer()


def timeline_sk(item: TimelineItem) -> str:
    return f"TL#{item.occurred_at.astimezone(UTC).isoformat(timespec='microseconds')}#{item.event_id}"


def kpi_pk(tenant_id: str, queue_key: str) -> str:
    suffix = "ALL" if queue_key == ALL_QUEUES else f"QUEUE#{queue_key}"
    return f"{tenant_prefix(tenant_id)}KPI#{suffix}"


def member_pk(tenant_id: str, kind: str, name: str) -> str:
    """Partition that lists the customers using one service (kind SERVICE) or device model (DEVICE)."""
    return f"{tenant_prefix(tenant_id)}{kind}#{name}"


def customers_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}CUSTOMERS"


def problem_pk(tenant_id: str, problem_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}PROBLEM#{problem_id}"


def survey_pk(tenant_id: str, survey_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}SURVEY#{survey_id}"


def follow_ups_pk(tenant_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}FOLLOWUPS"


def ticket_insight_pk(tenant_id: str, ticket_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}TICKETINSIGHT#{ticket_id}"


def event_marker_pk(tenant_id: str, event_id: str) -> str:
    return f"{tenant_prefix(tenant_id)}INSIGHTEVENT#{event_id}"


def _number(value: float) -> dict[str, str]:
    return {"N": str(Decimal(str(value)).normalize()) if value != int(value) else str(int(value))}


def _day_key(day: date) -> str:
    return f"DAY#{day.isoformat()}"


class ConditionFailed(Exception):
    """A condition of a transaction failed; `indexes` are the operations whose condition failed."""

    def __init__(self, indexes: list[int]) -> None:
        super().__init__(f"condition failed on transaction items {indexes}")
        self.indexes = indexes


class _SurveyExists(Exception):
    """The survey of a plan is stored already."""


class DynamoInsightsRepository:
    """The storage of the customer insight use cases, on the tickets table."""

    def __init__(self, client: Any, table_name: str, event_source: str, audit: DynamoAuditLog | None = None) -> None:
        self._client = client
        self._table = table_name
        self._source = event_source
        self._audit = audit
        self._known_tenants: set[str] = set()

    # Customer profiles.

    def get_profile(self, tenant_id: str, customer_id: str) -> CustomerProfile | None:
        item = self._get(customer_pk(tenant_id, customer_id), "PROFILE")
        if item is None:
            return None
        values = from_item(item)
        if "company" not in values:
            # A profile written before customer profiles had a company (the seed's put_customer).
            values["company"] = values.get("name") or customer_id
            values.setdefault("created_at", datetime(1970, 1, 1, tzinfo=UTC))
            values.setdefault("updated_at", values["created_at"])
        values["tenant_id"] = tenant_id
        values["version"] = int(values.get("version", 1))
        return CustomerProfile.model_validate(values)

    def save_profile(
        self, profile: CustomerProfile, previous: CustomerProfile | None, records: Sequence[AuditRecord]
    ) -> None:
        """Write the profile, its service and device memberships and registry entries in one transaction.

        Raises VersionConflictError when the stored version is not the previous one (or a
        profile appeared where none was expected).
        """
        tenant = profile.tenant_id
        values = json.loads(profile.model_dump_json())
        # `name` keeps the escalation policy's reading of the profile (functions/adapters/dynamodb.py) working.
        values.update({"PK": customer_pk(tenant, profile.customer_id), "SK": "PROFILE", "type": "customer", "name": profile.company})
        put: dict[str, Any] = {"Put": {"TableName": self._table, "Item": to_item(values)}}
        if previous is None:
            put["Put"]["ConditionExpression"] = "attribute_not_exists(PK) OR attribute_not_exists(company)"
        else:
            put["Put"]["ConditionExpression"] = "#version = :expected"
            put["Put"]["ExpressionAttributeNames"] = {"#version": "version"}
            put["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(previous.version)}}
        operations = [put]

        for kind, now_names, old_names in (
            ("SERVICE", profile.services, previous.services if previous else []),
            ("DEVICE", profile.device_models, previous.device_models if previous else []),
        ):
            for name in sorted(set(now_names) - set(old_names)):
                member = {"PK": member_pk(tenant, kind, name), "SK": f"CUSTOMER#{profile.customer_id}", "type": "customer_member"}
                operations.append({"Put": {"TableName": self._table, "Item": to_item(member)}})
            for name in sorted(set(old_names) - set(now_names)):
                key = {"PK": {"S": member_pk(tenant, kind, name)}, "SK": {"S": f"CUSTOMER#{profile.customer_id}"}}
                operations.append({"Delete": {"TableName": self._table, "Key": key}})
        if previous is None:
            registry = {"PK": customers_pk(tenant), "SK": f"CUSTOMER#{profile.customer_id}", "type": "customer_registry"}
            operations.append({"Put": {"TableName": self._table, "Item": to_item(registry)}})
        try:
            self._transact(operations, records)
        except ConditionFailed as failure:
            current = self.get_profile(tenant, profile.customer_id)
            raise ProfileVersionConflictError(
                profile.customer_id, previous.version if previous else None, current.version if current else None
            ) from failure
        self.register_tenant(tenant)

    def list_timeline(self, tenant_id: str, customer_id: str, limit: int, cursor: str | None) -> Page:
        partition = customer_pk(tenant_id, customer_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":prefix": {"S": "TL#"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "timeline", tenant_id, required_pk=partition)
        response = self._call("query", **request)
        items = [TimelineItem.model_validate(_plain(item)) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor("timeline", last_key) if last_key else None)

    def customer_days(self, tenant_id: str, customer_id: str, first: date, last: date) -> dict[date, dict[str, Any]]:
        return self._days(customer_pk(tenant_id, customer_id), first, last)

    def list_notices(self, tenant_id: str, customer_id: str, limit: int) -> list[ProactiveNotice]:
        response = self._call(
            "query",
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": customer_pk(tenant_id, customer_id)}, ":prefix": {"S": "NOTICE#"}},
            Limit=limit,
        )
        notices = [ProactiveNotice.model_validate(_plain(item)) for item in response.get("Items", [])]
        return sorted(notices, key=lambda notice: notice.created_at, reverse=True)

    def customers_using(self, tenant_id: str, kind: str, name: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        """Return customer ids of one service or device partition, a page at a time."""
        partition = member_pk(tenant_id, kind, name)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "members", tenant_id, required_pk=partition)
        response = self._call("query", **request)
        ids = [item["SK"]["S"].removeprefix("CUSTOMER#") for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return ids, encode_cursor("members", last_key) if last_key else None

    def customer_ids(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        """Return the ids of a tenant's customer profiles, a page at a time."""
        partition = customers_pk(tenant_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "customers", tenant_id, required_pk=partition)
        response = self._call("query", **request)
        ids = [item["SK"]["S"].removeprefix("CUSTOMER#") for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return ids, encode_cursor("customers", last_key) if last_key else None

    def customer_stats(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        item = self._get(customer_pk(tenant_id, customer_id), "STATS")
        return from_item(item) if item else {}

    # Tenants.

    def register_tenant(self, tenant_id: str) -> None:
        """Record a tenant for the scheduled jobs, once per container."""
        if tenant_id in self._known_tenants:
            return
        item = {"PK": TENANT_REGISTRY_PK, "SK": tenant_id, "type": "tenant", "tenant_id": tenant_id}
        self._call("put_item", TableName=self._table, Item=to_item(item))
        self._known_tenants.add(tenant_id)

    def tenants(self) -> list[str]:
        tenants: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": TENANT_REGISTRY_PK}},
        }
        while True:
            response = self._call("query", **request)
            tenants.extend(item["SK"]["S"] for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return tenants
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # Insight changes from events.

    def get_ticket_insight(self, tenant_id: str, ticket_id: str) -> TicketInsight | None:
        item = self._get(ticket_insight_pk(tenant_id, ticket_id), "INSIGHT")
        if item is None:
            return None
        values = from_item(item)
        fields = set(TicketInsight.__dataclass_fields__)
        plain = {key: value for key, value in values.items() if key in fields}
        for key in ("created_at", "first_response_at"):
            if plain.get(key):
                plain[key] = datetime.fromisoformat(plain[key])
        for key in ("agent_messages", "reopens", "version"):
            plain[key] = int(plain.get(key, 0))
        return TicketInsight(**plain)

    def apply(self, changes: InsightChanges, marker_event_id: str | None, expected_ticket_version: int | None) -> bool:
        """Write one plan atomically; return False when the event marker shows it was applied already.

        Raises VersionConflictError when the ticket insight changed since it was read.
        """
        tenant = changes.tenant_id
        operations: list[dict[str, Any]] = []
        marker_index = ticket_index = None
        if marker_event_id is not None:
            marker_index = len(operations)
            expires_at = int((datetime.now(UTC) + EVENT_MARKER_RETENTION).timestamp())
            marker = {"PK": event_marker_pk(tenant, marker_event_id), "SK": "EVENT", "type": "insight_event", "expires_at": expires_at}
            operations.append(
                {"Put": {"TableName": self._table, "Item": to_item(marker), "ConditionExpression": "attribute_not_exists(PK)"}}
            )
        if changes.ticket is not None and expected_ticket_version is not None:
            ticket_index = len(operations)
            operations.append(self._ticket_insight_put(tenant, changes.ticket, expected_ticket_version))

        for queue_key, counters in changes.kpi.items():
            if not counters:
                continue
            operations.append(self._add(kpi_pk(tenant, queue_key), _day_key(changes.day), counters, "kpi_day", changes.day))
            if counters.get("backlog_delta"):
                operations.append(self._add(kpi_pk(tenant, queue_key), "OPEN", {"open": counters["backlog_delta"]}, "kpi_open"))
        if changes.customer_id and changes.customer_day:
            operations.append(
                self._add(customer_pk(tenant, changes.customer_id), _day_key(changes.day), changes.customer_day, "customer_day", changes.day)
            )
        if changes.customer_id and changes.last_requester_id:
            operations.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": {"PK": {"S": customer_pk(tenant, changes.customer_id)}, "SK": {"S": "STATS"}},
                        "UpdateExpression": "SET last_requester_id = :requester, #type = :type",
                        "ExpressionAttributeNames": {"#type": "type"},
                        "ExpressionAttributeValues": {
                            ":requester": {"S": changes.last_requester_id},
                            ":type": {"S": "customer_stats"},
                        },
                    }
                }
            )
        if changes.customer_id:
            for item in changes.timeline:
                values = json.loads(item.model_dump_json())
                values.update({"PK": customer_pk(tenant, changes.customer_id), "SK": timeline_sk(item), "type": "timeline"})
                operations.append({"Put": {"TableName": self._table, "Item": to_item(values)}})
        survey_indexes = set()
        for survey in changes.surveys:
            survey_indexes.add(len(operations))
            put = self._survey_put(survey)
            put["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
            operations.append(put)
        for task in changes.follow_ups:
            operations.append({"Put": {"TableName": self._table, "Item": _follow_up_item(task), "ConditionExpression": "attribute_not_exists(PK)"}})
        operations.extend(self._outbox_operations(changes.events))

        try:
            self._transact(operations, [])
        except ConditionFailed as failure:
            if marker_index is not None and marker_index in failure.indexes:
                return False
            if survey_indexes & set(failure.indexes):
                raise _SurveyExists() from failure
            if ticket_index is not None and ticket_index in failure.indexes:
                raise VersionConflictError(changes.ticket.ticket_id if changes.ticket else "", expected_ticket_version or 0, None) from failure
            raise DependencyError(f"insight write rejected by conditions on items {failure.indexes}") from failure
        self.register_tenant(tenant)
        return True

    # Known problems and notices.

    def put_problem(self, problem: KnownProblem, events: Sequence[CustomerEventDetail], records: Sequence[AuditRecord]) -> bool:
        """Store a new known problem with its outbox event; return False when the id exists already."""
        values = json.loads(problem.model_dump_json())
        values.update({"PK": problem_pk(problem.tenant_id, problem.problem_id), "SK": "PROBLEM", "type": "known_problem"})
        operations = [
            {"Put": {"TableName": self._table, "Item": to_item(values), "ConditionExpression": "attribute_not_exists(PK)"}},
            *self._outbox_operations(events),
        ]
        try:
            self._transact(operations, records)
        except ConditionFailed:
            return False
        self.register_tenant(problem.tenant_id)
        return True

    def get_problem(self, tenant_id: str, problem_id: str) -> KnownProblem:
        item = self._get(problem_pk(tenant_id, problem_id), "PROBLEM")
        if item is None:
            raise NotFoundError("known problem", problem_id)
        return KnownProblem.model_validate(_plain(item))

    def put_notice(self, notice: ProactiveNotice, tenant_id: str, timeline: TimelineItem, events: Sequence[CustomerEventDetail]) -> bool:
        """Store a notice, its timeline item and outbox event; return False when the customer already has one for the problem."""
        partition = customer_pk(tenant_id, notice.customer_id)
        values = json.loads(notice.model_dump_json())
        values.update({"PK": partition, "SK": f"NOTICE#{notice.problem_id}", "type": "notice"})
        timeline_values = json.loads(timeline.model_dump_json())
        timeline_values.update({"PK": partition, "SK": timeline_sk(timeline), "type": "timeline"})
        operations = [
            {"Put": {"TableName": self._table, "Item": to_item(values), "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": self._table, "Item": to_item(timeline_values)}},
            *self._outbox_operations(events),
        ]
        try:
            self._transact(operations, [])
        except ConditionFailed:
            return False
        return True

    # Surveys and follow-ups.

    def get_survey(self, tenant_id: str, survey_id: str) -> Survey | None:
        item = self._get(survey_pk(tenant_id, survey_id), "SURVEY")
        return Survey.model_validate(_plain(item)) if item else None

    def create_survey(self, survey: Survey, timeline: TimelineItem, events: Sequence[CustomerEventDetail]) -> bool:
        """Store a new survey with its timeline item and event; return False when the id exists already."""
        changes = InsightChanges(tenant_id=survey.tenant_id, day=survey.created_at.date(), customer_id=survey.customer_id)
        changes.timeline.append(timeline)
        changes.surveys.append(survey)
        changes.events.extend(events)
        try:
            return self.apply(changes, None, None)
        except _SurveyExists:
            return False

    def answer_survey(self, changes: InsightChanges, records: Sequence[AuditRecord]) -> None:
        """Write an answered survey and everything it changes; VersionConflictError when it was answered meanwhile."""
        survey = changes.surveys[0]
        operations: list[dict[str, Any]] = []
        for queue_key, counters in changes.kpi.items():
            operations.append(self._add(kpi_pk(survey.tenant_id, queue_key), _day_key(changes.day), counters, "kpi_day", changes.day))
        if changes.customer_day:
            operations.append(
                self._add(customer_pk(survey.tenant_id, survey.customer_id), _day_key(changes.day), changes.customer_day, "customer_day", changes.day)
            )
        for item in changes.timeline:
            values = json.loads(item.model_dump_json())
            values.update({"PK": customer_pk(survey.tenant_id, survey.customer_id), "SK": timeline_sk(item), "type": "timeline"})
            operations.append({"Put": {"TableName": self._table, "Item": to_item(values)}})
        for task in changes.follow_ups:
            operations.append({"Put": {"TableName": self._table, "Item": _follow_up_item(task), "ConditionExpression": "attribute_not_exists(PK)"}})
        operations.extend(self._outbox_operations(changes.events))
        survey_put = self._survey_put(survey)
        survey_put["Put"]["ConditionExpression"] = "#status = :pending"
        survey_put["Put"]["ExpressionAttributeNames"] = {"#status": "status"}
        survey_put["Put"]["ExpressionAttributeValues"] = {":pending": {"S": "pending"}}
        try:
            self._transact([survey_put, *operations], records)
        except ConditionFailed as failure:
            raise StateConflictError("survey", survey.survey_id, "answered") from failure

    def list_follow_ups(self, tenant_id: str, status: FollowUpStatus | None, limit: int, cursor: str | None) -> Page:
        partition = follow_ups_pk(tenant_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, "follow_ups", tenant_id, required_pk=partition)
        response = self._call("query", **request)
        items = [FollowUpTask.model_validate(_plain(item)) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return Page(items=items, next_cursor=encode_cursor("follow_ups", last_key) if last_key else None)

    def get_follow_up(self, tenant_id: str, task_id: str) -> FollowUpTask:
        item = self._get(follow_ups_pk(tenant_id), task_id)
        if item is None:
            raise NotFoundError("follow-up task", task_id)
        return FollowUpTask.model_validate(_plain(item))

    def complete_follow_up(self, task: FollowUpTask, records: Sequence[AuditRecord]) -> None:
        """Store a completed task; VersionConflictError when it was completed meanwhile."""
        put = {
            "Put": {
                "TableName": self._table,
                "Item": _follow_up_item(task),
                "ConditionExpression": "#status = :open",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":open": {"S": FollowUpStatus.OPEN.value}},
            }
        }
        try:
            self._transact([put], records)
        except ConditionFailed as failure:
            raise StateConflictError("follow-up task", task.task_id, "done") from failure

    # KPI counters.

    def kpi_days(self, tenant_id: str, queue_key: str, first: date, last: date) -> dict[date, dict[str, Any]]:
        return self._days(kpi_pk(tenant_id, queue_key), first, last)

    def open_level(self, tenant_id: str, queue_key: str) -> float:
        item = self._get(kpi_pk(tenant_id, queue_key), "OPEN")
        return float(from_item(item).get("open", 0)) if item else 0.0

    # Outbox.

    def delete_outbox(self, events: Sequence[CustomerEventDetail]) -> None:
        for event in events:
            key = {
                "PK": {"S": outbox_pk(event.event_id)},
                "SK": {"S": f"{event.occurred_at.astimezone(UTC).isoformat()}#{event.event_id}"},
            }
            self._call("delete_item", TableName=self._table, Key=key)

    # Internals.

    def _days(self, partition: str, first: date, last: date) -> dict[date, dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition},
                ":first": {"S": _day_key(first)},
                ":last": {"S": _day_key(last)},
            },
        }
        days: dict[date, dict[str, Any]] = {}
        while True:
            response = self._call("query", **request)
            for item in response.get("Items", []):
                values = from_item(item)
                day = date.fromisoformat(values["SK"].removeprefix("DAY#"))
                days[day] = {key: float(value) for key, value in values.items() if isinstance(value, Decimal)}
            if "LastEvaluatedKey" not in response:
                return days
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _add(self, partition: str, sort_key: str, counters: dict[str, float], item_type: str, day: date | None = None) -> dict[str, Any]:
        names: dict[str, str] = {"#type": "type"}
        values: dict[str, Any] = {":type": {"S": item_type}}
        additions = []
        for position, (name, amount) in enumerate(sorted(counters.items())):
            names[f"#c{position}"] = name
            values[f":c{position}"] = _number(amount)
            additions.append(f"#c{position} :c{position}")
        expression = f"ADD {', '.join(additions)} SET #type = :type"
        if day is not None:
            names["#day"] = "day"
            values[":day"] = {"S": day.isoformat()}
            expression += ", #day = :day"
        return {
            "Update": {
                "TableName": self._table,
                "Key": {"PK": {"S": partition}, "SK": {"S": sort_key}},
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _ticket_insight_put(self, tenant_id: str, state: TicketInsight, expected_version: int) -> dict[str, Any]:
        values = {key: value for key, value in state.__dict__.items()}
        values.update({"PK": ticket_insight_pk(tenant_id, state.ticket_id), "SK": "INSIGHT", "type": "ticket_insight"})
        put: dict[str, Any] = {"Put": {"TableName": self._table, "Item": to_item(values)}}
        if expected_version == 0:
            put["Put"]["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["Put"]["ConditionExpression"] = "#version = :expected"
            put["Put"]["ExpressionAttributeNames"] = {"#version": "version"}
            put["Put"]["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        return put

    def _survey_put(self, survey: Survey) -> dict[str, Any]:
        values = json.loads(survey.model_dump_json())
        values.update({"PK": survey_pk(survey.tenant_id, survey.survey_id), "SK": "SURVEY", "type": "survey"})
        return {"Put": {"TableName": self._table, "Item": to_item(values)}}

    def _outbox_operations(self, events: Sequence[CustomerEventDetail]) -> list[dict[str, Any]]:
        # outbox_item reads only the event id, time, detail type and JSON of an event.
        return [{"Put": {"TableName": self._table, "Item": outbox_item(event, self._source)}} for event in events]  # type: ignore[arg-type]

    def _transact(self, operations: list[dict[str, Any]], records: Sequence[AuditRecord]) -> None:
        try:
            if self._audit is not None and records:
                self._audit.write_with_entries(operations, records)
            else:
                self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                # Only the caller's operations count: audit items come after them.
                failed = [
                    index
                    for index, reason in enumerate(reasons[: len(operations)])
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if failed:
                    raise ConditionFailed(failed) from error
            raise DependencyError(f"DynamoDB transaction failed: {error.response['Error']['Code']}") from error

    def _get(self, partition: str, sort_key: str) -> dict[str, Any] | None:
        response = self._call(
            "get_item", TableName=self._table, Key={"PK": {"S": partition}, "SK": {"S": sort_key}}, ConsistentRead=True
        )
        return response.get("Item")

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return getattr(self._client, operation)(**request)
        except ClientError as error:
            raise DependencyError(f"DynamoDB {operation} failed: {error.response['Error']['Code']}") from error


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """Return an item's values without its keys, numbers as int or float."""
    values = from_item(item)
    for key in ("PK", "SK", "type"):
        values.pop(key, None)
    return {key: _number_value(value) for key, value in values.items()}


def _number_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_number_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _number_value(item) for key, item in value.items()}
    return value


def _follow_up_item(task: FollowUpTask) -> dict[str, Any]:
    values = json.loads(task.model_dump_json())
    values.update({"PK": follow_ups_pk(task.tenant_id), "SK": task.task_id, "type": "follow_up"})
    return to_item(values)
