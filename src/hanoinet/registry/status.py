"""Entry into force, computed from treaty actions and a date (arts 64, 65, 67).

Pure: the caller passes the actions and ``as_of``; nothing reads the clock.

- Signature is open from the opening in Hanoi until the closing date at UN
  Headquarters (art. 64); later, States accede.
- Ratification, acceptance and approval need a prior signature; accession
  does not (art. 64).
- The Convention enters into force on the 90th day after the deposit of the
  40th instrument; an instrument of a regional economic integration
  organization does not count in addition to its member States' (art.
  65(1)), so hanoinet never counts one.
- For a participant depositing after the 40th instrument: the 30th day after
  its deposit, or the general date if later (art. 65(2)).
- A denunciation takes effect one year after notification (art. 67). Before
  entry into force, an instrument whose denunciation has taken effect no
  longer counts; once in force, the Convention stays in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from hanoinet.convention import convention
from hanoinet.errors import TreatyRecordError
from hanoinet.registry.actions import ActionKind, TreatyAction
from hanoinet.registry.participants import REIOS
from hanoinet.textfold import fold


def _fixed(date_id: str) -> date:
    return convention().dates[date_id].date


def _days(period_id: str) -> timedelta:
    period = convention().period(period_id)
    assert period.unit == "days"
    return timedelta(days=period.value)


def add_years(start: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 1 March in a common year."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


@dataclass(frozen=True)
class ParticipantStatus:
    code: str
    name: str
    kind: str
    signed: date | None = None
    instrument: ActionKind | None = None
    deposit: date | None = None
    in_force_for_party: date | None = None
    denunciation_notified: date | None = None
    denunciation_effective: date | None = None
    counted: bool = False
    """Whether its instrument counts towards the 40 of art. 65(1) (never for a REIO)."""
    sources: tuple[str, ...] = ()
    state: str = "none"
    """Where it stands on the day computed: none, signatory, contracting (deposited, not yet
    in force for it), party, or withdrawn (denunciation effective)."""


@dataclass(frozen=True)
class TreatyStatus:
    as_of: date
    signatories: int
    instruments_counted: int
    instruments_needed: int
    in_force: bool
    entry_into_force: date | None
    fortieth_deposit: date | None
    signature_open: bool
    participants: tuple[ParticipantStatus, ...]
    """Everyone with a counted action on or before ``as_of``, by name."""
    not_counted: tuple[TreatyAction, ...] = field(default=())
    """Rows shown but never counted: unconfirmed ones (unless included) and undated ones."""

    @property
    def parties(self) -> tuple[ParticipantStatus, ...]:
        """Participants that have deposited an instrument on or before ``as_of``."""
        return tuple(p for p in self.participants if p.deposit is not None)

    @property
    def instruments_still_needed(self) -> int:
        return max(0, self.instruments_needed - self.instruments_counted)


@dataclass
class _Entry:
    """One participant's actions so far, while walking the record in date order."""

    name: str
    sources: list[str] = field(default_factory=list)
    signed: date | None = None
    instrument: ActionKind | None = None
    deposit: date | None = None
    notified: date | None = None
    effective: date | None = None


def _state(entry: _Entry, in_force_for_party: date | None, as_of: date) -> str:
    if entry.effective is not None and entry.effective <= as_of:
        return "withdrawn"
    if entry.deposit is not None:
        if in_force_for_party is not None and in_force_for_party <= as_of:
            return "party"
        return "contracting"
    return "signatory" if entry.signed is not None else "none"


def select(
    actions: Iterable[TreatyAction], include_unconfirmed: bool = False
) -> tuple[list[TreatyAction], list[TreatyAction]]:
    """Split actions into those that count and those only shown.

    Unconfirmed rows count only when ``include_unconfirmed``; undated rows never do.
    """
    counted: list[TreatyAction] = []
    shown: list[TreatyAction] = []
    for action in actions:
        if action.date is not None and (action.confirmed or include_unconfirmed):
            counted.append(action)
        else:
            shown.append(action)
    return counted, shown


def check_record(actions: Sequence[TreatyAction]) -> None:
    """Check that dated actions form a possible history; raise naming the first bad row."""
    adoption = _fixed("adoption")
    opens, closes = _fixed("signature_opens"), _fixed("signature_closes")
    signed: dict[str, TreatyAction] = {}
    deposited: dict[str, TreatyAction] = {}
    denounced: dict[str, TreatyAction] = {}
    for action in sorted(actions, key=_order):
        assert action.date is not None
        code = action.code
        if action.date < adoption:
            raise _error(
                action,
                "date",
                f"{action.date} is before the Convention was adopted on "
                f"{adoption} (General Assembly resolution 79/243)",
            )
        if action.action is ActionKind.SIGNATURE:
            if code in deposited and code not in denounced:
                raise _error(
                    action,
                    "action",
                    f"{action.participant} is already bound by its instrument of "
                    f"{deposited[code].action} ({deposited[code].where}); a signature after it "
                    "has no place (art. 64)",
                )
            if code in signed:
                raise _error(
                    action,
                    "action",
                    f"duplicate: {action.participant} already signed ({signed[code].where})",
                )
            if not opens <= action.date <= closes:
                raise _error(
                    action,
                    "date",
                    f"signature on {action.date} is outside the signature "
                    f"period, {opens} to {closes} (art. 64); after it closes a State accedes",
                )
            signed[code] = action
        elif action.action.is_instrument:
            previous = deposited.get(code)
            if previous is not None:
                effective = _effective(denounced.get(code))
                if effective is None or action.date < effective:
                    what = "duplicate" if previous.action is action.action else "second instrument"
                    raise _error(
                        action,
                        "action",
                        f"{what}: {action.participant} already deposited "
                        f"an instrument of {previous.action} ({previous.where})",
                    )
                del denounced[code]
            if action.action.needs_signature and code not in signed:
                raise _error(
                    action,
                    "action",
                    f"{action.participant} has not signed, so its "
                    f"{action.action} is in law an accession (art. 64); record it as accession",
                )
            deposited[code] = action
        else:  # denunciation
            if code not in deposited or code in denounced:
                raise _error(
                    action,
                    "action",
                    f"{action.participant} is not a party on "
                    f"{action.date}, so it cannot denounce (art. 67)",
                )
            denounced[code] = action


def _order(action: TreatyAction) -> tuple[date, int, int]:
    order = {ActionKind.SIGNATURE: 0, ActionKind.DENUNCIATION: 2}
    assert action.date is not None
    return action.date, order.get(action.action, 1), action.row or 0


def _effective(denunciation: TreatyAction | None) -> date | None:
    if denunciation is None or denunciation.date is None:
        return None
    return add_years(denunciation.date, convention().period("denunciation_years").value)


def _error(action: TreatyAction, field_name: str, reason: str) -> TreatyRecordError:
    return TreatyRecordError(action.file, action.row, field_name, reason)


def treaty_status(
    actions: Sequence[TreatyAction], as_of: date, *, include_unconfirmed: bool = False
) -> TreatyStatus:
    """The Convention's status on ``as_of`` from a treaty record.

    Raises TreatyRecordError if the counted actions are not a possible history.
    """
    counted, shown = select(actions, include_unconfirmed)
    check_record(counted)
    needed = convention().period("instruments_for_entry_into_force").value
    fortieth = _fortieth_deposit(counted, needed)
    general = fortieth + _days("entry_into_force_days") if fortieth and fortieth <= as_of else None

    people: dict[str, _Entry] = {}
    for action in sorted(counted, key=_order):
        assert action.date is not None
        if action.date > as_of:
            continue
        entry = people.setdefault(action.code, _Entry(action.participant))
        if action.source not in entry.sources:
            entry.sources.append(action.source)
        if action.action is ActionKind.SIGNATURE:
            entry.signed = action.date
        elif action.action.is_instrument:
            entry.instrument, entry.deposit = action.action, action.date
            entry.notified = entry.effective = None
        else:
            entry.notified, entry.effective = action.date, _effective(action)

    participants: list[ParticipantStatus] = []
    for code, entry in people.items():
        in_force_for_party = None
        if entry.deposit is not None and general is not None:
            assert fortieth is not None
            if entry.deposit <= fortieth:
                in_force_for_party = general
            else:
                later = entry.deposit + _days("party_entry_into_force_days")
                in_force_for_party = max(later, general)
        if (
            entry.effective is not None
            and in_force_for_party is not None
            and entry.effective <= in_force_for_party
        ):
            in_force_for_party = None  # withdrew before the Convention bound it (art. 67)
        withdrawn = entry.effective is not None and entry.effective <= as_of
        participants.append(
            ParticipantStatus(
                code=code,
                name=entry.name,
                kind="reio" if code in REIOS else "state",
                signed=entry.signed,
                instrument=entry.instrument,
                deposit=entry.deposit,
                in_force_for_party=in_force_for_party,
                denunciation_notified=entry.notified,
                denunciation_effective=entry.effective,
                counted=entry.deposit is not None and code not in REIOS and not withdrawn,
                sources=tuple(entry.sources),
                state=_state(entry, in_force_for_party, as_of),
            )
        )
    participants.sort(key=lambda p: fold(p.name))
    opens, closes = _fixed("signature_opens"), _fixed("signature_closes")
    return TreatyStatus(
        as_of=as_of,
        signatories=sum(1 for p in participants if p.signed is not None),
        instruments_counted=_count_on(counted, as_of),
        instruments_needed=needed,
        in_force=general is not None and as_of >= general,
        entry_into_force=general,
        fortieth_deposit=fortieth if general is not None else None,
        signature_open=opens <= as_of <= closes,
        participants=tuple(participants),
        not_counted=tuple(shown),
    )


def _count_changes(counted: Sequence[TreatyAction]) -> list[tuple[date, int]]:
    """+1 on each countable deposit, -1 when its denunciation takes effect."""
    changes: list[tuple[date, int]] = []
    for action in counted:
        if action.code in REIOS or action.date is None:
            continue
        if action.action.is_instrument:
            changes.append((action.date, +1))
        elif action.action is ActionKind.DENUNCIATION:
            effective = _effective(action)
            assert effective is not None
            changes.append((effective, -1))
    changes.sort()
    return changes


def _count_on(counted: Sequence[TreatyAction], day: date) -> int:
    return sum(step for when, step in _count_changes(counted) if when <= day)


def _fortieth_deposit(counted: Sequence[TreatyAction], needed: int) -> date | None:
    """The day the count of instruments first reaches ``needed`` (art. 65(1))."""
    total = 0
    changes = _count_changes(counted)
    for index, (when, step) in enumerate(changes):
        total += step
        last_of_day = index + 1 == len(changes) or changes[index + 1][0] != when
        if last_of_day and total >= needed:
            return when
    return None


def participant_status(
    actions: Sequence[TreatyAction],
    code: str,
    name: str,
    as_of: date,
    *,
    include_unconfirmed: bool = False,
) -> tuple[ParticipantStatus, TreatyStatus]:
    """One participant's dates on ``as_of``, and the overall status they depend on."""
    status = treaty_status(actions, as_of, include_unconfirmed=include_unconfirmed)
    for entry in status.participants:
        if entry.code == code:
            return entry, status
    kind = "reio" if code in REIOS else "state"
    return ParticipantStatus(code=code, name=name, kind=kind), status


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def participant_dict(entry: ParticipantStatus, as_of: date) -> dict[str, object]:
    """The documented JSON shape of one participant (docs/cli.md)."""
    return {
        "code": entry.code,
        "name": entry.name,
        "kind": entry.kind,
        "state": entry.state,
        "signed": _iso(entry.signed),
        "instrument": entry.instrument.value if entry.instrument else None,
        "deposit": _iso(entry.deposit),
        "counted": entry.counted,
        "in_force_for_party": _iso(entry.in_force_for_party),
        "denunciation_notified": _iso(entry.denunciation_notified),
        "denunciation_effective": _iso(entry.denunciation_effective),
        "sources": list(entry.sources),
    }


def action_dict(action: TreatyAction) -> dict[str, object]:
    return {
        "participant": action.participant,
        "code": action.code,
        "action": action.action.value,
        "date": _iso(action.date),
        "confirmed": action.confirmed,
        "source": action.source,
        "note": action.note,
        "row": action.row,
    }


def status_dict(status: TreatyStatus, record: str, include_unconfirmed: bool) -> dict[str, object]:
    """The documented JSON shape of ``hanoinet treaty status --json`` (docs/cli.md)."""
    return {
        "as_of": status.as_of.isoformat(),
        "record": record,
        "include_unconfirmed": include_unconfirmed,
        "signatories": status.signatories,
        "instruments_counted": status.instruments_counted,
        "instruments_needed": status.instruments_needed,
        "instruments_still_needed": status.instruments_still_needed,
        "in_force": status.in_force,
        "entry_into_force": _iso(status.entry_into_force),
        "fortieth_deposit": _iso(status.fortieth_deposit),
        "signature_open": status.signature_open,
        "parties": [
            {
                "code": p.code,
                "name": p.name,
                "instrument": p.instrument.value if p.instrument else None,
                "deposit": _iso(p.deposit),
                "counted": p.counted,
                "in_force_for_party": _iso(p.in_force_for_party),
                "denunciation_effective": _iso(p.denunciation_effective),
            }
            for p in status.parties
        ],
        "signatures": [
            {"code": p.code, "name": p.name, "date": _iso(p.signed), "source": p.sources[0]}
            for p in status.participants
            if p.signed is not None
        ],
        "not_counted": [action_dict(a) for a in status.not_counted],
        "articles": ["64", "65(1)", "65(2)", "67"],
    }
