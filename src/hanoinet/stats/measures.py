"""The figures of a set of requests, from their milestones: pure, time passed in.

Each request is a ``Track``: who asked whom for what, when it started and how long each
milestone took (``definitions``), where it ended, and the channel it travelled by (the
network, or e-mail, post, courier or the diplomatic channel with a State that runs no
node). ``tabulate`` counts them in cells, per direction, State pair and cooperation form,
with the margins (per direction; per direction and pair; per direction and form), and per
channel (per direction and channel; per direction, form and channel), so one report answers
"how long does it take, and where does it get stuck?" at every level, and compares
networked with non-networked cooperation. Nothing of a case's content is read: a track holds no
identifier, name or text.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import NamedTuple

from hanoinet.stats.definitions import FLAGS, MILESTONES, OUTCOMES

DESK_URGENCIES = ("emergency", "urgent")
"""The urgencies the 24/7 desk has an acknowledgement target for (HANOINET_ACK_*)."""
OPEN = "open"
"""The outcome of a request that reached none of the outcomes by the cut-off."""
CHANNELS = ("network", "email", "post", "courier", "diplomatic")
"""How a request travelled (``requests.means``): the network, or by hand outside it."""


class Track(NamedTuple):
    """One request as statistics see it (a tuple: a million events make some 150,000)."""

    direction: str
    requesting_state: str | None
    requested_state: str | None
    form: str
    urgency: str
    times: tuple[float | None, ...]
    """Seconds from the start to each milestone (``definitions.MILESTONES``, in order), None
    where it was not reached by the cut-off."""
    age: float
    """Seconds from the start to the cut-off."""
    outcome: str = OPEN
    ground: str | None = None
    """The refusal ground's key, for a refused request."""
    flags: int = 0
    """Which of ``definitions.FLAGS`` happened by the cut-off: bit ``i`` for ``FLAGS[i]``."""
    channel: str = "network"
    """One of ``CHANNELS``."""


Key = tuple[str, str | None, str | None, str | None, str | None]
"""(direction, requesting State, requested State, form, channel); None is "all"."""


@dataclass
class Cell:
    direction: str
    requesting_state: str | None = None
    requested_state: str | None = None
    form: str | None = None
    channel: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    """Each duration measured, in seconds: the milestones, and ``desk.<urgency>``."""

    @property
    def key(self) -> Key:
        return (
            self.direction,
            self.requesting_state,
            self.requested_state,
            self.form,
            self.channel,
        )

    @property
    def level(self) -> str:
        pair = self.requesting_state is not None
        form = self.form is not None
        return {
            (False, False, False): "direction",
            (True, False, False): "pair",
            (False, True, False): "form",
            (True, True, False): "pair_form",
            (False, False, True): "channel",
            (False, True, True): "form_channel",
        }[(pair, form, self.channel is not None)]


LEVELS = ("direction", "pair", "form", "channel", "pair_form", "form_channel")
"""The order reports list their cells in: the margins, then the finer cells."""


def count_names(grounds: Iterable[str]) -> tuple[str, ...]:
    """Every count a cell has, in the order reports print them."""
    names = ["requests"]
    names += [f"outcomes.{o}" for o in (*OUTCOMES, OPEN)]
    names += [f"refused_by_ground.{g}" for g in sorted(grounds)]
    names += [f"flags.{f}" for f in FLAGS]
    names += [f"times.{m}.n" for m in MILESTONES]
    for u in DESK_URGENCIES:
        names += [f"desk.{u}.{part}" for part in ("requests", "within_target", "late", "pending")]
    return tuple(names)


SLOTS = (*MILESTONES, *(f"desk.{u}" for u in DESK_URGENCIES))
"""The durations a cell keeps: each milestone's, then the 24/7 desk's acknowledgements by
urgency."""

Profile = tuple[str, str | None, int, tuple[bool, ...], str | None, str | None]
"""What a request adds to its cell's counts: outcome, ground, flags, milestones reached,
desk urgency and desk verdict (within_target, late, pending)."""


def tabulate(
    tracks: Iterable[Track], grounds: Iterable[str], ack_targets: Mapping[str, timedelta]
) -> list[Cell]:
    """The cells of ``tracks``, by level in ``LEVELS`` order (margins first), within a level
    in key order; each duration list sorted. One pass counts each request's profile in its
    finest cell (pair, form and channel: never published); the published cells add those."""
    names = count_names(grounds)
    targets = {u: t.total_seconds() for u, t in ack_targets.items() if u in DESK_URGENCIES}
    desk_slot = {u: len(MILESTONES) + i for i, u in enumerate(DESK_URGENCIES)}
    profiles: dict[Key, Counter[Profile]] = defaultdict(Counter)
    durations: dict[Key, list[list[float]]] = {}
    for t in tracks:
        key: Key = (t.direction, t.requesting_state, t.requested_state, t.form, t.channel)
        lists = durations.get(key)
        if lists is None:
            lists = durations[key] = [[] for _ in SLOTS]
        for i, v in enumerate(t.times):
            if v is not None:
                lists[i].append(v if v > 0 else 0.0)  # a clock behind by seconds: none
        verdict = None
        target = targets.get(t.urgency) if t.direction == "incoming" else None
        if target is not None:
            acked = t.times[0]
            if acked is not None:
                verdict = "within_target" if acked <= target else "late"
                lists[desk_slot[t.urgency]].append(acked if acked > 0 else 0.0)
            else:
                verdict = "late" if t.age > target else "pending"
        present = tuple(map(_reached, t.times))
        desk = t.urgency if verdict else None
        profiles[key][(t.outcome, t.ground, t.flags, present, desk, verdict)] += 1
    for lists in durations.values():
        for values in lists:
            values.sort()
    cells: dict[Key, Cell] = {}
    for key, counted in profiles.items():
        d, a, b, f, ch = key
        into: list[Key] = [
            (d, None, None, None, None),
            (d, None, None, f, None),
            (d, None, None, None, ch),
            (d, None, None, f, ch),
        ]
        if a is not None and b is not None:
            into += [(d, a, b, None, None), (d, a, b, f, None)]
        for cell_key in into:
            c = cells.get(cell_key)
            if c is None:
                c = cells[cell_key] = Cell(*cell_key, counts=dict.fromkeys(names, 0))
            for profile, n in counted.items():
                for name in _names(profile):
                    c.counts[name] += n
            for slot, values in zip(SLOTS, durations[key], strict=True):
                if values:
                    c.times.setdefault(slot, []).extend(values)
    for c in cells.values():
        for values in c.times.values():
            values.sort()  # sorted runs, merged: Timsort finds them
    order = {level: i for i, level in enumerate(LEVELS)}
    return sorted(cells.values(), key=lambda c: (order[c.level], tuple(v or "" for v in c.key)))


def _reached(seconds: float | None) -> bool:
    return seconds is not None


@cache
def _names(profile: Profile) -> tuple[str, ...]:
    """The counts one request of ``profile`` adds one to."""
    outcome, ground, flags, present, desk, verdict = profile
    names = ["requests", f"outcomes.{outcome}"]
    if outcome == "refused" and ground:
        names.append(f"refused_by_ground.{ground}")
    names += [f"flags.{f}" for i, f in enumerate(FLAGS) if flags >> i & 1]
    names += [f"times.{m}.n" for m, on in zip(MILESTONES, present, strict=True) if on]
    if desk and verdict:
        names += [f"desk.{desk}.requests", f"desk.{desk}.{verdict}"]
    return tuple(names)


def median(ordered: list[float]) -> float:
    """The median of sorted values (the mean of the two middle ones for an even count)."""
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p90(ordered: list[float]) -> float:
    """The 90th percentile of sorted values by nearest rank: the smallest value with at
    least 90% of the values at or below it (always a value that was measured)."""
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
