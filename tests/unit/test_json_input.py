"""Strict decoding of untrusted JSON: nesting, duplicate keys, numbers and invalid Unicode."""

from __future__ import annotations

import pytest

from functions.json_input import MAX_INTEGER_DIGITS, MAX_JSON_DEPTH, JsonInputError, loads_untrusted


def problem(text: str) -> str:
    with pytest.raises(JsonInputError) as caught:
        loads_untrusted(text)
    return caught.value.problem


def test_ordinary_json_decodes() -> None:
    assert loads_untrusted('{"title": "노트북", "n": [1, 2.5, -3], "ok": true, "none": null}') == {
        "title": "노트북",
        "n": [1, 2.5, -3],
        "ok": True,
        "none": None,
    }


def test_depth_at_limit_is_accepted() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH

    assert loads_untrusted(text) is not None


def test_depth_over_limit_is_rejected() -> None:
    text = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)

    assert problem(text) == f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep"


def test_recursion_depth_nesting_is_rejected() -> None:
    assert "nested more than" in problem("[" * 100_000 + "]" * 100_000)
    assert "nested more than" in problem('{"a":' * 50_000 + "1" + "}" * 50_000)


def test_duplicate_key_is_rejected() -> None:
    assert problem('{"title": "a", "title": "b"}') == "key 'title' appears more than once in one object"


def test_duplicate_key_in_nested_object_is_rejected() -> None:
    assert "'bucket'" in problem('{"attachments": [{"bucket": "a", "bucket": "b"}]}')


def test_key_with_control_character_is_escaped_in_problem() -> None:
    assert problem('{"a\\u0000": 1, "a\\u0000": 2}') == "key 'a\\u0000' appears more than once in one object"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_rejected(constant: str) -> None:
    assert problem(f'{{"size_bytes": {constant}}}') == f"{constant} is not a JSON number"


def test_float_overflow_is_rejected() -> None:
    assert problem('{"size_bytes": 1e999}') == "the number 1e999 is out of range"


def test_long_integer_is_rejected() -> None:
    assert problem('{"version": ' + "9" * 5000 + "}") == f"an integer has more than {MAX_INTEGER_DIGITS} digits"


def test_integer_at_digit_limit_is_accepted() -> None:
    assert loads_untrusted("9" * MAX_INTEGER_DIGITS) == int("9" * MAX_INTEGER_DIGITS)


def test_lone_surrogate_is_rejected() -> None:
    assert problem('{"body": "abc \\ud800"}') == "the string at $.body contains a lone UTF-16 surrogate escape"
    assert "surrogate" in problem('{"\\udfff": 1}')
    assert "$.attachments[0].key" in problem('{"attachments": [{"key": "\\udc80"}]}')


def test_surrogate_pair_is_accepted() -> None:
    assert loads_untrusted('{"body": "\\ud83d\\ude00"}') == {"body": "\U0001f600"}


def test_syntax_error_names_position() -> None:
    assert problem('{"title": }') == "Expecting value at line 1 column 11"
