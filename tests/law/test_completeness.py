"""Completeness: each content a form requires, removed, gives an error citing its article
and pointing at the field (42(2), 40(15), 45, 46, 41, 2(o), 40(14), 40(25))."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from hanoinet.convention import convention
from hanoinet.law import Finding
from hanoinet.law.completeness import check_completeness
from hanoinet.law.document import read_request

Check = Callable[..., list[Finding]]
Mutation = Callable[[dict[str, Any]], None]


def errors(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.severity == "error"]


def missing(found: list[Finding]) -> set[tuple[str | None, str]]:
    return {(f.article, f.field) for f in found if f.code == "missing_content"}


def delete(*path: str | int) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return apply


def put(value: object, *path: str | int) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        target: Any = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return apply


def test_the_complete_documents_have_no_errors(
    findings: Check,
    example: dict[str, Any],
    stored_data: dict[str, Any],
    collection: dict[str, Any],
    emergency: dict[str, Any],
    extradition: dict[str, Any],
) -> None:
    for doc in (example, stored_data, collection, emergency, extradition):
        assert errors(findings(doc)) == [], doc["kind"]


# --- Preservation (42(2)) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            delete("requesting_authority", "name"),
            {("42(2)(a)", "/requesting_authority/name")},
        ),
        (put("  ", "requesting_authority", "contact"), set()),
        (delete("requesting_authority"), {("42(2)(a)", "/requesting_authority/name")}),
        (put([], "offences"), {("42(2)(b)", "/offences")}),
        (delete("offences"), {("42(2)(b)", "/offences")}),
        (put([{"conduct": ["access"]}], "offences"), {("42(2)(b)", "/offences/0")}),
        (put([{"name": " "}], "offences"), {("42(2)(b)", "/offences/0")}),
        (delete("facts_summary"), {("42(2)(b)", "/facts_summary")}),
        (put("", "facts_summary"), {("42(2)(b)", "/facts_summary")}),
        (put([], "data", 0, "identifiers"), {("42(2)(c)", "/data/0/identifiers")}),
        (delete("data", 0, "relation_to_offence"), {("42(2)(c)", "/data/0/relation_to_offence")}),
        (delete("data", 0, "category"), {("42(2)(c)", "/data/0/category")}),
        (delete("data", 0, "custodian"), {("42(2)(d)", "/data/0/custodian")}),
        (
            put(
                [
                    {"category": "traffic", "identifiers": ["x"], "relation_to_offence": "y"},
                    {"category": "content", "identifiers": ["z"], "location": "XB"},
                ],
                "data",
            ),
            {("42(2)(d)", "/data/0/custodian"), ("42(2)(c)", "/data/1/relation_to_offence")},
        ),
        (put([], "data"), {("42(2)(c)", "/data"), ("42(2)(d)", "/data")}),
        (delete("necessity"), {("42(2)(e)", "/necessity")}),
        (put(None, "mla_to_follow"), {("42(2)(f)", "/mla_to_follow")}),
        (delete("mla_to_follow"), {("42(2)(f)", "/mla_to_follow")}),
    ],
)
def test_preservation_missing_content(
    findings: Check,
    example: dict[str, Any],
    mutation: Mutation,
    expected: set[tuple[str, str]],
) -> None:
    mutation(example)
    found = findings(example)
    assert missing(found) == expected
    for f in found:
        if f.code == "missing_content":
            assert f.severity == "error"
            assert f.field in f.message  # says where to add it
            assert f.article in f.message


def test_preservation_custodian_or_location_is_enough(
    findings: Check, example: dict[str, Any]
) -> None:
    del example["data"][0]["custodian"]
    example["data"][0]["location"] = "A data centre in Borealis"
    assert missing(findings(example)) == set()
    example["data"][0]["custodian"] = "Borealis Hosting Ltd (demo)"
    example["data"][0]["location"] = ""
    assert missing(findings(example)) == set()
    example["data"][0]["custodian"] = " "
    assert missing(findings(example)) == {("42(2)(d)", "/data/0/custodian")}


def test_preservation_without_mla_to_follow_is_not_preservation(
    findings: Check, example: dict[str, Any]
) -> None:
    example["mla_to_follow"] = False
    found = findings(example)
    assert missing(found) == set()
    [f] = [f for f in found if f.code == "no_mla_to_follow"]
    assert (f.severity, f.article, f.field) == ("error", "42(2)(f)", "/mla_to_follow")


def test_preservation_confidentiality_is_asked_for_only_when_needed(
    findings: Check, example: dict[str, Any]
) -> None:
    # 42(2)(g) carries `when`: neither field is ever reported missing
    assert "confidential" not in example and "no_user_notice" not in example
    assert not [f for f in findings(example) if f.article == "42(2)(g)"]


# --- Mutual legal assistance (40(15)) --------------------------------------------------


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            delete("matter"),
            {
                ("40(15)(b)", "/matter/nature"),
                ("40(15)(b)", "/matter/description"),
                ("40(15)(b)", "/matter/authority"),
            },
        ),
        (put(None, "matter", "nature"), {("40(15)(b)", "/matter/nature")}),
        (put("", "matter", "description"), {("40(15)(b)", "/matter/description")}),
        (delete("matter", "authority"), {("40(15)(b)", "/matter/authority")}),
        (delete("assistance_sought"), {("40(15)(d)", "/assistance_sought")}),
        (delete("purpose"), {("40(15)(f)", "/purpose")}),
        (put("\n", "purpose"), {("40(15)(f)", "/purpose")}),
        (delete("facts_summary"), {("40(15)(c)", "/facts_summary")}),
        (delete("requesting_authority"), {("40(15)(a)", "/requesting_authority/name")}),
        (put([], "offences"), {("35(1)", "/offences")}),
    ],
)
def test_stored_data_missing_content(
    findings: Check,
    stored_data: dict[str, Any],
    mutation: Mutation,
    expected: set[tuple[str, str]],
) -> None:
    mutation(stored_data)
    assert missing(findings(stored_data)) == expected


def test_mla_general_has_the_same_contents(findings: Check, stored_data: dict[str, Any]) -> None:
    stored_data["kind"] = "mla_general"
    del stored_data["purpose"]
    assert missing(findings(stored_data)) == {("40(15)(f)", "/purpose")}


def test_persons_not_named_is_information_not_an_error(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    stored_data["persons"] = []
    found = findings(stored_data)
    assert errors(found) == []
    [f] = [f for f in found if f.code == "persons_not_named"]
    assert (f.severity, f.article, f.field) == ("info", "40(15)(e)", "/persons")


def test_named_persons_give_no_persons_finding(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    assert not [f for f in findings(stored_data) if f.field.startswith("/persons")]


def test_procedures_are_optional(findings: Check, stored_data: dict[str, Any]) -> None:
    assert "procedures_requested" not in stored_data
    assert not [f for f in findings(stored_data) if f.field == "/procedures_requested"]


def test_persons_are_required_for_extradition(findings: Check, extradition: dict[str, Any]) -> None:
    extradition["persons"] = []
    found = findings(extradition)
    assert missing(found) == {("37", "/persons")}
    assert not [f for f in found if f.code == "persons_not_named"]


# --- Real-time collection and interception (45, 46) ------------------------------------


@pytest.mark.parametrize(("kind", "article"), [("realtime_traffic", "45"), ("interception", "46")])
def test_period_missing(
    findings: Check, collection: dict[str, Any], kind: str, article: str
) -> None:
    collection["kind"] = kind
    assert missing(findings(collection)) == set()
    del collection["period"]
    assert missing(findings(collection)) == {
        (article, "/period/start"),
        (article, "/period/end"),
        (article, "/period/justification"),
    }


@pytest.mark.parametrize(("kind", "article"), [("realtime_traffic", "45"), ("interception", "46")])
@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ("start", "/period/start"),
        ("end", "/period/end"),
        ("justification", "/period/justification"),
    ],
)
def test_each_part_of_the_period(
    findings: Check,
    collection: dict[str, Any],
    kind: str,
    article: str,
    field: str,
    pointer: str,
) -> None:
    collection["kind"] = kind
    del collection["period"][field]
    assert missing(findings(collection)) == {(article, pointer)}


@pytest.mark.parametrize(("kind", "article"), [("realtime_traffic", "45"), ("interception", "46")])
@pytest.mark.parametrize("end", ["2026-12-01", "2026-11-30", "2026-01-01"])
def test_period_reversed(
    findings: Check, collection: dict[str, Any], kind: str, article: str, end: str
) -> None:
    collection["kind"] = kind
    collection["period"]["end"] = end  # start is 2026-12-01
    [f] = [f for f in findings(collection) if f.code == "period_reversed"]
    assert (f.severity, f.article, f.field) == ("error", article, "/period/end")
    assert end in f.message


def test_period_of_one_day_is_not_reversed(findings: Check, collection: dict[str, Any]) -> None:
    collection["period"]["end"] = "2026-12-02"
    assert not [f for f in findings(collection) if f.code == "period_reversed"]


@pytest.mark.parametrize(("kind", "article"), [("realtime_traffic", "45"), ("interception", "46")])
def test_collection_data(
    findings: Check, collection: dict[str, Any], kind: str, article: str
) -> None:
    collection["kind"] = kind
    collection["data"] = [{}]
    # category and identifiers; no custodian nor relation to the offence for 45/46
    assert missing(findings(collection)) == {
        (article, "/data/0/category"),
        (article, "/data/0/identifiers"),
    }
    collection["data"] = []
    assert missing(findings(collection)) == {(article, "/data")}


# --- Emergencies (41, 2(o)) ------------------------------------------------------------


@pytest.mark.parametrize("urgency", ["routine", "urgent"])
def test_emergency_disclosure_must_be_marked_emergency(
    findings: Check, emergency: dict[str, Any], urgency: str
) -> None:
    emergency["urgency"] = urgency
    found = findings(emergency)
    [f] = [f for f in found if f.code == "not_marked_emergency"]
    assert (f.severity, f.article, f.field) == ("error", "41", "/urgency")
    assert not [f for f in found if f.code == "emergency_not_described"]


def test_emergency_disclosure_without_the_risk(findings: Check, emergency: dict[str, Any]) -> None:
    del emergency["emergency"]
    found = findings(emergency)
    assert missing(found) == {("2(o)", "/emergency")}
    # reported once: the form's requirement, not again as a consistency finding
    assert [f.code for f in found if f.field == "/emergency"] == ["missing_content"]


@pytest.mark.parametrize("text", [None, "", "   "])
def test_any_emergency_must_describe_the_risk(
    findings: Check, example: dict[str, Any], text: str | None
) -> None:
    example["urgency"] = "emergency"
    example["emergency"] = text
    [f] = [f for f in findings(example) if f.code == "emergency_not_described"]
    assert (f.severity, f.article, f.field) == ("error", "2(o)", "/emergency")


def test_described_emergency_is_accepted(findings: Check, example: dict[str, Any]) -> None:
    example["urgency"] = "emergency"
    example["emergency"] = "The intruders threaten to switch off life support."
    assert errors(findings(example)) == []


def test_urgent_is_not_an_emergency(findings: Check, example: dict[str, Any]) -> None:
    assert example["urgency"] == "urgent"
    assert not [f for f in findings(example) if f.field == "/emergency"]


@pytest.mark.parametrize(("urgency", "flagged"), [("routine", True), ("urgent", False)])
def test_provisional_arrest_is_urgent(
    findings: Check, extradition: dict[str, Any], urgency: str, flagged: bool
) -> None:
    extradition["kind"] = "provisional_arrest"
    extradition["urgency"] = urgency
    found = [f for f in findings(extradition) if f.code == "not_urgent"]
    assert [(f.severity, f.article, f.field) for f in found] == (
        [("error", "37", "/urgency")] if flagged else []
    )


# --- Deadline, oral requests (40(25), 40(14)) -------------------------------------------


def test_deadline_without_reason(findings: Check, example: dict[str, Any]) -> None:
    example["deadline"] = {"date": "2026-12-01"}
    [f] = [f for f in findings(example) if f.code == "deadline_without_reason"]
    assert (f.severity, f.article, f.field) == ("warning", "40(25)", "/deadline/reason")


def test_deadline_with_reason(findings: Check, example: dict[str, Any]) -> None:
    example["deadline"] = {"date": "2026-12-01", "reason": "Logs are deleted after 7 days."}
    assert not [f for f in findings(example) if f.field.startswith("/deadline")]


def test_reason_without_a_date_is_no_deadline(findings: Check, example: dict[str, Any]) -> None:
    example["deadline"] = {"reason": "Soon."}
    assert not [f for f in findings(example) if f.field.startswith("/deadline")]


@pytest.mark.parametrize(
    ("day", "passed"), [("2026-11-23", True), ("2026-11-24", False), ("2026-11-25", False)]
)
def test_deadline_passed(findings: Check, example: dict[str, Any], day: str, passed: bool) -> None:
    example["deadline"] = {"date": day, "reason": "The trial opens."}
    found = [f for f in findings(example) if f.code == "deadline_passed"]
    assert [(f.severity, f.article, f.field) for f in found] == (
        [("warning", "40(25)", "/deadline/date")] if passed else []
    )
    if passed:
        assert day in found[0].message and "2026-11-24" in found[0].message


@pytest.mark.parametrize("oral", [True, False])
def test_oral_request_is_confirmed_in_writing(
    findings: Check, example: dict[str, Any], oral: bool
) -> None:
    example["oral"] = oral
    found = [f for f in findings(example) if f.code == "oral_confirm_in_writing"]
    assert [(f.severity, f.article, f.field) for f in found] == (
        [("info", "40(14)", "/oral")] if oral else []
    )


# --- Every form: a blank document reports every required field ---------------------------


@pytest.mark.parametrize("kind", list(convention().forms))
def test_empty_document_reports_each_unconditional_requirement(kind: str) -> None:
    form = convention().forms[kind]
    doc, _ = read_request({"kind": kind})
    found = list(check_completeness(doc, form, date(2026, 11, 24)))
    reported = {(f.article, f.field.split("/")[1]) for f in found if f.severity == "error"}
    for req in form.requires:
        if req.when is not None or req.field == "language":
            continue  # language: reported once, by the channel check (40(14))
        assert (req.article, req.field) in reported, (kind, req.field)
    # nothing is reported that the form does not require
    required = {(r.article, r.field) for r in form.requires}
    assert reported <= required


@pytest.mark.parametrize("kind", ["stored_data", "preservation"])
def test_40_15_a_and_42_2_a_ask_the_authority_s_identity_a_contact_is_good_practice(
    findings: Check, example: dict[str, Any], stored_data: dict[str, Any], kind: str
) -> None:
    doc = copy.deepcopy(stored_data if kind == "stored_data" else example)
    doc["requesting_authority"]["contact"] = ""
    found = [f for f in findings(doc) if f.field == "/requesting_authority/contact"]
    assert [(f.code, f.severity, f.article, f.basis) for f in found] == [
        ("contact_missing", "warning", None, "good practice")
    ]
    article = "40(15)(a)" if kind == "stored_data" else "42(2)(a)"
    assert f"{article} requires only the identity of the requesting authority" in found[0].message
    del doc["requesting_authority"]
    assert ("missing_content", article, "/requesting_authority/name") in {
        (f.code, f.article, f.field) for f in findings(doc) if f.severity == "error"
    }


def test_a_named_contact_answers_the_good_practice_warning(
    findings: Check, stored_data: dict[str, Any]
) -> None:
    doc = copy.deepcopy(stored_data)
    doc["requesting_authority"]["contact"] = ""
    doc["contacts"] = {"name": "Ana Lima (demo), +000 1 555, ana@justice.aurelia.example"}
    assert "contact_missing" not in {f.code for f in findings(doc)}


@pytest.mark.parametrize(
    ("zone", "wrong"),
    [
        ("Europe/Paris", False),
        ("Asia/Ho_Chi_Minh", False),
        ("Europe", True),
        ("CET+1", True),
        ("../../etc/passwd", True),
    ],
)
def test_the_contacts_time_zone_is_one_of_the_iana_database(
    findings: Check, stored_data: dict[str, Any], zone: str, wrong: bool
) -> None:
    doc = dict(stored_data, contacts={"office_hours": "08:00-18:00", "time_zone": zone})
    found = [f for f in findings(doc) if f.code == "time_zone_unknown"]
    assert [(f.severity, f.basis, f.field) for f in found] == (
        [("error", "format", "/contacts/time_zone")] if wrong else []
    )
