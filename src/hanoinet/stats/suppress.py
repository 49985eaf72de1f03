"""Small counts suppressed, so that no single case can be recognized: pure.

Primary suppression: every count from 1 to ``threshold - 1`` is withheld (zero is shown:
it singles out no case). Secondary suppression: a withheld count must not be recoverable by
subtraction. Wherever published figures add up (a cell's outcomes to its requests, its
refusal grounds to its refusals, its desk figures to the desk's requests; every cell of a
level to its margin), a sum with exactly one withheld term would give it away, so one more
term is withheld, the smallest non-zero one, until no sum has exactly one. A duration (median,
90th percentile) is shown only when at least ``threshold`` requests were measured: a
percentile of fewer is too close to one case's own figure.

This is the threshold rule with complementary suppression that statistical offices apply
to frequency tables (our own code: the libraries for it, sdcMicro and tau-Argus, are R and
Java programs for microdata, far more than a dozen additive tables need).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hanoinet.stats.measures import DESK_URGENCIES, Cell, median, p90

Ref = tuple[int, str]


@dataclass(frozen=True)
class Published:
    """A cell's figures as they may leave the node: None where withheld."""

    cell: Cell
    counts: dict[str, int | None]
    durations: dict[str, tuple[int | None, int | None]]
    """(median, p90) in whole seconds for each duration measured."""


def suppress(cells: list[Cell], threshold: int) -> list[Published]:
    if threshold < 1:
        raise ValueError("the threshold is at least 1")
    values: dict[Ref, int] = {
        (i, name): v for i, c in enumerate(cells) for name, v in c.counts.items()
    }
    hidden = {ref for ref, v in values.items() if 0 < v < threshold}
    sums = [s for s in _sums(cells) if values[s[0]] == sum(values[p] for p in s[1])]
    changed = bool(hidden)
    while changed:
        changed = False
        for total, parts in sums:
            terms = [total, *parts]
            if sum(t in hidden for t in terms) != 1:
                continue
            shown = [p for p in parts if p not in hidden]
            nonzero = [p for p in shown if values[p] > 0]
            if nonzero:
                pick = min(nonzero, key=lambda p: (values[p], p))
            elif total not in hidden:
                pick = total
            else:  # the others are all zero: the withheld total is their sum, zero, never hidden
                continue
            hidden.add(pick)
            changed = True
    published = []
    for i, c in enumerate(cells):
        counts = {name: None if (i, name) in hidden else v for name, v in c.counts.items()}
        durations: dict[str, tuple[int | None, int | None]] = {
            name: (round(median(vs)), round(p90(vs))) if len(vs) >= threshold else (None, None)
            for name, vs in c.times.items()
        }
        published.append(Published(c, counts, durations))
    return published


def _sums(cells: list[Cell]) -> list[tuple[Ref, list[Ref]]]:
    """Every sum the published figures make: (total, terms)."""
    found: list[tuple[Ref, list[Ref]]] = []
    for i, c in enumerate(cells):
        names = c.counts
        outcomes = [(i, n) for n in names if n.startswith("outcomes.")]
        found.append(((i, "requests"), outcomes))
        grounds = [(i, n) for n in names if n.startswith("refused_by_ground.")]
        if grounds:
            found.append(((i, "outcomes.refused"), grounds))
        for u in DESK_URGENCIES:
            parts = [(i, f"desk.{u}.{p}") for p in ("within_target", "late", "pending")]
            found.append(((i, f"desk.{u}.requests"), parts))
    index = {c.key: i for i, c in enumerate(cells)}
    children: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(cells):
        d, a, b, f, ch = c.key
        if c.level in ("pair", "form", "channel"):
            children[index[(d, None, None, None, None)]].append(i)
        elif c.level == "pair_form":
            children[index[(d, a, b, None, None)]].append(i)
            children[index[(d, None, None, f, None)]].append(i)
        elif c.level == "form_channel":
            children[index[(d, None, None, f, None)]].append(i)
            children[index[(d, None, None, None, ch)]].append(i)
    for parent, kids in children.items():
        groups: dict[str, list[int]] = defaultdict(list)
        for k in kids:
            # pairs, forms and channels each add up to the direction; a form's pairs and its
            # channels each add up to the form; a channel's forms to the channel
            groups[cells[k].level].append(k)
        for same_level in groups.values():
            for name in cells[parent].counts:
                found.append(((parent, name), [(k, name) for k in same_level]))
    return found
