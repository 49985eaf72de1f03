"""The exchange benchmark runs two real nodes and reports what it claims to."""

from __future__ import annotations

from hanoinet.bench.exchange import run


def test_small_run_delivers_everything_and_reports_floors_and_latency() -> None:
    result = run(messages=10, rate=10.0, seconds=0.5)
    assert result["delivered"] == 10
    assert result["throughput_per_second"] > 0
    assert result["floor_crypto_per_second"] > 0 and result["floor_commits_per_second"] > 0
    latency = result["latency"]
    assert latency["count"] == 5 and latency["p99_ms"] is not None
    assert result["target_per_second"] == 1000
    assert result["receiver_processes"] == 2  # node B runs as `serve --workers 2` would
    assert result["sender_processes"] == 2  # node A as two `worker` processes


def test_one_receiver_process_delivers_everything_too() -> None:
    result = run(messages=5, rate=10.0, seconds=0.3, receivers=1, senders=1)
    assert result["delivered"] == 5 and result["receiver_processes"] == 1
