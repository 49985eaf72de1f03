"""The statistics benchmark runs on SQLite (PostgreSQL is optional here) with a small history."""

from __future__ import annotations

from hanoinet.bench.stats import run


def test_run_on_sqlite_times_stats_beside_the_reference() -> None:
    result = run(n_events=3000, postgres_url=None, calls=1)
    names = [r["name"] for r in result["results"]]
    assert names == ["hanoinet stats (sqlite)", "reference: bare aggregate query (sqlite)"]
    assert result["seeding"][0]["events"] >= 3000
    assert isinstance(result["meets_target"], bool) and result["target_seconds"] == 2.0


def test_unreachable_postgres_is_a_note_not_a_crash() -> None:
    result = run(n_events=500, postgres_url="postgresql+psycopg://nobody@127.0.0.1:1/none", calls=1)
    assert "PostgreSQL not measured" in result["notes"][0]
