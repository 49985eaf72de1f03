"""Designations: whom a State Party has named, in which languages and by which channels.

The Convention asks each State to notify the Secretary-General of its central
authority (40(13)), the languages acceptable to it (40(14)) and its 24/7
point of contact (41(1)). The packaged real file is empty until a State
publishes a designation hanoinet can source; the demo file describes three
fictional States and says so (``illustrative``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hanoinet.convention.loader import load_text

Channel = Literal[
    "central_authority", "point_of_contact", "interpol", "diplomatic", "law_enforcement"
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Contact(_Frozen):
    name: str
    contact: str


class Designation(_Frozen):
    state: str
    central_authority: Contact | None = None
    point_of_contact: Contact | None = None
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    interpol_in_urgency: bool = False


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
