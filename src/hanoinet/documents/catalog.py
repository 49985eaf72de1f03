"""The translation catalog of formal documents: what is extracted, and how the catalogs follow.

Texts come from ``render.py`` and ``letter.py`` (``say("...")``: every phrase the template
prints, and ``N_("...")``: section headings, letter titles and the names of codes), from
``data/clauses.yaml`` and from the Convention's data (the titles of the forms of
cooperation, the grounds of refusal and postponement, the marks for unverified keys). English is the
source. ``python -m hanoinet.web.catalogs`` brings ``documents/locale/*/documents.po`` in
step along with the web desk's; tests/documents/test_catalog.py fails while one misses a text.
A missing translation is an error when a document is made, never English passed off.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from hanoinet import __version__, i18n
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED, UNVERIFIED_ARTICLE
from hanoinet.convention.model import LANGUAGES
from hanoinet.documents.clauses import clauses
from hanoinet.law.identifiers import KIND_NAMES

DOMAIN = "documents"
EXTRA = ("unofficial title",)
"""Texts the code passes through ``say`` as values rather than literals."""


def folder() -> Path:
    return Path(str(resources.files("hanoinet.documents")))


def extract(base: Path | None = None) -> Catalog:
    found = Catalog(project="hanoinet", version=__version__, fuzzy=False)
    root = base or folder()
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(root), [("**.py", "python")], keywords={"say": None, "N_": None}
    ):
        if message and isinstance(message, str):
            found.add(message, locations=[(f"hanoinet/documents/{filename}", lineno)])
    for clause in clauses():
        found.add(clause.text, locations=[("hanoinet/documents/data/clauses.yaml", 0)])
    for form in convention().forms.values():
        found.add(form.title, locations=[("hanoinet/convention/data/cooperation.yaml", 0)])
    for ground in convention().grounds.values():  # a letter of refusal or postponement
        found.add(ground.text, locations=[("hanoinet/convention/data/grounds.yaml", 0)])
    for text in (UNCONFIRMED, UNVERIFIED_ARTICLE, *EXTRA):
        found.add(text, locations=[("hanoinet/convention/catalog.py", 0)])
    for text in KIND_NAMES.values():
        found.add(text, locations=[("hanoinet/law/identifiers.py (KIND_NAMES)", 0)])
    return found


def po_path(lang: str, base: Path | None = None) -> Path:
    return (base or folder()) / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def update(base: Path | None = None) -> dict[str, int]:
    root = base or folder()
    return i18n.sync(extract(root), root / "locale", DOMAIN, LANGUAGES[1:], i18n.UNREVIEWED)
