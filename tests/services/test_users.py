"""Users: the first administrator, argon2id hashes, one audited transaction; log-in with the
password and the code together, the first log-in's set-up, throttling, sessions and API
tokens."""

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
from hanoinet.store.schema import api_tokens, login_throttle, sessions, users

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)
"""One TOTP time step: a code is accepted once, so a log-in after another needs a later step."""
T1 = T0 + STEP
"""The first moment after ``enrolled``'s set-up (at T0) whose code opens a log-in."""
REAL_HASHER = users_service._HASHER


def test_the_hash_uses_argon2_cffi_defaults(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_service, "_HASHER", REAL_HASHER)
    create_user(store, "admin", "node_admin", actor="t", at=T0, password="p" * 20)
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert users_service._dummy_hash(REAL_HASHER).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


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


def full_session(
    store: Store, name: str, secret: str, at: datetime, client: str = ""
) -> users_service.Session:
    return users_service.log_in(
        store, name, NEW, code=pyotp.TOTP(secret).at(at), at=at, client=client
    )


def throttle_rows(store: Store) -> dict[tuple[str, str], Any]:
    with store.engine.connect() as conn:
        return {(r.username, r.client): r for r in conn.execute(select(login_throttle))}


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
    """The numbers docs/authentication.md gives (the tests below count relative to them)."""
    limits = (users_service.IDLE, users_service.LIFETIME)
    assert limits == (timedelta(hours=1), timedelta(hours=12))
    assert users_service.STEP_TIME.total_seconds() == 600
    assert (users_service.MIN_PASSWORD, users_service.MAX_PASSWORD) == (12, 128)
    delays = [users_service.throttle_delay(n).total_seconds() for n in range(13)]
    assert delays == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert users_service.throttle_delay(10_000) == timedelta(minutes=15)
    free = users_service.ACCOUNT_FREE
    assert free == 20
    account = [users_service.throttle_delay(n, free=free).total_seconds() for n in (20, 21, 22)]
    assert account == [0, 1, 2]
    assert (
        timedelta(hours=24),
        timedelta(days=30),
    ) == (users_service.FORGET, users_service.KNOWN_FOR)


def test_first_log_in_is_the_set_up_then_password_and_code_together(store: Store) -> None:
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
    assert row.last_login_at.replace(tzinfo=UTC) == T0

    # The next log-in: the password and the code together; the password alone opens nothing.
    later = T0 + timedelta(days=1)
    with pytest.raises(LoginRefused) as alone:
        users_service.log_in(store, "dora", NEW, at=later)
    assert alone.value.message == users_service.WRONG
    assert len(session_rows(store)) == 1  # the set-up's full session, no new one
    at = later + timedelta(seconds=1)
    done = full_session(store, "dora", half.pending_totp, at)
    assert done.stage == "full" and done.token != full.token and done.pending_totp is None
    actions = [a for _, a, _ in audit_actions(store)]
    assert actions == ["create_user", "set_up_login", "log_in", "login_failed", "log_in"]
    assert chain_ok(store)


def test_a_right_password_is_never_confirmed_without_its_right_code(store: Store) -> None:
    """Every combination but both right gets the one answer, and the password alone is never
    told apart: a wrong password with the right code claims nothing, so the code still opens
    the log-in with the right password."""
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=1)
    create_user(store, "gone", "requester", actor="admin", at=T0, password=INITIAL)
    with store.transaction() as conn:
        conn.execute(users.update().where(users.c.username == "gone").values(state="disabled"))
    attempts = [
        ("dora", NEW + "x", totp.at(at)),  # wrong password, right code
        ("dora", NEW, wrong_code(secret, at)),  # right password, wrong code
        ("dora", NEW, ""),  # right password, no code
        ("nobody", NEW, totp.at(at)),  # unknown user
        ("gone", INITIAL, ""),  # a disabled user with the right password
    ]
    answers = []
    for i, (name, password, code) in enumerate(attempts):
        with pytest.raises(LoginRefused) as refused:  # each from its own client: not throttled
            users_service.log_in(store, name, password, code=code, at=at, client=f"10.0.0.{i}")
        answers.append(refused.value.message)
    assert answers == [users_service.WRONG] * len(attempts)
    assert "password and code" in users_service.WRONG and "locked" not in users_service.WRONG
    assert session_rows(store) == []
    assert user_row(store, "dora").totp_last_step == totp.timecode(T0)  # nothing claimed
    assert full_session(store, "dora", secret, at, client="10.0.0.9").stage == "full"


def test_a_code_of_the_step_before_is_accepted_two_steps_before_is_not(store: Store) -> None:
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=2)
    before = totp.at(at - timedelta(seconds=30))
    assert users_service.log_in(store, "dora", NEW, code=before, at=at).stage == "full"
    current = {totp.at(at + timedelta(seconds=s)) for s in (-30, 0, 30)}
    # the newest code from before the accepted window that differs from every accepted one
    old = next(
        code
        for code in (totp.at(at - timedelta(seconds=30 * k)) for k in range(3, 20))
        if code not in current
    )
    later = at + STEP
    with pytest.raises(LoginRefused):
        users_service.log_in(store, "dora", NEW, code=old, at=later)
    assert throttle_rows(store)[("dora", users_service.client_key(""))].failures == 1


# --- a code is accepted once (RFC 6238, section 5.2) -------------------------------------------


def failed_codes(store: Store) -> list[dict[str, Any]]:
    """The details of the audit entries of refused log-ins."""
    with store.engine.connect() as conn:
        return [json.loads(e.detail) for e in audit_log.entries(conn) if e.action == "login_failed"]


def test_the_same_code_twice_is_refused_the_second_time_like_a_wrong_code(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    assert full_session(store, "dora", secret, at).stage == "full"
    # Replayed at once, and a step later while the code is still in the window (step before).
    answers = []
    for when, client in ((at, "a"), (at + STEP, "b")):
        with pytest.raises(LoginRefused) as replayed:
            users_service.log_in(store, "dora", NEW, code=code, at=when, client=client)
        answers.append(replayed.value.message)
    with pytest.raises(LoginRefused) as wrong:
        users_service.log_in(
            store, "dora", NEW, code=wrong_code(secret, at + STEP), at=at + STEP, client="c"
        )
    assert answers == [wrong.value.message] * 2 and wrong.value.message == users_service.WRONG
    # A replay counts towards the throttle like a wrong code.
    assert throttle_rows(store)[("dora", "*")].failures == 3
    # The audit log tells a replay from a wrong code; the person at the keyboard was not told.
    assert failed_codes(store) == [
        {"step": "code", "reason": "code already used"},
        {"step": "code", "reason": "code already used"},
        {"step": "code"},
    ]
    assert code not in audit_text(store)
    assert len(session_rows(store)) == 1  # the first log-in's, no other
    assert chain_ok(store)


def test_a_code_of_an_earlier_step_after_a_later_one_is_refused(store: Store) -> None:
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=2)
    # The authenticator runs a step ahead: its code is accepted, and its step is the last one.
    ahead = users_service.log_in(store, "dora", NEW, code=totp.at(at + STEP), at=at)
    assert ahead.stage == "full"
    assert user_row(store, "dora").totp_last_step == totp.timecode(at + STEP)
    # The code of the current step and of the step before were never used, but are older.
    for earlier, client in ((at, "a"), (at - STEP, "b")):
        with pytest.raises(LoginRefused) as refused:
            users_service.log_in(store, "dora", NEW, code=totp.at(earlier), at=at, client=client)
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
    assert failed_codes(store) == []
    assert all(r.failures == 0 for r in throttle_rows(store).values())


def test_the_set_up_code_cannot_open_the_next_log_in(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    totp = pyotp.TOTP(half.pending_totp)
    code = totp.at(T0)
    users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
    assert user_row(store, "newbie").totp_last_step == totp.timecode(T0)
    soon = T0 + timedelta(seconds=10)  # the same step: the code the set-up took
    with pytest.raises(LoginRefused) as refused:
        users_service.log_in(store, "newbie", NEW, code=code, at=soon)
    assert refused.value.message == users_service.WRONG
    assert failed_codes(store) == [{"step": "code", "reason": "code already used"}]
    # The next step's code opens it (after the one-second wait the failure set).
    assert full_session(store, "newbie", half.pending_totp, T1).stage == "full"


def test_two_log_ins_racing_with_one_code_are_accepted_once(store: Store) -> None:
    """The step is claimed by a conditional update in the log-in's transaction: a second log-in
    with the same code waits for that transaction and then finds the step taken."""
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    answers: list[str] = []

    def second() -> None:
        try:
            users_service.log_in(store, "dora", NEW, code=code, at=at)
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
    at = T0 + timedelta(hours=1)
    with pytest.raises(LoginRefused) as unknown:
        users_service.log_in(store, "nobody", NEW, at=at)
    with pytest.raises(LoginRefused) as wrong:
        users_service.log_in(store, "dora", NEW + "x", at=at)
    with pytest.raises(LoginRefused) as early:  # the wrong one just now asked for a second
        users_service.log_in(store, "dora", "", at=at)
    assert unknown.value.message == wrong.value.message == early.value.message
    assert unknown.value.message == users_service.WRONG
    log = audit_actions(store)
    assert ("unknown", "login_failed", "user:?") in log  # the typed name is not logged
    assert log.count(("dora", "login_failed", "user:dora")) == 2
    assert [d.get("reason") for d in failed_codes(store)] == [None, None, "too early"]
    assert "nobody" not in audit_text(store)
    assert session_rows(store) == []
    # No throttle is kept for names that are no one's (nothing grows with made-up names).
    assert {name for name, _ in throttle_rows(store)} == {"dora"}


class CountingHasher(PasswordHasher):
    """The real verification, counted: each answer must cost one argon2 verification."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


def test_every_refusal_costs_one_argon2_verification_like_a_wrong_password(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown user, wrong password, wrong code, a disabled or removed user and an attempt while
    throttled take the same path through argon2, so their times do not tell them apart."""
    secret = enrolled(store)
    create_user(store, "gone", "requester", actor="admin", at=T0, password=INITIAL)
    create_user(store, "away", "requester", actor="admin", at=T0, password=INITIAL)
    with store.transaction() as conn:
        conn.execute(users.update().where(users.c.username == "gone").values(state="removed"))
        conn.execute(users.update().where(users.c.username == "away").values(state="disabled"))
    hasher = CountingHasher()
    monkeypatch.setattr(users_service, "_HASHER", hasher)
    at = T0 + timedelta(hours=1)
    code = pyotp.TOTP(secret).at(at)
    attempts = [
        ("nobody", NEW, code, "a"),
        ("dora", "wrong", code, "b"),
        ("dora", NEW, wrong_code(secret, at), "c"),
        ("gone", INITIAL, "", "d"),
        ("away", INITIAL, "", "e"),
        ("dora", NEW, code, "c"),  # client c failed a moment ago: too early, not evaluated
    ]
    for name, password, typed, client in attempts:
        before = hasher.verified
        with pytest.raises(LoginRefused, match="Log-in failed"):
            users_service.log_in(store, name, password, code=typed, at=at, client=client)
        assert hasher.verified - before == 1, (name, client)
    assert failed_codes(store)[-1] == {"step": "password", "reason": "too early"}


# --- throttling instead of lock-out --------------------------------------------------------------


def test_failures_from_a_client_delay_its_next_attempt_growing_to_a_cap(store: Store) -> None:
    secret = enrolled(store)
    at = T0 + timedelta(hours=1)
    key = ("dora", users_service.client_key("198.51.100.7"))
    for n in range(1, 14):
        with pytest.raises(LoginRefused):
            users_service.log_in(store, "dora", f"guess {n}", at=at, client="198.51.100.7")
        row = throttle_rows(store)[key]
        wait = users_service.throttle_delay(n)
        assert row.failures == n and row.next_attempt_at.replace(tzinfo=UTC) == at + wait
        if n == 12:
            # Even the right password and code are not evaluated before the wait is over...
            early = at + wait - timedelta(seconds=1)
            with pytest.raises(LoginRefused) as refused:
                full_session(store, "dora", secret, early, client="198.51.100.7")
            assert refused.value.message == users_service.WRONG
            assert throttle_rows(store)[key].failures == 12  # ...and the early one is not counted
        at += wait
    assert throttle_rows(store)[key].next_attempt_at.replace(tzinfo=UTC) - at == timedelta(0)
    assert users_service.throttle_delay(13) == timedelta(minutes=15)
    # The wait over, the right password and code open it, and the client starts afresh.
    at += STEP
    assert full_session(store, "dora", secret, at, client="198.51.100.7").stage == "full"
    row = throttle_rows(store)[key]
    assert row.failures == 0 and row.next_attempt_at is None
    assert row.last_success_at.replace(tzinfo=UTC) == at
    assert "198.51.100.7" not in audit_text(store)  # the address is not kept either


def test_a_stranger_cannot_keep_an_officer_out(store: Store) -> None:
    """Guesses from many addresses slow every client the account never logged in from; the
    officer's own client, known from an earlier log-in, is held only by its own failures."""
    secret = enrolled(store)
    totp = pyotp.TOTP(secret)
    at = T0 + timedelta(hours=1)
    full_session(store, "dora", secret, at, client="officer-pc")
    attack = at + timedelta(hours=1)
    for i in range(40):
        with pytest.raises(LoginRefused):
            users_service.log_in(store, "dora", f"guess {i}", at=attack, client=f"203.0.113.{i}")
    every = throttle_rows(store)[("dora", "*")]
    # Twenty free, the 21st set a one-second wait, the 19 after it were not evaluated.
    assert every.failures == users_service.ACCOUNT_FREE + 1
    assert every.next_attempt_at.replace(tzinfo=UTC) == attack + timedelta(seconds=1)
    reasons = [d.get("reason") for d in failed_codes(store)]
    assert reasons.count("too early") == 19
    # The officer at their own client logs in at once...
    code_at = attack + STEP
    officer = users_service.log_in(
        store, "dora", NEW, code=totp.at(code_at), at=attack, client="officer-pc"
    )
    assert officer.stage == "full"
    # ...while a client the account never used waits for the account's delay, right or wrong.
    with pytest.raises(LoginRefused):
        users_service.log_in(
            store, "dora", NEW, code=totp.at(attack + 2 * STEP), at=attack, client="new-laptop"
        )
    later = attack + 2 * STEP
    assert full_session(store, "dora", secret, later, client="new-laptop").stage == "full"
    # A client is known for KNOWN_FOR after its last log-in, then like any other.
    with pytest.raises(LoginRefused):
        users_service.log_in(store, "dora", "guess", at=later, client="203.0.113.200")
    stale = attack + users_service.KNOWN_FOR  # the officer-pc last logged in at attack
    with store.transaction() as conn:
        conn.execute(
            login_throttle.update()
            .where(login_throttle.c.client == "*")
            .values(last_failure_at=stale, next_attempt_at=stale + timedelta(minutes=5))
        )
    with pytest.raises(LoginRefused):
        full_session(store, "dora", secret, stale + timedelta(minutes=1), client="officer-pc")


def test_a_count_is_forgotten_a_day_after_its_last_failure(store: Store) -> None:
    enrolled(store)
    at = T0 + timedelta(hours=1)
    for n in range(3):
        with pytest.raises(LoginRefused):
            users_service.log_in(store, "dora", "guess", at=at, client="x")
        at += users_service.throttle_delay(n + 1)
    assert throttle_rows(store)[("dora", "*")].failures == 3
    at += users_service.FORGET
    with pytest.raises(LoginRefused):
        users_service.log_in(store, "dora", "guess", at=at, client="x")
    rows = throttle_rows(store)
    assert rows[("dora", "*")].failures == 1
    assert rows[("dora", users_service.client_key("x"))].failures == 1


def test_wrong_set_up_codes_are_throttled_too(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    bad = wrong_code(half.pending_totp, T0)
    with pytest.raises(InvalidInput, match=r"^code: that is not the code"):
        users_service.set_up(store, half.token, NEW, NEW, bad, at=T0)
    right = pyotp.TOTP(half.pending_totp).at(T0)
    with pytest.raises(InvalidInput, match=r"^code: too many wrong codes"):
        users_service.set_up(store, half.token, NEW, NEW, right, at=T0)
    assert user_row(store, "newbie").totp_secret is None
    soon = T0 + timedelta(seconds=1)
    assert users_service.set_up(store, half.token, NEW, NEW, right, at=soon).stage == "full"


def test_set_up_refuses_a_weak_or_mistyped_password_and_names_the_field(store: Store) -> None:
    short = "x" * (users_service.MIN_PASSWORD - 1)
    cases = [
        ("short pw", "short pw", "new_password"),
        (short, short, "new_password"),
        (NEW, NEW + " ", "repeat_password"),
        (INITIAL, INITIAL, "new_password"),  # the initial password, given by someone else
        ("z" * (users_service.MAX_PASSWORD + 1),) * 2 + ("new_password",),  # refused, not cut
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
        assert (name, "*") not in throttle_rows(store)  # a password problem is no failure
        assert check_password(store, name, INITIAL)
        # The set-up can go on: the same session, the same authenticator key.
        full = users_service.set_up(store, half.token, NEW, NEW, code, at=T0)
        assert full.stage == "full" and user_row(store, name).totp_secret == half.pending_totp


@pytest.mark.parametrize("length", [users_service.MIN_PASSWORD, users_service.MAX_PASSWORD])
def test_set_up_exactly_the_minimum_or_maximum_length_is_taken(store: Store, length: int) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    exact = "y" * length
    code = pyotp.TOTP(half.pending_totp).at(T0)
    assert users_service.set_up(store, half.token, exact, exact, code, at=T0).stage == "full"
    assert check_password(store, "newbie", exact) and not check_password(store, "newbie", exact[1:])


def test_a_wrong_set_up_code_names_the_code_and_counts_as_a_failure(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    half = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert half.pending_totp is not None
    with pytest.raises(InvalidInput) as refused:
        users_service.set_up(store, half.token, NEW, NEW, wrong_code(half.pending_totp, T0), at=T0)
    assert refused.value.message.startswith("code: ")
    assert throttle_rows(store)[("newbie", "*")].failures == 1
    assert user_row(store, "newbie").totp_secret is None
    assert check_password(store, "newbie", INITIAL)  # nothing of the set-up was kept
    # Spaces around the code are forgiven.
    later = T0 + timedelta(seconds=1)
    code = " " + pyotp.TOTP(half.pending_totp).at(later) + " "
    assert users_service.set_up(store, half.token, NEW, NEW, code, at=later).stage == "full"


def test_the_set_up_step_expires(store: Store) -> None:
    create_user(store, "newbie", "requester", actor="admin", at=T0, password=INITIAL)
    setup = users_service.log_in(store, "newbie", INITIAL, at=T0)
    assert setup.pending_totp is not None
    late = T0 + users_service.STEP_TIME
    with pytest.raises(LoginRefused, match="expired"):
        users_service.set_up(
            store, setup.token, NEW, NEW, pyotp.TOTP(setup.pending_totp).at(late), at=late
        )
    assert user_row(store, "newbie").must_change_password is True


def test_a_full_session_is_no_set_up(store: Store) -> None:
    secret = enrolled(store)
    full = full_session(store, "dora", secret, T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.set_up(store, full.token, "another long one", "another long one", "1", at=T1)
    with pytest.raises(LoginRefused, match="expired"):
        users_service.set_up(store, "made-up", NEW, NEW, "1", at=T1)


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
    soon = T0 + timedelta(seconds=1)  # the wrong code asked for a second's wait
    code = pyotp.TOTP(secret).at(soon)
    full = users_service.set_up(store, half.token, NEW, NEW, code, at=soon)
    with pytest.raises(LoginRefused):
        users_service.log_in(store, "newbie", "typo " + NEW, at=soon)
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
