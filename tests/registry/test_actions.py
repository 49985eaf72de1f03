"""parse_actions: every error names the file, row and field; the packaged record parses."""

from __future__ import annotations

from datetime import date

import pytest

from hanoinet.errors import TreatyRecordError
from hanoinet.registry.actions import (
    COLUMNS,
    PACKAGED_RECORD,
    ActionKind,
    TreatyAction,
    packaged_actions,
    parse_actions,
)

FILE = "test-actions.csv"
HEADER = "participant,code,action,date,confirmed,source,note"
GOOD = "Germany,DE,signature,2025-10-25,yes,https://example.org/test,Hanoi ceremony"


def record(*rows: str, header: str = HEADER) -> str:
    """A CSV with the header, one good row (line 2), then ``rows`` (line 3 onwards)."""
    return "\n".join([header, GOOD, *rows]) + "\n"


def bad_row(row: str) -> TreatyRecordError:
    with pytest.raises(TreatyRecordError) as info:
        parse_actions(record(row), FILE)
    return info.value


# --- a good record ---------------------------------------------------------------------------


def test_good_record_parses_with_rows_counted_from_header_line() -> None:
    text = record(
        "France,FR,ratification,2026-03-01,yes,https://example.org/fr,",
        'United Arab Emirates,AE,signature,,no,https://example.org/ae,"date, not found"',
    )
    actions = parse_actions(text, FILE)
    assert actions == [
        TreatyAction(
            "Germany",
            "DE",
            ActionKind.SIGNATURE,
            date(2025, 10, 25),
            True,
            "https://example.org/test",
            "Hanoi ceremony",
            2,
            FILE,
        ),
        TreatyAction(
            "France",
            "FR",
            ActionKind.RATIFICATION,
            date(2026, 3, 1),
            True,
            "https://example.org/fr",
            "",
            3,
            FILE,
        ),
        TreatyAction(
            "United Arab Emirates",
            "AE",
            ActionKind.SIGNATURE,
            None,
            False,
            "https://example.org/ae",
            "date, not found",
            4,
            FILE,
        ),
    ]
    assert actions[1].where == f"{FILE}, row 3"


def test_values_are_stripped() -> None:
    [_, action] = parse_actions(
        record(" France , FR , accession , 2027-01-05 , yes , https://example.org/fr , x "), FILE
    )
    assert (action.participant, action.code, action.action) == ("France", "FR", "accession")
    assert action.date == date(2027, 1, 5)
    assert action.source == "https://example.org/fr"
    assert action.note == "x"


def test_eu_code_is_accepted() -> None:
    [_, action] = parse_actions(
        record("European Union,EU,signature,2025-10-25,yes,https://example.org/eu,REIO"), FILE
    )
    assert action.code == "EU"


def test_columns_in_another_order_are_accepted() -> None:
    text = (
        "code,participant,action,date,confirmed,source,note\n"
        "DE,Germany,signature,2025-10-25,yes,https://example.org/test,\n"
    )
    [action] = parse_actions(text, FILE)
    assert (action.code, action.participant) == ("DE", "Germany")


def test_header_only_gives_no_actions() -> None:
    assert parse_actions(HEADER + "\n", FILE) == []


# --- header errors ---------------------------------------------------------------------------


def test_empty_file_is_error_naming_file() -> None:
    with pytest.raises(TreatyRecordError) as info:
        parse_actions("", FILE)
    exc = info.value
    assert (exc.file, exc.row, exc.field) == (FILE, None, None)
    assert "empty" in exc.message
    assert str(exc).startswith(FILE)


@pytest.mark.parametrize("column", COLUMNS)
def test_missing_column_is_error_naming_header_row_and_column(column: str) -> None:
    header = ",".join(c for c in COLUMNS if c != column)
    with pytest.raises(TreatyRecordError) as info:
        parse_actions(header + "\n", FILE)
    exc = info.value
    assert (exc.file, exc.row, exc.field) == (FILE, 1, column)
    assert "missing column" in exc.message
    assert HEADER in exc.message
    assert str(exc).startswith(f"{FILE}, row 1, field '{column}'")


def test_unknown_column_is_error_naming_header_row_and_column() -> None:
    with pytest.raises(TreatyRecordError) as info:
        parse_actions(record(header=HEADER + ",remarks"), FILE)
    exc = info.value
    assert (exc.file, exc.row, exc.field) == (FILE, 1, "remarks")
    assert "unknown column" in exc.message


# --- row errors ------------------------------------------------------------------------------


def test_empty_participant_is_error() -> None:
    exc = bad_row(",FR,signature,2025-10-25,yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "participant")
    assert "empty" in exc.message


@pytest.mark.parametrize("code", ["XX", "DEU", "276", "", "E U", "UN"])
def test_bad_code_is_error(code: str) -> None:
    exc = bad_row(f"Somewhere,{code},signature,2025-10-25,yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "code")
    assert "ISO 3166-1 alpha-2" in exc.message
    assert f"'{code.strip()}'" in exc.message
    assert str(exc).startswith(f"{FILE}, row 3, field 'code'")


@pytest.mark.parametrize("code", ["de", "De", "eu"])
def test_lowercase_code_is_error(code: str) -> None:
    """'de' and 'DE' would otherwise be two participants, one of them named 'de'."""
    exc = bad_row(f"Germany,{code},ratification,2026-01-05,yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "code")
    assert f"'{code}'" in exc.message


@pytest.mark.parametrize("action", ["ratify", "Signature", "withdrawal", ""])
def test_bad_action_is_error_listing_actions(action: str) -> None:
    exc = bad_row(f"France,FR,{action},2025-10-25,yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "action")
    assert "not a treaty action" in exc.message
    for kind in ActionKind:
        assert kind.value in exc.message


@pytest.mark.parametrize("confirmed", ["maybe", "Yes", "true", "1", ""])
def test_bad_confirmed_is_error(confirmed: str) -> None:
    exc = bad_row(f"France,FR,signature,2025-10-25,{confirmed},https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "confirmed")
    assert "yes or no" in exc.message


@pytest.mark.parametrize(
    "when", ["25/10/2025", "2025-13-01", "2025-02-30", "2025-1-5", "October 25, 2025", "soon"]
)
def test_bad_date_format_is_error(when: str) -> None:
    exc = bad_row(f'France,FR,signature,"{when}",yes,https://example.org/test,')
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "date")
    assert "YYYY-MM-DD" in exc.message
    assert when in exc.message


@pytest.mark.parametrize("when", ["20251025", "2025-W43-6", "2025-298", "+2025-10-25"])
def test_date_in_other_iso_forms_is_error(when: str) -> None:
    """date.fromisoformat takes these since Python 3.11; the record must say YYYY-MM-DD."""
    exc = bad_row(f"France,FR,signature,{when},yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "date")
    assert "YYYY-MM-DD" in exc.message


def test_confirmed_row_without_date_is_error() -> None:
    exc = bad_row("France,FR,signature,,yes,https://example.org/test,")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "date")
    assert "confirmed" in exc.message
    assert "needs its date" in exc.message


def test_unconfirmed_row_without_date_is_accepted() -> None:
    [_, action] = parse_actions(record("France,FR,signature,,no,https://example.org/test,"), FILE)
    assert action.date is None
    assert action.confirmed is False


@pytest.mark.parametrize(
    "source", ["", "example.org/test", "ftp://example.org/test", "www.un.org", "HTTPS//x"]
)
def test_missing_or_non_http_source_is_error(source: str) -> None:
    exc = bad_row(f"France,FR,signature,2025-10-25,yes,{source},")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "source")
    assert "source" in exc.message
    assert "http(s)" in exc.message


def test_row_with_too_many_values_is_error() -> None:
    exc = bad_row("France,FR,signature,2025-10-25,yes,https://example.org/test,note,extra")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, None)
    assert "more values than columns" in exc.message
    assert "quote" in exc.message
    assert str(exc).startswith(f"{FILE}, row 3:")


def test_unquoted_comma_in_note_is_too_many_values() -> None:
    exc = bad_row("France,FR,signature,2025-10-25,yes,https://example.org/test,Hanoi, Viet Nam")
    assert (exc.row, exc.field) == (3, None)


def test_row_with_too_few_values_names_first_empty_required_field() -> None:
    exc = bad_row("France,FR,signature,2025-10-25,yes")
    assert (exc.file, exc.row, exc.field) == (FILE, 3, "source")


def test_error_row_is_the_line_of_the_bad_row() -> None:
    text = record(
        "France,FR,signature,2025-10-25,yes,https://example.org/test,",
        "Spain,ES,signature,2025-10-25,yes,https://example.org/test,",
        "Italy,IT,signature,2025-10-25,perhaps,https://example.org/test,",
    )
    with pytest.raises(TreatyRecordError) as info:
        parse_actions(text, FILE)
    assert (info.value.row, info.value.field) == (5, "confirmed")


# --- the packaged record ---------------------------------------------------------------------


def test_packaged_record_parses() -> None:
    actions = packaged_actions()
    assert len(actions) > 70
    assert all(a.file == PACKAGED_RECORD for a in actions)
    assert [a.row for a in actions] == list(range(2, len(actions) + 2))
    assert all(a.source.startswith(("http://", "https://")) for a in actions)


def test_packaged_record_has_the_eu_as_signatory() -> None:
    eu = [a for a in packaged_actions() if a.code == "EU"]
    assert len(eu) == 1
    assert eu[0].action is ActionKind.SIGNATURE
    assert eu[0].participant == "European Union"
    assert eu[0].date == date(2025, 10, 25)
    assert eu[0].confirmed is True


def test_packaged_record_unconfirmed_rows() -> None:
    unconfirmed = {(a.code, a.action): a for a in packaged_actions() if not a.confirmed}
    assert set(unconfirmed) == {
        ("AE", ActionKind.SIGNATURE),
        ("AZ", ActionKind.RATIFICATION),
        ("QA", ActionKind.RATIFICATION),  # reported in 2026, no primary source found
        ("VN", ActionKind.RATIFICATION),
        ("CA", ActionKind.SIGNATURE),
    }
    assert all(a.date is None for a in unconfirmed.values())


def test_packaged_record_has_no_confirmed_instrument() -> None:
    """Never invent a ratification: the instruments on record are reported, unconfirmed."""
    instruments = [a for a in packaged_actions() if a.action.is_instrument]
    assert [(a.code, a.confirmed) for a in instruments] == [
        ("AZ", False),
        ("QA", False),
        ("VN", False),
    ]


def test_action_kind_properties() -> None:
    assert {k for k in ActionKind if k.is_instrument} == {
        ActionKind.RATIFICATION,
        ActionKind.ACCEPTANCE,
        ActionKind.APPROVAL,
        ActionKind.ACCESSION,
    }
    assert {k for k in ActionKind if k.needs_signature} == {
        ActionKind.RATIFICATION,
        ActionKind.ACCEPTANCE,
        ActionKind.APPROVAL,
    }
