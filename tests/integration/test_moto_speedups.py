"""The local stack's cheaper transaction rollback keeps moto's transaction semantics."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import moto_speedups


@pytest.fixture
def table(aws: dict[str, str]) -> str:
    moto_speedups.install()
    return aws["TicketsTableName"]


def test_cancelled_transaction_restores_touched_items(table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "speed#a"}, "SK": {"S": "x"}, "v": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "speed#b"}, "SK": {"S": "x"}, "v": {"N": "1"}})

    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "speed#a"}, "SK": {"S": "x"}, "v": {"N": "2"}}}},
                {"Put": {"TableName": table, "Item": {"PK": {"S": "speed#new"}, "SK": {"S": "x"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"PK": {"S": "speed#b"}, "SK": {"S": "x"}, "v": {"N": "2"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )

    reasons = [reason["Code"] for reason in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    item_a = dynamodb.get_item(TableName=table, Key={"PK": {"S": "speed#a"}, "SK": {"S": "x"}})["Item"]
    assert item_a["v"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"PK": {"S": "speed#new"}, "SK": {"S": "x"}})


def test_committed_transaction_writes_all_items(table: str) -> None:
    dynamodb = boto3.client("dynamodb")

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"PK": {"S": "speed#c"}, "SK": {"S": "x"}}}},
            {"Put": {"TableName": table, "Item": {"PK": {"S": "speed#d"}, "SK": {"S": "x"}}}},
        ]
    )

    for key in ("speed#c", "speed#d"):
        assert "Item" in dynamodb.get_item(TableName=table, Key={"PK": {"S": key}, "SK": {"S": "x"}})


def test_sqs_receive_keeps_retention_rule(aws: dict[str, str]) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    moto_speedups.install()
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="speedups-retention", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=queue_url, MessageBody="expired")
    sqs.send_message(QueueUrl=queue_url, MessageBody="fresh")
    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["ap-northeast-2"].queues["speedups-retention"]
    expired = next(message for message in queue._messages if message.body == "expired")
    expired.sent_timestamp -= 120_000

    bodies = set()
    for _ in range(3):
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        bodies.update(message["Body"] for message in response.get("Messages", []))

    assert bodies == {"fresh"}
