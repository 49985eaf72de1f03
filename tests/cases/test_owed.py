"""What the node still owes on a request, and the desk's order (cases/owed.py): scenarios a
duty officer can read, each with the article of the duty. Pure: the time is an argument."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from hanoinet.cases.lifecycle import Event, lifecycle, transitions_for
from hanoinet.cases.owed import OWED_EVENTS, Duty, Facts, desk_order, overdue, owed

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
URGENT = HOUR
"""The node's acknowledgement target for an urgent request in these scenarios."""


def ev(action: str, at: datetime, by: str = "requested") -> Event:
    return Event(action, at, "dora", by, "42", "received", "received", {})  # type: ignore[arg-type]


def incoming(kind: str = "preservation", state: str = "received", **kw: object) -> Facts:
    return replace(Facts("incoming", kind, state, "urgent", T0), **kw)  # type: ignore[arg-type]


def outgoing(kind: str = "preservation", state: str = "sent", **kw: object) -> Facts:
    return replace(Facts("outgoing", kind, state, "urgent", T0), **kw)  # type: ignore[arg-type]


def shown(duties: list[Duty]) -> list[tuple[str, str, datetime | None]]:
    return [(d.action, d.article, d.due) for d in duties]


SCENARIOS = [
    # name, facts, ack target, what is owed (action, article, due)
    (
        "an urgent preservation just received: acknowledge within the node's target",
        incoming(),
        URGENT,
        [("acknowledge", "40(25)", T0 + HOUR)],
    ),
    (
        "a routine request received: acknowledge, with no target",
        incoming("mla", urgency="routine"),
        None,
        [("acknowledge", "40(25)", None)],
    ),
    (
        "a preservation acknowledged but not carried out keeps the clock from receipt",
        incoming(state="acknowledged"),
        URGENT,
        [("record_preserved", "42", T0 + HOUR)],
    ),
    (
        "the same in execution",
        incoming(state="in_execution"),
        URGENT,
        [("record_preserved", "42", T0 + HOUR)],
    ),
    (
        "a requesting State's deadline earlier than the target brings the preservation forward",
        incoming(state="acknowledged", received_at=T0 - DAY, deadline=date(2026, 11, 24)),
        2 * DAY,
        [("record_preserved", "42", datetime(2026, 11, 24, tzinfo=UTC))],
    ),
    (
        "a preservation carried out owes nothing: its data is held, the desk counts it down",
        incoming(state="preserved", events=(ev("record_preserved", T0),)),
        URGENT,
        [],
    ),
    (
        "an MLA request acknowledged: start executing it, by the requesting State's deadline",
        incoming("mla", state="acknowledged", deadline=date(2027, 1, 15)),
        URGENT,
        [("start_execution", "40(25)", datetime(2027, 1, 15, tzinfo=UTC))],
    ),
    (
        "an MLA request in execution with no deadline: execute, no due time",
        incoming("mla", state="in_execution"),
        URGENT,
        [("execute", "40(25)", None)],
    ),
    (
        "postponed: resume (or decide) is still owed",
        incoming("mla", state="postponed"),
        URGENT,
        [("resume", "40(26)", None)],
    ),
    (
        "more information asked for: the requesting State owes it, not this node",
        incoming("mla", state="more_info_requested"),
        URGENT,
        [],
    ),
    (
        "a status enquiry newer than the last answer is owed an answer",
        incoming(
            "preservation",
            state="preserved",
            events=(
                ev("record_preserved", T0),
                ev("status_enquiry", T0 + DAY, "requesting"),
                ev("answer_status_enquiry", T0 + 2 * DAY),
                ev("status_enquiry", T0 + 3 * DAY, "requesting"),
            ),
        ),
        URGENT,
        [("answer_status_enquiry", "40(25)", None)],
    ),
    (
        "40(19): a request for consent newer than the last consent given is owed an answer",
        incoming(
            "mla",
            state="in_execution",
            events=(
                ev("request_consent", T0, "requesting"),
                ev("give_consent", T0 + DAY),
                ev("request_consent", T0 + 2 * DAY, "requesting"),
            ),
        ),
        URGENT,
        [("execute", "40(25)", None), ("give_consent", "40(19)", None)],
    ),
    (
        "40(19): a consent for another matter does not answer the request; a decline does",
        incoming(
            "mla",
            state="executed",
            events=(
                replace(ev("request_consent", T0, "requesting"), params={"matter": "Case 9"}),
                replace(ev("give_consent", T0 + DAY), params={"matter": "Case 8"}),
            ),
        ),
        URGENT,
        [("give_consent", "40(19)", None)],
    ),
    (
        "40(19): a request for consent declined owes nothing more",
        incoming(
            "mla",
            state="executed",
            events=(
                replace(ev("request_consent", T0, "requesting"), params={"matter": "Case 9"}),
                replace(ev("decline_consent", T0 + DAY), params={"matter": " case  9"}),
            ),
        ),
        URGENT,
        [],
    ),
    (
        "40(19): a request for consent answered owes nothing more",
        incoming(
            "mla",
            state="executed",
            events=(ev("request_consent", T0, "requesting"), ev("give_consent", T0 + DAY)),
        ),
        URGENT,
        [],
    ),
    (
        "42: a held preservation whose request is decided owes the release",
        incoming(state="held", follow_up_decided=True),
        URGENT,
        [("release", "42", None)],
    ),
    (
        "42: held for a request not yet decided: nothing owed",
        incoming(state="held"),
        URGENT,
        [],
    ),
    (
        "40(27): conditions proposed in a consultation are owed an answer",
        outgoing(
            "mla",
            state="acknowledged",
            events=(replace(ev("consult", T0), params={"conditions": "Only in case 9."}),),
        ),
        URGENT,
        [("accept_conditions", "40(27)", None)],
    ),
    (
        "40(27): answered with other conditions, or a consultation proposing none: nothing owed",
        outgoing(
            "mla",
            state="acknowledged",
            events=(
                replace(ev("consult", T0), params={"conditions": "Only in case 9."}),
                ev("propose_conditions", T0 + DAY, "requesting"),
                ev("consult", T0 + 2 * DAY),
            ),
        ),
        URGENT,
        [],
    ),
    (
        "an enquiry answered owes nothing more",
        incoming(
            state="preserved",
            events=(ev("status_enquiry", T0, "requesting"), ev("answer_status_enquiry", T0 + DAY)),
        ),
        URGENT,
        [],
    ),
    (
        "an outgoing draft: check it",
        outgoing(state="draft"),
        None,
        [("check", "40(15)", None)],
    ),
    (
        "an outgoing request checked: send it",
        outgoing(state="checked"),
        None,
        [("send", "40(13)", None)],
    ),
    (
        "an outgoing request sent: the other State owes the next step",
        outgoing(state="sent"),
        None,
        [],
    ),
    (
        "an outgoing oral request not yet confirmed in writing",
        outgoing(state="sent", oral=True),
        None,
        [("confirm_in_writing", "40(14)", T0 + 24 * HOUR)],
    ),
    (
        "an outgoing oral request confirmed owes nothing more",
        outgoing(state="sent", oral=True, events=(ev("confirm_in_writing", T0, "requesting"),)),
        None,
        [],
    ),
    (
        "an outgoing preservation carried out: link the MLA request before the data may go",
        outgoing(state="preserved", events=(ev("record_preserved", T0),)),
        None,
        [("link_mla", "42", T0 + 60 * DAY)],
    ),
    (
        "more information asked of this node as requesting State",
        outgoing("mla", state="more_info_requested"),
        None,
        [("provide_more_info", "40(16)", None)],
    ),
    (
        "the other State cannot ensure the preservation: decide whether to proceed",
        outgoing(state="not_ensured"),
        None,
        [("proceed_anyway", "42", None)],
    ),
]


@pytest.mark.parametrize(
    ("facts", "target", "expected"),
    [pytest.param(f, t, e, id=name) for name, f, t, e in SCENARIOS],
)
def test_what_is_owed(
    facts: Facts, target: timedelta | None, expected: list[tuple[str, str, datetime | None]]
) -> None:
    assert shown(owed(facts, target)) == expected


@pytest.mark.parametrize("state", ["executed", "partially_executed", "refused", "withdrawn"])
def test_nothing_is_owed_once_decided(state: str) -> None:
    assert owed(incoming(state=state), URGENT) == []
    assert owed(outgoing(state=state), None) == []


def test_the_most_pressing_duty_comes_first() -> None:
    facts = outgoing(
        state="preserved",
        oral=True,
        events=(ev("record_preserved", T0), ev("status_enquiry", T0, "requesting")),
    )
    assert [d.action for d in owed(facts, None)] == ["confirm_in_writing", "link_mla"]


def test_every_duty_names_an_action_of_the_lifecycle_with_its_article() -> None:
    """The article of a duty is the lifecycle's, for the side that owes it."""
    for name, facts, target, _ in SCENARIOS:
        side = "requested" if facts.direction == "incoming" else "requesting"
        for duty in owed(facts, target):
            articles = {
                t.article
                for t in transitions_for(duty.action, facts.kind)
                if t.by == side and facts.state in t.from_
            }
            assert articles == {duty.article}, name
    # what the node itself records about its messages is no step of the table
    assert set(OWED_EVENTS) - {"message_rejected"} <= {t.action for t in lifecycle().transitions}


# --- the desk's order ----------------------------------------------------------------------


def test_overdue_then_by_due_time_then_by_urgency_and_done_last() -> None:
    at = T0 + 2 * HOUR
    rows = {
        "done, emergency": (None, "emergency"),
        "owed, no due, emergency": (Duty("execute", "40(25)", None), "emergency"),
        "owed, no due, routine": (Duty("execute", "40(25)", None), "routine"),
        "due later": (Duty("acknowledge", "40(25)", at + 3 * HOUR), "emergency"),
        "due soon, routine": (Duty("acknowledge", "40(25)", at + HOUR), "routine"),
        "due soon, urgent": (Duty("acknowledge", "40(25)", at + HOUR), "urgent"),
        "overdue, routine": (Duty("record_preserved", "42", at - HOUR), "routine"),
        "overdue longest": (Duty("record_preserved", "42", at - 2 * HOUR), "urgent"),
    }
    order = sorted(rows, key=lambda name: desk_order(*rows[name], at))
    assert order == [
        "overdue longest",
        "overdue, routine",
        "due soon, urgent",
        "due soon, routine",
        "due later",
        "owed, no due, emergency",
        "owed, no due, routine",
        "done, emergency",
    ]


def test_an_acknowledged_preservation_keeps_its_place_above_finished_work() -> None:
    at = T0 + 2 * HOUR
    acknowledged = owed(incoming(state="acknowledged"), URGENT)
    preserved = owed(incoming(state="preserved", urgency="emergency"), URGENT)
    fresh = owed(incoming(received_at=T0 + 90 * timedelta(minutes=1)), URGENT)
    keys = {
        "acknowledged, not preserved": desk_order(acknowledged[0], "urgent", at),
        "fresh": desk_order(fresh[0], "urgent", at),
        "preserved": desk_order(None, "emergency", at),
    }
    assert overdue(acknowledged[0], at) and not preserved
    assert sorted(keys, key=keys.__getitem__) == [
        "acknowledged, not preserved",
        "fresh",
        "preserved",
    ]


def test_due_exactly_now_is_not_yet_overdue() -> None:
    duty = Duty("acknowledge", "40(25)", T0)
    assert not overdue(duty, T0) and overdue(duty, T0 + timedelta(seconds=1))
    assert not overdue(None, T0) and not overdue(Duty("execute", "40(25)", None), T0)
