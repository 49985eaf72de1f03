"""Treaty actions: signatures, instruments of consent and denunciations, as dated events.

The record is a CSV in the format of the packaged ``data/treaty-actions.csv``::

    participant,code,action,date,confirmed,source,note

Every row carries its source. A row with ``confirmed=no`` is a reported but
unconfirmed action: it is shown, marked, and left out of every count unless
the caller asks to include unconfirmed rows; a row without a date can never
be counted. Parsing is pure (text in, actions out); errors name the file,
row and field.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources

from hanoinet.errors import TreatyRecordError
from hanoinet.isodate import parse_day
from hanoinet.registry.participants import is_known_code

COLUMNS = ("participant", "code", "action", "date", "confirmed", "source", "note")
PACKAGED_RECORD = "treaty-actions.csv"


class ActionKind(StrEnum):
    SIGNATURE = "signature"
    RATIFICATION = "ratification"
    ACCEPTANCE = "acceptance"
    APPROVAL = "approval"
    ACCESSION = "accession"
    DENUNCIATION = "denunciation"

    @property
    def is_instrument(self) -> bool:
        """An instrument of consent to be bound (art. 64): counts towards entry into force."""
        return self in INSTRUMENTS

    @property
    def needs_signature(self) -> bool:
        """Ratification, acceptance and approval follow a signature; accession does not (art. 64)."""
        return self in {ActionKind.RATIFICATION, ActionKind.ACCEPTANCE, ActionKind.APPROVAL}


INSTRUMENTS = frozenset(
    {ActionKind.RATIFICATION, ActionKind.ACCEPTANCE, ActionKind.APPROVAL, ActionKind.ACCESSION}
)


@dataclass(frozen=True)
class TreatyAction:
    participant: str
    code: str
    action: ActionKind
    date: date | None
    confirmed: bool
    source: str
    note: str = ""
    row: int | None = None
    """The line of the CSV file the action came from (the header is line 1)."""
    file: str = "(given)"

    @property
    def where(self) -> str:
        return f"{self.file}, row {self.row}" if self.row is not None else self.file


def parse_actions(text: str, file: str) -> list[TreatyAction]:
    """Parse a treaty-actions CSV; raises TreatyRecordError naming file, row and field."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    if header is None:
        raise TreatyRecordError(file, None, None, "the file is empty; expected a CSV header")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise TreatyRecordError(
            file,
            1,
            missing[0],
            f"missing column; the header must be: {','.join(COLUMNS)}",
        )
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise TreatyRecordError(
            file, 1, unknown[0], f"unknown column; expected {','.join(COLUMNS)}"
        )
    actions: list[TreatyAction] = []
    for record in reader:
        row = reader.line_num
        if None in record:
            raise TreatyRecordError(
                file, row, None, "more values than columns (quote values with commas)"
            )
        actions.append(_parse_row(record, file, row))
    return actions


def _parse_row(record: dict[str, str], file: str, row: int) -> TreatyAction:
    def value(field: str) -> str:
        return (record.get(field) or "").strip()

    participant = value("participant")
    if not participant:
        raise TreatyRecordError(
            file, row, "participant", "empty; give the name as the depositary writes it"
        )
    code = value("code")
    if not is_known_code(code):
        raise TreatyRecordError(
            file,
            row,
            "code",
            f"'{code}' is not an ISO 3166-1 alpha-2 code nor a known REIO code (EU)",
        )
    try:
        action = ActionKind(value("action"))
    except ValueError:
        raise TreatyRecordError(
            file,
            row,
            "action",
            f"'{value('action')}' is not a treaty action; use one of "
            + ", ".join(k.value for k in ActionKind),
        ) from None
    confirmed_text = value("confirmed")
    if confirmed_text not in ("yes", "no"):
        raise TreatyRecordError(file, row, "confirmed", f"'{confirmed_text}' must be yes or no")
    confirmed = confirmed_text == "yes"
    date_text = value("date")
    when: date | None = None
    if date_text:
        try:
            when = parse_day(date_text)
        except ValueError:
            raise TreatyRecordError(
                file, row, "date", f"'{date_text}' is not a date; write it as YYYY-MM-DD"
            ) from None
    elif confirmed:
        raise TreatyRecordError(
            file, row, "date", "a confirmed action needs its date; mark it confirmed=no if unknown"
        )
    source = value("source")
    if not source.startswith(("http://", "https://")):
        raise TreatyRecordError(
            file, row, "source", "every action needs its public source as an http(s) address"
        )
    return TreatyAction(
        participant, code, action, when, confirmed, source, value("note"), row, file
    )


def packaged_actions() -> list[TreatyAction]:
    """The treaty record shipped with hanoinet (see docs/sources.md)."""
    text = resources.files("hanoinet.registry.data").joinpath(PACKAGED_RECORD).read_text("utf-8")
    return parse_actions(text, PACKAGED_RECORD)
