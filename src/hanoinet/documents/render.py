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

import hashlib
import logging
import shutil
import subprocess
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from hanoinet import i18n
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED
from hanoinet.convention.model import LANGUAGES
from hanoinet.documents.clauses import applicable
from hanoinet.errors import DocumentFailed, MissingTool, UnknownArticle
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.registry.designations import demo_designations, demo_states
from hanoinet.store.audit import canonical

FORMAT = "hanoinet.formal-document/1"
ATTACHMENT = "request.json"
DIRECTORY_ATTACHMENT = "hanoinet-directory.jws"
RTL = frozenset({"ar"})
PDF_VARIANT = "pdf/a-4f"
"""PDF/A-4 (ISO 19005-4, on PDF 2.0) with embedded files: the signature's Ed25519 (ISO 32002)
needs PDF 2.0, and the request travels inside the file."""

FONTS = {
    "en": ("Noto Serif",),
    "es": ("Noto Serif",),
    "fr": ("Noto Serif",),
    "ru": ("Noto Serif",),
    "ar": ("Noto Naskh Arabic", "Noto Serif"),
    "zh": ("Noto Serif CJK SC", "Noto Serif"),
}
"""The families each language is set in; all must be installed (checked before rendering)."""
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
    accepted = [code for code in designation.languages if code in LANGUAGES] if designation else []
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


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("hanoinet.documents", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["css"] = css_string
    environment.filters["user"] = isolated
    environment.filters["key"] = left_to_right
    return environment


def left_to_right(value: object) -> str:
    """An article key, an id or a field path, always left to right (``42(1)`` stays so in
    Arabic rather than turning into ``(1)42``)."""
    return f"\u2066{value}\u2069"


def isolated(value: object) -> str:
    """The requesting authority's own text, as a bidirectional isolate (FSI ... PDI): it
    keeps its own direction whatever the document's, so English in an Arabic document (or
    Arabic in a French one) keeps its punctuation where it was written."""
    return f"\u2068{value}\u2069"


def css_string(value: object) -> Markup:
    """``value`` as a quoted CSS string (the page headers print State names and ids)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    text = text.replace("<", "\\3c ")  # never a closing </style>
    return Markup(f'"{text}"')


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


def html(
    doc: RequestDocument,
    document: dict[str, Any],
    findings: list[Finding],
    *,
    lang: str,
    issued_at: datetime,
    issuer: Issuer | None,
    request_id: str | None,
    draft: bool,
) -> str:
    """The document as HTML (what WeasyPrint lays out); exposed for tests and previews."""
    say = Phrases(lang)
    form = convention().forms[doc.kind]
    requires: dict[str, Any] = {r.field: r for r in form.requires}
    locale = Locale.parse(lang)

    def day(value: date | None) -> str:
        return format_date(value, format="long", locale=locale) if value else ""

    def label(code: str | None) -> str:
        return say(LABELS[code]) if code in LABELS else (code or "")

    def number(value: float) -> str:
        return format_decimal(value, locale=locale)

    wanting = {f.field.split("/")[1] for f in findings if f.severity == "error" and f.field}
    sections = []
    for field, heading in SECTIONS:
        value = getattr(doc, field)
        required = requires.get(field)
        if value in (None, "", []) and field not in wanting:
            continue
        sections.append(
            {
                "field": field,
                "heading": say(heading),
                "article": _article(required.article, say) if required else None,
                "value": value,
                "missing": value in (None, "", []),
            }
        )
    offence_titles = {}
    for offence in doc.offences:
        if offence.article:
            try:
                offence_titles[offence.article] = (
                    convention().key(offence.article).article.title.get(lang).text
                )
            except UnknownArticle:
                offence_titles[offence.article] = ""
    errors = [f for f in findings if f.severity == "error"]
    user_lang = doc.language or ""
    context = {
        "say": say,
        "lang": lang,
        "dir": "rtl" if lang in RTL else "ltr",
        "arrow": " \u2190 " if lang in RTL else " \u2192 ",
        "fonts": Markup(", ".join(css_string(f) for f in FONTS[lang])),
        "mono": MONO,
        "doc": doc,
        "form_title": say(form.title),
        "basis": [_article(key, say) for key in form.articles],
        "sections": sections,
        "clauses": [
            {"text": say(c.text), "article": _article(c.article, say)} for c in applicable(doc)
        ],
        "offence_titles": offence_titles,
        "requesting_state": _state_name(doc.requesting_state, lang),
        "requested_state": _state_name(doc.requested_state, lang),
        "requested_authority": _requested_authority(doc),
        "issued": format_datetime(issued_at, format="long", locale=locale, tzinfo=issued_at.tzinfo),
        "issued_day": day(issued_at.date()),
        "issuer": issuer,
        "request_id": request_id or "",
        "sha256": request_sha256(document),
        "draft": draft,
        "errors": errors,
        "user_language": (locale.languages.get(user_lang) or user_lang) if user_lang else "",
        "reviewed": say.reviewed,
        "day": day,
        "label": label,
        "number": number,
        "urgency": label(doc.urgency) if doc.urgency != "routine" else "",
        "channel": label(doc.channel) if doc.channel else "",
        "deadline_article": _article("40(25)", say),
    }
    return _environment().get_template("request.html").render(context)


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


class _Glyphs(logging.Handler):
    """Collects WeasyPrint's missing-glyph warnings raised by this thread's rendering."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.missing: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and ".notdef" in record.getMessage():
            self.missing.append(record.getMessage().rsplit(":", 1)[-1].strip())


@contextmanager
def _no_empty_boxes() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    handler = _Glyphs()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.missing:
        raise DocumentFailed(
            "the request contains characters no installed font can print ("
            + ", ".join(repr(m) for m in handler.missing[:3])
            + "); install a font for that script or correct the text"
        )


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
) -> Rendered:
    """The request as an unsigned PDF/A-4f: final when it has no error, else a draft."""
    from weasyprint import (  # type: ignore[import-untyped]  # heavy: imported when needed
        HTML,
        Attachment,
    )

    language = language_for(doc, lang)
    check_fonts(language)
    draft = any(f.severity == "error" for f in findings)
    page = html(
        doc,
        document,
        findings,
        lang=language,
        issued_at=issued_at,
        issuer=issuer,
        request_id=request_id,
        draft=draft,
    )
    digest = request_sha256(document)
    attached = {
        "format": FORMAT,
        "request_id": request_id,
        "request_sha256": digest,
        "language": language,
        "draft": draft,
        "issued_at": issued_at.isoformat(),
        "issuer": issuer.node_id if issuer else None,
        "request": document,
    }
    attachments = [
        Attachment(
            string=canonical(attached).decode(),
            name=ATTACHMENT,
            description="The request document this PDF was made from, with its SHA-256",
            relationship="Source",
        )
    ]
    if directory_token:
        attachments.append(
            Attachment(
                string=directory_token,
                name=DIRECTORY_ATTACHMENT,
                description="The signed directory that lists the signing node's key",
                relationship="Supplement",
            )
        )
    with _no_empty_boxes(), warnings.catch_warnings():
        # WeasyPrint 70 reads its sRGB profile (the PDF/A output intent) from a file it
        # leaves to the garbage collector: closed at once, but with a ResourceWarning.
        warnings.filterwarnings("ignore", category=ResourceWarning, message=".*sRGB2014")
        laid_out = HTML(string=page).render()
        pdf = laid_out.write_pdf(pdf_variant=PDF_VARIANT, attachments=attachments)
    assert pdf is not None
    return Rendered(pdf, language, draft, digest, len(laid_out.pages))
