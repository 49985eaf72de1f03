"""The user lifecycle: disable, enable, change a role, reset the authenticator, end sessions and
tokens, remove; each audited, each in force on the user's next request, none leaving the node
without an administrator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from hanoinet.errors import AccountRefused, InvalidInput, LoginRefused
from hanoinet.services import accounts
from hanoinet.services import users as users_service
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import api_tokens, login_throttle, sessions, users

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)
NEW = "correct horse battery staple"
INITIAL = "initial-password-given-once"


def enrolled(store: Store, name: str, role: str = "duty_officer") -> str:
    """A user who finished the first log-in at T0 (and logged out); returns the TOTP secret."""
    users_service.create_user(store, name, role, actor="ada", at=T0, password=INITIAL)
    half = users_service.log_in(store, name, INITIAL, at=T0)
    assert half.pending_totp is not None
    full = users_service.set_up(
        store, half.token, NEW, NEW, pyotp.TOTP(half.pending_totp).at(T0), at=T0
    )
    users_service.log_out(store, full.token, at=T0)
    return half.pending_totp


def logged_in(store: Store, name: str, secret: str, at: datetime) -> users_service.Session:
    return users_service.log_in(store, name, NEW, code=pyotp.TOTP(secret).at(at), at=at)


def audit(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    with store.engine.connect() as conn:
        return [
            (e.actor, e.action, e.target, json.loads(e.detail)) for e in audit_log.entries(conn)
        ]


def chain_ok(store: Store) -> bool:
    with store.engine.connect() as conn:
        return audit_log.verify(conn).ok


@pytest.fixture
def node(store: Store) -> Store:
    """Ada administers the node; Dora is a duty officer."""
    users_service.create_user(store, "ada", "node_admin", actor="node init", at=T0)
    return store


def test_disabling_stops_a_session_and_a_token_at_the_next_request(node: Store) -> None:
    secret = enrolled(node, "dora")
    at = T0 + timedelta(hours=1)
    session = logged_in(node, "dora", secret, at)
    token = users_service.create_token(node, "dora", "desk script", "act", actor="ada", at=at)
    assert users_service.session(node, session.token, at=at) is not None
    assert users_service.token_principal(node, token, at=at) is not None

    info = accounts.disable(node, "dora", actor="ada", at=at)
    assert (info.state, info.sessions, info.api_tokens) == ("disabled", 0, 1)
    assert users_service.session(node, session.token, at=at) is None
    assert users_service.token_principal(node, token, at=at) is None
    # No log-in either, with the one answer of every failure.
    later = at + STEP
    with pytest.raises(LoginRefused) as refused:
        logged_in(node, "dora", secret, later)
    assert refused.value.message == users_service.WRONG
    with pytest.raises(InvalidInput, match="disabled"):
        users_service.create_token(node, "dora", "another", "read", actor="ada", at=at)
    assert audit(node)[-2][:3] == ("ada", "disable_user", "user:dora")
    assert audit(node)[-2][3] == {"sessions_ended": 1}

    # Enabled again: the same password and authenticator, the token works again, the old
    # cookie does not (its session was deleted).
    accounts.enable(node, "dora", actor="ada", at=later)
    assert users_service.token_principal(node, token, at=later) is not None
    assert users_service.session(node, session.token, at=later) is None
    assert logged_in(node, "dora", secret, later + STEP).stage == "full"
    assert [a for _, a, _, _ in audit(node)][-3:-1] == ["login_failed", "enable_user"]
    assert chain_ok(node)


def test_a_new_role_applies_at_the_next_request(node: Store) -> None:
    secret = enrolled(node, "dora")
    at = T0 + timedelta(hours=1)
    session = logged_in(node, "dora", secret, at)
    token = users_service.create_token(node, "dora", "x", "read", actor="ada", at=at)
    info = accounts.change_role(node, "dora", "supervisor", actor="ada", at=at)
    assert info.role == "supervisor" and info.sessions == 1 and info.api_tokens == 1
    found = users_service.session(node, session.token, at=at)
    assert found is not None and found.role == "supervisor"
    by_token = users_service.token_principal(node, token, at=at)
    assert by_token is not None and by_token.role == "supervisor"
    assert audit(node)[-1] == (
        "ada",
        "change_role",
        "user:dora",
        {"role": "supervisor", "was": "duty_officer"},
    )
    with pytest.raises(AccountRefused, match=r"^role: 'dora' has this role already") as same:
        accounts.change_role(node, "dora", "supervisor", actor="ada", at=at)
    assert same.value.reason == "same_role"
    with pytest.raises(AccountRefused, match=r"^role: unknown role 'emperor'"):
        accounts.change_role(node, "dora", "emperor", actor="ada", at=at)


def test_end_sessions_ends_every_session_and_token_of_the_user_only(node: Store) -> None:
    secret = enrolled(node, "dora")
    other = enrolled(node, "omar")
    at = T0 + timedelta(hours=1)
    mine = [logged_in(node, "dora", secret, at + k * STEP) for k in range(3)]
    theirs = logged_in(node, "omar", other, at)
    tokens = [
        users_service.create_token(node, "dora", f"t{k}", "read", actor="ada", at=at)
        for k in range(2)
    ]
    users_service.revoke_token(node, tokens[1][:10], actor="ada", at=at)
    kept = users_service.create_token(node, "omar", "theirs", "read", actor="ada", at=at)
    later = at + timedelta(minutes=5)
    ended = accounts.end_sessions(node, "dora", actor="ada", at=later)
    assert ended.as_dict() == {"username": "dora", "sessions": 3, "api_tokens": 1}
    assert all(users_service.session(node, s.token, at=later) is None for s in mine)
    assert users_service.token_principal(node, tokens[0], at=later) is None
    assert users_service.session(node, theirs.token, at=later) is not None
    assert users_service.token_principal(node, kept, at=later) is not None
    with node.engine.connect() as conn:
        revoked = conn.execute(
            select(api_tokens.c.revoked_at).where(api_tokens.c.name == "t0")
        ).scalar_one()
    assert revoked.replace(tzinfo=UTC) == later
    assert audit(node)[-1] == (
        "ada",
        "end_sessions",
        "user:dora",
        {"sessions": 3, "api_tokens": 1},
    )
    # Dora logs in again as before: ending sessions is no lock.
    assert logged_in(node, "dora", secret, later + STEP).stage == "full"


def test_reset_totp_makes_the_user_set_up_again_with_a_one_time_password(node: Store) -> None:
    secret = enrolled(node, "dora")
    at = T0 + timedelta(hours=1)
    session = logged_in(node, "dora", secret, at)
    token = users_service.create_token(node, "dora", "x", "read", actor="ada", at=at)
    one_time = accounts.reset_totp(node, "dora", actor="ada", at=at)
    assert len(one_time) >= 20
    assert users_service.session(node, session.token, at=at) is None
    assert users_service.token_principal(node, token, at=at) is not None  # tokens stay
    info = accounts.user_info(node, "dora")
    assert info.totp is False and info.state == "active"
    later = at + STEP
    # The old password and authenticator open nothing; the stolen password alone no set-up.
    for password, code in ((NEW, pyotp.TOTP(secret).at(later)), (NEW, "")):
        with pytest.raises(LoginRefused):
            users_service.log_in(node, "dora", password, code=code, at=later, client=password[:3])
        later += STEP
    half = users_service.log_in(node, "dora", one_time, at=later, client="pc")
    assert half.stage == "setup" and half.pending_totp and half.pending_totp != secret
    full = users_service.set_up(
        node, half.token, NEW + "!", NEW + "!", pyotp.TOTP(half.pending_totp).at(later), at=later
    )
    assert full.stage == "full"
    entry = next(e for e in audit(node) if e[1] == "reset_totp")
    assert entry == ("ada", "reset_totp", "user:dora", {"sessions_ended": 1})
    assert one_time not in json.dumps(audit(node))


def test_remove_keeps_a_tombstone_the_name_and_the_audit_trail(node: Store) -> None:
    secret = enrolled(node, "dora")
    at = T0 + timedelta(hours=1)
    session = logged_in(node, "dora", secret, at)
    token = users_service.create_token(node, "dora", "x", "act", actor="ada", at=at)
    ended = accounts.remove(node, "dora", actor="ada", at=at)
    assert (ended.sessions, ended.api_tokens) == (1, 1)
    assert users_service.session(node, session.token, at=at) is None
    assert users_service.token_principal(node, token, at=at) is None
    with pytest.raises(LoginRefused) as refused:
        logged_in(node, "dora", secret, at + STEP)
    assert refused.value.message == users_service.WRONG
    # The row stays, with nothing that could open a log-in.
    with node.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "dora")).one()
        throttles = conn.execute(
            select(login_throttle).where(login_throttle.c.username == "dora")
        ).all()
    assert row.state == "removed" and row.totp_secret is None
    assert row.password_hash == accounts.UNUSABLE_HASH
    assert not users_service.check_password(node, "dora", NEW)
    assert throttles == []
    # The audit entries naming Dora are all there, and the chain holds.
    named = [a for actor, a, target, _ in audit(node) if "dora" in (actor, target[5:])]
    assert named[:4] == ["create_user", "set_up_login", "log_in", "log_out"]
    assert named[-2:] == ["remove_user", "login_failed"] and chain_ok(node)
    # The name is not given to anyone else, and a removed user stays removed.
    with pytest.raises(InvalidInput, match="was removed and a name is never used again"):
        users_service.create_user(node, "dora", "requester", actor="ada", at=at)
    for act in (accounts.enable, accounts.disable, accounts.end_sessions, accounts.reset_totp):
        with pytest.raises(AccountRefused, match="was removed") as again:
            act(node, "dora", actor="ada", at=at)
        assert again.value.reason == "removed"
    with pytest.raises(AccountRefused, match="was removed"):
        accounts.remove(node, "dora", actor="ada", at=at)
    listed = {u.username: u for u in accounts.list_users(node)}
    assert listed["dora"].state == "removed" and listed["dora"].sessions == 0


def test_the_last_node_administrator_stays(node: Store) -> None:
    before = audit(node)
    for act, words in (
        (lambda: accounts.disable(node, "ada", actor="root", at=T0), "cannot be disabled"),
        (lambda: accounts.remove(node, "ada", actor="root", at=T0), "cannot be removed"),
        (
            lambda: accounts.change_role(node, "ada", "supervisor", actor="root", at=T0),
            "cannot be given another role",
        ),
    ):
        with pytest.raises(AccountRefused, match="last active node administrator") as refused:
            act()
        assert words in refused.value.message and refused.value.reason == "last_admin"
        assert refused.value.message.startswith("user: 'ada' ")
    assert audit(node) == before  # a refused act writes nothing
    # With a second administrator, the first may go (by the other's hand).
    users_service.create_user(node, "bea", "node_admin", actor="ada", at=T0)
    accounts.disable(node, "ada", actor="bea", at=T0)
    # A disabled administrator does not count: Bea is now the last active one.
    with pytest.raises(AccountRefused, match="last active"):
        accounts.change_role(node, "bea", "supervisor", actor="root", at=T0)
    accounts.enable(node, "ada", actor="bea", at=T0)
    accounts.change_role(node, "bea", "supervisor", actor="ada", at=T0)


def test_an_administrator_does_not_disable_or_remove_themselves(node: Store) -> None:
    users_service.create_user(node, "bea", "node_admin", actor="ada", at=T0)
    for act in (accounts.disable, accounts.remove):
        with pytest.raises(AccountRefused, match="your own account") as refused:
            act(node, "ada", actor="ada", at=T0)
        assert refused.value.reason == "yourself"
    assert accounts.user_info(node, "ada").state == "active"


def test_unknown_users_and_acts_that_change_nothing_are_refused(node: Store) -> None:
    acts = (
        accounts.disable,
        accounts.enable,
        accounts.end_sessions,
        accounts.reset_totp,
        accounts.remove,
    )
    for act in acts:
        with pytest.raises(AccountRefused, match=r"^user: no user 'ghost' on this node"):
            act(node, "ghost", actor="ada", at=T0)
    with pytest.raises(AccountRefused, match="no user 'ghost'") as unknown:
        accounts.change_role(node, "ghost", "supervisor", actor="ada", at=T0)
    assert unknown.value.reason == "unknown"
    enrolled(node, "dora")
    with pytest.raises(AccountRefused, match="active already"):
        accounts.enable(node, "dora", actor="ada", at=T0)
    accounts.disable(node, "dora", actor="ada", at=T0)
    with pytest.raises(AccountRefused, match="disabled already"):
        accounts.disable(node, "dora", actor="ada", at=T0)


def test_the_list_shows_state_second_factor_last_log_in_and_counts(node: Store) -> None:
    secret = enrolled(node, "dora")
    at = T0 + timedelta(hours=1)
    logged_in(node, "dora", secret, at)
    users_service.create_token(node, "dora", "x", "read", actor="ada", at=at)
    listed = {u.username: u.as_dict() for u in accounts.list_users(node)}
    assert listed["dora"] == {
        "username": "dora",
        "role": "duty_officer",
        "state": "active",
        "second_factor": True,
        "created_at": T0.isoformat(),
        "last_log_in": at.isoformat(),
        "sessions": 1,
        "api_tokens": 1,
    }
    assert listed["ada"]["second_factor"] is False and listed["ada"]["last_log_in"] is None
    # A half session (set-up in progress) is no open session.
    users_service.create_user(node, "newbie", "requester", actor="ada", at=T0, password=INITIAL)
    users_service.log_in(node, "newbie", INITIAL, at=T0)
    with node.engine.connect() as conn:
        assert conn.execute(select(sessions).where(sessions.c.username == "newbie")).first()
    assert accounts.user_info(node, "newbie").sessions == 0


def test_a_one_time_password_opens_the_set_up_for_a_week_then_a_reset_gives_another(
    node: Store,
) -> None:
    users_service.create_user(node, "newbie", "requester", actor="ada", at=T0, password=INITIAL)
    valid = users_service.ONE_TIME_VALID
    assert valid == timedelta(days=7)
    last = T0 + valid - timedelta(seconds=1)
    assert users_service.log_in(node, "newbie", INITIAL, at=last, client="a").stage == "setup"
    with pytest.raises(LoginRefused) as refused:
        users_service.log_in(node, "newbie", INITIAL, at=T0 + valid, client="b")
    assert refused.value.message == users_service.WRONG
    assert audit(node)[-1] == (
        "newbie",
        "login_failed",
        "user:newbie",
        {"step": "password", "reason": "expired"},
    )
    later = T0 + timedelta(days=30)
    again = accounts.reset_totp(node, "newbie", actor="ada", at=later)
    when = later + valid - STEP  # the new one-time password's last days: still good
    half = users_service.log_in(node, "newbie", again, at=when, client="c")
    assert half.stage == "setup" and half.pending_totp is not None
    done = users_service.set_up(
        node, half.token, NEW, NEW, pyotp.TOTP(half.pending_totp).at(when), at=when
    )
    assert done.stage == "full"
    # Once set up, the user's own password does not expire.
    far = when + timedelta(days=400)
    code = pyotp.TOTP(half.pending_totp).at(far)
    assert users_service.log_in(node, "newbie", NEW, code=code, at=far).stage == "full"
