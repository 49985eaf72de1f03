"""Designations: whom a State Party has named, in which languages and by which channels.

The Convention asks each State to notify the Secretary-General of its central
authority (40(13)), the languages acceptable to it (40(14)) and its 24/7
point of contact (41(1)). The packaged real file is empty until a State
publishes a designation hanoinet can source; the demo file describes three
fictional States and says so (``illustrative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hanoinet.convention.loader import load_text
from hanoinet.errors import ConventionDataError

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


def _load(path: str, model: type[DesignationsFile]) -> DesignationsFile:
    from importlib import resources

    text = resources.files("hanoinet.registry.data").joinpath(path).read_text(encoding="utf-8")
    return load_text(model, text, path)


@cache
def real_designations() -> Designations:
    data = _load("designations.yaml", DesignationsFile)
    for d in data.designations:
        if not d.source or d.as_of is None:
            raise ConventionDataError(
                "designations.yaml",
                None,
                f"the designation of {d.state} needs its source and as_of (where and when it "
                "was published): a real designation is never hanoinet's own word",
            )
    return Designations({d.state: d for d in data.designations}, illustrative=False)


@cache
def demo_designations() -> Designations:
    """The real designations plus the illustrative ones of the demo States."""
    data = _load("demo/designations.yaml", DesignationsFile)
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
