"""Webhooks queue consumer: domain events from EventBridge, and the delivery messages they fan out into."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions import wiring
from functions.domain.webhooks import InvalidQueueMessageError
from functions.observability import count, logger
from functions.resources import WEBHOOKS_BATCH_SIZE, WEBHOOKS_QUEUE_NAME

blueprint = Blueprint(__name__)
# Count metric of each outcome of WebhookDispatcher.handle; other outcomes are not counted.
OUTCOME_METRICS = {
    "delivered": "WebhooksDelivered",
    "retry_scheduled": "WebhookRetriesScheduled",
    "gave_up": "WebhooksGivenUp",
    "disabled": "WebhooksDisabled",
}


@blueprint.on_sqs_message(queue=WEBHOOKS_QUEUE_NAME, batch_size=WEBHOOKS_BATCH_SIZE)
def deliver_webhooks(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    # A processor per invocation: it keeps the batch's results, and the local stack may run
    # invocations on several threads.
    processor = BatchProcessor(event_type=EventType.SQS)
    with wiring.webhook_dispatcher().batch():
        return process_partial_response(
            event=event.to_dict(), record_handler=process_webhook_record, processor=processor, context=event.context
        )


def process_webhook_record(record: SQSRecord) -> str:
    """Fan out one event or make one delivery attempt; raise so that SQS retries the record."""
    try:
        body = json.loads(record.body)
    except json.JSONDecodeError as error:
        logger.error("webhooks message is not JSON", extra={"sqs_message_id": record.message_id})
        raise InvalidQueueMessageError(f"message {record.message_id} is not JSON") from error
    if not isinstance(body, dict):
        logger.error("webhooks message is not an object", extra={"sqs_message_id": record.message_id})
        raise InvalidQueueMessageError(f"message {record.message_id} is not a JSON object")

    try:
        outcome = wiring.webhook_dispatcher().handle(body)
    except Exception:
        logger.exception("webhooks message failed", extra={"sqs_message_id": record.message_id})
        raise
    if outcome == "ignored":
        logger.info(
            "event not deliverable by webhook; skipped",
            extra={
                "sqs_message_id": record.message_id,
                "source": str(body.get("source"))[:64],
                "event_type": str(body.get("detail-type"))[:64],
            },
        )
    if outcome in OUTCOME_METRICS:
        count(OUTCOME_METRICS[outcome])
    return outcome
