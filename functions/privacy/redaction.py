"""Detect personal data in free text and replace it with typed placeholders such as `[PHONE]`.

Pure Python, no AWS. Used on log records (functions/privacy/logs.py) and on texts sent to the
models. Stored tickets keep their text: the conversation is the record (docs/security-privacy.md).

What is masked, and what is deliberately kept:

| placeholder | matched when | kept on purpose |
|---|---|---|
| `[EMAIL]` | local@domain.tld | |
| `[PHONE]` | Korean mobile (01X), geographic landline, 070 and 050X numbers with or without +82/0082; any `+` number of 8 to 15 digits (E.164); North American numbers with separators | business numbers: 15XX/16XX/18XX-XXXX and 080 toll-free |
| `[RRN]` | resident or foreign registration number with a valid birth date (see `_is_rrn`) | 13-digit numbers without a hyphen, valid check digit or nearby RRN keyword |
| `[CARD]` | 13 to 19 digits, spaced or hyphenated in card groups, with a card-network prefix and a valid Luhn digit | |
| `[DRIVER_LICENSE]` | Korean licence number NN-NN-NNNNNN-NN or region name + NN-NNNNNN-NN | |
| `[ACCOUNT]` | 10 to 16 digits, unseparated or in hyphenated groups, within 30 characters after a bank or account keyword | the same digits without such a keyword, because bank account numbers have no checksum and look like order ids |
| `[PASSPORT]` | a passport number (M12345678, M123A4567) after a passport keyword | |
| `[IP]` | a globally routable IPv4 address | private, loopback, link-local and reserved addresses: they name machines inside a company network, which agents need, not people |

Dates, times, prices, ticket numbers, order ids, ULIDs and UUIDs are not masked. A number
pattern matches only where its neighbours are not ASCII letters, digits or underscores, and not
digits joined by a hyphen or dot, so digits inside a longer id never match.

NOTE: IPv6 addresses, numbers written in Hangul words ("공일공") and card numbers split by
other characters are not detected.
"""

from __future__ import annotations

import bisect
import calendar
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PiiKind(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    RRN = "RRN"
    CARD = "CARD"
    DRIVER_LICENSE = "DRIVER_LICENSE"
    ACCOUNT = "ACCOUNT"
    PASSPORT = "PASSPORT"
    IP = "IP"


def placeholder(kind: PiiKind) -> str:
    """Return the text that replaces personal data of a kind, for example `[PHONE]`."""
    return f"[{kind.value}]"


@dataclass(frozen=True)
class PiiMatch:
    """A span of personal data in a text: `text[start:end]` is of `kind`."""

    kind: PiiKind
    start: int
    end: int


# Full-width digits, letters and signs (Korean IMEs type them) and Unicode dashes are read as their ASCII
# forms. Every entry maps one character to one character, so match offsets stay valid.
_ASCII_FORMS = str.maketrans(
    {
        **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
        **{chr(0xFF21 + letter): chr(ord("A") + letter) for letter in range(26)},
        **{chr(0xFF41 + letter): chr(ord("a") + letter) for letter in range(26)},
        "\uff0b": "+",
        "\uff0d": "-",
        "\uff0e": ".",
        "\uff20": "@",
        "\uff08": "(",
        "\uff09": ")",
        "\u3000": " ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)

# A number starts and ends where the neighbour is not an ASCII letter, digit or underscore, and
# not a digit joined by "-" or "." (so "REQ-2024-0101234567" and "1.2.3.4.5" never match inside).
_NUMBER_START = r"(?<![A-Za-z0-9_])(?<![0-9][-.])"
_NUMBER_END = r"(?![A-Za-z0-9_])(?![-.][0-9])"
_SEP = r"[-. ]?"

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)

# Korean area codes: 02 Seoul, 031-033, 041-044, 051-055, 061-064; 070 internet phones; 0502-0508
# personal "safe numbers". Representative numbers (15XX-XXXX) and 080 belong to businesses.
_KR_AREA = r"(?:2|3[1-3]|4[1-4]|5[1-5]|6[1-4]|70|50[2-8])"
_KR_MOBILE = r"1[016789]"
_PHONE_PATTERNS = (
    # Domestic mobile, separators optional: 010-1234-5678, 01012345678, (010) 1234 5678.
    re.compile(_NUMBER_START + r"(?:\(0" + _KR_MOBILE + r"\)\s?|0" + _KR_MOBILE + _SEP + r")[0-9]{3,4}" + _SEP + r"[0-9]{4}" + _NUMBER_END),
    # Domestic landline, separators required: 02-123-4567, (02) 1234-5678, 02)123-4567.
    re.compile(_NUMBER_START + r"(?:\(0" + _KR_AREA + r"\)\s?|0" + _KR_AREA + r"(?:[-. ]|\)\s?))[0-9]{3,4}[-. ][0-9]{4}" + _NUMBER_END),
    # Korean numbers in international form: +82 10 1234 5678, 0082-2-123-4567, +82 (0)10-1234-5678.
    re.compile(
        r"(?<![A-Za-z0-9_+])(?:\+|00)82" + _SEP + r"(?:\(0\)\s?)?0?(?:" + _KR_MOBILE + "|" + _KR_AREA + r")"
        + _SEP + r"[0-9]{3,4}" + _SEP + r"[0-9]{4}" + _NUMBER_END
    ),
    # E.164 with a plus sign: +1 415 555 2671, +44 20 7946 0958; the digit count is checked after.
    re.compile(r"(?<![A-Za-z0-9_+])\+[1-9](?:[ .\-]?\(?[0-9]\)?){7,14}" + _NUMBER_END),
    # North American numbers with separators: (415) 555-2671, 415-555-2671.
    re.compile(_NUMBER_START + r"(?:\([2-9][0-9]{2}\)\s?|[2-9][0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4}" + _NUMBER_END),
)

# Six birth-date digits, an optional hyphen or space, the sex and century digit, six more digits.
# A masked back part such as 900101-1****** still gives away the birth date and sex.
_RRN = re.compile(_NUMBER_START + r"([0-9]{6})(\s?-\s?|\s)?([1-8](?:[0-9]{6}|\*{6}))" + _NUMBER_END)
_RRN_KEYWORDS = ("주민", "외국인등록", "rrn", "resident registration")

# Card numbers: one run of 13-19 digits, or groups of 4 separated by the same space or hyphen
# (4-4-4-4, 4-4-4-4-3, 4-4-4-1..), or the 4-6-5 and 4-6-4 groups of Amex and Diners.
_CARD = re.compile(
    _NUMBER_START
    + r"(?:[0-9]{13,19}|[0-9]{4}(?P<sep>[ \-])[0-9]{4}(?P=sep)[0-9]{4}(?P=sep)[0-9]{1,4}(?:(?P=sep)[0-9]{1,3})?"
    r"|[0-9]{4}(?P<sep2>[ \-])[0-9]{6}(?P=sep2)[0-9]{4,5})"
    + _NUMBER_END
)

_REGIONS = "서울|부산|경기|강원|충북|충남|전북|전남|경북|경남|제주|대구|인천|광주|대전|울산"
_DRIVER_LICENSE = re.compile(
    r"(?:" + _NUMBER_START + r"[0-9]{2}-|(?:" + _REGIONS + r")\s?)[0-9]{2}-[0-9]{6}-[0-9]{2}" + _NUMBER_END
)

# Hyphens only: spaces would join a date and a time ("2024-03-15 10") into ten digits.
_ACCOUNT = re.compile(_NUMBER_START + r"(?:[0-9]{10,16}|[0-9]{2,6}(?:-[0-9]{1,8}){1,4})" + _NUMBER_END)
_ACCOUNT_KEYWORDS = (
    "계좌", "입금", "송금", "이체", "환불", "은행", "뱅크", "농협", "신협", "새마을금고", "우체국",
    "account", "acct", "bank", "iban",
)

_PASSPORT = re.compile(r"(?<![A-Za-z0-9_])(?:[A-Z][0-9]{8}|[A-Z][0-9]{3}[A-Z][0-9]{4})(?![A-Za-z0-9_])")
_PASSPORT_KEYWORDS = ("여권", "passport")

_IPV4 = re.compile(r"(?<![A-Za-z0-9_.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}" + _NUMBER_END)

_DIGIT = re.compile("[0-9]")

# Characters before a number that are searched for a keyword such as 계좌 or passport.
KEYWORD_WINDOW = 30


def find_pii(text: str) -> list[PiiMatch]:
    """Return the spans of personal data in `text`, ordered by position and never overlapping.

    When two detections overlap, the kind listed first in PiiKind wins (an email that contains
    a phone number is an email), then the longer span.
    """
    if not text:
        return []
    normalised = text.translate(_ASCII_FORMS)
    # Every number pattern needs at least four digits (1.1.1.1); most log values have none.
    if "@" not in normalised and len(_DIGIT.findall(normalised)) < 4:
        return []
    lowered = normalised.lower()

    candidates: list[PiiMatch] = []
    for detector in _DETECTORS:
        candidates.extend(detector(normalised, lowered))

    rank = {kind: position for position, kind in enumerate(PiiKind)}
    candidates.sort(key=lambda match: (rank[match.kind], match.start - match.end, match.start))
    chosen: list[PiiMatch] = []
    starts: list[int] = []
    for candidate in candidates:
        position = bisect.bisect_left(starts, candidate.start)
        if position > 0 and chosen[position - 1].end > candidate.start:
            continue
        if position < len(chosen) and chosen[position].start < candidate.end:
            continue
        chosen.insert(position, candidate)
        starts.insert(position, candidate.start)
    return chosen


def redact(text: str) -> str:
    """Return `text` with every span of personal data replaced by its placeholder."""
    matches = find_pii(text)
    if not matches:
        return text
    pieces: list[str] = []
    position = 0
    for match in matches:
        pieces.append(text[position : match.start])
        pieces.append(placeholder(match.kind))
        position = match.end
    pieces.append(text[position:])
    return "".join(pieces)


def contains_pii(text: str) -> bool:
    """Return whether `text` contains any personal data that `redact` would mask."""
    return bool(find_pii(text))


# Detectors: each takes the text with ASCII forms and its lower-case copy.


def _find_emails(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _EMAIL.finditer(text):
        yield PiiMatch(PiiKind.EMAIL, match.start(), match.end())


def _find_phones(text: str, lowered: str) -> Iterable[PiiMatch]:
    for pattern in _PHONE_PATTERNS:
        for match in pattern.finditer(text):
            digits = sum(character.isdigit() for character in match.group())
            if 8 <= digits <= 15:
                yield PiiMatch(PiiKind.PHONE, match.start(), match.end())


def _find_rrns(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _RRN.finditer(text):
        birth, separator, back = match.group(1), match.group(2), match.group(3)
        if _is_rrn(birth, back, separated=bool(separator), keyword=_keyword_before(lowered, match.start(), _RRN_KEYWORDS)):
            yield PiiMatch(PiiKind.RRN, match.start(), match.end())


def _is_rrn(birth: str, back: str, separated: bool, keyword: bool) -> bool:
    """Decide whether six birth digits and seven back digits form a registration number.

    The back part starts with the sex and century digit: 1, 2 (citizens born 1900-1999),
    3, 4 (citizens born 2000-2099), 5, 6 and 7, 8 (foreign residents, same centuries). The
    birth date must exist and not lie in the future.

    The last digit was a check digit over the first twelve, (11 - weighted sum mod 11) mod 10
    with weights 2..9, 2..5, for numbers issued before October 2020. Numbers issued since
    then end in random digits and carry no check digit, so a hyphenated number with a valid
    date is masked whatever its last digit. A 13-digit run without a separator is more often an
    order or tracking number, so it is masked only with a valid check digit or an RRN keyword
    (주민, 외국인등록, RRN) just before it.
    """
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}[back[0]]
    year, month, day = century + int(birth[0:2]), int(birth[2:4]), int(birth[4:6])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if date(year, month, day) > date.today():
        return False
    if separated or keyword or "*" in back:
        return True
    return _rrn_check_digit(birth + back[:6]) == int(back[6])


def _rrn_check_digit(first_twelve: str) -> int:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(weight * int(digit) for weight, digit in zip(weights, first_twelve, strict=True))
    return (11 - total % 11) % 10


def _find_cards(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if 13 <= len(digits) <= 19 and _has_card_prefix(digits) and _luhn_valid(digits):
            yield PiiMatch(PiiKind.CARD, match.start(), match.end())


def _has_card_prefix(digits: str) -> bool:
    """Return whether the number starts with a card network's issuer prefix.

    Visa 4; Mastercard 51-55 and 2221-2720; Amex 34, 37; Diners 300-305, 36, 38, 39; JCB
    3528-3589; Discover 6011, 644-649, 65; UnionPay 62; Maestro 50, 56-69; Korean domestic-only
    cards (BC and others) 9. Date-prefixed ids such as 2024... fall outside these ranges.
    """
    first_four = int(digits[:4])
    if digits[0] in "469" or digits[:2] in {"34", "37", "36", "38", "39", "50"}:
        return True
    return 5100 <= first_four <= 5599 or 2221 <= first_four <= 2720 or 3000 <= first_four <= 3059 or 3528 <= first_four <= 3589


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _find_driver_licenses(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _DRIVER_LICENSE.finditer(text):
        yield PiiMatch(PiiKind.DRIVER_LICENSE, match.start(), match.end())


def _find_accounts(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _ACCOUNT.finditer(text):
        digits = sum(character.isdigit() for character in match.group())
        if 10 <= digits <= 16 and _keyword_before(lowered, match.start(), _ACCOUNT_KEYWORDS):
            yield PiiMatch(PiiKind.ACCOUNT, match.start(), match.end())


def _find_passports(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _PASSPORT.finditer(text):
        if _keyword_before(lowered, match.start(), _PASSPORT_KEYWORDS):
            yield PiiMatch(PiiKind.PASSPORT, match.start(), match.end())


def _find_ipv4(text: str, lowered: str) -> Iterable[PiiMatch]:
    for match in _IPV4.finditer(text):
        try:
            address = ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        if address.is_global:
            yield PiiMatch(PiiKind.IP, match.start(), match.end())


def _keyword_before(lowered: str, start: int, keywords: tuple[str, ...]) -> bool:
    window = lowered[max(0, start - KEYWORD_WINDOW) : start]
    return any(keyword in window for keyword in keywords)


_DETECTORS: tuple[Callable[[str, str], Iterable[PiiMatch]], ...] = (
    _find_emails,
    _find_phones,
    _find_rrns,
    _find_cards,
    _find_driver_licenses,
    _find_accounts,
    _find_passports,
    _find_ipv4,
)
