"""Invoke the Chalice app's event handlers the way Lambda would, with generated events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

REGION = "ap-northeast-2"
ACCOUNT_ID = "123456789012"


def sqs_consumers(app: Chalice) -> dict[str, SQSEventConfig]:
    """Return the SQS event sources of the app by handler name."""
    return {source.name: source for source in app.event_sources if isinstance(source, SQSEventConfig)}


def scheduled_jobs(app: Chalice) -> dict[str, ScheduledEventConfig]:
    """Return the scheduled event sources of the app by handler name."""
    return {source.name: source for source in app.event_sources if isinstance(source, ScheduledEventConfig)}


def invoke(app: Chalice, handler_name: str, event: dict[str, Any], timeout_seconds: int = 60) -> Any:
    """Call a handler with a Lambda-shaped event and context, as the Lambda service would."""
    context = LambdaContext(handler_name, memory_size=512, max_runtime_ms=timeout_seconds * 1000)
    return app.handler_map[handler_name](event, context)


def sqs_event(queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Build the Lambda event for messages as returned by ReceiveMessage."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", "0"),
                    "SenderId": attributes.get("SenderId", ACCOUNT_ID),
                    "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """Build the EventBridge event that a schedule delivers to its function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule_name}"],
        "detail": {},
    }
