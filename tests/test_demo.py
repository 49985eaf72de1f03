"""``make demo`` tours real commands; every step must succeed."""

from __future__ import annotations

import pytest

from hanoinet import demo


def test_demo_tour_runs_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() == 0
    out = capsys.readouterr().out
    for title, _args in demo.TOUR:
        assert title in out
    assert "That was the tour." in out
