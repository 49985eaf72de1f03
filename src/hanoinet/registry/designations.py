"""Designations: whom a State Party has named, in which languages and by which channels.

The Convention asks each State to notify the Secretary-General of its central
authority (40(13)), the languages acceptable to it (40(14)) and its 24/7
point of contact (41(1)); a State may also make reservations and declarations
(under 11, 23, 42, 63 among others), kept here with the article they are made under
and their source. The packaged real file is empty until a State publishes a
designation hanoinet can source; the demo file describes four fictional States
and says so (``illustrative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from hanoinet.convention.loader import load_text
from hanoinet.convention.model import ArticleKey
from hanoinet.errors import ConventionDataError, UnknownArticle

Channel = Literal[
    "central_authority", "point_of_contact", "interpol", "diplomatic", "law_enforcement"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Contact(_Frozen):
    name: str
    contact: str = ""
    """Telephone, e-mail, address as the State writes them, in one line."""
    postal_address: str | None = None
    email: str | None = None
    """Where requests may be e-mailed (``send --by email``), for a State that runs no node."""
    telephone: str | None = None


class FormRequirements(_Frozen):
    """What a State requires of a request of one form whose language and channel its own law
    and treaties set (extradition, provisional arrest, transfers): as it publishes them."""

    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    authority: Contact | None = None
    rests_on: str
    """What the requirements come from, as the State names it (an act and its section, a
    treaty), shown with every finding based on them."""


Day = date
"""``date`` under another name, for a field called ``date``."""

ILLUSTRATIVE_SOURCE = "Illustrative:"
"""How the source of a demo State's entry begins: it was invented, and says so."""


class Reservation(_Frozen):
    """A reservation or a declaration a State made on the Convention, under one article key."""

    kind: Literal["reservation", "declaration"]
    article: ArticleKey
    """The provision it is made under (``42(4)``), a key the Convention data knows."""
    text: str
    """What the State reserved or declared, as it words it."""
    source: str | None = None
    """Where it was published (a depositary notification's symbol): required, so that nothing
    here is hanoinet's own word; a demo State's begins ``Illustrative:``."""
    date: Day | None = None
    """When it was made; a reservation dated later than an action does not count for it."""

    def in_force(self, day: Day) -> bool:
        """Whether it holds on ``day`` (undated: always, as far as hanoinet knows)."""
        return self.date is None or self.date <= day

    @property
    def illustrative(self) -> bool:
        """A demo State's, invented (its source says so; the loader checks it does)."""
        return (self.source or "").startswith(ILLUSTRATIVE_SOURCE)


def reservation_dict(entry: Reservation) -> dict[str, object]:
    """One reservation or declaration as JSON (``treaty state --json``,
    ``/public/directory.json``; docs/cli.md)."""
    from hanoinet.convention import convention

    return {
        "kind": entry.kind,
        "article": entry.article,
        "article_verified": convention().key(entry.article).verified,
        "text": entry.text,
        "source": entry.source,
        "date": entry.date.isoformat() if entry.date else None,
        "illustrative": entry.illustrative,
    }


class Designation(_Frozen):
    state: str
    central_authority: Contact | None = None
    point_of_contact: Contact | None = None
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    interpol_in_urgency: bool = False
    oral_in_urgency: bool = False
    """Whether the State accepts urgent requests made orally, to be confirmed in writing
    forthwith (40(14): only where the States agree)."""
    source: str | None = None
    """Where the designation was published (a notification's symbol, a web page): required
    for a real designation, so that nothing here is hanoinet's own word."""
    as_of: date | None = None
    """The date of that information: contacts change, and a reader must know how old they are."""
    forms: dict[str, FormRequirements] = {}
    """By form key: the State's own requirements for the forms its law sets the language and
    channel of (``language_and_channel: requested_state`` in cooperation.yaml)."""
    reservations: tuple[Reservation, ...] = ()
    """Its reservations and declarations, each under its article key, with its source."""

    @model_validator(mode="after")
    def _reservations_cite_known_keys(self) -> Designation:
        from hanoinet.convention import convention

        for entry in self.reservations:
            what = f"the {entry.kind} of {self.state} under '{entry.article}'"
            try:
                convention().key(entry.article)
            except UnknownArticle as exc:
                raise ValueError(f"{what}: {exc.message}") from None
            if not (entry.source or "").strip():
                raise ValueError(
                    f"{what} needs its source (where it was published, e.g. the depositary "
                    "notification): a reservation is never hanoinet's own word"
                )
        return self

    def reservation(self, article: str, day: date) -> Reservation | None:
        """Its reservation under ``article`` in force on ``day``, if it made one."""
        return next(
            (
                r
                for r in self.reservations
                if r.kind == "reservation" and r.article == article and r.in_force(day)
            ),
            None,
        )


def languages_for(designation: Designation | None, kind: str) -> tuple[str, ...]:
    """The languages ``designation``'s State takes a request of form ``kind`` in: those it
    published for the form where its law sets them (``forms``), else those notified under
    40(14); none when nothing is known."""
    if designation is None:
        return ()
    required = designation.forms.get(kind)
    return required.languages if required and required.languages else designation.languages


class DesignationsFile(_Frozen):
    illustrative: bool
    designations: tuple[Designation, ...]


class DemoState(_Frozen):
    code: str
    names: dict[str, str]


class DemoStatesFile(_Frozen):
    illustrative: Literal[True]
    states: tuple[DemoState, ...]


@dataclass(frozen=True)
class Designations:
    by_state: dict[str, Designation]
    illustrative: bool

    def get(self, code: str | None) -> Designation | None:
        return self.by_state.get(code) if code else None


def parse_designations(text: str, name: str) -> DesignationsFile:
    """A designations file (YAML ``text``, reported as ``name``), validated: every entry's
    reservations cite known article keys and their source; a real designation names its
    source and date; a demo State's reservations say they are illustrative. Errors name the
    file and the State."""
    data = load_text(DesignationsFile, text, name)
    for d in data.designations:
        if not data.illustrative and (not d.source or d.as_of is None):
            raise ConventionDataError(
                name,
                None,
                f"the designation of {d.state} needs its source and as_of (where and when it "
                "was published): a real designation is never hanoinet's own word",
            )
        for entry in d.reservations:
            invented = (entry.source or "").startswith(ILLUSTRATIVE_SOURCE)
            if invented != data.illustrative:
                raise ConventionDataError(
                    name,
                    None,
                    f"the {entry.kind} of {d.state} under '{entry.article}': "
                    + (
                        f"a demo State's source begins '{ILLUSTRATIVE_SOURCE}' (it was invented)"
                        if data.illustrative
                        else f"a real State's source names where it was published, not "
                        f"'{ILLUSTRATIVE_SOURCE}'"
                    ),
                )
    return data


def _load(path: str) -> DesignationsFile:
    from importlib import resources

    text = resources.files("hanoinet.registry.data").joinpath(path).read_text(encoding="utf-8")
    return parse_designations(text, path)


@cache
def real_designations() -> Designations:
    data = _load("designations.yaml")
    return Designations({d.state: d for d in data.designations}, illustrative=False)


@cache
def demo_designations() -> Designations:
    """The real designations plus the illustrative ones of the demo States."""
    data = _load("demo/designations.yaml")
    merged = dict(real_designations().by_state)
    merged.update({d.state: d for d in data.designations})
    return Designations(merged, illustrative=True)


@cache
def demo_states() -> dict[str, DemoState]:
    """The fictional demo States (ISO user-assigned codes XA-XC), by code."""
    from importlib import resources

    path = "demo/states.yaml"
    text = resources.files("hanoinet.registry.data").joinpath(path).read_text(encoding="utf-8")
    data = load_text(DemoStatesFile, text, path)
    return {s.code: s for s in data.states}
