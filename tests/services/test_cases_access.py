"""The case service with a principal: each role lists, reads and acts on exactly the requests
the access module designs, and a request it may not see is indistinguishable from one that
does not exist (same error, nothing written, nothing audited)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hanoinet.errors import Forbidden, UnknownCase
from hanoinet.services import access
from hanoinet.services import cases as service
from hanoinet.services.access import Principal, Role
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events, outbox, requests

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def document(name: str, urgency: str | None = None) -> str:
    doc: dict[str, Any] = json.loads((EXAMPLES / f"{name}-xa-xb.json").read_text("utf-8"))
    if urgency is not None:
        doc["urgency"] = urgency
    return json.dumps(doc)


# name: (example, urgency, direction, created by, minutes after T0)
MADE: dict[str, tuple[str, str | None, str, str, int]] = {
    "mla_routine": ("mla", None, "incoming", "node:xa-ca", 0),
    "mla_urgent": ("mla", "urgent", "incoming", "node:xa-ca", 1),
    "preservation_routine": ("preservation", "routine", "incoming", "node:xa-ca", 2),
    "emergency": ("emergency", None, "incoming", "node:xa-ca", 3),
    "rita_outgoing": ("mla", None, "outgoing", "rita", 4),
    "carl_outgoing": ("mla", None, "outgoing", "carl", 5),
    "rita_urgent_outgoing": ("preservation", "urgent", "outgoing", "rita", 6),
}
EVERYTHING = set(MADE)
# As the access module's docstring designs it, written out by hand.
VISIBLE: dict[str, set[str]] = {
    "node_admin": set(),
    "supervisor": EVERYTHING,
    "central_authority_officer": EVERYTHING,
    "duty_officer": {"mla_urgent", "preservation_routine", "emergency", "rita_urgent_outgoing"},
    "requester": {"rita_outgoing", "rita_urgent_outgoing"},
}
NAMES = {
    "node_admin": "ada",
    "supervisor": "sam",
    "central_authority_officer": "carl",
    "duty_officer": "dora",
    "requester": "rita",
}


def who(role: str) -> Principal:
    return Principal(NAMES[role], role)  # type: ignore[arg-type]


def make(store: Store) -> dict[str, service.Created]:
    made = {}
    for name, (example, urgency, direction, actor, minutes) in MADE.items():
        made[name] = service.new_case(
            store,
            document(example, urgency),
            direction=direction,  # type: ignore[arg-type]
            actor=actor,
            at=T0 + minutes * MINUTE,
            title=f"Case {name}",
        )
    return made


def ids(made: dict[str, service.Created], names: set[str]) -> set[str]:
    return {made[n].request_id for n in names}


def names_of(made: dict[str, service.Created], found: list[service.RequestSummary]) -> set[str]:
    by_id = {c.request_id: n for n, c in made.items()}
    return {by_id[r.id] for r in found}


def written(store: Store) -> tuple[int, ...]:
    """What a command writes: events, audit entries, outbox messages, request versions."""
    with store.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(events)).scalar_one(),
            conn.execute(select(func.count()).select_from(audit_log.audit)).scalar_one(),
            conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
            conn.execute(select(func.sum(requests.c.version))).scalar_one(),
        )


def last_audit(store: Store) -> Any:
    with store.engine.connect() as conn:
        return list(audit_log.entries(conn))[-1]


def chain_ok(store: Store) -> bool:
    with store.engine.connect() as conn:
        return audit_log.verify(conn).ok


@pytest.fixture
def made(store: Store) -> dict[str, service.Created]:
    return make(store)


# --- list_requests -------------------------------------------------------------------------------


def test_each_role_lists_exactly_the_requests_it_sees(
    store: Store, made: dict[str, service.Created]
) -> None:
    at = T0 + timedelta(hours=1)
    for role in access.ROLES:
        found = service.list_requests(store, actor=NAMES[role], at=at, principal=who(role))
        assert names_of(made, found) == VISIBLE[role], role
        assert len(found) == len(VISIBLE[role])  # no request twice
        entry = last_audit(store)
        assert (entry.actor, entry.action, json.loads(entry.detail)) == (
            NAMES[role],
            "list",
            {"count": len(VISIBLE[role])},
        )
    # Without a principal (the command line runs as the node): everything.
    every = service.list_requests(store, actor="node", at=at)
    assert names_of(made, every) == EVERYTHING
    assert chain_ok(store)


def test_the_query_filter_agrees_with_sees_for_every_role(
    store: Store, made: dict[str, service.Created]
) -> None:
    """``sees`` (one request in hand) and the SQL filter are the same rule."""
    rows = service.list_requests(store, actor="node", at=T0)
    creators = {c.request_id: MADE[n][3] for n, c in made.items()}
    for role in access.ROLES:
        for principal in (who(role), Principal(NAMES[role], role, frozenset({"read"}))):
            expected = {
                r.id
                for r in rows
                if access.sees(
                    principal, kind=r.kind, urgency=r.urgency, case_created_by=creators[r.id]
                )
            }
            listed = service.list_requests(store, actor="t", at=T0, principal=principal)
            assert {r.id for r in listed} == expected, role


def test_a_requester_sees_only_their_own_cases(
    store: Store, made: dict[str, service.Created]
) -> None:
    other = Principal("rob", "requester")
    assert service.list_requests(store, actor="rob", at=T0, principal=other) == []
    service.new_case(store, document("mla"), direction="outgoing", actor="rob", at=T0)
    mine = service.list_requests(store, actor="rob", at=T0, principal=other)
    assert len(mine) == 1 and mine[0].id not in ids(made, EVERYTHING)
    rita = service.list_requests(store, actor="rita", at=T0, principal=who("requester"))
    assert mine[0].id not in {r.id for r in rita}


def test_most_urgent_then_most_recent_first(store: Store, made: dict[str, service.Created]) -> None:
    found = service.list_requests(
        store, actor="carl", at=T0, principal=who("central_authority_officer")
    )
    by_id = {c.request_id: n for n, c in made.items()}
    assert [by_id[r.id] for r in found] == [
        "emergency",
        "rita_urgent_outgoing",  # urgent, the most recent
        "mla_urgent",
        "carl_outgoing",  # routine, most recent first
        "rita_outgoing",
        "preservation_routine",
        "mla_routine",
    ]
    # An action makes a request the most recent of its urgency.
    service.act(
        store,
        made["mla_routine"].request_id,
        "acknowledge",
        actor="carl",
        at=T0 + timedelta(hours=1),
        principal=who("central_authority_officer"),
    )
    again = service.list_requests(
        store, actor="carl", at=T0, principal=who("central_authority_officer")
    )
    assert [by_id[r.id] for r in again][3] == "mla_routine"


@pytest.mark.parametrize("role", ["supervisor", "duty_officer"])
def test_pages_of_a_listing_join_up_to_the_whole(
    store: Store, made: dict[str, service.Created], role: Role
) -> None:
    whole = service.list_requests(store, actor="t", at=T0, principal=who(role))
    pages: list[service.RequestSummary] = []
    offset = 0
    while True:
        page = service.list_requests(
            store, actor="t", at=T0, principal=who(role), limit=2, offset=offset
        )
        assert len(page) <= 2
        if not page:
            break
        pages.extend(page)
        offset += 2
    assert pages == whole
    assert offset == 2 * ((len(whole) + 1) // 2)
    entry = last_audit(store)
    assert json.loads(entry.detail) == {"count": 0, "offset": offset}
    assert service.list_requests(store, actor="t", at=T0, principal=who(role), limit=0) == []


def test_urgent_only_and_open_only_narrow_what_the_role_sees(
    store: Store, made: dict[str, service.Created]
) -> None:
    def listed(role: str, **kw: Any) -> set[str]:
        return names_of(
            made, service.list_requests(store, actor="t", at=T0, principal=who(role), **kw)
        )

    assert listed("duty_officer", urgent_only=True) == {
        "mla_urgent",
        "emergency",
        "rita_urgent_outgoing",
    }
    assert listed("requester", urgent_only=True) == {"rita_urgent_outgoing"}
    assert listed("node_admin", urgent_only=True) == set()
    assert listed("supervisor", urgent_only=True) == {
        "mla_urgent",
        "emergency",
        "rita_urgent_outgoing",
    }
    service.act(
        store,
        made["rita_urgent_outgoing"].request_id,
        "withdraw",
        actor="rita",
        at=T0 + MINUTE,
        principal=who("requester"),
    )
    assert listed("requester", open_only=True) == {"rita_outgoing"}
    assert listed("requester") == {"rita_outgoing", "rita_urgent_outgoing"}
    assert listed("duty_officer", open_only=True, urgent_only=True) == {"mla_urgent", "emergency"}


# --- show ----------------------------------------------------------------------------------------


def test_show_opens_what_the_role_sees_and_nothing_else(
    store: Store, made: dict[str, service.Created]
) -> None:
    at = T0 + timedelta(hours=1)
    for role, name in ((r, n) for r in access.ROLES for n in made):
        created = made[name]
        for ident in (created.request_id, created.case_id):
            if name in VISIBLE[role]:
                detail = service.show(store, ident, actor=NAMES[role], at=at, principal=who(role))
                assert detail.id == created.case_id and detail.title == f"Case {name}"
                assert [r.summary.id for r in detail.requests] == [created.request_id]
                entry = last_audit(store)
                assert (entry.actor, entry.action, entry.target) == (
                    NAMES[role],
                    "read",
                    created.case_id,
                )
                continue
            before = written(store)
            with pytest.raises(UnknownCase) as hidden:
                service.show(store, ident, actor=NAMES[role], at=at, principal=who(role))
            with pytest.raises(UnknownCase) as missing:
                service.show(store, "R-999999", actor=NAMES[role], at=at, principal=who(role))
            # The same answer as an id that does not exist, and no trace of the attempt.
            assert hidden.value.message == missing.value.message.replace("R-999999", ident)
            assert f"Case {name}" not in hidden.value.message
            assert written(store) == before


def test_an_api_token_reads_what_its_user_reads(
    store: Store, made: dict[str, service.Created]
) -> None:
    reader = Principal("dora", "duty_officer", frozenset({"read"}))
    detail = service.show(
        store, made["emergency"].request_id, actor=reader.actor, at=T0, principal=reader
    )
    assert detail.requests[0].summary.kind == "emergency_disclosure"
    assert last_audit(store).actor == "dora (API token)"
    with pytest.raises(UnknownCase):
        service.show(
            store, made["mla_routine"].request_id, actor=reader.actor, at=T0, principal=reader
        )


# --- act -----------------------------------------------------------------------------------------

# role -> what happens when it takes a fitting action on each request it sees
ACTS: dict[str, set[str]] = {
    "node_admin": set(),
    "supervisor": set(),  # reads everything, acts on nothing
    "central_authority_officer": EVERYTHING,
    "duty_officer": VISIBLE["duty_officer"],
    "requester": {"rita_outgoing", "rita_urgent_outgoing"},
}


def fitting_action(name: str) -> str:
    return "acknowledge" if MADE[name][2] == "incoming" else "check"


def test_act_as_designed_and_refusals_write_nothing(store: Store) -> None:
    at = T0 + timedelta(hours=1)
    for role, made in ((r, make(store)) for r in access.ROLES):
        for name, created in made.items():
            action = fitting_action(name)
            before = written(store)
            if name in ACTS[role]:
                acted = service.act(
                    store, created.request_id, action, actor=NAMES[role], at=at, principal=who(role)
                )
                assert acted.event.action == action and acted.event.actor == NAMES[role]
                assert written(store) != before
            elif name in VISIBLE[role]:
                with pytest.raises(Forbidden) as refused:
                    service.act(
                        store,
                        created.request_id,
                        action,
                        actor=NAMES[role],
                        at=at,
                        principal=who(role),
                    )
                assert role in refused.value.message and created.request_id in refused.value.message
                assert written(store) == before
            else:
                with pytest.raises(UnknownCase) as hidden:
                    service.act(
                        store,
                        created.request_id,
                        action,
                        actor=NAMES[role],
                        at=at,
                        principal=who(role),
                    )
                with pytest.raises(UnknownCase) as missing:
                    service.act(
                        store, "R-999999", action, actor=NAMES[role], at=at, principal=who(role)
                    )
                assert hidden.value.message == missing.value.message.replace(
                    "R-999999", created.request_id
                )
                assert written(store) == before
    assert chain_ok(store)


def test_the_role_is_refused_before_the_lifecycle_is_asked(
    store: Store, made: dict[str, service.Created]
) -> None:
    """A supervisor learns nothing about the state of a request from an action's refusal."""
    with pytest.raises(Forbidden):
        service.act(
            store,
            made["mla_routine"].request_id,
            "no_such_action",
            actor="sam",
            at=T0,
            principal=who("supervisor"),
        )
    with pytest.raises(UnknownCase):
        service.act(
            store,
            made["mla_routine"].request_id,
            "no_such_action",
            actor="dora",
            at=T0,
            principal=who("duty_officer"),
        )


def test_a_requester_does_not_act_as_the_requested_state(store: Store) -> None:
    """Even on a case they opened: an incoming request is the officers' to answer."""
    created = service.new_case(
        store, document("mla"), direction="incoming", actor="rita", at=T0, title="Typed in"
    )
    rita = who("requester")
    assert service.show(store, created.request_id, actor="rita", at=T0, principal=rita)
    before = written(store)
    with pytest.raises(Forbidden, match="incoming"):
        service.act(store, created.request_id, "acknowledge", actor="rita", at=T0, principal=rita)
    assert written(store) == before


def test_an_api_token_acts_only_with_the_act_scope(
    store: Store, made: dict[str, service.Created]
) -> None:
    target = made["emergency"].request_id
    reader = Principal("dora", "duty_officer", frozenset({"read"}))
    assert not access.can(reader, "cases.act")
    before = written(store)
    with pytest.raises(Forbidden):
        service.act(store, target, "acknowledge", actor=reader.actor, at=T0, principal=reader)
    assert written(store) == before
    doer = Principal("dora", "duty_officer", frozenset({"read", "act"}))
    acted = service.act(store, target, "acknowledge", actor=doer.actor, at=T0, principal=doer)
    assert acted.event.actor == "dora (API token)"
    # The token does not widen the role: a supervisor's act token still does not act.
    boss = Principal("sam", "supervisor", frozenset({"read", "act"}))
    with pytest.raises(Forbidden):
        service.act(store, target, "consult", actor=boss.actor, at=T0, principal=boss)
