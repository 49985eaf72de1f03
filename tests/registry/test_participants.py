"""Participants: ISO codes, CLDR names in the six UN languages, and name resolution."""

from __future__ import annotations

import pycountry
import pytest

from hanoinet.convention import LANGUAGES
from hanoinet.errors import UnknownParticipant
from hanoinet.registry.participants import REIOS, is_known_code, participant, resolve

SIX = ("en", "ar", "es", "fr", "ru", "zh")
CODES = sorted(c.alpha_2 for c in pycountry.countries)


@pytest.mark.parametrize("query", ["DE", "de", "De", " de ", "dE"])
def test_resolve_by_code_is_case_insensitive(query: str) -> None:
    assert resolve(query) == "DE"


@pytest.mark.parametrize("query", ["EU", "eu"])
def test_resolve_reio_code(query: str) -> None:
    assert resolve(query) == "EU"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("State of Palestine", "PS"),
        ("state of palestine", "PS"),
        ("  STATE OF PALESTINE ", "PS"),
        ("Democratic People's Republic of Korea", "KP"),
        ("Republic of Korea", "KR"),
    ],
)
def test_resolve_by_un_name_from_extra_names(query: str, code: str) -> None:
    extra = {
        "State of Palestine": "PS",
        "Democratic People's Republic of Korea": "KP",
        "Republic of Korea": "KR",
    }
    assert resolve(query, extra_names=extra) == code


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Germany", "DE"),
        ("germany", "DE"),
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Германия", "DE"),
        ("ألمانيا", "DE"),
        ("德国", "DE"),
        ("Viet Nam", "VN"),
        ("越南", "VN"),
        ("Royaume-Uni", "GB"),
        ("Chine", "CN"),
        ("中国", "CN"),
        ("European Union", "EU"),
        ("Union européenne", "EU"),
        ("union europeenne", "EU"),
        ("欧盟", "EU"),
    ],
)
def test_resolve_by_cldr_and_iso_names(query: str, code: str) -> None:
    assert resolve(query) == code


@pytest.mark.parametrize("lang", SIX)
@pytest.mark.parametrize("code", ["DE", "FR", "VN", "EU"])
def test_resolve_every_cldr_name_back_to_its_code(code: str, lang: str) -> None:
    assert resolve(participant(code).name(lang)) == code


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownParticipant) as info:
        resolve("Frnace")
    exc = info.value
    assert exc.query == "Frnace"
    assert "did you mean" in exc.message
    assert "France" in exc.message
    assert "France (FR)" in exc.suggestions
    assert len(exc.suggestions) <= 3


def test_unknown_name_suggestion_uses_extra_name_as_display() -> None:
    with pytest.raises(UnknownParticipant) as info:
        resolve("Stat of Palestine", extra_names={"State of Palestine": "PS"})
    assert "State of Palestine (PS)" in info.value.suggestions


def test_unknown_name_without_close_match_asks_for_a_code() -> None:
    with pytest.raises(UnknownParticipant) as info:
        resolve("qqqqqqqqqqqq")
    assert info.value.suggestions == []
    assert "ISO 3166" in info.value.message


def test_unknown_two_letter_code_is_unknown_participant() -> None:
    with pytest.raises(UnknownParticipant):
        resolve("QQ")


def test_participant_eu_is_reio() -> None:
    eu = participant("EU")
    assert eu.kind == "reio"
    assert eu.code == "EU"
    assert eu.name() == "European Union"
    assert set(REIOS) == {"EU"}


def test_participant_state() -> None:
    de = participant("DE")
    assert de.kind == "state"
    assert de.name() == "Germany"
    assert de.name("fr") == "Allemagne"
    assert de.name("zh") == "德国"


def test_participant_unknown_code_raises() -> None:
    with pytest.raises(UnknownParticipant):
        participant("XX")


def test_languages_are_the_six_un_languages() -> None:
    assert tuple(LANGUAGES) == SIX


@pytest.mark.parametrize("code", [*CODES, "EU"])
def test_names_exist_in_all_six_languages(code: str) -> None:
    names = participant(code).names
    assert set(names) == set(SIX)
    for lang in SIX:
        assert names[lang].strip()
        assert names[lang] != code, f"{code} has no CLDR name in {lang}"


def test_is_known_code() -> None:
    assert is_known_code("DE")
    assert is_known_code("EU")
    assert not is_known_code("XX")
    assert not is_known_code("DEU")
    assert not is_known_code("")


@pytest.mark.parametrize("code", ["de", "De", "eu", " DE", "DE "])
def test_code_must_be_written_exactly(code: str) -> None:
    """pycountry's alpha_2 lookup ignores case; a code in a record must be in capitals."""
    assert not is_known_code(code)
    with pytest.raises(UnknownParticipant):
        participant(code)
