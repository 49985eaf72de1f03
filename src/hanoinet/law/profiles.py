"""Domestic-law profiles: national offences mapped onto the Convention's conduct.

Dual criminality is met when the *conduct* is a crime in both States,
whatever its name (35(2)). A profile says, for each national offence, which
Convention offence and which of its conduct ids it covers, and which of the
optional elements the State added (``requires``), so a narrower national
offence is caught: Borealis punishes access only when security measures were
infringed (7(2)), so an access without that element is not a crime there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from hanoinet.convention import convention
from hanoinet.convention.loader import load_text


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class NationalOffence(_Frozen):
    id: str
    name: str
    max_penalty_years: float
    offence: str
    conduct: tuple[str, ...]
    requires: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_ids(self) -> NationalOffence:
        offences = convention().offences
        if self.offence not in offences:
            raise ValueError(f"'{self.offence}' is not a Convention offence id (offences.yaml)")
        known = offences[self.offence]
        conduct_ids = {c.id for c in known.conduct}
        for c in self.conduct:
            if c not in conduct_ids:
                raise ValueError(f"'{c}' is not a conduct of {self.offence}: {sorted(conduct_ids)}")
        optional = {o.id for o in known.optional_elements}
        for r in self.requires:
            if r not in optional:
                raise ValueError(
                    f"'{r}' is not an optional element of {self.offence}: {sorted(optional)}"
                )
        return self


class Profile(_Frozen):
    state: str
    offences: tuple[NationalOffence, ...]


class ProfilesFile(_Frozen):
    illustrative: bool
    profiles: tuple[Profile, ...]


@dataclass(frozen=True)
class Profiles:
    by_state: dict[str, Profile]
    illustrative: bool

    def get(self, code: str | None) -> Profile | None:
        return self.by_state.get(code) if code else None


Verdict = Literal["met", "not_met", "unknown"]


@dataclass(frozen=True)
class DualCriminality:
    verdict: Verdict
    national: NationalOffence | None
    """The requested State's offence that covers the conduct, when met."""
    missing: tuple[str, ...] = ()
    """Optional elements the closest national offence requires and the facts do not show."""


def judge(
    profile: Profile | None, offence_id: str, conduct: tuple[str, ...], elements: tuple[str, ...]
) -> DualCriminality:
    """Is the alleged conduct a crime under the requested State's law (35(2))?"""
    if profile is None:
        return DualCriminality("unknown", None)
    candidates = [
        n
        for n in profile.offences
        if n.offence == offence_id and (not conduct or set(conduct) & set(n.conduct))
    ]
    for national in candidates:
        missing = tuple(r for r in national.requires if r not in elements)
        if not missing:
            return DualCriminality("met", national)
    if candidates:
        closest = min(candidates, key=lambda n: len(n.requires))
        return DualCriminality(
            "not_met", closest, tuple(r for r in closest.requires if r not in elements)
        )
    return DualCriminality("not_met", None)


def _load(path: str) -> ProfilesFile:
    text = resources.files("hanoinet.law.data").joinpath(path).read_text(encoding="utf-8")
    return load_text(ProfilesFile, text, path)


@cache
def real_profiles() -> Profiles:
    data = _load("profiles.yaml")
    return Profiles({p.state: p for p in data.profiles}, illustrative=False)


@cache
def demo_profiles() -> Profiles:
    """The real profiles plus the illustrative ones of the demo States."""
    merged = dict(real_profiles().by_state)
    merged.update({p.state: p for p in _load("demo/profiles.yaml").profiles})
    return Profiles(merged, illustrative=True)
