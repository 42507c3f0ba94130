"""`servicedesk replay messages`: send a corpus through the intake queue as channel messages.

Each row becomes one inbound message that opens its own ticket; channels rotate over email,
chat, phone transcripts, the mobile app and web forms.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

from cli.local_client import (
    DEFAULT_API_URL,
    DEFAULT_AWS_ENDPOINT,
    INTAKE_DEAD_LETTER_QUEUE_NAME,
    INTAKE_QUEUE_NAME,
    ApiClient,
    add_token_arguments,
    queue_depth,
    sqs_client,
    wait_until_drained,
)
from cli.tables import column_index, positive_int, read_rows

CHANNELS = ("email", "chat", "phone_transcript", "mobile_app", "web_form")
MAX_BODY_CHARS = 20_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="CSV or TSV corpus (TSV when the name ends in .tsv or .txt)")
    parser.add_argument("--text-column", required=True, help="name of the text column, or its number with --no-header")
    parser.add_argument("--language", choices=["ko", "en"], default=None, help="language of the corpus, for the summary")
    parser.add_argument("--no-header", action="store_true", help="the file has no header row")
    parser.add_argument("--delimiter", default=None, help="field delimiter; guessed from the file name when omitted")
    parser.add_argument("--limit", type=positive_int, default=None, help="send only the first N rows")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="base URL of the API")
    parser.add_argument("--aws-endpoint", default=DEFAULT_AWS_ENDPOINT, help="AWS endpoint of the local stack")
    parser.add_argument("--tenant", default=None, help="tenant id of the replay (a new one per run when omitted)")
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for the queue to drain")
    add_token_arguments(parser)


def run(args: argparse.Namespace) -> int:
    columns, rows = read_rows(args.file, args.delimiter, header=not args.no_header)
    text_index = column_index(columns, args.text_column, args.file)
    tenant = args.tenant or f"replay-{uuid.uuid4().hex[:8]}"
    api = ApiClient(args.api_url, tenant, secret_file=args.secret_file)
    api.check_reachable()
    sqs = sqs_client(args.aws_endpoint)
    intake_url = sqs.get_queue_url(QueueName=INTAKE_QUEUE_NAME)["QueueUrl"]
    dead_letter_url = sqs.get_queue_url(QueueName=INTAKE_DEAD_LETTER_QUEUE_NAME)["QueueUrl"]
    dead_letters_before = queue_depth(sqs, dead_letter_url)

    started = time.perf_counter()
    sent = skipped = 0
    entries: list[dict[str, str]] = []
    for number, row in enumerate(rows):
        if args.limit is not None and number >= args.limit:
            break
        text = (row[text_index] if text_index < len(row) else "").strip()
        if not text:
            skipped += 1
            continue
        message = {
            "tenant_id": tenant,
            "message_id": f"row-{number}",
            "channel": CHANNELS[number % len(CHANNELS)],
            "thread_key": f"{args.file.stem}-{number}",
            "customer_id": f"customer-{number % 20}",
            "requester_id": f"requester-{number % 200}",
            "body": text[:MAX_BODY_CHARS],
        }
        entries.append({"Id": str(len(entries)), "MessageBody": json.dumps(message, ensure_ascii=False)})
        if len(entries) == 10:
            sent += _send(sqs, intake_url, entries)
        if sys.stderr.isatty():
            print(f"\rsent {sent + len(entries)} messages", end="", file=sys.stderr)
    if entries:
        sent += _send(sqs, intake_url, entries)
    print(file=sys.stderr)

    errors: list[str] = []
    if not wait_until_drained(sqs, intake_url, args.drain_timeout):
        errors.append(f"intake queue not drained after {args.drain_timeout:.0f} s")
    dead_letters = queue_depth(sqs, dead_letter_url) - dead_letters_before
    if dead_letters > 0:
        errors.append(f"{dead_letters} messages ended in the dead-letter queue")
    elapsed = time.perf_counter() - started

    tickets, sentiments, escalations = _tally(api)
    summary = {
        "tenant": tenant,
        "language": args.language,
        "messages_sent": sent,
        "rows_skipped_empty": skipped,
        "tickets": tickets,
        "sentiment": dict(sorted(sentiments.items())),
        "escalations": dict(sorted(escalations.items())),
        "errors": len(errors),
        "error_samples": errors,
        "seconds": round(elapsed, 1),
        "messages_per_second": round(sent / elapsed, 1) if elapsed else None,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        for key, value in summary.items():
            print(f"{key + ':':<20} {value}")
    return 0 if not errors else 1


def _send(sqs, queue_url: str, entries: list[dict[str, str]]) -> int:
    response = sqs.send_message_batch(QueueUrl=queue_url, Entries=list(entries))
    failed = response.get("Failed", [])
    if failed:
        raise SystemExit(f"the intake queue rejected {len(failed)} messages: {failed[0].get('Message')}")
    count = len(entries)
    entries.clear()
    return count


def _tally(api: ApiClient) -> tuple[int, Counter, Counter]:
    tickets = 0
    sentiments: Counter = Counter()
    escalations: Counter = Counter()
    cursor = None
    while True:
        page = api.request("GET", "/tickets?limit=100" + (f"&cursor={cursor}" if cursor else "")).json()
        for ticket in page["items"]:
            tickets += 1
            sentiment = ticket.get("last_sentiment") or {}
            sentiments[sentiment.get("label", "unscored")] += 1
            escalations.update(ticket["escalation_reasons"])
        cursor = page.get("next_cursor")
        if not cursor:
            return tickets, sentiments, escalations
