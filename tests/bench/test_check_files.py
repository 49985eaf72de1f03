"""The check-files benchmark writes varied files, runs the real command and reports all three
measures beside each other."""

from __future__ import annotations

import json

from hanoinet.bench.check_files import run, texts


def test_texts_differ_and_some_are_not_requests() -> None:
    made = texts(200)
    assert len(set(made)) == 200
    kinds = set()
    for text in made:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {"kind": "not JSON"}
        kinds.add(parsed.get("kind") if isinstance(parsed, dict) else "not an object")
    assert "not JSON" in kinds and {"preservation", "stored_data", "extradition"} <= kinds


def test_run_times_the_command_in_a_subprocess_and_in_process() -> None:
    result = run(files=30, runs=1)
    names = [r["name"] for r in result["results"]]  # type: ignore[union-attr]
    assert "subprocess" in names[0] and "this process" in names[1]
    assert names[2].startswith("reference")
    assert result["files"] == 30 and result["target_requests_per_second"] == 5000
    assert isinstance(result["meets_target"], bool)
    # the target is judged on the files past the first, the start-up (one file) taken out
    past = result["beyond_startup_requests_per_second"]
    assert result["meets_target"] == (past >= 5000)
    assert result["startup_seconds"] > 0
