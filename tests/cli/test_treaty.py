"""``hanoinet treaty``: the documented JSON shape, exit codes, and errors that name the row."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hanoinet.cli.main import app

runner = CliRunner()
HEADER = "participant,code,action,date,confirmed,source,note\n"
SRC = "https://example.org/record"


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "actions.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_status_json_has_the_documented_keys() -> None:
    result = runner.invoke(app, ["treaty", "status", "--as-of", "2026-11-24", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "as_of",
        "signatories",
        "instruments_counted",
        "in_force",
        "entry_into_force",
        "signature_open",
        "parties",
    ):
        assert key in data
    assert data["as_of"] == "2026-11-24"
    assert data["signatories"] == 73
    assert data["instruments_counted"] == 0
    assert data["in_force"] is False
    assert data["entry_into_force"] is None
    assert data["signature_open"] is True
    assert data["parties"] == []
    unconfirmed = {(a["code"], a["action"]) for a in data["not_counted"]}
    assert unconfirmed == {
        ("AE", "signature"),
        ("AZ", "ratification"),
        ("QA", "ratification"),
        ("VN", "ratification"),
        ("CA", "signature"),
    }


def test_status_table_marks_unconfirmed_rows() -> None:
    result = runner.invoke(app, ["treaty", "status", "--as-of", "2026-11-24"])
    assert result.exit_code == 0
    assert "Signatories: 73" in result.stdout
    assert "United Arab Emirates (AE) signature date unknown — unconfirmed" in result.stdout


def test_status_from_events_file_with_parties(tmp_path: Path) -> None:
    rows = [
        f"State {i},{code},signature,2025-10-25,yes,{SRC}," for i, code in enumerate(["FR", "DE"])
    ]
    rows += [
        f"State 0,FR,ratification,2026-03-01,yes,{SRC},",
        f"State 1,DE,acceptance,2026-04-01,yes,{SRC},",
    ]
    result = runner.invoke(
        app,
        [
            "treaty",
            "status",
            "--as-of",
            "2026-06-01",
            "--json",
            "--events",
            str(_csv(tmp_path, rows)),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["instruments_counted"] == 2
    assert [
        (p["code"], p["instrument"], p["deposit"], p["in_force_for_party"]) for p in data["parties"]
    ] == [
        ("FR", "ratification", "2026-03-01", None),
        ("DE", "acceptance", "2026-04-01", None),
    ]


def test_bad_row_exits_2_with_file_row_and_field(tmp_path: Path) -> None:
    path = _csv(tmp_path, [f"France,FR,signature,2027-01-15,yes,{SRC},"])
    result = runner.invoke(app, ["treaty", "status", "--events", str(path)])
    assert result.exit_code == 2
    assert f"{path}, row 2, field 'date'" in result.stderr
    assert "art. 64" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_events_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["treaty", "status", "--events", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_bad_as_of_exits_2() -> None:
    result = runner.invoke(app, ["treaty", "status", "--as-of", "24/11/2026"])
    assert result.exit_code == 2
    assert "--as-of '24/11/2026' is not a date; write it as YYYY-MM-DD" in result.stderr


def test_state_by_name_json() -> None:
    result = runner.invoke(app, ["treaty", "state", "Viet Nam", "--as-of", "2026-11-24", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["code"] == "VN"
    assert data["signed"] == "2025-10-25"
    for key in ("instrument", "deposit", "in_force_for_party", "denunciation_effective"):
        assert data[key] is None
    assert data["names"]["fr"] == "Viêt Nam"


def test_state_shows_unconfirmed_actions_marked() -> None:
    result = runner.invoke(app, ["treaty", "state", "AZ", "--as-of", "2026-11-24"])
    assert result.exit_code == 0
    assert "ratification date unknown [unconfirmed]" in result.stdout


def test_state_unknown_name_suggests() -> None:
    result = runner.invoke(app, ["treaty", "state", "Frnace"])
    assert result.exit_code == 2
    assert "did you mean: France (FR)" in result.stderr


def test_state_without_actions() -> None:
    result = runner.invoke(app, ["treaty", "state", "Germany", "--as-of", "2026-11-24", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["code"], data["state"], data["actions"]) == ("DE", "none", [])


def test_state_shows_reservations_and_declarations_with_their_source() -> None:
    """42(4): Borealis (demo) made the reservation; the text names its article, marked while
    hanoinet's data has not verified that paragraph number, and its invented source."""
    result = runner.invoke(app, ["treaty", "state", "XB", "--as-of", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert "Reservations and declarations:" in result.stdout
    assert (
        "- reservation under art. 42(4) (para. number unconfirmed), 2026-11-02 [illustrative]: "
        "Borealis reserves the right to refuse" in result.stdout
    )
    assert "source: Illustrative: invented for the demo" in result.stdout
    data = json.loads(
        runner.invoke(app, ["treaty", "state", "XA", "--as-of", "2026-11-24", "--json"]).stdout
    )
    [declaration] = data["reservations"]
    assert declaration["kind"] == "declaration" and declaration["article"] == "40(14)"
    assert declaration["article_verified"] is False and declaration["illustrative"] is True
    assert declaration["date"] == "2026-11-02" and declaration["source"].startswith("Illustrative")


def test_state_of_a_real_state_has_no_reservation_on_record() -> None:
    # The real designations hold none: hanoinet never invents a State's reservation.
    text = runner.invoke(app, ["treaty", "state", "VN", "--as-of", "2026-11-24"]).stdout
    assert "Reservations and declarations: none on record" in text
    data = json.loads(
        runner.invoke(app, ["treaty", "state", "VN", "--as-of", "2026-11-24", "--json"]).stdout
    )
    assert data["reservations"] == []
