"""The audit log on moto: entries written with each state change, reads and verification over
the API, tampering found in DynamoDB, and concurrent writers that keep one chain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import yaml

from functions.adapters.audit import DynamoAuditLog, chain_pk
from functions.domain.audit import entry_hash
from functions.models.audit import AuditChange, AuditRecord
from functions.models.caller import Caller, Role
from functions.models.events import Actor
from functions.models.intake import ChannelMessage
from functions.models.tickets import AddMessageRequest
from tests.conftest import Api

COMPLAINT = "프린터가 또 고장났어요. 최악입니다."


@pytest.fixture
def supervisor(client: Any, tenant: str) -> Api:
    return Api(client, tenant, user_id="supervisor-kim", role="supervisor")


@pytest.fixture
def dynamodb(aws: dict[str, str]) -> Any:
    import boto3

    return boto3.client("dynamodb")


@pytest.fixture
def audit_table(aws: dict[str, str]) -> str:
    return aws["AuditTableName"]


def stored_entries(dynamodb: Any, table: str, tenant: str) -> list[dict[str, Any]]:
    """Every raw entry item of a tenant's chain, in sequence order."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk AND SK > :head",
        "ExpressionAttributeValues": {":pk": {"S": chain_pk(tenant)}, ":head": {"N": "0"}},
    }
    while True:
        response = dynamodb.query(**request)
        items.extend(response["Items"])
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def entry_key(tenant: str, sequence: int) -> dict[str, Any]:
    return {"PK": {"S": chain_pk(tenant)}, "SK": {"N": str(sequence)}}


def make_changes(api: Api) -> str:
    """Open a ticket, assign it, start work, and add a message; return the ticket id."""
    ticket = api.create_ticket()
    item = f"/tickets/{ticket['ticket_id']}"
    assigned = api.call("patch", item, {"assignee_id": "agent-park"}, {"If-Match": '"1"'})
    assert assigned.status_code == 200, assigned.body
    started = api.call("patch", item, {"status": "in_progress", "priority": "high"}, {"If-Match": assigned.headers["ETag"]})
    assert started.status_code == 200, started.body
    message = api.call("post", f"{item}/messages", {"body": COMPLAINT, "channel": "chat", "author_id": "emp-10482"})
    assert message.status_code == 201, message.body
    return ticket["ticket_id"]


def verify(api: Api, query: str = "") -> dict[str, Any]:
    response = api.call("get", f"/audit/verify{query}")
    assert response.status_code == 200, response.body
    return response.json


# Entries of state changes.


def test_state_changes_are_logged_in_order(supervisor: Api) -> None:
    ticket_id = make_changes(supervisor)

    listing = supervisor.call("get", f"/audit?resource_id={ticket_id}&limit=50")

    assert listing.status_code == 200, listing.body
    entries = list(reversed(listing.json["items"]))
    assert [entry["action"] for entry in entries] == [
        "ticket.created",
        "message.added",
        "ticket.status_changed",
        "ticket.updated",
        "ticket.status_changed",
        "ticket.updated",
        "message.added",
        "ticket.escalated",
    ]
    assert [entry["sequence"] for entry in entries] == list(range(1, 9))
    assert {entry["actor"]["user_id"] for entry in entries} == {"supervisor-kim"}
    assert {entry["actor"]["role"] for entry in entries} == {"supervisor"}
    assert entries[3]["changes"]["assignee_id"] == {"old": None, "new": "agent-park"}
    assert entries[5]["changes"]["status"] == {"old": "assigned", "new": "in_progress"}
    assert entries[5]["changes"]["priority"] == {"old": "medium", "new": "high"}


def test_entries_carry_no_message_text(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    make_changes(supervisor)

    raw = repr(stored_entries(dynamodb, audit_table, tenant))

    assert "프린터" not in raw
    assert "노트북" not in raw
    assert "전원" not in raw


def test_intake_messages_are_logged_as_system(aws: dict[str, str], sentiment_endpoint: Any, tenant: str) -> None:
    from functions import wiring

    inbound = ChannelMessage(
        tenant_id=tenant,
        message_id="gw-1",
        channel="email",
        thread_key="thread-1",
        requester_id="emp-1",
        customer_id="customer-1",
        subject="VPN",
        body="VPN 접속이 안 됩니다.",
    )

    wiring.ticket_service().ingest_channel_message(inbound)
    page = wiring.audit_log().list_entries(tenant, None, 10, None)

    assert {entry.actor for entry in page.items} == {Actor(user_id="intake", role=Role.SYSTEM)}
    assert {entry.action for entry in page.items} == {"ticket.created", "message.added"}


def test_duplicate_message_adds_no_entry(aws: dict[str, str], sentiment_endpoint: Any, tenant: str) -> None:
    from functions import wiring

    caller = Caller(tenant_id=tenant, user_id="supervisor-kim", role=Role.SUPERVISOR)
    service = wiring.ticket_service()
    ticket = service.create_ticket(caller, _create_request())
    request = AddMessageRequest(body="로그인이 안 돼요", channel="chat", author_id="emp-1")
    service.add_message(caller, ticket.ticket_id, request, message_id="message-fixed")
    before = wiring.audit_log().read_head(tenant)

    repeated = service.add_message(caller, ticket.ticket_id, request, message_id="message-fixed")

    assert repeated.duplicate
    assert wiring.audit_log().read_head(tenant) == before


def test_unchanged_patch_adds_no_entry(supervisor: Api, tenant: str) -> None:
    from functions import wiring

    ticket = supervisor.create_ticket()
    before = wiring.audit_log().read_head(tenant)

    response = supervisor.call("patch", f"/tickets/{ticket['ticket_id']}", {"priority": ticket["priority"]}, {"If-Match": '"1"'})

    assert response.status_code == 200, response.body
    assert wiring.audit_log().read_head(tenant) == before


def _create_request() -> Any:
    from functions.models.tickets import CreateTicketRequest

    return CreateTicketRequest(
        title="로그인 문제", description="로그인이 안 됩니다.", requester_id="emp-1", customer_id="customer-1", channel="web_form"
    )


def test_change_fails_when_its_entry_cannot_be_written(
    supervisor: Api, dynamodb: Any, audit_table: str, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import wiring

    ticket = supervisor.create_ticket()
    head = wiring.audit_log().read_head(tenant)
    # An item squatting on the next sequence number makes every append attempt fail.
    dynamodb.put_item(TableName=audit_table, Item={**entry_key(tenant, head.sequence + 1), "type": {"S": "squatter"}})
    monkeypatch.setattr(wiring.audit_log(), "_sleep", lambda seconds: None)

    response = supervisor.call("patch", f"/tickets/{ticket['ticket_id']}", {"priority": "critical"}, {"If-Match": '"1"'})

    assert response.status_code == 503, response.body
    assert response.json["code"] == "dependency_failed"
    unchanged = supervisor.call("get", f"/tickets/{ticket['ticket_id']}").json
    assert unchanged["priority"] == ticket["priority"]
    assert unchanged["version"] == 1
    assert wiring.audit_log().read_head(tenant) == head


# Verification over the API.


def test_verify_reports_intact_chain(supervisor: Api) -> None:
    make_changes(supervisor)

    report = verify(supervisor)

    assert report["intact"] is True
    assert report["entries"] == 8
    assert report["head"]["sequence"] == 8
    assert report["first_broken"] is None
    assert report["next_cursor"] is None


def test_verify_names_changed_field(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    make_changes(supervisor)

    dynamodb.update_item(
        TableName=audit_table,
        Key=entry_key(tenant, 4),
        UpdateExpression="SET changes.assignee_id.#new = :someone",
        ExpressionAttributeNames={"#new": "new"},
        ExpressionAttributeValues={":someone": {"S": "agent-lee"}},
    )
    report = verify(supervisor)

    assert report["intact"] is False
    assert report["first_broken"]["sequence"] == 4
    assert report["first_broken"]["reason"] == "hash mismatch"
    assert report["through_sequence"] == 3


def test_verify_names_deleted_entry(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    make_changes(supervisor)

    dynamodb.delete_item(TableName=audit_table, Key=entry_key(tenant, 5))
    report = verify(supervisor)

    assert report["intact"] is False
    assert report["first_broken"]["sequence"] == 5
    assert report["first_broken"]["reason"] == "gap"


def test_verify_names_entry_after_rehashed_rewrite(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    from functions.adapters.audit import entry_from_item, entry_item

    make_changes(supervisor)
    stored = entry_from_item(dynamodb.get_item(TableName=audit_table, Key=entry_key(tenant, 2))["Item"])
    forged = stored.model_copy(update={"actor": Actor(user_id="someone-else", role=Role.ADMIN)})
    forged = forged.model_copy(update={"hash": entry_hash(forged)})

    dynamodb.put_item(TableName=audit_table, Item=entry_item(forged))
    report = verify(supervisor)

    assert report["first_broken"] == {
        "sequence": 3,
        "reason": "previous hash mismatch",
        "detail": report["first_broken"]["detail"],
    }


def test_verify_names_malformed_entry(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    make_changes(supervisor)

    dynamodb.update_item(
        TableName=audit_table, Key=entry_key(tenant, 6), UpdateExpression="REMOVE actor"
    )
    report = verify(supervisor)

    assert report["first_broken"]["sequence"] == 6
    assert report["first_broken"]["reason"] == "hash mismatch"


def test_verify_pages_with_cursor(supervisor: Api) -> None:
    make_changes(supervisor)

    reports = [verify(supervisor, "?limit=3")]
    while reports[-1]["next_cursor"]:
        reports.append(verify(supervisor, f"?limit=3&cursor={reports[-1]['next_cursor']}"))

    assert [(report["from_sequence"], report["through_sequence"]) for report in reports] == [(1, 3), (4, 6), (7, 8)]
    assert all(report["intact"] for report in reports)
    assert sum(report["entries"] for report in reports) == 8


def test_verify_from_sequence_finds_later_break(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    make_changes(supervisor)
    dynamodb.delete_item(TableName=audit_table, Key=entry_key(tenant, 8))

    report = verify(supervisor, "?from_sequence=6")

    assert report["entries"] == 2
    assert report["first_broken"]["sequence"] == 8
    assert report["first_broken"]["reason"] == "gap"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=abc", "limit"),
        ("?from_sequence=-1", "from_sequence"),
        ("?from_sequence=99", "from_sequence"),
        ("?cursor=bm90LWEtY3Vyc29y", "cursor"),
    ],
)
def test_verify_rejects_bad_parameters(supervisor: Api, query: str, field: str) -> None:
    make_changes(supervisor)

    response = supervisor.call("get", f"/audit/verify{query}")

    assert response.status_code == 400, response.body
    assert response.json["details"]["field"] == field


def test_agents_cannot_read_audit(client: Any, tenant: str) -> None:
    agent = Api(client, tenant, user_id="agent-1", role="agent")

    assert agent.call("get", "/audit/verify").status_code == 403
    assert agent.call("get", "/audit").status_code == 403


def test_tenants_see_only_their_chain(supervisor: Api, client: Any, tenant: str) -> None:
    make_changes(supervisor)
    other = Api(client, f"{tenant}-other", user_id="supervisor-lee", role="admin")

    assert other.call("get", "/audit").json["items"] == []
    assert verify(other)["head"]["sequence"] == 0


def test_listing_pages_with_cursor(supervisor: Api) -> None:
    ticket_id = make_changes(supervisor)

    first = supervisor.call("get", "/audit?limit=5").json
    second = supervisor.call("get", f"/audit?limit=5&cursor={first['next_cursor']}").json
    wrong_scope = supervisor.call("get", f"/audit?resource_id={ticket_id}&cursor={first['next_cursor']}")

    assert [entry["sequence"] for entry in first["items"]] == [8, 7, 6, 5, 4]
    assert [entry["sequence"] for entry in second["items"]] == [3, 2, 1]
    assert wrong_scope.status_code == 400
    assert wrong_scope.json["details"]["field"] == "cursor"


def test_audit_responses_match_document(supervisor: Api) -> None:
    from tests.integration.test_openapi_contract import ROOT, assert_documented

    specification = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    ticket_id = make_changes(supervisor)

    assert_documented(specification, "get", "/audit", supervisor.call("get", f"/audit?resource_id={ticket_id}&limit=2"))
    assert_documented(specification, "get", "/audit/verify", supervisor.call("get", "/audit/verify?limit=3"))
    assert_documented(specification, "get", "/audit/verify", supervisor.call("get", "/audit/verify?limit=0"))


# Concurrent writers. The `aws` fixture runs one moto request at a time, as DynamoDB runs each
# request atomically, so these tests race on everything between requests.


def test_concurrent_appends_keep_one_chain(
    aws: dict[str, str], dynamodb: Any, audit_table: str, tenant: str
) -> None:
    writers, appends_each = 6, 8
    retries: list[float] = []
    # One log per writer, like separate Lambda containers: a shared one would queue its
    # threads on its own lock and never race.
    logs = [DynamoAuditLog(dynamodb, audit_table, max_attempts=100, sleep=retries.append) for _ in range(writers)]
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        start.wait()
        try:
            for number in range(appends_each):
                logs[writer].append([_record(tenant, f"writer-{writer}-{number}")])
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    items = stored_entries(dynamodb, audit_table, tenant)
    assert [int(item["SK"]["N"]) for item in items] == list(range(1, writers * appends_each + 1))
    assert sorted(item["resource_id"]["S"] for item in items) == sorted(
        f"writer-{writer}-{number}" for writer in range(writers) for number in range(appends_each)
    )
    assert logs[0].read_head(tenant).sequence == writers * appends_each
    assert retries, "the writers never raced, so the test did not exercise a conflict"


def test_concurrent_ticket_changes_keep_one_chain(
    supervisor: Api, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import wiring

    tickets = [supervisor.create_ticket()["ticket_id"] for _ in range(5)]
    monkeypatch.setattr(wiring.audit_log(), "_max_attempts", 100)
    caller = Caller(tenant_id=tenant, user_id="supervisor-kim", role=Role.SUPERVISOR)
    service = wiring.ticket_service()
    start = threading.Barrier(len(tickets))
    failures: list[BaseException] = []

    def add_messages(ticket_id: str) -> None:
        start.wait()
        try:
            for number in range(3):
                request = AddMessageRequest(body=f"확인 부탁드립니다 {number}", channel="chat", author_id="emp-1")
                service.add_message(caller, ticket_id, request)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=add_messages, args=(ticket_id,)) for ticket_id in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    report = verify(supervisor)
    assert report["intact"] is True
    # Each ticket: created and its first message, then three messages.
    assert report["head"]["sequence"] == len(tickets) * 5


def test_append_rejects_records_of_two_tenants(aws: dict[str, str], dynamodb: Any, audit_table: str) -> None:
    log = DynamoAuditLog(dynamodb, audit_table)

    with pytest.raises(ValueError, match="one tenant"):
        log.append([_record("tenant-a", "x"), _record("tenant-b", "y")])


def test_stored_entries_rehash_to_their_hash(supervisor: Api, dynamodb: Any, audit_table: str, tenant: str) -> None:
    from functions.adapters.audit import entry_from_item

    make_changes(supervisor)

    entries = [entry_from_item(item) for item in stored_entries(dynamodb, audit_table, tenant)]

    assert [entry_hash(entry) for entry in entries] == [entry.hash for entry in entries]
    assert chain_records_continue(entries)


def chain_records_continue(entries: list[Any]) -> bool:
    """True when each entry links to the one before it."""
    return all(later.previous_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))


def _record(tenant: str, resource_id: str) -> AuditRecord:
    return AuditRecord(
        tenant_id=tenant,
        timestamp="2025-03-04T05:06:07.000000Z",
        actor=Actor(user_id="settings-admin", role=Role.ADMIN),
        action="configuration.changed",
        resource_type="configuration",
        resource_id=resource_id,
        changes={"negative_threshold": AuditChange(old="0.85", new="0.8")},
    )
