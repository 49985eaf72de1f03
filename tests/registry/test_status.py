"""Entry into force (arts 64, 65, 67): one test per rule, article in the name.

Expected dates are computed by hand here (``date + timedelta(days=90)``), never
with the code's own helpers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pycountry
import pytest

from hanoinet.errors import TreatyRecordError
from hanoinet.registry.actions import ActionKind, TreatyAction, packaged_actions
from hanoinet.registry.status import ParticipantStatus, TreatyStatus, treaty_status

SOURCE = "https://example.org/test"
CODES = sorted(c.alpha_2 for c in pycountry.countries)
ADOPTION = date(2024, 12, 24)
OPENS = date(2025, 10, 25)
CLOSES = date(2026, 12, 31)
FAR = date(2040, 1, 1)

SIGNATURE = ActionKind.SIGNATURE
RATIFICATION = ActionKind.RATIFICATION
ACCEPTANCE = ActionKind.ACCEPTANCE
APPROVAL = ActionKind.APPROVAL
ACCESSION = ActionKind.ACCESSION
DENUNCIATION = ActionKind.DENUNCIATION


def act(
    code: str,
    action: ActionKind,
    when: date | None,
    *,
    row: int,
    confirmed: bool = True,
) -> TreatyAction:
    name = "European Union" if code == "EU" else f"State {code}"
    return TreatyAction(name, code, action, when, confirmed, SOURCE, row=row)


def accessions(n: int, first: date, *, offset: int = 0, row: int = 2) -> list[TreatyAction]:
    """``n`` States (CODES[offset:offset + n]) accede on consecutive days from ``first``."""
    return [
        act(CODES[offset + i], ACCESSION, first + timedelta(days=i), row=row + i) for i in range(n)
    ]


def status(actions: Iterable[TreatyAction], as_of: date, **kw: bool) -> TreatyStatus:
    return treaty_status(list(actions), as_of, **kw)


def entry(s: TreatyStatus, code: str) -> ParticipantStatus:
    [found] = [p for p in s.participants if p.code == code]
    return found


def record_error(actions: Iterable[TreatyAction]) -> TreatyRecordError:
    with pytest.raises(TreatyRecordError) as info:
        treaty_status(list(actions), FAR)
    return info.value


# 40 accessions on 2027-01-01 .. 2027-02-09; the 40th on 2027-02-09.
FORTIETH = date(2027, 2, 9)
GENERAL = date(2027, 5, 10)  # 90th day after 9 February 2027


def forty() -> list[TreatyAction]:
    return accessions(40, date(2027, 1, 1))


# --- art. 65(1) ------------------------------------------------------------------------------


def test_art_65_1_enters_into_force_on_90th_day_after_40th_instrument() -> None:
    assert FORTIETH + timedelta(days=90) == GENERAL
    s = status(forty(), GENERAL)
    assert s.instruments_counted == 40
    assert s.instruments_still_needed == 0
    assert s.fortieth_deposit == FORTIETH
    assert s.entry_into_force == GENERAL
    assert s.in_force is True
    day_before = status(forty(), GENERAL - timedelta(days=1))
    assert day_before.in_force is False
    assert day_before.entry_into_force == GENERAL


def test_art_65_1_39_instruments_are_not_enough() -> None:
    s = status(accessions(39, date(2027, 1, 1)), FAR)
    assert s.instruments_counted == 39
    assert s.instruments_still_needed == 1
    assert s.entry_into_force is None
    assert s.fortieth_deposit is None
    assert s.in_force is False


def test_art_65_1_all_instrument_kinds_count() -> None:
    kinds = [RATIFICATION, ACCEPTANCE, APPROVAL, ACCESSION]
    actions: list[TreatyAction] = []
    for i in range(40):
        code = CODES[i]
        kind = kinds[i % 4]
        if kind is not ACCESSION:
            actions.append(act(code, SIGNATURE, OPENS, row=100 + i))
        actions.append(act(code, kind, date(2027, 1, 1) + timedelta(days=i), row=200 + i))
    s = status(actions, FAR)
    assert s.instruments_counted == 40
    assert s.entry_into_force == FORTIETH + timedelta(days=90)


def test_art_65_1_several_instruments_on_the_40th_day() -> None:
    actions = [
        *accessions(38, date(2027, 1, 1)),
        act(CODES[38], ACCESSION, date(2027, 3, 1), row=90),
        act(CODES[39], ACCESSION, date(2027, 3, 1), row=91),
        act(CODES[40], ACCESSION, date(2027, 3, 1), row=92),
    ]
    s = status(actions, FAR)
    assert s.instruments_counted == 41
    assert s.fortieth_deposit == date(2027, 3, 1)
    assert s.entry_into_force == date(2027, 3, 1) + timedelta(days=90)


def test_art_65_1_reio_instrument_not_counted() -> None:
    eu = [
        act("EU", SIGNATURE, OPENS, row=90),
        act("EU", APPROVAL, date(2026, 6, 1), row=91),
    ]
    s = status(accessions(39, date(2027, 1, 1)) + eu, FAR)
    assert s.instruments_counted == 39
    assert s.entry_into_force is None
    eu_entry = entry(s, "EU")
    assert eu_entry.kind == "reio"
    assert eu_entry.deposit == date(2026, 6, 1)
    assert eu_entry.counted is False
    # The 40th State instrument, not the earlier EU one, sets the date.
    s = status(forty() + eu, FAR)
    assert s.instruments_counted == 40
    assert s.fortieth_deposit == FORTIETH
    assert s.entry_into_force == GENERAL
    assert entry(s, "EU").in_force_for_party == GENERAL
    assert entry(s, CODES[0]).counted is True


# --- art. 65(2) ------------------------------------------------------------------------------


def test_art_65_2_later_party_30th_day_after_deposit() -> None:
    later = CODES[40]
    deposit = date(2027, 6, 1)
    s = status([*forty(), act(later, ACCESSION, deposit, row=99)], FAR)
    assert entry(s, later).in_force_for_party == deposit + timedelta(days=30)
    assert entry(s, later).in_force_for_party == date(2027, 7, 1)
    assert entry(s, CODES[0]).in_force_for_party == GENERAL
    assert entry(s, CODES[39]).in_force_for_party == GENERAL


def test_art_65_2_later_party_never_before_general_date() -> None:
    later = CODES[40]
    deposit = date(2027, 3, 1)  # after the 40th instrument, before the general date
    assert deposit + timedelta(days=30) < GENERAL
    s = status([*forty(), act(later, ACCESSION, deposit, row=99)], FAR)
    assert s.entry_into_force == GENERAL
    assert entry(s, later).in_force_for_party == GENERAL


def test_art_65_2_deposit_on_the_day_of_the_40th_gets_general_date() -> None:
    same_day = act(CODES[40], ACCESSION, FORTIETH, row=99)
    s = status([*forty(), same_day], FAR)
    assert s.instruments_counted == 41
    assert entry(s, CODES[40]).in_force_for_party == GENERAL


def test_art_65_2_no_party_date_before_entry_into_force_is_known() -> None:
    s = status(accessions(39, date(2027, 1, 1)), FAR)
    assert all(p.in_force_for_party is None for p in s.participants)


# --- art. 67 ---------------------------------------------------------------------------------


def test_art_67_denunciation_effective_one_year_after_notification() -> None:
    code = CODES[0]
    notified = date(2028, 3, 15)
    s = status([*forty(), act(code, DENUNCIATION, notified, row=99)], FAR)
    party = entry(s, code)
    assert party.denunciation_notified == notified
    assert party.denunciation_effective == date(2029, 3, 15)
    before = status([*forty(), act(code, DENUNCIATION, notified, row=99)], date(2029, 3, 14))
    on = status([*forty(), act(code, DENUNCIATION, notified, row=99)], date(2029, 3, 15))
    assert entry(before, code).state == "party"
    assert entry(on, code).state == "withdrawn"
    assert before.instruments_counted == 40
    assert on.instruments_counted == 39
    # Once in force, the Convention stays in force.
    assert on.in_force is True
    assert on.entry_into_force == GENERAL


def test_art_67_denunciation_on_29_february_effective_1_march() -> None:
    code = CODES[0]
    s = status([*forty(), act(code, DENUNCIATION, date(2028, 2, 29), row=99)], FAR)
    assert entry(s, code).denunciation_effective == date(2029, 3, 1)


def test_art_67_denunciation_before_entry_into_force_removes_instrument_from_count() -> None:
    leaver = CODES[0]
    actions = [
        act(leaver, ACCESSION, date(2026, 1, 10), row=2),
        act(leaver, DENUNCIATION, date(2026, 1, 20), row=3),  # effective 2027-01-20
        *accessions(39, date(2027, 2, 1), offset=1, row=10),  # last on 2027-03-11
    ]
    assert status(actions, date(2027, 1, 19)).instruments_counted == 1
    assert status(actions, date(2027, 1, 20)).instruments_counted == 0
    s = status(actions, FAR)
    assert s.instruments_counted == 39
    assert s.entry_into_force is None
    actions.append(act(CODES[40], ACCESSION, date(2027, 4, 1), row=99))
    s = status(actions, FAR)
    assert s.instruments_counted == 40
    assert s.fortieth_deposit == date(2027, 4, 1)
    assert s.entry_into_force == date(2027, 4, 1) + timedelta(days=90)
    assert s.entry_into_force == date(2027, 6, 30)


def test_art_67_denunciation_taking_effect_after_the_40th_does_not_delay_entry() -> None:
    leaver = CODES[0]
    actions = [*forty(), act(leaver, DENUNCIATION, date(2027, 2, 1), row=99)]
    s = status(actions, FAR)
    assert s.fortieth_deposit == FORTIETH
    assert s.entry_into_force == GENERAL
    assert s.instruments_counted == 39


def test_art_67_party_withdrawn_before_entry_into_force_never_bound() -> None:
    leaver = CODES[0]
    actions = [
        act(leaver, ACCESSION, date(2026, 1, 10), row=2),
        act(leaver, DENUNCIATION, date(2026, 1, 20), row=3),  # effective 2027-01-20
        *accessions(40, date(2027, 2, 1), offset=1, row=10),
    ]
    s = status(actions, FAR)
    assert s.entry_into_force is not None
    gone = entry(s, leaver)
    assert gone.denunciation_effective == date(2027, 1, 20)
    assert gone.denunciation_effective < s.entry_into_force
    assert gone.in_force_for_party is None
    assert gone.counted is False


def test_art_67_redeposit_after_denunciation_took_effect_is_allowed() -> None:
    code = CODES[0]
    actions = [
        *forty(),
        act(code, DENUNCIATION, date(2028, 1, 10), row=98),
        act(code, ACCESSION, date(2029, 1, 10), row=99),
    ]
    s = status(actions, FAR)
    assert s.instruments_counted == 40
    back = entry(s, code)
    assert back.deposit == date(2029, 1, 10)
    assert back.denunciation_effective is None
    assert back.in_force_for_party == date(2029, 1, 10) + timedelta(days=30)


# --- art. 64 and the record's consistency ----------------------------------------------------


def test_art_64_signature_on_first_and_last_day_is_accepted() -> None:
    s = status(
        [act(CODES[0], SIGNATURE, OPENS, row=2), act(CODES[1], SIGNATURE, CLOSES, row=3)], FAR
    )
    assert s.signatories == 2


def test_art_64_signature_after_period_closed_is_error_naming_row() -> None:
    actions = [
        act(CODES[0], SIGNATURE, OPENS, row=2),
        act(CODES[1], SIGNATURE, CLOSES + timedelta(days=1), row=7),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (7, "date")
    assert "row 7" in str(exc)
    assert "art. 64" in exc.message
    assert "accede" in exc.message
    assert "2026-12-31" in exc.message


def test_art_64_signature_before_opening_is_error() -> None:
    exc = record_error([act(CODES[0], SIGNATURE, OPENS - timedelta(days=1), row=4)])
    assert (exc.row, exc.field) == (4, "date")
    assert "outside the signature period" in exc.message
    assert "2025-10-25" in exc.message


@pytest.mark.parametrize("kind", [RATIFICATION, ACCEPTANCE, APPROVAL])
def test_art_64_ratification_by_non_signatory_is_accession_error(kind: ActionKind) -> None:
    actions = [
        act(CODES[0], SIGNATURE, OPENS, row=2),
        act(CODES[1], kind, date(2026, 5, 1), row=5),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (5, "action")
    assert "accession" in exc.message
    assert "art. 64" in exc.message
    assert "not signed" in exc.message


def test_art_64_ratification_before_own_signature_is_error() -> None:
    actions = [
        act(CODES[0], RATIFICATION, date(2026, 1, 1), row=2),
        act(CODES[0], SIGNATURE, date(2026, 2, 1), row=3),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (2, "action")


def test_art_64_ratification_on_day_of_signature_is_accepted() -> None:
    actions = [
        act(CODES[0], RATIFICATION, OPENS, row=2),
        act(CODES[0], SIGNATURE, OPENS, row=3),
    ]
    s = status(actions, FAR)
    assert s.instruments_counted == 1
    assert entry(s, CODES[0]).signed == OPENS


def test_art_64_accession_needs_no_signature_and_may_follow_the_period() -> None:
    s = status([act(CODES[0], ACCESSION, date(2030, 1, 1), row=2)], FAR)
    assert s.instruments_counted == 1
    assert s.signatories == 0


@pytest.mark.parametrize("kind", [SIGNATURE, ACCESSION, DENUNCIATION])
def test_action_before_adoption_is_error(kind: ActionKind) -> None:
    exc = record_error([act(CODES[0], kind, ADOPTION - timedelta(days=1), row=3)])
    assert (exc.row, exc.field) == (3, "date")
    assert "adopted" in exc.message
    assert "2024-12-24" in exc.message


def test_duplicate_signature_is_error_naming_both_rows() -> None:
    actions = [
        act(CODES[0], SIGNATURE, OPENS, row=3),
        act(CODES[1], SIGNATURE, OPENS, row=4),
        act(CODES[0], SIGNATURE, date(2026, 1, 5), row=8),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (8, "action")
    assert "duplicate" in exc.message
    assert "row 3" in exc.message
    assert "row 8" in str(exc)


def test_duplicate_signature_same_day_names_the_later_row() -> None:
    actions = [act(CODES[0], SIGNATURE, OPENS, row=9), act(CODES[0], SIGNATURE, OPENS, row=3)]
    exc = record_error(actions)
    assert exc.row == 9
    assert "row 3" in exc.message


def test_second_instrument_is_error() -> None:
    actions = [
        act(CODES[0], SIGNATURE, OPENS, row=2),
        act(CODES[0], RATIFICATION, date(2026, 3, 1), row=3),
        act(CODES[0], ACCEPTANCE, date(2026, 4, 1), row=4),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (4, "action")
    assert "second instrument" in exc.message
    assert "ratification" in exc.message
    assert "row 3" in exc.message


def test_same_instrument_twice_is_duplicate_error() -> None:
    actions = [
        act(CODES[0], ACCESSION, date(2027, 3, 1), row=2),
        act(CODES[0], ACCESSION, date(2027, 4, 1), row=3),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (3, "action")
    assert "duplicate" in exc.message
    assert "row 2" in exc.message


def test_second_instrument_before_denunciation_takes_effect_is_error() -> None:
    actions = [
        act(CODES[0], ACCESSION, date(2027, 3, 1), row=2),
        act(CODES[0], DENUNCIATION, date(2028, 3, 1), row=3),
        act(CODES[0], ACCESSION, date(2029, 2, 28), row=4),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (4, "action")


def test_denunciation_by_non_party_is_error() -> None:
    actions = [
        act(CODES[0], SIGNATURE, OPENS, row=2),
        act(CODES[0], DENUNCIATION, date(2026, 1, 1), row=6),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (6, "action")
    assert "not a party" in exc.message
    assert "art. 67" in exc.message


def test_denunciation_before_own_deposit_is_error() -> None:
    actions = [
        act(CODES[0], DENUNCIATION, date(2027, 1, 1), row=2),
        act(CODES[0], ACCESSION, date(2027, 6, 1), row=3),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (2, "action")


def test_second_denunciation_is_error() -> None:
    actions = [
        act(CODES[0], ACCESSION, date(2027, 1, 1), row=2),
        act(CODES[0], DENUNCIATION, date(2027, 6, 1), row=3),
        act(CODES[0], DENUNCIATION, date(2027, 7, 1), row=4),
    ]
    exc = record_error(actions)
    assert (exc.row, exc.field) == (4, "action")


def test_record_errors_are_raised_whatever_as_of() -> None:
    actions = [act(CODES[0], SIGNATURE, date(2027, 6, 1), row=2)]
    with pytest.raises(TreatyRecordError):
        treaty_status(actions, date(2026, 1, 1))


# --- what counts -----------------------------------------------------------------------------


def test_unconfirmed_rows_not_counted_unless_included() -> None:
    actions = accessions(39, date(2027, 1, 1))
    reported = act(CODES[39], ACCESSION, FORTIETH, row=99, confirmed=False)
    actions.append(reported)
    s = status(actions, FAR)
    assert s.instruments_counted == 39
    assert s.entry_into_force is None
    assert s.not_counted == (reported,)
    assert CODES[39] not in {p.code for p in s.participants}
    s = status(actions, FAR, include_unconfirmed=True)
    assert s.instruments_counted == 40
    assert s.entry_into_force == GENERAL
    assert s.not_counted == ()


def test_unconfirmed_signature_not_counted_unless_included() -> None:
    actions = [act(CODES[0], SIGNATURE, OPENS, row=2, confirmed=False)]
    assert status(actions, FAR).signatories == 0
    assert status(actions, FAR, include_unconfirmed=True).signatories == 1


def test_unconfirmed_rows_are_checked_when_included() -> None:
    actions = [act(CODES[0], SIGNATURE, date(2027, 6, 1), row=2, confirmed=False)]
    assert status(actions, FAR).signatories == 0
    with pytest.raises(TreatyRecordError) as info:
        status(actions, FAR, include_unconfirmed=True)
    assert info.value.row == 2


@pytest.mark.parametrize("confirmed", [True, False])
@pytest.mark.parametrize("include", [True, False])
def test_undated_rows_never_counted(confirmed: bool, include: bool) -> None:
    actions = accessions(39, date(2027, 1, 1))
    undated = act(CODES[39], ACCESSION, None, row=99, confirmed=confirmed)
    undated_signature = act(CODES[40], SIGNATURE, None, row=100, confirmed=confirmed)
    actions += [undated, undated_signature]
    s = status(actions, FAR, include_unconfirmed=include)
    assert s.instruments_counted == 39
    assert s.signatories == 0
    assert s.entry_into_force is None
    assert s.not_counted == (undated, undated_signature)


def test_entry_into_force_reported_even_if_after_as_of() -> None:
    as_of = FORTIETH + timedelta(days=30)
    s = status(forty(), as_of)
    assert s.instruments_counted == 40
    assert s.in_force is False
    assert s.fortieth_deposit == FORTIETH
    assert s.entry_into_force == FORTIETH + timedelta(days=90)
    assert status(forty(), FORTIETH).entry_into_force == FORTIETH + timedelta(days=90)


def test_entry_into_force_unknown_before_the_40th_deposit() -> None:
    s = status(forty(), FORTIETH - timedelta(days=1))
    assert s.instruments_counted == 39
    assert s.entry_into_force is None
    assert s.fortieth_deposit is None
    assert all(p.in_force_for_party is None for p in s.participants)


def test_actions_after_as_of_are_not_shown() -> None:
    s = status(forty(), date(2027, 1, 3))
    assert s.instruments_counted == 3
    assert {p.code for p in s.participants} == set(CODES[:3])
    assert len(s.parties) == 3


@pytest.mark.parametrize(
    ("as_of", "is_open"),
    [
        (date(2025, 10, 24), False),
        (date(2025, 10, 25), True),
        (date(2026, 6, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
    ],
)
def test_signature_open_window(as_of: date, is_open: bool) -> None:
    assert status([], as_of).signature_open is is_open


def test_participant_states_over_time() -> None:
    code = CODES[0]
    actions = [
        act(code, SIGNATURE, OPENS, row=2),
        act(code, RATIFICATION, date(2027, 1, 1), row=3),
        *accessions(39, date(2027, 1, 2), offset=1, row=10),
        act(code, DENUNCIATION, date(2028, 1, 1), row=99),
    ]
    general = date(2027, 2, 9) + timedelta(days=90)

    def state(as_of: date) -> str:
        return entry(status(actions, as_of), code).state

    assert code not in {p.code for p in status(actions, OPENS - timedelta(days=1)).participants}
    assert state(OPENS) == "signatory"
    assert state(date(2027, 1, 1)) == "contracting"
    assert state(general - timedelta(days=1)) == "contracting"
    assert entry(status(actions, general), code).in_force_for_party == general
    assert state(general) == "party"
    assert state(date(2028, 12, 31)) == "party"
    assert state(date(2029, 1, 1)) == "withdrawn"


# --- the packaged record ---------------------------------------------------------------------


def test_packaged_record_status_on_2026_11_24() -> None:
    s = treaty_status(packaged_actions(), date(2026, 11, 24))
    assert s.signatories == 73
    assert s.instruments_counted == 0
    assert s.instruments_needed == 40
    assert s.instruments_still_needed == 40
    assert s.in_force is False
    assert s.entry_into_force is None
    assert s.fortieth_deposit is None
    assert s.signature_open is True
    assert s.parties == ()
    assert {(a.code, a.action) for a in s.not_counted} == {
        ("AE", SIGNATURE),
        ("AZ", RATIFICATION),
        ("QA", RATIFICATION),
        ("VN", RATIFICATION),
        ("CA", SIGNATURE),
    }
    assert "EU" in {p.code for p in s.participants}


def test_packaged_record_with_unconfirmed_rows_still_counts_nothing_undated() -> None:
    s = treaty_status(packaged_actions(), date(2026, 11, 24), include_unconfirmed=True)
    assert s.signatories == 73
    assert s.instruments_counted == 0
    assert len(s.not_counted) == 5


def test_art_64_signature_after_accession_is_error() -> None:
    code = CODES[5]
    exc = record_error(
        [
            act(code, ACCESSION, date(2026, 1, 5), row=2),
            act(code, SIGNATURE, date(2026, 2, 1), row=3),
        ]
    )
    assert (exc.row, exc.field) == (3, "action")
    assert "already bound" in exc.reason and "row 2" in exc.reason and "art. 64" in exc.reason
