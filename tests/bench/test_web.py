"""The web benchmark seeds cases, logs in and times real pages and API calls; these runs are
small and never look at the time taken, only at what was measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hanoinet.bench import web as web_bench
from hanoinet.bench.web import BenchFailed, run

MEASURES = ["desk", "api_list", "reference_list", "reference_desk"]


def _check_shape(result: dict[str, Any], cases: int, databases: list[str]) -> None:
    assert result["benchmark"] == "web"
    assert result["cases"] == cases and result["calls"] == 3
    assert result["target_p99_ms"] == 100 and isinstance(result["meets_target"], bool)
    assert [s["database"] for s in result["seeding"]] == databases
    assert all(s["requests_in_database"] == cases for s in result["seeding"])
    results = result["results"]
    assert [(r["database"], r["measure"]) for r in results] == [
        (db, m) for db in databases for m in MEASURES
    ]
    for r in results:
        assert r["calls"] == 3 and r["database"] in r["name"]
        for key in ("per_call_ms", "p50_ms", "p99_ms", "peak_memory_kib"):
            assert isinstance(r[key], float) and r[key] >= 0
    for db in databases:
        rows = {r["measure"]: r["rows"] for r in results if r["database"] == db}
        assert rows["api_list"] == web_bench.PAGE  # the API's first page, full
        assert rows["reference_list"] == web_bench.PAGE + 1  # the list reads one more
        assert 0 < rows["desk"] <= rows["reference_desk"]  # the desk shows what it read
    assert any("illustrative" in note for note in result["notes"])


def test_run_on_sqlite_times_the_desk_the_list_and_their_selects() -> None:
    result = run(cases=300, postgres=None, calls=3)
    _check_shape(result, 300, ["sqlite"])
    assert [r["name"] for r in result["results"]] == [
        "GET /desk, the 24/7 desk page (sqlite)",
        "GET /api/v1/requests, first page (sqlite)",
        "reference: the list's SELECT alone (sqlite)",
        "reference: the desk's SELECT alone (sqlite)",
    ]


def test_run_on_postgresql_too(tmp_path: Path, store_factory: Any) -> None:
    # The conftest's rule: skipped when the server is unreachable, a failure in CI.
    with store_factory("postgresql", tmp_path) as store:
        base = store.engine.url.difference_update_query(["options"])
    lines: list[str] = []
    result = run(
        cases=120,
        postgres=base.render_as_string(hide_password=False),
        calls=3,
        progress=lines.append,
    )
    _check_shape(result, 120, ["sqlite", "postgresql"])
    assert lines[-1] == "seeding postgresql: 120 / 120 cases"


def test_progress_reports_the_seeding_by_tenths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_bench, "BATCH", 4)
    lines: list[str] = []
    run(cases=40, postgres=None, calls=1, progress=lines.append)
    assert lines[0] == "seeding sqlite: 4 / 40 cases"
    assert lines[-1] == "seeding sqlite: 40 / 40 cases" and len(lines) == 10


def test_unreachable_postgres_is_a_note_not_a_crash() -> None:
    result = run(cases=20, postgres="postgresql+psycopg://nobody@127.0.0.1:1/none", calls=1)
    notes = result["notes"]
    assert isinstance(notes, list) and any("PostgreSQL not measured" in n for n in notes)
    assert [s["database"] for s in result["seeding"]] == ["sqlite"]


def test_a_refused_call_stops_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing an error page would give fine figures for nothing: the bench checks each
    response it times and stops."""
    monkeypatch.setattr(web_bench, "_officer", lambda store, at: ("no-session", "hn_no-token"))
    with pytest.raises(BenchFailed, match="answered 401"):
        run(cases=20, postgres=None, calls=1)


def test_a_page_without_requests_stops_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_bench, "_REQUEST_LINK", web_bench.re.compile("never on a page"))
    with pytest.raises(BenchFailed, match="shows no request"):
        run(cases=20, postgres=None, calls=1)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run(cases=0, postgres=None, calls=1)


def test_command_prints_one_json_object_and_text() -> None:
    from typer.testing import CliRunner

    from hanoinet.cli.main import app

    runner = CliRunner()
    done = runner.invoke(
        app, ["bench", "web", "--cases", "60", "--calls", "2", "--postgres", "", "--json"]
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["benchmark"] == "web" and result["cases"] == 60
    assert {"python", "date"} <= set(result["environment"])
    assert "seeding" not in done.stderr  # progress only without --json
    text = runner.invoke(app, ["bench", "web", "--cases", "60", "--calls", "2", "--postgres", ""])
    assert text.exit_code == 0, text.output
    assert "GET /desk, the 24/7 desk page (sqlite)" in text.stdout
    assert "the target: p99 < 100 ms" in text.stdout
    assert "seeding sqlite: 60 / 60 cases" in text.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cases", "0"], "--cases must be at least 1"),
        (["--calls", "0"], "--calls must be at least 1"),
        (["--postgres", "sqlite:///x.db"], "is not a PostgreSQL URL"),
        (["--postgres", "not a url"], "is not a PostgreSQL URL"),
    ],
)
def test_command_refuses_bad_options(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from hanoinet.cli.main import app

    done = CliRunner().invoke(app, ["bench", "web", *args])
    assert done.exit_code == 2
    assert message in " ".join(done.stderr.split())
