"""Lay out a request document as the formal request a central authority expects, as PDF/A.

The text comes from two places and the document says which is which:
- fixed phrases (headings, clauses, the signature block) from the ``documents`` translation
  catalog of the chosen language, marked unofficial until a reviewer signs the catalog off;
- the requesting authority's own text (facts, assistance sought ...), printed as written,
  with the language it is in stated.

Every field the form requires is printed, with the article it answers; one that is missing
is printed as missing. A request with errors renders only as a draft: a watermark on every
page, no signature. The request itself travels inside the PDF (``request.json``, a PDF/A-4f
associated file) with its SHA-256, which the footer of every page also prints, so paper and
data can be matched. A missing font, translation or glyph is an error, never an empty box.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import io
import json
import shutil
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from hanoinet import i18n
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED
from hanoinet.convention.model import LANGUAGES
from hanoinet.documents.clauses import applicable
from hanoinet.documents.typesetter import LayoutError, typeset
from hanoinet.errors import DocumentFailed, MissingTool, UnknownArticle
from hanoinet.law.document import Identifier, RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.law.identifiers import kind_name, written
from hanoinet.registry.designations import demo_designations, demo_states, languages_for
from hanoinet.store.audit import canonical

FORMAT = "hanoinet.formal-document/1"
ATTACHMENT = "request.json"
DIRECTORY_ATTACHMENT = "hanoinet-directory.jws"
RTL = frozenset({"ar"})
PDF_STANDARD = "a-4f"
"""PDF/A-4f (ISO 19005-4, on PDF 2.0, with embedded files): the signature's Ed25519
(ISO 32002) needs PDF 2.0, and the request travels inside the file."""
TEMPLATE = "request.typ"

FONTS = {
    "en": ("Noto Serif",),
    "es": ("Noto Serif",),
    "fr": ("Noto Serif",),
    "ru": ("Noto Serif",),
    "ar": ("Noto Naskh Arabic", "Noto Serif"),
    "zh": ("Noto Serif CJK SC", "Noto Serif"),
}
"""The families each language is set in, in order; all must be installed (checked before
rendering), and no other font is used (Typst's fallback is off, so a glyph none of them has
is caught here, not printed as an empty box)."""
MONO = "DejaVu Sans Mono"
FONT_PACKAGES = {
    "Noto Serif": "fonts-noto-core",
    "Noto Naskh Arabic": "fonts-noto-core",
    "Noto Serif CJK SC": "fonts-noto-cjk",
    MONO: "fonts-dejavu-core",
}

N_ = str  # marks an English text for the catalog where it is defined; translated where shown

SECTIONS: tuple[tuple[str, str], ...] = (
    ("requesting_authority", N_("Requesting authority")),
    ("authorities", N_("Other authorities")),
    ("contacts", N_("Contacts")),
    ("references", N_("References")),
    ("matter", N_("Subject matter and nature of the matter")),
    ("offences", N_("Offences")),
    ("facts_summary", N_("Summary of the facts")),
    ("emergency", N_("Emergency")),
    ("assistance_sought", N_("Assistance sought")),
    ("procedures_requested", N_("Procedures to be followed")),
    ("persons", N_("Persons concerned")),
    ("data", N_("Data sought")),
    ("period", N_("Period of collection")),
    ("purpose", N_("Purpose")),
    ("necessity", N_("Necessity")),
    ("judgment", N_("Judgment")),
    ("consent", N_("Consent")),
    ("agreement", N_("Agreement")),
    ("property", N_("Property")),
    ("order", N_("Order")),
    ("onward_transfer", N_("Onward transfer of personal data")),
    ("related_request", N_("Related request")),
)
"""The body of the request, in the order a reader expects; a field is printed when it has a
value or the form requires it."""

LABELS: dict[str, str] = {
    "investigation": N_("investigation"),
    "prosecution": N_("prosecution"),
    "judicial_proceeding": N_("judicial proceeding"),
    "suspect": N_("suspect"),
    "accused": N_("accused"),
    "witness": N_("witness"),
    "victim": N_("victim"),
    "expert": N_("expert"),
    "other": N_("other"),
    "subscriber": N_("subscriber information"),
    "traffic": N_("traffic data"),
    "content": N_("content data"),
    "routine": N_("routine"),
    "urgent": N_("urgent"),
    "emergency": N_("emergency"),
    "central_authority": N_("central authority"),
    "point_of_contact": N_("24/7 point of contact"),
    "interpol": N_("INTERPOL"),
    "diplomatic": N_("diplomatic channels"),
    "law_enforcement": N_("law enforcement"),
}
"""Names of the codes a request holds, in the document's language."""


@dataclass(frozen=True)
class Issuer:
    """Who issues the document: the node that signs it (None: rendered off a node)."""

    node_id: str
    name: str
    state: str


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    lang: str
    draft: bool
    request_sha256: str
    pages: int


def request_sha256(document: dict[str, Any]) -> str:
    """The hash of a request document: SHA-256 of its canonical JSON, as the node stores it."""
    return hashlib.sha256(canonical(document)).hexdigest()


def language_for(doc: RequestDocument, lang: str | None) -> str:
    """The language to render in: the one asked, else the request's own when it is a UN
    language, else the first UN language the requested State accepts, else English."""
    if lang is not None:
        if lang not in LANGUAGES:
            raise DocumentFailed(
                f"--lang {lang}: the formal document is made in the six UN languages; use one "
                f"of {', '.join(LANGUAGES)}"
            )
        return lang
    if doc.language in LANGUAGES:
        return doc.language
    designation = demo_designations().get(doc.requested_state)
    accepted = [code for code in languages_for(designation, doc.kind) if code in LANGUAGES]
    return accepted[0] if accepted else "en"


@cache
def installed_families() -> frozenset[str]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise MissingTool("fontconfig's fc-list is not installed; install Debian's fontconfig")
    listed = subprocess.run(
        [fc_list, "--format", "%{family}\n"], capture_output=True, text=True, check=True
    ).stdout
    return frozenset(name.strip() for line in listed.splitlines() for name in line.split(","))


def check_fonts(lang: str) -> None:
    """Raise DocumentFailed naming the package when a font ``lang`` needs is not installed."""
    have = installed_families()
    for family in (*FONTS[lang], MONO):
        if family not in have:
            raise DocumentFailed(
                f"the font '{family}' that documents in {_english_name(lang)} need is not "
                f"installed; install Debian's {FONT_PACKAGES[family]} (apt-get install "
                f"{FONT_PACKAGES[family]})"
            )


def _english_name(lang: str) -> str:
    return Locale.parse(lang).get_display_name("en") or lang


class Phrases:
    """The fixed phrases in one language; a phrase the catalog lacks is an error, not English
    passed off as a translation."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        catalog = (
            None if lang == "en" else i18n.read_catalog("hanoinet.documents", "documents", lang)
        )
        if lang != "en" and catalog is None:
            raise DocumentFailed(
                f"there is no {_english_name(lang)} catalog for formal documents "
                f"(documents/locale/{lang}/LC_MESSAGES/documents.po)"
            )
        self.reviewed = lang == "en" or (catalog is not None and i18n.reviewed(catalog))
        self._translations = i18n.translations("hanoinet.documents", "documents", lang)
        self._catalog = catalog

    def __call__(self, message: str, **values: object) -> str:
        text = self._translations.ugettext(message)
        if self.lang != "en" and text == message and not self._has(message):
            raise DocumentFailed(
                f"the {_english_name(self.lang)} catalog for formal documents has no translation "
                f"of {message!r}; add it to documents/locale/{self.lang}/LC_MESSAGES/documents.po"
            )
        return text % values if values else text

    def _has(self, message: str) -> bool:
        entry = self._catalog.get(message) if self._catalog is not None else None
        return entry is not None and bool(entry.string)


def _state_name(code: str | None, lang: str) -> str:
    if not code:
        return ""
    demo = demo_states().get(code)
    if demo is not None:
        return demo.names.get(lang, demo.names["en"])
    return str(Locale.parse(lang).territories.get(code.upper(), code))


def _article(key: str, say: Phrases) -> dict[str, str]:
    """An article key as printed: ``art. 40(19)`` and, unless verified, the unconfirmed mark."""
    try:
        info = convention().key(key)
        title = info.article.title.get(say.lang)
        return {
            "key": key,
            "title": title.text,
            "mark": say(info.mark) if info.mark else "",
            "unofficial_title": "" if title.status == "official" else say("unofficial title"),
        }
    except UnknownArticle:
        return {"key": key, "title": "", "mark": say(UNCONFIRMED), "unofficial_title": ""}


Run = dict[str, str]
Line = list[Run]
Entry = list[Line]


def _text(value: object) -> Run:
    return {"t": str(value), "s": ""}


def _user(value: object) -> Run:
    """The requesting authority's own text, as a bidirectional isolate (FSI ... PDI): it
    keeps its own direction whatever the document's, so English in an Arabic document (or
    Arabic in a French one) keeps its punctuation where it was written."""
    return {"t": f"\u2068{value}\u2069", "s": ""}


def left_to_right(value: object) -> str:
    """An article key, an id or a field path, always left to right (``42(1)`` stays so in
    Arabic rather than turning into ``(1)42``)."""
    return f"\u2066{value}\u2069"


def _style(value: object, style: str) -> Run:
    return {"t": str(value), "s": style}


def _labelled(label: str, value: object, *, mono: bool = False) -> Line:
    shown = _style(left_to_right(value), "mono") if mono else _user(value)
    return [_text(f"{label}: "), shown]


def _identifiers(identifiers: list[str | Identifier], say: Phrases) -> list[Line]:
    """One line for each identifier, named by its kind (``law/identifiers.py``)."""
    return [_labelled(say(kind_name(i)), written(i), mono=True) for i in identifiers]


def _article_ref(key: str, say: Phrases) -> dict[str, str]:
    info = _article(key, say)
    return {"label": f"{say('art.')} {left_to_right(key)}", "mark": info["mark"]}


def content(
    doc: RequestDocument,
    document: dict[str, Any],
    findings: list[Finding],
    *,
    lang: str,
    issued_at: datetime,
    issuer: Issuer | None,
    request_id: str | None,
    draft: bool,
    directory_token: str | None = None,
    peer_reference: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the template prints, in ``lang``: phrases translated, values formatted,
    the attachments; the one value Typst typesets (exposed for tests and previews).
    ``peer_reference``: the other State (code) and its reference of the request, once
    known, printed under this node's reference."""
    say = Phrases(lang)
    form = convention().forms[doc.kind]
    requires: dict[str, Any] = {r.field: r for r in form.requires}
    locale = Locale.parse(lang)
    art = say("art.")

    def day(value: date | None) -> str:
        return format_date(value, format="long", locale=locale) if value else ""

    def label(code: str | None) -> str:
        return say(LABELS[code]) if code in LABELS else (code or "")

    wanting = {f.field.split("/")[1] for f in findings if f.severity == "error" and f.field}
    sections = []
    for field, heading in SECTIONS:
        value = getattr(doc, field)
        if value in (None, "", []) and field not in wanting:
            continue
        required = requires.get(field)
        missing = value in (None, "", [])
        entries, numbered = (
            ([[[_style(say("Not given."), "missing")]]], False)
            if missing
            else _entries(field, value, say, lang, day, label)
        )
        if entries == [[]] and field not in wanting:
            continue  # a group of optional fields all left blank (contacts, references)
        sections.append(
            {
                "field": field,
                "heading": say(heading),
                "article": _article_ref(required.article, say) if required else None,
                "numbered": numbered,
                "entries": entries,
            }
        )
    user_lang = doc.language or ""
    language_name = (locale.languages.get(user_lang) or user_lang) if user_lang else ""
    notes = [] if say.reviewed else [say("Fixed text: unofficial translation, not yet reviewed.")]
    notes.append(
        say(
            "Text supplied by the requesting authority is reproduced as written, in %(language)s.",
            language=language_name,
        )
        if language_name
        else say("Text supplied by the requesting authority is reproduced as written.")
    )
    requesting, requested = (
        _state_name(doc.requesting_state, lang),
        _state_name(doc.requested_state, lang),
    )
    arrow = "\u2190" if lang in RTL else "\u2192"  # set in the mono font, which has it
    authority = doc.requesting_authority
    from_lines: Entry = [[_style(requesting, "strong")]]
    if authority and authority.name:
        from_lines.append([_user(authority.name)])
    to_lines: Entry = [[_style(requested, "strong")]]
    addressee = _requested_authority(doc)
    if addressee:
        to_lines.append([_user(addressee)])
    date_lines: Entry = [[_text(day(issued_at.date()))]]
    if doc.channel:
        channel = say("Channel")
        date_lines.append([_style(f"{channel}: {label(doc.channel)}", "mark")])
    errors = [f for f in findings if f.severity == "error"]
    issued = format_datetime(issued_at, format="long", locale=locale, tzinfo=issued_at.tzinfo)
    if draft:
        signature: Entry = [[_style(say("Not issued: draft, not signed."), "strong")]]
    elif issuer:
        signature = [
            [
                _text(
                    say("Issued on %(date)s by %(authority)s.", date=issued, authority=issuer.name)
                )
            ],
            [
                _text(
                    say(
                        "Electronically signed (PAdES) by node %(node)s of %(state)s; the "
                        "signature covers this whole document.",
                        node=left_to_right(issuer.node_id),
                        state=issuer.state,
                    )
                )
            ],
        ]
    else:
        signature = [[_text(say("Prepared on %(date)s; not signed.", date=issued))]]
    deadline = None
    if doc.deadline and (doc.deadline.date or doc.deadline.reason):
        deadline_lines: Entry = []
        if doc.deadline.date:
            deadline_lines.append(
                [_text(say("Execution is requested by %(date)s.", date=day(doc.deadline.date)))]
            )
        if doc.deadline.reason:
            deadline_lines.append(_labelled(say("Reason"), doc.deadline.reason))
        deadline = {
            "heading": say("Deadline"),
            "article": _article_ref("40(25)", say),
            "lines": deadline_lines,
        }
    contact = authority.contact if authority else None
    digest = request_sha256(document)
    attached = {
        "format": FORMAT,
        "request_id": request_id,
        "request_sha256": digest,
        "language": lang,
        "draft": draft,
        "issued_at": issued_at.isoformat(),
        "issuer": issuer.node_id if issuer else None,
        "request": document,
    }
    return {
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "fonts": list(FONTS[lang]),
        "mono": MONO,
        "title": say(form.title),
        "date": [issued_at.year, issued_at.month, issued_at.day],
        "attachment": canonical(attached).decode(),
        "directory": directory_token,
        "header": {
            "from": requesting,
            "arrow": arrow,
            "to": requested,
            "id": request_id or "",
        },
        "footer": {
            "hash_label": say("Request document SHA-256:"),
            "hash": digest,
            "notes": notes,
            "page": say("Page"),
        },
        "draft": draft,
        "draft_label": say("DRAFT"),
        "errors": {
            "heading": say(
                "Draft: this request cannot be issued until these errors are corrected."
            ),
            "items": [[_finding(f, art, say)] for f in errors],
        },
        "kicker": say("Request"),
        "under": say("under the United Nations Convention against Cybercrime"),
        "urgency": label(doc.urgency) if doc.urgency != "routine" else "",
        "parties": [
            {"label": say("From"), "lines": from_lines},
            {"label": say("To"), "lines": to_lines},
            {
                "label": say("Reference"),
                "lines": [[_style(left_to_right(request_id) if request_id else "—", "mono")]]
                + (
                    [
                        [
                            _text(
                                say(
                                    "Reference of %(state)s:",
                                    state=_state_name(peer_reference[0], lang),
                                )
                                + " "
                            ),
                            _style(left_to_right(peer_reference[1]), "mono"),
                        ]
                    ]
                    if peer_reference
                    else []
                ),
            },
            {"label": say("Date"), "lines": date_lines},
        ],
        "basis": _basis(doc, form.articles, say),
        "sections": sections,
        "clauses": {
            "heading": say("Conditions and undertakings"),
            "items": [
                {"text": say(c.text), "article": _article_ref(c.article, say)}
                for c in applicable(doc)
            ],
        },
        "deadline": deadline,
        "contact": {
            "heading": say("Contact"),
            "lines": [[_user(contact)]] if contact else [[_style(say("Not given."), "missing")]],
        },
        "signature": signature,
        "notice": say(
            "The articles cited are those of the United Nations Convention against Cybercrime "
            "(General Assembly resolution 79/243). A paragraph marked unconfirmed has not been "
            "checked against the authoritative text."
        ),
    }


def _finding(f: Finding, art: str, say: Phrases) -> Line:
    line: Line = []
    if f.article:
        line.append(_style(f"{art} {left_to_right(f.article)} ", "mark"))
        mark = _article(f.article, say)["mark"]
        if mark:  # never an unconfirmed key presented as settled
            line.append(_style(f"({mark}) ", "mark"))
    if f.field:
        line += [_style(left_to_right(f.field), "mono"), _text(": ")]
    line.append(_user(f.message))
    return line


def _basis(doc: RequestDocument, articles: tuple[str, ...], say: Phrases) -> dict[str, Any]:
    """The legal basis: the Convention's provisions the request follows, after the treaty or
    law the request names as its basis, or reciprocity (where the Convention is not in force
    between the two States, 65)."""
    items = [[_basis_line(key, say)] for key in articles]
    basis = doc.legal_basis
    named = basis.name.strip() if basis and basis.name else ""
    if basis and basis.instrument in ("treaty", "domestic_law") and named:
        cited = (
            f"{named}, {basis.article.strip()}"
            if basis.article and basis.article.strip()
            else named
        )
        intro = say(
            "This request is made under the instrument named first below; it follows the "
            "provisions of the United Nations Convention against Cybercrime listed after it:"
        )
        items.insert(0, [[_user(cited)]])
    elif basis and basis.instrument == "reciprocity":
        intro = say(
            "This request is made on the basis of reciprocity; it follows these provisions of "
            "the United Nations Convention against Cybercrime:"
        )
    else:
        intro = say(
            "This request is made under the United Nations Convention against Cybercrime, in "
            "particular:"
        )
    return {"heading": say("Legal basis"), "intro": intro, "items": items}


def _basis_line(key: str, say: Phrases) -> Line:
    info = _article(key, say)
    line: Line = [_text(f"{say('art.')} {left_to_right(key)}")]
    if info["title"]:
        line.append(_text(f": {info['title']}"))
    if info["unofficial_title"]:
        line.append(_style(f" ({info['unofficial_title']})", "mark"))
    if info["mark"]:
        line.append(_style(f" [{info['mark']}]", "mark"))
    return line


PART_LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "onward_transfer": (
        ("recipient", N_("Recipient")),
        ("received_from", N_("Received from")),
        ("authorization", N_("Authorization")),
    ),
    "authorities": (
        ("conducting", N_("Investigating or prosecuting authority or court")),
        ("validating", N_("Validated by")),
    ),
    "contacts": (
        ("name", N_("Contact person")),
        ("backup", N_("Backup contact")),
        ("office_hours", N_("Office hours")),
        ("time_zone", N_("Time zone")),
    ),
}
"""Parts of a request printed as one labelled line per field given, in this order."""


def _entries(
    field: str, value: Any, say: Phrases, lang: str, day: Any, label: Any
) -> tuple[list[Entry], bool]:
    """A section's body: its paragraphs (or numbered items), each a list of lines."""
    if field == "requesting_authority":
        lines: Entry = [[_user(value.name or "")]]
        if value.contact:
            lines.append(_labelled(say("Contact"), value.contact))
        return [lines], False
    if field == "matter":
        lines = []
        if value.nature:
            lines.append([_style(label(value.nature), "strong")])
        if value.description:
            lines.append([_user(value.description)])
        if value.authority:
            lines.append(_labelled(say("Conducted by"), value.authority))
        return [lines], False
    if field == "offences":
        return [_offence(o, say, lang) for o in value], True
    if field == "persons":
        found = []
        for p in value:
            first: Line = [_user(p.name or "—")]
            if p.role:
                first.append(_text(f" ({label(p.role)})"))
            lines = [first]
            if p.nationality:
                lines.append(_labelled(say("Nationality"), p.nationality))
            if p.location:
                lines.append(_labelled(say("Location"), p.location))
            lines += _identifiers(p.identifiers, say)
            found.append(lines)
        return found, True
    if field == "data":
        found = []
        for d in value:
            lines = [[_style(label(d.category), "strong")]] if d.category else []
            lines += _identifiers(d.identifiers, say)
            if d.period is not None and (d.period.start or d.period.end):
                period = say(
                    "From %(start)s to %(end)s",
                    start=day(d.period.start) or "—",
                    end=day(d.period.end) or "—",
                )
                named = say("Period of the data")
                lines.append([_text(f"{named}: {period}")])
            if d.custodian:
                lines.append(_labelled(say("Custodian"), d.custodian))
            if d.location:
                lines.append(_labelled(say("Location"), d.location))
            if d.relation_to_offence:
                lines.append(_labelled(say("Relation to the offence"), d.relation_to_offence))
            found.append(lines)
        return found, True
    if field == "period":
        lines = [
            [
                _text(
                    say(
                        "From %(start)s to %(end)s",
                        start=day(value.start) or "—",
                        end=day(value.end) or "—",
                    )
                )
            ]
        ]
        if value.justification:
            lines.append([_user(value.justification)])
        return [lines], False
    if field in PART_LABELS:
        return [
            [
                _labelled(say(text), getattr(value, key))
                for key, text in PART_LABELS[field]
                if getattr(value, key)
            ]
        ], False
    if field == "related_request":
        return [[[_style(left_to_right(value), "mono")]]], False
    if field == "references":
        lines = []
        if value.own_reference:
            lines.append(_labelled(say("Our file number"), value.own_reference))
        if value.date:
            dated = say("Date of the request")
            lines.append([_text(f"{dated}: {day(value.date)}")])
        for key, text in (
            ("earlier_requests", N_("Earlier requests")),
            ("earlier_contacts", N_("Earlier 24/7 contacts or tickets")),
        ):
            if getattr(value, key):
                lines.append(_labelled(say(text), ", ".join(getattr(value, key))))
        return [lines], False
    return [[[_user(part)] for part in str(value).split("\n")]], False


def _offence(o: Any, say: Phrases, lang: str) -> Entry:
    lines: Entry = []
    if o.article:
        title = ""
        with contextlib.suppress(UnknownArticle):
            title = convention().key(o.article).article.title.get(lang).text
        shown = f"{say('art.')} {left_to_right(o.article)}" + (f" ({title})" if title else "")
        offence = say("Convention offence")
        lines.append([_text(f"{offence}: {shown}")])
    if o.name:
        lines.append(_labelled(say("National offence"), o.name))
    if o.max_penalty_years is not None:
        years = format_decimal(o.max_penalty_years, locale=Locale.parse(lang))
        lines.append(
            [_text(say("Maximum penalty: %(years)s years of deprivation of liberty", years=years))]
        )
    return lines


def _requested_authority(doc: RequestDocument) -> str:
    designation = demo_designations().get(doc.requested_state)
    if designation is None:
        return ""
    contact = (
        designation.point_of_contact
        if doc.channel == "point_of_contact"
        else designation.central_authority
    )
    return contact.name if contact else ""


MONO_KEYS = frozenset({"hash", "id", "arrow"})
"""The values the template sets in the mono font (besides runs styled ``mono``)."""


def _strings(value: Any, mono: bool = False) -> list[tuple[str, bool]]:
    """Every string the template prints (not the attachments), and whether it is set in
    the mono font."""
    if isinstance(value, str):
        return [(value, mono)]
    if isinstance(value, dict):
        if "s" in value and "t" in value:  # a run
            return [(str(value["t"]), value["s"] == "mono")]
        return [
            found
            for key, item in value.items()
            if key not in ("attachment", "directory", "fonts", "mono", "lang", "dir")
            for found in _strings(item, key in MONO_KEYS)
        ]
    if isinstance(value, list):
        return [found for item in value for found in _strings(item, mono)]
    return []


@cache
def _coverage(families: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """The characters the fonts of ``families`` have glyphs for, as sorted ranges (from
    fontconfig's charset of each, which is read from the font's cmap)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        raise MissingTool("fontconfig's fc-match is not installed; install Debian's fontconfig")
    ranges: list[tuple[int, int]] = []
    for family in families:
        charset = subprocess.run(
            [fc_match, "--format", "%{charset}", family],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for part in charset.split():
            low, _, high = part.partition("-")
            ranges.append((int(low, 16), int(high or low, 16)))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def _covers(ranges: tuple[tuple[int, int], ...], code: int) -> bool:
    """Whether ``code`` is in one of ``ranges`` (disjoint, sorted)."""
    at = bisect.bisect_right(ranges, (code, sys.maxunicode + 1)) - 1
    return at >= 0 and ranges[at][0] <= code <= ranges[at][1]


def _unprintable(strings: list[tuple[str, bool]], lang: str) -> list[str]:
    text_fonts, mono_font = _coverage(FONTS[lang]), _coverage((MONO,))
    missing: dict[str, None] = {}
    for text, mono in strings:
        covered = mono_font if mono else text_fonts
        for char in set(text):
            if char.isspace() or _covers(covered, ord(char)):
                continue
            if unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me"):
                continue  # controls, isolates, combining marks: no glyph of their own needed
            missing.setdefault(f"{char!r} (U+{ord(char):04X})")
    return list(missing)


def _template() -> Path:
    path = Path(str(resources.files("hanoinet.documents") / "templates" / TEMPLATE))
    if not path.is_file():
        raise DocumentFailed(f"the document template {path} is missing from this installation")
    return path


def render(
    document: dict[str, Any],
    doc: RequestDocument,
    findings: list[Finding],
    *,
    lang: str | None,
    issued_at: datetime,
    issuer: Issuer | None = None,
    request_id: str | None = None,
    directory_token: str | None = None,
    peer_reference: tuple[str, str] | None = None,
) -> Rendered:
    """The request as an unsigned PDF/A-4f: final when it has no error, else a draft; a large
    one laid out in a child process within the node's time and memory bounds
    (documents/typesetter)."""
    language = language_for(doc, lang)
    check_fonts(language)
    draft = any(f.severity == "error" for f in findings)
    data = content(
        doc,
        document,
        findings,
        lang=language,
        issued_at=issued_at,
        issuer=issuer,
        request_id=request_id,
        draft=draft,
        directory_token=directory_token,
        peer_reference=peer_reference,
    )
    pdf = typeset_document(data, language, issued_at)
    return Rendered(pdf, language, draft, data["footer"]["hash"], _pages(pdf))


def typeset_document(data: dict[str, Any], language: str, issued_at: datetime) -> bytes:
    """The PDF/A-4f of a document's content (``content``, or a letter's that has its shape):
    every character checked against the fonts first, laid out by the one template."""
    unprintable = _unprintable(_strings(data), language)
    if unprintable:
        raise DocumentFailed(
            "the document contains characters no installed font can print ("
            + ", ".join(unprintable[:3])
            + "); install a font for that script or correct the text"
        )
    template = _template()
    try:
        pdf, warned = typeset(
            json.dumps(data, ensure_ascii=False),
            input=str(template),
            root=str(template.parent),
            pdf_standards=[PDF_STANDARD],
            timestamp=int(issued_at.timestamp()),
        )
    except LayoutError as exc:
        raise DocumentFailed(f"the document could not be laid out: {exc}") from None
    if warned:
        raise DocumentFailed("the document could not be laid out cleanly: " + "; ".join(warned))
    assert isinstance(pdf, bytes)
    return pdf


def _pages(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
