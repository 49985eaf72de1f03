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
    assert len(kinds) == 18  # 17 forms of cooperation and the 22(5) consultation
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
    assert "WARNING (65(1))" in result.stdout  # verified: no mark
    assert "INFO    (42(3), para. number unconfirmed) at /offences" in result.stdout
    assert "ready to send" in result.stdout


def test_check_json_shape() -> None:
    result = runner.invoke(app, ["check", str(EXAMPLE), "--as-of", "2026-11-24", "--json"])
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "kind", "as_of", "findings"}
    for finding in data["findings"]:
        assert set(finding) == {
            "code",
            "severity",
            "article",
            "article_verified",
            "basis",
            "field",
            "message",
        }


def test_check_reads_a_byte_order_mark_and_escapes_direction_controls(tmp_path: Path) -> None:
    """A file saved "UTF-8 with BOM" is read; a right-to-left override in a field name is
    shown as an escape in the plain report, so the line reads as written."""
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["requesting_authority"]["n\u202eame"] = "x"
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(document).encode())
    result = runner.invoke(app, ["check", str(path), "--as-of", "2026-11-24"])
    assert result.exit_code == 1, result.output
    assert "\u202e" not in result.stdout
    assert (
        "(42(2)(a), para. number unconfirmed) at /requesting_authority/n\\u202Eame: "
        in result.stdout
    )


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


def _folder(tmp_path: Path) -> Path:
    """Two requests that pass, one with errors, one that is not JSON."""
    folder = tmp_path / "requests"
    folder.mkdir()
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    (folder / "a.json").write_text(json.dumps(document), encoding="utf-8")
    (folder / "b.json").write_text(
        json.dumps(dict(document, facts_summary="Other facts")), encoding="utf-8"
    )
    blank = runner.invoke(app, ["request", "template", "stored_data"]).stdout
    (folder / "c.json").write_text(blank, encoding="utf-8")
    (folder / "d.json").write_text("{not json", encoding="utf-8")
    (folder / "notes.txt").write_text("not a request file", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "e.json").write_text("{}", encoding="utf-8")
    return folder


def _lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_check_a_folder_json_lines_every_file_then_a_summary(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["check", str(folder), "--as-of", "2026-11-24", "--json"])
    assert result.exit_code == 2  # a file is not a request: 2 wins over 1
    lines = _lines(result.stdout)
    files = [line["file"] for line in lines[:-1]]
    assert files == [str(folder / n) for n in ("a.json", "b.json", "c.json", "d.json")]
    for line in lines[:-1]:
        assert set(line) == {"file", "ok", "kind", "as_of", "findings", "not_a_request"}
    assert [line["ok"] for line in lines[:-1]] == [True, True, False, False]
    assert lines[2]["kind"] == "stored_data" and lines[2]["not_a_request"] is None
    assert "is not JSON" in str(lines[3]["not_a_request"]) and lines[3]["kind"] is None
    assert lines[-1] == {
        "summary": {
            "files": 4,
            "pass": 2,
            "with_errors": 1,
            "not_requests": 1,
            "as_of": "2026-11-24",
        }
    }


def test_check_several_files_text_each_headed_by_its_name_and_a_summary(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    names = [str(folder / n) for n in ("a.json", "c.json", "b.json")]
    result = runner.invoke(app, ["check", *names, "--as-of", "2026-11-24"])
    assert result.exit_code == 1  # one has errors, all are requests
    out = result.stdout
    assert out.index(f"{names[0]}: ") < out.index(f"{names[1]}: ") < out.index(f"{names[2]}: ")
    assert "not ready" in out and "ERROR   (40(15)(a), para. number unconfirmed)" in out
    assert out.splitlines()[-1] == "3 files: 2 pass, 1 with errors, 0 not requests"


def test_check_several_passing_files_exit_0(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    result = runner.invoke(app, ["check", str(folder / "a.json"), str(folder / "b.json"), "--json"])
    assert result.exit_code == 0, result.output
    assert _lines(result.stdout)[-1]["summary"]["pass"] == 2  # type: ignore[index]


def test_check_a_missing_file_among_others_exits_2_naming_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    missing = folder / "gone.json"
    result = runner.invoke(app, ["check", str(folder / "a.json"), str(missing)])
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.stdout
    assert result.stdout.splitlines()[-1] == "2 files: 1 pass, 0 with errors, 1 not a request"
    alone = runner.invoke(app, ["check", str(missing)])
    assert alone.exit_code == 2 and f"FILE {missing}: no such file" in alone.stderr


def test_check_a_huge_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    huge = folder / "huge.json"
    with huge.open("wb") as out:  # sparse: 3 GB announced, nothing to parse
        out.truncate(3_000_000_000)
    result = runner.invoke(app, ["check", str(folder), "--json"])
    assert result.exit_code == 2
    refused = next(line for line in _lines(result.stdout) if line.get("file") == str(huge))
    assert "is 3,000,000,000 bytes" in str(refused["not_a_request"])
    assert "at most 524,288" in str(refused["not_a_request"])
    alone = runner.invoke(app, ["check", str(huge)])
    assert alone.exit_code == 2 and "is 3,000,000,000 bytes" in alone.stderr


def test_check_a_folder_without_requests_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2 and "no *.json file" in result.stderr
