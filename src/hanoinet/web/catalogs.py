"""The translation catalogs of the web desk: what is extracted, and how the catalogs follow.

Texts come from five places, all in English (the source language):
- templates: ``_("...")`` (Babel's Jinja2 extractor);
- Python in ``hanoinet.web``: ``_()``, ``gettext()`` and ``N_()`` calls;
- the vocabularies (``web/vocabulary.py``) and the drafting wizard's labels, hints, options
  and step titles (``web/drafting.py``), taken from the dictionaries themselves;
- the Convention's data shown on pages: the titles of the forms of cooperation, their
  required contents, the offences' conduct and optional elements, the grounds of refusal and
  postponement, and the marks for unverified keys;
- the core's texts shown on pages (``law``, ``cases``, ``services``): the checks' findings,
  clock reminders, the titles the node gives cases, marked ``t("...")`` or ``N_("...")``.

``python -m hanoinet.web.catalogs`` writes ``web/locale/messages.pot`` and brings every
language's ``messages.po`` in step (new texts added empty, texts gone marked obsolete); a
translator then fills the empty ones. tests/web/test_catalogs.py fails while any catalog
misses a text, has one it should not, or changes a ``%(name)s`` placeholder. Babel has no
extractor for values held in dictionaries; that part is ours.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from hanoinet import __version__, i18n
from hanoinet.convention import convention
from hanoinet.convention.catalog import UNCONFIRMED, UNVERIFIED_ARTICLE
from hanoinet.documents import catalog as documents_catalog
from hanoinet.web import drafting
from hanoinet.web.render import LANGUAGES
from hanoinet.web.texts import ON_THE_WEB
from hanoinet.web.vocabulary import VOCABULARIES

UNREVIEWED = i18n.UNREVIEWED
"""Who stands behind a catalog until a reviewer of that language signs it off; the pages say
so in a banner (base.html)."""
JINJA_OPTIONS = {
    "extensions": "jinja2.ext.i18n",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
}


def web_folder() -> Path:
    return Path(str(resources.files("hanoinet.web")))


def _from_code(folder: Path) -> Iterator[tuple[str | tuple[str, ...], str, str]]:
    """(msgid or (singular, plural), location, context) from templates and Python."""
    methods = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": JINJA_OPTIONS}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(folder), methods, options_map=options
    ):
        yield message, f"hanoinet/web/{filename}:{lineno}", ""


CORE = ("law", "cases", "services")
"""Packages whose texts reach the pages: findings, clock reminders, case titles, marked
``t("...")`` or ``N_("...")`` (``hanoinet.texts``)."""
CORE_KEYWORDS = {"t": None, "N_": None}


def _from_core() -> Iterator[tuple[str, str]]:
    """(msgid, location) of the core's texts, but those the web says otherwise and those
    that are only a placeholder (English data passed through)."""
    root = web_folder().parent
    for package in CORE:
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(root / package), [("**.py", "python")], keywords=CORE_KEYWORDS
        ):
            if not isinstance(message, str) or message in ON_THE_WEB:
                continue
            if not re.sub(r"%\(\w+\)s", "", message).strip():
                continue
            yield message, f"hanoinet/{package}/{filename}:{lineno}"


def _from_data() -> Iterator[tuple[str, str]]:
    """(msgid, where) of the texts held as data."""
    for name, vocabulary in VOCABULARIES.items():
        for text in vocabulary.values():
            yield text, f"hanoinet/web/vocabulary.py ({name})"
    for step in drafting.STEPS:
        yield step.title, "hanoinet/web/drafting.py (STEPS)"
    for table_name in ("LABELS", "HINTS", "ITEM_LABELS", "ADD_LABELS"):
        for text in getattr(drafting, table_name).values():
            yield text, f"hanoinet/web/drafting.py ({table_name})"
    for options in drafting.OPTION_NAMES.values():
        for text in options.values():
            yield text, "hanoinet/web/drafting.py (OPTION_NAMES)"
    for form in convention().forms.values():
        yield form.title, "hanoinet/convention/data/cooperation.yaml"
    for ground in convention().grounds.values():
        yield ground.text, "hanoinet/convention/data/grounds.yaml"
    for form in convention().forms.values():
        for requirement in form.requires:
            yield requirement.text, "hanoinet/convention/data/cooperation.yaml (requires)"
    for offence in convention().offences.values():
        for conduct in offence.conduct:
            yield conduct.text, "hanoinet/convention/data/offences.yaml (conduct)"
        for element in offence.optional_elements:
            yield element.text, "hanoinet/convention/data/offences.yaml (optional_elements)"
    yield UNCONFIRMED, "hanoinet/convention/catalog.py"
    yield UNVERIFIED_ARTICLE, "hanoinet/convention/catalog.py"


def extract(folder: Path | None = None) -> Catalog:
    """Every text of the web desk, as a template catalog."""
    found = Catalog(project="hanoinet", version=__version__, fuzzy=False)
    for message, location, _context in _from_code(folder or web_folder()):
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        path, _sep, line = location.rpartition(":")
        found.add(message, locations=[(path, int(line))])
    for message, location in _from_core():
        path, _sep, line = location.rpartition(":")
        found.add(message, locations=[(path, int(line))])
    for text, where in _from_data():
        if text:
            found.add(text, locations=[(where, 0)])
    return found


def po_path(lang: str, folder: Path | None = None) -> Path:
    return (folder or web_folder()) / "locale" / lang / "LC_MESSAGES" / "messages.po"


def update(folder: Path | None = None) -> dict[str, int]:
    """Write the template and bring each language's catalog in step; returns, per language,
    how many texts are still to translate."""
    base = folder or web_folder()
    return i18n.sync(extract(base), base / "locale", "messages", LANGUAGES[1:], UNREVIEWED)


def main() -> None:
    for name, missing in (("web desk", update()), ("formal documents", documents_catalog.update())):
        for lang, count in missing.items():
            print(
                f"{name}, {lang}: {count} texts to translate"
                if count
                else f"{name}, {lang}: complete"
            )
    sys.exit(0)


if __name__ == "__main__":
    main()
