"""Templates of proactive notices, in Korean and English, chosen by the customer's language."""

from __future__ import annotations

from dataclasses import dataclass

from functions.models.customers import KnownProblem

SUBJECTS = {
    "ko": "[사전 안내] {title}",
    "en": "[Advance notice] {title}",
}
BODIES = {
    "ko": (
        "{company} 담당자님께,\n\n"
        "귀사가 사용하는 {affected}에 영향을 주는 문제를 확인했습니다: {title}\n"
        "문의하시기 전에 먼저 알려 드리며, 현재 해결 중입니다.\n\n"
        "예방 방법:\n{guide}\n\n"
        "이 안내에 답장하시면 담당 상담원에게 바로 전달됩니다."
    ),
    "en": (
        "Dear {company} team,\n\n"
        "We found a problem that affects {affected}, which you use: {title}\n"
        "We are telling you before you have to ask, and we are working on a fix.\n\n"
        "How to prevent it:\n{guide}\n\n"
        "Reply to this notice and it goes straight to an agent."
    ),
}
AFFECTED_JOINER = {"ko": ", ", "en": ", "}


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str


def render_notice(problem: KnownProblem, language: str, company: str, matched: list[str]) -> RenderedNotice:
    """Fill the notice templates for one customer; `matched` names their affected services and devices.

    Languages other than ko and en get the English text.
    """
    chosen = language if language in SUBJECTS else "en"
    title = (problem.title_en or problem.title) if chosen == "en" else problem.title
    guide = problem.prevention_guide_ko if chosen == "ko" else problem.prevention_guide_en
    values = {
        "title": title,
        "company": company,
        "affected": AFFECTED_JOINER[chosen].join(matched),
        "guide": guide,
    }
    return RenderedNotice(subject=SUBJECTS[chosen].format_map(values), body=BODIES[chosen].format_map(values))
