"""Statistics from a recorded event history with known answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources

from sqlalchemy import delete, select

from hanoinet.bench.history import Story, synthetic, write
from hanoinet.services import cases as case_service
from hanoinet.services import stats
from hanoinet.store import Store
from hanoinet.store.schema import events, request_milestones

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = stats.Period(date(2025, 1, 1), date(2025, 12, 31))
TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(minutes=60)}


def known(n: int = 10) -> list[Story]:
    """n outgoing XA->XB requests acknowledged after 1..n hours, executed after 10n hours; two
    refused on a ground; one incoming emergency acknowledged late; one started in 2024."""
    stories = [
        Story(
            "outgoing",
            "XA",
            "XB",
            "stored_data",
            T0 + timedelta(days=i),
            [
                ("acknowledge", float(i + 1), {}),
                ("start_execution", 20.0, {}),
                ("execute", 10.0 * (i + 1) + 20, {}),
            ],
        )
        for i in range(n)
    ]
    stories += [
        Story(
            "outgoing",
            "XA",
            "XB",
            "stored_data",
            T0,
            [("acknowledge", 1.0, {}), ("refuse", 5.0, {"ground": "domestic_bar", "reason": "x"})],
        )
        for _ in range(2)
    ]
    stories.append(
        Story(
            "incoming",
            "XB",
            "XA",
            "emergency_disclosure",
            T0,
            [("acknowledge", 0.5, {})],
            urgency="emergency",
        )
    )
    stories.append(
        Story(
            "outgoing",
            "XA",
            "XB",
            "stored_data",
            datetime(2024, 6, 1, tzinfo=UTC),
            [("acknowledge", 1.0, {})],
        )
    )
    return stories


def report(store: Store, threshold: int = 1, as_of: datetime = AS_OF) -> stats.report_model.Report:
    return stats.report(
        store, YEAR, as_of, node="xa-ca", state="XA", threshold=threshold, ack_targets=TARGETS
    )


def test_known_answers(store: Store) -> None:
    write(store, known())
    made = report(store)
    out = next(g for g in made.groups if g.level == "direction" and g.direction == "outgoing")
    assert out.requests == 12  # the 2024 request is another period's
    assert out.times.acknowledge.n == 12
    # 1..10 h and two at 1 h: sorted 1,1,1,2,...,10; median (4+5)/2... of 12 values: (5th+6th)/2
    assert out.times.acknowledge.median_s == round((4 + 5) / 2 * 3600)
    assert out.times.acknowledge.p90_s == 9 * 3600  # ceil(10.8) = 11th of 12
    assert out.times.execution.n == 10 and out.times.decision.n == 12
    assert (out.outcomes.executed, out.outcomes.refused, out.outcomes.open) == (10, 2, 0)
    assert [(g.ground, g.requests) for g in out.refused_by_ground] == [("domestic_bar", 2)]
    inc = next(g for g in made.groups if g.level == "direction" and g.direction == "incoming")
    assert inc.desk is not None
    assert (inc.desk.emergency.requests, inc.desk.emergency.late, inc.desk.emergency.median_s) == (
        1,
        1,
        1800,
    )


def test_as_of_counts_only_what_was_recorded_by_then(store: Store) -> None:
    write(store, known())
    made = report(store, as_of=T0 + timedelta(hours=3))
    out = next(g for g in made.groups if g.level == "direction" and g.direction == "outgoing")
    assert out.requests == 3  # the first of the ten, and the two refused, had started
    assert out.times.acknowledge.n == 3 and out.outcomes.open == 3


def test_suppression_applies_at_the_node_threshold(store: Store) -> None:
    write(store, known())
    made = report(store, threshold=5)
    out = next(g for g in made.groups if g.level == "direction" and g.direction == "outgoing")
    assert out.requests == 12 and out.outcomes.refused is None and out.outcomes.executed is None
    inc = next(g for g in made.groups if g.level == "direction" and g.direction == "incoming")
    assert inc.requests is None and inc.times.acknowledge.median_s is None


def test_events_written_one_by_one_project_as_a_rebuild_does(store: Store) -> None:
    write(store, synthetic(3000, seed=4))
    with store.engine.connect() as conn:
        rebuilt = {r.request_id: tuple(r) for r in conn.execute(select(request_milestones))}
        every = conn.execute(select(events).order_by(events.c.id)).all()
    with store.transaction() as conn:
        conn.execute(delete(request_milestones))
        for r in every:
            stats.project(conn, [(r.request_id, case_service._event_of(r))])
    with store.engine.connect() as conn:
        projected = {r.request_id: tuple(r) for r in conn.execute(select(request_milestones))}
    assert projected == rebuilt and len(projected) > 300


def test_the_case_service_keeps_the_projection(store: Store) -> None:
    text = resources.files("hanoinet.demo_data").joinpath("mla-xa-xb.json").read_text("utf-8")
    created = case_service.new_case(store, text, direction="incoming", actor="node:xa-ca", at=T0)
    case_service.act(
        store, created.request_id, "acknowledge", actor="officer", at=T0 + timedelta(hours=2)
    )
    made = report(store)
    inc = next(g for g in made.groups if g.level == "direction" and g.direction == "incoming")
    assert inc.requests == 1 and inc.times.acknowledge.median_s == 7200
