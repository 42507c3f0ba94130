"""Sample customers and channel messages for a first local run, written for this project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from functions import wiring
from functions.domain.ports import Customer

SAMPLE_DATA = Path(__file__).with_name("sample_data.json")


def seed(sqs: Any, intake_queue_url: str, sample_file: Path = SAMPLE_DATA) -> dict[str, int]:
    """Store the sample customers and queue the sample messages for the intake consumer."""
    data = json.loads(sample_file.read_text("utf-8"))
    tenant_id = data["tenant_id"]

    repository = wiring.repository()
    for customer in data["customers"]:
        attributes = {key: value for key, value in customer.items() if key not in {"customer_id", "tier", "name"}}
        repository.put_customer(
            tenant_id,
            Customer(customer_id=customer["customer_id"], tier=customer["tier"], name=customer["name"], attributes=attributes),
        )

    for message in data["messages"]:
        sqs.send_message(
            QueueUrl=intake_queue_url, MessageBody=json.dumps({"tenant_id": tenant_id, **message}, ensure_ascii=False)
        )
    return {"customers": len(data["customers"]), "messages": len(data["messages"])}
