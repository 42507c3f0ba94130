"""Replay a ServiceNow incident event log through the local stack.

Each incident becomes a ticket opened through the API, with the incident number as its
Idempotency-Key and thread key, so a second replay changes nothing. Its update events then
drive the ticket through PATCH requests: state, priority, assignment group (queue) and
assignee. When an incident leaves "Awaiting User Info", the requester's reply arrives as a
channel message on the intake queue, as a real reply would, and joins the ticket by its
thread key.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from cli.local_client import (
    DEFAULT_API_URL,
    DEFAULT_AWS_ENDPOINT,
    DEFAULT_TIMEOUT_SECONDS,
    INTAKE_DEAD_LETTER_QUEUE_NAME,
    INTAKE_QUEUE_NAME,
    ApiClient,
    add_token_arguments,
    queue_depth,
    sqs_client,
    wait_until_drained,
)
from cli.tables import non_negative_int, positive_int
from functions.domain.lifecycle import ALLOWED_TRANSITIONS, NEEDS_ASSIGNEE
from functions.models.tickets import TicketStatus

STATE_MAP: dict[str, TicketStatus] = {
    "New": TicketStatus.NEW,
    "Active": TicketStatus.IN_PROGRESS,
    "Awaiting User Info": TicketStatus.PENDING,
    "Awaiting Problem": TicketStatus.PENDING,
    "Awaiting Vendor": TicketStatus.PENDING,
    "Awaiting Evidence": TicketStatus.PENDING,
    "Resolved": TicketStatus.RESOLVED,
    "Closed": TicketStatus.CLOSED,
}
PRIORITY_MAP = {"1": "critical", "2": "high", "3": "medium", "4": "low"}
CHANNEL_MAP = {"Phone": "phone_transcript", "Email": "email", "Self service": "web_form", "IVR": "phone_transcript"}
MAX_CONFLICT_RETRIES = 8


@dataclass
class Incident:
    number: str
    events: list[dict[str, str]]


@dataclass
class IncidentResult:
    ticket_id: str | None = None
    state_changes: int = 0
    updates: int = 0
    replies: int = 0
    errors: list[str] = field(default_factory=list)
    # The routing decision stored when the ticket opened: the agent, or None while it waited.
    routing_codes: list[str] = field(default_factory=list)
    routed_agent: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="incident event log CSV (one row per update event)")
    parser.add_argument("--limit", type=positive_int, default=None, help="replay only the first N incidents")
    parser.add_argument(
        "--skip",
        type=non_negative_int,
        default=0,
        help="leave out the first N incidents, to go on with a replay that stopped after them",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds a request may wait for the API before it counts as an error (default: {DEFAULT_TIMEOUT_SECONDS:.0f})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="base URL of the API")
    parser.add_argument("--aws-endpoint", default=DEFAULT_AWS_ENDPOINT, help="AWS endpoint of the local stack")
    parser.add_argument("--tenant", default="servicenow-replay", help="tenant id that owns the replayed tickets")
    parser.add_argument("--workers", type=positive_int, default=8, help="incidents replayed at the same time")
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="seconds to wait for queued replies to be processed"
    )
    add_token_arguments(parser)


def read_incidents(path: Path, limit: int | None = None, skip: int = 0) -> Iterator[Incident]:
    """Yield incidents with their events in time order; rows of one incident are contiguous.

    The first `skip` incidents are read and left out; `limit` counts the incidents after them.
    """
    incidents = _all_incidents(path)
    for _ in range(skip):
        if next(incidents, None) is None:
            return
    for count, incident in enumerate(incidents):
        if limit is not None and count >= limit:
            return
        yield incident


def _all_incidents(path: Path) -> Iterator[Incident]:
    with path.open(newline="", encoding="utf-8", errors="strict") as handle:
        reader = csv.DictReader(_utf8_lines(handle, path))
        missing = {"number", "incident_state", "sys_updated_at", "opened_at", "priority"} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path} is not an incident event log: missing columns {', '.join(sorted(missing))}")
        current: Incident | None = None
        for row in reader:
            if current is None or row["number"] != current.number:
                if current is not None:
                    yield _ordered(current)
                current = Incident(row["number"], [])
            current.events.append(row)
        if current is not None:
            yield _ordered(current)


def _utf8_lines(handle, path: Path) -> Iterator[str]:
    try:
        yield from handle
    except UnicodeDecodeError as error:
        raise SystemExit(f"{path} is not UTF-8 text (invalid byte at position {error.start}); convert it to UTF-8") from error


def _ordered(incident: Incident) -> Incident:
    incident.events.sort(key=lambda row: (_timestamp(row["sys_updated_at"]) or datetime.min, _int(row.get("sys_mod_count"))))
    return incident


def status_path(current: TicketStatus, target: TicketStatus) -> list[TicketStatus]:
    """Shortest list of lifecycle steps from current to target (empty when equal or unreachable)."""
    if current == target:
        return []
    previous: dict[TicketStatus, TicketStatus] = {}
    queue = deque([current])
    while queue:
        status = queue.popleft()
        for following in sorted(ALLOWED_TRANSITIONS[status], key=lambda s: s.value):
            if following in previous or following == current:
                continue
            previous[following] = status
            if following == target:
                steps = [target]
                while previous[steps[-1]] != current:
                    steps.append(previous[steps[-1]])
                return list(reversed(steps))
            queue.append(following)
    return []


class ServiceNowReplay:
    def __init__(self, api: ApiClient, sqs: Any, intake_url: str, tenant: str) -> None:
        self._api = api
        self._sqs = sqs
        self._intake_url = intake_url
        self._tenant = tenant

    def replay(self, incident: Incident) -> IncidentResult:
        """Replay one incident; a request that fails (timeout, lost connection) ends it with an error."""
        result = IncidentResult()
        try:
            return self._replay(incident, result)
        except requests.RequestException as error:
            result.errors.append(f"{incident.number}: request failed: {type(error).__name__}: {error}")
            return result

    def _replay(self, incident: Incident, result: IncidentResult) -> IncidentResult:
        first = incident.events[0]
        ticket = self._open(incident, first, result)
        if ticket is None:
            return result
        result.ticket_id = ticket["ticket_id"]
        routing = ticket.get("routing") or {}
        result.routing_codes = list(routing.get("reason_codes") or [])
        result.routed_agent = routing.get("agent_id")

        previous_state = first["incident_state"]
        for event in incident.events[1:]:
            state = event["incident_state"]
            if previous_state == "Awaiting User Info" and state != previous_state:
                self._send_reply(incident, event)
                result.replies += 1
            ticket = self._apply(ticket, event, result)
            if ticket is None:
                break
            previous_state = state
        return result

    def _open(self, incident: Incident, first: dict[str, str], result: IncidentResult) -> dict[str, Any] | None:
        body = {
            "title": " / ".join(value for value in (first.get("category"), first.get("subcategory"), first.get("u_symptom")) if value and value != "?")
            or f"Incident {incident.number}",
            "description": f"{incident.number} opened by {first.get('opened_by', '?')} at {first.get('opened_at', '?')}",
            "requester_id": _identifier(first.get("caller_id"), "caller-unknown"),
            "customer_id": _identifier(first.get("location"), "location-unknown"),
            "channel": CHANNEL_MAP.get(first.get("contact_type", ""), "web_form"),
            "category": _label(first.get("category")),
            "priority": PRIORITY_MAP.get(first.get("priority", "")[:1]),
            "thread_key": incident.number,
        }
        body = {key: value for key, value in body.items() if value is not None}
        response = self._api.request("POST", "/tickets", body, {"Idempotency-Key": f"servicenow-{incident.number}"})
        if response.status_code != 201:
            result.errors.append(f"{incident.number}: open returned {response.status_code} {response.text[:200]}")
            return None
        return response.json()

    def _apply(self, ticket: dict[str, Any], event: dict[str, str], result: IncidentResult) -> dict[str, Any] | None:
        target_status = STATE_MAP.get(event["incident_state"])
        assignee = _identifier(event.get("assigned_to"), None)
        queue = _label(event.get("assignment_group"))
        priority = PRIORITY_MAP.get(event.get("priority", "")[:1])

        fields: dict[str, Any] = {}
        if queue and queue != ticket.get("queue") and not ticket.get("escalated"):
            fields["queue"] = queue
        if priority and priority != ticket["priority"] and not ticket.get("escalated"):
            fields["priority"] = priority
        if assignee and assignee != ticket.get("assignee_id"):
            fields["assignee_id"] = assignee

        steps = status_path(TicketStatus(ticket["status"]), target_status) if target_status else []
        if steps and any(step in NEEDS_ASSIGNEE for step in steps) and not (assignee or ticket.get("assignee_id")):
            fields["assignee_id"] = _identifier(event.get("assignment_group"), "unassigned-agent")

        changes: list[dict[str, Any]] = []
        if steps:
            changes.append({**fields, "status": steps[0].value})
            changes.extend({"status": step.value} for step in steps[1:])
        elif fields:
            changes.append(fields)
        for change in changes:
            ticket = self._patch(ticket, change, result)
            if ticket is None:
                return None
            if "status" in change:
                result.state_changes += 1
        return ticket

    def _patch(self, ticket: dict[str, Any], change: dict[str, Any], result: IncidentResult) -> dict[str, Any] | None:
        path = f"/tickets/{ticket['ticket_id']}"
        target = change.get("status")
        for _ in range(MAX_CONFLICT_RETRIES):
            response = self._api.request("PATCH", path, change, {"If-Match": f'"{ticket["version"]}"'})
            if response.status_code == 200:
                result.updates += 1
                ticket = response.json()
                if target is None or ticket["status"] == target:
                    return ticket
                # After a reopening (below) the change took one step of the new way: take the next.
                steps = status_path(TicketStatus(ticket["status"]), TicketStatus(target))
                if not steps:
                    return ticket
                change = {"status": steps[0].value}
                continue
            if response.status_code == 409 and response.json().get("code") == "version_conflict":
                # A queued reply changed the ticket meanwhile: reload and apply the change again.
                ticket = self._api.request("GET", path).json()
                continue
            if response.status_code == 409 and response.json().get("code") == "invalid_transition":
                # A reply reopened the ticket: the way to the target starts from its new status.
                ticket = self._api.request("GET", path).json()
                steps = status_path(TicketStatus(ticket["status"]), TicketStatus(target or ticket["status"]))
                if not steps:
                    return ticket
                change = dict(change, status=steps[0].value)
                continue
            result.errors.append(f"{ticket['ticket_id']}: PATCH {change} returned {response.status_code} {response.text[:200]}")
            return None
        result.errors.append(f"{ticket['ticket_id']}: PATCH kept conflicting after {MAX_CONFLICT_RETRIES} tries")
        return None

    def _send_reply(self, incident: Incident, event: dict[str, str]) -> None:
        message = {
            "tenant_id": self._tenant,
            "message_id": f"{incident.number}-{_int(event.get('sys_mod_count'))}",
            "channel": CHANNEL_MAP.get(event.get("contact_type", ""), "email"),
            "thread_key": incident.number,
            "customer_id": _identifier(event.get("location"), "location-unknown"),
            "requester_id": _identifier(event.get("caller_id"), "caller-unknown"),
            "body": "요청하신 정보를 보내드립니다. Here is the information you asked for.",
        }
        self._sqs.send_message(QueueUrl=self._intake_url, MessageBody=json.dumps(message, ensure_ascii=False))


def run(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise SystemExit(f"{args.file} does not exist; pass the path of an incident event log CSV")
    from tqdm import tqdm

    api = ApiClient(args.api_url, args.tenant, secret_file=args.secret_file, timeout_seconds=args.timeout)
    api.check_reachable()
    sqs = sqs_client(args.aws_endpoint)
    intake_url = sqs.get_queue_url(QueueName=INTAKE_QUEUE_NAME)["QueueUrl"]
    dead_letter_url = sqs.get_queue_url(QueueName=INTAKE_DEAD_LETTER_QUEUE_NAME)["QueueUrl"]
    dead_letters_before = queue_depth(sqs, dead_letter_url)
    replay = ServiceNowReplay(api, sqs, intake_url, args.tenant)

    started = time.perf_counter()
    totals = Counter()
    errors: list[str] = []
    ticket_ids: list[str] = []
    interrupted = _StopRequest()
    with interrupted.installed(), ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool, tqdm(
        unit=" incidents", file=sys.stderr, disable=None
    ) as progress:
        pending = set()
        for incident in read_incidents(args.file, args.limit, args.skip):
            if interrupted.requested:
                break
            pending.add(pool.submit(replay.replay, incident))
            if len(pending) >= args.workers * 4:
                done = next(as_completed(pending))
                pending.remove(done)
                _collect(done.result(), totals, errors, ticket_ids)
                progress.update()
        for done in as_completed(pending):
            _collect(done.result(), totals, errors, ticket_ids)
            progress.update()

    if not wait_until_drained(sqs, intake_url, args.drain_timeout):
        errors.append(f"intake queue not drained after {args.drain_timeout:.0f} s")
    dead_letters = queue_depth(sqs, dead_letter_url) - dead_letters_before
    if dead_letters > 0:
        errors.append(f"{dead_letters} replies ended in the dead-letter queue")
    elapsed = time.perf_counter() - started

    undecided = len(ticket_ids) - totals["routing_decided"]
    if undecided:
        errors.append(f"{undecided} tickets opened without a stored routing decision")
    escalations = _escalations(api, ticket_ids)
    summary = {
        "interrupted": interrupted.requested,
        "tickets": len(ticket_ids),
        "routing": {
            "decided": totals["routing_decided"],
            "assigned": totals["routing_assigned"],
            "waiting": totals["routing_decided"] - totals["routing_assigned"],
            "without_decision": len(ticket_ids) - totals["routing_decided"],
            "reason_codes": {code[len("routing:"):]: count for code, count in sorted(totals.items()) if code.startswith("routing:")},
        },
        "incidents": totals["incidents"],
        "state_changes": totals["state_changes"],
        "updates": totals["updates"],
        "replies_queued": totals["replies"],
        "escalations": dict(sorted(escalations.items())),
        "errors": len(errors),
        "error_samples": errors[:10],
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(api.latency.values) / elapsed, 1) if elapsed else None,
        "incidents_per_second": round(totals["incidents"] / elapsed, 1) if elapsed else None,
        "latency_ms": {"p50": api.latency.percentile(0.5), "p95": api.latency.percentile(0.95)},
    }
    _print_summary(summary, args.json)
    return 0 if not errors else 1


class _StopRequest:
    """A stop request (Ctrl-C or SIGTERM) during a replay: no new incidents start, those in flight
    finish, and the summary covers what was replayed. A second Ctrl-C exits at once."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signal_number: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping: incidents in flight finish, then the summary follows (Ctrl-C again to quit now)", file=sys.stderr)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _collect(result: IncidentResult, totals: Counter, errors: list[str], ticket_ids: list[str]) -> None:
    totals["incidents"] += 1
    totals["state_changes"] += result.state_changes
    totals["updates"] += result.updates
    totals["replies"] += result.replies
    errors.extend(result.errors)
    if result.ticket_id:
        ticket_ids.append(result.ticket_id)
    if result.routing_codes:
        totals["routing_decided"] += 1
        totals["routing_assigned"] += result.routed_agent is not None
        totals.update(f"routing:{code}" for code in result.routing_codes)


def _escalations(api: ApiClient, ticket_ids: list[str]) -> Counter:
    """Count escalation reasons over the tenant's senior queue."""
    reasons: Counter = Counter()
    wanted = set(ticket_ids)
    cursor = None
    while True:
        query = "/tickets?queue=senior&limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = api.request("GET", query).json()
        for ticket in page["items"]:
            if ticket["ticket_id"] in wanted:
                reasons.update(ticket["escalation_reasons"])
        cursor = page.get("next_cursor")
        if not cursor:
            return reasons


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
        return
    if summary["interrupted"]:
        print("interrupted:     the summary covers the incidents replayed before the stop")
    print(f"tickets:         {summary['tickets']} from {summary['incidents']} incidents")
    print(f"state changes:   {summary['state_changes']} ({summary['updates']} updates, {summary['replies_queued']} queued replies)")
    reasons = ", ".join(f"{reason} {count}" for reason, count in summary["escalations"].items()) or "none"
    print(f"escalations:     {reasons}")
    routing = summary["routing"]
    print(
        f"routing:         {routing['decided']} decided ({routing['assigned']} to an agent, {routing['waiting']} waiting), "
        f"{routing['without_decision']} without a decision"
    )
    print(f"errors:          {summary['errors']}")
    for sample in summary["error_samples"]:
        print(f"  {sample}")
    print(f"throughput:      {summary['requests_per_second']} requests/s, {summary['incidents_per_second']} incidents/s")
    print(f"latency:         p50 {summary['latency_ms']['p50']} ms, p95 {summary['latency_ms']['p95']} ms")


def _timestamp(value: str | None) -> datetime | None:
    if not value or value == "?":
        return None
    try:
        return datetime.strptime(value, "%d/%m/%Y %H:%M")
    except ValueError:
        return None


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _identifier(value: str | None, default: str | None) -> str | None:
    """Turn "Caller 2403" into "caller-2403"; "?" and blanks give the default."""
    if not value or value.strip() == "?":
        return default
    return "-".join(value.lower().split())[:128]


def _label(value: str | None) -> str | None:
    identifier = _identifier(value, None)
    return identifier[:64] if identifier else None
