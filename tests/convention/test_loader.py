"""A broken data file fails loudly with file, line and reason."""

from __future__ import annotations

import json
from importlib import resources

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


def test_the_parsed_copy_holds_every_packaged_yaml_file_as_it_is_now() -> None:
    """parsed.json is current: regenerate it with ``python -m hanoinet.convention``."""
    from hanoinet.convention import loader

    current = json.loads(
        resources.files("hanoinet.convention").joinpath(loader.PARSED).read_text("utf-8")
    )
    assert current == loader.parsed_copy(), "run: .venv/bin/python -m hanoinet.convention"
    assert len(current) == len(loader.packaged_yaml()) >= 14


def test_a_text_the_parsed_copy_does_not_hold_is_read_as_yaml_and_errors_keep_their_line() -> None:
    from hanoinet.convention import loader

    text = resources.files("hanoinet.convention.data").joinpath("periods.yaml").read_text("utf-8")
    packaged = loader.load_text(PeriodsFile, text, "periods.yaml")
    edited = loader.load_text(PeriodsFile, text + "\n", "periods.yaml")  # not in the copy
    assert edited == packaged
    broken = text.replace("value: 90", "value: ninety", 1)
    assert broken != text
    with pytest.raises(ConventionDataError, match=r"periods.yaml:(\d+)") as caught:
        loader.load_text(PeriodsFile, broken, "periods.yaml")
    assert f"periods.yaml:{text[: text.index('value: 90')].count(chr(10)) + 1}" in str(caught.value)
    # A text the copy holds, validated into the wrong model, is reported from the YAML too.
    with pytest.raises(ConventionDataError, match=r"periods.yaml:\d+: .*provisions"):
        loader.load_text(ProvisionsFile, text, "periods.yaml")
