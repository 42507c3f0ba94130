"""The ticket status lifecycle."""

from __future__ import annotations

import pytest

from cli.replay_servicenow import status_path
from functions.domain.lifecycle import ALLOWED_TRANSITIONS, allowed_next, can_transition
from functions.models.tickets import TicketStatus as S


def test_every_status_has_transitions() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(S)


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        (S.NEW, S.ASSIGNED, True),
        (S.NEW, S.REOPENED, False),
        (S.RESOLVED, S.CLOSED, True),
        (S.RESOLVED, S.IN_PROGRESS, False),
        (S.CLOSED, S.REOPENED, True),
        (S.CLOSED, S.RESOLVED, False),
        (S.REOPENED, S.IN_PROGRESS, True),
        (S.PENDING, S.NEW, False),
    ],
)
def test_can_transition(current: S, requested: S, allowed: bool) -> None:
    assert can_transition(current, requested) is allowed


def test_allowed_next_is_sorted() -> None:
    assert allowed_next(S.RESOLVED) == ["closed", "reopened"]


def test_every_status_reachable_from_new() -> None:
    for target in S:
        if target is not S.NEW:
            path = status_path(S.NEW, target)
            assert path and path[-1] == target
            steps = [S.NEW, *path]
            assert all(can_transition(a, b) for a, b in zip(steps, steps[1:]))


def test_status_path_reopens_closed_ticket() -> None:
    assert status_path(S.CLOSED, S.IN_PROGRESS) == [S.REOPENED, S.IN_PROGRESS]
