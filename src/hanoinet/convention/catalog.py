"""The Convention as one loaded, cross-checked catalogue.

``convention()`` loads every packaged data file once, validates each into
frozen objects, and checks that every article key any file cites exists:
an article number from 1 to 68, and below the article level a key listed in
``provisions.yaml``. A broken file fails loudly with its name and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable

from hanoinet.convention.loader import data_root, load_file
from hanoinet.convention.model import (
    KEY_PATTERN,
    LANGUAGES,
    Article,
    ArticlesFile,
    Chapter,
    CooperationFile,
    CooperationForm,
    FixedDate,
    Ground,
    GroundsFile,
    Offence,
    OffencesFile,
    Period,
    PeriodsFile,
    Provision,
    ProvisionsFile,
    article_of,
)
from hanoinet.errors import ConventionDataError, UnknownArticle
from hanoinet.textfold import fold

AUTHORITATIVE_TEXT = {lang: f"https://docs.un.org/{lang}/A/RES/79/243" for lang in LANGUAGES}
"""The authoritative text: UN General Assembly resolution 79/243, annex, in each language."""

UNODC_PAGE = "https://www.unodc.org/unodc/en/cybercrime/convention/home.html"

UNCONFIRMED = "para. number unconfirmed"
"""The mark shown beside a provision whose paragraph key is not verified."""
UNVERIFIED_ARTICLE = "title unverified"
"""The mark shown beside an article whose title and number were not checked."""


_CITED = re.compile(r"\bart\. (\d+\(\d+\)(?:\([a-z]\))?)(?![\w(])")
"""A citation of a paragraph (``art. 40(27)``, ``art. 40(21)(b)``): whole articles are
numbered by the Convention's own headings, their paragraphs by hanoinet's reading."""


def mark_citations(text: str) -> str:
    """Each paragraph cited in a message (``art. 40(27)``) followed by its mark when
    hanoinet's data has not verified that key ("art. 40(27) (para. number unconfirmed)"): a paragraph number is
    never shown as settled when it is not (issue 27 item 7)."""

    def marked(found: re.Match[str]) -> str:
        key = found.group(1)
        try:
            mark = convention().key(key).mark
        except UnknownArticle:
            mark = UNCONFIRMED
        return f"{found.group(0)} ({mark})" if mark else found.group(0)

    return _CITED.sub(marked, text)


@dataclass(frozen=True)
class KeyInfo:
    """What hanoinet knows of one article key, for display next to any finding."""

    key: str
    article: Article
    text: str | None
    verified: bool

    @property
    def mark(self) -> str:
        if self.verified:
            return ""
        return UNVERIFIED_ARTICLE if self.text is None else UNCONFIRMED


@dataclass(frozen=True)
class SearchHit:
    key: str
    lang: str
    text: str
    verified: bool


@dataclass(frozen=True)
class Convention:
    chapters: tuple[Chapter, ...]
    articles: dict[int, Article]
    provisions: dict[str, Provision]
    offences: dict[str, Offence]
    forms: dict[str, CooperationForm]
    grounds: dict[str, Ground]
    periods: dict[str, Period]
    dates: dict[str, FixedDate]

    def article(self, number: int) -> Article:
        try:
            return self.articles[number]
        except KeyError:
            raise UnknownArticle(
                f"the Convention has no article {number}; its articles are numbered 1 to "
                f"{len(self.articles)}"
            ) from None

    def chapter_of(self, article: Article) -> Chapter:
        return next(c for c in self.chapters if c.roman == article.chapter)

    def provisions_of(self, number: int) -> list[Provision]:
        return [p for p in self.provisions.values() if article_of(p.key) == number]

    def key(self, key: str) -> KeyInfo:
        """Look up an article key; raises UnknownArticle naming the key."""
        if not KEY_PATTERN.match(key):
            raise UnknownArticle(
                f"'{key}' is not an article key; write it like 42, 65(1) or 40(21)(b)"
            )
        article = self.article(article_of(key))
        if key == str(article.number):
            return KeyInfo(key, article, None, article.verified)
        provision = self.provisions.get(key)
        if provision is None:
            raise UnknownArticle(
                f"article {article.number} has no key '{key}' in hanoinet's data; "
                f"known keys: {', '.join(p.key for p in self.provisions_of(article.number)) or 'none'}"
            )
        return KeyInfo(key, article, provision.text, provision.verified)

    def period(self, period_id: str) -> Period:
        return self.periods[period_id]

    def search(self, text: str) -> list[SearchHit]:
        """Articles and provisions whose title or text contains ``text`` in any language,
        ignoring case and accents; article titles first."""
        needle = fold(text)
        hits: list[SearchHit] = []
        for article in self.articles.values():
            for lang in LANGUAGES:
                label = article.title.get(lang)
                if needle in fold(label.text):
                    hits.append(SearchHit(str(article.number), lang, label.text, article.verified))
                    break
        for provision in self.provisions.values():
            if needle in fold(provision.text):
                hits.append(SearchHit(provision.key, "en", provision.text, provision.verified))
        return hits

    def cited_keys(self) -> Iterator[tuple[str, str]]:
        """Every article key cited by the data, with where it is cited."""
        for form in self.forms.values():
            for key in form.articles:
                yield key, f"cooperation.yaml: form {form.key}"
            if form.dual_criminality_article:
                yield form.dual_criminality_article, f"cooperation.yaml: form {form.key}"
            for req in form.requires:
                yield req.article, f"cooperation.yaml: form {form.key}, field {req.field}"
        for offence in self.offences.values():
            yield offence.article, f"offences.yaml: {offence.id}"
            for opt in offence.optional_elements:
                yield opt.article, f"offences.yaml: {offence.id}.{opt.id}"
            if offence.reservation:
                yield offence.reservation, f"offences.yaml: {offence.id} reservation"
        for ground in self.grounds.values():
            yield ground.article, f"grounds.yaml: {ground.id}"
            if ground.requires.reservation:
                yield ground.requires.reservation, f"grounds.yaml: {ground.id} requires"
        for period in self.periods.values():
            yield period.article, f"periods.yaml: {period.id}"
        for fixed in self.dates.values():
            yield fixed.article, f"periods.yaml: {fixed.id}"


def _line_of_text(root: Traversable, file: str, needle: str, occurrence: int = 1) -> int | None:
    """The line of the ``occurrence``-th line of ``file`` that mentions ``needle``."""
    text = root.joinpath(file).read_text(encoding="utf-8")
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line and not line.lstrip().startswith("#"):
            seen += 1
            if seen == occurrence:
                return number
    return None


def _unique(root: Traversable, idents: list[str], file: str, what: str, field: str) -> None:
    seen: set[str] = set()
    for ident in idents:
        if ident in seen:
            line = _line_of_text(root, file, f'{field}: "{ident}"', 2) or _line_of_text(
                root, file, f"{field}: {ident}", 2
            )
            raise ConventionDataError(file, line, f"{what} '{ident}' is given twice")
        seen.add(ident)


@cache
def convention() -> Convention:
    """The Convention, loaded from the packaged data and cross-checked (once per process)."""
    return load_convention(data_root())


def load_convention(root: Traversable) -> Convention:
    """Load and cross-check the data files in ``root``; errors name file and line."""
    articles = load_file(ArticlesFile, "articles.yaml", root)
    provisions = load_file(ProvisionsFile, "provisions.yaml", root).provisions
    offences = load_file(OffencesFile, "offences.yaml", root).offences
    forms = load_file(CooperationFile, "cooperation.yaml", root).forms
    grounds = load_file(GroundsFile, "grounds.yaml", root).grounds
    periods = load_file(PeriodsFile, "periods.yaml", root)

    _unique(root, [p.key for p in provisions], "provisions.yaml", "key", "key")
    _unique(root, [o.id for o in offences], "offences.yaml", "offence", "id")
    _unique(root, [f.key for f in forms], "cooperation.yaml", "form", "key")
    _unique(root, [g.id for g in grounds], "grounds.yaml", "ground", "id")
    _unique(root, [p.id for p in periods.periods], "periods.yaml", "period", "id")
    result = Convention(
        chapters=articles.chapters,
        articles={a.number: a for a in articles.articles},
        provisions={p.key: p for p in provisions},
        offences={o.id: o for o in offences},
        forms={f.key: f for f in forms},
        grounds={g.id: g for g in grounds},
        periods={p.id: p for p in periods.periods},
        dates={d.id: d for d in periods.dates},
    )
    for provision in provisions:
        if article_of(provision.key) not in result.articles:
            raise ConventionDataError(
                "provisions.yaml",
                _line_of_text(root, "provisions.yaml", f'"{provision.key}"'),
                f"key '{provision.key}' names an article that does not exist",
            )
    form_keys = set(result.forms) | {"mla"}
    for ground in grounds:
        for target in ground.applies_to:
            if target not in form_keys:
                raise ConventionDataError(
                    "grounds.yaml",
                    _line_of_text(root, "grounds.yaml", f"id: {ground.id},"),
                    f"ground '{ground.id}' applies to unknown form '{target}'",
                )
    for key, where in result.cited_keys():
        try:
            result.key(key)
        except UnknownArticle as exc:
            file = where.split(":")[0]
            line = _line_of_text(root, file, f'"{key}"')
            raise ConventionDataError(file, line, f"{where}: {exc.message}") from None
    return result
