"""The request document: one JSON format for every cooperation form of the Convention.

Published as a JSON Schema (``hanoinet schema request``) so that any State can
produce it with its own software. The format is versioned (``format``). Every
content field is optional in the *schema*: whether a field is required
depends on the form and is the job of the checks, which cite the article
(``40(15)``, ``42(2)`` ...). A document whose fields have the wrong type is
still read: the bad field is reported as a finding and treated as absent, so
one typo does not hide every other problem.

A file is *not a request at all* (``NotARequest``) when it is not JSON, not
an object, or names no known ``kind``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hanoinet.convention import convention
from hanoinet.errors import NotARequest
from hanoinet.law.findings import Finding

FORMAT: Literal["hanoinet.request/1"] = "hanoinet.request/1"


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Authority(Part):
    name: str | None = None
    contact: str | None = Field(
        None, description="Telephone, e-mail or address of a person who can answer."
    )


class Matter(Part):
    nature: Literal["investigation", "prosecution", "judicial_proceeding"] | None = None
    description: str | None = Field(
        None, description="The subject matter and nature of the matter."
    )
    authority: str | None = Field(
        None, description="The authority conducting it, with its functions."
    )


class Offence(Part):
    article: str | None = Field(None, description="A Convention offence by article, '7' to '17'.")
    name: str | None = Field(
        None, description="The national offence, as the requesting State names it."
    )
    max_penalty_years: float | None = Field(
        None,
        ge=0,
        description="Maximum deprivation of liberty for it in the requesting State, in years.",
    )
    conduct: list[str] = Field(
        default_factory=list,
        description="Conduct alleged, by the conduct ids of the Convention offence (offences.yaml).",
    )
    elements: list[str] = Field(
        default_factory=list,
        description="Optional elements the facts also show (e.g. infringing_security_measures).",
    )


class Person(Part):
    name: str | None = None
    role: Literal["suspect", "accused", "witness", "victim", "expert", "other"] | None = None
    nationality: str | None = None
    location: str | None = None
    identifiers: list[str] = Field(default_factory=list)


class DataItem(Part):
    category: Literal["subscriber", "traffic", "content", "other"] | None = None
    identifiers: list[str] = Field(
        default_factory=list, description="Accounts, addresses, numbers that identify the data."
    )
    custodian: str | None = Field(None, description="The service provider or other custodian.")
    location: str | None = Field(None, description="Where the ICT system or the data is.")
    relation_to_offence: str | None = None


class Deadline(Part):
    date: dt.date | None = None
    reason: str | None = None


class CollectionPeriod(Part):
    start: dt.date | None = None
    end: dt.date | None = None
    justification: str | None = None


class OnwardTransfer(Part):
    """Personal data received from one State to be passed to a third State or organization."""

    recipient: str | None = Field(None, description="The third State (ISO code) or organization.")
    received_from: str | None = Field(None, description="The State that sent the data (ISO code).")
    authorization: str | None = Field(
        None, description="Reference and date of that State's prior authorization (36(3))."
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
    requesting_state: str | None = Field(None, description="ISO 3166-1 alpha-2 code.")
    requested_state: str | None = Field(None, description="ISO 3166-1 alpha-2 code.")
    requesting_authority: Authority | None = None
    matter: Matter | None = None
    offences: list[Offence] = Field(default_factory=list)
    facts_summary: str | None = None
    assistance_sought: str | None = None
    procedures_requested: str | None = None
    persons: list[Person] = Field(default_factory=list)
    purpose: str | None = None
    data: list[DataItem] = Field(default_factory=list)
    necessity: str | None = None
    mla_to_follow: bool | None = None
    confidential: bool = False
    no_user_notice: bool = False
    urgency: Literal["routine", "urgent", "emergency"] = "routine"
    deadline: Deadline | None = None
    language: str | None = Field(None, description="Language of the request (ISO 639-1 code).")
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
    emergency: str | None = Field(
        None, description="The significant and imminent risk to a person's life or safety (2(o))."
    )
    judgment: str | None = None
    consent: str | None = None
    agreement: str | None = None
    property: str | None = None
    order: str | None = None
    onward_transfer: OnwardTransfer | None = None
    related_request: str | None = Field(
        None, description="Id of an earlier request this one follows (e.g. the preservation)."
    )


TOP_FIELDS = tuple(RequestDocument.model_fields)


def pointer(loc: tuple[int | str, ...]) -> str:
    """A JSON pointer (RFC 6901) for a pydantic error location."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in loc) if loc else ""


def parse_request(text: str, name: str = "the document") -> tuple[RequestDocument, list[Finding]]:
    """Read a request; fields of the wrong shape become findings and are treated as absent.

    Raises NotARequest when ``text`` is not a JSON object naming a known ``kind``.
    """
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise NotARequest(
            f"{name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON (RFC 8259) does not have
        raise NotARequest(f"{name} is not JSON: {exc}") from None
    except RecursionError:
        raise NotARequest(f"{name} is nested too deeply to be a request") from None
    return read_request(raw, name)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value; give a number")


def read_request(raw: Any, name: str = "the document") -> tuple[RequestDocument, list[Finding]]:
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
    data = dict(raw)
    findings: list[Finding] = []
    for _ in range(len(TOP_FIELDS) + len(data) + 1):
        try:
            return RequestDocument.model_validate(data), findings
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(p for p in error["loc"] if isinstance(p, int | str))
                top = str(loc[0]) if loc else ""
                if top not in data:
                    continue
                findings.append(_shape_finding(kind, loc, error["type"], error["msg"]))
                del data[top]
    raise AssertionError("unreachable: every error removes a field")  # pragma: no cover


def _shape_finding(kind: str, loc: tuple[int | str, ...], error_type: str, msg: str) -> Finding:
    top = str(loc[0])
    article = next((r.article for r in convention().forms[kind].requires if r.field == top), None)
    if error_type == "extra_forbidden":
        known = ", ".join(TOP_FIELDS) if len(loc) == 1 else "the fields in the schema"
        message = f"'{loc[-1]}' is not a field of a request; check the spelling (fields: {known})"
        code = "unknown_field"
    else:
        message = f"{msg}; the field is ignored until corrected (see hanoinet schema request)"
        code = "invalid_value"
    return Finding(code, "error", article, pointer(loc), message)


def request_schema() -> dict[str, Any]:
    """The JSON Schema of the request document, with the kinds the Convention provides."""
    schema = RequestDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
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
        "language",
        "urgency",
        "channel",
    }
    blanks: dict[str, Any] = {
        "requesting_authority": {"name": "", "contact": ""},
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
                "identifiers": [],
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
