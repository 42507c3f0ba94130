"""Workflow worker queue consumer: runs the steps that the state machines hand out with task tokens."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from pydantic import ValidationError

from functions import workflow_wiring
from functions.json_input import JsonInputError, loads_untrusted
from functions.domain.workflows.worker import WorkerMessage
from functions.observability import count, logger
from functions.resources import WORKFLOW_BATCH_SIZE, WORKFLOW_WORKER_QUEUE_NAME

blueprint = Blueprint(__name__)
processor = BatchProcessor(event_type=EventType.SQS)


class PoisonMessageError(ValueError):
    """A queue message that can never be processed; it fails until the queue moves it to the DLQ."""


@blueprint.on_sqs_message(queue=WORKFLOW_WORKER_QUEUE_NAME, batch_size=WORKFLOW_BATCH_SIZE)
def handle_workflow_tasks(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    return process_partial_response(
        event=event.to_dict(), record_handler=process_worker_record, processor=processor, context=event.context
    )


def process_worker_record(record: SQSRecord) -> str:
    """Run one step. A failed step is answered with SendTaskFailure; only faults of this
    function (a dependency down, an unreadable message) make the queue deliver it again."""
    message = parse_worker_message(record)
    reference = message.workflow or message.approval or message.escalation or {}
    log_keys = {
        "sqs_message_id": record.message_id,
        "step": message.step,
        "tenant_id": reference.get("tenant_id"),
        "workflow_id": reference.get("workflow_id") or reference.get("escalation_id"),
        "approval_id": reference.get("approval_id"),
    }
    try:
        outcome = workflow_wiring.worker().handle(message)
    except Exception:
        logger.exception("workflow step failed; the queue will deliver it again", extra=log_keys)
        raise
    count(f"WorkflowSteps{outcome.capitalize()}")
    logger.info("workflow step handled", extra={**log_keys, "outcome": outcome})
    return outcome


def parse_worker_message(record: SQSRecord) -> WorkerMessage:
    try:
        return WorkerMessage.model_validate(loads_untrusted(record.body))
    except (JsonInputError, TypeError, ValidationError) as error:
        logger.error("workflow task message is invalid", extra={"sqs_message_id": record.message_id, "error": type(error).__name__})
        raise PoisonMessageError(f"message {record.message_id} is not a workflow task") from error
