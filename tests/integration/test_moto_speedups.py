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


def test_table_query_reads_one_partition_in_order(table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    for partition in ("speed#q1", "speed#q2"):
        for index in range(5):
            dynamodb.put_item(
                TableName=table, Item={"PK": {"S": partition}, "SK": {"S": f"item#{index}"}, "n": {"N": str(index)}}
            )

    first = dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "speed#q1"}, ":prefix": {"S": "item#"}},
        ScanIndexForward=False,
        Limit=3,
    )
    rest = dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": "speed#q1"}, ":prefix": {"S": "item#"}},
        ScanIndexForward=False,
        ExclusiveStartKey=first["LastEvaluatedKey"],
    )
    missing = dynamodb.query(
        TableName=table, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "speed#none"}}
    )

    assert [item["SK"]["S"] for item in first["Items"]] == ["item#4", "item#3", "item#2"]
    assert [item["SK"]["S"] for item in rest["Items"]] == ["item#1", "item#0"]
    assert {item["PK"]["S"] for item in first["Items"] + rest["Items"]} == {"speed#q1"}
    assert missing["Items"] == []


def test_index_query_keeps_order_and_paging(aws: dict[str, str]) -> None:
    moto_speedups.install()
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="speedups-index",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "G")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-group",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for index in (5, 1, 4, 2, 3, 0):
        dynamodb.put_item(
            TableName="speedups-index",
            Item={"PK": {"S": f"p{index}"}, "SK": {"S": f"s{index}"}, "G": {"S": "even" if index % 2 == 0 else "odd"}},
        )
    query = {
        "TableName": "speedups-index",
        "IndexName": "by-group",
        "KeyConditionExpression": "G = :g",
        "ExpressionAttributeValues": {":g": {"S": "even"}},
    }

    first = dynamodb.query(**query, Limit=2)
    rest = dynamodb.query(**query, ExclusiveStartKey=first["LastEvaluatedKey"])

    assert [item["SK"]["S"] for item in first["Items"]] == ["s0", "s2"]
    assert [item["SK"]["S"] for item in rest["Items"]] == ["s4"]


def test_sqs_send_keeps_fifo_deduplication(aws: dict[str, str]) -> None:
    moto_speedups.install()
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(
        QueueName="speedups.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]

    sqs.send_message(QueueUrl=queue_url, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=queue_url, MessageBody="same", MessageGroupId="g")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]

    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes["FifoQueue"] == "true"


def test_items_of_every_attribute_type_round_trip(table: str) -> None:
    dynamodb = boto3.client("dynamodb")
    item = {
        "PK": {"S": "speed#types"},
        "SK": {"S": "x"},
        "text": {"S": "한글 text"},
        "empty": {"S": ""},
        "number": {"N": "12.5"},
        "yes": {"BOOL": True},
        "no": {"BOOL": False},
        "nothing": {"NULL": True},
        "strings": {"SS": ["a", "b"]},
        "numbers": {"NS": ["1", "2"]},
        "blob": {"B": b"\x00\xff"},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "nested": {
            "M": {
                "list": {"L": [{"S": "x"}, {"N": "3"}, {"M": {"deep": {"BOOL": False}}}]},
                "blob_inside": {"L": [{"B": b"\x07"}]},
            }
        },
    }
    dynamodb.put_item(TableName=table, Item=item)

    stored = dynamodb.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})["Item"]
    queried = dynamodb.query(
        TableName=table,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": item["PK"]},
    )["Items"]

    normalised = {**stored, "strings": {"SS": sorted(stored["strings"]["SS"])}}
    normalised["numbers"] = {"NS": sorted(stored["numbers"]["NS"])}
    normalised["blobs"] = {"BS": sorted(stored["blobs"]["BS"])}
    assert normalised == item
    assert queried == [stored]


def test_plain_attribute_values_leave_binary_to_the_serializer() -> None:
    assert moto_speedups.plain_attribute_value({"M": {"a": {"L": [{"S": "x"}, {"N": "1"}]}}}) == {
        "M": {"a": {"L": [{"S": "x"}, {"N": "1"}]}}
    }
    assert moto_speedups.plain_attribute_value({"B": "AAE="}) is None
    assert moto_speedups.plain_attribute_value({"M": {"a": {"L": [{"BS": ["AAE="]}]}}}) is None
    assert moto_speedups.plain_attribute_value({"S": "x", "N": "1"}) is None


def test_input_paths_are_applied_to_each_event(aws: dict[str, str]) -> None:
    import json

    moto_speedups.install()
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="speedups-input-paths")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="speedups-bus")
    events.put_rule(Name="speedups-rule", EventBusName="speedups-bus", EventPattern=json.dumps({"source": ["speedups"]}))
    events.put_targets(
        Rule="speedups-rule",
        EventBusName="speedups-bus",
        Targets=[
            {
                "Id": "queue",
                "Arn": queue_arn,
                "InputTransformer": {
                    "InputPathsMap": {"ticket": "$.detail.ticket_id"},
                    "InputTemplate": '{"ticket": "<ticket>"}',
                },
            }
        ],
    )

    for ticket_id in ("T-1", "T-2"):
        events.put_events(
            Entries=[
                {
                    "EventBusName": "speedups-bus",
                    "Source": "speedups",
                    "DetailType": "test",
                    "Detail": json.dumps({"ticket_id": ticket_id}),
                }
            ]
        )

    bodies = []
    for _ in range(3):
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        bodies.extend(json.loads(message["Body"]) for message in response.get("Messages", []))
    assert sorted(body["ticket"] for body in bodies) == ["T-1", "T-2"]


def test_index_query_follows_every_kind_of_write(aws: dict[str, str]) -> None:
    moto_speedups.install()
    dynamodb = boto3.client("dynamodb")
    table = "speedups-index-writes"
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "G")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-group",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )

    def group(name: str) -> list[str]:
        items = dynamodb.query(
            TableName=table,
            IndexName="by-group",
            KeyConditionExpression="G = :g",
            ExpressionAttributeValues={":g": {"S": name}},
        )["Items"]
        return sorted(item["PK"]["S"] for item in items)

    def key(name: str) -> dict[str, dict[str, str]]:
        return {"PK": {"S": name}, "SK": {"S": "x"}}

    for name in ("a", "b", "c"):
        dynamodb.put_item(TableName=table, Item={**key(name), "G": {"S": "red"}})
    before = group("red")
    dynamodb.update_item(
        TableName=table, Key=key("a"), UpdateExpression="SET G = :g", ExpressionAttributeValues={":g": {"S": "blue"}}
    )
    dynamodb.update_item(
        TableName=table, Key=key("b"), UpdateExpression="SET G = :g", ExpressionAttributeValues={":g": {"S": "green"}}
    )
    dynamodb.delete_item(TableName=table, Key=key("c"))
    dynamodb.update_item(
        TableName=table, Key=key("d"), UpdateExpression="SET G = :g", ExpressionAttributeValues={":g": {"S": "red"}}
    )
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {**key("e"), "G": {"S": "blue"}}}}]
    )
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": table, "Key": key("d")}},
                {"Put": {"TableName": table, "Item": {**key("a"), "G": {"S": "red"}}, "ConditionExpression": "attribute_not_exists(PK)"}},
            ]
        )
    dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**key("f"), "G": {"S": "red"}}}}]})

    assert before == ["a", "b", "c"]
    assert group("red") == ["d", "f"]
    assert group("blue") == ["a", "e"]
    assert group("green") == ["b"]


def test_index_members_answer_only_single_string_keys() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    members = moto_speedups.IndexMembers(table=None)

    assert members.candidates("by-group", None) is None
    assert members.candidates("by-group", [("G", DynamoType({"N": "1"}))]) is None
    assert members.candidates("by-group", [("G", DynamoType({"S": "a"})), ("H", DynamoType({"S": "b"}))]) is None
