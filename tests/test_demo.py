"""``make demo``: three nodes on loopback, real processes and HTTP, the whole story."""

from __future__ import annotations

import pytest

from hanoinet import demo


def test_demo_story_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--exit"]) == 0
    out = capsys.readouterr().out
    for step in (
        "1. Emergency disclosure",
        "2. Expedited preservation",
        "3. The provider is in Caldera",
        "4. The follow-up request",
        "4b. The formal request follows each request",
        "5. The evidence",
        "6. Statistics for the Conference",
    ):
        assert step in out
    assert "Aurelia sees it executed" in out
    assert "Aurelia's node drafted a preservation request to Caldera" in out
    assert "preserved -> held" in out
    assert "message_delivered" in out
    assert "EV-xb-node-000001: delivered" in out  # packed, sent in chunks, verified, accepted
    assert "received from" in out or "incoming accepted" in out
    assert "Borealis received it, verified" in out and "VERIFIED:" in out  # the signed PDF
    assert "Caldera received it in French, verified" in out
    assert "Overview of 2 reports" in out and "/statistics" in out  # signed, verified, combined
