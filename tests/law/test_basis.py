"""Legal basis (65(1), 65(2)) and scope (35(1), 2(h), 37(1))."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pycountry
import pytest

from hanoinet.law import Context, Finding
from hanoinet.law.basis import check_basis
from hanoinet.law.document import read_request
from hanoinet.law.profiles import NationalOffence, Profile, Profiles, demo_profiles
from hanoinet.registry import ActionKind, TreatyAction, packaged_actions
from hanoinet.registry.designations import demo_designations

Check = Callable[..., list[Finding]]

SOURCE = "https://example.org/test"
OPENS = date(2025, 10, 25)
DEPOSIT = date(2027, 1, 10)
GENERAL = date(2027, 4, 10)  # 90 days after the 40th deposit (65(1)), counted by hand
LATE_DEPOSIT = date(2027, 9, 1)
LATE_IN_FORCE = date(2027, 10, 1)  # 30 days after a later deposit (65(2))
OTHERS = [c.alpha_2 for c in sorted(pycountry.countries, key=lambda c: c.alpha_2)][:39]


def record(xb_deposit: date = DEPOSIT) -> list[TreatyAction]:
    """XA, XB and 39 real States sign when signature opens; all but XB deposit on DEPOSIT
    (40 instruments), XB on ``xb_deposit``."""
    rows: list[TreatyAction] = []
    for code in [*OTHERS, "XA", "XB"]:
        rows.append(TreatyAction(f"State {code}", code, ActionKind.SIGNATURE, OPENS, True, SOURCE))
        when = xb_deposit if code == "XB" else DEPOSIT
        rows.append(
            TreatyAction(f"State {code}", code, ActionKind.RATIFICATION, when, True, SOURCE)
        )
    return rows


def context(as_of: date, xb_deposit: date = DEPOSIT, profiles: Profiles | None = None) -> Context:
    return Context(as_of, record(xb_deposit), demo_designations(), profiles or demo_profiles())


def codes(found: list[Finding]) -> list[str]:
    return [f.code for f in found]


def only(found: list[Finding], code: str) -> Finding:
    [f] = [f for f in found if f.code == code]
    return f


BASIS = {"convention_basis", "no_convention_basis"}


# --- The States -----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["requesting_state", "requested_state"])
@pytest.mark.parametrize("value", [None, ""])
def test_state_missing(
    findings: Check, example: dict[str, Any], field: str, value: str | None
) -> None:
    example[field] = value
    found = findings(example)
    f = only(found, "state_missing")
    assert (f.severity, f.article, f.field) == ("error", "35(1)", f"/{field}")
    assert not BASIS & set(codes(found))


@pytest.mark.parametrize("field", ["requesting_state", "requested_state"])
@pytest.mark.parametrize("value", ["xa", "Xa", "ZZ", "XZ", "FRA", "Aurelia", "F"])
def test_state_unknown(findings: Check, example: dict[str, Any], field: str, value: str) -> None:
    example[field] = value
    found = findings(example)
    f = only(found, "state_unknown")
    assert (f.severity, f.article, f.field) == ("error", "35(1)", f"/{field}")
    assert f"'{value}'" in f.message
    assert not BASIS & set(codes(found))


@pytest.mark.parametrize("code", ["XA", "XB", "XC", "FR", "VN", "EU"])
def test_known_codes_are_accepted(findings: Check, example: dict[str, Any], code: str) -> None:
    example["requesting_state"] = "XC" if code == "XA" else "XA"
    example["requested_state"] = code
    found = findings(example)
    assert not {"state_missing", "state_unknown"} & set(codes(found))


def test_same_state(findings: Check, example: dict[str, Any]) -> None:
    example["requested_state"] = "XA"
    found = findings(example)
    f = only(found, "same_state")
    assert (f.severity, f.article, f.field) == ("error", "35(1)", "/requested_state")
    assert not BASIS & set(codes(found))


# --- The basis: is the Convention in force between them? ---------------------------------


def test_packaged_record_today_gives_no_convention_basis(
    findings: Check, example: dict[str, Any]
) -> None:
    f = only(findings(example), "no_convention_basis")
    assert (f.severity, f.article, f.field) == ("warning", "65(1)", "/legal_basis")
    assert "0 of 40" in f.message
    assert "2026-11-24" in f.message
    assert "another legal basis" in f.message


@pytest.mark.parametrize(
    ("basis", "satisfied", "says"),
    [
        (
            {
                "instrument": "treaty",
                "name": "Aurelia-Borealis MLA Treaty (demo)",
                "article": "art. 3",
            },
            True,
            "the treaty Aurelia-Borealis MLA Treaty (demo), art. 3",
        ),
        ({"instrument": "reciprocity"}, True, "reciprocity"),
        (
            {"instrument": "domestic_law", "name": "Aurelia MLA Act (demo)"},
            True,
            "the law Aurelia MLA Act (demo)",
        ),
        ({"instrument": "treaty", "name": " "}, False, ""),  # which treaty?
        ({"instrument": "convention"}, False, ""),  # not in force: the Convention cannot serve
        ({}, False, ""),
    ],
)
def test_art_65_not_in_force_asks_for_another_basis_and_is_satisfied_by_it(
    findings: Check, example: dict[str, Any], basis: dict[str, str], satisfied: bool, says: str
) -> None:
    example["legal_basis"] = basis
    found = {f.code: f for f in findings(example)}
    if satisfied:
        assert "no_convention_basis" not in found
        f = found["other_basis"]
        assert (f.severity, f.article, f.field) == ("info", "65(1)", "/legal_basis")
        assert f.message.endswith(f"the request rests on {says}")
    else:
        assert "other_basis" not in found
        assert found["no_convention_basis"].severity == "warning"


def test_in_force_for_both_is_a_convention_basis(findings: Check, example: dict[str, Any]) -> None:
    found = findings(example, context(date(2027, 6, 1)))
    f = only(found, "convention_basis")
    assert (f.severity, f.article, f.field) == ("info", "65(2)", "")
    assert f"since {GENERAL}" in f.message
    assert "no_convention_basis" not in codes(found)


def test_the_day_of_entry_into_force(findings: Check, example: dict[str, Any]) -> None:
    assert "convention_basis" in codes(findings(example, context(GENERAL)))
    day_before = date(2027, 4, 9)
    f = only(findings(example, context(day_before)), "no_convention_basis")
    assert f.article == "65(1)"
    assert "41 of 40" in f.message  # 40 counted already, but not in force until the 90th day


def test_a_state_bound_later_has_no_basis_until_then(
    findings: Check, example: dict[str, Any]
) -> None:
    f = only(findings(example, context(date(2027, 6, 1), LATE_DEPOSIT)), "no_convention_basis")
    assert (f.severity, f.article) == ("warning", "65(2)")
    assert "Borealis (demo State) (XB)" in f.message
    assert "Aurelia" not in f.message
    # contracting but not yet bound: deposited, thirty days not yet run
    f = only(findings(example, context(date(2027, 9, 30), LATE_DEPOSIT)), "no_convention_basis")
    assert f.article == "65(2)"
    g = only(findings(example, context(LATE_IN_FORCE, LATE_DEPOSIT)), "convention_basis")
    assert f"since {LATE_IN_FORCE}" in g.message


def test_a_state_outside_the_convention_has_no_basis(
    findings: Check, example: dict[str, Any]
) -> None:
    example["requesting_state"] = "FR"
    assert "FR" not in OTHERS
    f = only(findings(example, context(date(2027, 6, 1))), "no_convention_basis")
    assert f.article == "65(2)"
    assert "France (FR)" in f.message
    assert "Borealis" not in f.message


def test_basis_check_alone(example: dict[str, Any]) -> None:
    doc, _ = read_request(example)
    assert codes(list(check_basis(doc, context(date(2027, 6, 1))))) == ["convention_basis"]
    ctx = Context(date(2026, 11, 24), packaged_actions(), demo_designations(), demo_profiles())
    assert codes(list(check_basis(doc, ctx))) == ["no_convention_basis"]


# --- Scope: evidence (35(1)(b)-(c), 2(h)) -------------------------------------------------


@pytest.mark.parametrize("years", [0, 3, 3.99])
def test_national_offence_below_serious_crime_is_out_of_scope(
    findings: Check, example: dict[str, Any], years: float
) -> None:
    example["offences"] = [{"name": "Computer trespass", "max_penalty_years": years}]
    f = only(findings(example), "out_of_scope")
    assert (f.severity, f.article, f.field) == ("error", "35(1)(c)", "/offences")
    assert "4 years" in f.message


@pytest.mark.parametrize("years", [4, 10])
def test_serious_crime_is_in_scope(findings: Check, example: dict[str, Any], years: float) -> None:
    example["offences"] = [{"name": "Aggravated computer fraud", "max_penalty_years": years}]
    found = findings(example)
    assert "out_of_scope" not in codes(found)
    assert [f for f in found if f.severity == "error"] == []


def test_one_offence_in_scope_is_enough(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = [
        {"name": "Computer trespass", "max_penalty_years": 1},
        {"article": "7", "conduct": ["access"]},
    ]
    assert "out_of_scope" not in codes(findings(example))


def test_national_offence_needs_its_penalty(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = [{"name": "Computer trespass"}]
    found = findings(example)
    f = only(found, "penalty_missing")
    assert (f.severity, f.article, f.field) == ("error", "2(h)", "/offences/0/max_penalty_years")
    assert "out_of_scope" not in codes(found)  # cannot tell yet


def test_convention_offence_needs_no_penalty_for_evidence(
    findings: Check, example: dict[str, Any]
) -> None:
    assert "max_penalty_years" not in example["offences"][0]
    assert "penalty_missing" not in codes(findings(example))


def test_no_offence_is_not_out_of_scope(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = []
    found = findings(example)
    assert "out_of_scope" not in codes(found)
    assert "missing_content" in codes(found)


@pytest.mark.parametrize("article", ["18", "6", "2(h)", "7(2)", "x"])
def test_not_an_offence_article(findings: Check, example: dict[str, Any], article: str) -> None:
    example["offences"] = [{"article": article}]
    f = only(findings(example), "not_an_offence_article")
    assert (f.severity, f.article, f.field) == ("error", "35(1)(a)", "/offences/0/article")
    assert f"Article {article} " in f.message


@pytest.mark.parametrize("article", [str(n) for n in range(7, 18)])
def test_every_offence_article_is_in_scope(
    findings: Check, example: dict[str, Any], article: str
) -> None:
    example["offences"] = [{"article": article}]
    found = findings(example)
    assert not {"not_an_offence_article", "out_of_scope"} & set(codes(found))


def test_unknown_conduct(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = [{"article": "7", "conduct": ["access", "hack"]}]
    f = only(findings(example), "unknown_conduct")
    assert (f.severity, f.article, f.field) == ("error", "7", "/offences/0/conduct/1")
    assert "'hack'" in f.message and "access" in f.message


def test_unknown_element(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = [{"article": "7", "conduct": ["access"], "elements": ["serious_harm"]}]
    f = only(findings(example), "unknown_element")
    assert (f.severity, f.article, f.field) == ("error", "7", "/offences/0/elements/0")
    assert "infringing_security_measures" in f.message


def test_unknown_element_of_an_offence_without_optional_elements(
    findings: Check, example: dict[str, Any]
) -> None:
    example["offences"] = [{"article": "10", "elements": ["serious_harm"]}]
    f = only(findings(example), "unknown_element")
    assert f.article == "10" and "none (it has none)" in f.message


def test_known_conduct_and_elements(findings: Check, example: dict[str, Any]) -> None:
    example["offences"] = [
        {"article": "9", "conduct": ["delete", "alter"], "elements": ["serious_harm"]}
    ]
    assert not {"unknown_conduct", "unknown_element"} & set(codes(findings(example)))


# --- Scope: what the Convention covers for a crime it does not establish (35(1)(c)) ---------


NATIONAL = [{"name": "Fraud (demo national offence)", "max_penalty_years": 10}]
CONVENTION = [{"article": "17", "conduct": ["convert"]}]


@pytest.mark.parametrize(
    "kind",
    [
        "confiscation",
        "freezing",
        "return_of_property",
        "transfer_proceedings",
        "transfer_sentenced_persons",
    ],
)
@pytest.mark.parametrize(
    ("offences", "outside"), [(NATIONAL, True), (CONVENTION, False), ([], False)]
)
def test_35_1_c_forms_other_than_electronic_evidence_serve_convention_offences_only(
    findings: Check, kind: str, offences: list[dict[str, Any]], outside: bool
) -> None:
    """For a serious crime the Convention does not establish, cooperation under it covers only
    the collecting of evidence in electronic form (35(1)(c)): confiscation, a transfer of
    proceedings (39) or of a sentenced person is outside, an error, not a hint."""
    doc = {"kind": kind, "requesting_state": "XA", "requested_state": "XB", "offences": offences}
    found = [f for f in findings(doc) if f.code == "not_convention_offence"]
    assert [(f.severity, f.article, f.field) for f in found] == (
        [("error", "35(1)(c)", "/offences")] if outside else []
    )


@pytest.mark.parametrize(
    "kind",
    [
        "preservation",
        "traffic_disclosure",
        "stored_data",
        "realtime_traffic",
        "interception",
        "emergency_disclosure",
    ],
)
def test_35_1_c_electronic_evidence_of_a_serious_crime_is_inside(
    findings: Check, kind: str
) -> None:
    doc = {"kind": kind, "requesting_state": "XA", "requested_state": "XB", "offences": NATIONAL}
    scope = {"out_of_scope", "not_convention_offence", "evidence_not_electronic"}
    assert not scope & set(codes(findings(doc)))


def test_35_1_c_general_assistance_for_a_serious_crime_covers_only_electronic_data(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    """A hearing of witnesses for a crime outside arts 7-17 is not the collecting of evidence
    in electronic form: general assistance must name the electronic data it seeks, and is
    told that anything else needs another basis."""
    doc = dict(stored_data, kind="mla_general", offences=NATIONAL)
    doc["data"] = []
    doc["assistance_sought"] = "Hear the witness (demo)"
    found = [(f.code, f.severity, f.article, f.field) for f in findings(doc)]
    assert ("evidence_not_electronic", "error", "35(1)(c)", "/data") in found
    doc["data"] = [{"category": "subscriber", "identifiers": ["203.0.113.7"]}]
    found = [(f.code, f.severity, f.article, f.field) for f in findings(doc)]
    assert ("evidence_not_electronic", "error", "35(1)(c)", "/data") not in found
    assert ("electronic_evidence_only", "info", "35(1)(c)", "/assistance_sought") in found
    doc["offences"] = CONVENTION  # a Convention offence: every form of assistance (35(1)(a))
    assert not {"evidence_not_electronic", "electronic_evidence_only"} & set(codes(findings(doc)))


# --- Scope: extradition (37(1)) ----------------------------------------------------------


def test_extradition_only_for_convention_offences(
    findings: Check, extradition: dict[str, Any]
) -> None:
    extradition["offences"] = [{"name": "Computer trespass", "max_penalty_years": 5}]
    f = only(findings(extradition), "extradition_not_convention_offence")
    assert (f.severity, f.article, f.field) == ("error", "37(1)", "/offences/0/article")


@pytest.mark.parametrize("years", [0, 0.5, 0.99])
def test_extradition_penalty_too_low_in_the_requesting_state(
    findings: Check, extradition: dict[str, Any], years: float
) -> None:
    extradition["offences"][0]["max_penalty_years"] = years
    f = only(findings(extradition), "extradition_penalty_too_low")
    assert (f.severity, f.article, f.field) == (
        "error",
        "37(1)",
        "/offences/0/max_penalty_years",
    )
    assert f"{years:g} years" in f.message


def test_extradition_penalty_of_one_year_is_enough(
    findings: Check, extradition: dict[str, Any]
) -> None:
    extradition["offences"][0]["max_penalty_years"] = 1
    assert [f for f in findings(extradition) if f.severity == "error"] == []


def test_extradition_penalty_missing(findings: Check, extradition: dict[str, Any]) -> None:
    del extradition["offences"][0]["max_penalty_years"]
    f = only(findings(extradition), "penalty_missing")
    assert (f.severity, f.article, f.field) == (
        "error",
        "37(1)",
        "/offences/0/max_penalty_years",
    )


def test_requested_state_penalty_of_one_year_is_enough(
    findings: Check, extradition: dict[str, Any]
) -> None:
    # Borealis punishes possessing hacking tools (xb-cca-11) by at most 1 year
    extradition["offences"] = [{"article": "11", "conduct": ["possess"], "max_penalty_years": 2}]
    found = findings(extradition)
    assert "extradition_penalty_too_low" not in codes(found)
    assert "dual_criminality_not_met" not in codes(found)


def test_extradition_penalty_too_low_in_the_requested_state(
    findings: Check, extradition: dict[str, Any]
) -> None:
    lenient = NationalOffence(
        id="xb-test-1",
        name="Minor computer trespass (test)",
        max_penalty_years=0.5,
        offence="illegal_access",
        conduct=("access",),
    )
    profiles = Profiles({"XB": Profile(state="XB", offences=(lenient,))}, illustrative=True)
    found = findings(extradition, context(date(2026, 11, 24), profiles=profiles))
    f = only(found, "extradition_penalty_too_low")
    assert (f.severity, f.article, f.field) == ("error", "37(1)", "/offences/0")
    assert "Minor computer trespass (test)" in f.message
    assert "0.5 years" in f.message and "XB" in f.message


def test_unknown_penalty_keeps_out_of_scope_open(findings: Check, example: dict[str, Any]) -> None:
    # one national offence without penalty: whether the request is in scope is not known yet
    example["offences"] = [
        {"name": "Computer trespass"},
        {"name": "Minor trespass", "max_penalty_years": 2},
    ]
    found = findings(example)
    assert "penalty_missing" in codes(found)
    assert "out_of_scope" not in codes(found)


def test_requested_state_penalty_is_judged_only_when_its_offence_is_met(
    findings: Check, extradition: dict[str, Any]
) -> None:
    narrow = NationalOffence(
        id="xb-test-2",
        name="Minor hacking (test)",
        max_penalty_years=0.5,
        offence="illegal_access",
        conduct=("access",),
        requires=("dishonest_intent",),
    )
    profiles = Profiles({"XB": Profile(state="XB", offences=(narrow,))}, illustrative=True)
    found = findings(extradition, context(date(2026, 11, 24), profiles=profiles))
    # not a crime there as alleged: dual criminality says so; the penalty is not compared
    assert "dual_criminality_not_met" in codes(found)
    assert "extradition_penalty_too_low" not in codes(found)
