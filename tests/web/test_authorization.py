"""Authorization matrix of the web desk: every page route x every role x requests the role
should and should not see, allowed or refused exactly as the access module's docstring
designs; and no leaks: a request a role may not see answers the same 404 page as an id that
does not exist, is never listed, and its id and title appear in no page that role gets.

The expectations below are written out by hand from the docstring (not computed with
``access``), so a change of the rules shows up here as a failing row."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store, open_store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events, requests
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery staple"
MISSING = "R-999999"
MISSING_CASE = "C-999999"

# name: (example, urgency, direction, created by)
REQUESTS: dict[str, tuple[str, str | None, str, str]] = {
    # a routine mutual legal assistance request: the central authority's only
    "mla_routine": ("mla", None, "incoming", "node:xa-ca"),
    # the same, urgent: the 24/7 desk too
    "mla_urgent": ("mla", "urgent", "incoming", "node:xa-ca"),
    # an emergency through the 24/7 network
    "emergency": ("emergency", None, "incoming", "node:xa-ca"),
    # a 24/7 form (preservation), routine: the desk by its kind
    "preservation_routine": ("preservation", "routine", "incoming", "node:xa-ca"),
    # the requester's own draft
    "rita_draft": ("mla", None, "outgoing", "rita"),
    # another user's draft
    "carl_draft": ("mla", None, "outgoing", "carl"),
    # a received request the requester typed in: theirs to follow, not to answer
    "rita_received": ("mla", None, "incoming", "rita"),
}
EVERY = frozenset(REQUESTS)
ROLES = ("node_admin", "supervisor", "central_authority_officer", "duty_officer", "requester")
USERS = {
    "node_admin": "ada",
    "supervisor": "sam",
    "central_authority_officer": "carl",
    "duty_officer": "dora",
    "requester": "rita",
}
OPENS_CASES = {"supervisor", "central_authority_officer", "duty_officer", "requester"}
HAS_DESK = {"supervisor", "central_authority_officer", "duty_officer"}
SEES: dict[str, frozenset[str]] = {
    "node_admin": frozenset(),  # users, tokens, keys: no case content
    "supervisor": EVERY,
    "central_authority_officer": EVERY,
    "duty_officer": frozenset({"mla_urgent", "emergency", "preservation_routine"}),
    "requester": frozenset({"rita_draft", "rita_received"}),
}
ACTS_ON: dict[str, frozenset[str]] = {
    "node_admin": frozenset(),
    "supervisor": frozenset(),  # reads, does not act
    "central_authority_officer": EVERY,
    "duty_officer": SEES["duty_officer"],
    "requester": frozenset({"rita_draft"}),  # only as the requesting State
}
APPROVES: dict[str, frozenset[str]] = {
    "node_admin": frozenset(),
    "supervisor": frozenset({"rita_draft", "carl_draft"}),  # outgoing requests only
    "central_authority_officer": frozenset(),  # sends its own requests; approves none
    "duty_officer": frozenset(),
    "requester": frozenset(),
}
"""Whom ``approve`` lets through to the lifecycle (node policy: only a supervisor approves)."""
DESK_WORK = frozenset({"mla_urgent", "emergency", "preservation_routine"})
"""Open requests that are urgent or of a 24/7 form: what a desk lists, of what a role sees."""


def title(name: str) -> str:
    return f"Matter {name.replace('_', ' ').title()} Zq"


@dataclass
class World:
    store: Store
    app: Any
    ids: dict[str, str]
    case_ids: dict[str, str]
    clients: dict[str, TestClient]
    csrf: dict[str, str]
    bodies: dict[str, list[str]] = field(default_factory=dict)
    """Every page body each role got in this module (for the leak test)."""

    def get(self, role: str, url: str) -> Any:
        response = self.clients[role].get(url)
        self.bodies.setdefault(role, []).append(response.text)
        return response

    def post(self, role: str, url: str, data: dict[str, str]) -> Any:
        response = self.clients[role].post(url, data={"csrf": self.csrf[role], **data})
        self.bodies.setdefault(role, []).append(response.text)
        return response


def _document(example: str, urgency: str | None) -> str:
    doc = json.loads((EXAMPLES / f"{example}-xa-xb.json").read_text("utf-8"))
    if urgency is not None:
        doc["urgency"] = urgency
    return json.dumps(doc)


def _app(store: Store, clock: dict[str, datetime]) -> Any:
    keys = KeySet.generate(T0 - timedelta(days=1))
    entry = d.NodeEntry(
        id="xb-ca",
        state="XB",
        name="xb-ca",
        roles=("central_authority", "point_of_contact"),
        endpoint="http://xb-ca.test",
        keys=tuple(d.PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=1),
    )
    directory = d.Directory(
        version=1, issued_at=T0, valid_until=T0 + timedelta(days=30), nodes=(entry,)
    )
    return create_app(NodeContext("xb-ca", keys, directory, store), clock=lambda: clock["now"])


def _logged_in(app: Any, store: Store, username: str, role: str) -> tuple[TestClient, str]:
    """A user whose first log-in (set-up) was done through the service; the client carries
    the full session's cookie. Returns the client and the session's form token."""
    initial = users.create_user(store, username, role, actor="admin", at=T0)
    half = users.log_in(store, username, initial, at=T0)
    assert half.pending_totp is not None
    code = pyotp.TOTP(half.pending_totp).at(T0)
    full = users.set_up(store, half.token, PASSWORD, PASSWORD, code, at=T0)
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("hanoinet_session", full.token)
    return client, full.csrf


def _make(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    ids, case_ids = {}, {}
    for name, (example, urgency, direction, actor) in REQUESTS.items():
        created = case_service.new_case(
            store,
            _document(example, urgency),
            direction=direction,  # type: ignore[arg-type]
            actor=actor,
            at=T0,
            title=title(name),
        )
        ids[name], case_ids[name] = created.request_id, created.case_id
    return ids, case_ids


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One node on SQLite for the whole matrix (the routes read the same service queries on
    both databases; those are tested on both in tests/services/test_cases_access.py)."""
    folder = tmp_path_factory.mktemp("authorization")
    store = open_store(f"sqlite:///{folder / 'node'}.db", migrate=False)
    store.migrate("head")
    clock = {"now": NOW}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(users, "_HASHER", FAST_HASHER)
            app = _app(store, clock)
            ids, case_ids = _make(store)
            clients, csrf = {}, {}
            for role in ROLES:
                clients[role], csrf[role] = _logged_in(app, store, USERS[role], role)
        yield World(store, app, ids, case_ids, clients, csrf)
    finally:
        store.dispose()


def listed_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/requests/(R-\d+)"', html))


def state_and_events(store: Store) -> tuple[dict[str, str], int]:
    with store.engine.connect() as conn:
        states = {r.id: r.state for r in conn.execute(select(requests.c.id, requests.c.state))}
        return states, int(conn.execute(select(func.count()).select_from(events)).scalar_one())


# --- the desk and the list ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_desk_opens_for_its_roles_with_exactly_the_desk_work_they_see(
    world: World, role: str
) -> None:
    for url in ("/desk", "/desk/queue"):
        response = world.get(role, url)
        if role not in HAS_DESK:
            assert response.status_code == 403, url
            assert listed_ids(response.text) == set()
            continue
        assert response.status_code == 200, url
        expected = {world.ids[n] for n in SEES[role] & DESK_WORK}
        assert listed_ids(response.text) == expected, url


@pytest.mark.parametrize("role", ROLES)
def test_the_request_list_shows_exactly_what_the_role_sees(world: World, role: str) -> None:
    response = world.get(role, "/requests")
    if role not in OPENS_CASES:
        assert response.status_code == 403
        assert "Your role does not open this page" in response.text
        assert listed_ids(response.text) == set()
        return
    assert response.status_code == 200
    assert listed_ids(response.text) == {world.ids[n] for n in SEES[role]}
    for name in SEES[role]:
        assert world.case_ids[name] in response.text
    for name in EVERY - SEES[role]:
        assert world.case_ids[name] not in response.text


# --- the case page and its actions ----------------------------------------------------------------


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_the_case_page(world: World, role: str, name: str) -> None:
    ident = world.ids.get(name, MISSING)
    response = world.get(role, f"/requests/{ident}")
    if role not in OPENS_CASES:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    elif name in SEES[role]:
        assert response.status_code == 200
        assert f"<h1>{title(name)}</h1>" in response.text
        assert ident in response.text
    else:
        assert response.status_code == 404
        assert "No such case or request" in response.text
    # The case id opens the same page (its first request).
    by_case = world.get(role, f"/requests/{world.case_ids.get(name, MISSING_CASE)}")
    assert by_case.status_code == response.status_code


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_taking_an_action(world: World, role: str, name: str) -> None:
    """The action asked is one the lifecycle refuses (no reason given), so that the role's
    answer is seen without changing anything: 400 means the role was let through to the
    lifecycle, 403 that the role does not act (or open cases), 404 that it does not see."""
    ident = world.ids.get(name, MISSING)
    before = state_and_events(world.store)
    response = world.post(role, f"/requests/{ident}/act", {"action": "request_more_info"})
    if role not in OPENS_CASES:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    elif name in ACTS_ON[role]:
        assert response.status_code == 400
        assert "request_more_info" in response.text and "does not take actions" not in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        assert f"your role ({role}) does not take actions on" in response.text
        assert "Your role reads this request; it does not take actions on it." in response.text
    else:
        assert response.status_code == 404 and "No such case or request" in response.text
    assert state_and_events(world.store) == before


def test_every_acting_role_is_refused_only_by_the_lifecycle(world: World) -> None:
    """The matrix above, read the other way: each role acts on exactly ACTS_ON."""
    for role in ROLES:
        let_through = {
            name
            for name in REQUESTS
            if world.post(
                role, f"/requests/{world.ids[name]}/act", {"action": "request_more_info"}
            ).status_code
            == 400
        }
        assert let_through == ACTS_ON[role], role


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_approving(world: World, role: str, name: str) -> None:
    """``approve`` for every role: the drafts are not checked yet, so whoever is let through
    is refused by the lifecycle (400) and nothing changes; 403 names who approves."""
    ident = world.ids.get(name, MISSING)
    before = state_and_events(world.store)
    response = world.post(role, f"/requests/{ident}/act", {"action": "approve"})
    if role not in OPENS_CASES:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    elif name in APPROVES[role]:
        assert response.status_code == 400
        assert "is not allowed on a request that is draft (art. 40(13))" in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        if role == "supervisor":
            assert "only a request this node sends is approved" in response.text
        else:
            assert f"your role ({role}) does not approve requests" in response.text
            assert "a supervisor approves an outgoing request" in response.text
    else:
        assert response.status_code == 404 and "No such case or request" in response.text
    assert state_and_events(world.store) == before


def test_only_the_supervisor_is_let_through_to_approve(world: World) -> None:
    for role in ROLES:
        let_through = {
            name
            for name in REQUESTS
            if world.post(
                role, f"/requests/{world.ids[name]}/act", {"action": "approve"}
            ).status_code
            == 400
        }
        assert let_through == APPROVES[role], role


# --- no leaks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_a_hidden_request_answers_exactly_like_a_missing_one(world: World, role: str) -> None:
    missing_page = world.get(role, f"/requests/{MISSING}")
    missing_act = world.post(role, f"/requests/{MISSING}/act", {"action": "acknowledge"})
    missing_case = world.get(role, f"/requests/{MISSING_CASE}")
    for name in EVERY - SEES[role]:
        ident, case_id = world.ids[name], world.case_ids[name]
        page = world.get(role, f"/requests/{ident}")
        act = world.post(role, f"/requests/{ident}/act", {"action": "acknowledge"})
        by_case = world.get(role, f"/requests/{case_id}")
        for hidden, missing, hidden_id, missing_id in (
            (page, missing_page, ident, MISSING),
            (act, missing_act, ident, MISSING),
            (by_case, missing_case, case_id, MISSING_CASE),
        ):
            assert hidden.status_code == missing.status_code
            assert hidden.status_code in (403, 404)
            # Byte for byte the same page, but for the id in the address (echoed by the
            # language form's "next" field, which the reader typed anyway).
            assert hidden.text.replace(hidden_id, missing_id) == missing.text
            assert hidden.text.count(hidden_id) == missing.text.count(missing_id) <= 1
            assert dict(hidden.headers).keys() == dict(missing.headers).keys()
            assert title(name) not in hidden.text


@pytest.mark.parametrize("role", ROLES)
def test_no_page_names_a_request_the_role_may_not_see(world: World, role: str) -> None:
    """Everything this role was served in this module (and the pages it reaches now): no
    trace of a hidden request but the echo of an address the reader typed."""
    for url in ("/", "/desk", "/desk/queue", "/requests", "/requests?page_number=2"):
        world.get(role, url)
    for name in SEES[role]:
        world.get(role, f"/requests/{world.ids[name]}")
    bodies = world.bodies[role]
    assert len(bodies) >= 5
    for name in EVERY - SEES[role]:
        ident, case_id = world.ids[name], world.case_ids[name]
        for body in bodies:
            assert title(name) not in body
            echoed = body.count(f'name="next" value="/requests/{ident}') + body.count(
                f'name="next" value="/requests/{case_id}'
            )
            assert body.count(ident) + body.count(case_id) == echoed, name


def test_reading_is_audited_for_what_was_opened_only(world: World) -> None:
    with world.store.engine.connect() as conn:
        before = len(list(audit_log.entries(conn)))
    hidden = world.ids["mla_routine"]
    assert world.get("duty_officer", f"/requests/{hidden}").status_code == 404
    shown = world.ids["emergency"]
    assert world.get("duty_officer", f"/requests/{shown}").status_code == 200
    with world.store.engine.connect() as conn:
        after = list(audit_log.entries(conn))
        assert audit_log.verify(conn).ok
    assert len(after) == before + 1
    assert (after[-1].actor, after[-1].action, after[-1].target) == (
        "dora",
        "read",
        world.case_ids["emergency"],
    )


def test_without_a_session_every_page_asks_to_log_in(world: World) -> None:
    anonymous = TestClient(world.app, follow_redirects=False)
    before = state_and_events(world.store)
    for url in (
        "/desk",
        "/requests",
        f"/requests/{world.ids['emergency']}",
        f"/requests/{MISSING}",
    ):
        response = anonymous.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith(
            "/login?next="
        ), url
    assert anonymous.get("/desk/queue").status_code == 401
    posted = anonymous.post(
        f"/requests/{world.ids['emergency']}/act", data={"action": "acknowledge"}
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    # A made-up cookie is no session.
    anonymous.cookies.set("hanoinet_session", "made-up")
    assert anonymous.get("/requests").status_code == 303
    assert state_and_events(world.store) == before


# --- acting for real, on both databases -------------------------------------------------------------


def test_allowed_actions_really_happen_and_refused_ones_do_not(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "_HASHER", FAST_HASHER)
    clock = {"now": NOW}
    app = _app(store, clock)
    ids, _ = _make(store)
    plans = {
        # role: (request it acts on, action, state after), (request it must not touch)
        "duty_officer": (("emergency", "acknowledge", "acknowledged"), "mla_routine"),
        "central_authority_officer": (("mla_routine", "acknowledge", "acknowledged"), None),
        "requester": (("rita_draft", "check", "checked"), "carl_draft"),
        "supervisor": (None, "mla_urgent"),
    }
    for role, (allowed, refused) in plans.items():
        client, csrf = _logged_in(app, store, USERS[role], role)
        if allowed is not None:
            name, action, after = allowed
            done = client.post(f"/requests/{ids[name]}/act", data={"csrf": csrf, "action": action})
            assert done.status_code == 303, (role, done.text)
            assert done.headers["location"] == f"/requests/{ids[name]}"
            states, _ = state_and_events(store)
            assert states[ids[name]] == after
            page = client.get(done.headers["location"])
            assert page.status_code == 200 and f"{USERS[role]} · " in page.text  # the timeline
        if refused is not None:
            before = state_and_events(store)
            name = refused
            action = "check" if REQUESTS[name][2] == "outgoing" else "acknowledge"
            answer = client.post(
                f"/requests/{ids[name]}/act", data={"csrf": csrf, "action": action}
            )
            assert answer.status_code in (403, 404), role
            assert state_and_events(store) == before
    with store.engine.connect() as conn:
        assert audit_log.verify(conn).ok


def _buttons(html: str) -> set[str]:
    """The actions the case page offers as buttons that submit."""
    return set(re.findall(r'<input type="hidden" name="action" value="([a-z_]+)">', html))


def test_the_approval_step_on_the_case_page_and_the_list(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requester's checked request under the default policy: everyone who sees it reads
    that it awaits approval; only the supervisor gets the Approve button and finds it in the
    list's filter; send is shown as not allowed now until the approval, then really sends."""
    monkeypatch.setattr(users, "_HASHER", FAST_HASHER)
    app = _app(store, {"now": NOW})
    clients = {role: _logged_in(app, store, USERS[role], role) for role in ROLES}
    created = case_service.new_case(
        store, _document("mla", None), direction="outgoing", actor="rita", at=T0, title="Ours"
    )
    rid = created.request_id
    case_service.act(store, rid, "check", actor="rita", at=T0)

    def page(role: str) -> str:
        client, _ = clients[role]
        response = client.get(f"/requests/{rid}")
        assert response.status_code == 200, role
        return str(response.text)

    for role in ("supervisor", "central_authority_officer", "requester"):
        html = page(role)
        assert "Awaiting a supervisor's approval (node policy)" in html, role
        assert ("approve" in _buttons(html)) is (role == "supervisor"), role
        assert "send" not in _buttons(html), role
        held = "Not allowed now: a supervisor must approve the request before it is sent"
        assert (held in html) is (role != "supervisor"), role
    sam, sam_csrf = clients["supervisor"]
    listed = sam.get("/requests?awaiting=approval")
    assert listed.status_code == 200 and listed_ids(listed.text) == {rid}
    carl, carl_csrf = clients["central_authority_officer"]
    refused = carl.post(f"/requests/{rid}/act", data={"csrf": carl_csrf, "action": "approve"})
    assert refused.status_code == 403
    done = sam.post(f"/requests/{rid}/act", data={"csrf": sam_csrf, "action": "approve"})
    assert (done.status_code, done.headers["location"]) == (303, f"/requests/{rid}")
    assert listed_ids(sam.get("/requests?awaiting=approval").text) == set()
    html = page("requester")
    assert "Approved by sam at" in html and "send" in _buttons(html)
    assert "approve" not in _buttons(page("supervisor"))
    rita, rita_csrf = clients["requester"]
    sent = rita.post(f"/requests/{rid}/act", data={"csrf": rita_csrf, "action": "send"})
    assert sent.status_code == 303
    states, _ = state_and_events(store)
    assert states[rid] == "sent"
    with store.engine.connect() as conn:
        assert audit_log.verify(conn).ok
