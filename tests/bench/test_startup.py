"""`hanoinet bench startup`: its shape and its measuring, never its figures."""

from __future__ import annotations

import json
import sys

from typer.testing import CliRunner

from hanoinet.bench import startup
from hanoinet.cli.main import app


def test_measure_reads_a_childs_own_memory_not_the_parents() -> None:
    # This test process has imported the whole CLI; a bare interpreter is far smaller,
    # and the measure must say so (the kernel counts the parent's memory up to exec).
    figures = startup.measure([sys.executable, "-c", "pass"], runs=2)
    assert figures["best_seconds"] > 0
    assert figures["max_rss_mib"] < 30


def test_measure_sees_memory_a_command_takes() -> None:
    big = startup.measure([sys.executable, "-c", "b = bytearray(80 * 2**20)"], runs=1)
    assert big["max_rss_mib"] > 80


def test_bench_startup_json_shape() -> None:
    result = CliRunner().invoke(app, ["bench", "startup", "--runs", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["benchmark"] == "startup" and data["runs"] == 1
    assert data["target_seconds"] == 0.3 and data["target_mib"] == 60.0
    assert data["reference"]["command"] == "python -c pass"
    commands = [r["command"] for r in data["results"]]
    assert commands == [
        "hanoinet --help",
        "hanoinet --version",
        "hanoinet treaty status",
        "hanoinet convention article 42",
        "hanoinet check FILE",
    ]
    for r in data["results"]:
        assert set(r) == {
            "command",
            "best_seconds",
            "best_cpu_seconds",
            "max_rss_mib",
            "meets_target",
        }
    assert data["meets_target"] == all(r["meets_target"] for r in data["results"])
    assert "date" in data["environment"]
