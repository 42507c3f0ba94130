"""Customer 360, proactive notices, surveys and KPIs on moto: API calls, EventBridge delivery to
the insights queue, and the insights consumer invoked as Lambda would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.lambda_runtime import invoke, scheduled_event, sqs_event
from tests.conftest import Api

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples" / "eventbridge"


@pytest.fixture
def app(client: Any) -> Any:
    from app import app as chalice_app

    return chalice_app


@pytest.fixture
def insights_queue(aws: dict[str, str]) -> str:
    return aws["InsightsQueueUrl"]


@pytest.fixture
def reset_insight_wiring() -> Iterator[None]:
    from functions import wiring

    wiring.insight_processor.cache_clear()
    wiring.customer_service.cache_clear()
    yield
    wiring.insight_processor.cache_clear()
    wiring.customer_service.cache_clear()


def run_insights(app: Any, queue_url: str, tenant: str, max_rounds: int = 50) -> list[dict[str, Any]]:
    """Feed the queue's events of one tenant to the insights consumer until none are left.

    Events of other tests' tenants share the session's queue and are deleted unprocessed.
    Returns the bodies processed, with the consumer's failures under key "failed".
    """
    import boto3

    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    processed: list[dict[str, Any]] = []
    for _ in range(max_rounds):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        mine = [message for message in messages if json.loads(message["Body"]).get("detail", {}).get("tenant_id") == tenant]
        if mine:
            result = invoke(app, "handle_insights", sqs_event(queue_arn, mine))
            failed = {failure["itemIdentifier"] for failure in (result or {}).get("batchItemFailures", [])}
            for message in mine:
                processed.append({**json.loads(message["Body"]), "failed": message["MessageId"] in failed})
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return processed


def profile_body(**fields: Any) -> dict[str, Any]:
    return {
        "company": "한빛물류",
        "tier": "enterprise",
        "contacts": [{"name": "김하나", "email": "hana@example.com", "user_id": "requester-1", "primary": True}],
        "preferred_channel": "email",
        "preferred_language": "ko",
        "time_zone": "Asia/Seoul",
        "services": ["VPN"],
        "device_models": ["lg-gram-16"],
        **fields,
    }


def today_in_kpi_zone() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Seoul")).date().isoformat()


def resolve(api: Api, ticket: dict[str, Any]) -> dict[str, Any]:
    response = api.call("patch", f"/tickets/{ticket['ticket_id']}", {"status": "resolved", "version": ticket["version"]})
    assert response.status_code == 200, response.body
    return response.json


# Profiles.


def test_profile_create_replace_and_conflict(api: Api) -> None:
    created = api.call("put", "/customers/hanbit", profile_body())
    without_version = api.call("put", "/customers/hanbit", profile_body(tier="vip"))
    replaced = api.call("put", "/customers/hanbit", profile_body(tier="vip"), headers={"If-Match": '"1"'})
    stale = api.call("put", "/customers/hanbit", profile_body(tier="standard", version=1))
    read = api.call("get", "/customers/hanbit")

    assert created.status_code == 201
    assert created.json["services"] == ["vpn"]
    assert without_version.status_code == 400
    assert replaced.status_code == 200
    assert replaced.json["version"] == 2
    assert stale.status_code == 409
    assert stale.json["code"] == "profile_version_conflict"
    assert read.json["tier"] == "vip"
    assert read.headers["ETag"] == '"2"'


def test_percent_encoded_customer_id_is_decoded(api: Api) -> None:
    created = api.call("put", "/customers/acme%40corp.kr", profile_body())

    read = api.call("get", "/customers/acme@corp.kr")
    encoded = api.call("get", "/customers/acme%40corp.kr")

    assert created.status_code == 201, created.body
    assert created.json["customer_id"] == "acme@corp.kr"
    assert read.status_code == 200
    assert encoded.status_code == 200
    assert encoded.json == read.json


def test_profile_rejects_unknown_time_zone(api: Api) -> None:
    response = api.call("put", "/customers/c-tz", profile_body(time_zone="Mars/Olympus"))

    assert response.status_code == 400
    assert response.json["details"]["field"] == "time_zone"


def test_profile_change_is_audited(api: Api) -> None:
    api.call("put", "/customers/c-audit", profile_body())

    entries = api.call("get", "/audit?resource_id=c-audit").json["items"]

    assert [entry["action"] for entry in entries] == ["customer.created"]
    assert entries[0]["changes"]["contacts"]["new"] == "1 contacts"
    assert "hana@example.com" not in json.dumps(entries)


# Timeline, 360 view and KPIs from events.


def test_360_view_built_from_events(api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    api.call("put", "/customers/customer-1", profile_body())
    ticket = api.create_ticket(title="프린터 고장", description="프린터가 안 됩니다")
    agent_reply = api.call(
        "post",
        f"/tickets/{ticket['ticket_id']}/messages",
        {"body": "확인했습니다", "channel": "email", "author_type": "agent", "author_id": "supervisor-1"},
    )
    assert agent_reply.status_code == 201
    resolve(api, agent_reply.json["ticket"])
    open_ticket = api.create_ticket(title="화가 납니다 최악", channel="chat")

    processed = run_insights(app, insights_queue, tenant)
    view = api.call("get", "/customers/customer-1/360")

    assert processed and not any(body["failed"] for body in processed)
    assert view.status_code == 200
    kinds = [item["kind"] for item in view.json["timeline"]]
    assert kinds.count("ticket_opened") == 2
    assert "status_changed" in kinds
    assert "survey_requested" in kinds
    assert {item["channel"] for item in view.json["timeline"] if item["kind"] == "message"} >= {"web_form", "email", "chat"}
    assert [t["ticket_id"] for t in view.json["open_tickets"]] == [open_ticket["ticket_id"]]
    assert [t["ticket_id"] for t in view.json["past_tickets"]] == [ticket["ticket_id"]]
    assert view.json["sentiment_trend"][0]["count"] == 2
    assert view.json["churn_risk"]["model_version"] == "points-1"
    assert "escalations" in {reason["code"] for reason in view.json["churn_risk"]["reasons"]}


def test_kpis_count_each_event_once(api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    ticket = api.create_ticket(title="printer broken")
    resolve(api, ticket)
    import boto3

    sqs = boto3.client("sqs")
    messages = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=insights_queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        messages += [m for m in batch if json.loads(m["Body"])["detail"].get("tenant_id") == tenant]
        for message in batch:
            sqs.delete_message(QueueUrl=insights_queue, ReceiptHandle=message["ReceiptHandle"])
    arn = sqs.get_queue_attributes(QueueUrl=insights_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redelivered = [{**message, "MessageId": message["MessageId"] + "-again"} for message in messages]

    invoke(app, "handle_insights", sqs_event(arn, messages))
    invoke(app, "handle_insights", sqs_event(arn, redelivered))
    today = today_in_kpi_zone()
    report = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]

    assert report["automation_rate"]["numerator"] == 1
    assert report["automation_rate"]["denominator"] == 1
    assert report["mttr_hours"]["denominator"] == 1
    assert report["first_contact_resolution"]["value"] == 100.0
    assert report["backlog"]["value"] == 0


def test_kpis_per_queue_and_backlog(api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    printer = api.create_ticket(title="printer jam")
    api.create_ticket(title="password reset")
    api.create_ticket(title="something else")
    resolve(api, printer)

    run_insights(app, insights_queue, tenant)
    today = today_in_kpi_zone()
    everything = api.call("get", f"/kpis?from={today}&to={today}").json
    hardware = api.call("get", f"/kpis?from={today}&to={today}&queue=hardware").json

    assert everything["kpis"]["backlog"]["value"] == 2
    assert everything["kpis"]["escalation_rate"]["denominator"] == 3
    assert everything["kpis"]["automation_rate"]["value"] == pytest.approx(66.6667, abs=0.001)
    assert hardware["kpis"]["backlog"]["value"] == 0
    assert hardware["kpis"]["mttr_hours"]["denominator"] == 1
    assert hardware["days"][0]["values"]["created"] == 1


def test_reopen_takes_back_first_contact_resolution(
    api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None
) -> None:
    resolved = resolve(api, api.create_ticket(title="printer jam"))
    run_insights(app, insights_queue, tenant)
    today = today_in_kpi_zone()
    before = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]["first_contact_resolution"]

    reopened = api.call("patch", f"/tickets/{resolved['ticket_id']}", {"status": "reopened", "version": resolved["version"]})
    assert reopened.status_code == 200, reopened.body
    run_insights(app, insights_queue, tenant)
    after = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]["first_contact_resolution"]

    assert before["numerator"] == 1
    assert before["denominator"] == 1
    assert after["numerator"] == 0
    assert after["denominator"] == 1


def test_kpis_backlog_of_past_window(api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    api.create_ticket(title="printer jam")
    run_insights(app, insights_queue, tenant)
    yesterday = (datetime.now(UTC).astimezone(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)).isoformat()

    report = api.call("get", f"/kpis?from={yesterday}&to={yesterday}").json

    # The ticket opened today, so none was open at the end of yesterday.
    assert report["kpis"]["backlog"]["value"] == 0
    assert report["kpis"]["mttr_hours"]["value"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-02&to=2026-01-01", "to"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("from=2026-13-01&to=2026-12-01", "from"),
        ("to=2026-01-01", "from"),
        ("from=2026-01-01&to=2026-01-02&queue=a*b", "queue"),
        ("from=2026-01-01&to=2026-01-02&team=x", "team"),
    ],
)
def test_kpis_reject_bad_parameters(api: Api, query: str, field: str) -> None:
    response = api.call("get", f"/kpis?{query}", headers={"Accept-Language": "ko"})

    assert response.status_code == 400
    assert response.json["details"]["field"] == field
    assert response.headers["Content-Language"] == "ko"


# Proactive support.


def test_known_problem_notifies_each_customer_once(
    api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None
) -> None:
    api.call("put", "/customers/uses-vpn", profile_body(preferred_language="en", company="Acme", device_models=[]))
    api.call("put", "/customers/uses-both", profile_body(services=["vpn"], device_models=["LG-Gram-16"]))
    api.call("put", "/customers/unaffected", profile_body(services=["mail"], device_models=[]))
    problem = {
        "problem_id": "vpn-outage-1",
        "title": "VPN 접속 장애",
        "title_en": "VPN connection failures",
        "affected_services": ["vpn"],
        "affected_device_models": ["lg-gram-16"],
        "prevention_guide_ko": "VPN 클라이언트를 5.2로 업데이트하세요.",
        "prevention_guide_en": "Update the VPN client to 5.2.",
        "severity": "high",
    }

    first = api.call("post", "/known-problems", problem)
    run_insights(app, insights_queue, tenant)
    again = api.call("post", "/known-problems", problem)
    run_insights(app, insights_queue, tenant)
    english = api.call("get", "/customers/uses-vpn/360").json
    korean = api.call("get", "/customers/uses-both/360").json
    unaffected = api.call("get", "/customers/unaffected/360").json

    assert first.status_code == 201
    assert again.status_code == 200
    assert len(english["notices"]) == 1
    assert english["notices"][0]["subject"] == "[Advance notice] VPN connection failures"
    assert "Update the VPN client to 5.2." in english["notices"][0]["body"]
    assert len(korean["notices"]) == 1
    assert korean["notices"][0]["subject"] == "[사전 안내] VPN 접속 장애"
    assert "lg-gram-16, vpn" in korean["notices"][0]["body"]
    assert [item["kind"] for item in korean["timeline"]] == ["proactive_notice"]
    assert unaffected["notices"] == []


def test_redelivered_announcement_sends_nothing_new(
    api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None
) -> None:
    import boto3

    api.call("put", "/customers/c1", profile_body())
    api.call(
        "post",
        "/known-problems",
        {"problem_id": "p1", "title": "장애", "affected_services": ["vpn"], "prevention_guide_ko": "재부팅", "prevention_guide_en": "Reboot"},
    )
    sqs = boto3.client("sqs")
    messages = [
        m
        for m in sqs.receive_message(QueueUrl=insights_queue, MaxNumberOfMessages=10).get("Messages", [])
        if json.loads(m["Body"])["detail"].get("tenant_id") == tenant
    ]
    arn = sqs.get_queue_attributes(QueueUrl=insights_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    invoke(app, "handle_insights", sqs_event(arn, messages))
    invoke(app, "handle_insights", sqs_event(arn, [{**m, "MessageId": m["MessageId"] + "-2"} for m in messages]))
    view = api.call("get", "/customers/c1/360").json

    assert len(messages) == 1
    assert len(view["notices"]) == 1
    assert len(view["timeline"]) == 1


def test_fan_out_continues_in_batches(
    api: Api, app: Any, insights_queue: str, tenant: str, monkeypatch: pytest.MonkeyPatch, reset_insight_wiring: None
) -> None:
    monkeypatch.setenv("NOTICE_FAN_OUT_BATCH", "2")
    from functions import wiring

    wiring.get_settings.cache_clear()
    for number in range(5):
        api.call("put", f"/customers/c{number}", profile_body(device_models=[]))
    api.call(
        "post",
        "/known-problems",
        {"title": "VPN", "affected_services": ["vpn"], "prevention_guide_ko": "재시작", "prevention_guide_en": "Restart"},
    )

    processed = run_insights(app, insights_queue, tenant)
    wiring.get_settings.cache_clear()

    assert [body["detail"].get("cursor") is not None for body in processed] == [False, True, True]
    for number in range(5):
        assert len(api.call("get", f"/customers/c{number}/360").json["notices"]) == 1


def test_partner_monitoring_event_records_problem(
    api: Api, app: Any, aws: dict[str, str], insights_queue: str, tenant: str, reset_insight_wiring: None
) -> None:
    import boto3

    api.call("put", "/customers/c1", profile_body(device_models=["lg-gram-16"], services=[]))
    detail = {
        "schema_version": "1",
        "tenant_id": tenant,
        "problem_id": "battery-swelling",
        "monitor": "device-telemetry",
        "title": "배터리 팽창",
        "affected_device_models": ["LG-Gram-16"],
        "prevention_guide_ko": "충전 한도를 80%로 설정하세요.",
        "prevention_guide_en": "Set the charge limit to 80%.",
    }
    boto3.client("events").put_events(
        Entries=[
            {
                "EventBusName": aws["EventBusName"],
                "Source": "partner.monitoring",
                "DetailType": "KnownProblemDetected",
                "Detail": json.dumps(detail, ensure_ascii=False),
            }
        ]
    )

    processed = run_insights(app, insights_queue, tenant)
    problem = api.call("get", "/known-problems/battery-swelling")
    view = api.call("get", "/customers/c1/360").json

    assert [body["detail-type"] for body in processed] == ["KnownProblemDetected", "KnownProblemAnnounced"]
    assert problem.json["source"] == "partner_event"
    assert problem.json["created_by"] == "device-telemetry"
    assert view["notices"][0]["problem_id"] == "battery-swelling"


def test_invalid_event_fails_only_its_record(app: Any, aws: dict[str, str], insights_queue: str, tenant: str) -> None:
    import boto3

    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=insights_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sample = json.loads((SAMPLES / "TicketCreated.json").read_text("utf-8"))
    sample["detail"]["tenant_id"] = tenant
    # A valid event of a ticket that does not exist is skipped, which is a success.
    good = {"MessageId": "m-good", "ReceiptHandle": "r1", "Body": json.dumps(sample)}
    unknown = {"MessageId": "m-unknown", "ReceiptHandle": "r0", "Body": json.dumps({"detail-type": "Unknown", "detail": {}})}
    broken = {"MessageId": "m-broken", "ReceiptHandle": "r2", "Body": "not json"}
    missing = {
        "MessageId": "m-missing",
        "ReceiptHandle": "r3",
        "Body": json.dumps({"detail-type": "KnownProblemDetected", "detail": {"tenant_id": tenant}}),
    }

    result = invoke(app, "handle_insights", sqs_event(arn, [good, unknown, broken, missing]))

    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {"m-unknown", "m-broken", "m-missing"}


# Surveys and follow-ups.


def test_csat_low_score_opens_follow_up(api: Api, client: Any, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    api.call("put", "/customers/customer-1", profile_body())
    ticket = resolve(api, api.create_ticket(title="printer broken"))
    run_insights(app, insights_queue, tenant)
    survey_id = f"csat-{ticket['ticket_id']}"
    requester = Api(client, tenant, user_id="requester-1", role="requester")
    stranger = Api(client, tenant, user_id="requester-2", role="requester")

    read = requester.call("get", f"/surveys/{survey_id}")
    out_of_range = requester.call("post", f"/surveys/{survey_id}/answer", {"score": 7})
    not_numbers = [
        requester.call("post", f"/surveys/{survey_id}/answer", {"score": value}) for value in ("5", 5.0, True)
    ]
    by_stranger = stranger.call("post", f"/surveys/{survey_id}/answer", {"score": 5})
    by_supervisor = api.call("post", f"/surveys/{survey_id}/answer", {"score": 5})
    answered = requester.call("post", f"/surveys/{survey_id}/answer", {"score": 2, "comment": "느렸어요"})
    twice = requester.call("post", f"/surveys/{survey_id}/answer", {"score": 5})
    retried = requester.call("post", f"/surveys/{survey_id}/answer", {"score": 2, "comment": "느렸어요"})
    follow_ups = api.call("get", "/follow-ups?status=open").json["items"]
    today = today_in_kpi_zone()
    csat = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]["csat"]
    view = api.call("get", "/customers/customer-1/360").json

    assert read.status_code == 200
    assert read.json["status"] == "pending"
    assert out_of_range.status_code == 400
    assert [response.status_code for response in not_numbers] == [400, 400, 400]
    assert {response.json["details"]["field"] for response in not_numbers} == {"score"}
    assert by_stranger.status_code == 404
    assert by_supervisor.status_code == 403
    assert answered.status_code == 200
    assert answered.json["follow_up_id"] == follow_ups[0]["task_id"]
    assert twice.status_code == 409
    assert twice.json["code"] == "state_conflict"
    assert retried.status_code == 200
    assert retried.json == answered.json
    assert len(follow_ups) == 1
    assert follow_ups[0]["reason"] == "low_csat"
    assert follow_ups[0]["queue"] == "supervisor-follow-up"
    assert csat == {"value": 2.0, "numerator": 2.0, "denominator": 1.0, "unit": "score 1-5"}
    assert view["satisfaction_trend"][0]["value"] == 2.0
    assert "low_csat" in {reason["code"] for reason in view["churn_risk"]["reasons"]}

    completed = api.call("post", f"/follow-ups/{follow_ups[0]['task_id']}/complete", {"note": "called back"})
    again = api.call("post", f"/follow-ups/{follow_ups[0]['task_id']}/complete", {})

    assert completed.json["status"] == "done"
    assert again.status_code == 409
    assert api.call("get", "/follow-ups?status=open").json["items"] == []


def test_high_csat_opens_no_follow_up(api: Api, client: Any, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    ticket = resolve(api, api.create_ticket(title="printer broken"))
    run_insights(app, insights_queue, tenant)
    requester = Api(client, tenant, user_id="requester-1", role="requester")

    answered = requester.call("post", f"/surveys/csat-{ticket['ticket_id']}/answer", {"score": 5})

    assert answered.json["follow_up_id"] is None
    assert api.call("get", "/follow-ups").json["items"] == []


def test_nps_job_surveys_each_customer_once(api: Api, client: Any, app: Any, tenant: str, reset_insight_wiring: None) -> None:
    api.call("put", "/customers/with-contact", profile_body())
    api.call("put", "/customers/no-contact", profile_body(contacts=[]))

    first = invoke(app, "request_nps_surveys", scheduled_event("request_nps_surveys"))
    second = invoke(app, "request_nps_surveys", scheduled_event("request_nps_surveys"))
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Seoul")).date()
    survey_id = f"nps-with-contact-{local.year}-Q{(local.month - 1) // 3 + 1}"
    requester = Api(client, tenant, user_id="requester-1", role="requester")
    answered = requester.call("post", f"/surveys/{survey_id}/answer", {"score": 4})
    follow_ups = api.call("get", "/follow-ups").json["items"]
    today = today_in_kpi_zone()
    nps = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]["nps"]

    assert first["requested"] >= 1
    assert second["requested"] == 0
    assert answered.status_code == 200
    assert [task["reason"] for task in follow_ups] == ["low_nps"]
    assert nps["value"] == -100.0
    assert api.call("get", "/customers/no-contact/360").json["timeline"] == []


# Roles.

ROUTES = [
    ("put", "/customers/c1", profile_body()),
    ("get", "/customers/c1", None),
    ("get", "/customers/c1/360", None),
    ("post", "/known-problems", {"title": "x", "affected_services": ["vpn"], "prevention_guide_ko": "x", "prevention_guide_en": "x"}),
    ("get", "/known-problems/p1", None),
    ("get", "/follow-ups", None),
    ("post", "/follow-ups/t1/complete", {}),
    ("get", "/kpis?from=2026-01-01&to=2026-01-02", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    ROUTES
    + [
        ("put", "/partner/customers/c1", profile_body()),
        ("get", "/surveys/s1", None),
        ("post", "/surveys/s1/answer", {"score": 1}),
    ],
)
def test_routes_need_authentication(client: Any, method: str, path: str, body: Any) -> None:
    raw = json.dumps(body).encode() if body is not None else b""
    response = getattr(client.http, method)(path, headers={"Content-Type": "application/json"}, body=raw)

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_requesters_are_forbidden(client: Any, tenant: str, method: str, path: str, body: Any) -> None:
    requester = Api(client, tenant, user_id="requester-1", role="requester")

    assert requester.call(method, path, body).status_code == 403


@pytest.mark.parametrize(("method", "path", "body"), [ROUTES[0], ROUTES[5], ROUTES[6], ROUTES[7]])
def test_agents_are_forbidden(client: Any, tenant: str, method: str, path: str, body: Any) -> None:
    agent = Api(client, tenant, user_id="agent-1", role="agent", queues=("hardware",))

    assert agent.call(method, path, body).status_code == 403


def test_agent_reads_kpis_of_own_queue(client: Any, tenant: str) -> None:
    agent = Api(client, tenant, user_id="agent-1", role="agent", queues=("hardware",))

    assert agent.call("get", "/kpis?from=2026-01-01&to=2026-01-02&queue=hardware").status_code == 200
    assert agent.call("get", "/kpis?from=2026-01-01&to=2026-01-02&queue=identity").status_code == 403


def test_partner_saves_profile_only_on_partner_route(client: Any, tenant: str) -> None:
    partner = Api(client, tenant, user_id="crm", role="partner")

    on_people_route = partner.call("put", "/customers/c1", profile_body())
    on_partner_route = partner.call("put", "/partner/customers/c1", profile_body(), headers={"x-api-key": "test"})

    assert on_people_route.status_code == 403
    assert on_partner_route.status_code == 201


def test_people_cannot_use_partner_route(api: Api) -> None:
    response = api.call("put", "/partner/customers/c1", profile_body())

    assert response.status_code == 403
    assert response.json["details"]["reason"] == "partner_route"


def test_other_tenant_sees_no_customer(api: Api, client: Any, tenant: str) -> None:
    api.call("put", "/customers/c1", profile_body())
    other = Api(client, tenant + "-other")

    assert other.call("get", "/customers/c1/360").status_code == 404


# Report.


def test_report_drawn_from_seeded_kpis(api: Api, client: Any, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None) -> None:
    from cli import report

    for title in ("printer jam", "printer toner", "password reset", "화가 나요 최악"):
        ticket = api.create_ticket(title=title)
        if "printer" in title:
            resolve(api, ticket)
    run_insights(app, insights_queue, tenant)
    today = today_in_kpi_zone()
    data = api.call("get", f"/kpis?from={today}&to={today}").json

    page = report.render_html(data)

    assert data["kpis"]["backlog"]["value"] == 2
    assert data["kpis"]["escalation_rate"]["value"] == 25.0
    assert page.count("data:image/png;base64,") == 6
    assert "<td>Backlog</td><td class=num>2.00</td>" in page


def test_concurrent_events_of_one_ticket_count_once(
    api: Api, app: Any, insights_queue: str, tenant: str, reset_insight_wiring: None
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    ticket = api.create_ticket(title="printer broken")
    for number in range(3):
        reply = api.call(
            "post",
            f"/tickets/{ticket['ticket_id']}/messages",
            {"body": f"still broken {number}", "channel": "chat", "author_type": "requester", "author_id": "requester-1"},
        )
        ticket = reply.json["ticket"]
    resolve(api, ticket)
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=insights_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=insights_queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        messages += [m for m in batch if json.loads(m["Body"])["detail"].get("tenant_id") == tenant]
        for message in batch:
            sqs.delete_message(QueueUrl=insights_queue, ReceiptHandle=message["ReceiptHandle"])

    def deliver(message: dict[str, Any]) -> bool:
        """Invoke the consumer with one message, as SQS would, and return whether it succeeded."""
        try:
            result = invoke(app, "handle_insights", sqs_event(arn, [message]))
        except BatchProcessingError:
            return False
        return result["batchItemFailures"] == []

    with ThreadPoolExecutor(max_workers=4) as pool:
        first_round = list(pool.map(deliver, messages))
    # SQS delivers a failed message again; the event markers keep the second delivery of an
    # applied event from counting twice.
    redelivered = [deliver(message) for message, succeeded in zip(messages, first_round, strict=True) if not succeeded]
    today = today_in_kpi_zone()
    kpis = api.call("get", f"/kpis?from={today}&to={today}").json["kpis"]
    view = api.call("get", "/customers/customer-1/360")

    assert len(messages) >= 7
    assert all(redelivered)
    assert kpis["sentiment"]["denominator"] == 4
    assert kpis["mttr_hours"]["denominator"] == 1
    stored = api.call("get", f"/tickets/{ticket['ticket_id']}").json
    assert kpis["first_contact_resolution"]["numerator"] == (0 if stored["escalated"] else 1)
    assert kpis["escalation_rate"]["numerator"] == (1 if stored["escalated"] else 0)
    assert kpis["backlog"]["value"] == 0
    assert view.status_code == 404


def test_known_problem_retry_with_key_records_once(api: Api) -> None:
    problem = {"title": "VPN", "affected_services": ["vpn"], "prevention_guide_ko": "재시작", "prevention_guide_en": "Restart"}

    first = api.call("post", "/known-problems", problem, headers={"Idempotency-Key": "vpn-1"})
    retry = api.call("post", "/known-problems", problem, headers={"Idempotency-Key": "vpn-1"})
    other = api.call("post", "/known-problems", problem, headers={"Idempotency-Key": "vpn-2"})

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json["problem_id"] == first.json["problem_id"]
    assert other.json["problem_id"] != first.json["problem_id"]
