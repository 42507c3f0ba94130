"""Log records of the servicedesk loggers carry no personal data, in JSON or in plain text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from functions.observability import logger
from functions.privacy.logs import RedactingFilter, redact_value

PHONE = "010-2345-6789"
EMAIL = "minsu.kim@example.co.kr"
RRN = "850315-1234567"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The Powertools handler's output, as written to stdout in Lambda."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    yield buffer
    logger.registered_handler.setStream(previous)


def entries(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_message_and_arguments_are_masked(json_lines: io.StringIO) -> None:
    logger.info("call back %s", PHONE)

    (entry,) = entries(json_lines)
    assert entry["message"] == "call back [PHONE]"


def test_extra_values_are_masked(json_lines: io.StringIO) -> None:
    logger.info(
        "customer contact",
        extra={"contact": EMAIL, "ids": ["t-1", RRN], "nested": {"card": CARD}, "count": 3},
    )

    (entry,) = entries(json_lines)
    assert entry["contact"] == "[EMAIL]"
    assert entry["ids"] == ["t-1", "[RRN]"]
    assert entry["nested"] == {"card": "[CARD]"}
    assert entry["count"] == 3


def test_exception_and_stack_trace_are_masked(json_lines: io.StringIO) -> None:
    try:
        raise ValueError(f"cannot parse {PHONE} and {EMAIL}")
    except ValueError:
        logger.exception("parsing failed")

    output = json_lines.getvalue()
    (entry,) = entries(json_lines)
    assert PHONE not in output
    assert EMAIL not in output
    assert "[PHONE]" in entry["exception"]
    assert entry["stack_trace"]["value"] == "cannot parse [PHONE] and [EMAIL]"


def test_appended_keys_are_masked(json_lines: io.StringIO) -> None:
    logger.append_keys(correlation_hint=PHONE)
    try:
        logger.info("with appended key")
    finally:
        logger.remove_keys(["correlation_hint"])

    (entry,) = entries(json_lines)
    assert entry["correlation_hint"] == "[PHONE]"


def test_child_logger_records_are_masked(json_lines: io.StringIO) -> None:
    logging.getLogger("servicedesk.functions.domain.example").warning("child saw %s", RRN)

    (entry,) = entries(json_lines)
    assert entry["message"] == "child saw [RRN]"


def test_plain_text_handler_receives_masked_record(json_lines: io.StringIO) -> None:
    plain = io.StringIO()
    root_handler = logging.StreamHandler(plain)
    root_handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logging.getLogger().addHandler(root_handler)
    try:
        try:
            raise RuntimeError(f"card {CARD} declined")
        except RuntimeError:
            logging.getLogger("servicedesk.functions.consumers.example").exception("payment for %s failed", EMAIL)
    finally:
        logging.getLogger().removeHandler(root_handler)

    text = plain.getvalue()
    assert "ERROR payment for [EMAIL] failed" in text
    assert "card [CARD] declined" in text
    assert CARD not in text
    assert EMAIL not in text


def test_bad_format_arguments_do_not_raise() -> None:
    record = logging.LogRecord("servicedesk", logging.INFO, __file__, 1, "two %s %s", (PHONE,), None)

    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "two %s %s"


def test_redact_value_handles_structures() -> None:
    value = {"phones": (PHONE, "02-123-4567"), "card_number": 4111111111111111, "ratio": 0.5, "ok": True, "none": None}

    assert redact_value(value) == {
        "phones": ["[PHONE]", "[PHONE]"],
        "card_number": "[CARD]",
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }


def test_redact_value_stops_at_depth() -> None:
    nested: list = []
    for _ in range(20):
        nested = [nested]

    assert "[TRUNCATED]" in json.dumps(redact_value(nested))


def test_objects_are_masked_by_their_text() -> None:
    class Contact:
        def __str__(self) -> str:
            return f"Contact({EMAIL})"

    assert redact_value(Contact()) == "Contact([EMAIL])"
