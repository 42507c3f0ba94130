"""Reading text columns from CSV and TSV corpora, with or without a header row."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path

# Corpus rows can hold long texts (whole e-mails); the csv module's default limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 16 * 1024 * 1024))


def guess_delimiter(path: Path) -> str:
    return "\t" if path.suffix.lower() in {".tsv", ".txt"} else ","


def read_rows(path: Path, delimiter: str | None = None, header: bool = True) -> tuple[list[str], Iterator[list[str]]]:
    """Return the column names (numbers as text when there is no header) and an iterator of rows."""
    if not path.is_file():
        raise SystemExit(f"{path} does not exist")
    handle = path.open(newline="", encoding="utf-8-sig")
    reader = csv.reader(handle, delimiter=delimiter or guess_delimiter(path), quoting=csv.QUOTE_MINIMAL)
    try:
        first = next(reader, None)
    except UnicodeDecodeError as error:
        handle.close()
        raise SystemExit(f"{path} is not UTF-8 text (invalid byte at position {error.start}); convert it to UTF-8") from error
    if first is None:
        handle.close()
        raise SystemExit(f"{path} is empty")
    if header:
        columns = first
        rows: Iterator[list[str]] = reader
    else:
        columns = [str(index) for index in range(len(first))]
        rows = _prepend(first, reader)
    return columns, _closing(rows, handle)


def column_index(columns: list[str], name: str, path: Path) -> int:
    if name in columns:
        return columns.index(name)
    raise SystemExit(
        f"column {name!r} is not in {path}; its columns are: {', '.join(columns)}"
        " (use --no-header and a column number for files without a header row)"
    )


def _prepend(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


def _closing(rows: Iterator[list[str]], handle) -> Iterator[list[str]]:
    try:
        yield from rows
    except UnicodeDecodeError as error:
        raise SystemExit(f"{handle.name} is not UTF-8 text (invalid byte at position {error.start}); convert it to UTF-8") from error
    finally:
        handle.close()


def _whole_number_from(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from error
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type for counts that may be 0."""
    return _whole_number_from(text, 0)


def positive_int(text: str) -> int:
    """argparse type for counts that must be 1 or more."""
    return _whole_number_from(text, 1)
