"""Stand-ins for the ERP and the learning system on the local stack.

No ERP or learning system runs on a developer machine, so this thread plays both: it receives
`PurchaseRequested` and `TrainingEnrolmentRequested` from the bus (through a local-only queue and
rule) and publishes the responses a partner would, `PurchaseOrderAnswered` with a new device and
`EnrolmentAnswered` with `enrolled`. Deployed, the real partner systems do this.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

logger = logging.getLogger("local_stack")

QUEUE_NAME = "servicedesk-local-partner-simulator"
RULE_NAME = "servicedesk-local-partner-simulator"


class PartnerSimulator:
    def __init__(self, events: Any, sqs: Any, bus_name: str) -> None:
        self._events = events
        self._sqs = sqs
        self._bus = bus_name
        self._queue_url = ""

    def install(self) -> None:
        """Create the queue and the rule that route the partners' requests to it."""
        self._queue_url = self._sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": ["servicedesk.workflows"], "detail-type": ["PurchaseRequested", "TrainingEnrolmentRequested"]}
        self._events.put_rule(Name=RULE_NAME, EventBusName=self._bus, EventPattern=json.dumps(pattern))
        self._events.put_targets(Rule=RULE_NAME, EventBusName=self._bus, Targets=[{"Id": "simulator", "Arn": queue_arn}])

    def answer_once(self, wait_seconds: int = 1) -> int:
        """Respond to the requests waiting on the queue; return how many it responded to."""
        messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        answered = 0
        for message in messages.get("Messages", []):
            event = json.loads(message["Body"])
            self._answer(event["detail-type"], event["detail"])
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
            answered += 1
        return answered

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.answer_once()
            except Exception:  # noqa: BLE001 - keep answering after a transient local error
                logger.exception("partner simulator failed; retrying")
                stop.wait(1)

    def _answer(self, detail_type: str, detail: dict[str, Any]) -> None:
        if detail_type == "PurchaseRequested":
            source, answer_type = "partner.erp", "PurchaseOrderAnswered"
            answer = {
                "tenant_id": detail["tenant_id"],
                "purchase_request_id": detail["purchase_request_id"],
                "outcome": "delivered",
                "device_id": f"{detail['device_model']}-{detail['purchase_request_id'][3:11]}",
            }
        else:
            source, answer_type = "partner.lms", "EnrolmentAnswered"
            answer = {"tenant_id": detail["tenant_id"], "enrolment_id": detail["enrolment_id"], "outcome": "enrolled"}
        self._events.put_events(
            Entries=[{"EventBusName": self._bus, "Source": source, "DetailType": answer_type, "Detail": json.dumps(answer)}]
        )
        logger.info("partner simulator sent the response to %s of workflow %s", detail_type, detail.get("workflow_id"))
