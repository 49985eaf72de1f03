"""The request document: one JSON format for every cooperation form of the Convention.

Published as a JSON Schema (``hanoinet schema request``) so that any State can
produce it with its own software. The format is versioned (``format``). Every
content field is optional in the *schema*: whether a field is required
depends on the form and is the job of the checks, which cite the article
(``40(15)``, ``42(2)`` ...). A document whose fields have the wrong type is
still read: the bad field is reported as a finding and treated as absent, so
one typo does not hide every other problem.

A file is *not a request at all* (``NotARequest``) when it is not JSON, not
an object, or names no known ``kind``; and it is refused whole
(``RequestTooLarge``) when it is larger than a request has any reason to be: each
text and list has a ``maxLength`` / ``maxItems`` in the schema, and the whole
document ``MAX_DOCUMENT_BYTES``. Generous for any real request, finite so that
nothing stores, checks or typesets megabytes of text (docs/limits.md). Refused,
not reported as a finding: a finding would keep the text it is about.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from hanoinet.boundedjson import MAX_DEPTH, depth_over
from hanoinet.convention import convention
from hanoinet.errors import NotARequest, RequestTooLarge
from hanoinet.law.findings import Basis, Finding
from hanoinet.texts import N_, Data, t
from hanoinet.texts import Field as FieldLabel

FORMAT: Literal["hanoinet.request/1"] = "hanoinet.request/1"
MAX_DOCUMENT_BYTES = 512 << 10
"""A whole request document, as compact UTF-8 JSON: about 250 pages of text. Every long text
at its limit would not fit: the sum is bounded too."""
MAX_TEXT_BYTES = 4 * MAX_DOCUMENT_BYTES
"""The text of a document before it is parsed: room for indentation and ``\\u`` escapes (at
most three times UTF-8) of a document within ``MAX_DOCUMENT_BYTES``, which is measured once
parsed."""
CODE = 64
"""An ISO code, an article number, a conduct id: a few characters; room for a mistake to be
reported as a finding rather than refused."""
NAME = 500
"""A name, an identifier, a place, a reference."""
TEXT = 5_000
"""A short text: a contact, a reason, a justification (about two pages)."""
LONG = 50_000
"""A text that may run long: the facts (40(15)(c)), the assistance sought, a judgment (about
20 pages; anything longer belongs in an annex sent as evidence)."""
Code = Annotated[str, Field(max_length=CODE)]
Name = Annotated[str, Field(max_length=NAME)]
Text = Annotated[str, Field(max_length=TEXT)]
Long = Annotated[str, Field(max_length=LONG)]
MANY = 200
"""Items of a list: persons, data items, identifiers."""
FEW = 50
"""Offences of one request, conduct ids and elements of one offence."""


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Authority(Part):
    name: Name | None = None
    contact: Text | None = Field(
        None, description="Telephone, e-mail or address of a person who can answer."
    )


class Matter(Part):
    nature: Literal["investigation", "prosecution", "judicial_proceeding"] | None = None
    description: Long | None = Field(
        None, description="The subject matter and nature of the matter."
    )
    authority: Text | None = Field(
        None, description="The authority conducting it, with its functions."
    )


class Offence(Part):
    article: Code | None = Field(None, description="A Convention offence by article, '7' to '17'.")
    name: Name | None = Field(
        None, description="The national offence, as the requesting State names it."
    )
    max_penalty_years: float | None = Field(
        None,
        ge=0,
        description="Maximum deprivation of liberty for it in the requesting State, in years.",
    )
    conduct: list[Code] = Field(
        default_factory=list,
        max_length=FEW,
        description="Conduct alleged, by the conduct ids of the Convention offence (offences.yaml).",
    )
    elements: list[Code] = Field(
        default_factory=list,
        max_length=FEW,
        description="Optional elements the facts also show (e.g. infringing_security_measures).",
    )


IdentifierKind = Literal["ip", "account", "email", "telephone", "domain", "wallet", "other"]
IDENTIFIER_KINDS: tuple[str, ...] = get_args(IdentifierKind)


def _written_time(value: Any) -> Any:
    """A moment as written text: pydantic would read a number as seconds since 1970, which
    nobody writing a request means."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise PydanticCustomError("datetime_type", "a date and time is written as text")
    return value


Moment = Annotated[dt.datetime, BeforeValidator(_written_time)]


class Identifier(Part):
    """An identifier by its kind, so that it can be checked and a provider can resolve it
    (T-CY, EPOC and UNODC templates ask for them this way). An IP address means something to
    a provider only with the time it was used and that time's zone (and, behind shared
    addresses, the port)."""

    kind: IdentifierKind | None = None
    value: Name | None = Field(
        None, description="The address, account name, e-mail address, number, domain or wallet."
    )
    port: int | None = Field(None, ge=0, le=65535, description="For an IP address: the port.")
    timestamp: Moment | None = Field(
        None,
        description="For an IP address: when it was used (ISO 8601, e.g. 2026-03-01T14:30:00Z).",
    )
    time_zone: Code | None = Field(
        None,
        description="The time zone of a timestamp written without an offset (IANA, e.g. UTC).",
    )
    service: Name | None = Field(
        None,
        description="For an account: the service it is on; for a wallet: its network or currency.",
    )


TEXT_TAG, TYPED_TAG = "_text", "_typed"
UNION_TAGS = frozenset({TEXT_TAG, TYPED_TAG})
"""How pydantic names the branch of an identifier in an error's location; not a field, so
dropped from the pointer a finding gives."""


def _identifier_branch(value: Any) -> str:
    return TYPED_TAG if isinstance(value, dict | Identifier) else TEXT_TAG


AnyIdentifier = Annotated[
    Annotated[Name, Tag(TEXT_TAG)] | Annotated[Identifier, Tag(TYPED_TAG)],
    Discriminator(_identifier_branch),
]
"""Free text (as every ``hanoinet.request/1`` document before typed identifiers had), or an
``Identifier`` by its kind."""


class Person(Part):
    name: Name | None = None
    role: Literal["suspect", "accused", "witness", "victim", "expert", "other"] | None = None
    nationality: Code | None = None
    location: Text | None = None
    identifiers: list[AnyIdentifier] = Field(
        default_factory=list,
        max_length=MANY,
        description="Accounts, addresses, numbers of the person: text, or typed (Identifier).",
    )


class DataPeriod(Part):
    """The period the data sought covers (stored data from, to)."""

    start: dt.date | None = None
    end: dt.date | None = None


class DataItem(Part):
    category: Literal["subscriber", "traffic", "content", "other"] | None = None
    identifiers: list[AnyIdentifier] = Field(
        default_factory=list,
        max_length=MANY,
        description="Accounts, addresses, numbers that identify the data: text, or typed "
        "(Identifier).",
    )
    period: DataPeriod | None = Field(None, description="The period the data sought covers.")
    custodian: Text | None = Field(None, description="The service provider or other custodian.")
    location: Text | None = Field(None, description="Where the ICT system or the data is.")
    relation_to_offence: Text | None = None


class Deadline(Part):
    date: dt.date | None = None
    reason: Text | None = None


class CollectionPeriod(Part):
    start: dt.date | None = None
    end: dt.date | None = None
    justification: Text | None = None


class OnwardTransfer(Part):
    """Personal data received from one State to be passed to a third State or organization."""

    recipient: Name | None = Field(None, description="The third State (ISO code) or organization.")
    received_from: Code | None = Field(None, description="The State that sent the data (ISO code).")
    authorization: Text | None = Field(
        None, description="Reference and date of that State's prior authorization (36(3))."
    )


class LegalBasis(Part):
    """What the request rests on (T-CY, EPOC and UNODC templates ask for it): the Convention,
    another treaty between the two States, reciprocity, or the requesting State's law."""

    instrument: Literal["convention", "treaty", "reciprocity", "domestic_law"] | None = None
    name: Name | None = Field(
        None, description="The treaty or law, as it is cited (for a treaty or domestic law)."
    )
    article: Name | None = Field(None, description="Its article or articles relied on.")


class References(Part):
    """How the requesting authority and the requested State find the request again (T-CY and
    UNODC templates ask for them)."""

    own_reference: Name | None = Field(
        None, description="The requesting authority's own file or case number."
    )
    date: dt.date | None = Field(None, description="The date of the request.")
    earlier_requests: list[Name] = Field(
        default_factory=list,
        max_length=FEW,
        description="References of earlier requests in the same matter.",
    )
    earlier_contacts: list[Name] = Field(
        default_factory=list,
        max_length=FEW,
        description="Earlier 24/7 contacts or ticket numbers in the same matter.",
    )


class Contacts(Part):
    """Whom the requested State can reach about the request, and when."""

    name: Name | None = Field(
        None, description="A named person who can answer, with telephone and e-mail."
    )
    backup: Name | None = Field(None, description="Another person, when the first is away.")
    office_hours: Name | None = Field(None, description="When they can be reached.")
    time_zone: Code | None = Field(
        None, description="The time zone of those hours (IANA, e.g. Europe/Paris)."
    )


class Authorities(Part):
    """The authorities behind a request other than the one that sends it (templates ask for
    them: the EU's EPOC forms, the UNODC Request Writer)."""

    conducting: Name | None = Field(
        None,
        description="The investigating or prosecuting authority or court, when it is not the "
        "requesting authority.",
    )
    validating: Name | None = Field(
        None,
        description="The judicial authority that validated the request, where the requesting "
        "State's law requires one.",
    )


class RequestDocument(Part):
    """A cooperation request under the UN Convention against Cybercrime."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="hanoinet cooperation request",
        json_schema_extra={"$id": "https://hanoinet.org/schema/request-1.json"},
    )

    format: Literal["hanoinet.request/1"] = FORMAT
    kind: str = Field(description="The cooperation form: see `hanoinet request kinds`.")
    requesting_state: Code | None = Field(None, description="ISO 3166-1 alpha-2 code.")
    requested_state: Code | None = Field(None, description="ISO 3166-1 alpha-2 code.")
    legal_basis: LegalBasis | None = Field(
        None,
        description="What the request rests on; needed where the Convention is not in force "
        "between the two States (65).",
    )
    requesting_authority: Authority | None = None
    authorities: Authorities | None = None
    contacts: Contacts | None = None
    references: References | None = None
    matter: Matter | None = None
    offences: list[Offence] = Field(default_factory=list, max_length=FEW)
    facts_summary: Long | None = None
    assistance_sought: Long | None = None
    procedures_requested: Long | None = None
    persons: list[Person] = Field(default_factory=list, max_length=MANY)
    purpose: Long | None = None
    data: list[DataItem] = Field(default_factory=list, max_length=MANY)
    necessity: Long | None = None
    mla_to_follow: bool | None = None
    confidential: bool = False
    no_user_notice: bool = False
    urgency: Literal["routine", "urgent", "emergency"] = "routine"
    deadline: Deadline | None = None
    language: Code | None = Field(None, description="Language of the request (ISO 639-1 code).")
    period: CollectionPeriod | None = None
    channel: (
        Literal[
            "central_authority", "point_of_contact", "interpol", "diplomatic", "law_enforcement"
        ]
        | None
    ) = None
    oral: bool = Field(
        False, description="Made orally in urgency; to be confirmed in writing (40(14))."
    )
    emergency: Long | None = Field(
        None, description="The significant and imminent risk to a person's life or safety (2(o))."
    )
    judgment: Long | None = None
    consent: Long | None = None
    agreement: Long | None = None
    property: Long | None = None
    order: Long | None = None
    onward_transfer: OnwardTransfer | None = None
    related_request: Name | None = Field(
        None, description="Id of an earlier request this one follows (e.g. the preservation)."
    )


TOP_FIELDS = tuple(RequestDocument.model_fields)


def pointer(loc: tuple[int | str, ...]) -> str:
    """A JSON pointer (RFC 6901) for a pydantic error location."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in loc) if loc else ""


def too_large(name: str, size: int) -> RequestTooLarge:
    """The refusal of a text of ``size`` bytes, over ``MAX_TEXT_BYTES`` (also for a file, by its
    size before it is read)."""
    return RequestTooLarge(
        f"{name} is {size:,} bytes; a request document may have at most "
        f"{MAX_DOCUMENT_BYTES:,} (as compact UTF-8 JSON): shorten its texts, and send "
        "annexes as evidence"
    )


def parse_request(text: str, name: str = "the document") -> tuple[RequestDocument, list[Finding]]:
    """Read a request; fields of the wrong shape become findings and are treated as absent.

    Raises NotARequest when ``text`` is not a JSON object naming a known ``kind``. A byte-order
    mark at the start (as some editors write UTF-8) is read past.
    """
    text = text.removeprefix("\ufeff")
    data = text.encode()
    if len(data) > MAX_TEXT_BYTES:
        raise too_large(name, len(data))
    found = depth_over(data, MAX_DEPTH)
    if found is not None:
        raise NotARequest(
            f"{name} nests {found} levels deep; a request document nests at most {MAX_DEPTH}"
        )
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise NotARequest(
            f"{name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON (RFC 8259) does not have
        raise NotARequest(f"{name} is not JSON: {exc}") from None
    return read_request(raw, name, text_bytes=len(data))


_MAX_GROWTH = 5
"""Compact JSON over its source text, at most: 4.5 for a number such as ``1e15``, less for
anything else (escapes and spaces only shrink)."""


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value; give a number")


def read_request(
    raw: Any, name: str = "the document", text_bytes: int | None = None
) -> tuple[RequestDocument, list[Finding]]:
    """The document in ``raw`` and the findings on fields of the wrong shape. ``text_bytes``,
    the size of the text ``raw`` was parsed from, spares writing it out again to measure it
    when the text is small enough: compact JSON is never more than 4.5 times its source (a
    number written ``1e15`` comes out as ``1000000000000000.0``)."""
    if not isinstance(raw, dict):
        raise NotARequest(
            f"{name} is not a request: expected a JSON object, found {type(raw).__name__}"
        )
    kind = raw.get("kind")
    forms = convention().forms
    if not isinstance(kind, str) or kind not in forms:
        raise NotARequest(
            f"{name} is not a request: 'kind' is {json.dumps(kind)}; use one of "
            + ", ".join(forms)
            + " (hanoinet request kinds)"
        )
    if raw.get("format", FORMAT) != FORMAT:
        raise NotARequest(
            f"{name} has format {json.dumps(raw.get('format'))}; this hanoinet reads {FORMAT}"
        )
    if text_bytes is None or text_bytes * _MAX_GROWTH > MAX_DOCUMENT_BYTES:
        size = len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode())
        if size > MAX_DOCUMENT_BYTES:
            raise RequestTooLarge(
                f"{name} is {size:,} bytes as JSON; a request document may have at most "
                f"{MAX_DOCUMENT_BYTES:,}: shorten its texts, and send annexes as evidence"
            )
    data = dict(raw)
    findings: list[Finding] = []
    while True:  # each round removes at least one value: it ends
        try:
            return RequestDocument.model_validate(data), findings
        except ValidationError as exc:
            _refuse_too_long(name, exc)
            removed = False
            errors = [(_loc(error["loc"]), error) for error in exc.errors()]
            # The outermost first: a bad list goes whole before any item inside it is judged.
            for loc, error in sorted(errors, key=lambda e: len(ignored_part(e[0]))):
                if loc and _remove(data, ignored_part(loc)):
                    findings.append(
                        _shape_finding(
                            kind, loc, error["type"], error.get("ctx", {}), error.get("input")
                        )
                    )
                    removed = True
            if not removed:  # pragma: no cover - pydantic names where each error is
                raise NotARequest(f"{name} could not be read: {exc.errors()[0]['msg']}") from None


def _loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """An error's location in the document: union branch names (``UNION_TAGS``, which come
    right after an item's index) left out; a field that happens to bear such a name is kept."""
    return tuple(
        p
        for i, p in enumerate(loc)
        if not (isinstance(p, str) and p in UNION_TAGS and i > 0 and isinstance(loc[i - 1], int))
    )


def ignored_part(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """What is set aside for a bad value at ``loc``: the value itself under its field name,
    or, for an item of a list, the whole list (removing one item would renumber the rest,
    and every other finding on the list would point at the wrong item)."""
    end = len(loc)
    while end > 1 and isinstance(loc[end - 1], int):
        end -= 1
    return loc[:end]


DEFINING = {"offences": "article"}
"""For items of these lists, the field that says what the item is: an offence's article makes
it a Convention offence (with its conduct, its elements, no penalty needed) or, absent, a
national one. When it is bad, nothing about that item can be judged."""
WHOLE = frozenset({"legal_basis"})
"""Objects judged as one: a bad value in any of their fields sets the whole aside (the legal
basis is the instrument, its name and article together)."""


def set_aside(field: str) -> str:
    """The JSON pointer of what cannot be judged because of a bad value at ``field``: what
    ``read_request`` removed (``ignored_part``: ``/offences/0/conduct/2`` sets aside
    ``/offences/0/conduct``), or the whole item whose defining field it is (``DEFINING``:
    ``/offences/0/article`` sets aside ``/offences/0``; ``WHOLE``: ``/legal_basis/name`` sets
    aside ``/legal_basis``)."""
    parts = field.split("/")
    while len(parts) > 2 and parts[-1].isdigit():
        parts.pop()
    if len(parts) == 4 and parts[2].isdigit() and DEFINING.get(parts[1]) == parts[3]:
        parts.pop()
    if len(parts) > 2 and parts[1] in WHOLE:
        del parts[2:]
    return "/".join(parts)


def _at(node: dict[str, Any] | list[Any], part: int | str) -> Any:
    """What ``node`` holds at ``part``, or None when nothing is there."""
    if isinstance(node, dict):
        return node.get(part) if isinstance(part, str) else None
    return node[part] if isinstance(part, int) and 0 <= part < len(node) else None


def _remove(data: dict[str, Any], loc: tuple[int | str, ...]) -> bool:
    """Remove the value at ``loc`` from ``data``, copying every object and list on the way
    (the caller's document is not changed). False if there is nothing there."""
    node: dict[str, Any] | list[Any] = data
    for part in loc[:-1]:
        child = _at(node, part)
        if not isinstance(child, dict | list):
            return False
        copied: dict[str, Any] | list[Any] = dict(child) if isinstance(child, dict) else list(child)
        if isinstance(node, dict):
            node[str(part)] = copied
        else:
            node[int(part)] = copied
        node = copied
    last = loc[-1]
    if isinstance(node, dict) and isinstance(last, str) and last in node:
        del node[last]
        return True
    return False


def _refuse_too_long(name: str, exc: ValidationError) -> None:
    """A text or a list past its limit refuses the whole document, naming the field."""
    for error in exc.errors():
        if error["type"] not in ("string_too_long", "too_long"):
            continue
        loc = _loc(error["loc"])
        limit = error.get("ctx", {}).get("max_length", 0)
        value = error.get("input")
        size = len(value) if isinstance(value, str | list) else 0
        unit = "characters" if error["type"] == "string_too_long" else "items"
        raise RequestTooLarge(
            f"{name}: {pointer(loc)} has {size:,} {unit}; at most {limit:,} are accepted "
            "(hanoinet schema request): shorten it, and send annexes as evidence"
        )


_SHOULD_BE: dict[str, str] = {
    "string_type": N_("should be text, in quotes"),
    "model_type": N_("should be a group of fields in braces {...}"),
    "dict_type": N_("should be a group of fields in braces {...}"),
    "model_attributes_type": N_("should be a group of fields in braces {...}"),
    "list_type": N_("should be a list in brackets [...]"),
    "bool_type": N_("should be true or false"),
    "bool_parsing": N_("should be true or false"),
    "float_type": N_("should be a number"),
    "float_parsing": N_("should be a number"),
    "finite_number": N_("should be a number"),
    "greater_than_equal": N_("should be zero or more"),
    "less_than_equal": N_("should be at most %(limit)s"),
    "int_type": N_("should be a whole number"),
    "int_parsing": N_("should be a whole number"),
    "int_from_float": N_("should be a whole number"),
    "datetime_type": N_(
        "should be a date and time written YYYY-MM-DDTHH:MM, e.g. 2026-03-01T14:30"
    ),
    "datetime_parsing": N_(
        "should be a date and time written YYYY-MM-DDTHH:MM, e.g. 2026-03-01T14:30"
    ),
    "datetime_from_date_parsing": N_(
        "should be a date and time written YYYY-MM-DDTHH:MM, e.g. 2026-03-01T14:30"
    ),
    "datetime_object_invalid": N_(
        "should be a date and time written YYYY-MM-DDTHH:MM, e.g. 2026-03-01T14:30"
    ),
    "date_type": N_("should be a date written YYYY-MM-DD, e.g. 2026-03-01"),
    "date_parsing": N_("should be a date written YYYY-MM-DD, e.g. 2026-03-01"),
    "date_from_datetime_parsing": N_("should be a date written YYYY-MM-DD, e.g. 2026-03-01"),
    "date_from_datetime_inexact": N_("should be a date written YYYY-MM-DD, e.g. 2026-03-01"),
    "literal_error": N_("should be one of: %(choices)s"),
    "enum": N_("should be one of: %(choices)s"),
}
"""What a value of the wrong shape should be, in words, for each kind of pydantic error that
the request model can raise: findings say it this way, not in the validator's words."""


_FOUND: dict[str, str] = {
    "null": N_("null"),
    "bool": N_("true or false"),
    "number": N_("a number"),
    "text": N_("text"),
    "list": N_("a list"),
    "object": N_("a group of fields"),
}


def _json_kind(value: object) -> str:
    """What was found, by its JSON kind, in words (``_FOUND``)."""
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int | float):
        kind = "number"
    elif isinstance(value, str):
        kind = "text"
    elif isinstance(value, list):
        kind = "list"
    else:
        kind = "object"
    return _FOUND[kind]


def _shape_finding(
    kind: str, loc: tuple[int | str, ...], error_type: str, error_ctx: dict[str, Any], value: object
) -> Finding:
    top = str(loc[0])
    article = (
        None  # how an identifier is written is the format's business, not the form's article
        if "identifiers" in loc[:-1]
        else next((r.article for r in convention().forms[kind].requires if r.field == top), None)
    )
    basis: Basis | None = None if article else "format"
    where = pointer(loc)
    if error_type == "extra_forbidden":
        known = ", ".join(TOP_FIELDS) if len(loc) == 1 else None
        message = (
            t(
                "'%(name)s' is not a field of a request; check the spelling (fields: %(known)s)",
                name=Data(str(loc[-1])),
                known=known,
            )
            if known
            else t(
                "'%(name)s' is not a field here; check the spelling against the request format",
                name=Data(str(loc[-1])),
            )
        )
        return Finding("unknown_field", "error", article, where, message, basis=basis)
    should = _SHOULD_BE.get(error_type)
    found = (
        Data(str(value))  # a number out of range: say which
        if error_type in ("greater_than_equal", "less_than_equal")
        else t(_json_kind(value))
    )
    if should is None:  # pragma: no cover - every error the request model raises is named
        message = t(
            "%(field)s has a value this field does not take (%(found)s); it is set aside "
            "until corrected",
            field=FieldLabel(where),
            found=found,
        )
        return Finding("invalid_value", "error", article, where, message, basis=basis)
    if "%(choices)s" in should:
        problem = t(should, choices=Data(str(error_ctx.get("expected", ""))))
    elif "%(limit)s" in should:
        problem = t(should, limit=Data(str(error_ctx.get("le", ""))))
    else:
        problem = t(should)
    message = t(
        "%(field)s %(problem)s, not %(found)s; it is set aside until corrected",
        field=FieldLabel(where),
        problem=problem,
        found=found,
    )
    return Finding("invalid_value", "error", article, where, message, basis=basis)


def request_schema() -> dict[str, Any]:
    """The JSON Schema of the request document, with the kinds the Convention provides."""
    schema = RequestDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$comment"] = (
        f"A document of more than {MAX_DOCUMENT_BYTES} bytes as compact UTF-8 JSON is refused "
        "whole, as is one with a text or a list past its maxLength or maxItems."
    )
    schema["properties"]["kind"]["enum"] = list(convention().forms)
    return schema


def template(kind: str) -> dict[str, Any]:
    """An empty document for ``kind``: every field the form needs, blank, in schema order."""
    form = convention().forms.get(kind)
    if form is None:
        raise NotARequest(
            f"no cooperation form '{kind}'; use one of {', '.join(convention().forms)}"
        )
    needed = {r.field for r in form.requires} | {
        "requesting_state",
        "requested_state",
        "legal_basis",
        "authorities",
        "contacts",
        "references",
        "language",
        "urgency",
        "channel",
    }
    blanks: dict[str, Any] = {
        "legal_basis": {"instrument": None, "name": "", "article": ""},
        "requesting_authority": {"name": "", "contact": ""},
        "authorities": {"conducting": "", "validating": ""},
        "contacts": {"name": "", "backup": "", "office_hours": "", "time_zone": ""},
        "references": {
            "own_reference": "",
            "date": None,
            "earlier_requests": [],
            "earlier_contacts": [],
        },
        "matter": {"nature": None, "description": "", "authority": ""},
        "offences": [
            {"article": None, "name": "", "max_penalty_years": None, "conduct": [], "elements": []}
        ],
        "persons": [
            {"name": "", "role": None, "nationality": "", "location": "", "identifiers": []}
        ],
        "data": [
            {
                "category": None,
                "identifiers": [{"kind": None, "value": "", "timestamp": None, "time_zone": ""}],
                "period": {"start": None, "end": None},
                "custodian": "",
                "location": "",
                "relation_to_offence": "",
            }
        ],
        "deadline": {"date": None, "reason": ""},
        "period": {"start": None, "end": None, "justification": ""},
        "urgency": "routine",
        "mla_to_follow": None,
        "confidential": False,
        "no_user_notice": False,
        "channel": form.channels[0],
    }
    doc: dict[str, Any] = {"format": FORMAT, "kind": kind}
    for field in TOP_FIELDS:
        if field in needed and field not in doc:
            doc[field] = blanks.get(field, "")
    return doc
