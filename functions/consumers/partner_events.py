"""Partner events queue consumer: HR hires, and ERP and learning-system responses,
delivered from the EventBridge bus by the servicedesk-partner-events rule."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Blueprint
from pydantic import BaseModel, ValidationError

from functions import workflow_wiring
from functions.domain.errors import InvalidInputError
from functions.json_input import JsonInputError, loads_untrusted
from functions.models.caller import Caller, Role
from functions.models.workflows import HireEvent, PurchaseAnswer, TrainingAnswer
from functions.observability import count, logger
from functions.resources import PARTNER_EVENTS_QUEUE_NAME, WORKFLOW_BATCH_SIZE

blueprint = Blueprint(__name__)
processor = BatchProcessor(event_type=EventType.SQS)

# Detail types this consumer understands, by EventBridge source.
PARTNER_EVENTS: dict[tuple[str, str], type[BaseModel]] = {
    ("partner.hr", "EmployeeHired"): HireEvent,
    ("partner.erp", "PurchaseOrderAnswered"): PurchaseAnswer,
    ("partner.lms", "EnrolmentAnswered"): TrainingAnswer,
}
# The user id that the HR system acts as when its hire events open tickets.
HR_PARTNER_USER = "partner-hr"


class PoisonMessageError(ValueError):
    """A queue message that can never be processed; it fails until the queue moves it to the DLQ."""


@blueprint.on_sqs_message(queue=PARTNER_EVENTS_QUEUE_NAME, batch_size=WORKFLOW_BATCH_SIZE)
def handle_partner_events(event: Any) -> dict[str, Any]:
    """Process a batch and report only the failed message ids, so the rest are not redelivered."""
    return process_partial_response(
        event=event.to_dict(), record_handler=process_partner_record, processor=processor, context=event.context
    )


def process_partner_record(record: SQSRecord) -> str:
    detail = parse_partner_event(record)
    log_keys = {"sqs_message_id": record.message_id, "tenant_id": detail.tenant_id, "detail_type": type(detail).__name__}
    onboarding = workflow_wiring.onboarding_service()

    if isinstance(detail, HireEvent):
        caller = Caller(tenant_id=detail.tenant_id, user_id=HR_PARTNER_USER, role=Role.PARTNER)
        try:
            workflow, started = onboarding.start(caller, detail.employee, detail.employee.manager_id)
        except InvalidInputError as error:
            # An unknown role or a tenant without role templates cannot succeed on a retry.
            logger.error("hire event cannot start an onboarding", extra={**log_keys, "error": str(error)})
            raise PoisonMessageError(f"message {record.message_id}: {error}") from error
        count("OnboardingsStarted" if started else "DuplicateHireEvents")
        logger.info("hire event handled", extra={**log_keys, "workflow_id": workflow.workflow_id, "started": started})
        return "started" if started else "duplicate"

    if isinstance(detail, PurchaseAnswer):
        if detail.outcome == "delivered" and not detail.device_id:
            logger.error("delivered purchase is missing device_id", extra=log_keys)
            raise PoisonMessageError(f"message {record.message_id}: a delivered purchase needs device_id")
        answered = onboarding.answer_purchase(
            detail.tenant_id, detail.purchase_request_id, detail.device_id if detail.outcome == "delivered" else None, detail.reason
        )
    else:
        answered = onboarding.answer_training(detail.tenant_id, detail.enrolment_id, detail.outcome == "enrolled", detail.reason)

    if not answered:
        # Nothing waits for this id: a repeated response, or one for a cancelled workflow.
        logger.warning("partner response matches no waiting workflow", extra=log_keys)
        return "ignored"
    logger.info("partner response sent to the workflow", extra=log_keys)
    return "answered"


def parse_partner_event(record: SQSRecord) -> HireEvent | PurchaseAnswer | TrainingAnswer:
    """Read the EventBridge envelope and validate its detail by source and detail-type."""
    try:
        envelope = loads_untrusted(record.body)
        model = PARTNER_EVENTS[(str(envelope["source"]), str(envelope["detail-type"]))]
        return model.model_validate(envelope["detail"])  # type: ignore[return-value]
    except (JsonInputError, TypeError, KeyError, ValidationError) as error:
        logger.error("partner event is invalid", extra={"sqs_message_id": record.message_id, "error": type(error).__name__})
        raise PoisonMessageError(f"message {record.message_id} is not a known partner event") from error
