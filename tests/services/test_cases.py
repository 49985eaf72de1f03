"""The cases service over a real store (SQLite and PostgreSQL): every command is one
transaction that writes state, event, audit entry and outbox message together or not at all."""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select, update
from sqlalchemy import event as sqlalchemy_event

from hanoinet.errors import (
    Forbidden,
    InvalidInput,
    NotARequest,
    StoreError,
    TransitionRefused,
    UnknownCase,
)
from hanoinet.services import cases as service
from hanoinet.services.access import Principal
from hanoinet.store import Store, open_store
from hanoinet.store import audit as audit_log
from hanoinet.store.audit import canonical
from hanoinet.store.schema import cases, counters, events, fired, outbox, requests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
TEXT = EXAMPLE.read_text("utf-8")
DOC: dict[str, Any] = json.loads(TEXT)
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
DAY = timedelta(days=1)
STORED_DATA: dict[str, Any] = {
    "format": "hanoinet.request/1",
    "kind": "stored_data",
    "requesting_state": "XA",
    "requested_state": "XB",
    "requesting_authority": {"name": "Aurelia Ministry of Justice (demo)", "contact": "+000 1"},
    "matter": {
        "nature": "investigation",
        "description": "Intrusion into a hospital mail server",
        "authority": "Aurelia Public Prosecutor (demo), directing the investigation",
    },
    "offences": [
        {"article": "7", "conduct": ["access"], "elements": ["infringing_security_measures"]}
    ],
    "facts_summary": "Unknown persons accessed the mail server of a hospital on 2026-11-20.",
    "assistance_sought": "Disclosure of the subscriber data of 203.0.113.7.",
    "data": [{"category": "subscriber", "identifiers": ["203.0.113.7"]}],
    "persons": [{"name": "Unknown", "role": "suspect"}],
    "purpose": "To identify the persons who accessed the server.",
    "language": "en",
    "channel": "central_authority",
}
TABLES = {
    "cases": cases,
    "requests": requests,
    "events": events,
    "audit": audit_log.audit,
    "outbox": outbox,
    "fired": fired,
}


# --- helpers -----------------------------------------------------------------------------


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        found = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in TABLES.items()
        }
        found["counters"] = conn.execute(
            select(func.coalesce(func.sum(counters.c.value), 0))
        ).scalar_one()
    return found


def row(store: Store, request_id: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(requests).where(requests.c.id == request_id)).one()


def timeline(store: Store, request_id: str) -> list[Any]:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                select(events).where(events.c.request_id == request_id).order_by(events.c.seq)
            )
        )


def audit_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(audit_log.entries(conn))


def outbox_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(outbox).order_by(outbox.c.id)))


def verified(store: Store) -> audit_log.Verification:
    with store.engine.connect() as conn:
        return audit_log.verify(conn)


def new(store: Store, document: dict[str, Any] | None = None, **kw: Any) -> service.Created:
    text = json.dumps(document) if document is not None else TEXT
    kw.setdefault("direction", "outgoing")
    return service.new_case(store, text, actor="alice", at=kw.pop("at", T0), **kw)


def act(store: Store, ident: str, action: str, at: datetime = T0, **kw: Any) -> service.Acted:
    params = kw.pop("params", None)
    actor = kw.pop("actor", "alice")
    return service.act(store, ident, action, actor=actor, at=at, params=params, **kw)


def sent(store: Store) -> str:
    """An outgoing preservation request, checked and sent."""
    request_id = new(store).request_id
    act(store, request_id, "check", T0 + timedelta(minutes=1))
    act(store, request_id, "send", T0 + timedelta(minutes=2))
    return request_id


PRESERVED_AT = T0 + DAY


def preserved(store: Store) -> str:
    """An outgoing preservation that XB has acknowledged and preserved on PRESERVED_AT."""
    request_id = sent(store)
    act(store, request_id, "acknowledge", T0 + timedelta(hours=2), from_peer=True)
    act(store, request_id, "record_preserved", PRESERVED_AT, from_peer=True)
    return request_id


# --- new_case ----------------------------------------------------------------------------


def test_new_case_outgoing_then_incoming(store: Store) -> None:
    first = new(store)
    assert (first.case_id, first.request_id, first.state) == ("C-000001", "R-000001", "draft")
    assert not [f for f in first.findings if f.severity == "error"]
    second = new(store, direction="incoming", title="From Aurelia")
    assert (second.case_id, second.request_id, second.state) == (
        "C-000002",
        "R-000002",
        "received",
    )
    with store.engine.connect() as conn:
        case_rows = {r.id: r for r in conn.execute(select(cases))}
    assert (
        case_rows["C-000001"].title == "Expedited preservation of stored electronic data: XA to XB"
    )
    assert case_rows["C-000001"].state == "XA"
    assert (case_rows["C-000002"].title, case_rows["C-000002"].state) == ("From Aurelia", "XB")

    r1, r2 = row(store, "R-000001"), row(store, "R-000002")
    assert (r1.direction, r1.state, r1.kind, r1.urgency) == (
        "outgoing",
        "draft",
        "preservation",
        "urgent",
    )
    assert (r2.direction, r2.state) == ("incoming", "received")
    assert (r1.requesting_state, r1.requested_state, r1.version, r1.error_findings) == (
        "XA",
        "XB",
        1,
        0,
    )
    assert json.loads(r1.document) == DOC
    assert r1.document == canonical(DOC).decode()
    assert r1.document_sha256 == hashlib.sha256(canonical(DOC)).hexdigest()
    assert r1.uid != r2.uid

    (created,) = timeline(store, "R-000001")
    assert (created.action, created.by_role, created.article) == ("create", "requesting", "42")
    assert (created.from_state, created.to_state, created.seq) == ("new", "draft", 1)
    (received,) = timeline(store, "R-000002")
    assert (received.action, received.by_role, received.to_state) == (
        "receive",
        "requested",
        "received",
    )

    entries = audit_rows(store)
    assert [(e.action, e.target, e.legal_basis, e.actor) for e in entries] == [
        ("create", "R-000001", "42", "alice"),
        ("receive", "R-000002", "42", "alice"),
    ]
    assert json.loads(entries[0].detail) == {"case": "C-000001", "kind": "preservation"}
    assert outbox_rows(store) == []


@pytest.mark.parametrize("text", ["not json", "[]", '{"kind": "wiretap"}', ""])
def test_not_a_request_writes_nothing(store: Store, text: str) -> None:
    new(store)
    before = counts(store)
    with pytest.raises(NotARequest):
        service.new_case(store, text, direction="outgoing", actor="alice", at=T0)
    assert counts(store) == before
    assert new(store).case_id == "C-000002"


def test_errors_are_counted_on_the_request(store: Store) -> None:
    incomplete = {k: v for k, v in DOC.items() if k != "necessity"}
    created = new(store, incomplete)
    errors = [f for f in created.findings if f.severity == "error"]
    assert errors
    assert row(store, created.request_id).error_findings == len(errors)


# --- act ---------------------------------------------------------------------------------


def test_check_then_send(store: Store) -> None:
    request_id = new(store).request_id
    before = counts(store)
    acted = act(store, request_id, "check", T0 + timedelta(minutes=1))
    assert (acted.request_id, acted.case_id, acted.created_request) == (
        "R-000001",
        "C-000001",
        None,
    )
    assert (acted.event.action, acted.event.article, acted.event.to_state) == (
        "check",
        "40(15)",
        "checked",
    )
    r = row(store, request_id)
    assert (r.state, r.version) == ("checked", 2)
    after_check = counts(store)
    assert after_check["events"] == before["events"] + 1
    assert after_check["audit"] == before["audit"] + 1
    entry = audit_rows(store)[-1]
    assert (entry.action, entry.target, entry.legal_basis) == ("check", request_id, "40(15)")
    assert json.loads(entry.detail) == {
        "case": "C-000001",
        "from": "draft",
        "to": "checked",
        "by": "requesting",
    }

    act(store, request_id, "send", T0 + timedelta(minutes=2))
    r = row(store, request_id)
    assert (r.state, r.version) == ("sent", 3)
    assert utc(r.updated_at) == T0 + timedelta(minutes=2)
    after_send = counts(store)
    assert after_send["events"] == after_check["events"] + 1
    assert after_send["audit"] == after_check["audit"] + 1
    assert after_send["outbox"] == after_check["outbox"] + 1
    last = timeline(store, request_id)[-1]
    assert (last.seq, last.action, last.article, last.from_state, last.to_state) == (
        3,
        "send",
        "40(13)",
        "checked",
        "sent",
    )
    (message,) = [m for m in outbox_rows(store) if m.type == "request"]
    payload = json.loads(message.payload)
    assert (message.request_id, message.status) == (request_id, "pending")
    assert payload["request"] == r.uid
    assert payload["action"] == "send"
    assert payload["document"] == DOC
    assert verified(store).ok


@pytest.mark.parametrize("action", ["check", "edit", "withdraw"])
def test_draft_work_sends_nothing_to_the_other_state(store: Store, action: str) -> None:
    request_id = new(store).request_id
    if action == "edit":
        service.edit(store, request_id, TEXT, actor="alice", at=T0)
    else:
        act(store, request_id, action)
    assert outbox_rows(store) == []


def test_refused_act_writes_nothing(store: Store) -> None:
    request_id = new(store).request_id
    before, version = counts(store), row(store, request_id)
    with pytest.raises(TransitionRefused) as info:
        act(store, request_id, "send")
    assert info.value.article == "40(13)"
    assert counts(store) == before
    assert row(store, request_id) == version


def test_refused_guard_writes_nothing(store: Store) -> None:
    request_id = new(store, direction="incoming").request_id
    before, version = counts(store), row(store, request_id)
    with pytest.raises(TransitionRefused, match=r"40\(27\)"):
        act(
            store,
            request_id,
            "refuse",
            params={"ground": "preservation_essential_interests", "reason": "r"},
        )
    with pytest.raises(TransitionRefused, match="not an action"):
        act(store, request_id, "frobnicate")
    assert counts(store) == before
    assert row(store, request_id) == version


def test_check_refused_on_a_document_with_errors(store: Store) -> None:
    incomplete = {k: v for k, v in DOC.items() if k != "necessity"}
    request_id = new(store, incomplete).request_id
    before = counts(store)
    with pytest.raises(TransitionRefused, match="`hanoinet check`") as info:
        act(store, request_id, "check")
    assert info.value.article == "40(15)"
    assert counts(store) == before
    assert row(store, request_id).state == "draft"


def test_check_recomputes_findings_whatever_is_stored(store: Store) -> None:
    # a stale error count in the row does not decide: the document is checked again
    request_id = new(store).request_id
    with store.transaction() as conn:
        conn.execute(update(requests).values(error_findings=3))
    act(store, request_id, "check")
    assert row(store, request_id).error_findings == 0


def test_unknown_id(store: Store) -> None:
    new(store)
    before = counts(store)
    for call in (
        lambda: act(store, "C-000042", "check"),
        lambda: service.show(store, "R-000042", actor="alice", at=T0),
    ):
        with pytest.raises(UnknownCase, match="`hanoinet case list`"):
            call()
    assert counts(store) == before


def test_act_by_case_id_takes_its_first_request(store: Store) -> None:
    new(store)
    assert act(store, "C-000001", "check").request_id == "R-000001"


def test_concurrent_change_is_refused_and_rolled_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = new(store).request_id
    real_view = service._view

    def view_then_someone_else_writes(conn: Connection, r: Any) -> Any:
        found = real_view(conn, r)
        conn.execute(update(requests).values(version=requests.c.version + 1))
        return found

    monkeypatch.setattr(service, "_view", view_then_someone_else_writes)
    before = counts(store)
    with pytest.raises(StoreError, match="changed by someone else"):
        act(store, request_id, "check")
    assert counts(store) == before
    assert row(store, request_id).version == 1


# --- one transaction ---------------------------------------------------------------------


def test_a_failing_audit_append_rolls_back_the_state_update(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = new(store).request_id
    act(store, request_id, "check")
    before, version = counts(store), row(store, request_id)
    seen: list[str] = []

    def boom(conn: Connection, **kw: Any) -> int:
        state = conn.execute(select(requests.c.state).where(requests.c.id == request_id))
        seen.append(state.scalar_one())  # the update already ran in this transaction
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit_log, "append", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        act(store, request_id, "send")
    assert seen == ["sent"]
    monkeypatch.undo()
    assert row(store, request_id) == version
    assert counts(store) == before
    assert [e.action for e in timeline(store, request_id)] == ["create", "check"]
    assert not [m for m in outbox_rows(store) if m.type == "request"]
    assert verified(store).ok
    act(store, request_id, "send")  # and nothing is stuck
    assert row(store, request_id).state == "sent"


def test_a_failure_while_seeding_rolls_back_the_whole_command(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = sent(store)
    act(store, request_id, "acknowledge", from_peer=True)
    before, version = counts(store), row(store, request_id)
    real_append = audit_log.append
    calls: list[str] = []

    def second_fails(conn: Connection, **kw: Any) -> int:
        calls.append(kw["action"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_append(conn, **kw)

    monkeypatch.setattr(audit_log, "append", second_fails)
    with pytest.raises(RuntimeError):
        act(
            store,
            request_id,
            "disclose_partial_traffic",
            from_peer=True,
            params={"third_state": "XC"},
        )
    monkeypatch.undo()
    assert calls == ["disclose_partial_traffic", "create"]
    assert counts(store) == before
    assert row(store, request_id) == version
    with store.engine.connect() as conn:
        assert (
            conn.execute(select(requests.c.id).where(requests.c.id == "R-000002")).first() is None
        )
    retried = act(
        store, request_id, "disclose_partial_traffic", from_peer=True, params={"third_state": "XC"}
    )
    assert retried.created_request == "R-000002"
    assert verified(store).ok


# --- reads -------------------------------------------------------------------------------


def test_show_is_audited_with_the_forms_article(store: Store) -> None:
    request_id = sent(store)
    before = counts(store)
    case = service.show(store, request_id, actor="carol", at=T0 + DAY)
    assert counts(store) == {**before, "audit": before["audit"] + 1}
    entry = audit_rows(store)[-1]
    assert (entry.action, entry.target, entry.legal_basis, entry.actor) == (
        "read",
        "C-000001",
        "42",
        "carol",
    )
    assert json.loads(entry.detail) == {"requests": ["R-000001"]}
    assert case.id == "C-000001" and case.created_by == "alice"
    (detail,) = case.requests
    assert detail.summary.state == "sent"
    assert detail.document == DOC
    assert [e.action for e in detail.events] == ["create", "check", "send"]
    assert detail.allowed_actions == ["status_enquiry", "withdraw", "request_consent"]
    assert detail.preserved_until is None


def test_show_of_stored_data_cites_article_44(store: Store) -> None:
    created = new(store, copy.deepcopy(STORED_DATA))
    assert not [f for f in created.findings if f.severity == "error"]
    service.show(store, created.case_id, actor="carol", at=T0)
    entry = audit_rows(store)[-1]
    assert (entry.action, entry.legal_basis) == ("read", "44")


def test_list_is_audited(store: Store) -> None:
    new(store, copy.deepcopy(STORED_DATA))
    new(store, direction="incoming")
    before = counts(store)
    found = service.list_requests(store, actor="dave", at=T0 + DAY)
    assert counts(store) == {**before, "audit": before["audit"] + 1}
    entry = audit_rows(store)[-1]
    assert (entry.action, entry.target, entry.legal_basis, entry.actor) == (
        "list",
        "requests",
        "40(25)",
        "dave",
    )
    assert json.loads(entry.detail) == {"count": 2}
    # urgent before routine
    assert [(r.id, r.urgency) for r in found] == [("R-000002", "urgent"), ("R-000001", "routine")]
    act(store, "R-000002", "withdraw", from_peer=True)
    assert [r.id for r in service.list_requests(store, actor="dave", at=T0, open_only=True)] == [
        "R-000001"
    ]
    assert verified(store).ok


# --- tick --------------------------------------------------------------------------------


def fired_keys(result: service.Tick) -> list[tuple[str, str]]:
    return [(rid, d.key) for rid, d in result.fired]


def test_tick_reminds_once_each_then_lapses_once(store: Store) -> None:
    request_id = preserved(store)
    expiry = PRESERVED_AT + 60 * DAY
    assert service.tick(store, at=expiry - 15 * DAY).fired == []
    steps = [
        (expiry - 14 * DAY, "preservation-reminder-2027-01-24-14d"),
        (expiry - 7 * DAY, "preservation-reminder-2027-01-24-7d"),
        (expiry - DAY, "preservation-reminder-2027-01-24-1d"),
    ]
    for at, key in steps:
        before = counts(store)
        assert fired_keys(service.tick(store, at=at)) == [(request_id, key)]
        assert service.tick(store, at=at + timedelta(hours=1)).fired == []
        after = counts(store)
        assert after["audit"] == before["audit"] + 1
        assert after["events"] == before["events"] + 1
        assert after["fired"] == before["fired"] + 1
        last = timeline(store, request_id)[-1]
        assert (last.action, last.by_role, last.article) == ("reminder", "system", "42")
        assert json.loads(last.params)["key"] == key
        assert row(store, request_id).state == "preserved"
    assert service.tick(store, at=expiry - timedelta(seconds=1)).fired == []
    result = service.tick(store, at=expiry)
    assert [(rid, d.kind, d.key) for rid, d in result.fired] == [
        (request_id, "lapse", "preservation-expiry-2027-01-24")
    ]
    assert row(store, request_id).state == "lapsed"
    last = timeline(store, request_id)[-1]
    assert (last.action, last.by_role, last.article, last.to_state) == (
        "lapse",
        "system",
        "42",
        "lapsed",
    )
    entry = audit_rows(store)[-1]
    assert (entry.action, entry.actor, entry.legal_basis) == ("lapse", "clock", "42")
    before = counts(store)
    assert service.tick(store, at=expiry + DAY).fired == []
    assert service.tick(store, at=expiry + 400 * DAY).fired == []
    assert counts(store) == before
    assert verified(store).ok


def test_one_late_tick_fires_every_reminder_then_the_lapse(store: Store) -> None:
    request_id = preserved(store)
    result = service.tick(store, at=PRESERVED_AT + 61 * DAY)
    assert [d.kind for _, d in result.fired] == ["reminder", "reminder", "reminder", "lapse"]
    assert row(store, request_id).state == "lapsed"
    assert service.tick(store, at=PRESERVED_AT + 62 * DAY).fired == []


def test_extension_moves_the_lapse(store: Store) -> None:
    request_id = preserved(store)
    act(
        store,
        request_id,
        "extend_preservation",
        PRESERVED_AT + 50 * DAY,
        from_peer=True,
        params={"reason": "MLA request on its way."},
    )
    assert service.tick(store, at=PRESERVED_AT + 61 * DAY).fired == []
    assert row(store, request_id).state == "preserved"
    keys = fired_keys(service.tick(store, at=PRESERVED_AT + 110 * DAY))
    assert keys[-1] == (request_id, "preservation-expiry-2027-03-15")
    assert row(store, request_id).state == "lapsed"


def mla_sent(store: Store, at: datetime = T0, *, delivered: bool = True) -> service.Created:
    """An outgoing stored-data request (44) to XB, checked and sent (and, ``delivered``, its
    signed receipt in): the follow-up of a preservation."""
    created = new(store, copy.deepcopy(STORED_DATA), at=at)
    act(store, created.request_id, "check", at)
    act(store, created.request_id, "send", at)
    if delivered:
        with store.transaction() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.request_id == created.request_id, outbox.c.type == "request")
                .values(status="delivered")
            )
    return created


def test_linked_preservation_is_held_without_lapse(store: Store) -> None:
    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY).request_id
    act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla})
    assert service.tick(store, at=PRESERVED_AT + 365 * DAY).fired == []
    assert row(store, request_id).state == "held"


def test_42_link_names_the_follow_up_by_its_global_id(store: Store) -> None:
    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY).request_id
    acted = act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla})
    uid = row(store, mla).uid
    assert acted.event.params == {"related": mla, "related_uid": uid}
    # The message the other node gets names the request by its global id.
    with store.engine.connect() as conn:
        payload = json.loads(
            conn.execute(select(outbox.c.payload).order_by(outbox.c.id.desc()).limit(1)).scalar()
        )
    assert payload["action"] == "link_mla"
    assert payload["params"] == {"related": mla, "related_uid": uid}
    detail = service.show(store, request_id, actor="alice", at=PRESERVED_AT + 11 * DAY)
    held = detail.requests[0].held_for
    assert held is not None and (held.id, held.state) == (mla, "sent")


@pytest.mark.parametrize(
    ("related", "why"),
    [
        ("R-000099", "is not a mutual legal assistance request sent to XB"),
        ("R-000001", "is not a mutual legal assistance request sent to XB"),  # itself
    ],
)
def test_42_link_to_an_unknown_request_is_refused(store: Store, related: str, why: str) -> None:
    request_id = preserved(store)
    with pytest.raises(TransitionRefused, match=why) as info:
        act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": related})
    assert info.value.guard == "related_request" and info.value.article == "42"
    assert row(store, request_id).state == "preserved"


def test_42_link_to_an_unsent_request_is_refused(store: Store) -> None:
    request_id = preserved(store)
    draft = new(store, copy.deepcopy(STORED_DATA)).request_id
    with pytest.raises(TransitionRefused, match="has not been sent"):
        act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": draft})


def test_42_link_waits_for_the_follow_up_to_reach_the_other_state(store: Store) -> None:
    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY, delivered=False).request_id
    with pytest.raises(TransitionRefused, match=f"request {mla} has not reached XB yet"):
        act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla})
    assert row(store, request_id).state == "preserved"


def test_42_a_node_must_name_the_follow_up_by_global_id(store: Store) -> None:
    """On the requested node: the other node's link is resolved by the global id it sends; its
    own reference alone could name another request here."""
    incoming = new(store, direction="incoming").request_id
    act(store, incoming, "record_preserved", PRESERVED_AT)
    mla = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    uid = row(store, mla).uid
    with pytest.raises(TransitionRefused, match="global id"):
        act(
            store, incoming, "link_mla", PRESERVED_AT + DAY, params={"related": mla},
            actor="node:xa-central", from_peer=True,
        )  # fmt: skip
    acted = act(
        store, incoming, "link_mla", PRESERVED_AT + DAY,
        params={"related": "R-000042", "related_uid": uid}, actor="node:xa-central",
        from_peer=True,
    )  # fmt: skip
    assert acted.event.params == {"related": mla, "related_uid": uid, "related_ref": "R-000042"}


def _set(store: Store, request_id: str, **values: Any) -> None:
    with store.transaction() as conn:
        conn.execute(update(requests).where(requests.c.id == request_id).values(**values))


def test_42_a_typed_reference_that_names_two_requests_is_refused(store: Store) -> None:
    """On the requested node a person may type the other State's reference from its letter;
    where it is also this node's id of another request, the link is refused, not guessed."""
    incoming = new(store, direction="incoming").request_id
    act(store, incoming, "record_preserved", PRESERVED_AT)
    first = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    second = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    _set(store, second, peer_ref=first)  # their reference of `second` is our id of `first`
    with pytest.raises(TransitionRefused, match=r"could name request .* here") as info:
        act(store, incoming, "link_mla", PRESERVED_AT, params={"related": first}, from_peer=True)
    assert first in info.value.message and second in info.value.message
    acted = act(
        store, incoming, "link_mla", PRESERVED_AT, from_peer=True,
        params={"related": row(store, second).uid},
    )  # fmt: skip
    assert acted.event.params["related"] == second


def test_42_an_old_link_on_the_requested_node_names_their_reference(store: Store) -> None:
    """A link recorded before links carried the global id named the other node's reference:
    it is read as such, never as this node's id of another request."""
    incoming = new(store, direction="incoming").request_id
    act(store, incoming, "record_preserved", PRESERVED_AT)
    decoy = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    theirs = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    _set(store, theirs, peer_ref="R-000777")
    act(store, decoy, "acknowledge", PRESERVED_AT)
    act(store, decoy, "start_execution", PRESERVED_AT)
    act(store, decoy, "execute", PRESERVED_AT)  # decided: a wrong match would allow release
    with store.transaction() as conn:  # the old event, as an older node recorded it
        case_service_row = conn.execute(select(requests).where(requests.c.id == incoming)).one()
        conn.execute(update(requests).where(requests.c.id == incoming).values(state="held"))
    from hanoinet.services import references

    with store.engine.connect() as conn:
        for old in ({"related": "R-000777"}, {"related": decoy}):
            held = references.linked(conn, case_service_row, old)
            assert held is not None
            assert held.id == (theirs if old["related"] == "R-000777" else None)


def test_42_the_follow_up_must_go_to_the_node_that_holds_the_data(store: Store) -> None:
    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY).request_id
    _set(store, request_id, peer_node="xb-247")
    _set(store, mla, peer_node="xb-ca")
    with pytest.raises(TransitionRefused, match="is not a mutual legal assistance request"):
        act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla})


def test_42_a_link_names_only_a_request_its_user_may_see(store: Store) -> None:
    from hanoinet.services.access import Principal

    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY).request_id  # opened by alice
    rita = Principal("rita", "requester")
    case_id = row(store, request_id).case_id
    with store.transaction() as conn:  # rita opened the preservation's case, not the MLA's
        conn.execute(update(cases).where(cases.c.id == case_id).values(created_by="rita"))
    with pytest.raises(TransitionRefused, match="is not a mutual legal assistance request"):
        act(
            store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla},
            principal=rita,
        )  # fmt: skip
    from hanoinet.services import references

    assert references.candidates(store, request_id, principal=rita) == []
    assert [c.id for c in references.candidates(store, request_id)] == [mla]


def test_a_peer_s_parameters_must_be_text(store: Store) -> None:
    incoming = new(store, direction="incoming").request_id
    act(store, incoming, "record_preserved", PRESERVED_AT)
    with pytest.raises(TransitionRefused, match="'related_uid' must be text"):
        act(
            store, incoming, "link_mla", PRESERVED_AT, params={"related_uid": 5},
            actor="node:xa-central", from_peer=True,
        )  # fmt: skip


def test_42_held_until_the_follow_up_is_decided(store: Store) -> None:
    """The requested State keeps the data until the follow-up request is executed, refused
    or withdrawn; the requesting State may withdraw the held preservation."""
    incoming = new(store, direction="incoming").request_id
    act(store, incoming, "record_preserved", PRESERVED_AT)
    mla = new(store, copy.deepcopy(STORED_DATA), direction="incoming").request_id
    act(store, incoming, "link_mla", PRESERVED_AT + DAY, params={"related": mla}, from_peer=True)
    assert (
        "release"
        not in service.show(store, incoming, actor="bob", at=PRESERVED_AT + 2 * DAY)
        .requests[0]
        .allowed_actions
    )
    with pytest.raises(TransitionRefused, match=f"held for request {mla} until it is decided") as e:
        act(store, incoming, "release", PRESERVED_AT + 2 * DAY, params={"reason": "Done."})
    assert e.value.article == "42" and e.value.guard == "follow_up_decided"
    act(store, mla, "acknowledge", PRESERVED_AT + 2 * DAY)
    act(store, mla, "start_execution", PRESERVED_AT + 2 * DAY)
    act(store, mla, "execute", PRESERVED_AT + 3 * DAY)
    act(store, incoming, "release", PRESERVED_AT + 4 * DAY, params={"reason": "Disclosed."})
    assert row(store, incoming).state == "executed"


def test_42_the_requesting_state_withdraws_a_held_preservation(store: Store) -> None:
    request_id = preserved(store)
    mla = mla_sent(store, PRESERVED_AT + 9 * DAY).request_id
    act(store, request_id, "link_mla", PRESERVED_AT + 10 * DAY, params={"related": mla})
    act(store, request_id, "withdraw", PRESERVED_AT + 11 * DAY)
    assert row(store, request_id).state == "withdrawn"


def test_oral_request_is_recalled_until_confirmed(store: Store) -> None:
    request_id = new(store, {**DOC, "oral": True}).request_id
    assert service.tick(store, at=T0 + timedelta(hours=23)).fired == []
    result = service.tick(store, at=T0 + timedelta(hours=25))
    assert [(rid, d.key, d.article) for rid, d in result.fired] == [
        (request_id, "written-confirmation-2026-11-24-1", "40(14)")
    ]
    assert service.tick(store, at=T0 + timedelta(hours=26)).fired == []
    confirmed = new(store, {**DOC, "oral": True}, at=T0 + 10 * DAY).request_id
    act(store, confirmed, "check", T0 + 10 * DAY)
    act(store, confirmed, "send", T0 + 10 * DAY)
    act(store, confirmed, "confirm_in_writing", T0 + 10 * DAY + timedelta(hours=1))
    # Twelve days on: the unconfirmed one is recalled once (missed days are not
    # repeated); the confirmed one never again.
    later = service.tick(store, at=T0 + 12 * DAY).fired
    assert [(rid, d.key) for rid, d in later] == [
        (request_id, "written-confirmation-2026-11-24-12")
    ]


def test_oral_request_is_recalled_every_24_hours(store: Store) -> None:
    new(store, {**DOC, "oral": True})
    assert len(service.tick(store, at=T0 + timedelta(hours=25)).fired) == 1
    assert len(service.tick(store, at=T0 + timedelta(hours=49)).fired) == 1


def test_deadline_is_recalled_once(store: Store) -> None:
    document = {**DOC, "deadline": {"date": "2026-12-01", "reason": "Trial opens 2026-12-03."}}
    request_id = new(store, document, direction="incoming").request_id
    assert service.tick(store, at=datetime(2026, 11, 30, tzinfo=UTC)).fired == []
    result = service.tick(store, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert [(rid, d.key) for rid, d in result.fired] == [(request_id, "deadline-2026-12-01")]
    assert service.tick(store, at=datetime(2026, 12, 5, tzinfo=UTC)).fired == []


def test_tick_ignores_closed_requests(store: Store) -> None:
    document = {**DOC, "oral": True, "deadline": {"date": "2026-12-01", "reason": "Trial."}}
    request_id = new(store, document, direction="incoming").request_id
    act(store, request_id, "withdraw", from_peer=True)
    before = counts(store)
    assert service.tick(store, at=T0 + 100 * DAY).fired == []
    assert counts(store) == before


# --- third State (43) --------------------------------------------------------------------


def test_provider_in_a_third_state_drafts_a_new_preservation(store: Store) -> None:
    request_id = sent(store)
    act(store, request_id, "acknowledge", from_peer=True)
    before = counts(store)
    acted = act(
        store,
        request_id,
        "disclose_partial_traffic",
        T0 + DAY,
        from_peer=True,
        params={"third_state": "XC"},
    )
    assert acted.created_request == "R-000002"
    assert acted.event.by == "requested" and acted.event.article == "43"
    assert row(store, request_id).state == "acknowledged"
    seeded = row(store, "R-000002")
    assert (seeded.case_id, seeded.direction, seeded.kind, seeded.state) == (
        "C-000001",
        "outgoing",
        "preservation",
        "draft",
    )
    assert (seeded.requesting_state, seeded.requested_state, seeded.version) == ("XA", "XC", 1)
    document = json.loads(seeded.document)
    assert document["related_request"] == "R-000001"
    assert document["requested_state"] == "XC"
    # Caldera designated no 24/7 point of contact, so the draft goes to its central authority.
    assert document["channel"] == "central_authority"
    assert {
        k: v
        for k, v in document.items()
        if k not in ("related_request", "requested_state", "channel")
    } == {k: v for k, v in DOC.items() if k not in ("requested_state", "channel")}
    (created,) = timeline(store, "R-000002")
    assert (created.action, created.article, created.to_state) == ("create", "43", "draft")
    assert json.loads(created.params) == {"seeded_from": "R-000001"}
    after = counts(store)
    assert after["requests"] == before["requests"] + 1
    assert after["audit"] == before["audit"] + 2
    assert after["outbox"] == before["outbox"]  # the other State's action: nothing to send
    assert [(e.action, e.target, e.legal_basis) for e in audit_rows(store)[-2:]] == [
        ("disclose_partial_traffic", "R-000001", "43"),
        ("create", "R-000002", "43"),
    ]
    case = service.show(store, "R-000002", actor="alice", at=T0 + DAY)
    assert [d.summary.id for d in case.requests] == ["R-000001", "R-000002"]
    assert new(store).request_id == "R-000003"


def test_incoming_disclosure_drafts_nothing_and_notifies(store: Store) -> None:
    request_id = new(store, direction="incoming").request_id
    act(store, request_id, "acknowledge")
    before = counts(store)
    acted = act(store, request_id, "disclose_partial_traffic", params={"third_state": "XC"})
    assert acted.created_request is None
    after = counts(store)
    assert after["requests"] == before["requests"]
    assert after["outbox"] == before["outbox"] + 1
    notice = outbox_rows(store)[-1]
    assert notice.type == "notice"
    assert json.loads(notice.payload)["params"] == {"third_state": "XC"}


# --- property: the audit log never loses an entry ----------------------------------------


@contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder:
        opened = open_store(f"sqlite:///{Path(folder) / 'hanoinet.db'}")
        try:
            yield opened
        finally:
            opened.dispose()


ACTIONS = [
    "check",
    "send",
    "acknowledge",
    "record_preserved",
    "extend_preservation",
    "link_mla",
    "consult",
    "refuse",
    "status_enquiry",
    "confirm_in_writing",
    "disclose_partial_traffic",
    "withdraw",
    "close",
    "frobnicate",
]
COMMAND = st.one_of(
    st.tuples(
        st.just("act"),
        st.sampled_from(ACTIONS),
        st.booleans(),
        st.sampled_from(["", "Reasons."]),
        st.sampled_from(["", "preservation_essential_interests", "fiscal_matters"]),
    ),
    st.tuples(st.just("show")),
    st.tuples(st.just("list")),
    st.tuples(st.just("tick"), st.integers(0, 70)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    direction=st.sampled_from(["outgoing", "incoming"]),
    oral=st.booleans(),
    commands=st.lists(COMMAND, max_size=15),
)
def test_audit_never_loses_an_entry(
    direction: str, oral: bool, commands: list[tuple[Any, ...]]
) -> None:
    with sqlite_store() as store:
        created = new(store, {**DOC, "oral": oral}, direction=direction)
        expected = 1
        at = T0
        for command in commands:
            at += timedelta(hours=1)
            if command[0] == "act":
                _, action, from_peer, reason, ground = command
                params = {
                    "reason": reason,
                    "ground": ground,
                    "related": "R-000009",
                    "third_state": "XC",
                }
                try:
                    acted = service.act(
                        store,
                        created.request_id,
                        action,
                        actor="p",
                        at=at,
                        params=params,
                        from_peer=from_peer,
                    )
                except TransitionRefused:
                    continue
                expected += 1 + (acted.created_request is not None)
            elif command[0] == "show":
                service.show(store, created.case_id, actor="p", at=at)
                expected += 1
            elif command[0] == "list":
                service.list_requests(store, actor="p", at=at)
                expected += 1
            else:
                at += timedelta(days=command[1])
                expected += len(service.tick(store, at=at).fired)
        result = verified(store)
        assert result.ok, result.breaks
        assert result.entries == expected
        assert [e.seq for e in audit_rows(store)] == list(range(1, expected + 1))


# --- time zones --------------------------------------------------------------------------


def test_times_are_utc_whatever_the_database_zone(
    store: Store, request: pytest.FixtureRequest
) -> None:
    if store.dialect == "postgresql":

        def hanoi(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'Asia/Ho_Chi_Minh'")
            dbapi_connection.commit()

        store.engine.dispose()
        sqlalchemy_event.listen(store.engine, "connect", hanoi)
    at = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # already 25 November in Hanoi
    request_id = new(store, at=at).request_id
    act(store, request_id, "check", at)
    act(store, request_id, "send", at)
    act(store, request_id, "acknowledge", at, from_peer=True)
    act(store, request_id, "record_preserved", at, from_peer=True)
    (detail,) = service.show(store, request_id, actor="alice", at=at).requests
    assert detail.preserved_until == at + 60 * DAY  # the instant is right ...
    assert "2027-01-23 20:00 UTC" in detail.dues[-1].message  # ... its label is not
    assert detail.dues[-1].key == "preservation-expiry-2027-01-23"


def test_create_many_numbers_a_batch_consecutively_after_what_exists(store: Store) -> None:
    text = EXAMPLE.read_text("utf-8")
    first = service.new_case(store, text, direction="outgoing", actor="alice", at=T0)
    document = json.loads(text)
    items = [
        service.prepare(document, [], direction="incoming", actor="node:xb", at=T0, uid=f"u{n}")
        for n in range(3)
    ]
    with store.transaction() as conn:
        created = service.create_many(conn, items, at=T0)
        assert service.create_many(conn, [], at=T0) == []
    assert (first.case_id, first.request_id) == ("C-000001", "R-000001")
    assert [(c.case_id, c.request_id, c.state) for c in created] == [
        (f"C-00000{n}", f"R-00000{n}", "received") for n in (2, 3, 4)
    ]
    after = service.new_case(store, text, direction="outgoing", actor="alice", at=T0)
    assert after.request_id == "R-000005"


# --- revise: a draft's document changed in one transaction --------------------------------------


def test_revise_changes_the_stored_document_in_one_transaction(store: Store) -> None:
    request_id = new(store).request_id
    seen: list[dict[str, Any]] = []

    def change(old: dict[str, Any]) -> dict[str, Any]:
        seen.append(copy.deepcopy(old))
        return {**old, "necessity": "The logs are kept 3 days only.", "urgency": "routine"}

    before = counts(store)
    acted = service.revise(store, request_id, change, actor="alice", at=T0 + DAY)
    assert seen == [DOC]  # the stored document, as it was
    assert (acted.request_id, acted.event.action) == (request_id, "edit")
    r = row(store, request_id)
    expected = {**DOC, "necessity": "The logs are kept 3 days only.", "urgency": "routine"}
    assert json.loads(r.document) == expected
    assert r.document_sha256 == hashlib.sha256(canonical(expected)).hexdigest()
    assert (r.state, r.urgency, r.version) == ("draft", "routine", 2)
    after = counts(store)
    assert (after["events"], after["audit"], after["outbox"]) == (
        before["events"] + 1,
        before["audit"] + 1,
        before["outbox"],
    )
    assert audit_rows(store)[-1].action == "edit"
    assert verified(store).ok


def test_revise_keeps_the_kind(store: Store) -> None:
    request_id = new(store).request_id
    before, stored = counts(store), row(store, request_id)
    with pytest.raises(InvalidInput, match="stored_data"):
        service.revise(
            store, request_id, lambda old: {**old, "kind": "stored_data"}, actor="alice", at=T0
        )
    with pytest.raises(NotARequest):
        service.revise(store, request_id, lambda old: {**old, "kind": "wiretap"}, actor="a", at=T0)
    assert counts(store) == before
    assert row(store, request_id) == stored


def test_revise_writes_nothing_when_the_change_fails(store: Store) -> None:
    request_id = new(store).request_id
    before, stored = counts(store), row(store, request_id)

    def broken(old: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("the form could not be read")

    with pytest.raises(RuntimeError):
        service.revise(store, request_id, broken, actor="alice", at=T0)
    assert counts(store) == before
    assert row(store, request_id) == stored


def test_revise_refuses_a_sent_request(store: Store) -> None:
    request_id = sent(store)
    before, stored = counts(store), row(store, request_id)
    with pytest.raises(TransitionRefused):
        service.revise(
            store, request_id, lambda old: {**old, "necessity": "Late."}, actor="alice", at=T0
        )
    assert counts(store) == before
    assert row(store, request_id) == stored
    assert json.loads(stored.document) == DOC


def test_revise_respects_the_principal(store: Store) -> None:
    request_id = new(store).request_id  # opened by alice
    before, stored = counts(store), row(store, request_id)

    def change(old: dict[str, Any]) -> dict[str, Any]:
        return {**old, "necessity": "Changed by someone else."}

    rita = Principal("rita", "requester")
    with pytest.raises(UnknownCase) as hidden:
        service.revise(store, request_id, change, actor="rita", at=T0, principal=rita)
    with pytest.raises(UnknownCase) as missing:
        service.revise(store, "R-000042", change, actor="rita", at=T0, principal=rita)
    # the same answer as for an id that does not exist, but for the id
    assert str(hidden.value).replace(request_id, "R-000042") == str(missing.value)
    with pytest.raises(UnknownCase):
        service.edit(store, request_id, TEXT, actor="rita", at=T0, principal=rita)
    with pytest.raises(Forbidden, match="supervisor"):
        service.revise(
            store, request_id, change, actor="sam", at=T0, principal=Principal("sam", "supervisor")
        )
    with pytest.raises(UnknownCase):
        service.revise(
            store, request_id, change, actor="ada", at=T0, principal=Principal("ada", "node_admin")
        )
    assert counts(store) == before
    assert row(store, request_id) == stored

    # its own author may
    service.revise(
        store, request_id, change, actor="alice", at=T0, principal=Principal("alice", "requester")
    )
    assert json.loads(row(store, request_id).document)["necessity"] == "Changed by someone else."
