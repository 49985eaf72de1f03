"""The node's approval policy as data: which requests need a supervisor's approval, and which
approval still counts (pure; the guards that use it are in test_guards.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hanoinet.cases.approval import POLICIES, Approval, lapsed_approval, standing_approval
from hanoinet.cases.lifecycle import Event

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def events(*actions: str) -> list[Event]:
    return [
        Event(a, T0 + timedelta(minutes=i), "x", "requesting", "40(13)", "checked", "checked")
        for i, a in enumerate(actions)
    ]


@pytest.mark.parametrize(
    ("policy", "by_requester", "required"),
    [
        ("none", True, False),
        ("none", False, False),
        ("requester", True, True),
        ("requester", False, False),
        ("all", True, True),
        ("all", False, True),
    ],
)
def test_which_requests_need_approval(policy: str, by_requester: bool, required: bool) -> None:
    approval = Approval(policy, "rita", by_requester)  # type: ignore[arg-type]
    assert approval.required is required


def test_the_policies_and_the_default() -> None:
    assert POLICIES == ("none", "requester", "all")
    assert Approval().required is False  # the core asks nothing unless told the policy


@pytest.mark.parametrize(
    ("history", "standing", "lapsed"),
    [
        (("create", "check"), None, None),
        (("create", "check", "approve"), 2, None),
        (("create", "check", "approve", "reminder"), 2, None),
        (("create", "check", "approve", "edit", "check"), None, (2, 3)),
        (("create", "check", "approve", "check"), None, (2, 3)),
        (("create", "check", "approve", "edit", "check", "approve"), 5, None),
        (("create", "check", "approve", "send"), 2, None),
    ],
)
def test_only_an_approval_after_the_last_edit_or_check_counts(
    history: tuple[str, ...], standing: int | None, lapsed: tuple[int, int] | None
) -> None:
    timeline = events(*history)
    found = standing_approval(timeline)
    assert (found is timeline[standing]) if standing is not None else found is None
    gone = lapsed_approval(timeline)
    if lapsed is None:
        assert gone is None
    else:
        assert gone == (timeline[lapsed[0]], timeline[lapsed[1]])
