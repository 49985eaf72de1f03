"""The supervisor's approval step through the cases service (SQLite and PostgreSQL): who
approves, which requests need it under each policy (HANOINET_APPROVAL), the creator's role
read from the users table in the command's transaction, and a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hanoinet.cases.approval import Policy
from hanoinet.errors import Forbidden, TransitionRefused, UnknownCase
from hanoinet.services import cases as service
from hanoinet.services import users
from hanoinet.services.access import Principal, Role
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events, outbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preservation-xa-xb.json"
TEXT = EXAMPLE.read_text("utf-8")
T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
PEOPLE: dict[str, Role] = {
    "rita": "requester",
    "carl": "central_authority_officer",
    "dora": "duty_officer",
    "sam": "supervisor",
    "sue": "supervisor",
    "ada": "node_admin",
}


@pytest.fixture
def node(store: Store) -> Store:
    for name, role in PEOPLE.items():
        users.create_user(store, name, role, actor="admin", at=T0)
    return store


def who(name: str) -> Principal:
    return Principal(name, PEOPLE[name])


def checked(store: Store, opener: str, at: datetime = T0, urgency: str = "routine") -> str:
    """A request ``opener`` opened (a node user, or any other name) and checked."""
    text = json.dumps({**json.loads(TEXT), "urgency": urgency})
    created = service.new_case(store, text, direction="outgoing", actor=opener, at=at)
    service.act(store, created.request_id, "check", actor=opener, at=at)
    return created.request_id


def act(
    store: Store,
    ident: str,
    action: str,
    name: str,
    *,
    policy: Policy = "requester",
    minutes: int = 1,
    principal: Principal | None = None,
) -> service.Acted:
    return service.act(
        store,
        ident,
        action,
        actor=name,
        at=T0 + timedelta(minutes=minutes),
        principal=principal or (who(name) if name in PEOPLE else None),
        approval_policy=policy,
    )


def written(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(events)).scalar_one(),
            conn.execute(select(func.count()).select_from(outbox)).scalar_one(),
            len(list(audit_log.entries(conn))),
        )


def awaiting(store: Store, policy: Policy = "requester", **kw: Any) -> list[str]:
    rows = service.list_requests(
        store, actor="sam", at=T0, awaiting_approval=True, approval_policy=policy, **kw
    )
    return [r.id for r in rows]


def test_a_requesters_request_waits_for_a_supervisor_under_the_default_policy(
    node: Store,
) -> None:
    rid = checked(node, "rita")
    before = written(node)
    with pytest.raises(TransitionRefused) as info:
        act(node, rid, "send", "rita")
    assert info.value.article == "40(13)"
    assert "awaits a supervisor's approval" in info.value.message
    assert "not a duty of the Convention" in info.value.message
    assert "Ask a supervisor to approve it" in info.value.message
    assert written(node) == before  # a refusal writes nothing
    assert awaiting(node) == [rid]
    before = written(node)  # the listing is audited

    done = act(node, rid, "approve", "sam", minutes=2)
    assert (done.event.action, done.event.article, done.event.actor) == ("approve", "40(13)", "sam")
    assert done.event.from_state == done.event.to_state == "checked"
    events_after, outbox_after, audit_after = written(node)
    assert (events_after, outbox_after, audit_after) == (before[0] + 1, before[1], before[2] + 1)
    with node.engine.connect() as conn:
        entry = list(audit_log.entries(conn))[-1]
        assert audit_log.verify(conn).ok
    assert (entry.actor, entry.action, entry.target, entry.legal_basis) == (
        "sam",
        "approve",
        rid,
        "40(13)",
    )
    assert awaiting(node) == []
    assert act(node, rid, "send", "rita", minutes=3).event.to_state == "sent"
    assert written(node)[1] == before[1] + 1  # the request went out, once


@pytest.mark.parametrize("name", ["rita", "carl", "dora"])
def test_only_a_supervisor_approves(node: Store, name: str) -> None:
    rid = checked(node, "rita", urgency="urgent")  # urgent: the duty officer sees it too
    before = written(node)
    with pytest.raises(Forbidden) as info:
        act(node, rid, "approve", name)
    assert f"your role ({PEOPLE[name]}) does not approve requests" in info.value.message
    assert f"ask one to approve {rid}" in info.value.message
    assert written(node) == before
    # the administrator sees no request at all: the same answer as for no such id
    with pytest.raises(UnknownCase):
        act(node, rid, "approve", "ada")


def test_the_supervisor_takes_no_other_action(node: Store) -> None:
    rid = checked(node, "rita")
    for action in ("send", "check", "withdraw"):
        with pytest.raises(Forbidden, match=r"your role \(supervisor\) does not take actions"):
            act(node, rid, action, "sam")


def test_an_officers_request_needs_no_approval_under_the_default(node: Store) -> None:
    rid = checked(node, "carl")
    assert awaiting(node) == []
    with pytest.raises(TransitionRefused, match="This request needs no approval"):
        act(node, rid, "approve", "sam")
    assert act(node, rid, "send", "carl").event.to_state == "sent"


@pytest.mark.parametrize("opener", ["alice", "node:xb-ca", "bench"])
def test_a_case_opened_by_no_node_user_sends_as_before(node: Store, opener: str) -> None:
    """The command line, the inbox, the demo and the benchmarks act under names that are no
    node user: the default policy asks them nothing."""
    rid = checked(node, opener)
    assert act(node, rid, "send", opener).event.to_state == "sent"


def test_the_all_policy_asks_approval_of_every_outgoing_request(node: Store) -> None:
    officers = checked(node, "carl")
    command_line = checked(node, "alice")
    assert set(awaiting(node, "all")) == {officers, command_line}
    with pytest.raises(TransitionRefused, match="HANOINET_APPROVAL=all"):
        act(node, officers, "send", "carl", policy="all")
    act(node, officers, "approve", "sam", policy="all", minutes=2)
    assert act(node, officers, "send", "carl", policy="all", minutes=3).event.to_state == "sent"
    assert awaiting(node, "all") == [command_line]


def test_the_none_policy_has_no_approval_step(node: Store) -> None:
    rid = checked(node, "rita")
    assert awaiting(node, "none") == []
    with pytest.raises(TransitionRefused, match="HANOINET_APPROVAL=none"):
        act(node, rid, "approve", "sam", policy="none")
    assert act(node, rid, "send", "rita", policy="none").event.to_state == "sent"


def test_an_edit_invalidates_the_approval(node: Store) -> None:
    rid = checked(node, "rita")
    act(node, rid, "approve", "sam", minutes=2)
    service.edit(node, rid, TEXT, actor="rita", at=T0 + timedelta(minutes=3), principal=who("rita"))
    act(node, rid, "check", "rita", minutes=4)
    assert awaiting(node) == [rid]
    with pytest.raises(TransitionRefused) as info:
        act(node, rid, "send", "rita", minutes=5)
    assert "the edit invalidated the approval" in info.value.message
    assert "The approval sam gave at 2026-11-24 03:02 UTC no longer counts" in info.value.message
    assert info.value.message.endswith("Ask a supervisor to approve it again")
    act(node, rid, "approve", "sue", minutes=6)
    assert act(node, rid, "send", "rita", minutes=7).event.to_state == "sent"


def test_whoever_opened_the_case_does_not_approve_it(node: Store) -> None:
    """A supervisor's name that opened a case from the command line (four eyes)."""
    rid = checked(node, "sam")
    with pytest.raises(TransitionRefused, match="sam opened this case") as info:
        act(node, rid, "approve", "sam", policy="all")
    assert info.value.article == "40(13)"
    act(node, rid, "approve", "sue", policy="all")
    # the command line (no principal) is held to the same rule by its user's name
    other = checked(node, "alice")
    with pytest.raises(TransitionRefused, match="alice opened this case"):
        service.act(node, other, "approve", actor="alice", at=T0, approval_policy="all")
    done = service.act(node, other, "approve", actor="sam", at=T0, approval_policy="all")
    assert done.event.actor == "sam"


def test_an_api_token_approves_only_with_the_act_scope(node: Store) -> None:
    rid = checked(node, "rita")
    reader = Principal("sam", "supervisor", frozenset({"read"}))
    with pytest.raises(Forbidden, match="needs a token with the act scope"):
        act(node, rid, "approve", reader.actor, principal=reader)
    actor = Principal("sam", "supervisor", frozenset({"read", "act"}))
    done = act(node, rid, "approve", actor.actor, principal=actor)
    assert done.event.actor == "sam (API token)"
    # four eyes go by the user behind the token
    own = checked(node, "sam")
    with pytest.raises(TransitionRefused, match="sam opened this case"):
        act(node, own, "approve", actor.actor, principal=actor, policy="all")


def test_show_says_who_approved_and_offers_approve_to_the_supervisor_only(node: Store) -> None:
    rid = checked(node, "rita")

    def detail(name: str) -> service.RequestDetail:
        case = service.show(node, rid, actor=name, at=T0, principal=who(name))
        return case.requests[0]

    waiting = detail("sam")
    assert waiting.approval_required and waiting.approved is None
    assert "approve" in waiting.allowed_actions and "send" not in waiting.allowed_actions
    assert "approve" not in detail("rita").allowed_actions  # the opener: four eyes
    act(node, rid, "approve", "sam", minutes=2)
    done = detail("rita")
    assert done.approved is not None
    assert (done.approved.actor, done.approved.at) == ("sam", T0 + timedelta(minutes=2))
    assert "send" in done.allowed_actions and "approve" not in done.allowed_actions


def test_the_awaiting_list_respects_what_the_reader_sees(node: Store) -> None:
    ritas = checked(node, "rita")
    service.new_case(node, TEXT, direction="outgoing", actor="rita", at=T0)  # a draft: not yet
    assert awaiting(node, principal=who("sam")) == [ritas]
    assert awaiting(node, principal=who("rita")) == [ritas]
    other = Principal("rob", "requester")
    assert awaiting(node, principal=other) == []
    assert awaiting(node, principal=who("ada")) == []
