"""Typed, frozen objects for the Convention as data.

Every provision is referred to by an *article key*: ``42``, ``65(1)``,
``40(21)(b)``, ``2(h)``. Whether a key's paragraph numbering has been
checked against the authentic text lives in one place, ``provisions.yaml``
(``verified``); items elsewhere only cite keys, so a mark cannot disagree
with itself.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

LANGUAGES: tuple[str, ...] = ("en", "ar", "es", "fr", "ru", "zh")
"""The six official languages of the United Nations, the Convention's authentic texts (art. 68)."""

KEY_PATTERN = re.compile(
    r"^(?P<article>[1-9][0-9]?)(?:\((?P<para>[1-9][0-9]?)\))?(?:\((?P<letter>[a-z]{1,2})\))?$"
)


def _check_key(value: str) -> str:
    if not KEY_PATTERN.match(value):
        raise ValueError(
            f"'{value}' is not an article key; write it like 42, 65(1), 40(21)(b) or 2(h)"
        )
    return value


ArticleKey = Annotated[str, AfterValidator(_check_key)]


def article_of(key: str) -> int:
    """The article number of an article key: ``article_of("40(21)(b)") == 40``."""
    match = KEY_PATTERN.match(key)
    if match is None:
        raise ValueError(f"'{key}' is not an article key")
    return int(match["article"])


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Label(Frozen):
    text: str
    status: Literal["official", "unofficial"]
    source: str | None = None


class Titles(Frozen):
    """A title in the six UN languages; every label but the English one names its source
    when it is official."""

    en: Label
    ar: Label
    es: Label
    fr: Label
    ru: Label
    zh: Label

    @model_validator(mode="after")
    def _official_has_source(self) -> Titles:
        for lang in LANGUAGES[1:]:
            label: Label = getattr(self, lang)
            if label.status == "official" and not label.source:
                raise ValueError(f"the {lang} title is marked official but names no source")
        return self

    def get(self, lang: str) -> Label:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language '{lang}'; use one of {', '.join(LANGUAGES)}")
        label: Label = getattr(self, lang)
        return label


class Chapter(Frozen):
    roman: str
    first: int
    last: int
    title: Titles


class Article(Frozen):
    number: int
    chapter: str
    verified: bool
    title: Titles


class ArticlesFile(Frozen):
    chapters: tuple[Chapter, ...]
    articles: tuple[Article, ...]

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> ArticlesFile:
        numbers = [a.number for a in self.articles]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("articles must be numbered 1, 2, 3 ... in order, with none missing")
        ranges = {c.roman: (c.first, c.last) for c in self.chapters}
        for article in self.articles:
            if article.chapter not in ranges:
                raise ValueError(
                    f"article {article.number} names unknown chapter {article.chapter}"
                )
            first, last = ranges[article.chapter]
            if not first <= article.number <= last:
                raise ValueError(
                    f"article {article.number} is outside chapter {article.chapter} "
                    f"(articles {first}-{last})"
                )
        return self


class Provision(Frozen):
    """One article key below the article level, paraphrased."""

    key: ArticleKey
    text: str
    verified: bool


class ProvisionsFile(Frozen):
    provisions: tuple[Provision, ...]


class Element(Frozen):
    id: str
    text: str


class OptionalElement(Frozen):
    """An element a State may add to an offence, and so criminalize less."""

    id: str
    text: str
    article: ArticleKey


class Offence(Frozen):
    id: str
    article: ArticleKey
    intent: Literal["intentional"]
    without_right: bool
    conduct: tuple[Element, ...]
    elements: tuple[Element, ...]
    optional_elements: tuple[OptionalElement, ...] = ()
    reservation: str | None = None


class OffencesFile(Frozen):
    offences: tuple[Offence, ...]


Field = Literal[
    "kind",
    "requesting_state",
    "requested_state",
    "requesting_authority",
    "matter",
    "offences",
    "facts_summary",
    "assistance_sought",
    "procedures_requested",
    "persons",
    "purpose",
    "data",
    "necessity",
    "mla_to_follow",
    "confidential",
    "no_user_notice",
    "urgency",
    "deadline",
    "language",
    "period",
    "emergency",
    "judgment",
    "consent",
    "agreement",
    "property",
    "order",
]


class Requirement(Frozen):
    """A content the form must (or, with ``when``, may) contain, and the article requiring it."""

    field: Field
    text: str
    article: ArticleKey
    when: str | None = None


Channel = Literal[
    "central_authority", "point_of_contact", "interpol", "diplomatic", "law_enforcement"
]


class CooperationForm(Frozen):
    key: str
    title: str
    articles: tuple[ArticleKey, ...]
    channels: tuple[Channel, ...]
    dual_criminality: Literal["required", "not_required", "discretionary", "not_applicable"]
    dual_criminality_article: ArticleKey | None = None
    scope: Literal["evidence", "convention_offences", "extradition", "none"] = "none"
    """Which offences the form may serve: evidence of Convention offences or serious crime
    (35(1)(b)-(c)), Convention offences only (35(1)(a)), extradition (37(1)), or no test."""
    grounds: Literal["mla", "preservation", "extradition", "none"] = "none"
    """Which grounds of grounds.yaml (by `applies_to`) a refusal or postponement may invoke."""
    language_and_channel: Literal["convention", "requested_state"] = "convention"
    """What sets the language and the channel of a request: the Convention (the languages
    notified under 40(14), the central authority of 40(13)), or the requested State's law
    and the treaties that bind it (extradition, transfers), as that State publishes them
    for the form."""
    requires: tuple[Requirement, ...]


class CooperationFile(Frozen):
    forms: tuple[CooperationForm, ...]


class GroundRequires(Frozen):
    """What must also hold for a ground to be open to a request, besides its form."""

    reservation: ArticleKey | None = None
    """The requested State made a reservation under this key (its designation's
    ``reservations``, registry/designations.py)."""
    offences: Literal["not_convention"] | None = None
    """``not_convention``: the request alleges no offence established in accordance with the
    Convention (an article of offences.yaml)."""


class Ground(Frozen):
    id: str
    kind: Literal["refusal", "postponement", "no_obligation", "not_a_ground", "procedure"]
    article: ArticleKey
    text: str
    applies_to: tuple[str, ...]
    requires: GroundRequires = GroundRequires()


class GroundsFile(Frozen):
    grounds: tuple[Ground, ...]


class Period(Frozen):
    id: str
    value: int
    unit: Literal["days", "years", "instruments", "states"]
    article: ArticleKey
    text: str


class FixedDate(Frozen):
    id: str
    date: date
    article: ArticleKey
    text: str


class PeriodsFile(Frozen):
    periods: tuple[Period, ...]
    dates: tuple[FixedDate, ...]
