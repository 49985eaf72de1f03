"""Users: the first administrator, argon2id hashes, one audited transaction; log-in with a
second factor, the first log-in's set-up, lockout, sessions and API tokens."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from hanoinet.errors import InvalidInput, LoginRefused
from hanoinet.services import access
from hanoinet.services import users as users_service
from hanoinet.services.access import Principal
from hanoinet.services.users import check_password, create_user
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import api_tokens, sessions, users

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)
"""One TOTP time step: a code is accepted once, so a log-in after another needs a later step."""
T1 = T0 + STEP
"""The first moment after ``enrolled``'s set-up (at T0) whose code opens a log-in."""
REAL_HASHER = users_service._HASHER
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the cheapest parameters: the flows below hash and verify dozens of times
    (the real parameters are checked in ``test_the_hash_uses_argon2_cffi_defaults``)."""
    monkeypatch.setattr(users_service, "_HASHER", FAST_HASHER)


def test_the_hash_uses_argon2_cffi_defaults(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_service, "_HASHER", REAL_HASHER)
    create_user(store, "admin", "node_admin", actor="t", at=T0, password="p" * 20)
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert users_service._DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_admin_password_is_hashed_with_argon2id_and_checks(store: Store) -> None:
    password = create_user(store, "admin", "node_admin", actor="node init", at=T0)
    assert len(password) >= 20
    with store.engine.connect() as conn:
        row = conn.execute(select(users)).one()
    assert row.password_hash.startswith("$argon2id$") and password not in row.password_hash
    assert row.must_change_password is True
    assert check_password(store, "admin", password)
    assert not check_password(store, "admin", password + "x")
    assert not check_password(store, "nobody", password)
    with store.transaction() as conn:
        entries = list(audit_log.entries(conn))
        assert audit_log.verify(conn).ok
    assert [(e.action, e.target) for e in entries] == [("create_user", "user:admin")]
    assert password not in entries[0].detail


@pytest.mark.parametrize(
    ("username", "role", "words"),
    [("admin", "emperor", "unknown role"), ("", "node_admin", "1 to 120 characters")],
)
def test_bad_users_are_refused(store: Store, username: str, role: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        create_user(store, username, role, actor="t", at=T0)


def test_a_user_name_is_taken_once(store: Store) -> None:
    create_user(store, "admin", "node_admin", actor="t", at=T0, password="first-password-123")
    with pytest.raises(InvalidInput, match="exists already"):
        create_user(store, "admin", "duty_officer", actor="t", at=T0)
    assert check_password(store, "admin", "first-password-123")


# --- log-in: password, then the second factor --------------------------------------------------

NEW = "correct horse battery staple"
INITIAL = "initial-password-given-once"


def wrong_code(secret: str, at: datetime) -> str:
    """A six-digit code the authenticator does not show around ``at`` (window of one step)."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(at + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def enrolled(store: Store, name: str = "dora", role: str = "duty_officer") -> str:
    """A user who finished the first log-in at T0 (and logged out); returns the TOTP secret."""
    create_user(store, name, role, actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, name, INITIAL, at=T0)
    assert half.pending_totp is not None
    full = users_service.set_up(
        store, half.token, NEW, NEW, pyotp.TOTP(half.pending_totp).at(T0), at=T0
    )
    users_service.log_out(store, full.token, at=T0)
    return half.pending_totp


def full_session(store: Store, name: str, secret: str, at: datetime) -> users_service.Session:
    half = users_service.log_in(store, name, NEW, at=at)
    return users_service.second_factor(store, half.token, pyotp.TOTP(secret).at(at), at=at)


def user_row(store: Store, name: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(users).where(users.c.username == name)).one()


def session_rows(store: Store) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(sessions)))


def audit_actions(store: Store) -> list[tuple[str, str, str]]:
    with store.engine.connect() as conn:
        return [(e.actor, e.action, e.target) for e in audit_log.entries(conn)]


def audit_text(store: Store) -> str:
    with store.engine.connect() as conn:
        return "\n".join(
            f"{e.actor} {e.action} {e.target} {e.legal_basis} {e.detail}"
            for e in audit_log.entries(conn)
        )


def chain_ok(store: Store) -> bool:
    with store.engine.connect() as conn:
        return audit_log.verify(conn).ok


def test_the_designed_limits() -> None:
    """The numbers the docstring and issue 6 give (the tests below count relative to them)."""
    assert users_service.MAX_FAILURES == 5
    limits = (users_service.LOCKOUT, users_service.IDLE, users_service.LIFETIME)
    assert limits == (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=12))
    assert users_service.STEP_TIME.total_seconds() == 600
    assert users_service.MIN_PASSWORD == 12


def test_first_log_in_is_the_set_up_then_password_and_code(store: Store) -> None:
    create_user(store, "dora", "duty_officer", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "dora", INITIAL, at=T0)
    assert (half.username, half.role, half.stage) == ("dora", "duty_officer", "setup")
    assert half.pending_totp and len(half.pending_totp) >= 16
    assert half.token != half.csrf and len(half.token) >= 32
    # Only the SHA-256 of the cookie is stored.
    (stored,) = session_rows(store)
    assert stored.token_hash == hashlib.sha256(half.token.encode()).hexdigest()
    assert half.token not in {str(v) for v in stored}
    uri = users_service.totp_uri(half)
    assert uri.startswith("otpauth://totp/") and "issuer=hanoinet" in uri
    assert f"secret={half.pending_totp}" in uri and "dora" in uri
    # The set-up is not a full session yet: it opens nothing.
    assert users_service.session(store, half.token, at=T0).stage == "setup"  # type: ignore[union-attr]

    code = pyotp.TOTP(half.pending_totp).at(T0)
    full = users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
    assert (full.stage, full.username, full.role) == ("full", "dora", "duty_officer")
    assert full.token != half.token and full.csrf != half.csrf  # a new cookie: no fixation
    assert full.pending_totp is None
    assert users_service.session(store, half.token, at=T0) is None
    assert users_service.session(store, full.token, at=T0) == full
    row = user_row(store, "dora")
    assert row.must_change_password is False and row.totp_secret == half.pending_totp
    assert check_password(store, "dora", NEW) and not check_password(store, "dora", INITIAL)
    assert full.principal == Principal("dora", "duty_officer")

    # The next log-in: the password, then a code (no set-up any more).
    later = T0 + timedelta(days=1)
    again = users_service.log_in(store, "dora", NEW, at=later)
    assert again.stage == "password" and again.pending_totp is None
    with pytest.raises(InvalidInput):
        users_service.totp_uri(again)
    done = users_service.second_factor(
        store, again.token, pyotp.TOTP(half.pending_totp).at(later), at=later
    )
    assert done.stage == "full" and done.token not in (again.token, full.token)
    assert users_service.session(store, again.token, at=later) is None
    actions = [a for _, a, _ in audit_actions(store)]
    assert actions == ["create_user", "set_up_login", "log_in", "log_in"]
    assert chain_ok(store)


def test_a_half_session_is_used_once(store: Store) -> None:
    secret = enrolled(store)
    half = users_service.log_in(store, "dora", NEW, at=T1)
    code = pyotp.TOTP(secret).at(T1)
    users_service.second_factor(store, half.token, code, at=T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.second_factor(store, half.token, code, at=T1)


def test_a_full_session_is_no_second_factor_step(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.second_factor(store, full.token, pyotp.TOTP(secret).at(T1), at=T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.set_up(store, full.token, "another long one", "another long one", "1", at=T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.second_factor(store, "made-up", pyotp.TOTP(secret).at(T1), at=T1)


def test_the_second_step_expires(store: Store) -> None:
    secret = enrolled(store)
    half = users_service.log_in(store, "dora", NEW, at=T0)
    late = T0 + users_service.STEP_TIME
    with pytest.raises(LoginRefused, match="expired"):
        users_service.second_factor(store, half.token, pyotp.TOTP(secret).at(late), at=late)
    assert user_row(store, "dora").failed_logins == 0  # an expired step is no wrong code
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    setup = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert setup.pending_totp is not None
    with pytest.raises(LoginRefused, match="expired"):
        users_service.set_up(
            store, setup.token, NEW, NEW, pyotp.TOTP(setup.pending_totp).at(late), at=late
        )
    assert user_row(store, "newbie").must_change_password is True


def test_a_code_of_the_step_before_is_accepted_two_steps_before_is_not(store: Store) -> None:
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=2)
    half = users_service.log_in(store, "dora", NEW, at=at)
    assert (
        users_service.second_factor(
            store, half.token, totp.at(at - timedelta(seconds=30)), at=at
        ).stage
        == "full"
    )
    half = users_service.log_in(store, "dora", NEW, at=at)
    current = {totp.at(at + timedelta(seconds=s)) for s in (-30, 0, 30)}
    # the newest code from before the accepted window that differs from every accepted one
    old = next(
        code
        for code in (totp.at(at - timedelta(seconds=30 * k)) for k in range(3, 20))
        if code not in current
    )
    with pytest.raises(LoginRefused):
        users_service.second_factor(store, half.token, old, at=at)
    # A wrong code ends the half session: the password comes first again.
    with pytest.raises(LoginRefused, match="expired"):
        users_service.second_factor(store, half.token, totp.at(at), at=at)
    assert user_row(store, "dora").failed_logins == 1


# --- a code is accepted once (RFC 6238, section 5.2) -------------------------------------------


def failed_codes(store: Store) -> list[dict[str, Any]]:
    """The details of the audit entries of refused second steps."""
    with store.engine.connect() as conn:
        return [json.loads(e.detail) for e in audit_log.entries(conn) if e.action == "login_failed"]


def test_the_same_code_twice_is_refused_the_second_time_like_a_wrong_code(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    assert full_session(store, "dora", secret, at).stage == "full"
    # Replayed at once, and a step later while the code is still in the window (step before).
    answers = []
    for when in (at, at + STEP):
        half = users_service.log_in(store, "dora", NEW, at=when)
        with pytest.raises(LoginRefused) as replayed:
            users_service.second_factor(store, half.token, code, at=when)
        answers.append(replayed.value.message)
        assert users_service.session(store, half.token, at=when) is None  # the password again
    half = users_service.log_in(store, "dora", NEW, at=at + STEP)
    with pytest.raises(LoginRefused) as wrong:
        users_service.second_factor(store, half.token, wrong_code(secret, at + STEP), at=at + STEP)
    assert answers == [wrong.value.message] * 2 and wrong.value.message == users_service.WRONG
    assert user_row(store, "dora").failed_logins == 3  # a replay counts towards the lockout
    # The audit log tells a replay from a wrong code; the person at the keyboard was not told.
    assert failed_codes(store) == [
        {"step": "code", "reason": "code already used"},
        {"step": "code", "reason": "code already used"},
        {"step": "code"},
    ]
    assert code not in audit_text(store)
    assert chain_ok(store)


def test_replayed_codes_lock_the_account_like_wrong_ones(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    full_session(store, "dora", secret, at)
    for _ in range(users_service.MAX_FAILURES - 1):
        half = users_service.log_in(store, "dora", NEW, at=at)
        with pytest.raises(LoginRefused, match="not right"):
            users_service.second_factor(store, half.token, code, at=at)
    half = users_service.log_in(store, "dora", NEW, at=at)
    with pytest.raises(LoginRefused, match="locked until 04:15 UTC"):
        users_service.second_factor(store, half.token, code, at=at)


def test_a_code_of_an_earlier_step_after_a_later_one_is_refused(store: Store) -> None:
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=2)
    # The authenticator runs a step ahead: its code is accepted, and its step is the last one.
    half = users_service.log_in(store, "dora", NEW, at=at)
    assert users_service.second_factor(store, half.token, totp.at(at + STEP), at=at).stage == "full"
    assert user_row(store, "dora").totp_last_step == totp.timecode(at + STEP)
    # The code of the current step and of the step before were never used, but are older.
    for earlier in (at, at - STEP):
        half = users_service.log_in(store, "dora", NEW, at=at)
        with pytest.raises(LoginRefused) as refused:
            users_service.second_factor(store, half.token, totp.at(earlier), at=at)
        assert refused.value.message == users_service.WRONG
    assert [d.get("reason") for d in failed_codes(store)] == ["code already used"] * 2
    assert user_row(store, "dora").totp_last_step == totp.timecode(at + STEP)


def test_a_new_code_in_the_next_step_is_accepted(store: Store) -> None:
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=2)
    for step in range(3):
        when = at + step * STEP
        assert full_session(store, "dora", secret, when).stage == "full"
        assert user_row(store, "dora").totp_last_step == totp.timecode(when)
    assert user_row(store, "dora").failed_logins == 0 and failed_codes(store) == []


def test_the_set_up_code_cannot_open_the_next_log_in(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    totp = pyotp.TOTP(half.pending_totp)
    code = totp.at(T0)
    users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
    assert user_row(store, "newbie").totp_last_step == totp.timecode(T0)
    soon = T0 + timedelta(seconds=10)  # the same step: the code the set-up took
    again = users_service.log_in(store, "newbie", NEW, at=soon)
    with pytest.raises(LoginRefused) as refused:
        users_service.second_factor(store, again.token, code, at=soon)
    assert refused.value.message == users_service.WRONG
    assert failed_codes(store) == [{"step": "code", "reason": "code already used"}]
    # The next step's code opens it.
    assert full_session(store, "newbie", half.pending_totp, T1).stage == "full"


def test_two_log_ins_racing_with_one_code_are_accepted_once(store: Store) -> None:
    """The step is claimed by a conditional update in the log-in's transaction: a second log-in
    with the same code waits for that transaction and then finds the step taken."""
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    half = users_service.log_in(store, "dora", NEW, at=at)
    answers: list[str] = []

    def second() -> None:
        try:
            users_service.second_factor(store, half.token, code, at=at)
            answers.append("accepted")
        except LoginRefused as refused:
            answers.append(refused.message)

    with store.transaction() as conn:
        assert users_service._use_code(conn, "dora", secret, code, at) == "accepted"
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive(), "the second log-in did not wait for the first one's step"
    racer.join(timeout=10)
    assert answers == [users_service.WRONG]
    assert failed_codes(store) == [{"step": "code", "reason": "code already used"}]


def test_unknown_user_and_wrong_password_are_the_same_answer(store: Store) -> None:
    enrolled(store)
    with pytest.raises(LoginRefused) as unknown:
        users_service.log_in(store, "nobody", NEW, at=T0)
    with pytest.raises(LoginRefused) as wrong:
        users_service.log_in(store, "dora", NEW + "x", at=T0)
    with pytest.raises(LoginRefused) as empty:
        users_service.log_in(store, "dora", "", at=T0)
    assert unknown.value.message == wrong.value.message == empty.value.message
    assert unknown.value.message == users_service.WRONG
    assert "user name, password or code" in unknown.value.message
    # Failures are recorded even though the step was refused.
    assert user_row(store, "dora").failed_logins == 2
    log = audit_actions(store)
    assert ("unknown", "login_failed", "user:?") in log  # the typed name is not logged
    assert log.count(("dora", "login_failed", "user:dora")) == 2
    assert "nobody" not in audit_text(store)
    assert session_rows(store) == []


def test_lockout_after_five_failures_then_the_password_works_again(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    for i in range(users_service.MAX_FAILURES - 1):
        with pytest.raises(LoginRefused) as refused:
            users_service.log_in(store, "dora", f"wrong {i}", at=at)
        assert refused.value.message == users_service.WRONG
    with pytest.raises(LoginRefused) as fifth:
        users_service.log_in(store, "dora", "wrong again", at=at)
    assert "locked until 04:15 UTC" in fifth.value.message
    assert user_row(store, "dora").locked_until is not None
    # The right password does not open a locked account, up to the last second...
    for when in (at, at + timedelta(minutes=1), at + users_service.LOCKOUT - timedelta(seconds=1)):
        with pytest.raises(LoginRefused, match="locked until 04:15"):
            users_service.log_in(store, "dora", NEW, at=when)
    assert session_rows(store) == []  # no half session was opened
    info = {u.username: u for u in users_service.list_users(store, at=at)}
    assert info["dora"].locked_until == at + users_service.LOCKOUT
    # ...and does after LOCKOUT.
    after = at + users_service.LOCKOUT
    assert users_service.list_users(store, at=after)[0].locked_until is None
    full = full_session(store, "dora", secret, after)
    assert full.stage == "full"
    row = user_row(store, "dora")
    assert row.failed_logins == 0 and row.locked_until is None
    log = [a for _, a, _ in audit_actions(store)]
    assert log.count("login_failed") == 5 and log.count("lock_user") == 1
    assert log.count("login_refused_locked") == 3
    assert chain_ok(store)


def test_failures_count_in_a_row_and_codes_count_too(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    for _ in range(4):
        with pytest.raises(LoginRefused):
            users_service.log_in(store, "dora", "not it", at=at)
    full_session(store, "dora", secret, at)  # a full log-in resets the count
    assert user_row(store, "dora").failed_logins == 0
    for _ in range(3):
        with pytest.raises(LoginRefused):
            users_service.log_in(store, "dora", "not it", at=at)
    for _ in range(2):
        half = users_service.log_in(store, "dora", NEW, at=at)
        with pytest.raises(LoginRefused):
            users_service.second_factor(store, half.token, wrong_code(secret, at), at=at)
    with pytest.raises(LoginRefused, match="locked"):
        users_service.log_in(store, "dora", NEW, at=at)


def test_a_locked_account_takes_no_code_even_in_a_half_session_opened_before(
    store: Store,
) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    halves = [users_service.log_in(store, "dora", NEW, at=at) for _ in range(6)]
    for half in halves[:5]:
        with pytest.raises(LoginRefused):
            users_service.second_factor(store, half.token, wrong_code(secret, at), at=at)
    with pytest.raises(LoginRefused, match="locked"):
        users_service.log_in(store, "dora", NEW, at=at)
    with pytest.raises(LoginRefused):
        users_service.second_factor(store, halves[5].token, pyotp.TOTP(secret).at(at), at=at)


def test_wrong_set_up_codes_lock_the_set_up_too(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    bad = wrong_code(half.pending_totp, T0)
    for _ in range(users_service.MAX_FAILURES - 1):
        with pytest.raises(InvalidInput, match=r"^code: "):
            users_service.set_up(store, half.token, NEW, NEW, bad, at=T0)
    with pytest.raises(LoginRefused, match="locked"):
        users_service.set_up(store, half.token, NEW, NEW, bad, at=T0)
    with pytest.raises(LoginRefused):
        users_service.set_up(
            store, half.token, NEW, NEW, pyotp.TOTP(half.pending_totp).at(T0), at=T0
        )


def test_set_up_refuses_a_weak_or_mistyped_password_and_names_the_field(store: Store) -> None:
    short = "x" * (users_service.MIN_PASSWORD - 1)
    cases = [
        ("short pw", "short pw", "new_password"),
        (short, short, "new_password"),
        (NEW, NEW + " ", "repeat_password"),
        (INITIAL, INITIAL, "new_password"),  # the initial password, given by someone else
    ]
    for i, (new_password, repeated, field) in enumerate(cases):
        name = f"newbie{i}"
        create_user(store, name, "requester", actor="admin", at=T0, password=INITIAL)
        half = users_service.log_in(store, name, INITIAL, at=T0)
        assert half.pending_totp is not None
        code = pyotp.TOTP(half.pending_totp).at(T0)
        with pytest.raises(InvalidInput) as refused:
            users_service.set_up(store, half.token, new_password, repeated, code, at=T0)
        assert refused.value.message.startswith(f"{field}: "), new_password
        assert new_password not in refused.value.message
        row = user_row(store, name)
        assert row.must_change_password is True and row.totp_secret is None
        assert row.failed_logins == 0  # a password problem is no failed log-in
        assert check_password(store, name, INITIAL)
        # The set-up can go on: the same session, the same authenticator key.
        full = users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
        assert full.stage == "full" and user_row(store, name).totp_secret == half.pending_totp


def test_set_up_exactly_the_minimum_length_is_enough(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    exact = "y" * users_service.MIN_PASSWORD
    code = pyotp.TOTP(half.pending_totp).at(T0)
    assert users_service.set_up(store, half.token, exact, exact, code, at=T0).stage == "full"


def test_a_wrong_set_up_code_names_the_code_and_counts_as_a_failure(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    with pytest.raises(InvalidInput) as refused:
        users_service.set_up(store, half.token, NEW, NEW, wrong_code(half.pending_totp, T0), at=T0)
    assert refused.value.message.startswith("code: ")
    row = user_row(store, "newbie")
    assert row.failed_logins == 1 and row.totp_secret is None
    assert check_password(store, "newbie", INITIAL)  # nothing of the set-up was kept
    # Spaces around the code are forgiven.
    code = " " + pyotp.TOTP(half.pending_totp).at(T0) + " "
    assert users_service.set_up(store, half.token, NEW, NEW, code, at=T0).stage == "full"


# --- sessions ----------------------------------------------------------------------------------


def test_a_session_ends_after_an_hour_without_use(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    idle = users_service.IDLE
    assert users_service.session(store, full.token, at=T1 + idle - timedelta(seconds=1))
    # That use moved the idle clock on.
    moved = T1 + idle - timedelta(seconds=1)
    assert users_service.session(store, full.token, at=moved + idle - timedelta(seconds=1))
    assert users_service.session(store, full.token, at=moved + 2 * idle) is None
    # An ended session is deleted, not only refused.
    assert session_rows(store) == []
    assert users_service.session(store, full.token, at=moved) is None


def test_a_session_unused_for_exactly_idle_is_over(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    assert users_service.session(store, full.token, at=T1 + users_service.IDLE) is None


def test_use_is_recorded_at_most_once_a_minute(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    users_service.session(store, full.token, at=T1 + timedelta(seconds=30))
    (row,) = session_rows(store)
    assert row.last_seen_at.replace(tzinfo=UTC) == T1
    users_service.session(store, full.token, at=T1 + timedelta(minutes=5))
    (row,) = session_rows(store)
    assert row.last_seen_at.replace(tzinfo=UTC) == T1 + timedelta(minutes=5)


def test_a_session_ends_after_its_lifetime_however_busy(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    at = T1
    while at + timedelta(minutes=50) < T1 + users_service.LIFETIME:
        at += timedelta(minutes=50)
        assert users_service.session(store, full.token, at=at) is not None
    assert users_service.session(store, full.token, at=T1 + users_service.LIFETIME) is None


def test_no_cookie_or_a_made_up_one_is_no_session(store: Store) -> None:
    enrolled(store)
    assert users_service.session(store, None, at=T0) is None
    assert users_service.session(store, "", at=T0) is None
    assert users_service.session(store, "made-up", at=T0) is None


def test_log_out_ends_the_session_and_is_audited(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    other = full_session(store, "dora", secret, T1 + STEP)
    users_service.log_out(store, full.token, at=T1 + timedelta(minutes=1))
    assert users_service.session(store, full.token, at=T1 + timedelta(minutes=1)) is None
    # Only that session: the other browser stays logged in.
    assert users_service.session(store, other.token, at=T1 + timedelta(minutes=1)) is not None
    before = audit_actions(store)
    assert before[-1] == ("dora", "log_out", "user:dora")
    users_service.log_out(store, "made-up", at=T1)  # nothing to end, nothing logged
    users_service.log_out(store, full.token, at=T1)
    assert audit_actions(store) == before


def test_preferences_reach_the_next_session_lookup(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    assert (full.locale, full.time_zone) == ("en", "UTC")
    users_service.set_preferences(store, "dora", locale="ar", time_zone="Asia/Riyadh", at=T1)
    found = users_service.session(store, full.token, at=T1)
    assert found is not None and (found.locale, found.time_zone) == ("ar", "Asia/Riyadh")
    assert audit_actions(store)[-1] == ("dora", "set_preferences", "user:dora")


def test_no_password_code_secret_or_cookie_is_ever_in_the_audit_log(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    secret = half.pending_totp
    bad = wrong_code(secret, T0)
    with pytest.raises(InvalidInput):
        users_service.set_up(store, half.token, NEW, NEW, bad, at=T0)
    code = pyotp.TOTP(secret).at(T0)
    full = users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
    with pytest.raises(LoginRefused):
        users_service.log_in(store, "newbie", "typo " + NEW, at=T0)
    api = users_service.create_token(store, "newbie", "ci", "read", actor="admin", at=T0)
    users_service.log_out(store, full.token, at=T0)
    text = audit_text(store)
    for secret_value in (INITIAL, NEW, "typo " + NEW, secret, half.token, half.csrf, full.token):
        assert secret_value not in text
    assert full.csrf not in text and api not in text and api[:10] in text
    with store.engine.connect() as conn:
        stored = " ".join(str(v) for r in conn.execute(select(users)) for v in r)
    assert INITIAL not in stored and NEW not in stored


# --- API tokens --------------------------------------------------------------------------------


def test_an_api_token_acts_as_its_user_within_its_scope(store: Store) -> None:
    create_user(store, "lara", "central_authority_officer", actor="admin", at=T0)
    reader = users_service.create_token(store, "lara", "reports", "read", actor="admin", at=T0)
    doer = users_service.create_token(store, "lara", "case system", "act", actor="admin", at=T0)
    assert reader.startswith("hn_") and doer.startswith("hn_") and reader != doer
    read_as = users_service.token_principal(store, reader, at=T0)
    act_as = users_service.token_principal(store, doer, at=T0)
    assert read_as == Principal("lara", "central_authority_officer", frozenset({"read"}))
    assert act_as == Principal("lara", "central_authority_officer", frozenset({"read", "act"}))
    assert read_as is not None and act_as is not None
    assert access.can(read_as, "cases.read") and not access.can(read_as, "cases.act")
    assert access.can(act_as, "cases.act")
    assert read_as.actor == "lara (API token)"
    with store.engine.connect() as conn:
        rows = list(conn.execute(select(api_tokens)))
    assert {r.token_hash for r in rows} == {
        hashlib.sha256(t.encode()).hexdigest() for t in (reader, doer)
    }
    assert {r.prefix for r in rows} == {reader[:10], doer[:10]}
    assert not any(t in str(tuple(r)) for r in rows for t in (reader, doer))
    created = [(a, t) for _, a, t in audit_actions(store) if a == "create_token"]
    assert created == [("create_token", "user:lara")] * 2


def test_a_token_follows_its_users_role(store: Store) -> None:
    create_user(store, "rita", "requester", actor="admin", at=T0)
    token = users_service.create_token(store, "rita", "script", "act", actor="admin", at=T0)
    with store.transaction() as conn:
        conn.execute(users.update().where(users.c.username == "rita").values(role="supervisor"))
    found = users_service.token_principal(store, token, at=T0)
    assert found is not None and found.role == "supervisor"
    assert not access.can(found, "cases.act")  # the role decides, whatever the scope


def test_unknown_tokens_are_nobody(store: Store) -> None:
    create_user(store, "lara", "central_authority_officer", actor="admin", at=T0)
    real = users_service.create_token(store, "lara", "x", "act", actor="admin", at=T0)
    for made_up in ("", "hn_", "hn_not-a-token", "not-even-prefixed", real[:-1], real + "x"):
        assert users_service.token_principal(store, made_up, at=T0) is None, made_up
    # The SHA-256 stored is no token either.
    assert (
        users_service.token_principal(store, hashlib.sha256(real.encode()).hexdigest(), at=T0)
        is None
    )
    assert users_service.token_principal(store, real, at=T0) is not None


def test_a_revoked_token_is_nobody_and_revocation_is_audited(store: Store) -> None:
    create_user(store, "lara", "central_authority_officer", actor="admin", at=T0)
    token = users_service.create_token(store, "lara", "ci", "act", actor="admin", at=T0)
    keep = users_service.create_token(store, "lara", "other", "read", actor="admin", at=T0)
    later = T0 + timedelta(days=3)
    info = users_service.revoke_token(store, token[:10], actor="ada", at=later)
    assert (info.prefix, info.name, info.username, info.scopes) == (token[:10], "ci", "lara", "act")
    assert info.revoked_at == later and info.created_at == T0
    assert users_service.token_principal(store, token, at=later) is None
    assert users_service.token_principal(store, keep, at=later) is not None
    assert audit_actions(store)[-1] == ("ada", "revoke_token", "user:lara")
    # Revoked once: a second revocation finds no live token.
    with pytest.raises(InvalidInput, match=r"^prefix: no live token"):
        users_service.revoke_token(store, token[:10], actor="ada", at=later)
    with pytest.raises(InvalidInput, match=r"^prefix: no live token"):
        users_service.revoke_token(store, "hn_nothing", actor="ada", at=later)


def test_bad_tokens_are_refused_and_write_nothing(store: Store) -> None:
    create_user(store, "lara", "central_authority_officer", actor="admin", at=T0)
    before = audit_actions(store)
    for username, name, scopes, words in (
        ("lara", "x", "write", r"^scopes: "),
        ("lara", "x", "read act", r"^scopes: "),
        ("lara", " ", "read", r"^name: "),
        ("lara", "n" * 121, "read", r"^name: "),
        ("ghost", "x", "read", r"^user: "),
    ):
        with pytest.raises(InvalidInput, match=words):
            users_service.create_token(store, username, name, scopes, actor="admin", at=T0)
    with store.engine.connect() as conn:
        assert list(conn.execute(select(api_tokens))) == []
    assert audit_actions(store) == before
