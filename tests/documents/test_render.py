"""The formal request as PDF: every form in every UN language, read back with pdftotext; the
draft of a request with errors; a missing font, translation or glyph as a clear error; RTL
for Arabic; page images of a sample kept in test-artifacts/screenshots for a person to see."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hanoinet.convention import convention
from hanoinet.documents import render, signature
from hanoinet.documents.clauses import applicable
from hanoinet.documents.render import Phrases, language_for
from hanoinet.documents.signature import make
from hanoinet.documents.typesetter import Bounds, typesetter
from hanoinet.errors import DocumentFailed
from hanoinet.law.document import LONG

from .conftest import AT, AUTHORITY, FORMS, LANGS, checked, complete, pdf_parts, pdf_text, shows

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _made(kind: str, lang: str, document: dict[str, object] | None = None) -> tuple[bytes, bool]:
    document = document or complete(kind)
    doc, findings = checked(document)
    made = make(document, doc, findings, lang=lang, at=AT, request_id="R-000042")
    assert made.lang == lang and made.pages >= 1
    return made.pdf, made.draft


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", FORMS)
def test_every_form_in_every_language_reads_back(kind: str, lang: str) -> None:
    pdf, draft = _made(kind, lang)  # a Typst warning would have been an error
    assert not draft
    text = " ".join(pdf_text(pdf).split())
    words = pdf_text(pdf, layout=True) if lang == "ar" else text
    say = Phrases(lang)
    form = convention().forms[kind]
    doc, _ = checked(complete(kind))
    assert shows(words, say(form.title), lang)
    assert shows(words, say("Legal basis"), lang) and shows(words, say("Contact"), lang)
    for key in form.articles:
        assert key in text
    assert "R-000042" in text
    assert shows(text, AUTHORITY, "en")  # the user's text, kept as written
    assert render.request_sha256(complete(kind)) in text  # printed on every page
    for clause in applicable(doc):
        assert clause.article in text
        opening = say(clause.text)[:24] if lang == "zh" else " ".join(say(clause.text).split()[:4])
        assert shows(words, opening, lang)
    xmp, attached = pdf_parts(pdf)
    assert signature.PDFA_PART.search(xmp) and signature.PDFA_CONFORMANCE.search(xmp)
    carried = json.loads(attached["request.json"])
    assert carried["request"] == complete(kind) and carried["language"] == lang
    assert carried["request_sha256"] == render.request_sha256(complete(kind))


def test_arabic_is_right_to_left_and_english_text_keeps_its_order() -> None:
    document = complete("stored_data")
    doc, findings = checked(document)
    data = render.content(
        doc, document, findings, lang="ar", issued_at=AT, issuer=None, request_id="R-1", draft=False
    )
    assert data["dir"] == "rtl" and data["fonts"][0] == "Noto Naskh Arabic"
    shown = [run["t"] for party in data["parties"] for line in party["lines"] for run in line]
    assert f"\u2068{AUTHORITY}\u2069" in shown  # an isolate: its punctuation stays put
    pdf, _ = _made("stored_data", "ar")
    assert shows(pdf_text(pdf, layout=True), "الأساس القانوني", "ar")  # "Legal basis"
    assert "(illustrative)." in pdf_text(pdf)  # the full stop after the bracket, not before it


def test_what_a_requesting_authority_types_is_text_never_markup() -> None:
    document = complete("stored_data")
    document["facts_summary"] = '#set page(paper: "a6") *not bold* $x^2$ <label> @ref \\ end'
    pdf, _ = _made("stored_data", "en", document)
    text = " ".join(pdf_text(pdf).split())
    assert '#set page(paper: "a6") *not bold* $x^2$ <label> @ref \\ end' in text


def test_a_request_at_its_size_limit_is_laid_out_in_the_bounded_child() -> None:
    """The document limits and the typesetter's bounds fit together: four long texts at their
    limit (200,000 characters) make a document of some forty pages, laid out in the child
    (documents/typesetter.py) within the default bounds."""
    document = complete("stored_data")
    words = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 900
    for field in ("facts_summary", "assistance_sought", "procedures_requested", "purpose"):
        document[field] = words[:LONG]
    pdf, _ = _made("stored_data", "en", document)
    assert typesetter().bounds == Bounds() and typesetter()._child is not None
    assert "consectetur adipiscing" in pdf_text(pdf)


def test_a_request_with_errors_is_a_draft_with_its_errors_listed() -> None:
    document = complete("stored_data")
    document["facts_summary"] = ""
    del document["purpose"]
    pdf, draft = _made("stored_data", "fr", document)
    assert draft
    text = " ".join(pdf_text(pdf).split())
    say = Phrases("fr")
    assert say("DRAFT") in text
    assert (
        " ".join(
            say("Draft: this request cannot be issued until these errors are corrected.").split()
        )
        in text
    )
    assert "/facts_summary" in text and say("Not given.") in text
    assert " ".join(say("Not issued: draft, not signed.").split()) in text


def test_a_missing_font_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        render, "installed_families", lambda: frozenset({"Noto Serif", "DejaVu Sans Mono"})
    )
    with pytest.raises(DocumentFailed) as info:
        _made("stored_data", "zh")
    assert "'Noto Serif CJK SC'" in info.value.message
    assert "apt-get install fonts-noto-cjk" in info.value.message
    _made("stored_data", "en")  # what is installed still works


def test_a_missing_translation_is_an_error_not_english(monkeypatch: pytest.MonkeyPatch) -> None:
    sections = (*render.SECTIONS[:-1], ("related_request", "A heading nobody translated"))
    monkeypatch.setattr(render, "SECTIONS", sections)
    document = {**complete("mla_general"), "related_request": "R-000001"}
    with pytest.raises(DocumentFailed) as info:
        _made("mla_general", "ru", document)
    assert "Russian catalog for formal documents has no translation of 'A heading nobody" in (
        info.value.message
    )
    assert "documents/locale/ru/LC_MESSAGES/documents.po" in info.value.message
    _made("mla_general", "en", document)  # English is the source: nothing to translate


def test_a_character_no_font_has_is_an_error_not_an_empty_box() -> None:
    document = complete("stored_data")
    document["facts_summary"] = "Seen at \ue000 and \U0010fffd."
    with pytest.raises(DocumentFailed) as info:
        _made("stored_data", "en", document)
    assert "U+E000" in info.value.message and "no installed font can print" in info.value.message


def test_the_language_chosen() -> None:
    doc, _ = checked(complete("stored_data"))
    assert language_for(doc, "zh") == "zh"
    assert language_for(doc, None) == "en"  # the request's own language, a UN one
    other = doc.model_copy(update={"language": "de"})
    assert language_for(other, None) in {"en", "fr", "es", "ru", "ar", "zh"}
    with pytest.raises(DocumentFailed, match="the six UN languages"):
        language_for(doc, "de")


@pytest.mark.parametrize(
    ("kind", "lang"), [("stored_data", "en"), ("stored_data", "ar"), ("preservation", "zh")]
)
def test_page_images_of_a_sample_are_kept(tmp_path: Path, kind: str, lang: str) -> None:
    pdf, _ = _made(kind, lang)
    source = tmp_path / "document.pdf"
    source.write_bytes(pdf)
    SHOTS.mkdir(parents=True, exist_ok=True)
    prefix = SHOTS / f"document-{kind}-{lang}"
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(source), str(prefix)], check=True)
    pages = sorted(SHOTS.glob(f"document-{kind}-{lang}-*.png"))
    assert pages and all(p.stat().st_size > 5_000 for p in pages)  # not blank


def _content(doc: Any, document: dict[str, Any], findings: Any, lang: str) -> dict[str, Any]:
    return render.content(
        doc,
        document,
        findings,
        lang=lang,
        issued_at=AT,
        issuer=None,
        request_id="R-1",
        draft=False,
    )


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_the_legal_basis_names_the_treaty_the_request_rests_on(lang: str) -> None:
    """Where the Convention is not in force between the two States (65), the request names
    another basis; the document says it rests on it, first, and lists the Convention's
    provisions it follows after it."""
    document = complete("preservation")
    document["legal_basis"] = {
        "instrument": "treaty",
        "name": "Aurelia-Borealis Treaty on Mutual Legal Assistance (demo)",
        "article": "art. 3",
    }
    doc, findings = checked(document)
    say = Phrases(lang)
    made = _content(doc, document, findings, lang)
    basis = made["basis"]
    assert basis["intro"] == say(
        "This request is made under the instrument named first below; it follows the "
        "provisions of the United Nations Convention against Cybercrime listed after it:"
    )
    first = " ".join(run["t"] for line in basis["items"][0] for run in line)
    # the user's text as written, isolated (U+2068 ... U+2069) in any direction of the page
    assert (
        first.strip("\u2068\u2069")
        == "Aurelia-Borealis Treaty on Mutual Legal Assistance (demo), art. 3"
    )
    assert len(basis["items"]) == 1 + len(convention().forms["preservation"].articles)
    document["legal_basis"] = {"instrument": "reciprocity"}
    doc, findings = checked(document)
    made = _content(doc, document, findings, lang)
    assert made["basis"]["intro"] == say(
        "This request is made on the basis of reciprocity; it follows these provisions of "
        "the United Nations Convention against Cybercrime:"
    )
    assert len(made["basis"]["items"]) == len(convention().forms["preservation"].articles)


@pytest.mark.parametrize("lang", LANGS)
def test_contacts_and_references_are_made_in_every_language(lang: str) -> None:
    """Every fixed phrase of the two sections is in each catalog (a missing one is an error)."""
    document = complete("stored_data")
    document["contacts"] = {"name": "A", "backup": "B", "office_hours": "8-18", "time_zone": "UTC"}
    document["references"] = {
        "own_reference": "X-1",
        "date": "2026-12-01",
        "earlier_requests": ["X-0"],
        "earlier_contacts": ["T-7"],
    }
    doc, findings = checked(document)
    made = _content(doc, document, findings, lang)
    assert {"contacts", "references"} <= {s["field"] for s in made["sections"]}


def test_contacts_and_references_are_printed_when_given_and_not_when_blank() -> None:
    document = complete("stored_data")
    document["contacts"] = {"name": "Ana Lima (demo), +000 1 555", "time_zone": "Europe/Paris"}
    document["references"] = {
        "own_reference": "AUR-2026-0042 (demo)",
        "date": "2026-12-01",
        "earlier_requests": [],
        "earlier_contacts": ["24/7 ticket 7781 (demo)"],
    }
    doc, findings = checked(document)
    made = _content(doc, document, findings, "en")
    shown = {
        s["field"]: " | ".join(
            "".join(run["t"] for run in line) for entry in s["entries"] for line in entry
        )
        for s in made["sections"]
    }
    assert "Contact person: \u2068Ana Lima (demo), +000 1 555\u2069" in shown["contacts"]
    assert "Time zone: \u2068Europe/Paris\u2069" in shown["contacts"]
    assert "Our file number: \u2068AUR-2026-0042 (demo)\u2069" in shown["references"]
    assert "Date of the request: December 1, 2026" in shown["references"]  # month in words
    assert "Earlier requests" not in shown["references"]  # none given
    document["contacts"] = {"name": "", "backup": "", "office_hours": "", "time_zone": ""}
    doc, findings = checked(document)
    made = _content(doc, document, findings, "en")
    assert "contacts" not in {s["field"] for s in made["sections"]}
