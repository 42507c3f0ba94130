"""Event contracts: the checked-in JSON Schemas match the models, and every sample event obeys them."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from events import generate
from functions.models.caller import Caller
from functions.models.events import EVENT_TYPES
from functions.models.intake import ChannelMessage
from functions.models.tickets import CreateTicketRequest

ROOT = Path(generate.__file__).resolve().parents[1]
SAMPLES_DIR = ROOT / "events" / "samples"
EVENTBRIDGE_SAMPLES = sorted((SAMPLES_DIR / "eventbridge").glob("*.json"))
POISON_MESSAGE_IDS = {"50258ec6-d613-4e44-b31d-8ef0a4bcab3d"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")

# The fields that EventBridge puts around every detail.
ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"],
    "properties": {
        "version": {"const": "0"},
        "id": {"type": "string", "minLength": 1},
        "detail-type": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1},
        "account": {"type": "string", "pattern": r"^\d{12}$"},
        "time": {"type": "string", "format": "date-time"},
        "region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
        "resources": {"type": "array", "items": {"type": "string"}},
        "detail": {"type": "object"},
    },
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def checked_in_schema(name: str) -> dict[str, Any]:
    return load_json(generate.SCHEMAS_DIR / name)


def detail_schema(event: dict[str, Any]) -> dict[str, Any]:
    return checked_in_schema(f"{event['detail-type']}.v{event['detail']['schema_version']}.json")


def error_messages(schema: dict[str, Any], instance: Any) -> list[str]:
    return [error.message for error in validator(schema).iter_errors(instance)]


def intake_records() -> list[dict[str, Any]]:
    return load_json(SAMPLES_DIR / "sqs" / "intake-batch.json")["Records"]


# Schema files.


def test_schema_files_match_models() -> None:
    stale = generate.stale_files()

    assert stale == [], f"stale schema files {stale}: run `python -m events.generate` and commit them"


@pytest.mark.parametrize("model", EVENT_TYPES, ids=lambda model: model.DETAIL_TYPE)
def test_every_event_type_has_schema(model: Any) -> None:
    path = generate.SCHEMAS_DIR / f"{model.DETAIL_TYPE}.v{model.SCHEMA_VERSION}.json"

    assert path.is_file(), f"{path.name} is missing: run `python -m events.generate`"
    schema = load_json(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"{model.DETAIL_TYPE}.v{model.SCHEMA_VERSION}")
    assert schema["title"] == f"{model.DETAIL_TYPE} v{model.SCHEMA_VERSION}"
    assert schema["description"]
    assert schema["x-eventbridge"]["detail-type"] == model.DETAIL_TYPE
    assert schema["x-eventbridge"]["source"] == generate.EVENT_SOURCE
    assert schema["properties"]["schema_version"]["const"] == model.SCHEMA_VERSION


def test_channel_message_schema_is_valid() -> None:
    schema = checked_in_schema("ChannelMessage.v1.json")

    Draft202012Validator.check_schema(schema)
    assert schema["x-sqs"]["queue"] == "servicedesk-intake"


def test_check_names_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--output", str(tmp_path)]) == 0
    assert generate.main(["--check", "--output", str(tmp_path)]) == 0
    edited = tmp_path / "TicketCreated.v1.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Unique id", "Id"), encoding="utf-8")
    capsys.readouterr()

    assert generate.main(["--check", "--output", str(tmp_path)]) == 1
    errors = capsys.readouterr().err
    assert "TicketCreated.v1.json" in errors
    assert "TicketUpdated.v1.json" not in errors


def test_check_names_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate.main(["--output", str(tmp_path)])
    (tmp_path / "MessageReceived.v1.json").unlink()
    capsys.readouterr()

    assert generate.main(["--check", "--output", str(tmp_path)]) == 1
    assert "MessageReceived.v1.json" in capsys.readouterr().err


def test_older_version_file_is_kept(tmp_path: Path) -> None:
    generate.main(["--output", str(tmp_path)])
    older = tmp_path / "TicketCreated.v0.json"
    older.write_text("{}\n", encoding="utf-8")

    assert generate.main(["--check", "--output", str(tmp_path)]) == 0
    generate.main(["--output", str(tmp_path)])
    assert older.read_text(encoding="utf-8") == "{}\n"


# Breaking changes within one version.


def test_breaking_changes_of_removed_field() -> None:
    old = {"properties": {"a": {}, "b": {}}, "required": ["a"]}
    new = {"properties": {"a": {}}, "required": ["a"]}

    assert generate.breaking_changes(old, new) == ["field 'b' was removed"]


def test_breaking_changes_of_required_field() -> None:
    old = {"properties": {"a": {}}, "required": []}
    new = {"properties": {"a": {}, "b": {}}, "required": ["a", "b"]}

    assert generate.breaking_changes(old, new) == ["field 'a' is newly required", "field 'b' is newly required"]


def test_breaking_changes_of_removed_enum_value() -> None:
    old = {"$defs": {"Channel": {"enum": ["email", "chat", "fax"]}}}
    new = {"$defs": {"Channel": {"enum": ["email", "chat"]}}}

    assert generate.breaking_changes(old, new) == ["Channel lost the values fax"]


def test_additive_change_is_not_breaking() -> None:
    old = {"properties": {"a": {}}, "required": ["a"], "$defs": {"Channel": {"enum": ["email"]}}}
    new = {"properties": {"a": {}, "b": {}}, "required": ["a"], "$defs": {"Channel": {"enum": ["email", "chat"]}}}

    assert generate.breaking_changes(old, new) == []


def test_write_refuses_breaking_change(tmp_path: Path) -> None:
    generate.main(["--output", str(tmp_path)])
    path = tmp_path / "TicketEscalated.v1.json"
    schema = load_json(path)
    schema["properties"]["legacy_reason"] = {"type": "string"}
    path.write_text(generate.render(schema), encoding="utf-8")
    before = path.read_text(encoding="utf-8")

    with pytest.raises(generate.BreakingChangeError, match="legacy_reason"):
        generate.write_schemas(tmp_path)
    assert path.read_text(encoding="utf-8") == before
    assert generate.main(["--output", str(tmp_path)]) == 2
    assert generate.write_schemas(tmp_path, allow_breaking=True) == ["TicketEscalated.v1.json"]


# EventBridge samples.


def test_every_event_type_has_sample() -> None:
    sampled = {load_json(path)["detail-type"] for path in EVENTBRIDGE_SAMPLES}

    assert sampled == {model.DETAIL_TYPE for model in EVENT_TYPES}


@pytest.mark.parametrize("path", EVENTBRIDGE_SAMPLES, ids=lambda path: path.stem)
def test_eventbridge_sample_validates(path: Path) -> None:
    event = load_json(path)
    schema = detail_schema(event)
    model = next(model for model in EVENT_TYPES if model.DETAIL_TYPE == event["detail-type"])

    assert error_messages(ENVELOPE_SCHEMA, event) == []
    assert event["source"] == schema["x-eventbridge"]["source"]
    assert error_messages(schema, event["detail"]) == []
    assert model.model_validate(event["detail"]).model_dump(mode="json") == event["detail"]


def test_detail_with_unknown_field_rejected() -> None:
    event = load_json(SAMPLES_DIR / "eventbridge" / "TicketCreated.json")
    detail = {**event["detail"], "customer_email": "kim@example.com"}

    errors = error_messages(detail_schema(event), detail)

    assert len(errors) == 1
    assert "customer_email" in errors[0]


def test_nested_unknown_field_rejected() -> None:
    event = load_json(SAMPLES_DIR / "eventbridge" / "TicketUpdated.json")
    detail = copy.deepcopy(event["detail"])
    detail["changes"]["status"]["reason"] = "customer asked"

    assert len(error_messages(detail_schema(event), detail)) == 1


def test_detail_of_other_version_rejected() -> None:
    event = load_json(SAMPLES_DIR / "eventbridge" / "TicketStatusChanged.json")
    detail = {**event["detail"], "schema_version": "2"}

    assert len(error_messages(detail_schema(event), detail)) == 1


def test_detail_with_bad_timestamp_rejected() -> None:
    event = load_json(SAMPLES_DIR / "eventbridge" / "MessageReceived.json")
    detail = {**event["detail"], "occurred_at": "어제 오후"}

    assert len(error_messages(detail_schema(event), detail)) == 1


def test_detail_missing_required_field_rejected() -> None:
    event = load_json(SAMPLES_DIR / "eventbridge" / "TicketEscalated.json")
    detail = {key: value for key, value in event["detail"].items() if key != "reasons"}

    errors = error_messages(detail_schema(event), detail)

    assert errors == ["'reasons' is a required property"]


# SQS, API Gateway and scheduled samples.


def test_intake_records_have_own_message_ids() -> None:
    message_ids = [record["messageId"] for record in intake_records()]

    assert len(message_ids) == len(set(message_ids))


def test_intake_records_carry_body_digest() -> None:
    for record in intake_records():
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode("utf-8")).hexdigest(), record["messageId"]


def test_intake_records_validate_except_poison() -> None:
    schema = checked_in_schema("ChannelMessage.v1.json")
    invalid = set()

    for record in intake_records():
        body = json.loads(record["body"])
        if error_messages(schema, body):
            invalid.add(record["messageId"])
        else:
            ChannelMessage.model_validate(body)

    assert invalid == POISON_MESSAGE_IDS


def test_poison_record_rejected_by_model() -> None:
    poison = next(record for record in intake_records() if record["messageId"] in POISON_MESSAGE_IDS)

    with pytest.raises(ValueError, match="channel"):
        ChannelMessage.model_validate_json(poison["body"])


def test_intake_bodies_cover_korean_english_and_mixed() -> None:
    texts = [json.loads(record["body"])["body"] for record in intake_records()]
    kinds = set()
    for text in texts:
        has_hangul = bool(HANGUL.search(text))
        has_english = bool(LATIN_WORD.search(text))
        if has_hangul and has_english:
            kinds.add("mixed")
        elif has_hangul:
            kinds.add("ko")
        elif has_english:
            kinds.add("en")

    assert {"ko", "en", "mixed"} <= kinds


def test_intake_thread_joins_two_channels() -> None:
    bodies = [json.loads(record["body"]) for record in intake_records()]
    channels_by_thread: dict[str, set[str]] = {}
    for body in bodies:
        channels_by_thread.setdefault(body["thread_key"], set()).add(body["channel"])

    assert any(len(channels) > 1 for channels in channels_by_thread.values())


def test_api_gateway_sample_is_valid_request() -> None:
    event = load_json(SAMPLES_DIR / "apigateway" / "create-ticket.json")
    body = json.loads(event["body"])

    assert (event["httpMethod"], event["resource"]) == ("POST", "/tickets")
    assert event["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert event["isBase64Encoded"] is False
    assert HANGUL.search(body["title"])
    assert error_messages(CreateTicketRequest.model_json_schema(), body) == []
    CreateTicketRequest.model_validate(body)


def test_api_gateway_sample_identifies_caller() -> None:
    claims = load_json(SAMPLES_DIR / "apigateway" / "create-ticket.json")["requestContext"]["authorizer"]["claims"]

    caller = Caller(tenant_id=claims["custom:tenant_id"], user_id=claims["sub"], role=claims["custom:role"])

    assert caller.tenant_id == "acme-kr"


def test_scheduled_sample_validates() -> None:
    event = load_json(SAMPLES_DIR / "scheduled" / "relay-outbox.json")

    assert error_messages(ENVELOPE_SCHEMA, event) == []
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["resources"][0].startswith(f"arn:aws:events:{event['region']}:{event['account']}:rule/")


# The catalogue in docs/events.md.


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation templates, turning tags such as !GetAtt into plain values."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def catalogue() -> str:
    return (ROOT / "docs" / "events.md").read_text(encoding="utf-8")


def test_catalogue_names_every_schema_field() -> None:
    text = catalogue()

    for name, schema in generate.expected_schemas().items():
        assert name in text, name
        for field in schema["properties"]:
            assert f"`{field}`" in text, f"{name}: {field}"


def test_catalogue_names_every_rule() -> None:
    template = yaml.load((ROOT / "infra" / "resources.yaml").read_text(encoding="utf-8"), Loader=_TemplateLoader)
    rules = [resource["Properties"] for resource in template["Resources"].values() if resource["Type"] == "AWS::Events::Rule"]
    text = catalogue()

    assert rules
    for rule in rules:
        assert f"`{rule['Name']}`" in text, rule["Name"]
        for detail_type in rule["EventPattern"].get("detail-type", []):
            assert f"detail-type `{detail_type}`" in text, rule["Name"]
