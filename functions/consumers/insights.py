"""Insights queue consumer: ticket and customer events from EventBridge become timeline items,
KPI and customer counters, CSAT surveys and proactive notices."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions import wiring
from functions.domain.insight_processor import InvalidEventError
from functions.json_input import JsonInputError, loads_untrusted
from functions.kpi_metrics import emit_kpi_metrics
from functions.observability import logger
from functions.resources import INSIGHTS_BATCH_SIZE, INSIGHTS_QUEUE_NAME

blueprint = Blueprint(__name__)


@blueprint.on_sqs_message(queue=INSIGHTS_QUEUE_NAME, batch_size=INSIGHTS_BATCH_SIZE)
def handle_insights(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    # A processor per invocation: it keeps the batch's results, and the local stack runs
    # several invocations of this consumer at once.
    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(
        event=event.to_dict(), record_handler=process_insights_record, processor=processor, context=event.context
    )


def process_insights_record(record: SQSRecord) -> str:
    """Apply one event; raise so that SQS retries the record and finally moves it to the dead-letter queue."""
    detail_type, detail = parse_envelope(record)
    log_keys = {
        "sqs_message_id": record.message_id,
        "detail_type": detail_type,
        "tenant_id": detail.get("tenant_id") if isinstance(detail.get("tenant_id"), str) else None,
        "event_id": detail.get("event_id") if isinstance(detail.get("event_id"), str) else None,
    }
    try:
        outcome = wiring.insight_processor().handle(detail_type, detail)
    except InvalidEventError as error:
        logger.error("insights message cannot be processed", extra={**log_keys, "error": str(error)})
        raise
    except Exception:
        logger.exception("insights message failed", extra=log_keys)
        raise
    emit_kpi_metrics(outcome.metrics)
    logger.debug("insights message processed", extra={**log_keys, "result": outcome.result})
    return outcome.result


def parse_envelope(record: SQSRecord) -> tuple[str, dict[str, Any]]:
    """Return the detail-type and detail of an EventBridge event or a continuation message."""
    try:
        body = loads_untrusted(record.body)
    except (JsonInputError, TypeError) as error:
        logger.error("insights message is not JSON", extra={"sqs_message_id": record.message_id})
        raise InvalidEventError(f"message {record.message_id} is not JSON") from error
    detail_type = body.get("detail-type") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail_type, str) or not isinstance(detail, dict):
        logger.error("insights message has no detail-type or detail", extra={"sqs_message_id": record.message_id})
        raise InvalidEventError(f"message {record.message_id} is not an EventBridge event")
    return detail_type, detail
