"""The 24/7 desk's acknowledgement targets: an incoming emergency or urgent request still
waiting past the node's target is escalated to the supervisor, once, by the clock (a timeline
event and an audit entry), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hanoinet.services import cases as service
from hanoinet.settings import Settings
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(hours=1)}


def _incoming(store: Store, urgency: str, direction: str = "incoming") -> str:
    doc = json.loads((EXAMPLES / "preservation-xa-xb.json").read_text("utf-8"))
    doc["urgency"] = urgency
    if urgency == "emergency":
        doc["emergency"] = "A child is at imminent risk of harm (illustrative)."
    created = service.new_case(
        store,
        json.dumps(doc),
        direction=direction,
        actor="officer",
        at=T0,  # type: ignore[arg-type]
    )
    return created.request_id


def _actions(store: Store, request_id: str) -> list[str]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(events.c.action).where(events.c.request_id == request_id).order_by(events.c.seq)
        )
        return [r.action for r in rows]


def _escalations(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [e.target for e in audit_log.search(conn, action="escalate")]


def test_an_emergency_not_acknowledged_in_time_is_escalated_once(store: Store) -> None:
    rid = _incoming(store, "emergency")
    early = service.tick(store, at=T0 + timedelta(minutes=14), ack_targets=TARGETS)
    assert [d for _r, d in early.fired if d.kind == "escalation"] == []
    late = service.tick(store, at=T0 + timedelta(minutes=16), ack_targets=TARGETS)
    fired = [(r, d) for r, d in late.fired if d.kind == "escalation"]
    assert [(r, d.key) for r, d in fired] == [(rid, "ack-escalated-emergency")]
    assert "15 min" in fired[0][1].message and fired[0][1].article == "41"
    assert _actions(store, rid).count("escalate") == 1
    assert _escalations(store) == [rid]
    again = service.tick(store, at=T0 + timedelta(hours=2), ack_targets=TARGETS)
    assert [d for _r, d in again.fired if d.kind == "escalation"] == []
    assert _actions(store, rid).count("escalate") == 1
    with store.engine.connect() as conn:
        assert audit_log.verify(conn).ok


def test_acknowledged_routine_outgoing_or_no_targets_are_not_escalated(store: Store) -> None:
    acknowledged = _incoming(store, "urgent")
    service.act(store, acknowledged, "acknowledge", actor="duty", at=T0 + timedelta(minutes=5))
    routine = _incoming(store, "routine")
    outgoing = _incoming(store, "emergency", direction="outgoing")
    service.tick(store, at=T0 + timedelta(days=1), ack_targets=TARGETS)
    for rid in (acknowledged, routine, outgoing):
        assert "escalate" not in _actions(store, rid), rid
    waiting = _incoming(store, "urgent")
    service.tick(store, at=T0 + timedelta(days=2))  # the CLI of an older node: no targets
    assert "escalate" not in _actions(store, waiting)


def test_the_node_sets_its_own_targets(store: Store) -> None:
    rid = _incoming(store, "urgent")
    targets = Settings(ack_urgent_minutes=5, ack_emergency_minutes=2).ack_targets()
    assert targets == {"emergency": timedelta(minutes=2), "urgent": timedelta(minutes=5)}
    service.tick(store, at=T0 + timedelta(minutes=4), ack_targets=targets)
    assert "escalate" not in _actions(store, rid)
    service.tick(store, at=T0 + timedelta(minutes=6), ack_targets=targets)
    assert _actions(store, rid).count("escalate") == 1


def test_ack_due_is_from_receipt_and_only_for_incoming_urgent_work() -> None:
    assert service.ack_due("incoming", "emergency", T0, TARGETS) == T0 + timedelta(minutes=15)
    assert service.ack_due(
        "incoming", "urgent", T0.replace(tzinfo=None), TARGETS
    ) == T0 + timedelta(hours=1)
    assert service.ack_due("incoming", "routine", T0, TARGETS) is None
    assert service.ack_due("outgoing", "emergency", T0, TARGETS) is None
