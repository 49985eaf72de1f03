from __future__ import annotations

from datetime import date

import pytest

from hanoinet.isodate import parse_day


def test_calendar_form_parses() -> None:
    assert parse_day("2026-12-31") == date(2026, 12, 31)


@pytest.mark.parametrize(
    "text", ["20261231", "2026-W53-4", "2026-12-31T00:00", " 2026-12-31", "2026-02-30"]
)
def test_other_forms_and_impossible_days_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_day(text)
