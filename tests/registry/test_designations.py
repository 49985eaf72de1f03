"""Designations as data: reservations and declarations under known article keys, with their
source; errors name the file and the State."""

from __future__ import annotations

from datetime import date

import pytest

from hanoinet.convention import convention
from hanoinet.errors import ConventionDataError
from hanoinet.registry.designations import (
    demo_designations,
    parse_designations,
    real_designations,
    reservation_dict,
)

REAL = """\
illustrative: false
designations:
  - state: FR
    languages: [fr]
    source: "A notification (test)"
    as_of: 2026-11-02
    reservations:
{entries}
"""
DEMO = REAL.replace("illustrative: false", "illustrative: true").replace("FR", "XB")


def entry(article: str = "42(4)", source: str | None = "C.N.1.2026 (test)") -> str:
    line = f'      - {{kind: reservation, article: "{article}", text: "Reserved (test)."'
    return line + (f', source: "{source}"}}' if source is not None else "}")


def test_the_real_designations_hold_no_reservation() -> None:
    # No real State's reservation is confirmed: hanoinet never invents one.
    assert all(not d.reservations for d in real_designations().by_state.values())


def test_42_4_borealis_reservation_is_illustrative_and_dated() -> None:
    borealis = demo_designations().get("XB")
    assert borealis is not None
    reservation = borealis.reservation("42(4)", date(2026, 11, 24))
    assert reservation is not None and reservation.illustrative
    assert reservation.source is not None and reservation.source.startswith("Illustrative:")
    assert borealis.reservation("42(4)", date(2026, 11, 1)) is None  # made 2026-11-02
    assert borealis.reservation("11(3)", date(2026, 11, 24)) is None


def test_40_14_aurelia_declaration_is_no_reservation() -> None:
    aurelia = demo_designations().get("XA")
    assert aurelia is not None
    [declaration] = aurelia.reservations
    assert declaration.kind == "declaration" and declaration.article == "40(14)"
    assert aurelia.reservation("40(14)", date(2026, 11, 24)) is None


def test_every_demo_reservation_cites_a_known_key() -> None:
    for designation in demo_designations().by_state.values():
        for r in designation.reservations:
            convention().key(r.article)
            assert r.illustrative


def test_reservation_json_shape() -> None:
    borealis = demo_designations().get("XB")
    assert borealis is not None
    shape = reservation_dict(borealis.reservations[0])
    assert set(shape) == {
        "kind",
        "article",
        "article_verified",
        "text",
        "source",
        "date",
        "illustrative",
    }
    assert shape["article"] == "42(4)" and shape["article_verified"] is False
    assert shape["date"] == "2026-11-02" and shape["illustrative"] is True


def test_a_real_reservation_loads() -> None:
    data = parse_designations(REAL.format(entries=entry()), "designations.yaml")
    [reservation] = data.designations[0].reservations
    assert reservation.article == "42(4)" and not reservation.illustrative


@pytest.mark.parametrize("article", ["42(9)", "99", "42(4)(z)"])
def test_a_reservation_under_an_unknown_article_is_refused(article: str) -> None:
    with pytest.raises(ConventionDataError) as info:
        parse_designations(REAL.format(entries=entry(article)), "designations.yaml")
    message = info.value.message
    assert message.startswith("designations.yaml:3: ")  # the file, and the line of the State
    assert f"the reservation of FR under '{article}'" in message


def test_a_reservation_that_is_no_article_key_is_refused() -> None:
    with pytest.raises(ConventionDataError) as info:
        parse_designations(REAL.format(entries=entry("art. 42")), "designations.yaml")
    assert info.value.file == "designations.yaml"
    assert "'art. 42' is not an article key" in info.value.message


def test_a_real_reservation_without_source_is_refused() -> None:
    with pytest.raises(ConventionDataError) as info:
        parse_designations(REAL.format(entries=entry(source=None)), "designations.yaml")
    message = info.value.message
    assert message.startswith("designations.yaml:3: ")
    assert "the reservation of FR under '42(4)' needs its source" in message


def test_a_real_reservation_is_not_illustrative() -> None:
    text = REAL.format(entries=entry(source="Illustrative: invented"))
    with pytest.raises(ConventionDataError) as info:
        parse_designations(text, "designations.yaml")
    assert info.value.file == "designations.yaml"
    assert "the reservation of FR under '42(4)'" in info.value.message
    assert "names where it was published" in info.value.message


def test_a_demo_reservation_says_it_is_invented() -> None:
    with pytest.raises(ConventionDataError) as info:
        parse_designations(DEMO.format(entries=entry()), "demo/designations.yaml")
    assert info.value.file == "demo/designations.yaml"
    assert "the reservation of XB under '42(4)'" in info.value.message
    assert "begins 'Illustrative:'" in info.value.message
    text = DEMO.format(entries=entry(source="Illustrative: invented (test)"))
    assert parse_designations(text, "demo/designations.yaml").designations[0].reservations
