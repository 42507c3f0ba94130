"""Strict JSON decoding for untrusted input: request bodies and queue messages.

`json.loads` alone accepts input that later breaks the service or means two things:

- nesting a thousand levels deep raises RecursionError, and any depth costs pydantic time;
- duplicate keys keep the last value silently, so a gateway and the service could read
  different values from one body: duplicates are rejected;
- NaN, Infinity and numbers beyond float range are not JSON (RFC 8259) and cannot be stored
  in DynamoDB;
- integers of more than 4,300 digits raise ValueError, and very long ones cost quadratic time
  to convert: integer literals are limited to MAX_INTEGER_DIGITS;
- a lone surrogate escape such as "\\ud800" decodes to a string that cannot be encoded as
  UTF-8, so it fails when stored or echoed back.

Every rejection raises JsonInputError, whose `problem` describes what was wrong and where.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Request and message bodies nest three levels (body, attachments, attachment); 32 leaves room.
MAX_JSON_DEPTH = 32
# Enough for any 64-bit integer and for DynamoDB's 38-digit numbers.
MAX_INTEGER_DIGITS = 40

_SURROGATE = re.compile("[\ud800-\udfff]")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


class JsonInputError(ValueError):
    """Untrusted JSON that the service does not accept, with the reason in `problem`."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def loads_untrusted(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON text from outside the service; raise JsonInputError when it is unacceptable."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as error:
        raise JsonInputError(f"{error.msg} at line {error.lineno} column {error.colno}") from error
    except RecursionError as error:
        raise JsonInputError(f"the JSON is nested more than {max_depth} levels deep") from error
    _check_structure(data, max_depth)
    return data


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonInputError(f"key '{_printable(key)}' appears more than once in one object")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonInputError(f"an integer has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {literal[:40]} is out of range")
    return value


def _check_structure(data: Any, max_depth: int) -> None:
    """Raise JsonInputError for nesting deeper than max_depth or a string that is not valid Unicode.

    Iterative, so that the walk itself cannot exhaust the stack.
    """
    pending: list[tuple[Any, int, str]] = [(data, 1, "$")]
    while pending:
        value, depth, path = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise JsonInputError(f"the string at {path} contains a lone UTF-16 surrogate escape")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise JsonInputError(f"the JSON is nested more than {max_depth} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    raise JsonInputError(f"a key in {path} contains a lone UTF-16 surrogate escape")
                pending.append((item, depth + 1, f"{path}.{_printable(key)}"))
        else:
            pending.extend((item, depth + 1, f"{path}[{index}]") for index, item in enumerate(value))


def _printable(key: str) -> str:
    """Return a key shortened to 64 characters, with control characters and surrogates escaped."""
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", key[:64])
