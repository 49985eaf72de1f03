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
from hanoinet.law.document import TOP_FIELDS, set_aside
from hanoinet.law.findings import BASES, ORDER, sort_findings
from hanoinet.law.profiles import demo_profiles
from hanoinet.registry import ActionKind, TreatyAction
from hanoinet.registry.designations import demo_designations

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
FORMS = list(convention().forms)
CTX = default_context(date(2026, 11, 24))
SHAPE_CODES = {"invalid_value", "unknown_field"}
FORMAT_CODES = SHAPE_CODES | {
    "time_zone_unknown",
    "identifier_invalid",
    "identifier_value_missing",
    "data_period_reversed",
}
"""Findings on how a value is written, not on what the Convention asks (``basis``: format)."""

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
            assert f.basis in BASES and f.basis != "convention", f
            assert f.basis != "format" or f.code in FORMAT_CODES, f
        else:
            assert f.basis == "convention", f
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
    assert {f.code for f in found} >= {"invalid_value"}
    assert_well_formed(found)


def test_check_text_raises_not_a_request_for_non_requests() -> None:
    with pytest.raises(NotARequest):
        check_text("[1, 2]", CTX)


def test_sort_findings_keeps_document_order_within_a_severity() -> None:
    made = [
        Finding("i1", "info", None, "", "m", basis="format"),
        Finding("e1", "error", None, "", "m", basis="format"),
        Finding("w1", "warning", None, "", "m", basis="format"),
        Finding("e2", "error", None, "", "m", basis="format"),
        Finding("i2", "info", None, "", "m", basis="format"),
        Finding("w2", "warning", None, "", "m", basis="format"),
    ]
    assert [f.code for f in sort_findings(made)] == ["e1", "e2", "w1", "w2", "i1", "i2"]


def test_has_errors() -> None:
    assert not has_errors([])
    assert not has_errors([Finding("w", "warning", None, "", "m", basis="format")])
    assert has_errors(
        [
            Finding("w", "warning", None, "", "m", basis="format"),
            Finding("e", "error", "7", "", "m"),
        ]
    )


def test_finding_as_dict() -> None:
    f = Finding("missing_content", "error", "42(2)(e)", "/necessity", "Missing")
    assert f.as_dict() == {
        "code": "missing_content",
        "severity": "error",
        "article": "42(2)(e)",
        "article_verified": False,
        "basis": "convention",
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


# --- One bad value gives findings about it alone (item 5 of issue 23) ------------------------

from tests.law.conftest import COLLECTION, EMERGENCY, EXTRADITION, STORED_DATA  # noqa: E402

VALID = {
    "preservation": json.loads(EXAMPLE.read_text(encoding="utf-8")),
    "stored_data": STORED_DATA,
    "realtime_traffic": COLLECTION,
    "emergency_disclosure": EMERGENCY,
    "extradition": EXTRADITION,
    "mla_general": {
        **STORED_DATA,
        "kind": "mla_general",
        "data": [
            {
                **STORED_DATA["data"][0],
                "identifiers": [
                    {
                        "kind": "ip",
                        "value": "203.0.113.7",
                        "port": 443,
                        "timestamp": "2026-03-01T14:30:00",
                        "time_zone": "UTC",
                    },
                    {"kind": "email", "value": "user@example.org"},
                    {"kind": "account", "value": "joe", "service": "ExampleMail (demo)"},
                    "ExampleBank account 00042 (demo)",
                ],
                "period": {"start": "2026-02-01", "end": "2026-03-01"},
            }
        ],
        "legal_basis": {
            "instrument": "treaty",
            "name": "Aurelia-Borealis Treaty on Mutual Legal Assistance (demo)",
            "article": "art. 3",
        },
        "authorities": {
            "conducting": "Aurelia Public Prosecutor (demo)",
            "validating": "Aurelia Court of First Instance (demo)",
        },
        "contacts": {
            "name": "Ana Lima (demo), +000 1 555",
            "backup": "Duty desk (demo), +000 1 000",
            "office_hours": "08:00-18:00",
            "time_zone": "Europe/Paris",
        },
        "references": {
            "own_reference": "AUR-2026-0042 (demo)",
            "date": "2026-11-20",
            "earlier_requests": ["AUR-2026-0040 (demo)"],
            "earlier_contacts": ["24/7 ticket 7781 (demo)"],
        },
    },
}
FIXED = {("format",), ("kind",)}
"""Values that decide whether a file is a request at all (NotARequest, not a finding)."""


def _places(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every value inside a document, by its path: objects, lists and what they hold."""
    found = [at] if at and at not in FIXED else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*at, i))
    return found


def _corruptions(path: tuple[str | int, ...], value: Any) -> list[Any]:
    """Values of the wrong kind for ``value``, and, for codes a check reads, a wrong code of
    the right kind (lower case, unknown)."""
    wrong: list[Any] = [{"x": 1}] if not isinstance(value, dict) else [[1]]
    wrong.append(12345 if isinstance(value, str | list | dict | bool) else "many")
    if isinstance(value, int | float) and not isinstance(value, bool):
        wrong.append(-1)
    if path[-1] in ("requesting_state", "requested_state") and isinstance(value, str):
        wrong.append(value.lower())
    if "conduct" in path and isinstance(value, str):
        wrong.append("no_such_conduct")
    return wrong


def _put(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    node: Any = changed
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


def _pointer(path: tuple[str | int, ...]) -> str:
    return "/" + "/".join(str(p) for p in path)


def _value_at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


CASES = [
    (kind, path, bad)
    for kind, doc in VALID.items()
    for path in _places(doc)
    for bad in _corruptions(path, _value_at(doc, path))
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CASES))
def test_one_bad_value_gives_findings_about_it_alone(
    case: tuple[str, tuple[str | int, ...], Any],
) -> None:
    """Corrupt one value of a valid request: every finding that was not there before points at
    that value or at what it sets aside (a list, for a bad item of it), never at a field
    judged wrongly because of it."""
    kind, path, bad = case
    before = VALID[kind]
    _, found_before = check_text(json.dumps(before), CTX)
    _, found = check_text(json.dumps(_put(before, path, bad)), CTX)
    known = {(f.code, f.field) for f in found_before}
    where = _pointer(path)
    aside = set_aside(where)
    new = [f for f in found if (f.code, f.field) not in known]
    assert new, f"{where} = {bad!r} was not reported"
    for f in new:
        assert "does not take" not in f.message, f"{where} = {bad!r}: no plain words for it"
        assert any(f.field == p or f.field.startswith(p + "/") for p in (where, aside)), (
            f"{where} = {bad!r} also gave {f.code} at {f.field}: {f.message}"
        )


@pytest.mark.parametrize(
    ("kind", "path", "bad", "expected"),
    [
        (
            "realtime_traffic",
            ("period", "start"),
            "the first",
            [("invalid_value", "/period/start")],
        ),
        (
            "stored_data",
            ("offences", 0, "max_penalty_years"),
            -2,
            [("invalid_value", "/offences/0/max_penalty_years")],
        ),
        (
            "stored_data",
            ("offences", 0, "conduct", 0),
            "no_such_conduct",
            [("unknown_conduct", "/offences/0/conduct/0")],
        ),
        ("stored_data", ("requested_state",), "xb", [("state_unknown", "/requested_state")]),
        ("preservation", ("requesting_state",), "xa", [("state_unknown", "/requesting_state")]),
    ],
)
def test_a_bad_value_is_one_finding_not_three(
    kind: str, path: tuple[str | int, ...], bad: object, expected: list[tuple[str, str]]
) -> None:
    """The cases a reader of the Convention found (issue 23): a bad period start did report
    its end and justification missing, a negative penalty the whole offence, an unknown
    conduct also a dual-criminality warning, a lower-case State code three findings."""
    before = VALID[kind]
    _, found_before = check_text(json.dumps(before), CTX)
    _, found = check_text(json.dumps(_put(before, path, bad)), CTX)
    known = {(f.code, f.field) for f in found_before}
    assert [(f.code, f.field) for f in found if (f.code, f.field) not in known] == expected
