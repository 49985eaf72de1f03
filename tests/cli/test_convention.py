"""``hanoinet convention``: articles in six languages, and search."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hanoinet.cli.main import app

runner = CliRunner()


def test_article_json_in_french_marks_unofficial_translation() -> None:
    result = runner.invoke(app, ["convention", "article", "37", "--lang", "fr", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["number"] == 37
    assert data["title"] == "Extradition"
    assert data["title_status"] == "unofficial"
    assert data["chapter"]["number"] == "V"
    assert data["text_url"] == "https://docs.un.org/fr/A/RES/79/243"
    assert "extradition" in data["cooperation_forms"]
    assert set(data["titles"]) == {"en", "ar", "es", "fr", "ru", "zh"}


def test_article_in_arabic_official_title_has_source() -> None:
    result = runner.invoke(app, ["convention", "article", "7", "--lang", "ar", "--json"])
    data = json.loads(result.stdout)
    assert data["title_status"] == "official"
    assert data["title_source"].startswith("https://github.com/")


def test_article_text_marks_unconfirmed_paragraphs() -> None:
    result = runner.invoke(app, ["convention", "article", "42"])
    assert result.exit_code == 0
    assert "42(2)(c) [para. number unconfirmed]" in result.stdout
    assert "Period: 60 days" in result.stdout


def test_unknown_article_exits_2() -> None:
    result = runner.invoke(app, ["convention", "article", "71"])
    assert result.exit_code == 2
    assert "no article 71" in result.stderr and "1 to 68" in result.stderr


def test_unknown_language_exits_2() -> None:
    result = runner.invoke(app, ["convention", "article", "1", "--lang", "de"])
    assert result.exit_code == 2
    assert "en, ar, es, fr, ru, zh" in result.stderr


def test_search_json() -> None:
    result = runner.invoke(app, ["convention", "search", "preservation", "--json"])
    assert result.exit_code == 0
    keys = [h["key"] for h in json.loads(result.stdout)["hits"]]
    assert "42" in keys and "25" in keys


def test_search_nothing_found_says_so() -> None:
    result = runner.invoke(app, ["convention", "search", "zzzz"])
    assert result.exit_code == 0
    assert "Nothing" in result.stdout
