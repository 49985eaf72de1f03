"""The catalog of formal documents: complete in the five other UN languages, in step with
the template, the code and the clauses; placeholders kept; marked unofficial until reviewed."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from hanoinet import i18n
from hanoinet.documents import catalog as documents_catalog
from hanoinet.documents.render import Phrases, content

from .conftest import AT, LANGS, checked, complete

PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


@pytest.fixture(scope="module")
def template() -> Catalog:
    return documents_catalog.extract()


def _read(lang: str) -> Catalog:
    with documents_catalog.po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", LANGS[1:])
def test_each_catalog_holds_exactly_the_texts_and_translates_them(
    template: Catalog, lang: str
) -> None:
    found = _read(lang)
    wanted = {m.id for m in template if m.id}
    held = {m.id for m in found if m.id}
    assert wanted - held == set(), "run python -m hanoinet.web.catalogs"
    assert held - wanted == set(), "texts no longer used: run python -m hanoinet.web.catalogs"
    for message in found:
        if not message.id:
            continue
        assert message.string, f"{lang}: {message.id!r} has no translation"
        assert set(PLACEHOLDER.findall(str(message.id))) == set(
            PLACEHOLDER.findall(str(message.string))
        ), f"{lang}: {message.id!r} does not keep its placeholders"
        assert not message.fuzzy


def test_the_template_covers_every_text_a_document_prints(template: Catalog) -> None:
    wanted = {m.id for m in template if m.id}
    assert "Legal basis" in wanted  # from the template
    assert "Requesting authority" in wanted  # a section heading in render.py
    assert "Expedited preservation of stored electronic data" in wanted  # a form title
    assert any(str(m).startswith("The requesting State will not transmit") for m in wanted)


@pytest.mark.parametrize("lang", LANGS[1:])
def test_unreviewed_catalogs_say_so_on_every_page(lang: str) -> None:
    assert not i18n.reviewed(_read(lang))
    say = Phrases(lang)
    assert not say.reviewed
    doc, findings = checked(complete("stored_data"))
    data = content(
        doc,
        complete("stored_data"),
        findings,
        lang=lang,
        issued_at=AT,
        issuer=None,
        request_id=None,
        draft=False,
    )
    assert say("Fixed text: unofficial translation, not yet reviewed.") in data["footer"]["notes"]


def test_a_reviewed_catalog_drops_the_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    reviewed = _read("fr")
    reviewed.last_translator = "Marie Curie <marie@example.org>"
    assert i18n.reviewed(reviewed)
    assert Phrases("en").reviewed  # the source language needs no review
