"""Figures computed by hand from tracks with known answers."""

from __future__ import annotations

from datetime import timedelta

from hanoinet.stats.definitions import FLAGS, definitions
from hanoinet.stats.measures import Cell, Track, median, p90, tabulate

H = 3600.0
TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(minutes=60)}
GROUNDS = ("essential_interests", "domestic_bar")


def track(
    direction: str = "outgoing",
    a: str = "XA",
    b: str = "XB",
    form: str = "stored_data",
    *,
    ack: float | None = None,
    urgency: str = "routine",
    age: float = 1000 * H,
    outcome: str = "open",
    ground: str | None = None,
    flags: tuple[str, ...] = (),
    channel: str = "network",
) -> Track:
    bits = sum(1 << FLAGS.index(f) for f in flags)
    return Track(
        direction,
        a,
        b,
        form,
        urgency,
        (ack, None, None, None),
        age,
        outcome,
        ground,
        bits,
        channel,
    )


def cell(
    cells: list[Cell],
    direction: str,
    a: str | None = None,
    b: str | None = None,
    form: str | None = None,
    channel: str | None = None,
) -> Cell:
    return next(c for c in cells if c.key == (direction, a, b, form, channel))


def test_median_and_90th_percentile_of_ten_acknowledgements() -> None:
    tracks = [track(ack=h * H) for h in range(1, 11)]
    cells = tabulate(tracks, GROUNDS, TARGETS)
    c = cell(cells, "outgoing", "XA", "XB", "stored_data")
    assert c.counts["requests"] == 10 and c.counts["times.acknowledge.n"] == 10
    assert median(c.times["acknowledge"]) == 5.5 * H
    assert p90(c.times["acknowledge"]) == 9 * H  # nearest rank: the 9th of 10
    assert "first_answer" not in c.times and c.counts["times.first_answer.n"] == 0


def test_margins_add_the_pairs_and_the_forms() -> None:
    tracks = (
        [track(b="XB", form="stored_data")] * 3
        + [track(b="XC", form="preservation")] * 2
        + [track(b="XC", form="stored_data")]
    )
    cells = tabulate(tracks, GROUNDS, TARGETS)
    assert cell(cells, "outgoing").counts["requests"] == 6
    assert cell(cells, "outgoing", "XA", "XC").counts["requests"] == 3
    assert cell(cells, "outgoing", form="stored_data").counts["requests"] == 4
    assert cell(cells, "outgoing", "XA", "XC", "preservation").counts["requests"] == 2
    assert [c.level for c in cells] == [
        "direction",
        "pair",
        "pair",
        "form",
        "form",
        "channel",
        "pair_form",
        "pair_form",
        "pair_form",
        "form_channel",
        "form_channel",
    ]


def test_outcomes_grounds_and_flags() -> None:
    tracks = [
        track(outcome="executed", flags=("returned_for_more_info",)),
        track(outcome="executed"),
        track(outcome="refused", ground="essential_interests"),
        track(outcome="refused", ground="domestic_bar", flags=("postponed",)),
        track(outcome="refused", ground="domestic_bar"),
        track(outcome="withdrawn"),
        track(form="preservation", outcome="lapsed", flags=("preserved",)),
        track(form="preservation", outcome="executed", flags=("preserved", "followed_up")),
        track(),
    ]
    c = cell(tabulate(tracks, GROUNDS, TARGETS), "outgoing")
    n = c.counts
    assert (
        n["outcomes.executed"],
        n["outcomes.refused"],
        n["outcomes.withdrawn"],
        n["outcomes.lapsed"],
        n["outcomes.open"],
    ) == (3, 3, 1, 1, 1)
    assert (n["refused_by_ground.domestic_bar"], n["refused_by_ground.essential_interests"]) == (
        2,
        1,
    )
    assert (
        n["flags.returned_for_more_info"],
        n["flags.postponed"],
        n["flags.preserved"],
        n["flags.followed_up"],
    ) == (1, 1, 2, 1)


def test_desk_acknowledgements_against_the_targets() -> None:
    m = 60.0
    tracks = [
        track("incoming", "XB", "XA", "emergency_disclosure", urgency="emergency", ack=10 * m),
        track("incoming", "XB", "XA", "emergency_disclosure", urgency="emergency", ack=15 * m),
        track("incoming", "XB", "XA", "emergency_disclosure", urgency="emergency", ack=20 * m),
        track("incoming", "XB", "XA", "emergency_disclosure", urgency="emergency", age=5 * m),
        track("incoming", "XB", "XA", "emergency_disclosure", urgency="emergency", age=30 * m),
        track("incoming", "XB", "XA", "preservation", urgency="urgent", ack=90 * m),
        track("incoming", "XB", "XA", "preservation", urgency="routine", ack=2 * m),
        track("outgoing", urgency="emergency", ack=1 * m),  # the peer's desk, not ours
    ]
    c = cell(tabulate(tracks, GROUNDS, TARGETS), "incoming")
    n = c.counts
    assert (
        n["desk.emergency.requests"],
        n["desk.emergency.within_target"],
        n["desk.emergency.late"],
        n["desk.emergency.pending"],
    ) == (5, 2, 2, 1)
    assert (n["desk.urgent.requests"], n["desk.urgent.late"]) == (1, 1)
    assert c.times["desk.emergency"] == [10 * m, 15 * m, 20 * m]
    assert (
        cell(tabulate(tracks, GROUNDS, TARGETS), "outgoing").counts["desk.emergency.requests"] == 0
    )


def test_a_request_without_both_states_counts_in_the_direction_and_form_only() -> None:
    cells = tabulate([track(a="XA", b=None), track()], GROUNDS, TARGETS)  # type: ignore[arg-type]
    assert cell(cells, "outgoing").counts["requests"] == 2
    assert cell(cells, "outgoing", form="stored_data").counts["requests"] == 2
    assert cell(cells, "outgoing", "XA", "XB").counts["requests"] == 1


def test_every_measure_names_lifecycle_actions_and_articles() -> None:
    d = definitions()
    assert d.start.outgoing == "send" and d.start.incoming == "receive"
    assert "acknowledge" not in d.milestones.first_answer.actions
    assert all(m.article for m in d.measures().values())


def test_the_channel_is_a_dimension_of_its_own() -> None:
    """Issue 24 item 6: the time to answer by the network and by post, side by side, per
    direction and per form; the pairs and the forms still count every channel."""
    tracks = (
        [track(b="XB", ack=1 * H)] * 3
        + [track(b="XD", ack=240 * H, channel="post")] * 2
        + [track(b="XD", form="preservation", ack=300 * H, channel="diplomatic")]
    )
    cells = tabulate(tracks, GROUNDS, TARGETS)
    network = cell(cells, "outgoing", channel="network")
    post = cell(cells, "outgoing", channel="post")
    assert (network.level, network.counts["requests"], median(network.times["acknowledge"])) == (
        "channel",
        3,
        1 * H,
    )
    assert (post.counts["requests"], median(post.times["acknowledge"])) == (2, 240 * H)
    by_form = cell(cells, "outgoing", form="stored_data", channel="post")
    assert (by_form.level, by_form.counts["requests"]) == ("form_channel", 2)
    assert (
        cell(cells, "outgoing", form="preservation", channel="diplomatic").counts["requests"] == 1
    )
    assert cell(cells, "outgoing", "XA", "XD").counts["requests"] == 3  # every channel
    assert cell(cells, "outgoing", form="stored_data").counts["requests"] == 5
    assert not any(c.channel and c.requesting_state for c in cells)  # never pair and channel
