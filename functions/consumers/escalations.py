"""Escalations queue consumer: starts the escalation workflow of an escalated ticket, and ends
its wait when a ticket change shows that someone picked the ticket up."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint

from functions import workflow_wiring
from functions.domain.workflows.escalation_service import PICKED_UP_STATUSES
from functions.json_input import JsonInputError, loads_untrusted
from functions.observability import count, logger
from functions.resources import ESCALATIONS_QUEUE_NAME, WORKFLOW_BATCH_SIZE

blueprint = Blueprint(__name__)
processor = BatchProcessor(event_type=EventType.SQS)


class PoisonMessageError(ValueError):
    """A queue message that can never be processed; it fails until the queue moves it to the DLQ."""


@blueprint.on_sqs_message(queue=ESCALATIONS_QUEUE_NAME, batch_size=WORKFLOW_BATCH_SIZE)
def handle_escalations(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    return process_partial_response(
        event=event.to_dict(), record_handler=process_escalation_record, processor=processor, context=event.context
    )


def process_escalation_record(record: SQSRecord) -> str:
    try:
        envelope = loads_untrusted(record.body)
        detail_type = str(envelope["detail-type"])
        detail = envelope["detail"]
        tenant_id, ticket_id = str(detail["tenant_id"]), str(detail["ticket_id"])
    except (JsonInputError, TypeError, KeyError) as error:
        logger.error("escalations message is invalid", extra={"sqs_message_id": record.message_id})
        raise PoisonMessageError(f"message {record.message_id} is not a ticket event") from error
    log_keys = {"sqs_message_id": record.message_id, "tenant_id": tenant_id, "ticket_id": ticket_id, "detail_type": detail_type}
    escalations = workflow_wiring.escalation_service()

    if detail_type == "TicketEscalated":
        workflow, started = escalations.start(tenant_id, ticket_id, int(detail.get("version", 0)))
        count("EscalationsStarted" if started else "DuplicateEscalations")
        logger.info("escalation workflow started", extra={**log_keys, "workflow_id": workflow.workflow_id, "started": started})
        return "started"

    if _picked_up(detail_type, detail):
        changes = detail.get("changes") or {}
        assignee = (changes.get("assignee_id") or {}).get("new")
        if escalations.ticket_picked_up(tenant_id, ticket_id, assignee):
            logger.info("escalation ended: ticket picked up", extra=log_keys)
            return "picked_up"
    return "ignored"


def _picked_up(detail_type: str, detail: dict[str, Any]) -> bool:
    if detail_type == "TicketStatusChanged":
        return detail.get("to_status") in {status.value for status in PICKED_UP_STATUSES}
    if detail_type == "TicketUpdated":
        changes = detail.get("changes") or {}
        status = (changes.get("status") or {}).get("new")
        return bool((changes.get("assignee_id") or {}).get("new")) or status in {s.value for s in PICKED_UP_STATUSES}
    return False
