"""When a ticket goes to a senior agent, and why.

A message escalates its ticket when the sentiment model finds it strongly negative, when its
text signals churn, a legal threat, a repeated failure or an outage, or when the customer's
tier lowers the negativity needed. The phrase lists cover Korean and English, because messages
are often mixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from functions.models.tickets import Priority


class EscalationReason(StrEnum):
    NEGATIVE_SENTIMENT = "negative_sentiment"
    CUSTOMER_TIER = "customer_tier"
    CHURN_RISK = "churn_risk"
    LEGAL_THREAT = "legal_threat"
    REPEATED_FAILURE = "repeated_failure"
    OUTAGE = "outage"


def _phrases(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


# Korean words are matched as substrings, because particles attach to them ("해지를", "소송으로").
SIGNAL_PATTERNS: dict[EscalationReason, re.Pattern[str]] = {
    EscalationReason.CHURN_RISK: _phrases(
        r"해지", r"탈퇴", r"다른 (?:업체|회사|서비스)로", r"타사로", r"계약(?:을)? (?:끝|종료|파기)", r"환불",
        r"\bcancel(?:l?ing|led)? (?:my|our|the) (?:subscription|contract|account|service)",
        r"\bterminate (?:the|our|my) contract", r"\bswitch(?:ing)? to (?:a |another )?(?:competitor|provider|vendor)",
        r"\bnot renew", r"\bwe(?:'| a)re leaving", r"\brefund",
    ),
    EscalationReason.LEGAL_THREAT: _phrases(
        r"소송", r"고소", r"고발", r"변호사", r"법적 ?(?:조치|대응|책임)", r"소비자원", r"공정위", r"손해 ?배상",
        r"\blawyers?\b", r"\battorneys?\b", r"\blegal action", r"\bsue\b", r"\blawsuit", r"\bcourt\b",
        r"\bregulator", r"\bcompensation for damages",
    ),
    EscalationReason.REPEATED_FAILURE: _phrases(
        r"또 (?:안|고장|오류|에러|장애|문제)", r"(?:두|세|네|다섯|여러|몇) ?(?:번|번째|차례)", r"\d+ ?번째", r"계속 (?:안|같은|오류|에러|실패)",
        r"아직도", r"여전히", r"매번",
        r"\bagain\b", r"\bstill (?:not|broken|failing|down|happening)", r"\b(?:third|fourth|fifth|\d+(?:rd|th)) time",
        r"\bkeeps? (?:failing|crashing|happening|breaking)", r"\bevery time\b", r"\brepeatedly\b",
    ),
    EscalationReason.OUTAGE: _phrases(
        r"장애", r"먹통", r"접속(?:이)? ?(?:불가|안 ?됨|안 ?돼|안 ?되)", r"서비스(?:가)? ?(?:중단|다운)", r"전체 ?(?:다운|중단)", r"서버(?:가)? ?(?:다운|죽)",
        r"\boutage\b", r"\b(?:system|site|service|server|everything) (?:is |went )?down\b", r"\bnobody can (?:log ?in|access)",
        r"\bcompletely (?:down|unavailable)", r"\bproduction (?:is )?down",
    ),
}

_PRIORITY_ORDER = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL]


@dataclass(frozen=True)
class EscalationPolicy:
    """Thresholds of the escalation rules; they come from the function settings."""

    negative_threshold: float
    tier_negative_threshold: float
    escalating_tiers: frozenset[str]
    senior_queue: str


@dataclass(frozen=True)
class EscalationDecision:
    reasons: tuple[EscalationReason, ...]

    @property
    def escalate(self) -> bool:
        return bool(self.reasons)


def detect_signals(text: str) -> list[EscalationReason]:
    """Return the escalation signals that the text contains, in a stable order."""
    return [reason for reason, pattern in SIGNAL_PATTERNS.items() if pattern.search(text)]


def decide_escalation(
    policy: EscalationPolicy, text: str, negative_probability: float | None, customer_tier: str | None
) -> EscalationDecision:
    """Decide whether one inbound message escalates its ticket.

    `negative_probability` is None when no sentiment was available; the text signals still apply.
    """
    reasons: list[EscalationReason] = []
    if negative_probability is not None:
        if negative_probability >= policy.negative_threshold:
            reasons.append(EscalationReason.NEGATIVE_SENTIMENT)
        elif (
            customer_tier is not None
            and customer_tier.lower() in policy.escalating_tiers
            and negative_probability >= policy.tier_negative_threshold
        ):
            reasons.append(EscalationReason.CUSTOMER_TIER)
    reasons.extend(detect_signals(text))
    return EscalationDecision(reasons=tuple(reasons))


def raised_priority(current: Priority, reasons: tuple[EscalationReason, ...]) -> Priority:
    """Return the priority after an escalation: one level up, at least high, critical for outages."""
    if EscalationReason.OUTAGE in reasons or EscalationReason.LEGAL_THREAT in reasons:
        return Priority.CRITICAL
    index = min(_PRIORITY_ORDER.index(current) + 1, len(_PRIORITY_ORDER) - 1)
    return max(_PRIORITY_ORDER[index], Priority.HIGH, key=_PRIORITY_ORDER.index)
