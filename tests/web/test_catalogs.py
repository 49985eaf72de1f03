"""The translation catalogs: complete in the five other UN languages, in step with the code,
placeholders kept, every code the pages show has a name, and pages come out translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from hanoinet.cases.lifecycle import STATES, lifecycle
from hanoinet.evidence.conditions import ARTICLE as CONDITION_ARTICLES
from hanoinet.services.access import ROLES
from hanoinet.services.evidence import PERMISSION_ARTICLE
from hanoinet.web import catalogs
from hanoinet.web.render import LANGUAGES, render, translations
from hanoinet.web.vocabulary import VOCABULARIES

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
OTHERS = LANGUAGES[1:]


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogs.extract()


def _read(lang: str) -> Catalog:
    with catalogs.po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang)


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.mark.parametrize("lang", OTHERS)
def test_each_catalog_holds_exactly_the_texts_of_the_code(template: Catalog, lang: str) -> None:
    wanted = {_key(m.id) for m in template if m.id}
    found = {_key(m.id) for m in _read(lang) if m.id}
    missing, extra = sorted(wanted - found), sorted(found - wanted)
    assert not missing, f"{lang}: run `python -m hanoinet.web.catalogs` and translate {missing[:5]}"
    assert not extra, f"{lang}: texts no longer in the code: {extra[:5]}"


@pytest.mark.parametrize("lang", OTHERS)
def test_each_catalog_is_complete_with_placeholders_kept(lang: str) -> None:
    catalog = _read(lang)
    problems: list[str] = []
    for m in catalog:
        if not m.id:
            continue
        ids = (m.id,) if isinstance(m.id, str) else tuple(m.id)
        strings = (m.string,) if isinstance(m.string, str) else tuple(m.string)
        if m.fuzzy or not all(strings):
            problems.append(f"untranslated: {ids[0]!r}")
            continue
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings:
            got = set(PLACEHOLDER.findall(s))
            if got - wanted or (len(ids) == 1 and got != wanted):
                problems.append(f"placeholders differ: {ids[0]!r} -> {s!r}")
    problems += [f"{message.id!r}: {errors}" for message, errors in catalog.check()]
    assert not problems, f"{lang}: " + "; ".join(problems[:10])


def test_every_code_the_pages_show_has_a_name() -> None:
    assert set(VOCABULARIES["state"]) == {*STATES, "new"}  # "new": before the first event
    assert set(VOCABULARIES["role"]) == set(ROLES)
    actions = {t.action for t in lifecycle().transitions}
    assert actions <= set(VOCABULARIES["action"]), actions - set(VOCABULARIES["action"])
    # Evidence packages: the states of store/schema.py's evidence table, the conditions that
    # travel with a package, the permissions recorded for one.
    assert set(VOCABULARIES["evidence_state"]) == {
        "queued",
        "sending",
        "delivered",
        "receiving",
        "verifying",
        "accepted",
        "refused",
    }
    assert set(VOCABULARIES["condition"]) == set(CONDITION_ARTICLES)
    assert set(VOCABULARIES["permission"]) == set(PERMISSION_ARTICLE)


def test_a_page_comes_out_in_the_readers_language_and_arabic_right_to_left(
    template: Catalog,
) -> None:
    from starlette.requests import Request

    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    )
    for lang in OTHERS:
        expected = translations(lang).ugettext("There is a problem")
        assert expected and expected != "There is a problem", lang
        html = render(
            request,
            "_errors.html",
            {"errors": {"": "Enter your password"}},
            lang=lang,
        ).body.decode()
        assert expected in html and translations(lang).ugettext("Enter your password") in html
    page = render(
        request,
        "message.html",
        {"title": "Not found", "heading": "Not found", "text": ""},
        lang="ar",
    ).body.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert translations("ar").ugettext("Not found") in page


def test_the_update_keeps_translations_and_adds_new_texts_empty(tmp_path: Path) -> None:
    """``python -m hanoinet.web.catalogs`` on a copy of the web folder: a new text arrives
    empty, every existing translation stays."""
    import shutil

    copy = tmp_path / "web"
    shutil.copytree(catalogs.web_folder(), copy)
    (copy / "templates" / "extra.html").write_text('{{ _("A text added today") }}', "utf-8")
    missing = catalogs.update(copy)
    assert missing == {lang: 1 for lang in OTHERS}
    with catalogs.po_path("fr", copy).open("rb") as handle:
        updated = read_po(handle, locale="fr")
    assert updated["A text added today"].string == ""
    assert updated["There is a problem"].string == _read("fr")["There is a problem"].string
