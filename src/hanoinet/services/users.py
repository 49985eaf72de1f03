"""Users of a node: accounts, log-in with a second factor, throttling, sessions and API tokens.

The design, point by point against OWASP ASVS v4.0.3 chapter V2: docs/authentication.md.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106); the
  initial password is random, shown once, and must be changed at first log-in.
- Log-in is one step: the name, the password and the TOTP code (RFC 6238, pyotp)
  are checked together, and one answer (``WRONG``) says that something was not
  right without saying what, so a right password is never confirmed without its
  code. At first log-in (no authenticator yet: a new user, or one whose
  authenticator the administrator reset) the one-time password given by the
  administrator (good for ``ONE_TIME_VALID``) opens the set-up: a new password and a TOTP authenticator
  enrolled by entering one code it shows.
- A code is accepted once only (RFC 6238 section 5.2): the code of the step
  before, the current step or the next (clock drift) is taken only if its step
  is later than the step of the user's last accepted code, which is stored in
  the same transaction as the log-in. A code used again is answered like a
  wrong one; only the audit entry says "code already used".
- Throttling, not lock-out (``login_throttle``, shared by every process): each
  failure from a client delays that client's next attempt on the account
  (``PER_CLIENT``: 1 s, 2 s, 4 s ... 15 min); failures from every client
  together delay attempts on the account from clients it never logged in from
  (``PER_ACCOUNT``, after ``ACCOUNT_FREE`` failures). A client the account
  logged in from in the last ``KNOWN_FOR`` is held only by its own failures, so
  a stranger cannot keep an officer out. An attempt made too early is not
  evaluated and is answered like a wrong password; unknown names, disabled and
  removed users, wrong passwords, wrong codes and early attempts all verify one
  argon2 hash, so they cost the same time.
- A session is a random cookie stored only as its SHA-256, with its own CSRF
  token; it ends after ``IDLE`` without use or ``LIFETIME`` in all. A new
  cookie is issued when the log-in succeeds (no session fixation). Every request
  reads the user's current state and role: a disabled or removed user's
  sessions and tokens stop at once, a new role applies at once
  (services/accounts.py: the user lifecycle).
- An API token (``hn_...``) acts as its user, limited to ``read`` or
  ``read act``; stored only as its SHA-256; revocable.

Every log-in, failure, set-up, token creation and revocation is in the audit
log; no password, code, secret, cookie, token or client address ever is.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyotp.utils import strings_equal
from sqlalchemy import Connection, delete, insert, or_, select, update

from hanoinet.errors import InvalidInput, LoginRefused
from hanoinet.services.access import ROLES, Principal, Role, Scopes
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import api_tokens, login_throttle, sessions, users

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the user does not exist, so that a wrong name takes as
    long as a wrong password; made by the hasher in use, on first use: hashing costs a sixth
    of a second, and every process that imports this module (each command, each server)
    would pay it."""
    return hasher.hash("not a password of anyone")


STEP_TIME = timedelta(minutes=10)
"""How long the first log-in's set-up may take after the password."""
ONE_TIME_VALID = timedelta(days=7)
"""How long a one-time password (a new user's, or after a reset) opens the set-up: long enough
to reach an officer by another channel, short enough that a forgotten one is no standing
credential (ASVS 2.3.1). After it, the administrator resets the user again."""
IDLE = timedelta(hours=1)
LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12
MAX_PASSWORD = 128
"""Long passphrases are welcome; beyond this a password is refused rather than cut (ASVS 2.1.2,
and argon2 is not asked to hash megabytes)."""
ISSUER = "hanoinet"
LEGAL_BASIS = "36(2)"
"""Access control to personal data in case files: the Convention's data-protection safeguard."""
WRONG = "Log-in failed. Check your user name, password and code, or wait a moment and try again."
"""The one answer to every failed log-in: unknown name, wrong password or code, a code used
before, a disabled or removed user, an attempt made while the account is throttled."""
EXPIRED = "This log-in has expired. Start again with your password."
REPLAYED = "code already used"
"""The audit detail of a right code refused because it was accepted before (never shown)."""
ACTIVE, DISABLED, REMOVED = "active", "disabled", "removed"

# --- throttling (docs/authentication.md, "Throttling") -------------------------------------------

FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
ACCOUNT_FREE = 20
"""Failures on an account, from every client together, before unknown clients are delayed."""
FORGET = timedelta(hours=24)
"""A count whose last failure is older than this starts again from nothing."""
KNOWN_FOR = timedelta(days=30)
"""A client the account logged in from within this time is held only by its own failures."""
ANY_CLIENT = "*"


def throttle_delay(failures: int, *, free: int = 0) -> timedelta:
    """The wait before the next attempt after ``failures`` failures in a row, the first
    ``free`` of them costing nothing: 1 s, 2 s, 4 s ... doubling up to ``MAX_DELAY``."""
    over = failures - free
    if over <= 0:
        return timedelta(0)
    if over > 20:  # 2**20 s is far past the cap
        return MAX_DELAY
    factor: int = 2 ** (over - 1)
    return min(FIRST_DELAY * factor, MAX_DELAY)


def client_key(address: str) -> str:
    """What the throttle stores of a client's address: its SHA-256 (the address is not kept)."""
    return hashlib.sha256(("client:" + address).encode()).hexdigest()


def _throttle_row(conn: Connection, username: str, client: str) -> Any:
    return conn.execute(
        select(login_throttle).where(
            login_throttle.c.username == username, login_throttle.c.client == client
        )
    ).first()


def _throttled(conn: Connection, username: str, address: str, at: datetime) -> bool:
    """Whether an attempt on ``username`` from ``address`` comes too early to be evaluated."""
    mine = _throttle_row(conn, username, client_key(address))
    if mine is not None and mine.next_attempt_at is not None and _aware(mine.next_attempt_at) > at:
        return True
    known = (
        mine is not None
        and mine.last_success_at is not None
        and _aware(mine.last_success_at) + KNOWN_FOR > at
    )
    if known:
        return False
    every = _throttle_row(conn, username, ANY_CLIENT)
    return (
        every is not None
        and every.next_attempt_at is not None
        and _aware(every.next_attempt_at) > at
    )


def _count_failure(conn: Connection, username: str, address: str, at: datetime) -> None:
    for client, free in ((client_key(address), 0), (ANY_CLIENT, ACCOUNT_FREE)):
        row = _throttle_row(conn, username, client)
        fresh = row is None or row.last_failure_at is None
        fresh = fresh or _aware(row.last_failure_at) + FORGET <= at
        failures = 1 if fresh else int(row.failures) + 1
        values = {
            "failures": failures,
            "last_failure_at": at,
            "next_attempt_at": at + throttle_delay(failures, free=free),
        }
        if row is None:
            conn.execute(insert(login_throttle).values(username=username, client=client, **values))
        else:
            conn.execute(
                update(login_throttle)
                .where(login_throttle.c.username == username, login_throttle.c.client == client)
                .values(**values)
            )


def _count_success(conn: Connection, username: str, address: str, at: datetime) -> None:
    """The client becomes known to the account and its own count starts again; the count of
    every client stays (a stranger's failures elsewhere are still counted)."""
    client = client_key(address)
    values = {
        "failures": 0,
        "last_failure_at": None,
        "next_attempt_at": None,
        "last_success_at": at,
    }
    if _throttle_row(conn, username, client) is None:
        conn.execute(insert(login_throttle).values(username=username, client=client, **values))
    else:
        conn.execute(
            update(login_throttle)
            .where(login_throttle.c.username == username, login_throttle.c.client == client)
            .values(**values)
        )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _audit(
    conn: Connection, at: datetime, actor: str, action: str, target: str, **detail: Any
) -> None:
    audit_log.append(
        conn,
        at=at,
        actor=actor,
        action=action,
        target=target,
        legal_basis=LEGAL_BASIS,
        detail=detail,
    )


def create_user(
    store: Store, username: str, role: str, *, actor: str, at: datetime, password: str | None = None
) -> str:
    """Create a user; returns the initial password (random unless given). One transaction,
    audited; the password itself is never stored nor logged."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if not username.strip() or len(username) > 120:
        raise InvalidInput("a user name is 1 to 120 characters")
    initial = password or secrets.token_urlsafe(18)
    with store.transaction() as conn:
        taken = conn.execute(select(users.c.state).where(users.c.username == username)).first()
        if taken is not None and taken.state == REMOVED:
            raise InvalidInput(
                f"user {username!r} was removed and a name is never used again (the audit log "
                "names them); choose another name"
            )
        if taken is not None:
            raise InvalidInput(f"user {username!r} exists already")
        conn.execute(
            insert(users).values(
                username=username,
                role=role,
                password_hash=_HASHER.hash(initial),
                created_at=at,
                must_change_password=True,
                password_set_at=at,
            )
        )
        _audit(conn, at, actor, "create_user", f"user:{username}", role=role)
    return initial


def check_password(store: Store, username: str, password: str) -> bool:
    """Whether ``password`` is the user's (constant-time verification by argon2)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(users.c.password_hash).where(users.c.username == username)
        ).first()
    return _verify(row.password_hash if row else None, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        # An unknown user costs the same time as a known one.
        return bool(_HASHER.verify(password_hash or _dummy_hash(_HASHER), password)) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    """A set-up in progress or a log-in done. ``token`` is the cookie value: only the caller has it."""

    token: str
    username: str
    role: Role
    stage: str
    """``setup`` (first log-in: new password and TOTP) or ``full``."""
    csrf: str
    locale: str
    time_zone: str
    pending_totp: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role)


def _aware(at: datetime) -> datetime:
    from hanoinet.services.cases import aware

    return aware(at)


def _refuse(
    conn: Connection,
    username: str,
    known: bool,
    at: datetime,
    step: str,
    *,
    address: str,
    reason: str | None = None,
) -> LoginRefused:
    """Audit a failed attempt and make its answer (always ``WRONG``). Only a failure that was
    evaluated (``reason`` None or ``REPLAYED``) counts towards the throttle; an early attempt,
    an unknown name, a disabled or removed user do not."""
    if known and reason in (None, REPLAYED):
        _count_failure(conn, username, address, at)
    detail = {"step": step} | ({"reason": reason} if reason else {})
    if known:
        _audit(conn, at, username, "login_failed", f"user:{username}", **detail)
    else:  # the typed name is not logged: it may be someone's password typed in the wrong box
        _audit(conn, at, "unknown", "login_failed", "user:?", **detail)
    return LoginRefused(WRONG)


def _stale(user: Any, at: datetime) -> bool:
    """Whether the user's one-time password is past ``ONE_TIME_VALID``."""
    given = user.password_set_at if user.password_set_at is not None else user.created_at
    return bool(_aware(given) + ONE_TIME_VALID <= at)


def log_in(
    store: Store, username: str, password: str, *, at: datetime, code: str = "", client: str = ""
) -> Session:
    """The name, the password and the code, checked together. Returns the full session, or, for
    a user with no authenticator yet (first log-in, or after a reset), a session for the set-up
    (``set_up``); raises LoginRefused with ``WRONG`` whatever was not right. ``client`` is the
    client's address, for the throttle. Failures are committed even though the log-in is
    refused."""
    # The password is verified before the write transaction, once whatever follows (so every
    # answer costs one argon2 verification): it takes tens of milliseconds, and a write
    # transaction holds the node's write lock on SQLite, which a stranger's log-in attempts
    # must not hold from the inbox and the desk.
    with store.engine.connect() as conn:
        seen = conn.execute(
            select(users.c.password_hash).where(users.c.username == username)
        ).scalar()
    right = _verify(seen, password)
    refusal: LoginRefused
    with store.transaction() as conn:
        # The user's row is locked first: two attempts on one account are counted one by one.
        row = conn.execute(
            select(users).where(users.c.username == username).with_for_update()
        ).first()
        if row is None or row.state != ACTIVE:
            reason = None if row is None else row.state
            refusal = _refuse(
                conn, username, row is not None, at, "password", address=client, reason=reason
            )
        elif _throttled(conn, row.username, client, at):  # not evaluated
            refusal = _refuse(
                conn, row.username, True, at, "password", address=client, reason="too early"
            )
        elif not right or row.password_hash != seen:  # a password changed meanwhile: wrong
            refusal = _refuse(conn, row.username, True, at, "password", address=client)
        elif (row.must_change_password or not row.totp_secret) and _stale(row, at):
            refusal = _refuse(
                conn, row.username, True, at, "password", address=client, reason="expired"
            )
        elif row.must_change_password or not row.totp_secret:
            pending = pyotp.random_base32()
            return _open_session(conn, row, "setup", at, at + STEP_TIME, pending)
        elif (used := _use_code(conn, row.username, row.totp_secret, code, at)) == "accepted":
            return _promote(conn, None, row, at, client)
        else:
            refusal = _refuse(
                conn,
                row.username,
                True,
                at,
                "code",
                address=client,
                reason=REPLAYED if used == "used" else None,
            )
    raise refusal


def _open_session(
    conn: Connection, row: Any, stage: str, at: datetime, expires: datetime, pending: str | None
) -> Session:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        insert(sessions).values(
            token_hash=_digest(token),
            username=row.username,
            stage=stage,
            csrf=csrf,
            pending_totp=pending,
            created_at=at,
            last_seen_at=at,
            expires_at=expires,
        )
    )
    return Session(token, row.username, row.role, stage, csrf, row.locale, row.time_zone, pending)


def _session_row(conn: Connection, token: str) -> Any:
    return conn.execute(
        select(sessions, users.c.role, users.c.locale, users.c.time_zone, users.c.state)
        .join(users, users.c.username == sessions.c.username)
        .where(sessions.c.token_hash == _digest(token))
    ).first()


def _live(row: Any, at: datetime) -> bool:
    return (
        row is not None
        and row.state == ACTIVE
        and _aware(row.expires_at) > at
        and (row.stage != "full" or _aware(row.last_seen_at) + IDLE > at)
    )


def _use_code(
    conn: Connection, username: str, secret: str, code: str, at: datetime
) -> Literal["accepted", "wrong", "used"]:
    """Accept ``code`` once: it is the code of the step before ``at``'s, its own or the next,
    and that step is later than the step of the user's last accepted code; the step is then
    stored as the last, in the caller's transaction. The conditional update makes two log-ins
    racing with one code accept it once on both databases (the second waits for the row and
    finds the step taken)."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    steps = [
        step
        for step in (now - 1, now, now + 1)
        if strings_equal(totp.generate_otp(step), code.strip())
    ]
    if not steps:
        return "wrong"
    claimed = conn.execute(
        update(users)
        .where(
            users.c.username == username,
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < max(steps)),
        )
        .values(totp_last_step=max(steps))
    )
    return "accepted" if claimed.rowcount == 1 else "used"


def _promote(conn: Connection, half: Any, user: Any, at: datetime, address: str) -> Session:
    """The log-in succeeded: the half session (if any) ends, the client becomes known, and the
    full session starts under a new token."""
    if half is not None:
        conn.execute(delete(sessions).where(sessions.c.token_hash == half.token_hash))
    _count_success(conn, user.username, address, at)
    conn.execute(update(users).where(users.c.username == user.username).values(last_login_at=at))
    _audit(conn, at, user.username, "log_in", f"user:{user.username}")
    return _open_session(conn, user, "full", at, at + LIFETIME, None)


def totp_uri(session: Session) -> str:
    """The otpauth:// URI of the secret being enrolled (shown as a QR code and as text)."""
    if session.pending_totp is None:
        raise InvalidInput("no authenticator is being set up in this session")
    return pyotp.TOTP(session.pending_totp).provisioning_uri(
        name=session.username, issuer_name=ISSUER
    )


def set_up(
    store: Store,
    token: str,
    new_password: str,
    repeated: str,
    code: str,
    *,
    at: datetime,
    client: str = "",
) -> Session:
    """First log-in: a new password and the TOTP authenticator, proved by one code. Returns the
    full session under a new token. InvalidInput names the field that is wrong. A wrong code
    counts towards the throttle like a failed log-in (the set-up session stays open for
    another try, within ``STEP_TIME``)."""
    if len(new_password) < MIN_PASSWORD:
        raise InvalidInput(f"new_password: use at least {MIN_PASSWORD} characters")
    if len(new_password) > MAX_PASSWORD:
        raise InvalidInput(f"new_password: use at most {MAX_PASSWORD} characters")
    if new_password != repeated:
        raise InvalidInput("repeat_password: the two passwords are not the same")
    problem: Exception
    with store.transaction() as conn:
        row = _session_row(conn, token)
        if not _live(row, at) or row.stage != "setup" or not row.pending_totp:
            raise LoginRefused(EXPIRED)
        user = conn.execute(
            select(users).where(users.c.username == row.username).with_for_update()
        ).one()
        if _throttled(conn, user.username, client, at):
            raise InvalidInput(
                "code: too many wrong codes in a row; wait a moment, then enter the code your "
                "authenticator shows"
            )
        if _verify(user.password_hash, new_password):
            raise InvalidInput("new_password: choose a password other than the one you were given")
        # The set-up code's step is stored too: the same code cannot open the next log-in.
        used = _use_code(conn, user.username, row.pending_totp, code, at)
        if used == "accepted":
            conn.execute(
                update(users)
                .where(users.c.username == user.username)
                .values(
                    password_hash=_HASHER.hash(new_password),
                    totp_secret=row.pending_totp,
                    must_change_password=False,
                    password_set_at=at,
                )
            )
            _audit(conn, at, user.username, "set_up_login", f"user:{user.username}")
            return _promote(conn, row, user, at, client)
        # A wrong code counts towards the throttle like a failed log-in (committed).
        _refuse(
            conn,
            user.username,
            True,
            at,
            "set-up code",
            address=client,
            reason=REPLAYED if used == "used" else None,
        )
        problem = InvalidInput(
            "code: that is not the code your authenticator shows now; check its clock"
        )
    raise problem


def session(store: Store, token: str | None, *, at: datetime) -> Session | None:
    """The live session of a cookie, or None. Marks it used (at most once a minute)."""
    if not token:
        return None
    with store.transaction() as conn:
        row = _session_row(conn, token)
        if not _live(row, at):
            if row is not None:
                conn.execute(delete(sessions).where(sessions.c.token_hash == row.token_hash))
            return None
        if at - _aware(row.last_seen_at) > timedelta(minutes=1):
            conn.execute(
                update(sessions)
                .where(sessions.c.token_hash == row.token_hash)
                .values(last_seen_at=at)
            )
    return Session(
        token,
        row.username,
        row.role,
        row.stage,
        row.csrf,
        row.locale,
        row.time_zone,
        row.pending_totp,
    )


def log_out(store: Store, token: str, *, at: datetime) -> None:
    with store.transaction() as conn:
        row = _session_row(conn, token)
        if row is not None:
            conn.execute(delete(sessions).where(sessions.c.token_hash == row.token_hash))
            _audit(conn, at, row.username, "log_out", f"user:{row.username}")


def set_preferences(
    store: Store, username: str, *, locale: str, time_zone: str, at: datetime
) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(users)
            .where(users.c.username == username)
            .values(locale=locale, time_zone=time_zone)
        )
        _audit(
            conn,
            at,
            username,
            "set_preferences",
            f"user:{username}",
            locale=locale,
            time_zone=time_zone,
        )


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "hn_"
TOKEN_SCOPES: dict[str, frozenset[Scopes]] = {
    "read": frozenset({"read"}),
    "act": frozenset({"read", "act"}),
}


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    name: str
    username: str
    scopes: str
    created_at: datetime
    revoked_at: datetime | None


def create_token(
    store: Store, username: str, name: str, scopes: str, *, actor: str, at: datetime
) -> str:
    """A new API token acting as ``username``; returns it (shown once, stored as a hash)."""
    if scopes not in TOKEN_SCOPES:
        raise InvalidInput(f"scopes: use one of {', '.join(TOKEN_SCOPES)}")
    if not name.strip() or len(name) > 120:
        raise InvalidInput("name: a token name is 1 to 120 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        owner = conn.execute(select(users.c.state).where(users.c.username == username)).first()
        if owner is None or owner.state == REMOVED:
            raise InvalidInput(f"user: no user {username!r} on this node")
        if owner.state != ACTIVE:
            raise InvalidInput(f"user: {username!r} is disabled; enable the user first")
        conn.execute(
            insert(api_tokens).values(
                token_hash=_digest(token),
                prefix=token[:10],
                name=name,
                username=username,
                scopes=scopes,
                created_at=at,
            )
        )
        _audit(
            conn,
            at,
            actor,
            "create_token",
            f"user:{username}",
            name=name,
            prefix=token[:10],
            scopes=scopes,
        )
    return token


def token_principal(store: Store, token: str, *, at: datetime) -> Principal | None:
    """The principal an API token acts as, with its user's role now, or None (unknown or
    revoked token, or its user disabled or removed)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.scopes, users.c.username, users.c.role)
            .join(users, users.c.username == api_tokens.c.username)
            .where(
                api_tokens.c.token_hash == _digest(token),
                api_tokens.c.revoked_at.is_(None),
                users.c.state == ACTIVE,
            )
        ).first()
    if row is None:
        return None
    return Principal(row.username, cast(Role, row.role), TOKEN_SCOPES[row.scopes])


def revoke_token(store: Store, prefix: str, *, actor: str, at: datetime) -> TokenInfo:
    with store.transaction() as conn:
        rows = conn.execute(
            select(api_tokens).where(
                api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None)
            )
        ).all()
        if len(rows) != 1:
            raise InvalidInput(
                f"prefix: no live token starts with {prefix!r}"
                if not rows
                else f"prefix: {len(rows)} live tokens start with {prefix!r}; give more characters"
            )
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.token_hash == rows[0].token_hash)
            .values(revoked_at=at)
        )
        _audit(conn, at, actor, "revoke_token", f"user:{rows[0].username}", prefix=prefix)
    r = rows[0]
    return TokenInfo(r.prefix, r.name, r.username, r.scopes, _aware(r.created_at), at)
