"""Property tests of entry into force (arts 64, 65, 67) over random valid histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import pycountry
from hypothesis import given, settings
from hypothesis import strategies as st

from hanoinet.registry.actions import ActionKind, TreatyAction
from hanoinet.registry.status import treaty_status

SOURCE = "https://example.org/test"
CODES = sorted(c.alpha_2 for c in pycountry.countries)
OPENS = date(2025, 10, 25)
CLOSES = date(2026, 12, 31)
LAST_DEPOSIT = date(2030, 12, 31)
LAST_DAY = date(2033, 12, 31)

CONSENT_AFTER_SIGNATURE = [
    ActionKind.RATIFICATION,
    ActionKind.ACCEPTANCE,
    ActionKind.APPROVAL,
]

SETTINGS = settings(max_examples=150, deadline=None, database=None)


def act(code: str, action: ActionKind, when: date, row: int) -> TreatyAction:
    name = "European Union" if code == "EU" else f"State {code}"
    return TreatyAction(name, code, action, when, True, SOURCE, row=row)


@dataclass
class History:
    states: list[TreatyAction]
    """Every action of the States, in row order."""
    eu_signature: TreatyAction | None
    eu_instrument: TreatyAction | None

    def actions(self, *, with_eu_instrument: bool = True) -> list[TreatyAction]:
        eu = [a for a in (self.eu_signature, self.eu_instrument) if a is not None]
        if not with_eu_instrument:
            eu = [a for a in eu if a.action is ActionKind.SIGNATURE]
        return self.states + eu


@cache
def _up_to(n: int) -> st.SearchStrategy[int]:
    """0 to n; each strategy made once (hypothesis validates a strategy made anew at each of a
    history's hundreds of draws)."""
    return st.integers(0, n)


_CONSENT = st.sampled_from(CONSENT_AFTER_SIGNATURE)
_BOOLS = st.booleans()


def day_between(draw: st.DrawFn, first: date, last: date) -> date:
    """A day in [first, last]; integer offsets are cheaper to draw than st.dates()."""
    return first + timedelta(days=draw(_up_to((last - first).days)))


@st.composite
def histories(draw: st.DrawFn, *, denunciations: bool = True) -> History:
    """A valid random history: States sign in the period, then deposit, or accede; few denounce.

    Each State signs with chance 7 in 10, deposits with a chance drawn once per history,
    and, once a party, denounces with chance 1 in 20.
    """
    n = draw(st.integers(0, 80) | st.integers(45, 80))  # often enough for entry into force
    codes = draw(st.lists(st.sampled_from(CODES), min_size=n, max_size=n, unique=True))
    deposit_chance = draw(st.sampled_from([3, 6, 9, 10]))  # out of 10
    rows = iter(range(2, 10_000))
    states: list[TreatyAction] = []
    for code in codes:
        signs = draw(_up_to(9)) < 7
        signed = day_between(draw, OPENS, CLOSES) if signs else None
        if signed is not None:
            states.append(act(code, ActionKind.SIGNATURE, signed, next(rows)))
        if draw(_up_to(9)) >= deposit_chance:
            continue
        if signed is not None:
            kind = draw(_CONSENT)
            deposit = day_between(draw, signed, LAST_DEPOSIT)
        else:
            kind = ActionKind.ACCESSION
            deposit = day_between(draw, OPENS, LAST_DEPOSIT)
        states.append(act(code, kind, deposit, next(rows)))
        if denunciations and draw(_up_to(19)) == 0:
            notified = day_between(draw, deposit, LAST_DEPOSIT)
            states.append(act(code, ActionKind.DENUNCIATION, notified, next(rows)))
    eu_signature = eu_instrument = None
    if draw(_BOOLS):
        eu_signed = day_between(draw, OPENS, CLOSES)
        eu_signature = act("EU", ActionKind.SIGNATURE, eu_signed, next(rows))
        if draw(_BOOLS):
            eu_deposit = day_between(draw, eu_signed, LAST_DEPOSIT)
            eu_instrument = act("EU", ActionKind.APPROVAL, eu_deposit, next(rows))
    # The record's row order need not be chronological.
    if draw(_BOOLS):
        states.reverse()
    return History(states, eu_signature, eu_instrument)


days = st.dates(OPENS - timedelta(days=30), LAST_DAY)


def deposits_on_or_before(actions: list[TreatyAction], day: date) -> int:
    return sum(
        1
        for a in actions
        if a.action.is_instrument and a.code != "EU" and a.date is not None and a.date <= day
    )


def state_deposits(actions: list[TreatyAction]) -> list[date]:
    return sorted(a.date for a in actions if a.action.is_instrument and a.code != "EU" and a.date)


@SETTINGS
@given(histories(), days, days)
def test_art_65_1_never_before_90th_day_after_40th_counted_instrument(
    history: History, one: date, other: date
) -> None:
    """(a), and once in force the Convention stays in force, whatever the denunciations."""
    d1, d2 = sorted((one, other))
    actions = history.actions()
    s1, s2 = treaty_status(actions, d1), treaty_status(actions, d2)
    for s in (s1, s2):
        if s.entry_into_force is None:
            assert s.in_force is False
            continue
        assert s.fortieth_deposit is not None
        assert s.fortieth_deposit <= s.as_of
        assert s.entry_into_force == s.fortieth_deposit + timedelta(days=90)
        assert deposits_on_or_before(actions, s.entry_into_force - timedelta(days=90)) >= 40
        assert s.in_force == (s.as_of >= s.entry_into_force)
    if s1.entry_into_force is not None:
        assert s2.entry_into_force == s1.entry_into_force
    if s1.in_force:
        assert s2.in_force


@SETTINGS
@given(histories(), days)
def test_art_65_1_adding_or_removing_reio_instrument_changes_nothing_counted(
    history: History, as_of: date
) -> None:
    """(b)"""
    with_eu = treaty_status(history.actions(with_eu_instrument=True), as_of)
    without_eu = treaty_status(history.actions(with_eu_instrument=False), as_of)
    assert with_eu.instruments_counted == without_eu.instruments_counted
    assert with_eu.entry_into_force == without_eu.entry_into_force
    assert with_eu.fortieth_deposit == without_eu.fortieth_deposit
    assert with_eu.in_force == without_eu.in_force


@SETTINGS
@given(histories(denunciations=False), days, days)
def test_status_is_monotonic_in_as_of_without_denunciations(
    history: History, one: date, other: date
) -> None:
    """(c), and without denunciations the 40th State deposit sets the date exactly."""
    d1, d2 = sorted((one, other))
    actions = history.actions()
    s1, s2 = treaty_status(actions, d1), treaty_status(actions, d2)
    assert s1.instruments_counted <= s2.instruments_counted
    assert s1.signatories <= s2.signatories
    assert len(s1.parties) <= len(s2.parties)
    if s1.in_force:
        assert s2.in_force
    if s1.entry_into_force is not None:
        assert s2.entry_into_force == s1.entry_into_force
    deposits = state_deposits(actions)
    for s in (s1, s2):
        assert s.instruments_counted == deposits_on_or_before(actions, s.as_of)
        if len(deposits) >= 40 and deposits[39] <= s.as_of:
            assert s.fortieth_deposit == deposits[39]
            assert s.entry_into_force == deposits[39] + timedelta(days=90)
        else:
            assert s.entry_into_force is None


@SETTINGS
@given(histories(), days)
def test_art_65_2_party_date_never_before_general_date(history: History, as_of: date) -> None:
    """(d)"""
    s = treaty_status(history.actions(), as_of)
    for p in s.participants:
        if p.in_force_for_party is None:
            continue
        assert s.entry_into_force is not None
        assert p.deposit is not None
        assert p.in_force_for_party >= s.entry_into_force
        assert p.in_force_for_party >= p.deposit
        assert s.fortieth_deposit is not None
        if p.deposit > s.fortieth_deposit:
            assert p.in_force_for_party >= p.deposit + timedelta(days=30)
