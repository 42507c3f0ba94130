"""Deliver queue messages to the app's consumers and fire its schedules, as Lambda would."""

from __future__ import annotations

import logging
import threading
from typing import Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from chalice import Chalice

from infra.local.lambda_runtime import invoke, scheduled_event, sqs_event

logger = logging.getLogger(__name__)

# Lambda leaves a failed message invisible until its visibility timeout ends (360 s deployed).
# Locally a failed message comes back after this many seconds, so that retries and the move to
# the dead-letter queue happen within minutes.
LOCAL_RETRY_DELAY_SECONDS = 2


class QueuePoller:
    """Long-polls one queue and hands each batch to one SQS handler with partial batch failures."""

    def __init__(self, app: Chalice, sqs: Any, queue_url: str, handler_name: str, batch_size: int = 10) -> None:
        self._app = app
        self._sqs = sqs
        self._queue_url = queue_url
        self._handler_name = handler_name
        self._batch_size = batch_size
        self._queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def poll_once(self, wait_seconds: int = 1) -> dict[str, int]:
        """Receive one batch, invoke the handler, delete what succeeded; return the counts."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return {"received": 0, "failed": 0}

        try:
            result = invoke(self._app, self._handler_name, sqs_event(self._queue_arn, messages))
            failed_ids = {failure["itemIdentifier"] for failure in (result or {}).get("batchItemFailures", [])}
        except BatchProcessingError:
            # Powertools raises this when every record failed. The handler already logged each
            # failure with its ids, and Lambda would retry the whole batch the same way.
            failed_ids = {message["MessageId"] for message in messages}
        except Exception:  # noqa: BLE001 - a crashed invocation fails the whole batch, as on Lambda
            logger.exception("consumer %s crashed; the whole batch will be retried", self._handler_name)
            failed_ids = {message["MessageId"] for message in messages}

        succeeded = [message for message in messages if message["MessageId"] not in failed_ids]
        if succeeded:
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(succeeded)],
            )
        failed = [message for message in messages if message["MessageId"] in failed_ids]
        if failed:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": LOCAL_RETRY_DELAY_SECONDS}
                    for index, m in enumerate(failed)
                ],
            )
            logger.warning(
                "%s: %d of %d messages failed and will be retried: %s",
                self._handler_name,
                len(failed),
                len(messages),
                ", ".join(sorted(failed_ids)),
            )
        return {"received": len(messages), "failed": len(failed)}

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - keep polling after a transient local error
                logger.exception("polling %s failed; retrying", self._queue_url)
                stop.wait(1)


class Scheduler:
    """Fires one scheduled handler at a fixed interval."""

    def __init__(self, app: Chalice, handler_name: str, interval_seconds: float) -> None:
        self._app = app
        self._handler_name = handler_name
        self._interval = interval_seconds

    def fire(self) -> Any:
        return invoke(self._app, self._handler_name, scheduled_event(self._handler_name))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            try:
                self.fire()
            except Exception:  # noqa: BLE001 - a failed run is logged and the schedule goes on
                logger.exception("scheduled job %s failed", self._handler_name)
