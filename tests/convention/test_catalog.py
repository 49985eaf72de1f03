"""The Convention as data: complete, consistent, and every cited key exists."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from hanoinet.convention import LANGUAGES, convention
from hanoinet.convention.catalog import load_convention
from hanoinet.convention.model import KEY_PATTERN
from hanoinet.errors import ConventionDataError, UnknownArticle

SRC = Path(__file__).resolve().parents[2] / "src" / "hanoinet"
# A quoted article key in code or data: "42(2)(c)", '65(1)', "2(h)".
QUOTED_KEY = re.compile(r"""["'](\d{1,2}(?:\(\d{1,2}\))?(?:\([a-z]{1,2}\))?)["']""")
KEY_FIELD = re.compile(
    r"""\b(?:article|key|dual_criminality_article|reservation):\s*["']([^"']+)["']"""
)


def test_all_68_articles_in_nine_chapters() -> None:
    c = convention()
    assert sorted(c.articles) == list(range(1, 69))
    assert [ch.roman for ch in c.chapters] == [
        "I",
        "II",
        "III",
        "IV",
        "V",
        "VI",
        "VII",
        "VIII",
        "IX",
    ]
    assert c.article(37).title.en.text == "Extradition"
    assert c.chapter_of(c.article(41)).roman == "V"


def test_every_article_has_a_title_in_six_languages_with_status() -> None:
    for article in convention().articles.values():
        for lang in LANGUAGES:
            label = article.title.get(lang)
            assert label.text.strip(), (article.number, lang)
            assert label.status in ("official", "unofficial")
            if lang != "en" and label.status == "official":
                assert label.source and label.source.startswith("https://")


def test_verified_only_where_convention_md_marks_v() -> None:
    """Titles are [V] for arts 1-15, 22, 64, 65 and [R] elsewhere."""
    verified = {n for n, a in convention().articles.items() if a.verified}
    assert verified == set(range(1, 16)) | {22, 64, 65}


def test_art_2_terms_are_lettered_a_to_o_and_verified() -> None:
    c = convention()
    letters = [k for k in c.provisions if k.startswith("2(")]
    assert letters == [f"2({ch})" for ch in "abcdefghijklmno"]
    assert all(c.provisions[k].verified for k in letters)
    assert "four years" in c.provisions["2(h)"].text


def test_every_key_cited_in_data_exists() -> None:
    c = convention()
    cited = list(c.cited_keys())
    assert len(cited) > 100
    for key, _where in cited:
        c.key(key)  # raises UnknownArticle if not


def _keys_in(text: str) -> set[str]:
    return {k for k in QUOTED_KEY.findall(text) + KEY_FIELD.findall(text) if KEY_PATTERN.match(k)}


def test_every_article_key_in_code_and_data_files_exists() -> None:
    """Scan every source and data file for quoted article keys: each must resolve."""
    c = convention()
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".py", ".yaml"):
            continue
        for key in _keys_in(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(SRC)))
    assert "40(21)(b)" in found and "65(1)" in found
    for key, where in found.items():
        if "(" not in key and int(key) > 68:
            continue  # plain numbers such as "90" are not article keys
        try:
            c.key(key)
        except UnknownArticle as exc:
            pytest.fail(f"{where} cites {key}: {exc}")


def test_unknown_keys_are_refused_with_the_known_ones_listed() -> None:
    c = convention()
    with pytest.raises(UnknownArticle, match="no article 69"):
        c.key("69")
    with pytest.raises(UnknownArticle, match=r"40\(15\)\(a\)"):
        c.key("40(15)(z)")
    with pytest.raises(UnknownArticle, match="not an article key"):
        c.key("forty")


def test_cooperation_forms_cover_the_issue_list() -> None:
    forms = convention().forms
    expected = {
        "preservation": "42",
        "traffic_disclosure": "43",
        "stored_data": "44",
        "realtime_traffic": "45",
        "interception": "46",
        "mla_general": "40(3)",
        "spontaneous_information": "40(4)",
        "emergency_disclosure": "41",
        "extradition": "37",
        "provisional_arrest": "37",
        "transfer_sentenced_persons": "38",
        "transfer_proceedings": "39",
        "law_enforcement_cooperation": "47",
        "joint_investigation": "48",
        "confiscation": "50",
        "freezing": "50",
        "return_of_property": "52",
    }
    for key, article in expected.items():
        assert article in forms[key].articles, key


def test_preservation_requires_42_2_a_to_g_and_no_dual_criminality() -> None:
    form = convention().forms["preservation"]
    assert {r.article for r in form.requires} == {f"42(2)({x})" for x in "abcdefg"}
    assert form.dual_criminality == "not_required"
    assert form.dual_criminality_article == "42(3)"


def test_mla_contents_follow_40_15() -> None:
    form = convention().forms["stored_data"]
    cited = {r.article for r in form.requires}
    assert {f"40(15)({x})" for x in "abcdef"} <= cited
    assert form.dual_criminality == "discretionary"


def test_periods_and_thresholds_with_their_articles() -> None:
    p = convention().periods
    assert (p["preservation_minimum_days"].value, p["preservation_minimum_days"].article) == (
        60,
        "42",
    )
    assert (p["entry_into_force_days"].value, p["entry_into_force_days"].article) == (90, "65(1)")
    assert (p["party_entry_into_force_days"].value, p["party_entry_into_force_days"].article) == (
        30,
        "65(2)",
    )
    assert (p["denunciation_years"].value, p["denunciation_years"].article) == (1, "67")
    assert (p["safe_conduct_days"].value, p["safe_conduct_days"].article) == (15, "40(28)")
    assert (p["serious_crime_years"].value, p["serious_crime_years"].article) == (4, "2(h)")
    assert (p["extradition_threshold_years"].value, p["extradition_threshold_years"].article) == (
        1,
        "37(1)",
    )
    assert p["instruments_for_entry_into_force"].value == 40


def test_grounds_include_non_grounds_fiscal_and_bank_secrecy() -> None:
    g = convention().grounds
    assert g["fiscal_matters"].kind == "not_a_ground" and g["fiscal_matters"].article == "40(23)"
    assert g["bank_secrecy"].kind == "not_a_ground"
    assert g["essential_interests"].article == "40(21)(b)"
    assert g["ongoing_proceedings"].kind == "postponement"


def test_offences_7_to_17_with_optional_elements() -> None:
    offences = convention().offences
    assert sorted(int(o.article) for o in offences.values()) == list(range(7, 18))
    access = offences["illegal_access"]
    assert {e.id for e in access.optional_elements} >= {
        "infringing_security_measures",
        "dishonest_intent",
    }
    assert offences["misuse_of_devices"].reservation == "11(3)"


def test_search_finds_titles_in_any_language_ignoring_accents() -> None:
    c = convention()
    assert any(h.key == "37" for h in c.search("extradition"))
    assert any(h.key == "67" for h in c.search("denonciation"))  # French, accent-folded
    assert any(h.key == "42(3)" for h in c.search("dual criminality is not required"))


def test_packaged_data_files_exist() -> None:
    names = {p.name for p in resources.files("hanoinet.convention.data").iterdir()}
    assert {
        "articles.yaml",
        "provisions.yaml",
        "offences.yaml",
        "cooperation.yaml",
        "grounds.yaml",
        "periods.yaml",
    } <= names


def _broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    source = resources.files("hanoinet.convention.data")
    for name in (
        "articles.yaml",
        "provisions.yaml",
        "offences.yaml",
        "cooperation.yaml",
        "grounds.yaml",
        "periods.yaml",
    ):
        (tmp_path / name).write_text(
            source.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    path = tmp_path / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def _line_containing(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_cited_key_missing_from_provisions_names_file_and_line(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "cooperation.yaml", 'article: "42(2)(e)"', 'article: "42(2)(x)"')
    with pytest.raises(ConventionDataError) as caught:
        load_convention(root)
    assert caught.value.file == "cooperation.yaml"
    assert caught.value.line == _line_containing(root / "cooperation.yaml", '"42(2)(x)"')
    assert "form preservation" in caught.value.reason and "42(2)(x)" in caught.value.reason


def test_duplicate_provision_key_names_second_line(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "provisions.yaml", '{key: "40(16)"', '{key: "40(15)"')
    with pytest.raises(ConventionDataError, match="key '40\\(15\\)' is given twice") as caught:
        load_convention(root)
    assert caught.value.line is not None
    assert "40(15)" in (root / "provisions.yaml").read_text().splitlines()[caught.value.line - 1]


def test_missing_article_names_the_rule(tmp_path: Path) -> None:
    root = _broken_copy(tmp_path, "articles.yaml", "  - number: 68\n", "  - number: 69\n")
    with pytest.raises(ConventionDataError, match="numbered 1, 2, 3"):
        load_convention(root)


def test_ground_for_unknown_form_is_refused(tmp_path: Path) -> None:
    root = _broken_copy(
        tmp_path, "grounds.yaml", "applies_to: [preservation]", "applies_to: [preservaton]"
    )
    with pytest.raises(ConventionDataError, match="unknown form 'preservaton'") as caught:
        load_convention(root)
    assert caught.value.file == "grounds.yaml" and caught.value.line is not None


def test_42_4_ground_requires_the_reservation_and_no_convention_offence() -> None:
    ground = convention().grounds["preservation_dual_criminality_reservation"]
    assert ground.article == "42(4)" and ground.applies_to == ("preservation",)
    assert ground.requires.reservation == "42(4)"
    assert ground.requires.offences == "not_convention"
    # The other grounds need nothing beyond their form.
    others = [g for g in convention().grounds.values() if g is not ground]
    assert all(g.requires.reservation is None and g.requires.offences is None for g in others)


def test_ground_requiring_a_reservation_under_an_unknown_key_names_file_and_line(
    tmp_path: Path,
) -> None:
    root = _broken_copy(tmp_path, "grounds.yaml", 'reservation: "42(4)"', 'reservation: "42(9)"')
    with pytest.raises(ConventionDataError) as caught:
        load_convention(root)
    assert caught.value.file == "grounds.yaml"
    assert caught.value.line == _line_containing(root / "grounds.yaml", '"42(9)"')
    assert "preservation_dual_criminality_reservation requires" in caught.value.reason


def test_ground_requiring_an_unknown_kind_of_offence_names_file_and_line(tmp_path: Path) -> None:
    root = _broken_copy(
        tmp_path, "grounds.yaml", "offences: not_convention}", "offences: not_conventional}"
    )
    with pytest.raises(ConventionDataError, match="not_convention") as caught:
        load_convention(root)
    assert caught.value.file == "grounds.yaml"
    assert caught.value.line == _line_containing(root / "grounds.yaml", "not_conventional")
