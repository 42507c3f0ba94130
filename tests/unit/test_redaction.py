"""PII detection and masking: Korean and English texts that must be masked, and look-alikes that must not."""

from __future__ import annotations

from datetime import date

import pytest

from functions.privacy.redaction import PiiKind, find_pii, redact


def with_rrn_check_digit(first_twelve: str) -> str:
    """Complete twelve digits with the pre-2020 RRN check digit, computed independently of the module."""
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(weight * int(digit) for weight, digit in zip(weights, first_twelve, strict=True))
    return first_twelve + str((11 - total % 11) % 10)


VALID_RRN = with_rrn_check_digit("850315123456")
INVALID_CHECK_RRN = VALID_RRN[:-1] + str((int(VALID_RRN[-1]) + 1) % 10)

MASKED = [
    # Korean mobile numbers, every common way of writing them.
    ("연락처는 010-1234-5678 입니다", "연락처는 [PHONE] 입니다"),
    ("01012345678로 전화 주세요", "[PHONE]로 전화 주세요"),
    ("010 1234 5678", "[PHONE]"),
    ("010.1234.5678", "[PHONE]"),
    ("(010) 1234-5678", "[PHONE]"),
    ("011-123-4567", "[PHONE]"),
    ("휴대폰:010-9876-5432.", "휴대폰:[PHONE]."),
    ("tel:010-1234-5678", "tel:[PHONE]"),
    ("010-1234-5678/010-9876-5432", "[PHONE]/[PHONE]"),
    ("전화 ０１０－１２３４－５６７８ 부탁", "전화 [PHONE] 부탁"),
    ("010–1234–5678", "[PHONE]"),
    # Korean numbers in international form.
    ("+82 10 1234 5678", "[PHONE]"),
    ("+82-10-1234-5678", "[PHONE]"),
    ("+821012345678", "[PHONE]"),
    ("+82 (0)10-1234-5678", "[PHONE]"),
    ("0082-10-1234-5678", "[PHONE]"),
    ("+82 2 123 4567", "[PHONE]"),
    # Korean landlines, internet phones and personal safe numbers.
    ("사무실 02-123-4567", "사무실 [PHONE]"),
    ("(02) 1234-5678", "[PHONE]"),
    ("02)123-4567", "[PHONE]"),
    ("031.123.4567", "[PHONE]"),
    ("051-987-6543으로", "[PHONE]으로"),
    ("070-1234-5678", "[PHONE]"),
    ("0505-123-4567", "[PHONE]"),
    # International numbers.
    ("Call +1 415 555 2671 today", "Call [PHONE] today"),
    ("+14155552671", "[PHONE]"),
    ("+44 20 7946 0958", "[PHONE]"),
    ("+81-3-1234-5678", "[PHONE]"),
    ("(415) 555-2671", "[PHONE]"),
    ("415-555-2671", "[PHONE]"),
    # Emails.
    ("hong.gildong@example.co.kr로 보내 주세요", "[EMAIL]로 보내 주세요"),
    ("Email: KIM_01@Mail.Example.com.", "Email: [EMAIL]."),
    ("<jane+tickets@example.org>", "<[EMAIL]>"),
    ("ｈｏｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "[EMAIL]"),
    # Resident and foreign registration numbers.
    ("주민번호 850315-1234567", "주민번호 [RRN]"),
    ("850315 - 2234567", "[RRN]"),
    ("850315 1234567", "[RRN]"),
    (VALID_RRN, "[RRN]"),
    (f"주민등록번호 {INVALID_CHECK_RRN}", "주민등록번호 [RRN]"),
    ("외국인등록번호 900101-5234567", "외국인등록번호 [RRN]"),
    ("210505-3123456", "[RRN]"),
    ("200229-4123456", "[RRN]"),
    ("850315-1******", "[RRN]"),
    # Card numbers with valid Luhn digits and card-network prefixes.
    ("카드 4111 1111 1111 1111 결제", "카드 [CARD] 결제"),
    ("4111-1111-1111-1111", "[CARD]"),
    ("4111111111111111", "[CARD]"),
    ("5500 0000 0000 0004", "[CARD]"),
    ("2223000048400011", "[CARD]"),
    ("3782 822463 10005", "[CARD]"),
    ("3530111333300000", "[CARD]"),
    ("6011111111111117", "[CARD]"),
    ("카드번호4111111111111111입니다", "카드번호[CARD]입니다"),
    # Driver's licences, bank accounts and passports.
    ("면허번호 11-12-345678-90", "면허번호 [DRIVER_LICENSE]"),
    ("서울 12-345678-90", "[DRIVER_LICENSE]"),
    ("환불 계좌 110-123-456789 (신한)", "환불 계좌 [ACCOUNT] (신한)"),
    ("신한은행 110123456789로 입금", "신한은행 [ACCOUNT]로 입금"),
    ("카카오뱅크 3333-01-1234567", "카카오뱅크 [ACCOUNT]"),
    ("bank account 123-456789-01-234", "bank account [ACCOUNT]"),
    ("여권번호 M12345678", "여권번호 [PASSPORT]"),
    ("passport no. M123A4567", "passport no. [PASSPORT]"),
    # Public IPv4 addresses.
    ("121.134.56.78에서 로그인 시도", "[IP]에서 로그인 시도"),
    ("from 8.8.4.4:443", "from [IP]:443"),
]

KEPT = [
    # Dates and times.
    "2024-03-15",
    "2024.03.15",
    "2024/03/15 14:30",
    "03/15/2024",
    "2024년 3월 15일 오후 2시 30분",
    "20240315",
    "2024-03-15T10:00:00+09:00",
    "환불 요청일 2024-03-15 10:30",
    # Ticket numbers and order ids.
    "INC0012345",
    "REQ-2024-000123",
    "티켓 #4521",
    "ORD-20240315-0001",
    "주문번호 2024031512345678",
    "주문번호 2024031500123",
    "2024031512345",
    "order 1234567890123",
    "주문 110-123-456789",
    "sms-01012345678-20240315",
    "01HQ3K5Z8X9Y0101234567ABCD",
    "059f36b4-87a3-44ab-83d2-661975830a7d",
    # Prices and quantities.
    "₩1,234,567",
    "1,234,567원",
    "12,000,000원",
    "$1,299.00",
    "USD 15000000000",
    "3,000개",
    # Business numbers.
    "고객센터 1588-1234",
    "080-123-4567",
    "사업자등록번호 123-45-67890",
    # Versions and private addresses.
    "v1.2.3",
    "10.0.19045.2965",
    "서버 10.1.2.3 접속 불가",
    "192.168.0.1",
    "127.0.0.1",
    "999.1.1.1",
    # Look-alikes of registration and card numbers.
    "991332-1234567",
    "850230-1234567",
    INVALID_CHECK_RRN,
    "850315-9234567",
    "4111111111111112",
    "1234567890123456",
    "010-1234-5678-9",
    "M12345678",
    "+9 10:00",
    "score +12",
    "user@localhost",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_look_alike_is_kept(text: str) -> None:
    assert redact(text) == text
    assert find_pii(text) == []


def test_future_birth_date_is_not_rrn() -> None:
    next_year = (date.today().year + 1) % 100

    assert redact(f"{next_year:02d}0101-3123456") == f"{next_year:02d}0101-3123456"


def test_mixed_text_masks_every_kind() -> None:
    text = (
        "김민수 고객님 (minsu.kim@example.co.kr, 010-2345-6789) 주민번호 850315-1234567, "
        "card 4111 1111 1111 1111, login from 121.134.56.78, 티켓 INC0012345 2024-03-15 결제 12,000원"
    )

    result = redact(text)

    assert result == (
        "김민수 고객님 ([EMAIL], [PHONE]) 주민번호 [RRN], "
        "card [CARD], login from [IP], 티켓 INC0012345 2024-03-15 결제 12,000원"
    )


def test_matches_report_kind_and_offsets() -> None:
    text = "메일 a.b@example.com 전화 02-123-4567"

    matches = find_pii(text)

    assert [(match.kind, text[match.start : match.end]) for match in matches] == [
        (PiiKind.EMAIL, "a.b@example.com"),
        (PiiKind.PHONE, "02-123-4567"),
    ]


def test_email_wins_over_phone_inside_it() -> None:
    assert redact("01012345678@example.com") == "[EMAIL]"


def test_empty_and_plain_text_unchanged() -> None:
    assert redact("") == ""
    assert redact("프린터가 고장났어요. The printer is broken.") == "프린터가 고장났어요. The printer is broken."


def test_redaction_is_idempotent() -> None:
    once = redact("010-1234-5678, hong@example.com, 850315-1234567")

    assert redact(once) == once


def test_long_digit_runs_do_not_match() -> None:
    assert redact("1" * 20_000) == "1" * 20_000
    assert redact("-1" * 5_000) == "-1" * 5_000
