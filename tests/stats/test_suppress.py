"""Small counts withheld, and never recoverable by subtraction."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from hanoinet.stats.definitions import FLAGS
from hanoinet.stats.measures import Track, tabulate
from hanoinet.stats.suppress import _sums, suppress

TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(minutes=60)}
GROUNDS = ("essential_interests", "domestic_bar", "not_conforming")


def t(
    b: str = "XB",
    form: str = "stored_data",
    outcome: str = "executed",
    ack: float | None = 3600.0,
    ground: str | None = None,
    channel: str = "network",
) -> Track:
    return Track(
        "outgoing",
        "XA",
        b,
        form,
        "routine",
        (ack, None, None, None),
        1e7,
        outcome,
        ground,
        0,
        channel,
    )


def test_counts_below_the_threshold_are_withheld_and_zero_is_shown() -> None:
    cells = tabulate(
        [t()] * 7 + [t(outcome="refused", ground="domestic_bar")] * 3, GROUNDS, TARGETS
    )
    top = suppress(cells, 5)[0]
    assert top.counts["requests"] == 10
    assert top.counts["outcomes.refused"] is None
    assert top.counts["outcomes.withdrawn"] == 0
    # executed (7) would give refused away as 10 - 7: it is withheld too
    assert top.counts["outcomes.executed"] is None


def test_the_smallest_other_term_is_withheld() -> None:
    tracks = (
        [t()] * 20 + [t(outcome="open")] * 6 + [t(outcome="refused", ground="domestic_bar")] * 2
    )
    top = suppress(tabulate(tracks, GROUNDS, TARGETS), 5)[0]
    assert top.counts["outcomes.refused"] is None
    assert top.counts["outcomes.open"] is None  # 6: the smallest non-zero shown term
    assert top.counts["outcomes.executed"] == 20


def test_a_small_pair_is_not_recoverable_from_the_margin() -> None:
    tracks = [t(b="XB")] * 9 + [t(b="XC")] * 2 + [t(b="XD")] * 6
    published = suppress(tabulate(tracks, GROUNDS, TARGETS), 5)
    pairs = {
        p.cell.requested_state: p.counts["requests"] for p in published if p.cell.level == "pair"
    }
    assert pairs["XC"] is None and pairs["XD"] is None and pairs["XB"] == 9


def test_a_small_channel_is_not_recoverable_from_the_direction_or_its_form() -> None:
    """Two letters by post among nine networked requests: the post's count is withheld, and
    so is the network's (the direction's total minus it would give the post's away)."""
    tracks = [t()] * 9 + [t(b="XD", channel="post")] * 2
    published = suppress(tabulate(tracks, GROUNDS, TARGETS), 5)
    channels = {
        p.cell.channel: p.counts["requests"] for p in published if p.cell.level == "channel"
    }
    assert channels == {"network": None, "post": None}
    by_form = [p.counts["requests"] for p in published if p.cell.level == "form_channel"]
    assert by_form == [None, None]  # stored_data by network, and by post
    assert published[0].counts["requests"] == 11


def test_durations_need_the_threshold_of_measured_requests() -> None:
    published = suppress(tabulate([t(ack=60.0 * i) for i in range(1, 5)], GROUNDS, TARGETS), 5)
    assert published[0].durations["acknowledge"] == (None, None)
    published = suppress(tabulate([t(ack=60.0 * i) for i in range(1, 6)], GROUNDS, TARGETS), 5)
    assert published[0].durations["acknowledge"] == (180, 300)


def test_threshold_one_withholds_nothing() -> None:
    published = suppress(tabulate([t()], GROUNDS, TARGETS), 1)
    assert all(v is not None for p in published for v in p.counts.values())


def test_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        suppress([], 0)


@pytest.mark.parametrize("seed", range(6))
def test_no_sum_ever_has_exactly_one_withheld_term(seed: int) -> None:
    rng = random.Random(seed)
    outcomes = ("executed", "partially_executed", "refused", "withdrawn", "open")
    tracks = [
        Track(
            rng.choice(("outgoing", "incoming")),
            "XA",
            rng.choice(("XB", "XC", "XD")),
            rng.choice(("stored_data", "preservation", "extradition")),
            rng.choice(("routine", "urgent", "emergency")),
            (rng.choice((None, rng.random() * 7200)), None, None, None),
            rng.random() * 7200,
            (o := rng.choice(outcomes)),
            rng.choice(GROUNDS) if o == "refused" else None,
            rng.randrange(1 << len(FLAGS)),
            rng.choice(("network", "network", "email", "post", "diplomatic")),
        )
        for _ in range(rng.randrange(20, 120))
    ]
    cells = tabulate(tracks, GROUNDS, TARGETS)
    published = suppress(cells, 5)
    hidden = {(i, n) for i, p in enumerate(published) for n, v in p.counts.items() if v is None}
    values = {(i, n): v for i, c in enumerate(cells) for n, v in c.counts.items()}
    assert all(not 0 < values[r] < 5 or r in hidden for r in values)
    for total, parts in _sums(cells):
        if values[total] != sum(values[p] for p in parts):
            continue
        withheld = [r for r in (total, *parts) if r in hidden]
        assert len(withheld) != 1, (cells[total[0]].key, total[1])
