"""``hanoinet treaty``: who has signed, whether and when the Convention enters into force."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from hanoinet.cli.output import (
    iso,
    parse_date,
    print_json,
    print_table,
    read_text,
    say,
    user_errors,
)
from hanoinet.convention.catalog import mark_citations
from hanoinet.registry import (
    TreatyAction,
    packaged_actions,
    parse_actions,
    participant,
    participant_status,
    resolve,
    treaty_status,
)
from hanoinet.registry.actions import PACKAGED_RECORD
from hanoinet.registry.designations import Reservation, demo_designations, reservation_dict
from hanoinet.registry.status import TreatyStatus, participant_dict, status_dict
from hanoinet.texts import visible

app = typer.Typer(
    help="Treaty status: signatures, instruments, entry into force (arts 64-67).",
    no_args_is_help=True,
)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Date to compute on, YYYY-MM-DD (default: today, UTC).", metavar="DATE"
    ),
]
Events = Annotated[
    Path | None,
    typer.Option(
        "--events",
        help="A treaty-actions CSV to use instead of the packaged record.",
        metavar="FILE",
    ),
]
Unconfirmed = Annotated[
    bool,
    typer.Option(
        "--include-unconfirmed", help="Count actions marked confirmed=no (dated ones only)."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object (shape in docs/cli.md).")]


def _record(events: Path | None) -> tuple[list[TreatyAction], str]:
    if events is None:
        return packaged_actions(), f"{PACKAGED_RECORD} (packaged)"
    return parse_actions(read_text(events, "--events"), str(events)), str(events)


@app.command("status")
def status_command(
    as_of: AsOf = None,
    events: Events = None,
    include_unconfirmed: Unconfirmed = False,
    json: Json = False,
) -> None:
    """Signatories, instruments counted, and entry into force on a date."""
    day = parse_date(as_of, "--as-of")
    with user_errors():
        actions, record = _record(events)
        status = treaty_status(actions, day, include_unconfirmed=include_unconfirmed)
    if json:
        print_json(status_dict(status, record, include_unconfirmed))
        return
    _print_status(status, record, day)


def _print_status(status: TreatyStatus, record: str, day: date) -> None:
    say(f"UN Convention against Cybercrime — status on {day.isoformat()}")
    say(f"Record: {record}")
    say(f"Signature: {'open' if status.signature_open else 'closed'} (art. 64)")
    say(f"Signatories: {status.signatories}")
    say(
        f"Instruments counted: {status.instruments_counted} of "
        f"{status.instruments_needed} needed (art. 65(1))"
    )
    if status.entry_into_force is None:
        say(
            f"Entry into force: not yet; {status.instruments_still_needed} more "
            "instruments needed, then 90 days (art. 65(1))"
        )
    else:
        verb = "in force since" if status.in_force else "enters into force on"
        say(
            f"Entry into force: {verb} {iso(status.entry_into_force)} "
            f"(40th instrument deposited {iso(status.fortieth_deposit)}; art. 65(1))"
        )
    print_table(
        "Participants",
        ("Participant", "Code", "Signed", "Instrument", "Deposit", "In force for it"),
        [
            (
                p.name,
                p.code,
                iso(p.signed),
                (p.instrument.value if p.instrument else "—")
                + ("" if p.counted or not p.deposit else " (REIO, not counted)"),
                iso(p.deposit),
                iso(p.in_force_for_party),
            )
            for p in status.participants
        ],
    )
    if status.not_counted:
        say("Not counted (unconfirmed or undated; use --include-unconfirmed for dated ones):")
        for a in status.not_counted:
            say(
                f"  ! {a.participant} ({a.code}) {a.action} {iso(a.date, 'date unknown')} "
                f"— unconfirmed; source: {a.source}"
            )


@app.command("state")
def state_command(
    name: Annotated[
        str,
        typer.Argument(
            help="A State or organization: ISO code (VN) or name.", metavar="NAME-OR-CODE"
        ),
    ],
    as_of: AsOf = None,
    events: Events = None,
    include_unconfirmed: Unconfirmed = False,
    json: Json = False,
) -> None:
    """One participant's signature, instrument, and dates of entry into force."""
    day = parse_date(as_of, "--as-of")
    with user_errors():
        actions, record = _record(events)
        names = {a.participant: a.code for a in actions}
        code = resolve(name, names)
        display = next((a.participant for a in actions if a.code == code), participant(code).name())
        entry, _ = participant_status(
            actions, code, display, day, include_unconfirmed=include_unconfirmed
        )
    shown = [a for a in actions if a.code == code]
    designation = demo_designations().get(code)
    reservations = designation.reservations if designation else ()
    if json:
        data = participant_dict(entry, day)
        data["as_of"] = day.isoformat()
        data["record"] = record
        data["names"] = dict(participant(code).names)
        data["actions"] = [
            {
                "action": a.action.value,
                "date": iso(a.date, "") or None,
                "confirmed": a.confirmed,
                "source": a.source,
                "note": a.note,
                "row": a.row,
            }
            for a in shown
        ]
        data["reservations"] = [reservation_dict(r) for r in reservations]
        print_json(data)
        return
    say(f"{entry.name} ({code}) — on {day.isoformat()}: {entry.state}")
    say(f"  Signed: {iso(entry.signed)}")
    instrument = entry.instrument.value if entry.instrument else "—"
    say(
        f"  Instrument: {instrument}, deposited {iso(entry.deposit)}"
        + ("" if entry.counted or entry.deposit is None else " (REIO: not counted, art. 65(1))")
    )
    say(f"  In force for it: {iso(entry.in_force_for_party)} (art. 65)")
    if entry.denunciation_effective:
        say(
            f"  Denunciation: notified {iso(entry.denunciation_notified)}, "
            f"effective {iso(entry.denunciation_effective)} (art. 67)"
        )
    if not shown:
        say("  No action of this participant is in the record.")
    for a in shown:
        mark = "" if a.confirmed else " [unconfirmed]"
        say(f"  - {a.action} {iso(a.date, 'date unknown')}{mark}: {a.source}")
    _print_reservations(reservations)


def _print_reservations(reservations: tuple[Reservation, ...]) -> None:
    """A State's reservations and declarations, each under its article (marked when its
    paragraph number is unconfirmed), with its date and source."""
    if not reservations:
        say("  Reservations and declarations: none on record")
        return
    say("  Reservations and declarations:")
    for r in reservations:
        made = f", {r.date.isoformat()}" if r.date else ""
        tag = " [illustrative]" if r.illustrative else ""
        say(
            mark_citations(f"  - {r.kind} under art. {r.article}{made}{tag}")
            + f": {visible(r.text)}"
        )
        say(f"    source: {visible(r.source or '')}")
