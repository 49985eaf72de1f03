"""The drafting wizard: a request document built one step at a time, checked as it is typed.

Each step shows some fields of the request document (docs/request-format.md), only those
the cooperation form needs or may use; every save goes through ``services.cases.revise``
(one transaction, the draft's own document, whatever was typed kept, even a wrong date,
which the checks then report at its field). The findings are the same as ``hanoinet
check``'s, each placed at its field and linked to the article it rests on.

This module knows the shape of the form (``Input``, ``Block``) and how HTML form values map
to the document; the routes only translate HTTP; the checks are ``hanoinet.law``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.dates import format_date
from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from hanoinet import boundedjson
from hanoinet.convention import convention
from hanoinet.convention.model import article_of
from hanoinet.errors import Forbidden, HanoinetError, InvalidInput, NotARequest, UnknownCase
from hanoinet.law import default_context
from hanoinet.law.check import check_text
from hanoinet.law.document import FORMAT, MAX_TEXT_BYTES, Identifier, RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.law.identifiers import KIND_NAMES, kind_name, written
from hanoinet.registry.participants import participant
from hanoinet.services import access
from hanoinet.services import cases as case_service
from hanoinet.services.outside import MEANS_NAMES
from hanoinet.texts import Data, Text, t
from hanoinet.web import auth
from hanoinet.web.common import login_first, message_page, now, page, session, web
from hanoinet.web.render import LANGUAGES, N_, choose_language

router = APIRouter(include_in_schema=False)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    """English; translated in the templates."""
    fields: tuple[str, ...]


STEPS = (
    Step(
        "route",
        N_("Where the request goes"),
        (
            "requested_state",
            "legal_basis",
            "urgency",
            "emergency",
            "channel",
            "language",
            "oral",
            "deadline",
        ),
    ),
    Step(
        "matter",
        "Who asks, and about what",
        ("requesting_authority", "authorities", "contacts", "references", "matter", "offences"),
    ),
    Step(
        "facts",
        N_("Facts and assistance sought"),
        (
            "facts_summary",
            "assistance_sought",
            "procedures_requested",
            "purpose",
            "necessity",
            "judgment",
            "consent",
            "agreement",
            "property",
            "order",
            "persons",
        ),
    ),
    Step(
        "data",
        N_("Data and conditions"),
        (
            "data",
            "period",
            "mla_to_follow",
            "confidential",
            "no_user_notice",
            "related_request",
            "onward_transfer",
        ),
    ),
)
STEP_KEYS = tuple(s.key for s in STEPS)
ALWAYS = frozenset(
    {
        *STEPS[0].fields,  # where the request goes: every field of the first step
        "authorities",
        "contacts",
        "references",
        "confidential",
        "no_user_notice",
        "related_request",
    }
)
"""Fields every form may carry (the legal basis, 65; 40(14) language and oral urgency, 40(20)
confidentiality, 40(25) deadline); the others appear where the form requires them (cooperation.yaml)."""

OBJECTS = {
    "legal_basis": ("instrument", "name", "article"),
    "authorities": ("conducting", "validating"),
    "contacts": ("name", "backup", "office_hours", "time_zone"),
    "references": ("own_reference", "date", "earlier_requests", "earlier_contacts"),
    "requesting_authority": ("name", "contact"),
    "matter": ("nature", "description", "authority"),
    "deadline": ("date", "reason"),
    "period": ("start", "end", "justification"),
    "onward_transfer": ("recipient", "received_from", "authorization"),
}
LISTS = {
    "offences": ("article", "name", "max_penalty_years", "conduct", "elements"),
    "persons": ("name", "role", "nationality", "location", "identifiers"),
    "data": (
        "category",
        "identifiers",
        "period.start",
        "period.end",
        "custodian",
        "location",
        "relation_to_offence",
    ),
}
"""The fields of each item; ``period.start`` is ``start`` inside the item's ``period``."""
IDENTIFIER_PARTS = ("kind", "value", "port", "timestamp", "time_zone", "service")
"""The fields of a typed identifier (law/document.py ``Identifier``), one row each."""
WIDGETS = {
    "requested_state": "select",
    "urgency": "radio",
    "channel": "select",
    "language": "select",
    "oral": "check",
    "confidential": "check",
    "no_user_notice": "check",
    "mla_to_follow": "yesno",
    "related_request": "text",
    "legal_basis.instrument": "select",
    "legal_basis.name": "text",
    "legal_basis.article": "text",
    "authorities.conducting": "text",
    "authorities.validating": "text",
    "contacts.name": "text",
    "contacts.backup": "text",
    "contacts.office_hours": "text",
    "contacts.time_zone": "text",
    "references.own_reference": "text",
    "references.date": "date",
    "references.earlier_requests": "lines",
    "references.earlier_contacts": "lines",
    "deadline.date": "date",
    "deadline.reason": "text",
    "period.start": "date",
    "period.end": "date",
    "period.justification": "area",
    "requesting_authority.name": "text",
    "requesting_authority.contact": "text",
    "matter.nature": "select",
    "matter.description": "area",
    "matter.authority": "text",
    "offences.article": "select",
    "offences.name": "text",
    "offences.max_penalty_years": "number",
    "offences.conduct": "multi",
    "offences.elements": "multi",
    "persons.name": "text",
    "persons.role": "select",
    "persons.nationality": "text",
    "persons.location": "text",
    "persons.identifiers": "identifiers",
    "data.category": "select",
    "data.identifiers": "identifiers",
    "data.period.start": "date",
    "data.period.end": "date",
    "data.custodian": "text",
    "data.location": "text",
    "data.relation_to_offence": "area",
    "onward_transfer.recipient": "text",
    "onward_transfer.received_from": "text",
    "onward_transfer.authorization": "text",
}
"""How each field is typed in; a top-level field not named here is a text area."""

LABELS = {
    "requested_state": "Requested State",
    "urgency": "Urgency",
    "emergency": "The emergency: the risk to a person's life or safety",
    "channel": "Channel",
    "language": "Language of the request",
    "oral": "Made orally in urgency, to be confirmed in writing",
    "deadline": "Deadline",
    "legal_basis": "Legal basis",
    "legal_basis.instrument": "The request rests on",
    "legal_basis.name": "Treaty or law",
    "legal_basis.article": "Article or articles relied on",
    "authorities": "Other authorities",
    "authorities.conducting": "Investigating or prosecuting authority or court",
    "authorities.validating": "Judicial authority that validated the request",
    "contacts": "Contacts",
    "contacts.name": "Contact person (name, telephone, e-mail)",
    "contacts.backup": "Backup contact",
    "contacts.office_hours": "Office hours",
    "contacts.time_zone": "Time zone of those hours",
    "references": "References",
    "references.own_reference": "Our file number",
    "references.date": "Date of the request",
    "references.earlier_requests": "Earlier requests in this matter (one per line)",
    "references.earlier_contacts": "Earlier 24/7 contacts or ticket numbers (one per line)",
    "deadline.date": "Date",
    "deadline.reason": "Why by then",
    "requesting_authority": "Requesting authority",
    "requesting_authority.name": "Name of the authority",
    "requesting_authority.contact": "Contact (telephone, e-mail)",
    "matter": "The matter",
    "matter.nature": "Nature",
    "matter.description": "Subject matter",
    "matter.authority": "Authority conducting it",
    "offences": "Offences",
    "offences.article": "Convention offence",
    "offences.name": "National offence",
    "offences.max_penalty_years": "Maximum penalty (years of imprisonment)",
    "offences.conduct": "Conduct alleged",
    "offences.elements": "The facts also show",
    "facts_summary": "Summary of the facts",
    "assistance_sought": "Assistance sought",
    "procedures_requested": "Particular procedures requested",
    "purpose": "Purpose of the request",
    "necessity": "Why preservation is necessary",
    "judgment": "The judgment or order to be enforced",
    "consent": "Consent of the person",
    "agreement": "The agreement or arrangement",
    "property": "The property concerned",
    "order": "The order to be given effect",
    "persons": "Persons concerned",
    "persons.name": "Name",
    "persons.role": "Role",
    "persons.nationality": "Nationality",
    "persons.location": "Location",
    "persons.identifiers": "Identifiers",
    "data": "Data",
    "data.category": "Category",
    "data.identifiers": "Accounts, addresses or numbers",
    "data.period": "Period of the data",
    "data.period.start": "Data from",
    "data.period.end": "Data until",
    "data.custodian": "Custodian (service provider)",
    "data.location": "Location of the system or data",
    "data.relation_to_offence": "How the data relates to the offence",
    "period": "Period of collection",
    "period.start": "Start date",
    "period.end": "End date",
    "period.justification": "Why this period",
    "mla_to_follow": "Will a request for mutual legal assistance follow?",
    "confidential": "Keep the request confidential",
    "no_user_notice": "Do not notify the user",
    "related_request": "Related request (id)",
    "onward_transfer": "Onward transfer of personal data",
    "onward_transfer.recipient": "Recipient",
    "onward_transfer.received_from": "Received from (State)",
    "onward_transfer.authorization": "Authorization (reference and date)",
}
"""English labels, translated in the templates (gettext)."""

HINTS = {
    "legal_basis.instrument": "Needed where the Convention is not in force between the two "
    "States (65); the page's checks say whether it is.",
    "legal_basis.name": "For a treaty or a law: its name as it is cited.",
    "contacts.time_zone": "As the time zone database names it, e.g. Europe/Paris.",
    "authorities.conducting": "Only when it is not the requesting authority.",
    "authorities.validating": "Where your law requires a judge or prosecutor to validate it.",
    "emergency": "Only for an emergency (2(o)): a significant and imminent risk.",
    "oral": "The requested State may accept an oral request in urgency (40(14)).",
    "offences.article": "Choose the article, or leave it and name the national offence.",
    "offences.max_penalty_years": "Needed for a national offence (serious crime: 4 years, 2(h)).",
    "related_request": "For example the preservation request this request follows.",
    "persons.identifiers": "One row for each: choose its kind, so that it can be checked. "
    "A new row appears when you save.",
    "data.identifiers": "One row for each: choose its kind, so that it can be checked; an IP "
    "address with the date, time and time zone it was used. A new row appears when you save.",
}
OPTION_NAMES = {
    "urgency": {"routine": "Routine", "urgent": "Urgent", "emergency": "Emergency"},
    "channel": {
        "central_authority": "Central authority",
        "point_of_contact": "24/7 point of contact",
        "interpol": "INTERPOL",
        "diplomatic": "Diplomatic channels",
        "law_enforcement": "Law enforcement cooperation",
    },
    "legal_basis.instrument": {
        "convention": "The Convention",
        "treaty": "Another treaty between the two States",
        "reciprocity": "Reciprocity",
        "domestic_law": "The requesting State's law",
    },
    "matter.nature": {
        "investigation": "Investigation",
        "prosecution": "Prosecution",
        "judicial_proceeding": "Judicial proceeding",
    },
    "persons.role": {
        "suspect": "Suspect",
        "accused": "Accused",
        "witness": "Witness",
        "victim": "Victim",
        "expert": "Expert",
        "other": "Other",
    },
    "data.category": {
        "subscriber": "Subscriber information",
        "traffic": "Traffic data",
        "content": "Content data",
        "other": "Other data",
    },
}
for _owner in ("persons", "data"):
    WIDGETS |= {
        f"{_owner}.identifiers.kind": "select",
        f"{_owner}.identifiers.port": "number",
    } | {
        f"{_owner}.identifiers.{p}": "text" for p in ("value", "timestamp", "time_zone", "service")
    }
    LABELS |= {
        f"{_owner}.identifiers.kind": "Kind",
        f"{_owner}.identifiers.value": "Identifier",
        f"{_owner}.identifiers.port": "Port",
        f"{_owner}.identifiers.timestamp": "Used at (date and time)",
        f"{_owner}.identifiers.time_zone": "Time zone",
        f"{_owner}.identifiers.service": "Service or network",
    }
    HINTS |= {
        f"{_owner}.identifiers.timestamp": "Year-month-day and time, e.g. 2026-03-01T14:30",
        f"{_owner}.identifiers.time_zone": "E.g. UTC or Asia/Ho_Chi_Minh",
    }
    OPTION_NAMES[f"{_owner}.identifiers.kind"] = dict(KIND_NAMES)
ITEM_LABELS = {"offences": "Offence", "persons": "Person", "data": "Data item"}
ADD_LABELS = {
    "offences": "Add another offence",
    "persons": "Add another person",
    "data": "Add another data item",
}
LEFT_TO_RIGHT = ("identifiers.value", "timestamp", "time_zone", "port")
"""Fields (by the end of their path) whose values are written left to right in any language."""
FIRST_FOCUS = {"radio", "multi", "yesno"}
"""Widgets that are a group of inputs: a link to them goes to their first option."""


# --- the shape of a step ----------------------------------------------------------------------


@dataclass
class Input:
    id: str
    name: str
    widget: str
    label: str
    value: Any
    hint: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    """(value, label): the label is English, or already in the reader's language
    (State, language and article names come from CLDR and the Convention's data)."""
    translate_options: bool = True
    errors: list[Text] = field(default_factory=list)
    max_length: int | None = None
    """The schema's maxLength for the text (law/document.py): the browser stops typing there."""

    ltr: bool = False
    """A value written left to right whatever the page's language (an address, a time, a
    time zone, a number): in a right-to-left page its input is still left to right."""
    rows: list[list[Input]] = field(default_factory=list)
    """For a list of identifiers: one row of inputs each, and a blank row to add one."""

    in_words: str = ""
    """A date field's value with the month in words, in the reader's language (none in a
    right-to-left page, where dates are ISO 8601 throughout)."""

    @property
    def html_type(self) -> str:
        """Text, dates too: a browser's date picker shows the date in its own numeric order
        (12/31/2026 or 31/12/2026), which people misread; typed as ISO 8601 and echoed with
        the month in words, it is not, and a wrong date stays as typed to be corrected."""
        return "text"

    @property
    def anchor(self) -> str:
        """Where a link to this input lands: the input, or a group's first option."""
        if self.widget in FIRST_FOCUS and self.options:
            return f"{self.id}-{self.options[0][0] or 'none'}"
        if self.widget == "yesno":
            return f"{self.id}-yes"
        return self.id


@dataclass
class Block:
    """One field of the document: a single input, an object's inputs, or a list's items."""

    name: str
    label: str
    kind: str  # "single", "object" or "list"
    inputs: list[Input] = field(default_factory=list)
    items: list[list[Input]] = field(default_factory=list)
    requirement: list[tuple[str, str, str | None]] = field(default_factory=list)
    """(article, text, when) of the form's requirements for this field (``when``: needed only
    in some cases)."""
    errors: list[Text] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    def all_inputs(self) -> list[Input]:
        found = [*self.inputs, *(i for item in self.items for i in item)]
        return found + [sub for i in found for row in i.rows for sub in row]

    @property
    def anchor(self) -> str:
        found = self.all_inputs()
        return found[0].anchor if found else self.id


def fields_of(kind: str, document: dict[str, Any]) -> set[str]:
    """The fields the wizard shows for ``kind``: what the form requires, what every form may
    carry, and anything already in the document."""
    form = convention().forms[kind]
    shown = {r.field for r in form.requires} | ALWAYS
    return shown | {k for k in document if k in WIDGETS or k in OBJECTS or k in LISTS}


def steps_of(kind: str, document: dict[str, Any]) -> list[Step]:
    shown = fields_of(kind, document)
    return [s for s in STEPS if any(f in shown for f in s.fields)]


def step_of_field(field_name: str) -> str | None:
    return next((s.key for s in STEPS if field_name in s.fields), None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _options(path: str, kind: str, document: dict[str, Any], lang: str, ctx: Any) -> list[Any]:
    if path == "requested_state":
        networked = {n.state for n in ctx.directory.nodes}
        # and the States outside the network whose designation tells where to write to
        published = set(default_context(date.today()).designations.by_state)
        codes = sorted((networked | published) - {ctx.me.state})
        current = document.get("requested_state")
        if isinstance(current, str) and current and current not in codes:
            codes.append(current)
        return [("", N_("Choose a State"))] + [
            (c, _state_name(c, lang) + ("" if c in networked else " ✉")) for c in codes
        ]
    if path == "channel":
        names = OPTION_NAMES["channel"]
        return [("", N_("Choose a channel"))] + [
            (c, names[c]) for c in convention().forms[kind].channels
        ]
    if path == "language":
        accepted = list(_accepted(document, ctx)["languages"])
        codes = accepted + [code for code in LANGUAGES if code not in accepted]
        locale = Locale.parse(lang)
        return [("", N_("Choose a language"))] + [
            (c, locale.languages.get(c, c) + (" ✓" if c in accepted else "")) for c in codes
        ]
    if path == "offences.article":
        offences = convention().offences.values()
        numbers = sorted({article_of(o.article) for o in offences})
        return [("", N_("None: a national offence"))] + [
            (str(n), f"{n}. {convention().article(n).title.get(lang).text}") for n in numbers
        ]
    if path in OPTION_NAMES:
        return [("", N_("Choose")), *OPTION_NAMES[path].items()]
    return []


def _state_name(code: str, lang: str) -> str:
    try:
        return f"{participant(code).name(lang)} ({code})"
    except HanoinetError:
        return code


def _conduct_options(article: Any, which: str) -> list[tuple[str, str]]:
    """Conduct ids (or optional elements) of the Convention offences under ``article``."""
    found: list[tuple[str, str]] = []
    for offence in convention().offences.values():
        if str(article_of(offence.article)) != str(article):
            continue
        items = offence.conduct if which == "conduct" else offence.optional_elements
        for item in items:
            if item.id not in (i for i, _ in found):
                found.append((item.id, item.text))
    return found


@cache
def max_lengths() -> dict[str, int]:
    """The longest text of each field (``matter.description``: 50000), from the schema."""
    schema = RequestDocument.model_json_schema()
    defs = schema.get("$defs", {})
    found: dict[str, int] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, prop in properties.items():
            for option in [prop, *prop.get("anyOf", []), *prop.get("items", {}).get("oneOf", [])]:
                ref = option.get("$ref") or option.get("items", {}).get("$ref")
                if ref:
                    walk(defs[ref.rsplit("/", 1)[1]]["properties"], f"{prefix}{name}.")
                elif option.get("type") == "string" and "maxLength" in option:
                    found[prefix + name] = int(option["maxLength"])

    walk(schema["properties"], "")
    return found


def _accepted(document: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """What the requested State's nodes accept, from the signed directory."""
    state = document.get("requested_state")
    nodes = ctx.directory.nodes_of(state) if isinstance(state, str) and state else []
    languages: list[str] = []
    channels: list[str] = []
    for node in nodes:
        languages += [x for x in node.languages if x not in languages]
        channels += [x for x in node.channels if x not in channels]
    return {"nodes": nodes, "languages": languages, "channels": channels}


def _in_words(value: Any, lang: str) -> str:
    """``value``, a date as ISO 8601, with the month in words in ``lang``; "" for anything
    else, and in a right-to-left language (``render.RTL``)."""
    from hanoinet.web.render import RTL

    if lang in RTL or not isinstance(value, str) or not _ISO_DATE.match(value):
        return ""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return ""
    return str(format_date(day, "long", locale=Locale.parse(lang)))


def _input(
    path: str, name: str, value: Any, kind: str, document: dict[str, Any], lang: str, ctx: Any
) -> Input:
    widget = WIDGETS.get(path, "area" if "." not in path else "text")
    ident = "f-" + name.replace(".", "-")
    found = Input(ident, name, widget, LABELS.get(path, path), value, HINTS.get(path, ""), [], True)
    if widget in ("area", "text"):
        found.max_length = max_lengths().get(path)
    found.ltr = widget in ("date", "number") or path.endswith(LEFT_TO_RIGHT)
    if widget == "date":
        found.hint = found.hint or N_("Year-month-day, e.g. 2026-12-31")
        found.in_words = _in_words(value, lang)
    if widget in ("select", "radio"):
        found.options = _options(path, kind, document, lang, ctx)
        found.translate_options = path not in ("requested_state", "language", "offences.article")
        if widget == "radio":
            found.options = [o for o in found.options if o[0]]
        found.value = _text(value)
    elif widget == "multi":
        item = name.rsplit(".", 1)[0]
        article = _get(document, item + ".article")
        found.options = _conduct_options(article, path.rsplit(".", 1)[1])
        found.value = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        if not found.options:
            found.hint = (
                N_("Choose a Convention offence and save to choose the conduct.")
                if not article
                else ""
            )
    elif widget == "lines":
        found.value = "\n".join(str(v) for v in value) if isinstance(value, list) else _text(value)
    elif widget == "identifiers":
        rows = [v for v in value if isinstance(v, str | dict)] if isinstance(value, list) else []
        found.rows = [
            [
                _input(
                    f"{path}.{part}",
                    f"{name}.{index}.{part}",
                    (row if isinstance(row, dict) else {"value": row}).get(part),
                    kind,
                    document,
                    lang,
                    ctx,
                )
                for part in IDENTIFIER_PARTS
            ]
            for index, row in enumerate([*rows, {}])
        ]
        found.value = None
    elif widget in ("check", "yesno"):
        found.value = value
    else:
        found.value = _text(value)
    return found


def _get(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def blocks(
    kind: str, document: dict[str, Any], step: Step, lang: str, ctx: Any, extra: str = ""
) -> list[Block]:
    """The fields of ``step`` for this draft, with their current values; ``extra`` names a
    list that gets one more blank item ("Add another")."""
    form = convention().forms[kind]
    shown = fields_of(kind, document)
    found: list[Block] = []
    for name in step.fields:
        if name not in shown:
            continue
        requirement = [(r.article, r.text, r.when) for r in form.requires if r.field == name]
        value = document.get(name)
        if name in OBJECTS:
            block = Block(name, LABELS[name], "object", requirement=requirement)
            sub = value if isinstance(value, dict) else {}
            for part in OBJECTS[name]:
                block.inputs.append(
                    _input(
                        f"{name}.{part}", f"{name}.{part}", sub.get(part), kind, document, lang, ctx
                    )
                )
        elif name in LISTS:
            block = Block(name, LABELS[name], "list", requirement=requirement)
            entries = [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []
            count = max(1, len(entries) + (1 if extra == name else 0))
            for index in range(count):
                entry = entries[index] if index < len(entries) else {}
                block.items.append(
                    [
                        _input(
                            f"{name}.{part}",
                            f"{name}.{index}.{part}",
                            _get(entry, part),
                            kind,
                            document,
                            lang,
                            ctx,
                        )
                        for part in LISTS[name]
                    ]
                )
        else:
            block = Block(name, LABELS.get(name, name), "single", requirement=requirement)
            block.inputs.append(_input(name, name, value, kind, document, lang, ctx))
        found.append(block)
    return found


# --- from the HTML form to the document -----------------------------------------------------------


def _number(text: str) -> Any:
    """A number if it reads as one; else the text as typed (the check reports it)."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return text
    if not math.isfinite(value):  # "nan", "inf", "1e400": no number JSON can hold
        return text
    return int(value) if value.is_integer() else value


def _value(path: str, raw: list[Any]) -> Any:
    values = [v for v in raw if isinstance(v, str)]  # a file where text belongs is no value
    widget = WIDGETS.get(path, "area" if "." not in path else "text")
    if widget == "multi":
        return [v for v in values if v]
    if widget == "check":
        return any(v == "yes" for v in values)
    text = (values[-1] if values else "").strip()
    if widget == "yesno":
        return {"yes": True, "no": False}.get(text)
    if widget == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if widget == "number":
        return _number(text) if text else None
    return text or None


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == "" or value == {}


def apply_form(
    document: dict[str, Any], step: Step, form: FormData, *, remove: str = ""
) -> dict[str, Any]:
    """The document with this step's fields as typed in ``form`` (a pure function).

    Blank inputs remove their field (an unchecked box is ``false``); a list item left all
    blank is dropped; ``remove`` (``offences.1``) drops one item. Values of the wrong type are
    kept as typed, so nothing is lost: the checks report them at their field.
    """
    doc = copy.deepcopy(document)
    shown = fields_of(str(doc.get("kind")), doc)
    for name in step.fields:
        if name not in shown or f"_has.{name}" not in form:
            continue  # not on this page (the hidden _has marker says it was)
        if name in OBJECTS:
            obj = {p: _value(f"{name}.{p}", form.getlist(f"{name}.{p}")) for p in OBJECTS[name]}
            new: Any = {k: v for k, v in obj.items() if not _empty(v)}
        elif name in LISTS:
            new = _list_items(name, form, remove)
        else:
            new = _value(name, form.getlist(name))
        if _empty(new) and WIDGETS.get(name) != "check":
            doc.pop(name, None)
        else:
            doc[name] = new
    return doc


def _list_items(name: str, form: FormData, remove: str) -> list[dict[str, Any]]:
    indices = sorted(
        {
            int(key.split(".")[1])
            for key in form
            if key.startswith(f"{name}.") and key.split(".")[1].isdigit()
        }
    )
    items: list[dict[str, Any]] = []
    for index in indices:
        if remove == f"{name}.{index}":
            continue
        item: dict[str, Any] = {}
        for part in LISTS[name]:
            at = f"{name}.{index}.{part}"
            value = (
                _identifier_rows(form, at)
                if WIDGETS.get(f"{name}.{part}") == "identifiers"
                else _value(f"{name}.{part}", form.getlist(at))
            )
            if "." in part:  # a field of an object inside the item: period.start
                outer, inner = part.split(".", 1)
                if not _empty(value):
                    item.setdefault(outer, {})[inner] = value
            else:
                item[part] = value
        if name == "offences":
            _keep_known_conduct(item)
        item = {k: v for k, v in item.items() if not _empty(v)}
        if item:
            items.append(item)
    return items


def _identifier_rows(form: FormData, at: str) -> list[str | dict[str, Any]]:
    """The identifiers typed in rows ``{at}.{n}.{part}``: a row with only its value, as text
    (as a request without kinds has them); a row with a kind or more, as a typed identifier;
    a blank row, nothing."""
    owner = at.split(".", 1)[0]
    rows = sorted(
        {
            int(key[len(at) + 1 :].split(".", 1)[0])
            for key in form
            if key.startswith(f"{at}.") and key[len(at) + 1 :].split(".", 1)[0].isdigit()
        }
    )
    found: list[str | dict[str, Any]] = []
    for row in rows:
        typed = {
            part: _value(f"{owner}.identifiers.{part}", form.getlist(f"{at}.{row}.{part}"))
            for part in IDENTIFIER_PARTS
        }
        typed = {k: v for k, v in typed.items() if not _empty(v)}
        if set(typed) == {"value"} and isinstance(typed["value"], str):
            found.append(typed["value"])
        elif typed:
            found.append(typed)
    return found


def _keep_known_conduct(item: dict[str, Any]) -> None:
    """Conduct ticked under another article (hidden once the article changed) is dropped."""
    article = item.get("article")
    if not article:
        item["conduct"], item["elements"] = [], []
        return
    for which in ("conduct", "elements"):
        known = {i for i, _ in _conduct_options(article, which)}
        item[which] = [v for v in item.get(which) or [] if v in known]


# --- findings, placed -------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A finding with where it belongs: its step and the input a link should focus."""

    finding: Finding
    message: Text
    """What the page says (``tr`` shows it in the reader's language)."""
    step: str | None
    anchor: str | None


def _friendly(finding: Finding) -> Text:
    """The check's text (the web says it without the CLI's pointer: ``web/texts.py``), and
    plain words for a value that is not of its type (the web form's own inputs)."""
    path = ".".join(p for p in finding.field.split("/")[1:] if not p.isdigit())
    widget = WIDGETS.get(path, "")
    if finding.code == "invalid_value" and widget == "date":
        return t(N_("Enter a real date, such as 2026-12-31"))
    if finding.code == "invalid_value" and widget == "number":
        return t(N_("Enter the number of years, such as 5"))
    return finding.text


def place(findings: list[Finding], step_blocks: dict[str, list[Block]]) -> list[Placed]:
    """Each finding with its step and the id of the input it concerns (the nearest enclosing
    input or field when the pointer names a group or something not shown)."""
    placed: list[Placed] = []
    for f in findings:
        parts = [p for p in f.field.split("/")[1:] if p]
        step = step_of_field(parts[0]) if parts else None
        anchor = None
        if step is not None:
            inputs = {i.id: i for b in step_blocks.get(step, []) for i in b.all_inputs()}
            groups = {b.id: b for b in step_blocks.get(step, [])}
            for n in range(len(parts), 0, -1):
                ident = "f-" + "-".join(parts[:n])
                if ident in inputs:
                    anchor = inputs[ident].anchor
                    break
                if ident in groups:
                    anchor = groups[ident].anchor
                    break
                item_inputs = [i for i in inputs.values() if i.id.startswith(ident + "-")]
                if item_inputs:
                    anchor = item_inputs[0].anchor
                    break
        placed.append(Placed(f, _friendly(f), step, anchor))
    return placed


def attach(placed: list[Placed], step_blocks: list[Block]) -> None:
    """Put each error of this step at its input (or its field's block)."""
    inputs = {i.anchor: i for b in step_blocks for i in b.all_inputs()}
    for p in placed:
        if p.finding.severity != "error" or p.anchor is None:
            continue
        target = inputs.get(p.anchor)
        if target is not None and p.message not in target.errors:
            target.errors.append(p.message)


# --- routes -----------------------------------------------------------------------------------


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _drafter(request: Request) -> tuple[Any, Response | None]:
    """The logged-in user if they may draft; else the response to give instead."""
    current = session(request)
    if current is None:
        return None, login_first(request)
    if not access.may_create(current.principal, direction="outgoing"):
        return current, message_page(
            request,
            N_("Not allowed"),
            N_("Your role does not draft requests"),
            N_("Ask your node administrator if you need it."),
            403,
        )
    return current, None


def _kinds_for(principal: access.Principal) -> list[str]:
    """The forms this user may draft: a duty officer drafts the 24/7 forms only, the ones
    their desk shows."""
    forms = list(convention().forms)
    if access.scope(principal).desk_kinds is not None:
        return [k for k in forms if k in access.desk_kinds()]
    return forms


@router.get("/drafts/new")
def new_form(request: Request) -> Response:
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    return _new_page(request, current, {}, {})


def _new_page(
    request: Request, current: Any, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    ctx = web(request).ctx
    lang = choose_language(request, current.locale)
    states = _options("requested_state", "preservation", {}, lang, ctx)
    return page(
        request,
        "draft_new.html",
        N_("New request"),
        active="new",
        kinds=_kinds_for(current.principal),
        forms=convention().forms,
        states=states,
        letter_states=_letter_states(request, current, lang),
        typed=typed,
        errors=errors,
        status_code=status,
    )


@router.post("/drafts/new")
async def create(request: Request) -> Response:
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    form = await request.form()
    typed = {k: v for k, v in form.items() if isinstance(v, str)}
    if not auth.csrf_ok(current.csrf, typed.get("csrf")):
        return _new_page(
            request, current, typed, {"": N_("This form had expired. Please try again.")}, 400
        )
    ctx = web(request).ctx
    kind = typed.get("kind", "")
    state = typed.get("requested_state", "")
    letter_from = typed.get("letter_from", "")
    errors: dict[str, str] = {}
    kinds = _kinds_for(current.principal)
    if kind not in kinds:
        errors["kind-" + (kinds[0] if kinds else "none")] = N_("Choose the form of cooperation")
    if letter_from:
        allowed = {code for code, _name in _letter_states(request, current, "en")}
        if letter_from not in allowed:
            errors["letter_from"] = N_("Choose a State that runs no node, among those listed")
        state = ctx.me.state
    elif not state:
        errors["requested_state"] = N_("Choose the requested State")
    elif state == ctx.me.state:
        errors["requested_state"] = N_("Choose another State than your own")
    if errors:
        return _new_page(request, current, typed, errors, 400)
    form_def = convention().forms[kind]
    document: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "requesting_state": letter_from or ctx.me.state,
        "requested_state": state,
        "urgency": "emergency" if kind == "emergency_disclosure" else "routine",
    }
    accepted = _accepted(document, ctx)
    channel = next((c for c in form_def.channels if c in accepted["channels"]), None)
    if channel:
        document["channel"] = channel
    other = letter_from or state
    title = typed.get("title", "").strip() or f"{form_def.title}: {_state_name(other, 'en')}"
    created = case_service.new_case(
        ctx.store,
        json.dumps(document),
        direction="outgoing",
        actor=current.principal.actor,
        at=now(request),
        title=title[:200],
    )
    return _redirect(f"/drafts/{created.request_id}?step={STEP_KEYS[0]}")


def _letter_states(request: Request, current: Any, lang: str) -> list[tuple[str, str]]:
    """The States a request may come from by letter, to be typed in and registered: those
    that run no node and published a designation; none for a role that does not act on
    received requests."""
    if not access.may_act(current.principal, direction="incoming"):
        return []
    ctx = web(request).ctx
    networked = {n.state for n in ctx.directory.nodes}
    published = set(default_context(now(request).date()).designations.by_state)
    return [(c, _state_name(c, lang)) for c in sorted(published - networked - {ctx.me.state})]


def transcribed(request: Request, document: dict[str, Any]) -> bool:
    """Whether a draft is a letter from another State typed in to register (its requesting
    State is not this node's)."""
    mine = web(request).ctx.me.state
    return document.get("requesting_state") not in (None, "", mine)


def _draft(
    request: Request, current: Any, ident: str, *, saving: bool = False
) -> tuple[Any, Response | None]:
    """The draft ``ident`` as this user sees it (an audited read), or the page to give: a
    request no longer a draft is shown as it is, or, to someone saving a step, a page that
    says the step was not saved."""
    try:
        detail = case_service.show(
            web(request).ctx.store,
            ident,
            actor=current.principal.actor,
            at=now(request),
            principal=current.principal,
            approval_policy=web(request).approval,
        )
    except UnknownCase:
        return None, message_page(
            request,
            N_("Not found"),
            N_("No such draft"),
            N_("It does not exist on this node, or your role does not show it."),
            404,
        )
    found = next((r for r in detail.requests if r.summary.id == ident), detail.requests[0])
    if found.summary.direction != "outgoing" or found.summary.state not in ("draft", "checked"):
        if saving:
            return None, _not_saved(request)
        return None, _redirect(f"/requests/{found.summary.id}")
    return found, None


def _not_saved(request: Request) -> Response:
    return message_page(
        request,
        N_("Not saved"),
        N_("Not saved: the request is no longer a draft"),
        N_("It was sent or withdrawn meanwhile; open it from the request list."),
        409,
    )


def _step(key: str | None, kind: str, document: dict[str, Any]) -> Step:
    available = steps_of(kind, document)
    return next((s for s in available if s.key == key), available[0])


def _all_blocks(kind: str, document: dict[str, Any], lang: str, ctx: Any) -> dict[str, list[Block]]:
    return {s.key: blocks(kind, document, s, lang, ctx) for s in steps_of(kind, document)}


def _findings(document: dict[str, Any], at: datetime) -> list[Finding]:
    try:
        _doc, found = check_text(json.dumps(document), default_context(at.date()))
    except NotARequest as exc:
        return [
            Finding(
                "not_a_request",
                "error",
                None,
                "",
                t("%(problem)s", problem=Data(exc.message)),
                basis="format",
            )
        ]
    return found


def _step_page(
    request: Request,
    current: Any,
    draft: Any,
    step: Step,
    document: dict[str, Any],
    *,
    extra: str = "",
    show_errors: bool = False,
    saved: bool = False,
    problem: str = "",
    status: int = 200,
) -> Response:
    ctx = web(request).ctx
    lang = choose_language(request, current.locale)
    kind = draft.summary.kind
    everything = _all_blocks(kind, document, lang, ctx)
    if extra:  # "add another": this step once more, with one blank item
        everything[step.key] = blocks(kind, document, step, lang, ctx, extra=extra)
    placed = place(_findings(document, now(request)), everything)
    here = [p for p in placed if p.step == step.key]
    errors = {p.anchor or "": p.message for p in here if p.finding.severity == "error"}
    if show_errors:
        attach(here, everything[step.key])
    steps = steps_of(kind, document)
    index = [s.key for s in steps].index(step.key)
    return page(
        request,
        "draft_step.html",
        step.title,
        active="new",
        draft=draft,
        form=convention().forms[kind],
        step=step,
        steps=steps,
        next_step=steps[index + 1] if index + 1 < len(steps) else None,
        previous_step=steps[index - 1] if index > 0 else None,
        blocks=everything[step.key],
        placed=placed,
        here=here,
        errors={**({"": problem} if problem else {}), **(errors if show_errors else {})},
        saved=saved,
        accepted=_accepted(document, ctx),
        channel_names=OPTION_NAMES["channel"],
        item_labels=ITEM_LABELS,
        add_labels=ADD_LABELS,
        document_json=json.dumps(document, ensure_ascii=False),
        status_code=status,
    )


@router.get("/drafts/{ident}")
def step_form(
    request: Request, ident: str, step: str = "", add: str = "", saved: str = ""
) -> Response:
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    draft, other = _draft(request, current, ident)
    if other is not None:
        return other
    document = draft.document
    chosen = _step(step, draft.summary.kind, document)
    return _step_page(
        request,
        current,
        draft,
        chosen,
        document,
        extra=add if add in LISTS else "",
        saved=saved == "1",
    )


@router.post("/drafts/{ident}")
async def save_step(request: Request, ident: str, step: str = "") -> Response:
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    form = await request.form()
    draft, other = _draft(request, current, ident, saving=True)
    if other is not None:
        return other
    chosen = _step(step, draft.summary.kind, draft.document)
    if not auth.csrf_ok(current.csrf, _str(form.get("csrf"))):
        typed = apply_form(draft.document, chosen, form)
        return _step_page(
            request,
            current,
            draft,
            chosen,
            typed,
            problem=N_("This form had expired, so nothing was saved. Please save again."),
            status=400,
        )
    remove = _str(form.get("_remove"))
    add = _str(form.get("_add"))
    go = _str(form.get("_go"))
    try:
        case_service.revise(
            web(request).ctx.store,
            draft.summary.id,
            lambda old: apply_form(old, chosen, form, remove=remove),
            actor=current.principal.actor,
            at=now(request),
            principal=current.principal,
        )
    except Forbidden as exc:
        return message_page(request, N_("Not allowed"), exc.message, "", 403)
    except NotARequest:  # a text or a list past its limit (RequestTooLarge): nothing stored
        typed = apply_form(draft.document, chosen, form)
        return _step_page(
            request,
            current,
            draft,
            chosen,
            typed,
            show_errors=True,
            problem=N_(
                "Not saved: a text or a list is longer than a request may hold (see below). "
                "Shorten it and save again."
            ),
            status=422,
        )
    except HanoinetError:  # the lifecycle refused: it was sent meanwhile
        return _not_saved(request)
    base = f"/drafts/{draft.summary.id}"
    if add in LISTS or remove:
        return _redirect(
            f"{base}?step={chosen.key}" + (f"&add={add}#f-{add}" if add in LISTS else "")
        )
    if go == "next":
        fresh, _ = _draft(request, current, draft.summary.id)
        document = fresh.document if fresh is not None else draft.document
        placed = place(
            _findings(document, now(request)),
            _all_blocks(draft.summary.kind, document, "en", web(request).ctx),
        )
        if any(p.step == chosen.key and p.finding.severity == "error" for p in placed):
            return _step_page(
                request,
                current,
                fresh or draft,
                chosen,
                document,
                show_errors=True,
                saved=True,
                status=400,
            )
        steps = steps_of(draft.summary.kind, document)
        index = [s.key for s in steps].index(chosen.key)
        if index + 1 < len(steps):
            return _redirect(f"{base}?step={steps[index + 1].key}")
        return _redirect(f"{base}/preview")
    if go in STEP_KEYS:
        return _redirect(f"{base}?step={go}")
    if go == "preview":
        return _redirect(f"{base}/preview")
    return _redirect(f"{base}?step={chosen.key}&saved=1")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@router.post("/drafts/{ident}/check")
async def live_check(request: Request, ident: str, step: str = "") -> Response:
    """The findings as the user types (htmx): computed from the page's copy of the draft and
    what is typed, without reading or writing the store, so no keystroke is recorded."""
    current, refused = _drafter(request)
    if refused is not None:
        return Response(status_code=401 if current is None else 403)
    form = await request.form()
    if not auth.csrf_ok(current.csrf, _str(form.get("csrf"))):
        return Response(status_code=400)
    try:
        base = boundedjson.loads(
            _str(form.get("_document")), max_bytes=MAX_TEXT_BYTES, what="the draft"
        )
    except (ValueError, InvalidInput):  # not JSON, or nested or sized as no draft is
        base = None
    if (
        not isinstance(base, dict)
        or not isinstance(base.get("kind"), str)
        or (base["kind"] not in convention().forms)
    ):
        return Response("The page is out of date; reload it.", status_code=400)
    kind = str(base["kind"])
    chosen = _step(step, kind, base)
    document = apply_form(base, chosen, form)
    lang = choose_language(request, current.locale)
    everything = _all_blocks(kind, document, lang, web(request).ctx)
    placed = place(_findings(document, now(request)), everything)
    return page(
        request,
        "_draft_findings.html",
        "",
        draft_id=ident,
        step=chosen,
        placed=placed,
        accepted=_accepted(document, web(request).ctx),
        channel_names=OPTION_NAMES["channel"],
    )


@router.get("/drafts/{ident}/preview")
def preview(request: Request, ident: str) -> Response:
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    draft, other = _draft(request, current, ident)
    if other is not None:
        return other
    return _preview_page(request, current, draft)


def _outside(request: Request, document: dict[str, Any], lang: str, form: Any = None) -> Any:
    """For a request to a State that runs no node: whom it goes to and how it may (the page's
    choice of means); None for a State with a node."""
    from hanoinet.services.outside import recipient

    state = document.get("requested_state")
    current = web(request)
    if not isinstance(state, str) or not state or current.ctx.directory.nodes_of(state):
        return None
    designation = default_context(now(request).date()).designations.get(state)
    to = recipient(designation, document.get("channel"))
    chosen = _str(form.get("means")) if form is not None else ""
    return {
        "state_name": _state_name(state, lang),
        "email": to.email if to else None,
        "postal": f"{to.name}, {to.postal_address}" if to and to.postal_address else None,
        "mailer": current.mailer is not None,
        "chosen": chosen,
        "reference": _str(form.get("reference")) if form is not None else "",
    }


def _preview_page(
    request: Request,
    current: Any,
    draft: Any,
    problem: str = "",
    status: int = 200,
    form: Any = None,
    means_error: str = "",
) -> Response:
    ctx = web(request).ctx
    lang = choose_language(request, current.locale)
    kind = draft.summary.kind
    document = draft.document
    placed = place(_findings(document, now(request)), _all_blocks(kind, document, lang, ctx))
    errors: dict[str, Text | str] = {
        f"/drafts/{draft.summary.id}?step={p.step}#{p.anchor}"
        if p.step and p.anchor
        else "": p.message
        for p in placed
        if p.finding.severity == "error"
    }
    if problem:
        errors = {"": problem, **errors}
    return page(
        request,
        "draft_preview.html",
        N_("Preview and send"),
        active="new",
        draft=draft,
        document=document,
        form=convention().forms[kind],
        steps=steps_of(kind, document),
        placed=placed,
        error_links=errors,
        ready=not any(p.finding.severity == "error" for p in placed),
        awaits_approval=_awaits_approval(draft),
        state_name=lambda code: _state_name(code, lang) if code else "",
        option_names=OPTION_NAMES,
        labels=LABELS,
        identifiers=identifier_lines,
        outside=None if transcribed(request, document) else _outside(request, document, lang, form),
        transcription=transcribed(request, document),
        means_names=MEANS_NAMES,
        means_error=means_error,
        accepted=_accepted(document, ctx),
        channel_names=OPTION_NAMES["channel"],
        status_code=status,
    )


def identifier_lines(identifiers: Any) -> list[tuple[str, str]]:
    """(English name of its kind, the identifier as one line) for each identifier of a draft,
    as typed: one the checks set aside is shown by its value alone."""
    found: list[tuple[str, str]] = []
    for raw in identifiers if isinstance(identifiers, list) else []:
        if isinstance(raw, str):
            found.append((kind_name(raw), written(raw)))
            continue
        if not isinstance(raw, dict):
            continue
        try:
            typed = Identifier.model_validate(raw)
        except ValidationError:
            kind = raw.get("kind")
            found.append(
                (KIND_NAMES.get(str(kind), KIND_NAMES["other"]), str(raw.get("value", "")))
            )
        else:
            found.append((kind_name(typed), written(typed)))
    return found


def _awaits_approval(draft: Any) -> bool:
    """The node's policy asks a supervisor to approve this draft before it is sent, and the
    text as it is has no approval yet (checking it again would also ask for a new one)."""
    return bool(draft.approval_required and draft.approved is None)


@router.post("/drafts/{ident}/send")
async def send(request: Request, ident: str) -> Response:
    """Check, then send: two lifecycle actions, each its own transaction (a checked draft
    that fails to send stays checked, as on the command line). A draft the node's policy asks
    a supervisor to approve is only checked, and waits on its case page for the approval; an
    approved one is sent without a new check (that would ask for a new approval; ``send``
    runs the same checks itself)."""
    current, refused = _drafter(request)
    if refused is not None:
        return refused
    form = await request.form()
    draft, other = _draft(request, current, ident)
    if other is not None:
        return other
    if not auth.csrf_ok(current.csrf, _str(form.get("csrf"))):
        return _preview_page(
            request, current, draft, "This form had expired. Please try again.", 400
        )
    if transcribed(request, draft.document):
        return _preview_page(request, current, draft, REGISTER_ERRORS["not_sent"], 400)
    store = web(request).ctx.store
    steps = [] if draft.summary.state == "checked" and draft.approved else ["check"]
    outside = _outside(request, draft.document, "en")
    means = _str(form.get("means"))
    if outside is not None and not _awaits_approval(draft) and not means:
        return _preview_page(
            request, current, draft, "", 400, form, N_("Choose how the request goes.")
        )
    if not _awaits_approval(draft):
        steps.append("send")
    try:
        for action in steps:
            if action == "send" and outside is not None:
                _send_outside(request, current, draft.summary.id, means, form)
                continue
            case_service.act(
                store,
                draft.summary.id,
                action,
                actor=current.principal.actor,
                at=now(request),
                principal=current.principal,
                approval_policy=web(request).approval,
            )
    except HanoinetError as exc:
        fresh, other = _draft(request, current, ident)
        if other is not None:
            return other
        return _preview_page(request, current, fresh, exc.message, 400, form)
    return _redirect(f"/requests/{draft.summary.id}")


REGISTER_ERRORS = {
    "means": N_("Choose how the letter came."),
    "date": N_("Enter a real date, such as 2026-12-31"),
    "not_sent": N_(
        "This is another State's letter typed in: register it as received. It is not sent."
    ),
    "refused": N_(
        "It cannot be registered as it is: the day it came must not be after today, its "
        "reference is at most 500 characters, and the file a PDF, PNG, JPEG, TIFF or .eml of "
        "at most 25 MiB, that is what its name says."
    ),
}


@router.post("/drafts/{ident}/register")
async def register(request: Request, ident: str) -> Response:
    """Register a letter typed into the wizard as a request received, its scan attached (one
    file a post, read as a stream: web/limits.py); the session is checked before the body is
    read. The draft becomes the received request (services/outside.py)."""
    from hanoinet.services.outside import MEANS, Scan, register_transcription

    current, refused = _drafter(request)
    if refused is not None:
        return refused
    async with request.form(max_files=1, max_fields=20) as data:  # closes the spooled file
        fields = {k: v.strip() for k, v in data.items() if isinstance(v, str)}
        upload = data.get("scan")
        scans: list[Any] = []
        if upload is not None and not isinstance(upload, str) and upload.filename:
            scans.append(Scan(upload.filename, await upload.read()))
    draft, other = _draft(request, current, ident)
    if other is not None:
        return other
    if not auth.csrf_ok(current.csrf, fields.get("csrf")):
        return _preview_page(
            request, current, draft, "This form had expired. Please try again.", 400
        )
    at = now(request)
    means = fields.get("means", "")
    problem: str = REGISTER_ERRORS["means"] if means not in MEANS else ""
    occurred = at
    if not problem and fields.get("received_on"):
        try:
            occurred = datetime.fromisoformat(fields["received_on"])
        except ValueError:
            problem = REGISTER_ERRORS["date"]
        else:
            occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
    if not problem:
        try:
            register_transcription(
                web(request).ctx.store, draft.summary.id, own_state=web(request).ctx.me.state,
                means=means, occurred_at=occurred, scans=scans, actor=current.principal.actor,
                at=at, reference=fields.get("reference"), principal=current.principal,
            )  # fmt: skip
        except HanoinetError:
            problem = REGISTER_ERRORS["refused"]
    if problem:
        return _preview_page(request, current, draft, problem, 400, fields)
    return _redirect(f"/requests/{draft.summary.id}?{urlencode({'done': 'receive'})}")


def _send_outside(request: Request, current: Any, ident: str, means: str, form: Any) -> None:
    """``send`` to a State that runs no node, by the means chosen (services/outside.py)."""
    from hanoinet.services.outside import send_outside

    state = web(request)
    send_outside(
        state.ctx,
        ident,
        means=means,
        reference=_str(form.get("reference")),
        mailer=state.mailer,
        directory_token=state.directory_token,
        actor=current.principal.actor,
        at=now(request),
        principal=current.principal,
        approval_policy=state.approval,
    )
