"""Generate the JSON Schemas in events/schemas/ from the pydantic models.

Each event type gets `<DetailType>.v<SCHEMA_VERSION>.json`, the schema of its EventBridge
`detail`, and the intake queue gets `ChannelMessage.v1.json`, the schema of a message body.
Run `python -m events.generate` from the project root after changing a model, and commit the
files. With `--check` it writes nothing and exits 1 when a file is missing or stale.

Files of older major versions are never rewritten or deleted: consumers of those versions
still read them. Writing refuses a breaking change to an existing version (a removed field, a
newly required field, a removed enum value), because that needs a new SCHEMA_VERSION.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from functions.domain.escalation import EscalationReason
from functions.models.customer_events import CUSTOMER_EVENT_TYPES, KnownProblemDetected
from functions.models.events import EVENT_TYPES, EventDetail
from functions.models.intake import ChannelMessage
from functions.models.workflow_events import WORKFLOW_EVENT_SOURCE, WORKFLOW_EVENT_TYPES
from functions.models.workflows import HireEvent, PurchaseAnswer, TrainingAnswer
from functions.resources import INTAKE_DEAD_LETTER_QUEUE_NAME, INTAKE_QUEUE_NAME
from functions.settings import Settings

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:servicedesk:schemas:"

# The deployed defaults; EVENT_SOURCE and EVENT_BUS_NAME can override them per stage.
EVENT_SOURCE: str = Settings.model_fields["event_source"].default
EVENT_BUS_NAME: str = Settings.model_fields["event_bus_name"].default
CUSTOMER_EVENT_SOURCE: str = Settings.model_fields["customer_event_source"].default
# Partner monitoring systems send KnownProblemDetected with this source (infra/resources.yaml).
MONITORING_EVENT_SOURCE = "partner.monitoring"

CHANNEL_MESSAGE_VERSION = "1"

# Used when a model has no docstring of its own.
EVENT_SUMMARIES: dict[str, str] = {
    "TicketCreated": (
        "A ticket was opened, through POST /tickets or by the first message of a new channel thread."
    ),
    "TicketUpdated": (
        "Fields of a ticket changed through PATCH /tickets/{ticket_id}. `changes` maps each changed "
        "field to its old and new value as text."
    ),
    "TicketStatusChanged": (
        "A ticket moved to another status, by PATCH /tickets/{ticket_id} or because a requester's "
        "message reopened a resolved ticket."
    ),
    "TicketEscalated": (
        "A ticket was handed to the senior queue with raised priority. `reasons` lists only the "
        "reasons new to this ticket, from: " + ", ".join(reason.value for reason in EscalationReason) + "."
    ),
    "MessageReceived": (
        "A message joined a ticket's conversation, from the API or a channel gateway. The sentiment "
        "fields are set when the model scored a requester's message; the body itself never travels."
    ),
}


class BreakingChangeError(ValueError):
    """A regenerated schema would break readers of the checked-in file of the same version."""


def own_docstring(model: type[BaseModel]) -> str | None:
    """Return the docstring the model class itself defines, not one inherited from a base."""
    return inspect.cleandoc(model.__doc__) if vars(model).get("__doc__") else None


def event_schema(model: type[BaseModel], source: str = EVENT_SOURCE) -> dict[str, Any]:
    """Build the JSON Schema of one event type's detail, with its EventBridge envelope values."""
    detail_type = model.DETAIL_TYPE
    version = model.SCHEMA_VERSION
    summary = own_docstring(model) or EVENT_SUMMARIES.get(detail_type)
    if summary is None:
        raise ValueError(
            f"{model.__name__} has no description: give it a docstring or add it to EVENT_SUMMARIES"
        )

    body = model.model_json_schema()
    body.pop("title", None)
    body.pop("description", None)
    # A file describes one major version, so the field must equal that version.
    body["properties"]["schema_version"]["const"] = version

    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{ID_PREFIX}events:{detail_type}.v{version}",
        "title": f"{detail_type} v{version}",
        "description": (
            f"{summary}\n\nThis is the `detail` of an EventBridge event with source `{source}` "
            f"and detail-type `{detail_type}`, published on the `{EVENT_BUS_NAME}` bus."
        ),
        "x-eventbridge": {"source": source, "detail-type": detail_type, "event-bus": EVENT_BUS_NAME},
        **body,
    }


def channel_message_schema() -> dict[str, Any]:
    """Build the JSON Schema of an intake queue message body."""
    body = ChannelMessage.model_json_schema()
    summary = body.pop("description")
    body.pop("title", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{ID_PREFIX}intake:ChannelMessage.v{CHANNEL_MESSAGE_VERSION}",
        "title": f"ChannelMessage v{CHANNEL_MESSAGE_VERSION}",
        "description": (
            f"{summary}\n\nThis is the body, UTF-8 JSON, of a message on the `{INTAKE_QUEUE_NAME}` SQS "
            f"queue. A body that fails this schema is retried until the queue moves it to "
            f"`{INTAKE_DEAD_LETTER_QUEUE_NAME}`."
        ),
        "x-sqs": {"queue": INTAKE_QUEUE_NAME, "dead-letter-queue": INTAKE_DEAD_LETTER_QUEUE_NAME},
        **body,
    }


# Events that partner systems publish for the onboarding workflow, by (source, detail-type).
PARTNER_WORKFLOW_EVENTS: dict[tuple[str, str], type[BaseModel]] = {
    ("partner.hr", "EmployeeHired"): HireEvent,
    ("partner.erp", "PurchaseOrderAnswered"): PurchaseAnswer,
    ("partner.lms", "EnrolmentAnswered"): TrainingAnswer,
}


def partner_event_schema(model: type[BaseModel], source: str, detail_type: str) -> dict[str, Any]:
    """Build the JSON Schema of an event detail that a partner system publishes to the bus."""
    body = model.model_json_schema()
    summary = body.pop("description", "")
    body.pop("title", None)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{ID_PREFIX}events:{detail_type}.v1",
        "title": f"{detail_type} v1",
        "description": (
            f"{summary}\n\nPartner systems publish this as the `detail` of an EventBridge event with source "
            f"`{source}` and detail-type `{detail_type}` on the `{EVENT_BUS_NAME}` bus. A detail that fails "
            "this schema ends on the partner events dead-letter queue."
        ),
        "x-eventbridge": {"source": source, "detail-type": detail_type, "event-bus": EVENT_BUS_NAME},
        **body,
    }


def expected_schemas() -> dict[str, dict[str, Any]]:
    """Return every schema the models define now, by file name."""
    schemas = {f"{model.DETAIL_TYPE}.v{model.SCHEMA_VERSION}.json": event_schema(model) for model in EVENT_TYPES}
    schemas[f"ChannelMessage.v{CHANNEL_MESSAGE_VERSION}.json"] = channel_message_schema()
    for customer_model in CUSTOMER_EVENT_TYPES:
        name = f"{customer_model.DETAIL_TYPE}.v{customer_model.SCHEMA_VERSION}.json"
        schemas[name] = event_schema(customer_model, CUSTOMER_EVENT_SOURCE)
    name = f"{KnownProblemDetected.DETAIL_TYPE}.v{KnownProblemDetected.SCHEMA_VERSION}.json"
    schemas[name] = event_schema(KnownProblemDetected, MONITORING_EVENT_SOURCE)
    for workflow_model in WORKFLOW_EVENT_TYPES:
        name = f"{workflow_model.DETAIL_TYPE}.v{workflow_model.SCHEMA_VERSION}.json"
        schemas[name] = event_schema(workflow_model, WORKFLOW_EVENT_SOURCE)
    for (source, detail_type), partner_model in PARTNER_WORKFLOW_EVENTS.items():
        schemas[f"{detail_type}.v1.json"] = partner_event_schema(partner_model, source, detail_type)
    return schemas


def render(schema: dict[str, Any]) -> str:
    """Serialise a schema the way it is checked in: indented, Hangul kept, one trailing newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def stale_files(directory: Path = SCHEMAS_DIR) -> list[str]:
    """Return the names of schema files that are missing or differ from what the models give."""
    stale = []
    for name, schema in expected_schemas().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(schema):
            stale.append(name)
    return stale


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """List the changes from `old` to `new` that break readers or writers of the old schema.

    Checked: removed fields, newly required fields and removed enum values. A changed field type
    is not detected, so review such a diff by hand.
    """
    problems = []
    old_fields = old.get("properties", {})
    new_fields = new.get("properties", {})
    for name in sorted(old_fields.keys() - new_fields.keys()):
        problems.append(f"field '{name}' was removed")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(f"field '{name}' is newly required")

    new_definitions = new.get("$defs", {})
    for name, definition in sorted(old.get("$defs", {}).items()):
        removed = set(definition.get("enum", [])) - set(new_definitions.get(name, {}).get("enum", []))
        if removed:
            problems.append(f"{name} lost the values {', '.join(sorted(map(str, removed)))}")
    return problems


def write_schemas(directory: Path = SCHEMAS_DIR, allow_breaking: bool = False) -> list[str]:
    """Write every stale schema file and return the names written.

    Raises BreakingChangeError, before writing anything, when an existing file of the same
    version would change incompatibly.
    """
    directory.mkdir(parents=True, exist_ok=True)
    schemas = expected_schemas()
    stale = stale_files(directory)

    if not allow_breaking:
        for name in stale:
            path = directory / name
            if not path.is_file():
                continue
            problems = breaking_changes(json.loads(path.read_text(encoding="utf-8")), schemas[name])
            if problems:
                raise BreakingChangeError(
                    f"{name}: {'; '.join(problems)}. Raise the model's SCHEMA_VERSION so that a new "
                    "file is written next to this one, or pass --allow-breaking if no consumer uses it yet."
                )

    for name in stale:
        (directory / name).write_text(render(schemas[name]), encoding="utf-8")
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing, and exit 1 when a file is missing or stale")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="overwrite a file even when the change breaks readers of the same version",
    )
    parser.add_argument("--output", type=Path, default=SCHEMAS_DIR, help="schema folder (default: events/schemas)")
    arguments = parser.parse_args(argv)

    if arguments.check:
        stale = stale_files(arguments.output)
        for name in stale:
            print(f"stale: {arguments.output / name}", file=sys.stderr)
        if stale:
            print("Run `python -m events.generate` and commit the result.", file=sys.stderr)
            return 1
        return 0

    try:
        written = write_schemas(arguments.output, arguments.allow_breaking)
    except BreakingChangeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name in written:
        print(f"wrote {arguments.output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
