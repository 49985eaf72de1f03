"""The treaty benchmark measures what it says: same input, same answer, both sides."""

from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from hanoinet.bench.treaty import reference_fortieth, run, synthetic_record
from hanoinet.cli.main import app
from hanoinet.registry import treaty_status


def test_synthetic_record_is_valid_and_reference_agrees_with_engine_without_denunciations() -> None:
    actions = [a for a in synthetic_record() if a.action.value != "denunciation"]
    status = treaty_status(actions, date(2032, 1, 1))
    assert status.fortieth_deposit == reference_fortieth(actions)


def test_run_reports_both_sides() -> None:
    result = run(calls=2)
    names = [r["name"] for r in result["results"]]  # type: ignore[union-attr]
    assert names[0].startswith("hanoinet") and names[1].startswith("reference")
    assert result["rows"] == len(synthetic_record())


def test_bench_command_json() -> None:
    out = CliRunner().invoke(app, ["bench", "treaty", "--calls", "1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["benchmark"] == "treaty" and data["environment"]["python"]
    assert CliRunner().invoke(app, ["bench", "treaty", "--calls", "0"]).exit_code == 2
