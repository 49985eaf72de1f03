"""Language and channel, from the requested State's designations (40(13), 40(14), 41(1))."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from hanoinet.law import Context, Finding
from hanoinet.law.profiles import demo_profiles
from hanoinet.registry import packaged_actions
from hanoinet.registry.designations import (
    Contact,
    Designation,
    Designations,
    demo_designations,
)

Check = Callable[..., list[Finding]]

CHANNEL_CODES = {
    "language_missing",
    "language_not_accepted",
    "channel_missing",
    "channel_wrong_for_form",
    "channel_not_accepted",
    "no_point_of_contact",
    "no_central_authority",
    "interpol_not_urgent",
    "interpol_not_agreed",
    "no_designation",
}


def channel_findings(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.code in CHANNEL_CODES]


def only(found: list[Finding], code: str) -> Finding:
    [f] = [f for f in found if f.code == code]
    return f


def test_complete_documents_have_no_channel_findings(
    findings: Check,
    example: dict[str, Any],
    stored_data: dict[str, Any],
    emergency: dict[str, Any],
    extradition: dict[str, Any],
) -> None:
    for doc in (example, stored_data, emergency, extradition):
        assert channel_findings(findings(doc)) == [], doc["kind"]


# --- Language (40(14)) -----------------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_language_missing(findings: Check, example: dict[str, Any], value: str | None) -> None:
    example["language"] = value
    found = channel_findings(findings(example))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("language_missing", "error", "40(14)", "/language")
    ]


def test_language_not_accepted(findings: Check, example: dict[str, Any]) -> None:
    example["requested_state"] = "XC"  # Caldera accepts French only
    example["channel"] = "central_authority"
    f = only(findings(example), "language_not_accepted")
    assert (f.severity, f.article, f.field) == ("error", "40(14)", "/language")
    assert "accepts requests in fr, not 'en'" in f.message
    assert "illustrative demo designation" in f.message


def test_language_list_of_a_state_with_two(findings: Check, example: dict[str, Any]) -> None:
    example["language"] = "fr"  # Borealis: en, es
    f = only(findings(example), "language_not_accepted")
    assert "en, es" in f.message


@pytest.mark.parametrize(("state", "language"), [("XC", "fr"), ("XB", "es"), ("XA", "fr")])
def test_accepted_language(
    findings: Check, example: dict[str, Any], state: str, language: str
) -> None:
    example["requesting_state"] = "XB" if state == "XA" else "XA"
    example["requested_state"] = state
    example["language"] = language
    example["channel"] = "central_authority"
    assert channel_findings(findings(example)) == []


# --- Channel ------------------------------------------------------------------------------


def test_channel_missing_is_a_warning(findings: Check, example: dict[str, Any]) -> None:
    del example["channel"]
    found = channel_findings(findings(example))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("channel_missing", "warning", "42", "/channel")
    ]
    assert "point_of_contact, central_authority" in found[0].message


def test_channel_wrong_for_the_form(findings: Check, extradition: dict[str, Any]) -> None:
    extradition["channel"] = "point_of_contact"
    extradition["requested_state"] = "XC"  # no point of contact either
    extradition["language"] = "fr"
    found = channel_findings(findings(extradition))
    # only the form's rule: what the State accepts is not judged for a wrong channel
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("channel_wrong_for_form", "error", "37", "/channel")
    ]
    assert "point_of_contact" in found[0].message
    assert "central_authority, diplomatic" in found[0].message


def test_preservation_to_a_state_without_point_of_contact(
    findings: Check, example: dict[str, Any]
) -> None:
    example["requested_state"] = "XC"
    example["language"] = "fr"
    found = findings(example)
    f = only(found, "no_point_of_contact")
    assert (f.severity, f.article, f.field) == ("error", "41(1)", "/channel")
    assert "Caldera" in f.message and "illustrative demo designation" in f.message
    g = only(found, "channel_not_accepted")
    assert (g.severity, g.article, g.field) == ("error", "40(13)", "/channel")
    assert "central_authority, diplomatic" in g.message


def test_preservation_to_that_state_through_its_central_authority(
    findings: Check, example: dict[str, Any]
) -> None:
    example["requested_state"] = "XC"
    example["language"] = "fr"
    example["channel"] = "central_authority"
    assert channel_findings(findings(example)) == []


def test_state_without_central_authority(findings: Check, example: dict[str, Any]) -> None:
    poc = Contact(name="24/7 desk (test)", contact="+000")
    designations = Designations(
        {
            **demo_designations().by_state,
            "XB": Designation(
                state="XB",
                point_of_contact=poc,
                languages=("en",),
                channels=("central_authority", "point_of_contact"),
            ),
        },
        illustrative=True,
    )
    ctx = Context(date(2026, 11, 24), packaged_actions(), designations, demo_profiles())
    assert channel_findings(findings(example, ctx)) == []
    example["channel"] = "central_authority"
    found = channel_findings(findings(example, ctx))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("no_central_authority", "error", "40(13)", "/channel")
    ]


# --- INTERPOL (40(13)) -------------------------------------------------------------------


def test_interpol_in_urgency_between_states_that_agree(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["channel"] = "interpol"
    stored_data["urgency"] = "urgent"
    assert channel_findings(findings(stored_data)) == []


def test_interpol_not_urgent(findings: Check, stored_data: dict[str, Any]) -> None:
    stored_data["channel"] = "interpol"
    found = channel_findings(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("interpol_not_urgent", "error", "40(13)", "/urgency")
    ]


@pytest.mark.parametrize("requester", ["XC", "FR"])
def test_interpol_not_agreed_by_the_requesting_state(
    findings: Check, stored_data: dict[str, Any], requester: str
) -> None:
    stored_data["requesting_state"] = requester  # XC declined INTERPOL; FR designated nothing
    stored_data["channel"] = "interpol"
    stored_data["urgency"] = "emergency"
    stored_data["emergency"] = "A hostage is held."
    found = channel_findings(findings(stored_data))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("interpol_not_agreed", "error", "40(13)", "/channel")
    ]


def test_interpol_not_agreed_by_the_requested_state(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["requested_state"] = "XC"
    stored_data["language"] = "fr"
    stored_data["channel"] = "interpol"
    stored_data["urgency"] = "urgent"
    found = {f.code for f in channel_findings(findings(stored_data))}
    assert found == {"interpol_not_agreed", "channel_not_accepted"}


# --- Designations -------------------------------------------------------------------------


def test_state_without_designation(findings: Check, example: dict[str, Any]) -> None:
    example["requested_state"] = "FR"
    example["language"] = "xx"  # nothing known to compare with
    found = channel_findings(findings(example))
    assert [(f.code, f.severity, f.article, f.field) for f in found] == [
        ("no_designation", "warning", "40(13)", "/requested_state")
    ]
    assert "France" in found[0].message


@pytest.mark.parametrize("value", [None, "zz", "Borealis"])
def test_unknown_or_missing_requested_state_is_left_to_the_basis_check(
    findings: Check, example: dict[str, Any], value: str | None
) -> None:
    example["requested_state"] = value
    found = findings(example)
    assert channel_findings(found) == []
    assert {"state_missing", "state_unknown"} & {f.code for f in found}


def test_missing_language_is_reported_once_across_all_checks() -> None:
    import json
    from datetime import date
    from pathlib import Path

    from hanoinet.law import check_text, default_context

    doc = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json").read_text()
    )
    doc.update(kind="stored_data", channel="central_authority")
    del doc["language"]
    _, found = check_text(json.dumps(doc), default_context(date(2026, 11, 24)))
    assert [f.code for f in found if f.field == "/language"] == ["language_missing"]


# --- Oral requests (40(14)) -----------------------------------------------------------------


def _oral(found: list[Finding]) -> list[tuple[str, str, str | None, str]]:
    return [(f.code, f.severity, f.article, f.field) for f in found if f.code.startswith("oral_")]


def test_40_14_an_oral_request_only_in_urgent_circumstances(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    doc = dict(stored_data, oral=True, urgency="routine")
    assert ("oral_not_urgent", "error", "40(14)", "/urgency") in _oral(findings(doc))
    doc["urgency"] = "urgent"
    assert _oral(findings(doc)) == [("oral_confirm_in_writing", "info", "40(14)", "/oral")]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("XB", []),  # both demo States accept one (illustrative designations)
        ("XC", [("oral_not_agreed", "error", "40(14)", "/oral")]),  # says it does not
        ("FR", [("oral_not_agreed", "warning", "40(14)", "/oral")]),  # nothing known
    ],
)
def test_40_14_an_oral_request_only_where_the_states_agree(
    findings: Check, stored_data: dict[str, Any], requested: str, expected: list[Any]
) -> None:
    doc = dict(stored_data, oral=True, urgency="urgent", requested_state=requested)
    found = [o for o in _oral(findings(doc)) if o[0] == "oral_not_agreed"]
    assert found == expected
    doc["oral"] = False
    assert _oral(findings(doc)) == []


def test_the_demo_state_notice_cites_no_article(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    [notice] = [f for f in findings(stored_data) if f.code == "illustrative_states"]
    assert (notice.article, notice.basis) == (None, "node policy")


# --- Forms whose language and channel the requested State's law sets -------------------------


def test_extradition_language_and_channel_follow_the_requested_state_not_40_13_or_40_14(
    findings: Check, extradition: dict[str, Any]
) -> None:
    """For extradition, provisional arrest and transfers, the requested State's law and the
    treaties that bind it set the language and the channel: the findings rest on what it
    published for the form (its designation's ``forms``), named, and cite no 40(13)/(14)."""
    doc = dict(extradition, requested_state="XB", language="es", channel="central_authority")
    found = findings(doc)
    [language] = [f for f in found if f.code == "language_not_accepted"]
    assert (language.severity, language.article, language.basis) == (
        "error",
        None,
        "requested state",
    )
    assert "Borealis Extradition Act (demo), s. 8" in language.message
    assert not {"40(13)", "40(14)"} & {f.article for f in found}
    doc = dict(doc, language="en")
    assert "language_not_accepted" not in {f.code for f in findings(doc)}
    doc = dict(extradition, requested_state="XC", language="fr", channel="central_authority")
    [channel] = [f for f in findings(doc) if f.code == "channel_not_accepted"]
    assert (channel.article, channel.basis) == (None, "requested state")
    assert "Caldera Law on Extradition (demo), art. 12" in channel.message


def test_a_state_that_published_nothing_for_the_form_is_a_warning_to_confirm(
    findings: Check, extradition: dict[str, Any]
) -> None:
    doc = dict(extradition, requesting_state="XA", requested_state="FR")
    found = findings(doc)
    codes = {f.code for f in found}
    assert "form_requirements_unknown" in codes and "no_designation" not in codes
    assert not {"40(13)", "40(14)"} & {f.article for f in found}


def test_mutual_legal_assistance_keeps_the_languages_notified_under_40_14(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    doc = dict(stored_data, language="de")
    [language] = [f for f in findings(doc) if f.code == "language_not_accepted"]
    assert (language.article, language.basis) == ("40(14)", "convention")


def test_the_demo_designations_publish_forms_the_requested_states_law_governs() -> None:
    from hanoinet.convention import convention

    governed = {
        k for k, f in convention().forms.items() if f.language_and_channel == "requested_state"
    }
    assert governed == {
        "extradition",
        "provisional_arrest",
        "transfer_sentenced_persons",
        "transfer_proceedings",
    }
    for designation in demo_designations().by_state.values():
        assert set(designation.forms) <= governed, designation.state
        for required in designation.forms.values():
            assert "(demo)" in required.rests_on
