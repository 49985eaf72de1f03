"""The web desk's pages through HTTP: log-in (password, code, first set-up), sessions and
their cookie, CSRF on every form, the 24/7 desk and its escalations, the request list, the
case page and its action forms, the language switch, and the audit of every read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
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
from hanoinet.services import accounts, users
from hanoinet.services import cases as case_service
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events, outbox, requests, sessions
from hanoinet.store.schema import users as users_table
from hanoinet.web import pages as pages_module
from hanoinet.web.app import create_app

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)
"""One TOTP time step: a code is accepted once, so each log-in after another needs the next."""
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INITIAL = "initial-password-given-once"
NEW = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
"""For module-scoped fixtures, which run before the root conftest's fast hashing applies."""
OFF_SITE = [
    "//evil.example",
    "//evil.example/login",
    "https://evil.example",
    "http://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
]
"""Targets of a redirect that leave this site (or are no path at all): each goes to ``/``."""


# --- a node, its clock, and people logging in through the pages --------------------------------


@dataclass
class Node:
    store: Store
    app: Any
    clock: dict[str, datetime]

    def client(self, **kw: Any) -> TestClient:
        return TestClient(self.app, follow_redirects=False, **kw)

    def at(self, delta: timedelta) -> datetime:
        self.clock["now"] = T0 + delta
        return self.clock["now"]


def make_node(store: Store) -> Node:
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
    clock = {"now": T0}
    app = create_app(NodeContext("xb-ca", keys, directory, store), clock=lambda: clock["now"])
    return Node(store, app, clock)


@pytest.fixture
def node(store: Store) -> Node:
    """A node on SQLite and on PostgreSQL."""
    return make_node(store)


@pytest.fixture
def web_node(tmp_path: Path, store_factory: Any) -> Iterator[Node]:
    """A node on SQLite only, for what no database changes: languages, headers, redirects."""
    with store_factory("sqlite", tmp_path) as store:
        yield make_node(store)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field on the page"
    return found.group(1)


def secret_of(html: str) -> str:
    found = re.search(r'<code class="secret">([A-Z2-7]+)</code>', html)
    assert found, "no authenticator key on the page"
    return found.group(1)


def post_login(client: TestClient, username: str, password: str, code: str = "") -> Any:
    form = client.get("/login")
    assert form.status_code == 200
    return client.post(
        "/login",
        data={
            "csrf": csrf_of(form.text),
            "username": username,
            "password": password,
            "code": code,
        },
    )


def first_log_in(node: Node, username: str, role: str) -> tuple[TestClient, str]:
    """Create the user and go through the first log-in's set-up page; returns the logged-in
    client and the authenticator key. The user is added at the node's time (a one-time password
    opens the set-up for a week)."""
    users.create_user(
        node.store, username, role, actor="admin", at=node.clock["now"], password=INITIAL
    )
    client = node.client()
    started = post_login(client, username, INITIAL)
    assert started.status_code == 303 and started.headers["location"] == "/login/setup"
    setup = client.get("/login/setup")
    assert setup.status_code == 200
    secret = secret_of(setup.text)
    done = client.post(
        "/login/setup",
        data={
            "csrf": csrf_of(setup.text),
            "new_password": NEW,
            "repeat_password": NEW,
            "code": pyotp.TOTP(secret).at(node.clock["now"]),
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/", done.text
    return client, secret


def log_in_again(node: Node, username: str, secret: str) -> TestClient:
    client = node.client()
    done = post_login(client, username, NEW, pyotp.TOTP(secret).at(node.clock["now"]))
    assert done.status_code == 303 and done.headers["location"] == "/"
    return client


def incoming(
    store: Store, example: str = "mla", urgency: str | None = None, at: datetime = T0, **kw: Any
) -> str:
    doc = json.loads((EXAMPLES / f"{example}-xa-xb.json").read_text("utf-8"))
    if urgency is not None:
        doc["urgency"] = urgency
    kw.setdefault("direction", "incoming")
    kw.setdefault("actor", "node:xa-ca")
    return case_service.new_case(store, json.dumps(doc), at=at, **kw).request_id


def state_of(store: Store, request_id: str) -> str:
    with store.engine.connect() as conn:
        return str(
            conn.execute(select(requests.c.state).where(requests.c.id == request_id)).scalar_one()
        )


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def audit_entries(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(audit_log.entries(conn))


def chain_ok(store: Store) -> bool:
    with store.engine.connect() as conn:
        return audit_log.verify(conn).ok


def cookie_header(response: Any, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return str(found[0])


def field_error(html: str, field: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


# --- log-in ------------------------------------------------------------------------------------


def test_first_log_in_sets_a_password_and_an_authenticator(node: Node) -> None:
    users.create_user(node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    client = node.client()
    form = client.get("/login")
    assert form.status_code == 200 and 'name="username"' in form.text
    anon = cookie_header(form, "hanoinet_csrf")
    assert "HttpOnly" in anon and "samesite=strict" in anon.lower()
    started = client.post(
        "/login", data={"csrf": csrf_of(form.text), "username": "dora", "password": INITIAL}
    )
    assert started.status_code == 303 and started.headers["location"] == "/login/setup"
    half_cookie = client.cookies["hanoinet_session"]
    # A half session opens no page.
    assert client.get("/desk").headers["location"] == "/login?next=%2Fdesk"

    setup = client.get("/login/setup")
    assert setup.status_code == 200
    secret = secret_of(setup.text)
    assert 'src="data:image/svg+xml' in setup.text  # the QR code, inline
    assert setup.headers["cache-control"] == "no-store"  # the key is not kept by any cache
    done = client.post(
        "/login/setup",
        data={
            "csrf": csrf_of(setup.text),
            "new_password": NEW,
            "repeat_password": NEW,
            "code": pyotp.TOTP(secret).at(T0),
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookie = cookie_header(done, "hanoinet_session")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test; see the HTTPS test
    assert client.cookies["hanoinet_session"] != half_cookie  # a new cookie: no fixation
    home = client.get("/")
    assert home.headers["location"] == "/desk"
    desk = client.get("/desk")
    assert desk.status_code == 200 and "dora" in desk.text and "Duty officer (24/7)" in desk.text
    assert client.get("/login").headers["location"] == "/"
    # The half session's cookie is dead.
    stale = node.client()
    stale.cookies.set("hanoinet_session", half_cookie)
    assert stale.get("/login/setup").headers["location"] == "/login"
    assert stale.get("/desk").status_code == 303
    row = accounts.user_info(node.store, "dora")
    assert row.totp and users.check_password(node.store, "dora", NEW)


def test_log_in_takes_the_password_and_the_code_together(node: Node) -> None:
    _, secret = first_log_in(node, "dora", "duty_officer")
    node.at(timedelta(hours=3))
    client = node.client()
    form = client.get("/login")
    assert 'name="code"' in form.text and 'autocomplete="one-time-code"' in form.text
    code = pyotp.TOTP(secret).at(node.clock["now"])
    done = post_login(client, "dora", NEW, code)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/desk").status_code == 200
    # The same code again, from another browser, a moment later: the one answer.
    node.at(timedelta(hours=3, seconds=5))
    replay = node.client()
    again = post_login(replay, "dora", NEW, code)
    assert again.status_code == 401
    assert field_error(again.text, "password") == users.WRONG
    assert "hanoinet_session" not in replay.cookies


def test_the_password_is_never_confirmed_without_the_code(node: Node) -> None:
    """A right password with a wrong code, a wrong password with the right code, and a right
    password alone are the same page: nothing tells which part was right."""
    _, secret = first_log_in(node, "dora", "duty_officer")
    totp = pyotp.TOTP(secret)
    valid = {totp.at(T0 + timedelta(minutes=10, seconds=s)) for s in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in valid)
    pages = []
    for k, (password, code) in enumerate(
        ((NEW, wrong), (NEW + "x", totp.at(T0 + timedelta(minutes=10))), (NEW, ""))
    ):
        node.at(timedelta(minutes=10, seconds=2**k * 2))  # past each one's throttle
        client = node.client()
        refused = post_login(client, "dora", password, code)
        assert refused.status_code == 401 and "hanoinet_session" not in client.cookies
        pages.append(refused.text.replace(csrf_of(refused.text), "CSRF"))
        assert password not in refused.text and (not code or code not in refused.text)
    assert pages[0] == pages[1] == pages[2]
    assert field_error(pages[0], "password") == pages_module.LOGIN_FAILED == users.WRONG
    assert 'value="dora"' in pages[0]  # the user name is kept


def test_the_session_cookie_is_secure_over_https(web_node: Node) -> None:
    users.create_user(
        web_node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL
    )
    client = web_node.client(base_url="https://testserver")
    started = post_login(client, "dora", INITIAL)
    assert started.status_code == 303
    cookie = cookie_header(started, "hanoinet_session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()


def test_wrong_password_and_unknown_user_look_the_same(node: Node) -> None:
    first_log_in(node, "dora", "duty_officer")
    client = node.client()
    typo = "correct horse battery stapel"
    wrong = post_login(client, "dora", typo)
    unknown = post_login(client, "dorothea", NEW)
    assert wrong.status_code == unknown.status_code == 401
    assert field_error(wrong.text, "password") == field_error(unknown.text, "password")
    assert field_error(wrong.text, "password") == users.WRONG
    # The same page but for the name typed, which is kept in its field.
    assert 'value="dora"' in wrong.text and 'value="dorothea"' in unknown.text
    assert wrong.text.replace('value="dora"', "") == unknown.text.replace('value="dorothea"', "")
    # The password is never sent back.
    assert typo not in wrong.text and NEW not in unknown.text
    assert "hanoinet_session" not in client.cookies
    # Empty fields are named, before any look-up.
    empty = post_login(client, "  ", "")
    assert empty.status_code == 400
    assert field_error(empty.text, "username") == "Enter your user name"
    assert field_error(empty.text, "password") == "Enter your password"
    assert '<a href="#username">' in empty.text and '<a href="#password">' in empty.text


def test_throttling_through_the_log_in_page(node: Node) -> None:
    """Failures delay the next attempt from the same client (1 s, 2 s, 4 s ...); an attempt
    made too early, even with the right password and code, gets the one answer, never a word
    about a lock; after the wait the right ones open the desk."""
    _, secret = first_log_in(node, "dora", "duty_officer")
    client = node.client()
    node.at(timedelta(hours=1))
    for attempt in range(1, 6):
        refused = post_login(client, "dora", f"not my password {attempt}")
        assert refused.status_code == 401
    # Five failures at one moment: the first was evaluated and set a one-second wait.
    early = post_login(client, "dora", NEW, pyotp.TOTP(secret).at(node.clock["now"]))
    assert early.status_code == 401 and field_error(early.text, "password") == users.WRONG
    assert "lock" not in early.text.lower() and NEW not in early.text
    assert "hanoinet_session" not in client.cookies
    node.at(timedelta(hours=1, seconds=1))
    done = post_login(client, "dora", NEW, pyotp.TOTP(secret).at(node.clock["now"]))
    assert done.headers["location"] == "/"
    assert client.get("/desk").status_code == 200


def test_log_in_without_the_form_token_changes_nothing(node: Node) -> None:
    users.create_user(node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    client = node.client()
    page = client.get("/login")  # the anonymous token cookie is set
    entries = len(audit_entries(node.store))
    for token in (None, "", "forged-token"):
        data = {"username": "dora", "password": INITIAL}
        if token is not None:
            data["csrf"] = token
        refused = client.post("/login", data=data)
        assert refused.status_code == 400 and "This form had expired" in refused.text
        assert INITIAL not in refused.text
        assert "hanoinet_session" not in client.cookies
    assert count(node.store, sessions) == 0 and len(audit_entries(node.store)) == entries
    # A token from the page but no cookie to match it (another browser's form) is refused.
    other = node.client()
    posted = other.post(
        "/login", data={"username": "dora", "password": INITIAL, "csrf": csrf_of(page.text)}
    )
    assert posted.status_code == 400 and count(node.store, sessions) == 0
    # With the page's own token it works: the refusals were about the token only.
    assert (
        client.post(
            "/login", data={"username": "dora", "password": INITIAL, "csrf": csrf_of(page.text)}
        ).headers["location"]
        == "/login/setup"
    )


def test_set_up_needs_its_form_token(node: Node) -> None:
    users.create_user(node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    client = node.client()
    post_login(client, "dora", INITIAL)
    setup = client.get("/login/setup")
    code = pyotp.TOTP(secret_of(setup.text)).at(T0)
    form = {"new_password": NEW, "repeat_password": NEW, "code": code}
    for token in (None, "forged"):
        refused = client.post(
            "/login/setup", data=form if token is None else {**form, "csrf": token}
        )
        assert refused.status_code == 303 and refused.headers["location"] == "/login"
    assert users.check_password(node.store, "dora", INITIAL)
    assert not accounts.user_info(node.store, "dora").totp


@pytest.mark.parametrize(
    ("new_password", "repeated", "code", "field", "message"),
    [
        ("Short1!", "Short1!", "right", "new_password", "Use at least 12 characters"),
        (NEW, NEW + "!", "right", "repeat_password", "The two passwords are not the same"),
        (INITIAL, INITIAL, "right", "new_password", "one you were given"),
        (NEW, NEW, "wrong", "code", "not the code your authenticator shows now"),
    ],
)
def test_set_up_errors_are_shown_at_their_field(
    node: Node, new_password: str, repeated: str, code: str, field: str, message: str
) -> None:
    users.create_user(node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    client = node.client()
    post_login(client, "dora", INITIAL)
    setup = client.get("/login/setup")
    secret = secret_of(setup.text)
    totp = pyotp.TOTP(secret)
    valid = {totp.at(T0 + timedelta(seconds=s)) for s in (-30, 0, 30)}
    typed = (
        totp.at(T0) if code == "right" else next(c for c in ("000000", "111111") if c not in valid)
    )
    refused = client.post(
        "/login/setup",
        data={
            "csrf": csrf_of(setup.text),
            "new_password": new_password,
            "repeat_password": repeated,
            "code": typed,
        },
    )
    assert refused.status_code == 400
    assert message in (field_error(refused.text, field) or "")
    others = {"new_password", "repeat_password", "code"} - {field}
    assert all(field_error(refused.text, f) is None for f in others)
    assert f'<a href="#{field}">' in refused.text  # the summary links to the field
    assert 'aria-describedby="' in refused.text and f"{field}-error" in refused.text
    for secret_value in (new_password, repeated, INITIAL):
        assert secret_value not in refused.text
    # The same key is shown again (the authenticator the user already scanned stays valid).
    assert secret_of(refused.text) == secret
    assert not accounts.user_info(node.store, "dora").totp
    node.at(timedelta(seconds=1))  # a wrong code asks for a second's wait
    done = client.post(
        "/login/setup",
        data={
            "csrf": csrf_of(refused.text),
            "new_password": NEW,
            "repeat_password": NEW,
            "code": totp.at(node.clock["now"]),
        },
    )
    assert done.status_code == 303 and done.headers["location"] == "/"


def test_log_out_needs_the_form_token(node: Node) -> None:
    client, _ = first_log_in(node, "dora", "duty_officer")
    token = client.cookies["hanoinet_session"]
    page = client.get("/desk")
    forged = client.post("/logout", data={"csrf": "forged"})
    assert forged.headers["location"] == "/login"
    # The server session was not ended by a forged form.
    assert users.session(node.store, token, at=T0) is not None
    client.cookies.set("hanoinet_session", token)
    done = client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert done.headers["location"] == "/login"
    assert users.session(node.store, token, at=T0) is None
    client.cookies.set("hanoinet_session", token)
    assert client.get("/desk").status_code == 303
    assert [e.action for e in audit_entries(node.store)][-1] == "log_out"


def test_a_session_ends_after_an_hour_without_use(node: Node) -> None:
    client, _ = first_log_in(node, "dora", "duty_officer")
    node.at(users.IDLE - timedelta(minutes=1))
    assert client.get("/desk").status_code == 200
    node.at(2 * users.IDLE - timedelta(minutes=2))  # an hour less a minute since the last use
    assert client.get("/requests").status_code == 200
    node.at(3 * users.IDLE - timedelta(minutes=2))  # an hour since the last use
    gone = client.get("/requests")
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2Frequests"
    assert count(node.store, sessions) == 0


def test_home_sends_each_role_to_its_start(web_node: Node) -> None:
    assert web_node.client().get("/").headers["location"] == "/login"
    starts = {
        "duty_officer": "/desk",
        "supervisor": "/desk",
        "central_authority_officer": "/desk",
        "requester": "/requests",
        "node_admin": "/users",
    }
    for role, start in starts.items():
        client, _ = first_log_in(web_node, role.replace("_", "-"), role)
        assert client.get("/").headers["location"] == start, role


# --- the 24/7 desk ------------------------------------------------------------------------------


def incoming_rows(html: str) -> dict[str, str]:
    """Request id -> its row in the desk's incoming table."""
    part = html.split('id="incoming-heading"')[1].split('id="outgoing-heading"')[0]
    rows = re.findall(r"<tr>(.*?)</tr>", part, re.S)
    found = {}
    for row in rows:
        ident = re.search(r'href="/requests/(R-\d+)"', row)
        if ident:
            found[ident.group(1)] = row
    return found


def outgoing_ids(html: str) -> list[str]:
    part = html.split('id="outgoing-heading"')[1]
    return re.findall(r'<td><a href="/requests/(R-\d+)">', part)


def test_the_desk_lists_urgent_work_and_escalates_it_when_late(node: Node) -> None:
    emergency = incoming(node.store, "emergency")
    urgent = incoming(node.store, "preservation", "urgent")
    routine_mla = incoming(node.store, "mla")
    outgoing = incoming(node.store, "preservation", direction="outgoing", actor="dora")
    client, _ = first_log_in(node, "dora", "duty_officer")

    node.at(timedelta(minutes=10))
    page = client.get("/desk")
    assert page.status_code == 200
    rows = incoming_rows(page.text)
    assert set(rows) == {emergency, urgent}  # a routine MLA request is not desk work
    assert routine_mla not in page.text
    assert outgoing_ids(page.text) == [outgoing]
    for row in rows.values():
        assert 'name="action" value="acknowledge"' in row and ">Acknowledge</button>" in row
        assert "escalated" not in row
    assert list(rows) == [emergency, urgent]  # the earliest deadline first

    node.at(timedelta(minutes=15))  # exactly at the target: not yet late
    assert "escalated" not in client.get("/desk").text
    node.at(timedelta(minutes=15, seconds=1))
    rows = incoming_rows(client.get("/desk").text)
    assert "escalated" in rows[emergency] and "escalated" not in rows[urgent]
    assert "overdue by" in rows[emergency]
    node.at(timedelta(hours=1, seconds=1))
    rows = incoming_rows(client.get("/desk").text)
    assert "escalated" in rows[emergency] and "escalated" in rows[urgent]
    # The live part (htmx) is the same table without the page around it.
    queue = client.get("/desk/queue")
    assert queue.status_code == 200 and "<html" not in queue.text
    assert set(incoming_rows(queue.text)) == {emergency, urgent}


def test_acknowledge_on_the_desk(node: Node) -> None:
    late = incoming(node.store, "preservation", "urgent")
    fresh = incoming(node.store, "emergency", at=T0 + timedelta(minutes=50))
    node.at(timedelta(hours=1, minutes=1))
    client, _ = first_log_in(node, "dora", "duty_officer")
    page = client.get("/desk")
    assert page.status_code == 200
    rows = incoming_rows(page.text)
    assert list(rows) == [late, fresh]  # the escalated one first
    assert "escalated" in rows[late] and "escalated" not in rows[fresh]
    done = client.post(
        f"/requests/{late}/act",
        data={"csrf": csrf_of(page.text), "action": "acknowledge", "back": "/desk"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/desk"
    assert state_of(node.store, late) == "acknowledged"
    rows = incoming_rows(client.get("/desk").text)
    assert "escalated" not in rows[late] and ">Acknowledge</button>" not in rows[late]
    assert f'<a href="/requests/{late}">Open</a>' in rows[late]
    # Acknowledged is not preserved: the preservation keeps its clock (from receipt) and its
    # place above the fresh emergency, until the data is recorded as preserved (42).
    assert (
        'Preserve the data (art. 42) — due <bdi dir="ltr">2026-11-24 04:00 UTC</bdi>' in rows[late]
    )
    assert "overdue by 1 minute" in rows[late] and ">done<" not in rows[late]
    assert ">Acknowledge</button>" in rows[fresh]
    assert list(rows) == [late, fresh]
    case_service.act(node.store, late, "record_preserved", actor="dora", at=node.clock["now"])
    rows = incoming_rows(client.get("/desk").text)
    assert ">done<" in rows[late] and "Preserve the data" not in rows[late]
    assert list(rows) == [fresh, late]  # nothing owed: below what still waits
    with node.store.engine.connect() as conn:
        (event,) = conn.execute(
            select(events).where(events.c.request_id == late, events.c.action == "acknowledge")
        ).all()
    assert event.actor == "dora"


def test_the_desk_orders_by_what_is_still_owed_not_by_urgency_alone(node: Node) -> None:
    urgent = incoming(node.store, "preservation", "urgent")  # acknowledge by T0 + 1 h
    emergency = incoming(node.store, "emergency", at=T0 + timedelta(minutes=50))  # by 1 h 05
    finished = incoming(node.store, "preservation", "emergency")
    for action in ("acknowledge", "record_preserved"):
        case_service.act(node.store, finished, action, actor="dora", at=T0)
    draft = incoming(node.store, "preservation", "urgent", direction="outgoing", actor="dora")
    node.at(timedelta(minutes=55))
    client, _ = first_log_in(node, "dora", "duty_officer")
    page = client.get("/desk").text
    rows = incoming_rows(page)
    assert list(rows) == [urgent, emergency, finished]
    assert (
        'Acknowledge receipt (art. 40(25)) — due <bdi dir="ltr">2026-11-24 04:00 UTC</bdi>'
        in rows[urgent]
    )
    assert (
        'Acknowledge receipt (art. 40(25)) — due <bdi dir="ltr">2026-11-24 04:05 UTC</bdi>'
        in rows[emergency]
    )
    assert ">done<" in rows[finished] and "preserved until" in rows[finished]
    assert outgoing_ids(page) == [draft]
    assert "Check the draft (art. 40(15))" in page.split('id="outgoing-heading"')[1]
    node.at(timedelta(minutes=61))  # the urgent one is overdue: it stays first
    assert list(incoming_rows(client.get("/desk/queue").text)) == [urgent, emergency, finished]


def test_the_supervisor_sees_escalations_but_no_button_it_may_not_use(node: Node) -> None:
    waiting = incoming(node.store, "emergency")
    client, _ = first_log_in(node, "sam", "supervisor")
    node.at(timedelta(minutes=20))
    page = client.get("/desk")
    row = incoming_rows(page.text)[waiting]
    assert "escalated" in row
    assert ">Acknowledge</button>" not in row


def test_the_desk_counts_down_the_expiry_of_preserved_data(node: Node) -> None:
    """42: preserved data is kept at least 60 days; the desk shows when that ends."""
    kept = incoming(node.store, "preservation", "urgent")
    for action in ("acknowledge", "record_preserved"):
        case_service.act(node.store, kept, action, actor="dora", at=T0 + timedelta(minutes=5))
    waiting = incoming(node.store, "preservation", "urgent")
    node.at(timedelta(days=50))
    client, _ = first_log_in(node, "dora", "duty_officer")
    rows = incoming_rows(client.get("/desk").text)
    assert "preserved until" in rows[kept] and "10 days" in rows[kept]
    assert "field-error" not in rows[kept].split("preserved until")[1]
    assert "preserved until" not in rows[waiting]
    node.at(timedelta(days=50, minutes=30))
    row = incoming_rows(client.get("/desk/queue").text)[kept]  # the live part too
    assert "preserved until" in row
    node.at(timedelta(days=61))  # past the 60 days: said as overdue, in the error colour
    client, _ = first_log_in(node, "dora2", "duty_officer")
    row = incoming_rows(client.get("/desk").text)[kept]
    assert "overdue by" in row and "field-error" in row.split(">Preserved<")[-1]


def test_preservation_expiries_follow_extensions_and_links(node: Node) -> None:
    extended = incoming(node.store, "preservation", "urgent")
    linked = incoming(node.store, "preservation", "urgent")
    for rid in (extended, linked):
        for action in ("acknowledge", "record_preserved"):
            case_service.act(node.store, rid, action, actor="dora", at=T0)
    case_service.act(
        node.store,
        extended,
        "extend_preservation",
        actor="dora",
        at=T0 + timedelta(days=30),
        params={"reason": "the MLA request is on its way"},
    )
    expiries = case_service.preservation_expiries(node.store, [extended, linked, "R-999999"])
    assert expiries == {
        extended: T0 + timedelta(days=90),
        linked: T0 + timedelta(days=60),
    }
    assert case_service.preservation_expiries(node.store, []) == {}


def test_a_routine_desk_request_still_waiting_is_not_shown_as_done(node: Node) -> None:
    waiting = incoming(node.store, "preservation", "routine")
    client, _ = first_log_in(node, "dora", "duty_officer")
    row = incoming_rows(client.get("/desk").text)[waiting]
    assert ">Acknowledge</button>" in row
    assert ">done<" not in row


def test_the_acknowledgement_target_counts_from_receipt(node: Node) -> None:
    waiting = incoming(node.store, "emergency")
    node.at(timedelta(minutes=10))
    client, _ = first_log_in(node, "dora", "duty_officer")
    page = client.get(f"/requests/{waiting}")
    consulted = client.post(
        f"/requests/{waiting}/act",
        data={"csrf": csrf_of(page.text), "action": "consult", "reason": "Which account?"},
    )
    assert consulted.status_code == 303 and state_of(node.store, waiting) == "received"
    node.at(timedelta(minutes=16))  # 16 minutes after receipt, still not acknowledged
    row = incoming_rows(client.get("/desk").text)[waiting]
    assert "escalated" in row


def test_the_desk_is_not_for_every_role(node: Node) -> None:
    incoming(node.store, "emergency")
    requester, _ = first_log_in(node, "rita", "requester")
    refused = requester.get("/desk")
    assert refused.status_code == 403 and "Your role does not open this page" in refused.text
    assert "R-000001" not in refused.text
    assert requester.get("/desk/queue").status_code == 403
    assert node.client().get("/desk/queue").status_code == 401
    anonymous = node.client().get("/desk")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fdesk"


# --- the request list -------------------------------------------------------------------------


def test_the_request_list_pages_by_fifty_most_urgent_first(node: Node) -> None:
    made = [incoming(node.store, "mla", at=T0 + timedelta(seconds=i)) for i in range(50)]
    urgent = incoming(node.store, "mla", "urgent")
    client, _ = first_log_in(node, "carl", "central_authority_officer")
    first = client.get("/requests")
    assert first.status_code == 200
    listed = re.findall(r'<td><a href="/requests/(R-\d+)">', first.text)
    assert len(listed) == 50 and listed[0] == urgent
    assert listed[1:] == made[::-1][:49]  # then the most recent first
    assert 'href="?page_number=2"' in first.text and "page_number=0" not in first.text
    second = client.get("/requests", params={"page_number": 2})
    assert re.findall(r'<td><a href="/requests/(R-\d+)">', second.text) == [made[0]]
    assert 'href="?page_number=1"' in second.text and "page_number=3" not in second.text
    # A page number below 1 is the first page.
    assert client.get("/requests", params={"page_number": -4}).text.count("<tr>") == 51


# --- the case page -----------------------------------------------------------------------------


def action_buttons(html: str) -> set[str]:
    return set(re.findall(r'name="action" value="([a-z_]+)"', html))


def test_the_case_page_offers_only_the_actions_allowed_now(node: Node) -> None:
    received = incoming(node.store, "mla", title="Hospital intrusion")
    draft = incoming(node.store, "mla", direction="outgoing", actor="carl")
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{received}")
    assert (
        page.status_code == 200
        and "<h1><bdi data-user-text>Hospital intrusion</bdi></h1>" in page.text
    )
    # no status enquiry was received: none to answer (tests/web/test_case_view.py)
    # consent for another use may be given at any time once the request is sent (40(19))
    assert action_buttons(page.text) == {
        "acknowledge",
        "request_more_info",
        "consult",
        "give_consent",
        "decline_consent",
    }
    # Actions that need reasons are forms with their field, closed until used.
    assert 'id="request_more_info-reason" name="reason"' in page.text
    assert '<details class="panel" open>' not in page.text
    drafted = officer.get(f"/requests/{draft}")
    assert action_buttons(drafted.text) == {"check", "withdraw"}  # editing is the wizard's work
    # After acknowledging, acknowledging is no longer offered.
    officer.post(
        f"/requests/{received}/act", data={"csrf": csrf_of(page.text), "action": "acknowledge"}
    )
    assert "acknowledge" not in action_buttons(officer.get(f"/requests/{received}").text)
    # A supervisor reads the same case but is offered nothing.
    boss, _ = first_log_in(node, "sam", "supervisor")
    read = boss.get(f"/requests/{received}")
    assert read.status_code == 200 and action_buttons(read.text) == set()
    assert "/act" not in read.text
    assert "Your role reads this request; it does not take actions on it." in read.text


def test_a_refused_action_shows_the_problem_and_keeps_what_was_typed(node: Node) -> None:
    received = incoming(node.store, "mla")
    client, _ = first_log_in(node, "carl", "central_authority_officer")
    page = client.get(f"/requests/{received}")
    token = csrf_of(page.text)
    refused = client.post(
        f"/requests/{received}/act", data={"csrf": token, "action": "request_more_info"}
    )
    assert refused.status_code == 400
    assert "There is a problem" in refused.text
    assert '<a href="#request_more_info-reason">' in refused.text  # the summary links the field
    assert refused.text.count('<details class="panel" open>') == 1
    assert state_of(node.store, received) == "received"
    # Consult, then refuse with reasons but no ground: the reasons typed come back.
    consulted = client.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "consult", "reason": "Would partial assistance do?"},
    )
    assert consulted.status_code == 303
    assert consulted.headers["location"] == f"/requests/{received}?done=consult"
    shown = client.get(f"/requests/{received}")
    assert "refuse" in action_buttons(shown.text)
    assert "Would partial assistance do?" in shown.text  # the timeline shows the reasons
    typed = "The conduct is not an offence here <b>at all</b>"
    again = client.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "refuse", "reason": typed, "ground": ""},
    )
    assert again.status_code == 400
    assert '<a href="#refuse-ground">' in again.text
    assert re.search(r'<details class="panel" open>\s*<summary>Refuse</summary>', again.text)
    area = re.search(
        r'<textarea id="refuse-reason" name="reason" rows="3">([^<]*)</textarea>', again.text
    )
    assert area is not None
    assert area.group(1) == "The conduct is not an offence here &lt;b&gt;at all&lt;/b&gt;"
    assert "<b>at all</b>" not in again.text  # escaped, never markup
    # The other forms are not filled with it.
    assert re.search(r'id="consult-reason" name="reason" rows="3"></textarea>', again.text)
    assert state_of(node.store, received) == "received"
    # With a ground, the refusal is made; the timeline names the ground and its article.
    done = client.post(
        f"/requests/{received}/act",
        data={"csrf": token, "action": "refuse", "reason": "Prejudice.", "ground": "domestic_bar"},
    )
    assert done.status_code == 303
    timeline = client.get(f"/requests/{received}").text.split('<ol class="timeline">')[1]
    assert "Ground: Domestic law would bar the action in a similar domestic case" in timeline
    assert '<bdi dir="ltr">40(21)(c)</bdi>' in timeline


def test_42_4_the_case_page_offers_the_reservation_ground_only_where_it_is_open(
    node: Node,
) -> None:
    """Borealis (XB, demo) made the reservation of 42(4): its officer is offered that ground
    for a preservation alleging a national offence only, never for a Convention offence
    (42(3)); what is offered is what the guard accepts."""
    doc = json.loads((EXAMPLES / "preservation-xa-xb.json").read_text("utf-8"))
    assert doc["requested_state"] == "XB" and doc["offences"][0]["article"] == "7"
    made = {"direction": "incoming", "actor": "node:xa-ca", "at": T0}
    convention = case_service.new_case(node.store, json.dumps(doc), **made).request_id
    doc["offences"] = [{"name": "Unauthorised use of a computer (national)"}]
    national = case_service.new_case(node.store, json.dumps(doc), **made).request_id
    client, _ = first_log_in(node, "carl", "central_authority_officer")
    offered = {}
    for rid in (convention, national):
        token = csrf_of(client.get(f"/requests/{rid}").text)
        client.post(
            f"/requests/{rid}/act", data={"csrf": token, "action": "consult", "reason": "?"}
        )
        page = client.get(f"/requests/{rid}").text
        select_ = page.split('id="refuse-ground" name="ground">', 1)[1].split("</select>", 1)[0]
        offered[rid] = set(re.findall(r'<option value="([a-z_]+)"', select_))
    reserved = "preservation_dual_criminality_reservation"
    assert offered[convention] == {"preservation_essential_interests"}
    assert offered[national] == {reserved, "preservation_essential_interests"}
    done = client.post(
        f"/requests/{national}/act",
        data={
            "csrf": token,
            "action": "refuse",
            "reason": "Not an offence here.",
            "ground": reserved,
        },
    )
    assert done.status_code == 303 and state_of(node.store, national) == "refused"


def test_an_action_without_the_form_token_changes_nothing(node: Node) -> None:
    received = incoming(node.store, "emergency")
    client, _ = first_log_in(node, "dora", "duty_officer")
    other, _ = first_log_in(node, "dan", "duty_officer")
    foreign = csrf_of(other.get("/desk").text)  # the token of another session
    events_before = count(node.store, events)
    for token in (None, "", "forged", foreign):
        data = {"action": "acknowledge"}
        if token is not None:
            data["csrf"] = token
        refused = client.post(f"/requests/{received}/act", data=data)
        assert refused.status_code == 400 and "This form had expired" in refused.text
        assert state_of(node.store, received) == "received"
    assert count(node.store, events) == events_before
    assert not any(e.action == "acknowledge" for e in audit_entries(node.store))


def test_htmx_sends_the_form_token_as_a_header(web_node: Node) -> None:
    received = incoming(web_node.store, "emergency")
    client, _ = first_log_in(web_node, "dora", "duty_officer")
    page = client.get("/desk")
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf_of(page.text)}"}}\'' in page.text
    done = client.post(
        f"/requests/{received}/act",
        data={"action": "acknowledge"},
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )
    assert done.status_code == 303 and state_of(web_node.store, received) == "acknowledged"


def test_after_an_action_the_way_back_stays_on_this_site(web_node: Node) -> None:
    client, _ = first_log_in(web_node, "dora", "duty_officer")
    page = client.get("/desk")
    for back in OFF_SITE[:-1]:
        received = incoming(web_node.store, "emergency")
        done = client.post(
            f"/requests/{received}/act",
            data={"csrf": csrf_of(page.text), "action": "acknowledge", "back": back},
        )
        assert done.status_code == 303 and done.headers["location"] == "/", back
        assert state_of(web_node.store, received) == "acknowledged"


def test_every_read_of_a_case_is_in_the_audit_log(node: Node) -> None:
    received = incoming(node.store, "mla")
    client, _ = first_log_in(node, "carl", "central_authority_officer")
    before = audit_entries(node.store)
    assert client.get(f"/requests/{received}").status_code == 200
    after = audit_entries(node.store)
    assert len(after) == len(before) + 1
    assert (after[-1].actor, after[-1].action, after[-1].target) == ("carl", "read", "C-000001")
    assert json.loads(after[-1].detail) == {"requests": [received]}
    assert client.get("/requests").status_code == 200
    listed = audit_entries(node.store)
    assert len(listed) == len(after) + 1 and listed[-1].action == "list"
    # A missing case is no read.
    assert client.get("/requests/R-424242").status_code == 404
    assert len(audit_entries(node.store)) == len(listed)
    assert chain_ok(node.store)


def test_pages_carry_the_security_headers(web_node: Node) -> None:
    client, _ = first_log_in(web_node, "carl", "central_authority_officer")
    page = client.get("/requests")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_nothing_a_logged_in_user_is_answered_is_kept_but_static_files_may_be(
    web_node: Node,
) -> None:
    client, _ = first_log_in(web_node, "carl", "central_authority_officer")
    home = client.get("/", follow_redirects=False)  # a redirect, not a page
    assert home.status_code == 303
    assert home.headers["cache-control"] == "no-store"
    assert "cache-control" not in client.get("/static/hanoinet.css").headers


# --- the language switch ------------------------------------------------------------------------


def html_tag(html: str) -> str:
    found = re.search(r"<html [^>]*>", html)
    assert found
    return found.group(0)


def test_the_language_switch_turns_the_page_right_to_left_for_arabic(web_node: Node) -> None:
    client = web_node.client()
    english = client.get("/login").text
    assert html_tag(english) == '<html lang="en" dir="ltr">'
    assert 'role="note"' not in english
    switched = client.get("/language", params={"lang": "ar", "next": "/login"})
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "hanoinet_lang=ar" in cookie_header(switched, "hanoinet_lang")
    arabic = client.get("/login")
    assert html_tag(arabic.text) == '<html lang="ar" dir="rtl">'
    assert 'value="ar" selected' in arabic.text
    # The banner: an unofficial translation, the English text prevails (not in English).
    assert '<aside class="banner wrap">' in arabic.text
    client.get("/language", params={"lang": "fr", "next": "/login"})
    assert html_tag(client.get("/login").text) == '<html lang="fr" dir="ltr">'
    client.get("/language", params={"lang": "klingon", "next": "/login"})
    assert html_tag(client.get("/login").text) == '<html lang="en" dir="ltr">'


def test_the_browser_language_is_used_without_a_choice(web_node: Node) -> None:
    client = web_node.client()
    chosen = client.get("/login", headers={"Accept-Language": "de-DE, ar;q=0.8, fr;q=0.9"})
    assert html_tag(chosen.text) == '<html lang="fr" dir="ltr">'
    arabic = client.get("/login", headers={"Accept-Language": "ar-SA"})
    assert html_tag(arabic.text) == '<html lang="ar" dir="rtl">'
    odd = client.get("/login", headers={"Accept-Language": "xx;q=bad, ,;q="})
    assert html_tag(odd.text) == '<html lang="en" dir="ltr">'


def test_the_language_switch_does_not_redirect_off_site(web_node: Node) -> None:
    client = web_node.client()
    for target in OFF_SITE:
        switched = client.get("/language", params={"lang": "ar", "next": target})
        assert switched.status_code == 303 and switched.headers["location"] == "/", target
    # A path on this site, with its query, is kept.
    kept = client.get("/language", params={"lang": "ar", "next": "/requests?page_number=2"})
    assert kept.headers["location"] == "/requests?page_number=2"


def test_a_logged_in_users_language_is_kept_with_their_account(web_node: Node) -> None:
    client, secret = first_log_in(web_node, "dora", "duty_officer")
    page = client.get("/language", params={"lang": "ar", "next": "/desk?x=1"})
    assert page.headers["location"] == "/desk?x=1"
    desk = client.get("/desk")
    assert html_tag(desk.text) == '<html lang="ar" dir="rtl">'
    assert [e.action for e in audit_entries(web_node.store)][-2:] == ["set_preferences", "list"]
    # Another browser without the language cookie, a step later: the account's choice applies.
    web_node.at(STEP)
    elsewhere = log_in_again(web_node, "dora", secret)
    assert "hanoinet_lang" not in elsewhere.cookies
    assert html_tag(elsewhere.get("/desk").text) == '<html lang="ar" dir="rtl">'
    with web_node.store.engine.connect() as conn:
        locale = conn.execute(
            select(users_table.c.locale).where(users_table.c.username == "dora")
        ).scalar_one()
    assert locale == "ar"


def test_after_log_in_the_user_lands_where_they_were_going_and_only_on_this_site(
    node: Node,
) -> None:
    _, secret = first_log_in(node, "dora", "duty_officer")
    for steps, (target, landing) in enumerate(
        (("/requests", "/requests"), ("//evil.example/x", "/")), 1
    ):
        node.at(steps * STEP)  # each log-in a step after the one before
        client = node.client()
        assert client.get("/login", params={"next": target}).status_code == 200
        done = post_login(client, "dora", NEW, pyotp.TOTP(secret).at(node.clock["now"]))
        assert done.status_code == 303 and done.headers["location"] == landing


def test_the_case_page_offers_no_edit_button_without_a_document(node: Node) -> None:
    client, _ = first_log_in(node, "lara", "central_authority_officer")
    draft = json.loads((EXAMPLES / "mla-xa-xb.json").read_text("utf-8"))
    created = case_service.new_case(
        node.store, json.dumps(draft), direction="outgoing", actor="lara", at=T0
    )
    page = client.get(f"/requests/{created.request_id}")
    assert page.status_code == 200
    assert 'value="edit"' not in page.text and 'value="check"' in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/requests?page_number=99999999999999999999999",
        "/audit?page_number=99999999999999999999999",
        "/requests/R-%00",
        "/requests/" + "R" * 3000,
    ],
)
def test_page_numbers_and_ids_out_of_any_range_answer_without_a_server_error(
    node: Node, path: str
) -> None:
    client, _ = first_log_in(node, "sam", "supervisor")
    response = client.get(path)
    assert response.status_code in (200, 404), response.text[:500]
    if "/requests/R" in path:
        assert "No such case or request" in response.text


def test_the_desk_uses_the_nodes_own_acknowledgement_targets(store: Store) -> None:
    """HANOINET_ACK_URGENT_MINUTES=5: an urgent request waiting 6 minutes is escalated."""
    from datetime import timedelta as td

    from hanoinet.web.app import create_app as make_app

    node = make_node(store)
    node.app = make_app(
        node.app.state.web.ctx,
        clock=lambda: node.clock["now"],
        ack_targets={"emergency": td(minutes=2), "urgent": td(minutes=5)},
    )
    doc = json.loads((EXAMPLES / "preservation-xa-xb.json").read_text("utf-8"))
    doc["urgency"] = "urgent"
    case_service.new_case(store, json.dumps(doc), direction="incoming", actor="node:xa", at=T0)
    client, _ = first_log_in(node, "dora", "duty_officer")
    node.at(timedelta(minutes=4))
    assert "escalated to the supervisor" not in client.get("/desk").text
    node.at(timedelta(minutes=6))
    page = client.get("/desk").text
    assert "1 request escalated to the supervisor" in page
    assert "emergency 2 min, urgent 5 min" in page


def test_every_set_up_error_is_in_the_catalogs(node: Node) -> None:
    """What the set-up says at a field is shown in the reader's language: each message the
    service gives (first letter raised, as the page shows it) is one the catalogs hold, and a
    French reader reads it in French."""
    from hanoinet.errors import InvalidInput
    from hanoinet.web.render import translations

    users.create_user(node.store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    half = users.log_in(node.store, "dora", INITIAL, at=T0)
    assert half.pending_totp is not None
    totp = pyotp.TOTP(half.pending_totp)
    valid = {totp.at(T0 + timedelta(seconds=s)) for s in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111") if c not in valid)
    said = []
    for new, repeated, code in (
        ("short", "short", ""),
        ("y" * 129, "y" * 129, ""),
        (NEW, NEW + "!", ""),
        (INITIAL, INITIAL, totp.at(T0)),
        (NEW, NEW, wrong),
        (NEW, NEW, totp.at(T0)),  # a second after the wrong code: too early
    ):
        with pytest.raises(InvalidInput) as refused:
            users.set_up(node.store, half.token, new, repeated, code, at=T0)
        message = refused.value.message.partition(": ")[2]
        said.append(message[:1].upper() + message[1:])
    assert said == list(pages_module.SET_UP_ERRORS)
    french = translations("fr")
    assert all(french.ugettext(m) != m for m in said)


# --- dates no one can misread ---------------------------------------------------------------

NUMERIC_DATE = re.compile(
    r"\b\d{1,2}[\u200e\u200f]?/\d{1,2}[\u200e\u200f]?/\d{2}|\b\d{1,2}\.\d{1,2}\.\d{2,4}\b"
)
"""A date in figures only (12/6/26, 06/12/2026 with Arabic's marks, 06.12.2026): month first
in one country, day first in the next."""


@pytest.mark.parametrize("lang", ["en", "ar", "zh", "fr", "ru", "es"])
def test_no_page_shows_a_date_in_figures_only(web_node: Node, lang: str) -> None:
    """ISO 8601 (2026-11-24 03:05 UTC) on the desk, the month in words on the case page, the
    audit log to the second; in every language."""
    node = web_node
    kept = incoming(node.store, "preservation", "urgent")
    for action in ("acknowledge", "record_preserved"):
        case_service.act(node.store, kept, action, actor="sam", at=T0 + timedelta(minutes=5))
    waiting = incoming(node.store, "emergency", at=T0 + timedelta(days=9, hours=10))
    node.at(timedelta(days=9, hours=10, minutes=3))
    client, _ = first_log_in(node, "sam", "supervisor")
    client.get("/language", params={"lang": lang, "next": "/desk"})
    pages = {
        path: client.get(path).text
        for path in ("/desk", f"/requests/{kept}", f"/requests/{waiting}", "/audit")
    }
    for path, html in pages.items():
        assert html_tag(html).startswith(f'<html lang="{lang}"'), path
        shown = re.sub(r"<[^>]+>", " ", html.split("<main")[1].split("</main>")[0])
        assert not NUMERIC_DATE.search(shown), (path, NUMERIC_DATE.search(shown))
    desk = pages["/desk"]
    assert "2027-01-23 03:05 UTC" in desk  # preserved until (60 days, art. 42)
    assert "2026-12-03 13:15 UTC" in desk  # the emergency's acknowledgement is due
    assert "2026-11-24 03:05:00 UTC" in pages["/audit"]  # to the second
    if lang == "ar":  # kept left to right on the right-to-left page
        assert '<bdi dir="ltr">2027-01-23 03:05 UTC</bdi>' in desk
        assert '<bdi dir="ltr">2026-11-24 03:05:00 UTC</bdi>' in pages["/audit"]
    # The case page names the month, except right to left, where every date is ISO 8601: a
    # date in Arabic words cannot be isolated left to right without reordering its words.
    month = {"en": "November", "ar": "2026-11-24 03:", "zh": "11月", "fr": "novembre"}
    month |= {"ru": "ноября", "es": "noviembre"}
    assert month[lang] in pages[f"/requests/{kept}"]


def test_a_draft_without_a_requested_state_shows_a_dash_and_the_version_reads_left_to_right(
    node: Node,
) -> None:
    doc = json.loads((EXAMPLES / "preservation-xa-xb.json").read_text("utf-8"))
    del doc["requested_state"]  # a draft begun on the command line, not yet addressed
    draft = case_service.new_case(
        node.store, json.dumps(doc), direction="outgoing", actor="dora", at=T0
    ).request_id
    client, _ = first_log_in(node, "dora", "duty_officer")
    page = client.get("/desk").text
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{draft}(?:(?!</tr>).)*</tr>", page, re.S)
    assert row is not None
    assert "None" not in row[0] and "<td>—</td>" in row[0]
    # The footer's "hanoinet 0.1.0" is isolated, so Arabic does not move its full stop.
    arabic = client.get("/desk", headers={"Accept-Language": "ar"}).text
    assert re.search(r'<bdi dir="ltr">hanoinet \d', arabic)


def test_42_the_case_page_links_a_preservation_to_a_request_that_reached_the_other_state(
    node: Node,
) -> None:
    """The officer picks the follow-up from the requests the other State has (no id to
    type); once linked, the page says which request the data is held for."""
    store = node.store
    preservation = incoming(store, "preservation", direction="outgoing", actor="carl")
    mla = incoming(store, "mla", direction="outgoing", actor="carl")
    unsent = incoming(store, "mla", direction="outgoing", actor="carl")
    for rid in (preservation, mla):
        for action in ("check", "send"):
            case_service.act(store, rid, action, actor="carl", at=T0)
    case_service.act(store, preservation, "record_preserved", actor="x", at=T0, from_peer=True)
    officer, _ = first_log_in(node, "carl", "central_authority_officer")
    page = officer.get(f"/requests/{preservation}")
    assert "No such request has reached the other State yet" in page.text
    with store.transaction() as conn:  # Borealis's receipt for the MLA request is in
        conn.execute(
            outbox.update()
            .where(outbox.c.request_id == mla, outbox.c.type == "request")
            .values(status="delivered")
        )
    page = officer.get(f"/requests/{preservation}")
    assert f'<option value="{mla}">' in page.text and f'value="{unsent}"' not in page.text
    officer.post(
        f"/requests/{preservation}/act",
        data={"csrf": csrf_of(page.text), "action": "link_mla", "related": mla},
    )
    assert state_of(store, preservation) == "held"
    held = officer.get(f"/requests/{preservation}").text
    assert "Held until decided" in held and f'<a href="/requests/{mla}">' in held
