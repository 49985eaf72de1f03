"""``bench door`` prints one JSON object on stdout (the demo's narration goes elsewhere), with
every body refused and the health route timed beside its reference."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_door_json_is_clean_and_counts_every_refusal() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hanoinet",
            "bench",
            "door",
            "--posts",
            "1",
            "--streams",
            "0",
            "--calls",
            "5",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["routes"] >= 18
    assert result["refused_413"] + result["reset_before_answer"] == result["routes"]
    assert result["answered_otherwise"] == [] and result["health_failures"] == 0
    assert result["health"]["reference"]["calls"] == 5
    assert result["health"]["under_attack"]["calls"] == result["routes"]
    assert set(result["rss_mib"]) == {"baseline", "peak", "growth"}
    assert result["target"] == {"health_max_ms": 100.0, "rss_growth_mib": 50.0}
    assert isinstance(result["meets_target"], bool) and "environment" in result
