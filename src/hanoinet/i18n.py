"""Translation catalogs read as they are: a ``.po`` file compiled in memory, once per process.

The web desk (``web/locale``, domain ``messages``) and the formal request documents
(``documents/locale``, domain ``documents``) keep their catalogs as ``.po`` files only, so
there is no compiled ``.mo`` to keep in step. English is the source language of both.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

from hanoinet import __version__

UNREVIEWED = "unofficial translation, not yet reviewed"
"""Who stands behind a catalog until a reviewer of that language signs it off (its
Last-Translator); the pages and documents say so."""
_BABEL_PLACEHOLDER = "FULL NAME <EMAIL@ADDRESS>"


def po_file(package: str, domain: str, lang: str) -> resources.abc.Traversable:
    return resources.files(package) / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=32)
def read_catalog(package: str, domain: str, lang: str) -> Catalog | None:
    """The catalog of ``lang`` in ``package`` (None when there is none)."""
    po = po_file(package, domain, lang)
    if not po.is_file():
        return None
    with po.open("rb") as handle:
        return read_po(handle, locale=lang)


@lru_cache(maxsize=32)
def translations(package: str, domain: str, lang: str) -> NullTranslations:
    """gettext for ``lang``; English (and a language with no catalog) is the source text."""
    catalog = None if lang == "en" else read_catalog(package, domain, lang)
    if catalog is None:
        return NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def reviewed(catalog: Catalog) -> bool:
    """Whether a reviewer has signed the catalog off (its Last-Translator is no longer
    :data:`UNREVIEWED`)."""
    return catalog.last_translator not in ("", UNREVIEWED, _BABEL_PLACEHOLDER)


def sync(
    template: Catalog, locale_dir: Path, domain: str, languages: Iterable[str], translator: str
) -> dict[str, int]:
    """Write ``<domain>.pot`` and bring each language's ``<domain>.po`` in step with it (new
    texts added empty, texts gone dropped); returns, per language, how many are untranslated.
    A catalog keeps its Last-Translator once a reviewer has set it."""
    locale_dir.mkdir(parents=True, exist_ok=True)
    with (locale_dir / f"{domain}.pot").open("wb") as handle:
        write_po(handle, template, width=100, omit_header=False, sort_output=True)
    missing: dict[str, int] = {}
    for lang in languages:
        path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=lang, project="hanoinet", version=__version__)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False
        if not reviewed(catalog):
            catalog.last_translator = translator
            catalog.language_team = translator
        catalog.copyright_holder = "the hanoinet authors"
        catalog.msgid_bugs_address = ""
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)
        missing[lang] = len([m for m in catalog if m.id and not _translated(m.string)])
    return missing


def _translated(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)
