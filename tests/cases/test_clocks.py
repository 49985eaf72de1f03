"""Clocks from events: the preservation expiry (42), reminders, written confirmation (40(14)),
the requesting State's deadline (40(25)). Pure: the time is always an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hanoinet.cases.clocks import dues, preservation_expiry
from hanoinet.cases.lifecycle import OPEN, STATES, Event

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ev(action: str, at: datetime) -> Event:
    return Event(action, at, "alice", "requested", "42", "acknowledged", "preserved", {})


RECEIVED = ev("receive", T0 - 2 * DAY)
PRESERVED = (RECEIVED, ev("record_preserved", T0))


# --- preservation_expiry -----------------------------------------------------------------


def test_no_expiry_before_preservation() -> None:
    assert preservation_expiry([]) is None
    assert preservation_expiry([RECEIVED, ev("acknowledge", T0)]) is None


def test_expiry_is_60_days_after_record_preserved() -> None:
    assert preservation_expiry(PRESERVED) == T0 + 60 * DAY == datetime(2027, 1, 23, 3, tzinfo=UTC)


def test_extension_renews_60_days_from_the_extension() -> None:
    extended = (*PRESERVED, ev("extend_preservation", T0 + 50 * DAY))
    assert preservation_expiry(extended) == T0 + 110 * DAY
    twice = (*extended, ev("extend_preservation", T0 + 100 * DAY))
    assert preservation_expiry(twice) == T0 + 160 * DAY


@pytest.mark.parametrize("ending", ["link_mla", "lapse", "withdraw", "release"])
def test_no_expiry_once_held_or_ended(ending: str) -> None:
    assert preservation_expiry((*PRESERVED, ev(ending, T0 + 10 * DAY))) is None


def test_42_a_link_the_other_state_refused_gives_the_clock_back() -> None:
    """The other State's node did not take the link: the data is not held there, so the
    60 days run on from the last preservation, as if never linked."""
    refused = (*PRESERVED, ev("link_mla", T0 + 10 * DAY), ev("link_refused", T0 + 11 * DAY))
    assert preservation_expiry(refused) == T0 + 60 * DAY


def test_other_events_do_not_touch_the_expiry() -> None:
    noisy = (*PRESERVED, ev("reminder", T0 + 46 * DAY), ev("answer_status_enquiry", T0 + DAY))
    assert preservation_expiry(noisy) == T0 + 60 * DAY


# --- dues: preservation ------------------------------------------------------------------


def test_reminders_14_7_1_days_before_and_a_lapse_at_expiry() -> None:
    found = dues("preserved", {}, PRESERVED)
    expiry = T0 + 60 * DAY
    assert [(d.kind, d.at, d.article) for d in found] == [
        ("reminder", expiry - 14 * DAY, "42"),
        ("reminder", expiry - 7 * DAY, "42"),
        ("reminder", expiry - 1 * DAY, "42"),
        ("lapse", expiry, "42"),
    ]
    assert [d.key for d in found] == [
        "preservation-reminder-2027-01-23-14d",
        "preservation-reminder-2027-01-23-7d",
        "preservation-reminder-2027-01-23-1d",
        "preservation-expiry-2027-01-23",
    ]
    assert "2027-01-23 03:00 UTC (in 14 days)" in found[0].message
    assert "(in 1 day)" in found[2].message
    assert "link the MLA request or extend" in found[0].message
    assert found[3].message == "The preservation expired on 2027-01-23 03:00 UTC (42)"


def test_keys_are_stable_and_change_with_an_extension() -> None:
    first = [d.key for d in dues("preserved", {}, PRESERVED)]
    later = (*PRESERVED, ev("reminder", T0 + 46 * DAY))
    assert [d.key for d in dues("preserved", {}, later)] == first
    assert len(set(first)) == len(first)
    extended = (*PRESERVED, ev("extend_preservation", T0 + 50 * DAY))
    renewed = [d.key for d in dues("preserved", {}, extended)]
    assert not set(renewed) & set(first)
    assert renewed[-1] == "preservation-expiry-2027-03-14"


@pytest.mark.parametrize("state", [s for s in STATES if s != "preserved"])
def test_no_preservation_dues_outside_preserved(state: str) -> None:
    assert dues(state, {}, PRESERVED) == []


def test_no_preservation_dues_once_held() -> None:
    held = (*PRESERVED, ev("link_mla", T0 + 10 * DAY))
    assert dues("held", {}, held) == []
    assert dues("preserved", {}, held) == []


# --- dues: written confirmation ----------------------------------------------------------


def test_oral_request_is_recalled_after_24_hours() -> None:
    start = ev("receive", T0)
    (due,) = dues("received", {"oral": True}, [start])
    assert due.kind == "reminder"
    assert due.at == T0 + timedelta(hours=24)
    assert due.article == "40(14)"
    assert due.key == "written-confirmation-2026-11-24-1"
    assert "confirmed in writing" in due.message
    assert dues("received", {"oral": True}, [start, ev("acknowledge", T0 + DAY)]) == [due]


def test_no_recall_once_confirmed_or_when_written() -> None:
    start = ev("receive", T0)
    confirmed = [start, ev("confirm_in_writing", T0 + timedelta(hours=3))]
    assert dues("received", {"oral": True}, confirmed) == []
    assert dues("received", {"oral": False}, [start]) == []
    assert dues("received", {}, [start]) == []


def test_no_recall_without_events() -> None:
    assert dues("received", {"oral": True}, []) == []


# --- dues: deadline ----------------------------------------------------------------------


def test_deadline_reminder() -> None:
    document = {"deadline": {"date": "2026-12-01", "reason": "Trial opens on 2026-12-03."}}
    (due,) = dues("in_execution", document, [ev("receive", T0)])
    assert due.kind == "reminder"
    assert due.key == "deadline-2026-12-01"
    assert due.at == datetime(2026, 12, 1, tzinfo=UTC)
    assert due.article == "40(25)"
    assert "2026-12-01" in due.message
    assert dues("in_execution", {"deadline": {"date": None, "reason": ""}}, [RECEIVED]) == []
    assert dues("in_execution", {"deadline": None}, [RECEIVED]) == []


# --- all together ------------------------------------------------------------------------


EVERYTHING = {"oral": True, "deadline": {"date": "2027-01-01", "reason": "Trial."}}


def test_everything_due_is_in_time_order() -> None:
    found = dues("preserved", EVERYTHING, PRESERVED)
    assert [d.at for d in found] == sorted(d.at for d in found)
    assert [d.key for d in found] == [
        "written-confirmation-2026-11-22-1",
        "deadline-2027-01-01",
        "preservation-reminder-2027-01-23-14d",
        "preservation-reminder-2027-01-23-7d",
        "preservation-reminder-2027-01-23-1d",
        "preservation-expiry-2027-01-23",
    ]


@pytest.mark.parametrize("state", sorted(set(STATES) - OPEN))
def test_nothing_due_when_decided_or_closed(state: str) -> None:
    assert dues(state, EVERYTHING, PRESERVED) == []


@pytest.mark.parametrize("state", sorted(OPEN - {"preserved"}))
def test_open_requests_keep_their_reminders(state: str) -> None:
    assert [d.key for d in dues(state, EVERYTHING, PRESERVED)] == [
        "written-confirmation-2026-11-22-1",
        "deadline-2027-01-01",
    ]


# --- dues: a deadline typed wrong (a draft keeps what was typed) ---------------------------------

ORAL_RECALL = "written-confirmation-2026-11-22-1"


@pytest.mark.parametrize(
    "deadline",
    [
        {"date": "31/12/2026", "reason": "Trial."},
        {"date": 5},
        {"date": None},
        {"date": ""},
        {"date": "2026-02-30"},
        {"date": ["2026-12-31"]},
        {"date": {"year": 2026}},
        {"reason": "No date yet."},
        "2026-12-31",
        5,
        ["2026-12-31"],
        None,
    ],
)
def test_a_deadline_that_is_not_a_date_gives_no_due_and_does_not_raise(deadline: object) -> None:
    document = {"oral": True, "deadline": deadline}
    found = dues("in_execution", document, [RECEIVED])
    assert not [d for d in found if d.key.startswith("deadline-") or d.article == "40(25)"]
    assert [d.key for d in found] == [ORAL_RECALL]  # the other clocks still run


@pytest.mark.parametrize("typed", ["20261231", "2026-W53-4"])
def test_a_deadline_in_another_iso_form_gives_no_due(typed: str) -> None:
    assert dues("in_execution", {"deadline": {"date": typed}}, [RECEIVED]) == []
