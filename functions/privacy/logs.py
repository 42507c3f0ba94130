"""Log redaction: no log line carries personal data, whichever handler writes it.

Two pieces, because Python logging has two places where text is produced:

- `RedactingFilter` rewrites a record in place before any handler formats it: the message
  (with its arguments merged), every extra value, the exception text and the stack. Attached
  to the Powertools handler, it runs first for every record of the `servicedesk` loggers, so
  handlers further up (the root logger's plain-text handler of the local stack, pytest's
  capture) receive the rewritten record too.
- `RedactingFormatter` is the Powertools JSON formatter with one more pass over the finished
  log entry, which also covers the keys that Powertools adds itself (appended keys such as
  the correlation id, `exception` and `stack_trace` built from the exception).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

from functions.privacy.redaction import contains_pii, redact

# Deeper structures are cut off rather than walked, so a log call can never recurse without end.
MAX_REDACTION_DEPTH = 8
TRUNCATED = "[TRUNCATED]"


def redact_value(value: Any, depth: int = 0) -> Any:
    """Return a copy of a log value with personal data masked in every string inside it.

    Mappings, lists, tuples and sets are copied with redacted members. An integer whose digits
    form personal data (a card number sent as a number) becomes the placeholder. Other objects
    are turned into their `str()` form, as the JSON serializer would, and redacted.
    """
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int):
        return _redact_integer(value)
    if depth >= MAX_REDACTION_DEPTH:
        return TRUNCATED
    if isinstance(value, Mapping):
        return {redact_value(key, depth + 1): redact_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    return redact(str(value))


def _redact_integer(value: int) -> int | str:
    text = str(value)
    return redact(text) if contains_pii(text) else value


class RedactingFilter(logging.Filter):
    """Rewrite each record so that its message, extras, exception and stack carry no personal data."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging.Filter's API
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the format string: keep the template, as logging would fail.
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in RESERVED_LOG_ATTRS and not key.startswith("_"):
                setattr(record, key, redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with personal data masked in every value of the entry."""

    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(redact_value(log))
