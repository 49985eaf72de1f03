"""A broken data file fails loudly with file, line and reason."""

from __future__ import annotations

import pytest

from hanoinet.convention.loader import parse_yaml, validate
from hanoinet.convention.model import PeriodsFile, ProvisionsFile
from hanoinet.errors import ConventionDataError

GOOD = """\
periods:
  - {id: a, value: 60, unit: days, article: "42", text: "x"}
dates:
  - {id: adoption, date: "2024-12-24", article: "64", text: "y"}
"""


def test_valid_file_loads_into_frozen_objects() -> None:
    data = validate(PeriodsFile, parse_yaml(GOOD, "periods.yaml"), "periods.yaml")
    assert data.periods[0].value == 60
    with pytest.raises(Exception, match="frozen"):
        data.periods[0].value = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("value: 60", "value: sixty"), 2, "periods.0.value"),
        (GOOD.replace("unit: days", "unit: weeks"), 2, "periods.0.unit"),
        (GOOD.replace('text: "x"', 'text: "x", colour: red'), 2, "unknown key"),
        (GOOD.replace('"2024-12-24"', '"24/12/2024"'), 4, "dates.0.date"),
        (GOOD.replace('article: "42"', 'article: "42(2)(C)"'), 2, "not an article key"),
        (GOOD + "periods: []\n", 5, "duplicate key 'periods' (first given on line 1)"),
        (GOOD.replace("dates:", "dates: [", 1), 4, "not valid YAML"),
    ],
)
def test_broken_file_names_file_line_and_reason(text: str, line: int, words: str) -> None:
    with pytest.raises(ConventionDataError) as caught:
        validate(PeriodsFile, parse_yaml(text, "periods.yaml"), "periods.yaml")
    assert caught.value.file == "periods.yaml"
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"periods.yaml:{line}: ")


def test_missing_field_is_reported_at_the_item() -> None:
    text = 'provisions:\n  - key: "42(1)"\n    text: preserve\n'
    with pytest.raises(
        ConventionDataError, match=r"provisions.yaml:2: provisions.0.verified: Field required"
    ):
        validate(ProvisionsFile, parse_yaml(text, "provisions.yaml"), "provisions.yaml")
