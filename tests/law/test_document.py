"""The request document: what is not a request at all, what is a request with bad fields,
the template of every form and the published JSON Schema."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from hanoinet.convention import convention
from hanoinet.errors import NotARequest, RequestTooLarge
from hanoinet.law import (
    FORMAT,
    check_text,
    default_context,
    parse_request,
    request_schema,
    template,
)
from hanoinet.law.document import (
    CODE,
    FEW,
    LONG,
    MANY,
    MAX_DOCUMENT_BYTES,
    MAX_TEXT_BYTES,
    NAME,
    TEXT,
    TOP_FIELDS,
    RequestDocument,
    pointer,
    read_request,
    set_aside,
)

FORMS = list(convention().forms)


def parse(doc: dict[str, Any]) -> tuple[RequestDocument, list[Any]]:
    return parse_request(json.dumps(doc))


# --- Not a request at all -------------------------------------------------------------


def test_not_json_names_the_document_line_and_column() -> None:
    with pytest.raises(NotARequest) as info:
        parse_request('{\n  "kind": "preservation",\n  "urgency": \n}', name="req.json")
    message = str(info.value)
    assert message.startswith("req.json is not JSON")
    assert "line 4" in message
    assert "column 1" in message
    assert info.value.code == "not_a_request"


def test_empty_text_is_not_json() -> None:
    with pytest.raises(NotARequest, match="line 1, column 1"):
        parse_request("")


@pytest.mark.parametrize(
    ("text", "found"),
    [("[]", "list"), ('[{"kind": "preservation"}]', "list"), ('"x"', "str"), ("3", "int")],
)
def test_json_that_is_not_an_object_is_not_a_request(text: str, found: str) -> None:
    with pytest.raises(NotARequest, match=f"expected a JSON object, found {found}"):
        parse_request(text)


def test_read_request_refuses_a_non_dict() -> None:
    with pytest.raises(NotARequest, match="found list"):
        read_request([])


@pytest.mark.parametrize(
    ("doc", "shown"),
    [
        ({}, "null"),
        ({"kind": None}, "null"),
        ({"kind": 42}, "42"),
        ({"kind": ["preservation"]}, '["preservation"]'),
        ({"kind": "wiretap"}, '"wiretap"'),
        ({"kind": "Preservation"}, '"Preservation"'),
    ],
)
def test_missing_or_unknown_kind_lists_every_kind(doc: dict[str, Any], shown: str) -> None:
    with pytest.raises(NotARequest) as info:
        parse(doc)
    message = str(info.value)
    assert f"'kind' is {shown}" in message
    for kind in FORMS:
        assert kind in message


@pytest.mark.parametrize("fmt", ["hanoinet.request/2", None, 1, ""])
def test_wrong_format_is_not_a_request(fmt: object) -> None:
    with pytest.raises(NotARequest) as info:
        parse({"format": fmt, "kind": "preservation"})
    assert FORMAT in str(info.value)
    assert json.dumps(fmt) in str(info.value)


def test_format_may_be_absent_or_exact() -> None:
    doc, shape = parse({"kind": "preservation"})
    assert shape == [] and doc.format == FORMAT
    doc, shape = parse({"format": FORMAT, "kind": "preservation"})
    assert shape == [] and doc.kind == "preservation"


# --- A request with fields of the wrong shape -----------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("offences", "x", "/offences"),
        ("offences", [1], "/offences/0"),
        ("offences", [{"max_penalty_years": -1}], "/offences/0/max_penalty_years"),
        ("offences", [{"conduct": "access"}], "/offences/0/conduct"),
        ("urgency", "soon", "/urgency"),
        ("deadline", {"date": "tomorrow"}, "/deadline/date"),
        ("deadline", "2026-12-01", "/deadline"),
        ("period", {"start": "the first"}, "/period/start"),
        ("mla_to_follow", "perhaps", "/mla_to_follow"),
        ("channel", "pigeon", "/channel"),
        ("data", [{"category": "secret"}], "/data/0/category"),
        ("requesting_authority", "the police", "/requesting_authority"),
        ("requesting_state", 33, "/requesting_state"),
        ("matter", {"nature": "inquiry"}, "/matter/nature"),
        ("onward_transfer", [], "/onward_transfer"),
    ],
)
def test_wrong_typed_field_is_a_finding_and_treated_as_absent(
    example: dict[str, Any], field: str, value: object, where: str
) -> None:
    example[field] = value
    doc, shape = parse(example)
    assert [(f.code, f.severity, f.field) for f in shape] == [("invalid_value", "error", where)]
    assert "set aside until corrected" in shape[0].message
    # Only the bad value is set aside (a whole list for a bad item of it): what surrounds it
    # is read as if it were not there.
    without = json.loads(json.dumps(example))
    parts = set_aside(where).split("/")[1:]
    node = without
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[parts[-1]]
    assert doc == RequestDocument.model_validate(without)


def test_a_bad_value_inside_a_part_keeps_the_rest_of_it(example: dict[str, Any]) -> None:
    example["period"] = {"start": "the first", "end": "2026-02-01", "justification": "why"}
    doc, shape = parse(example)
    assert [f.field for f in shape] == ["/period/start"]
    assert doc.period is not None
    assert (doc.period.start, str(doc.period.end), doc.period.justification) == (
        None,
        "2026-02-01",
        "why",
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            {"nature": 5},
            "should be one of: 'investigation', 'prosecution' or 'judicial_proceeding', not a number",
        ),
        ([], "should be a group of fields in braces {...}, not a list"),
        ("the police", "should be a group of fields in braces {...}, not text"),
    ],
)
def test_a_wrong_value_is_said_in_plain_words(
    example: dict[str, Any], value: object, says: str
) -> None:
    example["matter"] = value
    _, shape = parse(example)
    assert says in shape[0].message
    assert "Input should" not in shape[0].message and "instance of" not in shape[0].message


def test_shape_finding_cites_the_article_that_requires_the_field(example: dict[str, Any]) -> None:
    example["offences"] = "x"  # preservation: offences are required by 42(2)(b)
    example["urgency"] = "soon"  # no article of the preservation form requires urgency
    _, shape = parse(example)
    articles = {f.field: f.article for f in shape}
    assert articles == {"/offences": "42(2)(b)", "/urgency": None}


def test_every_bad_field_is_reported_and_the_rest_is_still_checked(
    example: dict[str, Any], ctx: Any
) -> None:
    example["offences"] = "x"
    example["urgency"] = "soon"
    example["deadline"] = {"date": "tomorrow"}
    del example["necessity"]
    doc, found = check_text(json.dumps(example), ctx)
    invalid = {f.field for f in found if f.code == "invalid_value"}
    assert invalid == {"/offences", "/urgency", "/deadline/date"}
    # the bad value is reported once: not again as missing
    assert not any(f.code == "missing_content" and f.field == "/offences" for f in found)
    # the other problems are still found
    assert any(f.code == "missing_content" and f.field == "/necessity" for f in found)
    # the good fields are kept
    assert doc.facts_summary == example["facts_summary"]
    assert doc.data[0].custodian == "Borealis Hosting Ltd (demo)"
    assert doc.channel == "point_of_contact"


def test_several_errors_in_one_field_give_one_finding(example: dict[str, Any]) -> None:
    example["offences"] = [1, "two", {"article": 7}]
    _, shape = parse(example)
    assert len(shape) == 1
    assert shape[0].field.startswith("/offences")


def test_unknown_top_level_field_is_named(example: dict[str, Any]) -> None:
    example["requsting_state"] = "XA"
    doc, shape = parse(example)
    assert [(f.code, f.severity, f.field) for f in shape] == [
        ("unknown_field", "error", "/requsting_state")
    ]
    assert "'requsting_state'" in shape[0].message
    assert "requesting_state" in shape[0].message  # the list of real fields
    assert doc.requesting_state == "XA"


def test_unknown_nested_field_is_named(example: dict[str, Any]) -> None:
    example["requesting_authority"]["phone"] = "+000"
    _, shape = parse(example)
    assert [(f.code, f.field, f.article) for f in shape] == [
        ("unknown_field", "/requesting_authority/phone", "42(2)(a)")
    ]
    assert "'phone'" in shape[0].message
    assert "not a field here" in shape[0].message


def test_unknown_field_names_are_escaped_in_the_pointer(example: dict[str, Any]) -> None:
    example["a/b~c"] = 1
    _, shape = parse(example)
    assert [f.field for f in shape] == ["/a~1b~0c"]


def test_read_request_does_not_modify_its_input(example: dict[str, Any]) -> None:
    example["urgency"] = "soon"
    before = json.loads(json.dumps(example))
    read_request(example)
    assert example == before


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        ((), ""),
        (("urgency",), "/urgency"),
        (("offences", 0, "article"), "/offences/0/article"),
        (("a/b",), "/a~1b"),
        (("m~n",), "/m~0n"),
        (("~1",), "/~01"),  # "~" is escaped first, so "~1" is not read back as "/"
        (("/",), "/~1"),
        (("",), "/"),
    ],
)
def test_pointer_is_rfc6901(loc: tuple[int | str, ...], expected: str) -> None:
    assert pointer(loc) == expected


def test_deeply_nested_json_is_not_a_request_rather_than_a_crash() -> None:
    text = '{"kind": "preservation", "facts_summary": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(NotARequest, match=r"nests 100001 levels deep; .* at most 32"):
        parse_request(text)


# --- Limits: a document larger than any request is refused whole, naming the field ---------


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        (
            ("facts_summary",),
            "x" * (LONG + 1),
            "/facts_summary has 50,001 characters; at most 50,000",
        ),
        (("requesting_authority", "name"), "x" * (NAME + 1), "/requesting_authority/name has 501"),
        (("persons",), [{}] * (MANY + 1), "/persons has 201 items; at most 200"),
        (("offences", 0, "conduct"), ["a"] * (FEW + 1), "/offences/0/conduct has 51 items"),
        (("data", 0, "identifiers", 1), "x" * (NAME + 1), "/data/0/identifiers/1 has 501"),
        (("language",), "x" * (CODE + 1), "/language has 65 characters; at most 64"),
    ],
)
def test_a_text_or_a_list_past_its_limit_refuses_the_document_naming_it(
    example: dict[str, Any], path: tuple[str | int, ...], value: Any, said: str
) -> None:
    example.setdefault("offences", [{}])
    example["data"] = [{"identifiers": ["a", "b"]}]
    where: Any = example
    for step in path[:-1]:
        where = where[step]
    where[path[-1]] = value
    with pytest.raises(RequestTooLarge, match="shorten it") as refused:
        parse_request(json.dumps(example), "req.json")
    assert refused.value.message.startswith(f"req.json: {said}")
    assert refused.value.code == "request_too_large"


def test_texts_each_within_their_limit_may_not_add_up_past_the_whole(
    example: dict[str, Any],
) -> None:
    for field in ("facts_summary", "assistance_sought", "procedures_requested", "purpose"):
        example[field] = "é" * LONG  # two bytes each: 100,000 bytes a field
    example["persons"] = [{"name": "x" * NAME, "location": "y" * TEXT}] * MANY
    with pytest.raises(RequestTooLarge, match=r"bytes as JSON; .* at most 524,288"):
        read_request(example)
    del example["persons"]
    doc, findings = parse_request(json.dumps(example))
    assert doc.facts_summary == "é" * LONG
    assert not [f for f in findings if f.code == "invalid_value"]


def test_numbers_that_grow_when_written_out_are_measured_as_written(
    example: dict[str, Any],
) -> None:
    # 140,000 bytes of text, 532,000 as compact JSON: 1e15 is written 1000000000000000.0
    text = json.dumps(example)[:-1] + ', "x": [' + ",".join(["1e15"] * 28_000) + "]}"
    assert len(text) < MAX_DOCUMENT_BYTES < len(json.dumps(json.loads(text), separators=(",", ":")))
    with pytest.raises(RequestTooLarge, match=r"bytes as JSON; .* at most 524,288"):
        parse_request(text)


def test_a_text_too_large_for_any_document_is_refused_before_it_is_parsed() -> None:
    text = "[" + " " * MAX_TEXT_BYTES  # not even JSON: never read as such
    with pytest.raises(RequestTooLarge, match=r"2,097,153 bytes; .* at most 524,288"):
        parse_request(text)


def test_the_schema_states_every_limit() -> None:
    schema = request_schema()
    assert schema["properties"]["facts_summary"]["anyOf"][0]["maxLength"] == LONG
    assert schema["properties"]["persons"]["maxItems"] == MANY
    assert str(MAX_DOCUMENT_BYTES) in schema["$comment"]
    person = schema["$defs"]["Person"]["properties"]
    assert person["identifiers"]["items"]["oneOf"][0]["maxLength"] == NAME
    typed = schema["$defs"]["Identifier"]["properties"]
    assert typed["value"]["anyOf"][0]["maxLength"] == NAME
    texts = [
        prop
        for part in [schema, *schema["$defs"].values()]
        for name, prop in part["properties"].items()
        if name not in ("kind", "format")
        for prop in [prop, *prop.get("anyOf", [])]
        if prop.get("type") == "string" and "enum" not in prop and "format" not in prop
    ]
    assert texts and all("maxLength" in p for p in texts)


# --- Template and schema ----------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = request_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_kind_enum_is_the_forms() -> None:
    assert request_schema()["properties"]["kind"]["enum"] == FORMS
    assert len(FORMS) == 18  # the 17 forms of cooperation and the 22(5) consultation


def test_schema_properties_are_the_document_fields() -> None:
    assert tuple(request_schema()["properties"]) == TOP_FIELDS


def test_schema_accepts_the_example_and_rejects_unknown_fields_and_kinds(
    example: dict[str, Any],
) -> None:
    validator = Draft202012Validator(request_schema())
    assert list(validator.iter_errors(example)) == []
    assert list(validator.iter_errors({**example, "foo": 1}))
    assert list(validator.iter_errors({**example, "kind": "wiretap"}))
    assert list(validator.iter_errors({**example, "urgency": "soon"}))


@pytest.mark.parametrize("kind", FORMS)
def test_template_validates_against_the_schema(kind: str) -> None:
    doc = template(kind)
    errors = list(Draft202012Validator(request_schema()).iter_errors(doc))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("kind", FORMS)
def test_template_parses_without_shape_findings(kind: str) -> None:
    doc, shape = parse_request(json.dumps(template(kind)))
    assert shape == []
    assert doc.kind == kind


@pytest.mark.parametrize("kind", FORMS)
def test_template_has_every_field_the_form_requires(kind: str) -> None:
    form = convention().forms[kind]
    doc = template(kind)
    assert doc["format"] == FORMAT and doc["kind"] == kind
    assert {r.field for r in form.requires} <= set(doc)
    assert {"requesting_state", "requested_state", "language", "urgency", "channel"} <= set(doc)
    assert doc["channel"] == form.channels[0]
    assert list(doc) == [f for f in TOP_FIELDS if f in doc]  # schema order


def test_template_of_unknown_kind_is_refused() -> None:
    with pytest.raises(NotARequest) as info:
        template("wiretap")
    assert "wiretap" in str(info.value)
    assert "preservation" in str(info.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_not_a_request(constant: str) -> None:
    text = '{"kind": "preservation", "offences": [{"max_penalty_years": ' + constant + "}]}"
    with pytest.raises(NotARequest, match="not JSON"):
        parse_request(text)


def test_a_utf8_file_with_a_byte_order_mark_is_read(example: dict[str, Any]) -> None:
    doc, shape = parse_request("\ufeff" + json.dumps(example))
    assert shape == [] and doc.kind == example["kind"]


def test_direction_controls_in_a_value_are_shown_as_escapes(example: dict[str, Any]) -> None:
    """A field name or value someone wrote cannot reorder the message around it: the
    right-to-left override (U+202E) and its kind appear as visible escapes."""
    example["requesting_authority"]["n\u202eame"] = "x"
    example["requested_state"] = "X\u202eB"
    _, found = check_text(json.dumps(example), default_context(date(2026, 11, 24)))
    messages = " ".join(f.message for f in found)
    assert "\u202e" not in messages
    assert "n\\u202Eame" in messages and "X\\u202EB" in messages
