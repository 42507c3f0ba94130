"""Escalation rules on Korean, English and mixed messages."""

from __future__ import annotations

import pytest

from functions.domain.escalation import (
    EscalationPolicy,
    EscalationReason,
    decide_escalation,
    detect_signals,
    raised_priority,
)
from functions.models.tickets import Priority

POLICY = EscalationPolicy(
    negative_threshold=0.85, tier_negative_threshold=0.6, escalating_tiers=frozenset({"vip"}), senior_queue="senior"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("이번 달까지 개선 안 되면 계약 해지하겠습니다", [EscalationReason.CHURN_RISK]),
        ("We are cancelling our subscription next week.", [EscalationReason.CHURN_RISK]),
        ("변호사와 상의해서 법적 조치를 취하겠습니다", [EscalationReason.LEGAL_THREAT]),
        ("Our lawyers will be in touch.", [EscalationReason.LEGAL_THREAT]),
        ("세 번째 문의인데 아직도 해결이 안 됐어요", [EscalationReason.REPEATED_FAILURE]),
        ("몇 번을 말해도 고쳐지지 않습니다", [EscalationReason.REPEATED_FAILURE]),
        ("The sync keeps failing every time we deploy.", [EscalationReason.REPEATED_FAILURE]),
        ("전사 메일 서버 장애입니다", [EscalationReason.OUTAGE]),
        ("Production is down for all users", [EscalationReason.OUTAGE]),
        ("ERP 먹통이라 또 안 됩니다, 소송 검토 중", [EscalationReason.LEGAL_THREAT, EscalationReason.REPEATED_FAILURE, EscalationReason.OUTAGE]),
        ("비밀번호 초기화 부탁드립니다", []),
        ("Could you reset my password, please?", []),
        ("Thanks, the downtime window tonight works for us.", []),
    ],
)
def test_detect_signals(text: str, expected: list[EscalationReason]) -> None:
    assert detect_signals(text) == expected


def test_strongly_negative_message_escalates() -> None:
    decision = decide_escalation(POLICY, "서비스가 너무 느려요", 0.9, "standard")

    assert decision.reasons == (EscalationReason.NEGATIVE_SENTIMENT,)


def test_mildly_negative_message_escalates_only_for_tier() -> None:
    standard = decide_escalation(POLICY, "조금 불편합니다", 0.7, "standard")
    vip = decide_escalation(POLICY, "조금 불편합니다", 0.7, "VIP")

    assert standard.escalate is False
    assert vip.reasons == (EscalationReason.CUSTOMER_TIER,)


def test_threshold_is_inclusive() -> None:
    assert decide_escalation(POLICY, "x", 0.85, None).escalate is True
    assert decide_escalation(POLICY, "x", 0.8499, None).escalate is False


def test_signals_apply_without_sentiment() -> None:
    decision = decide_escalation(POLICY, "site is down", None, None)

    assert decision.reasons == (EscalationReason.OUTAGE,)


@pytest.mark.parametrize(
    ("current", "reasons", "expected"),
    [
        (Priority.LOW, (EscalationReason.NEGATIVE_SENTIMENT,), Priority.HIGH),
        (Priority.MEDIUM, (EscalationReason.CHURN_RISK,), Priority.HIGH),
        (Priority.HIGH, (EscalationReason.NEGATIVE_SENTIMENT,), Priority.CRITICAL),
        (Priority.LOW, (EscalationReason.OUTAGE,), Priority.CRITICAL),
        (Priority.MEDIUM, (EscalationReason.LEGAL_THREAT,), Priority.CRITICAL),
        (Priority.CRITICAL, (EscalationReason.CUSTOMER_TIER,), Priority.CRITICAL),
    ],
)
def test_raised_priority(current: Priority, reasons: tuple, expected: Priority) -> None:
    assert raised_priority(current, reasons) == expected
