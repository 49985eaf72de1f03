"""What the checks need to know besides the request: the date, the treaty record,
designations and domestic-law profiles. Built by the caller; the checks stay pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache

from hanoinet.law.profiles import Profiles, demo_profiles
from hanoinet.registry import TreatyAction, TreatyStatus, packaged_actions, treaty_status
from hanoinet.registry.designations import Designations, demo_designations


@dataclass(frozen=True)
class Context:
    as_of: date
    record: Sequence[TreatyAction]
    designations: Designations
    profiles: Profiles

    @cached_property
    def status(self) -> TreatyStatus:
        return treaty_status(self.record, self.as_of)


@lru_cache(maxsize=16)
def default_context(as_of: date) -> Context:
    """The packaged treaty record, with the real designations and profiles plus the
    illustrative ones of the demo States (which the findings mark as such). One per day,
    cached: a node checks many requests against the same day's status."""
    return Context(as_of, tuple(packaged_actions()), demo_designations(), demo_profiles())
