"""``hanoinet request``, ``schema`` and ``check``: exit codes 0/1/2 and the JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hanoinet.cli.main import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"


def test_kinds_json_lists_every_form_with_its_article() -> None:
    result = runner.invoke(app, ["request", "kinds", "--json"])
    assert result.exit_code == 0
    kinds = {k["key"]: k for k in json.loads(result.stdout)["kinds"]}
    assert len(kinds) == 17
    assert kinds["preservation"]["article"] == "42"
    assert kinds["extradition"]["dual_criminality"] == "required"


def test_template_then_check_reports_missing_contents(tmp_path: Path) -> None:
    result = runner.invoke(app, ["request", "template", "stored_data"])
    assert result.exit_code == 0
    path = tmp_path / "blank.json"
    path.write_text(result.stdout, encoding="utf-8")
    checked = runner.invoke(app, ["check", str(path), "--as-of", "2026-11-24", "--json"])
    assert checked.exit_code == 1
    data = json.loads(checked.stdout)
    assert data["ok"] is False and data["kind"] == "stored_data"
    articles = {f["article"] for f in data["findings"] if f["severity"] == "error"}
    assert {"40(15)(a)", "40(15)(b)", "40(15)(c)", "40(15)(d)", "40(15)(f)"} <= articles


def test_unknown_template_kind_exits_2() -> None:
    result = runner.invoke(app, ["request", "template", "wiretap"])
    assert result.exit_code == 2
    assert "preservation" in result.stderr


def test_check_example_is_ready_with_a_basis_warning() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLE), "--as-of", "2026-11-24"])
    assert result.exit_code == 0, result.output
    assert "WARNING (65(1))" in result.stdout
    assert "ready to send" in result.stdout


def test_check_json_shape() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLE), "--as-of", "2026-11-24", "--json"])
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "kind", "as_of", "findings"}
    for finding in data["findings"]:
        assert set(finding) == {"code", "severity", "article", "field", "message"}


def test_check_not_a_request_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "is not JSON" in result.stderr and "line 1" in result.stderr
    path.write_text('{"kind": "wiretap"}', encoding="utf-8")
    assert runner.invoke(app, ["check", str(path)]).exit_code == 2


def test_check_a_document_too_large_exits_2_naming_the_field_and_the_limit(
    tmp_path: Path,
) -> None:
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["facts_summary"] = "x" * 20_000_000
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert f"{path} is 20,00" in result.stderr and "at most 524,288" in result.stderr
    document["facts_summary"] = "x" * 50_001
    path.write_text(json.dumps(document), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "/facts_summary has 50,001 characters; at most 50,000" in result.stderr


def test_schema_is_json_schema_with_kinds() -> None:
    result = runner.invoke(app, ["schema", "request"])
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "preservation" in schema["properties"]["kind"]["enum"]
