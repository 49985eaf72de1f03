"""Dual criminality on conduct (35(2)): not required for preservation (42(3)), a discretion
for mutual legal assistance (40(9)), required for extradition (37(1))."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from hanoinet.convention import convention
from hanoinet.law import Context, Finding
from hanoinet.law.document import read_request
from hanoinet.law.dual_criminality import check_dual_criminality
from hanoinet.law.profiles import (
    NationalOffence,
    Profile,
    demo_profiles,
    judge,
    real_profiles,
)

Check = Callable[..., list[Finding]]

DUAL = {
    "dual_criminality_not_required",
    "dual_criminality_not_met",
    "dual_criminality_unassessed",
    "no_domestic_profile",
}


def dual(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.code in DUAL]


def test_not_required_for_preservation(findings: Check, example: dict[str, Any]) -> None:
    example["offences"][0]["elements"] = []  # not a crime in Borealis as alleged: no matter
    assert [(f.code, f.severity, f.article, f.field) for f in dual(findings(example))] == [
        ("dual_criminality_not_required", "info", "42(3)", "/offences")
    ]


def test_not_applicable_forms_say_nothing(findings: Check, example: dict[str, Any]) -> None:
    example["kind"] = "traffic_disclosure"
    example["offences"][0]["elements"] = []
    assert dual(findings(example)) == []


def test_mla_access_without_the_element_borealis_requires(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["offences"][0]["elements"] = []
    found = dual(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("dual_criminality_not_met", "warning", "40(9)", "/offences/0/elements")
    ]
    message = found[0].message
    assert "Hacking by circumventing protection (Borealis Cyber Crimes Act s. 4, demo)" in message
    assert "infringing_security_measures" in message
    assert "may refuse (40(9))" in message


def test_mla_access_with_the_element(findings: Check, stored_data: dict[str, Any]) -> None:
    assert stored_data["offences"][0]["elements"] == ["infringing_security_measures"]
    assert dual(findings(stored_data)) == []


def test_mla_access_towards_aurelia_needs_no_element(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["requesting_state"], stored_data["requested_state"] = "XB", "XA"
    stored_data["offences"][0]["elements"] = []
    assert dual(findings(stored_data)) == []


def test_mla_conduct_no_offence_of_the_requested_state_covers(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    # Borealis' data offence covers damage, delete, alter; not deteriorate
    stored_data["offences"] = [
        {"article": "9", "conduct": ["deteriorate"], "elements": ["serious_harm"]}
    ]
    found = dual(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("dual_criminality_not_met", "warning", "40(9)", "/offences/0")
    ]
    assert "No offence of XB" in found[0].message and "art. 9" in found[0].message


def test_mla_offence_the_requested_state_lacks(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["requested_state"] = "XC"  # Caldera punishes no illegal access
    stored_data["language"] = "fr"
    found = dual(findings(stored_data))
    assert [(f.code, f.field) for f in found] == [("dual_criminality_not_met", "/offences/0")]


def test_extradition_access_without_the_element_is_an_error(
    findings: Check, extradition: dict[str, Any]
) -> None:
    extradition["offences"][0]["elements"] = []
    found = dual(findings(extradition))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("dual_criminality_not_met", "error", "37(1)", "/offences/0/elements")
    ]
    assert "extradition requires it (37(1))" in found[0].message


def test_extradition_with_the_element(findings: Check, extradition: dict[str, Any]) -> None:
    assert dual(findings(extradition)) == []


def test_requested_state_without_profile(findings: Check, stored_data: dict[str, Any]) -> None:
    stored_data["requested_state"] = "FR"
    found = dual(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("no_domestic_profile", "info", "35(2)", "/offences/0")
    ]
    assert "FR" in found[0].message


def test_national_offence_only_is_unassessed(findings: Check, stored_data: dict[str, Any]) -> None:
    stored_data["offences"] = [{"name": "Aggravated computer fraud", "max_penalty_years": 8}]
    found = dual(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("dual_criminality_unassessed", "info", "35(2)", "/offences/0")
    ]


def test_not_an_offence_article_is_left_to_the_scope_check(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["offences"] = [{"article": "18"}]
    found = findings(stored_data)
    assert dual(found) == []
    assert "not_an_offence_article" in {f.code for f in found}


def test_each_offence_is_judged(findings: Check, stored_data: dict[str, Any]) -> None:
    stored_data["offences"] = [
        {"article": "13", "conduct": ["deception"]},
        {"article": "7", "conduct": ["access"]},
        {"name": "Stalking", "max_penalty_years": 5},
    ]
    found = dual(findings(stored_data))
    assert [(f.code, f.field) for f in found] == [
        ("dual_criminality_not_met", "/offences/1/elements"),
        ("dual_criminality_unassessed", "/offences/2"),
    ]


# --- judge --------------------------------------------------------------------------------


def profile(state: str) -> Profile:
    found = demo_profiles().get(state)
    assert found is not None
    return found


def offence(id: str, requires: tuple[str, ...] = (), years: float = 3) -> NationalOffence:
    return NationalOffence(
        id=id,
        name=f"Offence {id}",
        max_penalty_years=years,
        offence="illegal_access",
        conduct=("access",),
        requires=requires,
    )


def test_judge_without_profile_is_unknown() -> None:
    verdict = judge(None, "illegal_access", ("access",), ())
    assert (verdict.verdict, verdict.national, verdict.missing) == ("unknown", None, ())


def test_judge_met() -> None:
    verdict = judge(profile("XA"), "illegal_access", ("access",), ())
    assert verdict.verdict == "met"
    assert verdict.national is not None and verdict.national.id == "xa-pc-301"
    assert verdict.missing == ()


def test_judge_missing_element() -> None:
    verdict = judge(profile("XB"), "illegal_access", ("access",), ())
    assert verdict.verdict == "not_met"
    assert verdict.national is not None and verdict.national.id == "xb-cca-4"
    assert verdict.missing == ("infringing_security_measures",)


def test_judge_element_shown() -> None:
    verdict = judge(profile("XB"), "illegal_access", ("access",), ("infringing_security_measures",))
    assert verdict.verdict == "met"
    assert verdict.national is not None and verdict.national.id == "xb-cca-4"


def test_judge_without_conduct_considers_every_offence_of_that_kind() -> None:
    assert judge(profile("XA"), "data_interference", (), ()).verdict == "met"
    verdict = judge(profile("XB"), "data_interference", (), ())
    assert (verdict.verdict, verdict.missing) == ("not_met", ("serious_harm",))


def test_judge_conduct_is_what_matters_not_the_name() -> None:
    # any one alleged conduct covered is enough
    both = judge(profile("XB"), "data_interference", ("deteriorate", "delete"), ("serious_harm",))
    assert both.verdict == "met"
    verdict = judge(profile("XB"), "data_interference", ("deteriorate",), ("serious_harm",))
    assert (verdict.verdict, verdict.national, verdict.missing) == ("not_met", None, ())


def test_judge_offence_not_in_the_profile() -> None:
    verdict = judge(profile("XC"), "illegal_access", ("access",), ())
    assert (verdict.verdict, verdict.national) == ("not_met", None)


@pytest.mark.parametrize("order", [0, 1])
def test_judge_prefers_an_offence_the_facts_fully_meet(order: int) -> None:
    narrow = offence("narrow", ("infringing_security_measures",))
    broad = offence("broad")
    offences = (narrow, broad) if order == 0 else (broad, narrow)
    verdict = judge(Profile(state="XB", offences=offences), "illegal_access", ("access",), ())
    assert verdict.verdict == "met"
    assert verdict.national is not None and verdict.national.id == "broad"


def test_judge_reports_the_closest_offence_when_none_is_met() -> None:
    wide = offence("two", ("infringing_security_measures", "dishonest_intent"))
    close = offence("one", ("dishonest_intent",))
    verdict = judge(Profile(state="XB", offences=(wide, close)), "illegal_access", (), ())
    assert verdict.verdict == "not_met"
    assert verdict.national is not None and verdict.national.id == "one"
    assert verdict.missing == ("dishonest_intent",)


def test_judge_counts_only_the_missing_elements() -> None:
    wide = offence("two", ("infringing_security_measures", "dishonest_intent"))
    verdict = judge(
        Profile(state="XB", offences=(wide,)), "illegal_access", (), ("dishonest_intent",)
    )
    assert verdict.missing == ("infringing_security_measures",)


@pytest.mark.parametrize(
    ("field", "value"),
    [("offence", "hacking"), ("conduct", ("intercept",)), ("requires", ("serious_harm",))],
)
def test_national_offence_must_use_convention_ids(field: str, value: object) -> None:
    data: dict[str, Any] = {
        "id": "t",
        "name": "T",
        "max_penalty_years": 1,
        "offence": "illegal_access",
        "conduct": ("access",),
        "requires": (),
    }
    data[field] = value
    with pytest.raises(ValidationError):
        NationalOffence.model_validate(data)


def test_demo_profiles_extend_the_real_ones() -> None:
    demo = demo_profiles()
    assert demo.illustrative and not real_profiles().illustrative
    assert {"XA", "XB", "XC"} <= set(demo.by_state)
    assert set(real_profiles().by_state) <= set(demo.by_state)
    assert demo.get(None) is None and demo.get("") is None


def test_not_applicable_wins_over_an_article(example: dict[str, Any], ctx: Context) -> None:
    form = convention().forms["traffic_disclosure"]
    assert form.dual_criminality == "not_applicable"
    form = form.model_copy(update={"dual_criminality_article": "40(9)"})
    doc, _ = read_request({**example, "kind": "traffic_disclosure"})
    assert list(check_dual_criminality(doc, form, ctx)) == []
