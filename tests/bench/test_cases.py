"""The cases benchmark runs real commands on SQLite (PostgreSQL is optional here)."""

from __future__ import annotations

from hanoinet.bench.cases import run


def test_run_on_sqlite_reports_p99_and_reference() -> None:
    result = run(cases=3, postgres_url=None)
    results = result["results"]
    assert isinstance(results, list) and len(results) == 2
    assert results[0]["name"] == "hanoinet case act (sqlite)"
    assert results[0]["calls"] == 3 * 6 - 2
    assert "p99_ms" in results[0] and "p99_ms" in results[1]


def test_unreachable_postgres_is_a_note_not_a_crash() -> None:
    result = run(cases=2, postgres_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    notes = result["notes"]
    assert isinstance(notes, list) and notes and "PostgreSQL not measured" in notes[0]
