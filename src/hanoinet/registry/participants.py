"""States and regional economic integration organizations that can take treaty actions.

Codes are ISO 3166-1 alpha-2 (from ``pycountry``); names in the six UN
languages come from the Unicode CLDR (through Babel), never typed by hand.
The European Union, a regional economic integration organization (art. 2(n)),
uses its CLDR code ``EU``. CLDR's short names are not always the UN's
designations (CLDR says "Palestinian Territories" where the UN says "State
of Palestine"), so where the treaty record names a participant, that name,
as the depositary writes it, is shown first. Three fictional demo States
(user-assigned codes XA, XB, XC; ``data/demo/states.yaml``) exist for
demonstrations and tests and are always marked illustrative.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal

import pycountry
from babel import Locale

from hanoinet.convention.model import LANGUAGES
from hanoinet.errors import UnknownParticipant
from hanoinet.registry.designations import demo_states
from hanoinet.textfold import fold

REIOS: dict[str, str] = {"EU": "European Union"}
"""Regional economic integration organizations (art. 2(n)) by code."""


@dataclass(frozen=True)
class Participant:
    code: str
    kind: Literal["state", "reio"]
    names: Mapping[str, str]
    """CLDR names by language (en, ar, es, fr, ru, zh)."""
    illustrative: bool = False
    """A fictional demo State (codes XA-XC), never a real one."""

    def name(self, lang: str = "en") -> str:
        return self.names[lang]


def is_known_code(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code or a REIO code, written in capitals."""
    if len(code) != 2 or not code.isascii() or not code.isupper():
        return False
    return (
        code in REIOS or code in demo_states() or pycountry.countries.get(alpha_2=code) is not None
    )


class _CldrNames(Mapping[str, str]):
    """A territory's CLDR names in the six languages, each language's data read when first
    asked for: a command that prints English names does not load the other five."""

    def __init__(self, code: str) -> None:
        self._code = code

    def __getitem__(self, lang: str) -> str:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        name: str = _locale(lang).territories.get(self._code, self._code)
        return name

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __repr__(self) -> str:
        return repr(dict(self))


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


@cache
def participant(code: str) -> Participant:
    """The participant with ISO 3166 (or REIO) code ``code``; raises UnknownParticipant."""
    if not is_known_code(code):
        raise UnknownParticipant(code, suggestions=[])
    demo = demo_states().get(code)
    if demo is not None:
        return Participant(code, "state", dict(demo.names), illustrative=True)
    return Participant(code, "reio" if code in REIOS else "state", _CldrNames(code))


@cache
def _name_index() -> dict[str, str]:
    """Folded name -> code, over ISO names, CLDR names in six languages and REIOs."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                index[fold(value)] = code
        for name in participant(code).names.values():
            index.setdefault(fold(name), code)
    for code in demo_states():
        for other in participant(code).names.values():
            index.setdefault(fold(other), code)
    for code, name in REIOS.items():
        index[fold(name)] = code
        for other in participant(code).names.values():
            index.setdefault(fold(other), code)
    return index


def resolve(query: str, extra_names: dict[str, str] | None = None) -> str:
    """The code for a name or code, as typed by a person.

    ``extra_names`` maps further names (such as those in a treaty record) to
    codes. An unknown name raises UnknownParticipant with close matches.
    """
    text = query.strip()
    if len(text) == 2 and is_known_code(text.upper()):
        return text.upper()
    index = dict(_name_index())
    for name, code in (extra_names or {}).items():
        index[fold(name)] = code
    folded = fold(text)
    if folded in index:
        return index[folded]
    starts = sorted({code for name, code in index.items() if name.startswith(folded)})
    if len(starts) == 1 and len(folded) >= 3:
        return starts[0]
    close = difflib.get_close_matches(folded, list(index), n=5, cutoff=0.6)
    names = extra_names or {}
    display = {code: name for name, code in names.items()}
    suggestions: list[str] = []
    for match in close:
        code = index[match]
        label = f"{display.get(code, participant(code).name())} ({code})"
        if label not in suggestions:
            suggestions.append(label)
    if not suggestions and len(starts) > 1:
        suggestions = [f"{display.get(c, participant(c).name())} ({c})" for c in starts[:5]]
    raise UnknownParticipant(query, suggestions[:3])
