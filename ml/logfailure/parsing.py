"""Parse raw log lines and loghub structured CSV files into records the detector reads.

Only the standard library is used here, because inference imports this module inside the
SageMaker scikit-learn container.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("auto", "bgl", "structured", "generic")

# Applied in this order: each pattern replaces its match with <NAME>. Drain uses the same list.
MASKING_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", "MAC"),
    (r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?", "IP"),
    (r"(?<![\w.])(?:/[\w.\-]+)+/?", "PATH"),
    (r"\b0x[0-9a-fA-F]+\b", "HEX"),
    (r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b", "HEX"),
    (r"\d+(?:\.\d+)?", "NUM"),
)
_COMPILED_MASKS = tuple((re.compile(pattern), f"<{name}>") for pattern, name in MASKING_PATTERNS)

# A BGL RAS line: optional alert label, epoch seconds, date, node, timestamp, node, type,
# component, level, message. The label is the first token in the loghub files only.
_BGL_LINE = re.compile(
    r"^(?:(?P<label>\S+)\s+)?(?P<epoch>\d{9,11})\s+\d{4}\.\d{2}\.\d{2}\s+(?P<node>\S+)\s+"
    r"\d{4}-\d{2}-\d{2}-\d{2}\.\d{2}\.\d{2}\.(?P<micros>\d+)\s+\S+\s+(?P<type>\S+)\s+"
    r"(?P<component>\S+)\s+(?P<level>\S+)(?:\s(?P<content>.*))?$"
)

_LEVEL_NAMES = {
    "TRACE": "TRACE", "DEBUG": "DEBUG", "INFO": "INFO", "NOTICE": "NOTICE",
    "WARN": "WARNING", "WARNING": "WARNING", "ERROR": "ERROR", "ERR": "ERROR",
    "SEVERE": "SEVERE", "FATAL": "FATAL", "CRITICAL": "CRITICAL", "CRIT": "CRITICAL",
    "ALERT": "ALERT", "EMERG": "EMERGENCY", "EMERGENCY": "EMERGENCY", "PANIC": "PANIC",
}
# Android logcat writes the level as one letter before "Tag:".
_LOGCAT_LEVELS = {"V": "TRACE", "D": "DEBUG", "I": "INFO", "W": "WARNING", "E": "ERROR", "F": "FATAL"}
_HEADER_TOKENS = 8
_HEADER_PUNCTUATION = "[]<>():,-|"


@dataclass(frozen=True)
class LogRecord:
    """One log line split into the fields the detector uses; `label` is never a model input."""

    content: str
    level: str = ""
    component: str = ""
    timestamp: float | None = None
    label: str | None = None

    @property
    def is_alert(self) -> bool | None:
        """Whether the line is labelled an alert, or None for unlabelled lines."""
        if self.label is None:
            return None
        return self.label != "-"


def mask_message(text: str) -> str:
    """Replace addresses, paths, hex ids and numbers with placeholders such as <NUM>."""
    for pattern, placeholder in _COMPILED_MASKS:
        text = pattern.sub(placeholder, text)
    return text


def parse_bgl_line(line: str) -> LogRecord | None:
    """Parse a BGL RAS line with or without the leading alert label; None if it is not one."""
    match = _BGL_LINE.match(line.strip())
    if match is None:
        return None
    return LogRecord(
        content=match["content"] or "",
        level=match["level"].upper(),
        component=match["component"],
        timestamp=int(match["epoch"]) + int(match["micros"]) / 10 ** len(match["micros"]),
        label=match["label"],
    )


def _strip_header_token(token: str) -> str:
    return token.strip(_HEADER_PUNCTUATION)


def _find_level(tokens: list[str]) -> tuple[int, str] | None:
    for index, token in enumerate(tokens[:_HEADER_TOKENS]):
        name = _strip_header_token(token).upper()
        if name in _LEVEL_NAMES:
            return index, _LEVEL_NAMES[name]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token in _LOGCAT_LEVELS and following.endswith(":"):
            return index, _LOGCAT_LEVELS[token]
    return None


def _skip_bracketed_prefix(text: str) -> str:
    """Drop leading bracketed groups (nested brackets allowed) and dashes, e.g. `[main] - `."""
    text = text.lstrip()
    while text[:1] in ("[", "-"):
        if text[0] == "-":
            text = text[1:].lstrip()
            continue
        depth = 0
        for position, character in enumerate(text):
            depth += {"[": 1, "]": -1}.get(character, 0)
            if depth == 0:
                text = text[position + 1 :].lstrip()
                break
        else:
            return text
    return text


def _split_component(text: str) -> tuple[str, str]:
    """Split a leading `component:` token (after bracketed ids and dashes) from the message."""
    text = _skip_bracketed_prefix(text)
    first, _, rest = text.partition(" ")
    if first.endswith(":") and any(c.isalpha() for c in first):
        return first.rstrip(":"), rest.strip()
    return "", text


def _is_header_token(token: str) -> bool:
    """Dates, times, numbers and bracketed stamps that precede the message."""
    stripped = _strip_header_token(token)
    return not stripped or not any(c.isalpha() for c in stripped) or token.startswith("[")


def parse_generic_line(line: str) -> LogRecord:
    """Parse a line of an unknown format: find the level word and the `component:` token.

    Header tokens such as dates, times, host names and process ids are dropped where they can
    be recognised. Otherwise the whole line is the message, which masking then normalises.
    """
    text = line.strip()
    if text.count("|") >= 3:
        fields = text.split("|")
        return LogRecord(content="|".join(fields[3:]).strip(), component=fields[1].strip())

    tokens = text.split()
    level_found = _find_level(tokens)
    if level_found is not None:
        index, level = level_found
        component, content = _split_component(" ".join(tokens[index + 1 :]))
        return LogRecord(content=content, level=level, component=component)

    for index, token in enumerate(tokens[:_HEADER_TOKENS]):
        if token.endswith(":") and any(c.isalpha() for c in token):
            return LogRecord(content=" ".join(tokens[index + 1 :]), component=token.rstrip(":"))

    start = 0
    while start < len(tokens) - 1 and _is_header_token(tokens[start]):
        start += 1
    return LogRecord(content=" ".join(tokens[start:]))


def parse_line(line: str, log_format: str = "auto") -> LogRecord:
    """Parse one raw line; `auto` reads BGL lines as BGL and anything else generically."""
    if log_format not in ("auto", "bgl", "generic"):
        raise ValueError(f"invalid line format {log_format!r}: use auto, bgl or generic")
    if log_format in ("auto", "bgl"):
        record = parse_bgl_line(line)
        if record is not None:
            return record
        if log_format == "bgl":
            raise ValueError(f"not a BGL line: {line[:120]!r}; use --format generic for other logs")
    return parse_generic_line(line)


def _structured_record(row: dict[str, str]) -> LogRecord:
    timestamp = row.get("Timestamp")
    label = row.get("Label")
    return LogRecord(
        content=row["Content"] or "",
        level=(row.get("Level") or "").strip().upper(),
        component=(row.get("Component") or "").strip(),
        timestamp=float(timestamp) if timestamp not in (None, "") else None,
        label=label.strip() if label not in (None, "") else None,
    )


def read_structured_csv(path: Path) -> list[LogRecord]:
    """Read a loghub `*_structured.csv` file; it needs a Content column, Label is optional."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "Content" not in reader.fieldnames:
            raise ValueError(f"{path} has no Content column: expected a loghub structured CSV")
        return [_structured_record(row) for row in reader]


def read_log_file(path: Path, log_format: str = "auto") -> list[LogRecord]:
    """Read a raw log file or a structured CSV, in file order; `auto` picks by suffix and content."""
    if log_format not in FORMATS:
        raise ValueError(f"invalid log format {log_format!r}: use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ValueError(f"log file not found: {path}")
    if log_format == "structured" or (log_format == "auto" and path.suffix.lower() == ".csv"):
        return read_structured_csv(path)

    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = [line.rstrip("\n") for line in handle if line.strip()]
    if log_format == "auto" and lines:
        # One format per file, so a malformed BGL line fails loudly instead of being read
        # generically with its alert label left in the message.
        log_format = "bgl" if parse_bgl_line(lines[0]) is not None else "generic"
    return [parse_line(line, log_format) for line in lines]
