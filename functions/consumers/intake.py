"""Intake queue consumer: channel messages from email, chat, phone, mobile and web gateways."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from pydantic import ValidationError

from functions import wiring
from functions.json_input import JsonInputError, loads_untrusted
from functions.models.intake import ChannelMessage
from functions.observability import count, logger
from functions.resources import INTAKE_BATCH_SIZE, INTAKE_QUEUE_NAME

blueprint = Blueprint(__name__)
processor = BatchProcessor(event_type=EventType.SQS)


class PoisonMessageError(ValueError):
    """A queue message that can never be processed; it fails until the queue moves it to the DLQ."""


@blueprint.on_sqs_message(queue=INTAKE_QUEUE_NAME, batch_size=INTAKE_BATCH_SIZE)
def handle_intake(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    return process_partial_response(
        event=event.to_dict(), record_handler=process_intake_record, processor=processor, context=event.context
    )


def process_intake_record(record: SQSRecord) -> dict[str, Any]:
    """Thread one channel message into its ticket, at most once per gateway message id."""
    inbound = parse_channel_message(record)
    log_keys = {
        "sqs_message_id": record.message_id,
        "tenant_id": inbound.tenant_id,
        "channel": inbound.channel.value,
        "channel_message_id": inbound.message_id,
    }

    def ingest() -> dict[str, Any]:
        outcome = wiring.ticket_service().ingest_channel_message(inbound)
        count("MessagesProcessed")
        if outcome.created_ticket:
            count("TicketsCreated")
        if outcome.escalated_now:
            count("Escalations")
        return {
            "ticket_id": outcome.ticket.ticket_id,
            "message_id": outcome.message.message_id,
            "created_ticket": outcome.created_ticket,
            "duplicate": outcome.duplicate,
            "escalated": outcome.escalated_now,
        }

    try:
        result = wiring.idempotent_runner().run(
            "intake",
            [inbound.tenant_id, inbound.channel.value, inbound.message_id],
            inbound.model_dump(mode="json"),
            ingest,
            processor.lambda_context,
        )
    except Exception:
        logger.exception("intake message failed", extra=log_keys)
        raise
    logger.info("intake message processed", extra={**log_keys, "ticket_id": result["ticket_id"]})
    return result


def parse_channel_message(record: SQSRecord) -> ChannelMessage:
    """Validate a record's body; raise PoisonMessageError, logged with the ids, when it cannot be read."""
    try:
        data = loads_untrusted(record.body)
        return ChannelMessage.model_validate(data)
    except (JsonInputError, TypeError) as error:
        logger.error(
            "intake message is not JSON", extra={"sqs_message_id": record.message_id, "error": str(error)}
        )
        raise PoisonMessageError(f"message {record.message_id} is not JSON") from error
    except ValidationError as error:
        # Field names come from the message (unknown keys), so they are shortened like the ids.
        fields = sorted({".".join(map(str, item["loc"]))[:64] for item in error.errors(include_input=False)})[:20]
        logger.error(
            "intake message is invalid",
            extra={
                "sqs_message_id": record.message_id,
                "tenant_id": _loggable_id(data.get("tenant_id")) if isinstance(data, dict) else None,
                "channel_message_id": _loggable_id(data.get("message_id")) if isinstance(data, dict) else None,
                "invalid_fields": fields,
            },
        )
        raise PoisonMessageError(f"message {record.message_id} has invalid fields: {', '.join(fields)}") from error


def _loggable_id(value: Any) -> str | None:
    """Return an id from an invalid message for the log, or None when it is not a short string."""
    return value if isinstance(value, str) and len(value) <= 128 else None
