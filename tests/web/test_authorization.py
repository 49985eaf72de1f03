"""Authorization matrix of the web desk: every page route (the desk, the requests, the audit
log and the drafting wizard) x every role x requests the role should and should not see,
allowed or refused exactly as the access module's docstring designs; and no leaks: a request
a role may not see answers the same 404 page as an id that does not exist, is never listed,
and its id and title appear in no page that role gets. ``ROUTES`` at the end names the test
that checks each route of the app, or why a route is not in this matrix; a route added to
the app and not named there fails ``test_every_route_of_the_app_is_in_the_matrix``.

The expectations below are written out by hand from the docstring (not computed with
``access``), so a change of the rules shows up here as a failing row."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from hanoinet.exchange import directory as d
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.services import users
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store, open_store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import cases, events, evidence, formal_documents, requests, sessions
from hanoinet.store.schema import users as users_table
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
    # the duty officer's draft of a 24/7 form (preservation, urgent)
    "dora_draft": ("preservation", None, "outgoing", "dora"),
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
    "duty_officer": frozenset({"mla_urgent", "emergency", "preservation_routine", "dora_draft"}),
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
    "supervisor": frozenset({"rita_draft", "carl_draft", "dora_draft"}),  # outgoing only
    "central_authority_officer": frozenset(),  # sends its own requests; approves none
    "duty_officer": frozenset(),
    "requester": frozenset(),
}
"""Whom ``approve`` lets through to the lifecycle (node policy: only a supervisor approves)."""
DESK_WORK = frozenset({"mla_urgent", "emergency", "preservation_routine", "dora_draft"})
"""Open requests that are urgent or of a 24/7 form: what a desk lists, of what a role sees."""
DRAFTERS = {"central_authority_officer", "duty_officer", "requester"}
"""The roles that draft requests to send (cases.create); a supervisor reads drafts on the case
page but drafts none."""
DRAFTS = frozenset({"rita_draft", "carl_draft", "dora_draft"})
EDITS: dict[str, frozenset[str]] = {
    "node_admin": frozenset(),
    "supervisor": frozenset(),
    "central_authority_officer": DRAFTS,  # every request of the node
    "duty_officer": frozenset({"dora_draft"}),  # the drafts its desk shows
    "requester": frozenset({"rita_draft"}),  # only the drafts it opened
}
"""The drafts each role opens in the wizard, saves and sends. A request the role sees that is
no draft goes to its case page; one it does not see answers like a missing one."""
STARTS: dict[str, frozenset[str]] = {
    "central_authority_officer": frozenset({"preservation", "mla_general"}),
    "duty_officer": frozenset({"preservation"}),  # the 24/7 forms only
    "requester": frozenset({"preservation", "mla_general"}),
}
"""Of a 24/7 form and a mutual legal assistance form, which each drafting role may start."""


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

    def post(self, role: str, url: str, data: dict[str, str], *, csrf: bool = True) -> Any:
        token = {"csrf": self.csrf[role]} if csrf else {}
        response = self.clients[role].post(url, data={**token, **data})
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


def package_of(name: str) -> str:
    """The evidence package each request of the matrix has (received from XA)."""
    return f"EV-xa-ca-{list(REQUESTS).index(name) + 1:06d}"


def _evidence(store: Store, ids: dict[str, str]) -> None:
    with store.transaction() as conn:
        for name, rid in ids.items():
            conn.execute(
                insert(evidence).values(
                    id=package_of(name),
                    request_id=rid,
                    direction="incoming",
                    peer_node="xa-ca",
                    state="receiving",
                    size=4_000_000,
                    sha256="0" * 64,
                    chunk_size=1_000_000,
                    chunks=4,
                    next_chunk=1,
                    offer="offer",
                    path=f"{package_of(name)}.age",
                    created_at=T0,
                    updated_at=T0,
                )
            )
            conn.execute(
                insert(formal_documents).values(
                    id=document_of(name),
                    request_id=rid,
                    direction="incoming",
                    status="received",
                    lang="en",
                    request_sha256="0" * 64,
                    pdf=kept_pdf(name),
                    signer="xa-ca",
                    created_at=T0,
                    updated_at=T0,
                )
            )


def document_of(name: str) -> int:
    """The formal document each request of the matrix has (received from XA)."""
    return list(REQUESTS).index(name) + 1


def kept_pdf(name: str) -> bytes:
    return f"%PDF-2.0 the formal document of {name}".encode()


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
            _evidence(store, ids)
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
        assert f"<h1><bdi data-user-text>{title(name)}</bdi></h1>" in response.text
        assert ident in response.text
    else:
        assert response.status_code == 404
        assert "No such case or request" in response.text
    # The case id opens the same page (its first request).
    by_case = world.get(role, f"/requests/{world.case_ids.get(name, MISSING_CASE)}")
    assert by_case.status_code == response.status_code


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_the_evidence_section(world: World, role: str, name: str) -> None:
    """The case page's live part (htmx polls it while a transfer is under way): answered to
    exactly the readers of the case page, with that request's packages and no other; empty
    answers otherwise (htmx swaps none of them in): 403 to a role that opens no case, 404 for
    a request the role may not see, the same as for one that does not exist."""
    ident = world.ids.get(name, MISSING)
    response = world.get(role, f"/requests/{ident}/evidence")
    if role not in OPENS_CASES:
        assert (response.status_code, response.text) == (403, "")
    elif name in SEES[role]:
        assert response.status_code == 200
        assert f'<section class="evidence" id="evidence-{ident}"' in response.text
        assert f'hx-get="/requests/{ident}/evidence"' in response.text  # in transfer: polled
        shown = set(re.findall(r"EV-xa-ca-\d{6}", response.text))
        assert shown == {package_of(name)}
    else:
        assert (response.status_code, response.text) == (404, "")
    # The case id answers for its first request, as the case page does.
    by_case = world.get(role, f"/requests/{world.case_ids.get(name, MISSING_CASE)}/evidence")
    assert (by_case.status_code, by_case.text) == (response.status_code, response.text)


_SCANS: dict[str, int] = {}


def scan_of(world: World, name: str) -> int:
    """A letter's scan kept under request ``name`` (as recorded from a State outside the
    network), made once per module: its attachment number."""
    from sqlalchemy import insert

    from hanoinet.store.schema import attachments, dispatches

    if name not in _SCANS:
        with world.store.transaction() as conn:
            letter = conn.execute(
                insert(dispatches)
                .values(request_id=world.ids[name], direction="in", action="acknowledge",
                        means="post", status="received", occurred_at=T0, recorded_at=T0,
                        actor="clerk")
                .returning(dispatches.c.id)
            ).scalar_one()  # fmt: skip
            _SCANS[name] = conn.execute(
                insert(attachments)
                .values(request_id=world.ids[name], dispatch_id=letter, filename=f"{name}.pdf",
                        media_type="application/pdf", size=9, sha256="0" * 64,
                        content=b"%PDF-scan", created_at=T0)
                .returning(attachments.c.id)
            ).scalar_one()  # fmt: skip
    return _SCANS[name]


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_a_letters_attachment(world: World, role: str, name: str) -> None:
    """A scan or e-mail of a request outside the network: to the readers of the case page
    only, always downloaded; one of another request, or of a request the role may not see,
    answers like a missing one."""
    ident = world.ids.get(name, MISSING)
    number = scan_of(world, name) if name in REQUESTS else 1
    got = world.clients[role].get(f"/requests/{ident}/attachments/{number}")
    if role not in OPENS_CASES:
        assert (got.status_code, got.text) == (403, "")
    elif name in SEES[role]:
        assert got.status_code == 200 and got.content == b"%PDF-scan"
        assert got.headers["content-disposition"].startswith("attachment; filename=")
        assert got.headers["cache-control"] == "no-store"
        other = next(n for n in REQUESTS if n != name)
        elsewhere = world.clients[role].get(
            f"/requests/{ident}/attachments/{scan_of(world, other)}"
        )
        assert elsewhere.status_code == 404
    else:
        assert got.status_code == 404 and "No such case or request" in got.text


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_the_formal_document(world: World, role: str, name: str) -> None:
    """Made on demand or kept: a PDF to the readers of the case page only, never cached; a
    request the role may not see answers like a missing one (and a kept document is found
    only under its own request)."""
    ident = world.ids.get(name, MISSING)
    made = world.clients[role].get(f"/requests/{ident}/document.pdf?lang=en")
    number = document_of(name) if name in REQUESTS else 1
    kept = world.clients[role].get(f"/requests/{ident}/documents/{number}.pdf?download=1")
    if role not in OPENS_CASES:
        assert (made.status_code, made.text) == (403, "")
        assert (kept.status_code, kept.text) == (403, "")
    elif name in SEES[role]:
        assert made.status_code == 200 and made.content.startswith(b"%PDF-")
        assert made.headers["content-type"] == "application/pdf"
        assert made.headers["content-disposition"].startswith("inline; filename=")
        assert made.headers["cache-control"] == "no-store"
        assert kept.status_code == 200 and kept.content == kept_pdf(name)
        assert kept.headers["content-disposition"].startswith("attachment; filename=")
        other = next(n for n in REQUESTS if n != name)
        elsewhere = world.clients[role].get(f"/requests/{ident}/documents/{document_of(other)}.pdf")
        assert elsewhere.status_code == 404
    else:
        assert made.status_code == 404 and "No such case or request" in made.text
        assert kept.status_code == 404 and "No such case or request" in kept.text


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
        assert "There is a problem" in response.text  # the lifecycle's refusal, in words
        assert "does not take actions" not in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        # in the page's words: neither the role's code nor the action's (the API's and the
        # command line's English says them, tests/web/test_api.py)
        assert "Your role does not take this action on this request." in response.text
        assert f"({role})" not in response.text
        assert "Your role reads this request; it does not take actions on it." in response.text
    else:
        assert response.status_code == 404 and "No such case or request" in response.text
    assert state_and_events(world.store) == before


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_recording_a_letter(world: World, role: str, name: str) -> None:
    """What a State outside the network sent, recorded from the case page: the roles that act
    on the request are let through to the service (which refuses it here: these requests
    travel over the network), the others refused as for any action; nothing changes."""
    ident = world.ids.get(name, MISSING)
    before = state_and_events(world.store)
    response = world.post(
        role, f"/requests/{ident}/letters", {"action": "acknowledge", "means": "post"}
    )
    if role not in OPENS_CASES:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    elif name in ACTS_ON[role]:
        assert response.status_code == 400 and "travels over the network" in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        assert "Your role does not take this action on this request." in response.text
    else:
        assert response.status_code == 404 and "No such case or request" in response.text
    assert state_and_events(world.store) == before


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_a_letters_document(world: World, role: str, name: str) -> None:
    """The formal letter of a step owed to a State outside the network, to print: to the
    readers of the case page only (these requests travel over the network and owe none, so
    a reader finds no such letter); a request the role may not see answers like a missing
    one. The letter itself: tests/web/test_drafting.py."""
    ident = world.ids.get(name, MISSING)
    got = world.clients[role].get(f"/requests/{ident}/letters/1/document")
    if role not in OPENS_CASES:
        assert (got.status_code, got.text) == (403, "")
    else:
        assert got.status_code == 404 and "No such case or request" in got.text


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_sending_a_letter(world: World, role: str, name: str) -> None:
    """Sending a letter owed to a State outside the network: the roles that act on the
    request are let through to the service (which finds no such letter here), the others
    refused as for any action; nothing changes."""
    ident = world.ids.get(name, MISSING)
    before = state_and_events(world.store)
    response = world.post(
        role, f"/requests/{ident}/letters/1/send", {"means": "post", "reference": "RR 1"}
    )
    if role not in OPENS_CASES:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    elif name in ACTS_ON[role]:
        assert response.status_code == 404 and "There is no such letter to send" in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        assert "Your role does not take this action on this request." in response.text
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


# --- the audit log and the home page --------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_audit_log_opens_for_the_supervisor_only(world: World, role: str) -> None:
    response = world.get(role, "/audit")
    if role == "supervisor":
        assert response.status_code == 200 and "<table" in response.text
    else:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
        assert "<table" not in response.text


# --- the node administrator's users page --------------------------------------------------------


def user_states(store: Store) -> tuple[list[tuple[str, str, str]], int, int]:
    """Every user's name, role and state, the sessions and the audit entries: what an act on a
    user would change."""
    with store.engine.connect() as conn:
        people = [
            (r.username, r.role, r.state)
            for r in conn.execute(select(users_table).order_by(users_table.c.username))
        ]
        open_sessions = conn.execute(select(func.count()).select_from(sessions)).scalar_one()
        entries = len(list(audit_log.entries(conn)))
    return people, int(open_sessions), entries


@pytest.mark.parametrize("role", ROLES)
def test_the_users_pages_open_for_the_node_administrator_only(world: World, role: str) -> None:
    for url in ("/users", f"/users/{USERS['duty_officer']}", "/users/nobody"):
        response = world.get(role, url)
        if role == "node_admin":
            assert response.status_code == (404 if url.endswith("nobody") else 200), url
        else:
            assert response.status_code == 403, url
            assert "Your role does not open this page" in response.text
            assert (
                "Last log-in" not in response.text and "dora" not in response.text.split("<main")[1]
            )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("act", "extra", "refusal"),
    [
        ("role", {"role": "duty_officer"}, "has this role already"),
        ("enable", {}, "is active already"),
        ("remove", {}, "Tick the box to confirm"),
    ],
)
def test_acting_on_a_user(
    world: World, role: str, act: str, extra: dict[str, str], refusal: str
) -> None:
    """Each act asked is one the page or the service refuses (Dora has that role already, is
    active, the removal is not confirmed), so nothing changes: 400 means the role was let
    through to the act, 403 that the role does not manage users; a forged form token is
    refused before anything."""
    before = user_states(world.store)
    url = f"/users/{USERS['duty_officer']}"
    response = world.post(role, url, {"act": act, **extra})
    if role == "node_admin":
        assert response.status_code == 400 and refusal in response.text
    else:
        assert response.status_code == 403 and "Your role does not open this page" in response.text
    forged = world.post(role, url, {"act": "disable", "csrf": "forged"}, csrf=False)
    assert forged.status_code == (400 if role == "node_admin" else 403)
    assert user_states(world.store) == before


HOME = {
    "node_admin": "/users",
    "supervisor": "/desk",
    "central_authority_officer": "/desk",
    "duty_officer": "/desk",
    "requester": "/requests",
}


@pytest.mark.parametrize("role", ROLES)
def test_home_sends_each_role_to_its_first_page(world: World, role: str) -> None:
    response = world.get(role, "/")
    assert (response.status_code, response.headers["location"]) == (303, HOME[role])


# --- the drafting wizard --------------------------------------------------------------------------


def field_errors(html: str) -> set[str]:
    return set(re.findall(r'class="field-error" id="([^"]+)-error"', html))


def documents(store: Store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return {r.id: r.document for r in conn.execute(select(requests.c.id, requests.c.document))}


def refused_to_draft(response: Any) -> bool:
    return response.status_code == 403 and "Your role does not draft requests" in response.text


@pytest.mark.parametrize("role", ROLES)
def test_the_new_draft_page_offers_the_forms_the_role_may_start(world: World, role: str) -> None:
    response = world.get(role, "/drafts/new")
    offered = set(re.findall(r'name="kind" value="([a-z_]+)"', response.text))
    if role not in DRAFTERS:
        assert refused_to_draft(response) and offered == set()
        return
    assert response.status_code == 200
    assert offered & {"preservation", "mla_general"} == STARTS[role]


@pytest.mark.parametrize("kind", ["preservation", "mla_general"])
@pytest.mark.parametrize("role", ROLES)
def test_starting_a_draft(world: World, role: str, kind: str) -> None:
    """Posted to our own State, so that nothing is created: the field errors show whether the
    form was one the role may start (the real thing: test_drafters_really_start_and_save)."""
    before = state_and_events(world.store)
    response = world.post(role, "/drafts/new", {"kind": kind, "requested_state": "XB"})
    forged = world.post(role, "/drafts/new", {"kind": kind, "requested_state": "XA"}, csrf=False)
    if role not in DRAFTERS:
        assert refused_to_draft(response) and refused_to_draft(forged)
    else:
        assert response.status_code == 400
        expected = {"requested_state"} | (set() if kind in STARTS[role] else {"kind"})
        assert field_errors(response.text) == expected
        assert forged.status_code == 400 and "This form had expired" in forged.text
    assert state_and_events(world.store) == before


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_a_draft_step_and_its_preview(world: World, role: str, name: str) -> None:
    ident = world.ids.get(name, MISSING)
    case_id = world.case_ids.get(name, MISSING_CASE)
    for url in (f"/drafts/{ident}?step=route", f"/drafts/{ident}/preview"):
        response = world.get(role, url)
        if role not in DRAFTERS:
            assert refused_to_draft(response), url
        elif name in EDITS[role]:
            assert response.status_code == 200, url
            assert f'<bdi dir="ltr">{ident}</bdi>' in response.text
        elif name in SEES[role]:  # no draft (received): its case page
            assert (response.status_code, response.headers["location"]) == (
                303,
                f"/requests/{ident}",
            ), url
        else:
            assert response.status_code == 404 and "No such draft" in response.text, url
        # The case id opens the same (its first request).
        by_case = world.get(role, url.replace(ident, case_id))
        assert by_case.status_code == response.status_code, url


@pytest.mark.parametrize("name", [*REQUESTS, "missing"])
@pytest.mark.parametrize("role", ROLES)
def test_saving_a_step_and_sending(world: World, role: str, name: str) -> None:
    """Posted without the form token, so that nothing changes: 400 means the role was let
    through to the draft (the real saves: test_drafters_really_start_and_save)."""
    ident = world.ids.get(name, MISSING)
    before = state_and_events(world.store), documents(world.store)
    saved = world.post(
        role,
        f"/drafts/{ident}?step=facts",
        {"_has.facts_summary": "1", "facts_summary": "Typed by " + role, "_go": "stay"},
        csrf=False,
    )
    sent = world.post(role, f"/drafts/{ident}/send", {}, csrf=False)
    # registering a letter typed in goes by the same rules as sending
    registered = world.post(role, f"/drafts/{ident}/register", {}, csrf=False)
    if role not in DRAFTERS:
        assert refused_to_draft(saved) and refused_to_draft(sent)
        assert refused_to_draft(registered)
    elif name in EDITS[role]:
        assert saved.status_code == 400 and "nothing was saved" in saved.text
        for response in (sent, registered):
            assert response.status_code == 400 and "This form had expired" in response.text
    elif name in SEES[role]:
        assert saved.status_code == 409 and "no longer a draft" in saved.text
        for response in (sent, registered):
            assert (response.status_code, response.headers["location"]) == (
                303,
                f"/requests/{ident}",
            )
    else:
        for response in (saved, sent, registered):
            assert response.status_code == 404 and "No such draft" in response.text
    assert (state_and_events(world.store), documents(world.store)) == before


@pytest.mark.parametrize("role", ROLES)
def test_the_live_check_needs_a_drafting_role_and_the_form_token(world: World, role: str) -> None:
    """Computed from the page's copy of the draft, never read from the store: every id answers
    the same (echoed in the findings' links), and nothing is written, not even a read."""
    with world.store.engine.connect() as conn:
        logged = len(list(audit_log.entries(conn)))
    before = state_and_events(world.store), documents(world.store)
    typed = {"_document": _document("preservation", None), "_has.urgency": "1", "urgency": "x"}
    client = world.clients[role]  # not kept for the leak test: the ids are the ones typed

    def check(ident: str, *, csrf: bool = True) -> Any:
        token = {"csrf": world.csrf[role]} if csrf else {}
        return client.post(f"/drafts/{ident}/check?step=route", data={**token, **typed})

    missing = check(MISSING)
    if role not in DRAFTERS:
        assert (missing.status_code, missing.text) == (403, "")
    else:
        assert missing.status_code == 200 and "urgency" in missing.text
        assert check(MISSING, csrf=False).status_code == 400
    for name in REQUESTS:
        ident = world.ids[name]
        answer = check(ident)
        assert answer.status_code == missing.status_code
        assert answer.text.replace(ident, MISSING) == missing.text
        assert title(name) not in answer.text
    with world.store.engine.connect() as conn:
        assert len(list(audit_log.entries(conn))) == logged
    assert (state_and_events(world.store), documents(world.store)) == before


# --- no leaks -------------------------------------------------------------------------------------


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
        assert "This action is not open now; the page shows what you can do now." in response.text
    elif name in SEES[role]:
        assert response.status_code == 403
        assert "A supervisor approves a request this node sends, before it is sent" in response.text
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


def same_answer(hidden: Any, missing: Any, hidden_id: str, missing_id: str) -> None:
    """Byte for byte the same page, but for the id in the address (echoed by the language
    form's "next" field, which the reader typed anyway)."""
    assert hidden.status_code == missing.status_code
    assert hidden.text.replace(hidden_id, missing_id) == missing.text
    assert hidden.text.count(hidden_id) == missing.text.count(missing_id) <= 1
    assert dict(hidden.headers).keys() == dict(missing.headers).keys()


@pytest.mark.parametrize("role", ROLES)
def test_someone_elses_draft_answers_exactly_like_a_missing_one(world: World, role: str) -> None:
    before = state_and_events(world.store), documents(world.store)
    save = {"_has.facts_summary": "1", "facts_summary": "Not mine", "_go": "stay"}

    def answers(ident: str) -> list[Any]:
        return [
            world.get(role, f"/drafts/{ident}?step=facts"),
            world.get(role, f"/drafts/{ident}/preview"),
            world.post(role, f"/drafts/{ident}?step=facts", save),
            world.post(role, f"/drafts/{ident}/send", {}),
        ]

    missing, missing_case = answers(MISSING), answers(MISSING_CASE)
    assert {r.status_code for r in missing} == {403 if role not in DRAFTERS else 404}
    for name in DRAFTS - SEES[role]:
        ident, case_id = world.ids[name], world.case_ids[name]
        for hidden_id, missing_id, expected in (
            (ident, MISSING, missing),
            (case_id, MISSING_CASE, missing_case),
        ):
            for hidden, refused in zip(answers(hidden_id), expected, strict=True):
                same_answer(hidden, refused, hidden_id, missing_id)
                assert title(name) not in hidden.text
    assert (state_and_events(world.store), documents(world.store)) == before


@pytest.mark.parametrize("role", ROLES)
def test_no_page_names_a_request_the_role_may_not_see(world: World, role: str) -> None:
    """Everything this role was served in this module (and the pages it reaches now): no
    trace of a hidden request but the echo of an address the reader typed."""
    for url in ("/", "/desk", "/desk/queue", "/requests", "/requests?page_number=2", "/drafts/new"):
        world.get(role, url)
    for name in SEES[role]:
        world.get(role, f"/requests/{world.ids[name]}")
        world.get(role, f"/requests/{world.ids[name]}/evidence")
    for name in EDITS[role]:
        world.get(role, f"/drafts/{world.ids[name]}/preview")
    bodies = world.bodies[role]
    assert len(bodies) >= 5
    for name in EVERY - SEES[role]:
        ident, case_id = world.ids[name], world.case_ids[name]
        for body in bodies:
            assert title(name) not in body
            assert package_of(name) not in body
            echoed = sum(
                body.count(f'name="next" value="/{pages}/{typed}')
                for pages in ("requests", "drafts")
                for typed in (ident, case_id)
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
    for ident in (world.ids["emergency"], MISSING):  # htmx asks; it follows no log-in redirect
        assert anonymous.get(f"/requests/{ident}/evidence").status_code == 401
        assert anonymous.get(f"/requests/{ident}/document.pdf").status_code == 401
        assert anonymous.get(f"/requests/{ident}/documents/1.pdf").status_code == 401
    posted = anonymous.post(
        f"/requests/{world.ids['emergency']}/act", data={"action": "acknowledge"}
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    draft = world.ids["rita_draft"]
    for url in ("/drafts/new", f"/drafts/{draft}", f"/drafts/{draft}/preview", "/audit"):
        response = anonymous.get(url)
        to = urlsplit(response.headers["location"])
        assert (response.status_code, to.path, parse_qs(to.query)["next"]) == (303, "/login", [url])
    for url in ("/drafts/new", f"/drafts/{draft}?step=facts", f"/drafts/{draft}/send"):
        response = anonymous.post(url, data={"kind": "preservation", "requested_state": "XA"})
        assert response.status_code == 303 and response.headers["location"].startswith(
            "/login?next="
        ), url
    live = anonymous.post(
        f"/drafts/{draft}/check", data={"_document": _document("preservation", None)}
    )
    assert (live.status_code, live.text) == (401, "")
    assert anonymous.get("/").headers["location"] == "/login"
    # A made-up cookie is no session.
    anonymous.cookies.set("hanoinet_session", "made-up")
    assert anonymous.get("/requests").status_code == 303
    assert state_and_events(world.store) == before


# --- acting for real, on both databases -----------------------------------------------------------


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
            assert done.headers["location"] == f"/requests/{ids[name]}?done={action}"
            states, _ = state_and_events(store)
            assert states[ids[name]] == after
            page = client.get(done.headers["location"])
            assert page.status_code == 200
            assert f"<bdi data-user-text>{USERS[role]}</bdi> · " in page.text  # the timeline
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


def test_drafters_really_start_and_save_their_drafts_and_no_one_elses(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "_HASHER", FAST_HASHER)
    app = _app(store, {"now": NOW})
    people = {role: _logged_in(app, store, USERS[role], role) for role in sorted(DRAFTERS)}
    started: dict[str, str] = {}
    for role, kind in (
        ("central_authority_officer", "mla_general"),
        ("duty_officer", "preservation"),
        ("requester", "mla_general"),
    ):
        client, csrf = people[role]
        made = client.post(
            "/drafts/new", data={"csrf": csrf, "kind": kind, "requested_state": "XA"}
        )
        assert made.status_code == 303, (role, made.text)
        found = re.fullmatch(r"/drafts/(R-\d+)\?step=route", made.headers["location"])
        assert found is not None
        started[role] = found.group(1)
        with store.engine.connect() as conn:
            row = conn.execute(
                select(requests.c.direction, requests.c.state, requests.c.kind, cases.c.created_by)
                .join(cases, cases.c.id == requests.c.case_id)
                .where(requests.c.id == found.group(1))
            ).one()
        assert tuple(row) == ("outgoing", "draft", kind, USERS[role])
    # Whose drafts each role saves (EDITS): the officer every one, the others their own (the
    # duty officer's is a 24/7 form its desk shows; the MLA drafts are not on its desk).
    saves = {
        "central_authority_officer": set(started),
        "duty_officer": {"duty_officer"},
        "requester": {"requester"},
    }
    for role, (client, csrf) in people.items():
        for owner, ident in started.items():
            before = state_and_events(store), documents(store)
            typed = f"Facts typed by {USERS[role]} into {owner}'s draft."
            saved = client.post(
                f"/drafts/{ident}?step=facts",
                data={
                    "csrf": csrf,
                    "_has.facts_summary": "1",
                    "facts_summary": typed,
                    "_go": "stay",
                },
            )
            if owner in saves[role]:
                assert saved.status_code == 303, (role, owner, saved.text)
                assert json.loads(documents(store)[ident])["facts_summary"] == typed
            else:
                assert saved.status_code == 404 and "No such draft" in saved.text, (role, owner)
                assert (state_and_events(store), documents(store)) == before
    with store.engine.connect() as conn:
        assert audit_log.verify(conn).ok


# --- every route of the app: in the matrix above, or said why not ---------------------------------

LOG_IN = "the log-in itself, before a role applies: tests/web/test_pages.py"
PUBLIC = "public by design, no log-in: tests/web/test_public.py, tests/web/test_articles.py"
API = "systems with API tokens: tests/web/test_api.py, schemathesis in tests/web/test_openapi.py"
PEERS = "other nodes, by signed envelopes: tests/services/test_federation.py, test_api.py"
STATISTICS = (
    "every role, the supervisor and the central authority let through: tests/web/test_statistics.py"
)
EVIDENCE_PEERS = (
    "other nodes, by a signed offer and chunks matching it: tests/services/test_transfer.py"
)
EVIDENCE_PAGE = (
    "a real package received and verified, role by role (the readers verify, those who act "
    "export, a request the role may not see answers like a missing one): "
    "tests/web/test_pages_evidence.py"
)
ROUTES: dict[tuple[str, str], Callable[..., None] | str] = {
    ("GET", "/"): test_home_sends_each_role_to_its_first_page,
    ("GET", "/desk"): test_the_desk_opens_for_its_roles_with_exactly_the_desk_work_they_see,
    ("GET", "/desk/queue"): test_the_desk_opens_for_its_roles_with_exactly_the_desk_work_they_see,
    ("GET", "/requests"): test_the_request_list_shows_exactly_what_the_role_sees,
    ("GET", "/requests/{ident}"): test_the_case_page,
    ("GET", "/requests/{ident}/evidence"): test_the_evidence_section,
    ("GET", "/requests/{ident}/document.pdf"): test_the_formal_document,
    ("GET", "/requests/{ident}/documents/{number}.pdf"): test_the_formal_document,
    ("GET", "/requests/{ident}/attachments/{number}"): test_a_letters_attachment,
    ("POST", "/requests/{ident}/act"): test_taking_an_action,
    ("POST", "/requests/{ident}/letters"): test_recording_a_letter,
    ("GET", "/requests/{ident}/letters/{number}/document"): test_a_letters_document,
    ("POST", "/requests/{ident}/letters/{number}/send"): test_sending_a_letter,
    ("GET", "/audit"): test_the_audit_log_opens_for_the_supervisor_only,
    ("GET", "/drafts/new"): test_the_new_draft_page_offers_the_forms_the_role_may_start,
    ("POST", "/drafts/new"): test_starting_a_draft,
    ("GET", "/drafts/{ident}"): test_a_draft_step_and_its_preview,
    ("POST", "/drafts/{ident}"): test_saving_a_step_and_sending,
    ("POST", "/drafts/{ident}/check"): test_the_live_check_needs_a_drafting_role_and_the_form_token,
    ("GET", "/drafts/{ident}/preview"): test_a_draft_step_and_its_preview,
    ("POST", "/drafts/{ident}/send"): test_saving_a_step_and_sending,
    ("POST", "/drafts/{ident}/register"): test_saving_a_step_and_sending,
    ("GET", "/users"): test_the_users_pages_open_for_the_node_administrator_only,
    ("GET", "/users/{username:path}"): test_the_users_pages_open_for_the_node_administrator_only,
    ("POST", "/users/{username:path}"): test_acting_on_a_user,
    # Not in this matrix, and why:
    ("POST", "/evidence/{package_id}/verify"): EVIDENCE_PAGE,
    ("POST", "/evidence/{package_id}/export"): EVIDENCE_PAGE,
    ("GET", "/statistics"): STATISTICS,
    ("GET", "/statistics.csv"): STATISTICS,
    ("GET", "/statistics.json"): STATISTICS,
    ("POST", "/statistics/report"): STATISTICS,
    ("GET", "/login"): LOG_IN,
    ("POST", "/login"): LOG_IN,
    ("GET", "/login/setup"): LOG_IN,
    ("POST", "/login/setup"): LOG_IN,
    ("POST", "/logout"): LOG_IN,
    ("GET", "/language"): "any reader, logged in or not: tests/web/test_pages.py",
    ("GET", "/convention/{number}"): PUBLIC,
    ("GET", "/public/treaty"): PUBLIC,
    ("GET", "/public/treaty.json"): PUBLIC,
    ("GET", "/public/treaty.csv"): PUBLIC,
    ("GET", "/public/directory"): PUBLIC,
    ("GET", "/public/directory.json"): PUBLIC,
    ("GET", "/public/directory.csv"): PUBLIC,
    ("*", "/static"): PUBLIC,
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/ready"): PUBLIC,
    ("GET", "/api/v1/directory"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("POST", "/api/v1/inbox"): PEERS,
    ("POST", "/api/v1/inbox/batch"): PEERS,
    ("POST", "/api/v1/evidence/offers"): EVIDENCE_PEERS,
    ("PUT", "/api/v1/evidence/{package}/chunks/{n}"): EVIDENCE_PEERS,
    ("GET", "/api/v1/requests"): API,
    ("GET", "/api/v1/requests/{ident}"): API,
    ("POST", "/api/v1/cases"): API,
    ("POST", "/api/v1/requests/{ident}/actions/{action}"): API,
    ("PUT", "/api/v1/requests/{ident}/document"): API,
    ("POST", "/api/v1/check"): API,
    ("GET", "/api/v1/forms"): API,
    ("GET", "/api/v1/forms/{kind}/template"): API,
    ("GET", "/api/v1/audit"): API,
    ("GET", "/api/v1/statistics"): API,
}
"""Each route of the app (method, path; ``*`` for a mount): the test of this matrix that checks
it for every role, or why it is not in this matrix and where its access is tested."""


def test_every_route_of_the_app_is_in_the_matrix(world: World) -> None:
    """Read from the app itself (FastAPI's iter_route_contexts, which sees into the included
    routers), and compared both ways, so neither a new route nor a removed one goes unseen."""
    served = {
        (method, context.path)
        for context in iter_route_contexts(world.app.routes)
        for method in (context.methods or {"*"}) - {"HEAD"}
    }
    assert len(served) > 40  # the enumeration itself sees the routers' routes
    assert served - set(ROUTES) == set(), "routes of the app missing from ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES names routes the app does not have"
    for route, checked in ROUTES.items():
        assert isinstance(checked, str) or checked.__name__.startswith("test_"), route


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
    assert (done.status_code, done.headers["location"]) == (303, f"/requests/{rid}?done=approve")
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
