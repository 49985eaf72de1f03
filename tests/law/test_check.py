"""Every check together: the example passes, findings are sorted and well formed, and no
document naming a known kind makes the checks raise."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hanoinet.convention import convention
from hanoinet.errors import NotARequest
from hanoinet.law import (
    Context,
    Finding,
    check,
    check_text,
    default_context,
    has_errors,
    parse_request,
    template,
)
from hanoinet.law.document import TOP_FIELDS
from hanoinet.law.findings import ORDER, sort_findings
from hanoinet.law.profiles import demo_profiles
from hanoinet.registry import ActionKind, TreatyAction
from hanoinet.registry.designations import demo_designations

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
FORMS = list(convention().forms)
CTX = default_context(date(2026, 11, 24))
SHAPE_CODES = {"invalid_value", "unknown_field"}

Check = Callable[..., list[Finding]]


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def assert_well_formed(found: list[Finding]) -> None:
    convention_ = convention()
    for f in found:
        assert f.severity in ORDER
        assert f.code and f.code == f.code.lower() and " " not in f.code
        assert f.message.strip(), f
        assert f.field == "" or f.field.startswith("/"), f
        if f.article is None:
            assert f.code in SHAPE_CODES, f
        else:
            assert convention_.key(f.article).key == f.article
    ranks = [ORDER[f.severity] for f in found]
    assert ranks == sorted(ranks)


def test_example_has_no_errors() -> None:
    doc, found = check_text(EXAMPLE.read_text(encoding="utf-8"), CTX, name=EXAMPLE.name)
    assert doc.kind == "preservation"
    assert not has_errors(found)
    assert [f.severity for f in found if f.severity == "error"] == []
    assert_well_formed(found)


def test_check_and_check_text_agree() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    doc, found = check_text(text, CTX)
    parsed, shape = parse_request(text)
    assert shape == [] and parsed == doc
    assert check(parsed, CTX) == found


def test_check_text_adds_shape_findings_in_severity_order() -> None:
    doc = example()
    doc["urgency"] = "soon"
    doc["oral"] = True
    _, found = check_text(json.dumps(doc), CTX)
    assert found[0].code == "invalid_value"
    assert {f.code for f in found} >= {"invalid_value", "oral_confirm_in_writing"}
    assert_well_formed(found)


def test_check_text_raises_not_a_request_for_non_requests() -> None:
    with pytest.raises(NotARequest):
        check_text("[1, 2]", CTX)


def test_sort_findings_keeps_document_order_within_a_severity() -> None:
    made = [
        Finding("i1", "info", None, "", "m"),
        Finding("e1", "error", None, "", "m"),
        Finding("w1", "warning", None, "", "m"),
        Finding("e2", "error", None, "", "m"),
        Finding("i2", "info", None, "", "m"),
        Finding("w2", "warning", None, "", "m"),
    ]
    assert [f.code for f in sort_findings(made)] == ["e1", "e2", "w1", "w2", "i1", "i2"]


def test_has_errors() -> None:
    assert not has_errors([])
    assert not has_errors([Finding("w", "warning", None, "", "m")])
    assert has_errors([Finding("w", "warning", None, "", "m"), Finding("e", "error", "7", "", "m")])


def test_finding_as_dict() -> None:
    f = Finding("missing_content", "error", "42(2)(e)", "/necessity", "Missing")
    assert f.as_dict() == {
        "code": "missing_content",
        "severity": "error",
        "article": "42(2)(e)",
        "field": "/necessity",
        "message": "Missing",
    }
    assert json.loads(json.dumps(f.as_dict())) == f.as_dict()


# --- A broad set of bad documents -----------------------------------------------------------


def bad_documents() -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    for kind in FORMS:
        docs.append((f"template-{kind}", template(kind)))
        docs.append((f"empty-{kind}", {"kind": kind}))
        filled = {**example(), "kind": kind}
        docs.append((f"example-as-{kind}", filled))
    mutations: dict[str, dict[str, Any]] = {
        "shape": {"urgency": "soon", "offences": "x", "deadline": {"date": "tomorrow"}, "x": 1},
        "nested-shape": {"requesting_authority": {"nmae": "x"}, "data": [{"category": 1}]},
        "states": {"requesting_state": "xa", "requested_state": None},
        "same-state": {"requested_state": "XA"},
        "real-state": {"requested_state": "FR", "language": "fr"},
        "caldera": {"requested_state": "XC"},
        "offences": {
            "offences": [
                {"article": "18"},
                {"article": "7", "conduct": ["hack"], "elements": ["x"]},
                {"name": "Trespass"},
                {"name": "Trespass", "max_penalty_years": 1},
                {},
            ]
        },
        "out-of-scope": {"offences": [{"name": "Trespass", "max_penalty_years": 2}]},
        "deadline": {"deadline": {"date": "2020-01-01"}, "oral": True},
        "emergency": {"urgency": "emergency"},
        "period": {"period": {"start": "2027-01-02", "end": "2027-01-01"}},
        "onward": {"onward_transfer": {}},
        "channel": {"channel": "interpol", "requesting_state": "XC"},
        "no-channel": {"channel": None, "language": None},
        "mla-refused": {"mla_to_follow": False, "data": [{}]},
    }
    for name, changes in mutations.items():
        for kind in ("preservation", "stored_data", "extradition", "emergency_disclosure"):
            docs.append((f"{name}-{kind}", {**example(), "kind": kind, **copy.deepcopy(changes)}))
    return docs


BAD = bad_documents()


@pytest.mark.parametrize("doc", [d for _, d in BAD], ids=[n for n, _ in BAD])
def test_every_finding_is_well_formed(doc: dict[str, Any]) -> None:
    _, found = check_text(json.dumps(doc), CTX)
    assert found, "a bad document gives findings"
    assert_well_formed(found)


def test_the_bad_documents_exercise_every_severity_and_many_codes() -> None:
    seen: set[str] = set()
    severities: set[str] = set()
    for _, doc in BAD:
        _, found = check_text(json.dumps(doc), CTX)
        seen |= {f.code for f in found}
        severities |= {f.severity for f in found}
    assert severities == {"error", "warning", "info"}
    assert len(seen) >= 30, sorted(seen)


def test_well_formed_when_in_force() -> None:
    codes = ["XA", "XB", *sorted(c.alpha_2 for c in pycountry.countries)[:38]]
    rows = [
        TreatyAction(code, code, ActionKind.ACCESSION, date(2026, 1, 5), True, "https://x.org")
        for code in codes
    ]
    ctx = Context(date(2026, 6, 1), rows, demo_designations(), demo_profiles())
    assert ctx.status.in_force
    _, found = check_text(EXAMPLE.read_text(encoding="utf-8"), ctx)
    assert "convention_basis" in {f.code for f in found}
    for _, doc in BAD:
        _, found = check_text(json.dumps(doc), ctx)
        assert_well_formed(found)


# --- Nothing but findings, whatever the values --------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
STATES = st.sampled_from(["XA", "XB", "XC", "FR", "EU", "xa", "ZZ", "", "XAX"])
ARTICLES = st.sampled_from(["7", "8", "9", "11", "13", "17", "18", "x", ""]) | st.none()
CONDUCT = st.sampled_from(["access", "possess", "deception", "convert", "nope"])
ELEMENTS = st.sampled_from(["infringing_security_measures", "serious_harm", "nope"])
OFFENCE = st.fixed_dictionaries(
    {},
    optional={
        "article": ARTICLES,
        "name": st.text(max_size=8) | st.none(),
        "max_penalty_years": st.floats(0, 20) | st.none(),
        "conduct": st.lists(CONDUCT, max_size=3),
        "elements": st.lists(ELEMENTS, max_size=2),
    },
)
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "requesting_state": STATES,
    "requested_state": STATES,
    "offences": st.lists(OFFENCE, max_size=3),
    "urgency": st.sampled_from(["routine", "urgent", "emergency"]),
    "channel": st.sampled_from(
        ["central_authority", "point_of_contact", "interpol", "diplomatic", "law_enforcement"]
    ),
    "language": st.sampled_from(["en", "fr", "es", "", "EN"]),
    "deadline": st.fixed_dictionaries(
        {}, optional={"date": st.dates().map(str), "reason": st.text(max_size=5)}
    ),
    "period": st.fixed_dictionaries(
        {}, optional={"start": st.dates().map(str), "end": st.dates().map(str)}
    ),
    "onward_transfer": st.fixed_dictionaries(
        {},
        optional={
            "recipient": STATES,
            "received_from": STATES,
            "authorization": st.text(max_size=3),
        },
    ),
}
FIELDS = [f for f in TOP_FIELDS if f not in ("format", "kind")]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": draw(st.sampled_from(FORMS))}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True)):
        plausible = PLAUSIBLE.get(field)
        strategy = JSON if plausible is None else (plausible | JSON)
        doc[field] = draw(strategy)
    if draw(st.booleans()):
        extra = draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in ("kind", "format")))
        doc[extra] = draw(JSON)
    return doc


@settings(max_examples=300, deadline=None, database=None)
@given(documents())
def test_check_text_never_raises_on_a_known_kind(doc: dict[str, Any]) -> None:
    parsed, found = check_text(json.dumps(doc), CTX)
    assert parsed.kind == doc["kind"]
    assert_well_formed(found)
    for f in found:
        if f.code in SHAPE_CODES:
            top = f.field.split("/")[1].replace("~1", "/").replace("~0", "~")
            assert top in doc


def test_check_sorts_errors_warnings_infos() -> None:
    # completeness and data protection run last and first: their errors must lead
    doc = {**example(), "oral": True, "deadline": {"date": "2026-12-01"}, "onward_transfer": {}}
    parsed, shape = parse_request(json.dumps(doc))
    assert shape == []
    found = check(parsed, CTX)
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=ORDER.__getitem__)
    assert severities[0] == "error" and severities[-1] == "info"
    assert {"warning"} <= set(severities)
    assert found[-1].code in {"oral_confirm_in_writing", "dual_criminality_not_required"}
