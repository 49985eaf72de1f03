"""The node administrator's users page: the list, each act of the lifecycle through its form,
in force at the user's next request (pages and API), results and refusals in the reader's
language, nothing of the command line or of internal names on the page."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pyotp
import pytest
from fastapi.testclient import TestClient

from hanoinet.services import accounts, users
from hanoinet.store import Store

from .test_pages import (
    INITIAL,
    NEW,
    T0,
    Node,
    csrf_of,
    field_error,
    first_log_in,
    make_node,
    post_login,
)


@pytest.fixture
def node(store: Store) -> Node:
    """A node on SQLite and on PostgreSQL."""
    return make_node(store)


def visible(html: str) -> str:
    """The text a reader sees: no tags, no attribute values."""
    return unescape(re.sub(r"<[^>]+>", " ", html.split("<main", 1)[1]))


def act(client: TestClient, name: str, action: str, **extra: str) -> object:
    page = client.get(f"/users/{name}")
    assert page.status_code == 200
    return client.post(f"/users/{name}", data={"csrf": csrf_of(page.text), "act": action, **extra})


def test_disabling_stops_the_open_session_and_the_api_token_at_the_next_request(
    node: Node,
) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    officer, _ = first_log_in(node, "dora", "duty_officer")
    token = users.create_token(node.store, "dora", "desk script", "read", actor="ada", at=T0)
    bearer = {"Authorization": f"Bearer {token}"}
    assert officer.get("/desk").status_code == 200
    assert node.client().get("/api/v1/requests", headers=bearer).status_code == 200

    done = act(admin, "dora", "disable")
    assert done.status_code == 200  # type: ignore[attr-defined]
    text = visible(done.text)  # type: ignore[attr-defined]
    assert "dora was disabled: their sessions ended" in text

    # The very next requests: the page sends to the log-in, the API answers 401.
    refused = officer.get("/desk")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    api = node.client().get("/api/v1/requests", headers=bearer)
    assert api.status_code == 401
    # Enabled again, the token works; the old cookie does not come back.
    act(admin, "dora", "enable")
    assert node.client().get("/api/v1/requests", headers=bearer).status_code == 200
    assert officer.get("/desk").status_code == 303


def test_a_new_role_applies_at_the_next_request(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    officer, _ = first_log_in(node, "dora", "duty_officer")
    token = users.create_token(node.store, "dora", "script", "read", actor="ada", at=T0)
    bearer = {"Authorization": f"Bearer {token}"}
    assert officer.get("/desk").status_code == 200
    done = act(admin, "dora", "role", role="requester")
    assert "dora now has the role Requester, from their next request." in visible(done.text)  # type: ignore[attr-defined]
    assert officer.get("/desk").status_code == 403  # a requester has no desk
    assert officer.get("/requests").status_code == 200
    assert node.client().get("/api/v1/audit", headers=bearer).status_code == 403
    assert accounts.user_info(node.store, "dora").role == "requester"


def test_the_list_shows_each_user_and_nothing_internal(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    first_log_in(node, "dora", "duty_officer")
    users.create_user(node.store, "newbie", "requester", actor="ada", at=T0, password=INITIAL)
    listed = admin.get("/users")
    assert listed.status_code == 200 and 'aria-current="page"' in listed.text
    text = visible(listed.text)
    for seen in (
        "dora",
        "Duty officer (24/7)",
        "Active",
        "Set up",
        "Not yet: set up at next log-in",
    ):
        assert seen in text, seen
    assert "Never" in text  # newbie has not logged in
    for internal in ("node_admin", "duty_officer", "hanoinet user", "--", "reset_totp"):
        assert internal not in text, internal
    page = admin.get("/users/dora")
    for internal in ("node_admin", "duty_officer", "hanoinet user", "--yes", "end_sessions"):
        assert internal not in visible(page.text), internal
    assert admin.get("/").headers["location"] == "/users"


def test_end_sessions_says_what_it_ended(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    officer, secret = first_log_in(node, "dora", "duty_officer")
    others = []
    for k in (1, 2):
        node.at(timedelta(seconds=30 * k))
        other = node.client()
        post_login(other, "dora", NEW, pyotp.TOTP(secret).at(node.clock["now"]))
        others.append(other)
    users.create_token(node.store, "dora", "script", "read", actor="ada", at=T0)
    done = act(admin, "dora", "end_sessions")
    text = " ".join(visible(done.text).split())  # type: ignore[attr-defined]
    assert "The sessions of dora were ended; they can log in again." in text
    assert "3 sessions ended. 1 API token revoked." in text
    assert all(c.get("/desk").status_code == 303 for c in (officer, *others))
    assert admin.get("/users").status_code == 200  # the administrator's own session stays


def test_reset_shows_a_one_time_password_that_opens_the_set_up(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    officer, _ = first_log_in(node, "dora", "duty_officer")
    done = act(admin, "dora", "reset_totp")
    found = re.search(r'<code class="secret" dir="ltr">([^<]+)</code>', done.text)  # type: ignore[attr-defined]
    assert found is not None
    assert done.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
    assert officer.get("/desk").status_code == 303
    node.at(timedelta(minutes=1))
    fresh = node.client()
    started = post_login(fresh, "dora", found.group(1))
    assert started.status_code == 303 and started.headers["location"] == "/login/setup"
    # The page of the user now shows the authenticator as not set up, and no password again.
    again = admin.get("/users/dora")
    assert "Not yet: set up at next log-in" in again.text and found.group(1) not in again.text


def test_remove_needs_its_box_ticked_and_keeps_the_user_listed(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    officer, _ = first_log_in(node, "dora", "duty_officer")
    unticked = act(admin, "dora", "remove")
    assert unticked.status_code == 400  # type: ignore[attr-defined]
    assert field_error(unticked.text, "remove") == (  # type: ignore[attr-defined]
        "Tick the box to confirm that dora is to be removed for good."
    )
    assert '<a href="#remove">' in unticked.text  # type: ignore[attr-defined]
    assert officer.get("/desk").status_code == 200
    done = act(admin, "dora", "remove", confirm="yes")
    text = " ".join(visible(done.text).split())  # type: ignore[attr-defined]
    assert "dora was removed: they can never log in again." in text
    assert "1 session ended. 0 API tokens revoked." in text
    assert officer.get("/desk").status_code == 303
    assert "Removed" in visible(admin.get("/users").text)
    page = admin.get("/users/dora")
    assert "This user was removed." in page.text and 'name="act"' not in page.text


def test_refusals_are_at_their_form_in_the_readers_language(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    refused = act(admin, "ada", "disable")
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert field_error(refused.text, "disable") == (  # type: ignore[attr-defined]
        "You cannot do this to your own account. Ask another node administrator."
    )
    demoted = act(admin, "ada", "role", role="supervisor")
    assert field_error(demoted.text, "role") == (  # type: ignore[attr-defined]
        "ada is the last active node administrator. Add or enable another node administrator first."
    )
    assert accounts.user_info(node.store, "ada").role == "node_admin"
    assert admin.get("/language", params={"lang": "fr", "next": "/users/ada"}).status_code == 303
    french = act(admin, "ada", "disable")
    message = field_error(french.text, "disable")  # type: ignore[attr-defined]
    assert message and "administrateur" in message and "You cannot" not in message
    assert admin.get("/users/ghost").status_code == 404


def test_forms_need_the_form_token(node: Node) -> None:
    admin, _ = first_log_in(node, "ada", "node_admin")
    first_log_in(node, "dora", "duty_officer")
    forged = admin.post("/users/dora", data={"csrf": "forged", "act": "disable"})
    assert forged.status_code == 400 and "This form had expired" in forged.text
    assert accounts.user_info(node.store, "dora").state == "active"
