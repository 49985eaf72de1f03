"""The evidence benchmark runs both sides on the same file and reports what it measured.

These tests run Debian's ``age`` (the reference): ``make test`` installs it
(scripts/ensure-chromium). They never assert on speed.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hanoinet.bench import evidence
from hanoinet.cli.bench import _print_evidence
from hanoinet.cli.main import app
from hanoinet.errors import InvalidInput, MissingTool
from hanoinet.evidence import package

AT = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def age_installed() -> None:
    if shutil.which("age") is None:
        pytest.fail(
            "bench evidence runs Debian's age as its reference and it is not on PATH: "
            "install it with `sudo apt-get install age` (`make test` does, via scripts/ensure-chromium)"
        )


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bench-evidence")
    out = CliRunner().invoke(
        app,
        ["bench", "evidence", "--size", "2M", "--repeat", "2", "--dir", str(folder), "--json"],
    )
    assert out.exit_code == 0, out.output
    assert list(folder.iterdir()) == [], "the benchmark left files behind"
    data: dict[str, Any] = json.loads(out.stdout)
    return data


@pytest.mark.parametrize(
    ("text", "size"),
    [("2M", 2 << 20), ("100m", 100 << 20), ("512K", 512 << 10), ("2G", 2 << 30), ("123", 123)],
)
def test_sizes_are_binary_units(text: str, size: int) -> None:
    assert evidence.parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("12Q", "is not a size"),
        ("-1M", "is not a size"),
        ("1.5G", "is not a size"),
        ("", "is not a size"),
        ("0", "at least one byte"),
        ("0G", "at least one byte"),
    ],
)
def test_bad_sizes_are_refused_saying_what_to_write(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        evidence.parse_size(text)
    assert words in caught.value.message and "--size" in caught.value.message
    assert "100M" in caught.value.message


def test_the_command_refuses_a_bad_size_with_one_line() -> None:
    out = CliRunner().invoke(app, ["bench", "evidence", "--size", "12Q"])
    assert out.exit_code == 2
    assert "error:" in out.output and "'12Q' is not a size" in out.output


def test_the_command_refuses_zero_rounds_and_a_missing_folder(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["bench", "evidence", "--size", "1M", "--repeat", "0"])
    assert out.exit_code == 2 and "--repeat" in out.output
    missing = tmp_path / "nowhere"
    out = CliRunner().invoke(app, ["bench", "evidence", "--size", "1M", "--dir", str(missing)])
    assert out.exit_code == 2 and "is not a folder" in out.output


def test_missing_age_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a PATH with the coreutils the benchmark runs, and no age
    for tool in ("sha256sum", "cat"):
        found = shutil.which(tool)
        assert found is not None
        (tmp_path / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingTool) as caught:
        evidence.find_tools()
    assert "`age` is not installed" in caught.value.message
    assert "apt-get install age" in caught.value.message
    out = CliRunner().invoke(app, ["bench", "evidence", "--size", "1M"])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "apt-get install age" in lines[0]


def test_json_shape(result: dict[str, Any]) -> None:
    assert result["benchmark"] == "evidence"
    assert result["size"] == "2M" and result["bytes"] == 2 << 20 and result["repeat"] == 2
    assert result["package_bytes"] > result["bytes"]  # the tags and age's framing
    assert result["tools"]["age"] and result["tools"]["sha256sum"]
    assert [s["name"] for s in result["steps"]] == ["pack + encrypt", "decrypt + verify"]
    for step in result["steps"]:
        assert set(step) == {"name", "ours", "reference", "ratio", "target_ratio", "meets_target"}
        assert {"name", "seconds", "runs", "mb_per_second", "process_seconds"} <= set(step["ours"])
        assert {"name", "seconds", "runs", "mb_per_second"} <= set(step["reference"])
    assert set(result["memory"]) == {"target_mib", "pack", "verify", "meets_target"}
    for side in ("pack", "verify"):
        assert set(result["memory"][side]) == {
            "peak_rss_mib",
            "baseline_rss_mib",
            "ours_mib",
            "meets_target",
        }
    assert set(result["case_validation"]) == {"name", "seconds", "conforms", "peak_rss_mib"}
    assert isinstance(result["meets_target"], bool)
    assert result["environment"]["python"] and result["notes"]


def test_verify_ran_and_passed_and_case_was_validated_apart(result: dict[str, Any]) -> None:
    assert result["verified"] is True
    assert result["case_validation"]["conforms"] is True
    assert any("fixed cost" in note for note in result["notes"])


def test_figures_are_computed_from_the_timings(result: dict[str, Any]) -> None:
    size = result["bytes"]
    for step in result["steps"]:
        ours, ref = step["ours"], step["reference"]
        for side in (ours, ref):
            assert len(side["runs"]) == 2 and side["seconds"] == min(side["runs"]) > 0
            assert side["mb_per_second"] == round(size / 1e6 / side["seconds"], 1)
        assert step["ratio"] == round(ours["seconds"] / ref["seconds"], 3)
        assert step["meets_target"] == (step["ratio"] <= step["target_ratio"])
        assert ours["process_seconds"] >= ours["seconds"]  # start and imports on top
    memory = result["memory"]
    for side in ("pack", "verify"):
        m = memory[side]
        assert 0 < m["baseline_rss_mib"] <= m["peak_rss_mib"]
        assert m["meets_target"] == (m["peak_rss_mib"] <= memory["target_mib"])
        assert m["ours_mib"] == pytest.approx(m["peak_rss_mib"] - m["baseline_rss_mib"], abs=0.11)
    assert memory["meets_target"] == (
        memory["pack"]["meets_target"] and memory["verify"]["meets_target"]
    )
    assert result["meets_target"] == (
        all(s["meets_target"] for s in result["steps"]) and memory["meets_target"]
    )


def test_peak_rss_is_the_childs_own_not_the_benchmarks(result: dict[str, Any]) -> None:
    """The CLI process holds well over 64 MiB; a child spawned from it directly would
    report that whatever it used (Linux keeps the pre-exec peak)."""
    assert result["memory"]["pack"]["baseline_rss_mib"] < 100


def test_the_table_says_what_was_measured(
    result: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _print_evidence(result)
    text = capsys.readouterr().out
    assert "pack + encrypt" in text and "decrypt + verify" in text
    assert "sha256sum FILE; age -r KEY -o OUT FILE" in text
    assert "age -d -i IDENTITY PKG | sha256sum" in text
    assert "CASE/UCO validation" in text and "not in decrypt + verify" in text
    assert "peak RSS: pack" in text and "64 MiB" in text


def test_verify_without_case_is_ok_and_still_says_case_was_not_checked(tmp_path: Path) -> None:
    """What the benchmark relies on: validate_case=False waives only that check."""
    evidence._prepare(tmp_path, AT)
    file = tmp_path / "evidence.bin"
    file.write_bytes(os.urandom(4096))
    evidence._pack(tmp_path, file, tmp_path / "package.age")
    outcome = evidence._verify(tmp_path, tmp_path / "package.age")
    assert outcome["ok"] is True
    statuses = {c["check"]: c["status"] for c in outcome["checks"]}
    assert statuses.pop("CASE/UCO") == "not_checked"
    assert set(statuses.values()) == {"passed"}


def test_a_check_not_asked_for_does_not_fail_a_verification_but_a_failure_does() -> None:
    passed = [package.Check(n, "passed", "") for n in ("decrypt", "signature", "payload")]
    case = package.Check("CASE/UCO", "not_checked", "CASE validation was not asked for")
    assert package.Verification("p", [*passed, case]).ok
    failed = package.Check("payload", "failed", "hash mismatch")
    assert not package.Verification("p", [*passed[:2], failed, case]).ok
    problem = package.BagError("hash_mismatch", "data/x", "changed")
    assert not package.Verification("p", [*passed, case], [problem]).ok


def test_a_failing_child_or_reference_stops_the_benchmark(tmp_path: Path) -> None:
    evidence._prepare(tmp_path, AT)
    with pytest.raises(evidence.BenchFailed, match="the pack child process failed") as caught:
        evidence._run_child("pack", tmp_path, tmp_path / "no-such-file", tmp_path / "out.age")
    assert "no-such-file" in str(caught.value)  # the child's error is shown
    not_age = tmp_path / "not-age.age"
    not_age.write_bytes(b"not an age file")
    with pytest.raises(evidence.BenchFailed, match="age -d"):
        evidence._reference_verify(evidence.find_tools(), not_age, tmp_path / "identity.txt")
