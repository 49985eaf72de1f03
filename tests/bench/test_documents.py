"""The documents benchmark makes real signed documents in fresh processes, beside bare
Typst compile of the same template and data, and reports each figure; it never asserts on speed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from hanoinet.bench import documents
from hanoinet.cli.main import app


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    out = CliRunner().invoke(
        app, ["bench", "documents", "--rounds", "2", "--processes", "2", "--json"]
    )
    assert out.exit_code == 0, out.output
    return dict(json.loads(out.stdout))


def test_every_figure_is_reported(result: dict[str, Any]) -> None:
    assert result["pages"] == 2  # the two-page request the target is set for
    assert set(result["single"]) == {"signed", "unsigned", "reference", "verify"}
    for timing in (*result["single"].values(), *result["languages"].values()):
        assert timing["calls"] >= 2 and timing["seconds"] > 0 and timing["per_second"] > 0
    assert set(result["languages"]) == set(documents.LANGS)
    assert result["parallel"]["processes"] == 2 and result["parallel"]["documents"] == 4
    assert result["target_per_second"] == documents.TARGET_PER_SECOND
    best = max(result["parallel"]["per_second"], result["single"]["signed"]["per_second"])
    assert result["meets_target"] == (best >= documents.TARGET_PER_SECOND)
    memory = result["memory"]
    assert 0 < memory["baseline_rss_mib"] <= memory["peak_rss_mib"]
    assert result["environment"]["machine"]


def test_the_text_report_names_the_reference() -> None:
    out = CliRunner().invoke(app, ["bench", "documents", "--rounds", "1", "--processes", "1"])
    assert out.exit_code == 0, out.output
    assert "bare Typst compile, the same template and data" in out.stdout
    assert "the target >= 20/s" in out.stdout and "peak RSS of one process" in out.stdout
