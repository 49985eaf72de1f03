"""Users of a node: accounts, log-in with a second factor, sessions and API tokens.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106); the
  initial password is random, shown once, and must be changed at first log-in.
- Log-in is two steps: the password, then a TOTP code (RFC 6238, pyotp). At
  first log-in the second step is the set-up: a new password and a TOTP
  authenticator enrolled by entering one code it shows.
- A code is accepted once only (RFC 6238 section 5.2): the code of the step
  before, the current step or the next (clock drift) is taken only if its step
  is later than the step of the user's last accepted code, which is stored in
  the same transaction as the log-in. A code used again is answered like a
  wrong one and counts towards the lockout; only the audit entry says
  "code already used".
- After ``MAX_FAILURES`` wrong passwords or codes in a row the account is
  locked for ``LOCKOUT``. Messages never say whether the name or the password
  was wrong.
- A session is a random cookie stored only as its SHA-256, with its own CSRF
  token; it ends after ``IDLE`` without use or ``LIFETIME`` in all. A new
  cookie is issued when the second factor succeeds (no session fixation).
- An API token (``hn_...``) acts as its user, limited to ``read`` or
  ``read act``; stored only as its SHA-256; revocable.

Every log-in, failure, lockout, set-up, token creation and revocation is in the
audit log; no password, code, secret, cookie or token ever is.
"""

from __future__ import annotations

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
from hanoinet.store.schema import api_tokens, sessions, users

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
STEP_TIME = timedelta(minutes=10)
"""How long the second step (code or set-up) may take after the password."""
IDLE = timedelta(hours=1)
LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12
ISSUER = "hanoinet"
LEGAL_BASIS = "36(2)"
"""Access control to personal data in case files: the Convention's data-protection safeguard."""
WRONG = "The user name, password or code is not right."
REPLAYED = "code already used"
"""The audit detail of a right code refused because it was accepted before (never shown)."""


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
        if conn.execute(select(users.c.username).where(users.c.username == username)).first():
            raise InvalidInput(f"user {username!r} exists already")
        conn.execute(
            insert(users).values(
                username=username,
                role=role,
                password_hash=_HASHER.hash(initial),
                created_at=at,
                must_change_password=True,
            )
        )
        _audit(conn, at, actor, "create_user", f"user:{username}", role=role)
    return initial


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: str
    totp: bool
    locked_until: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "second_factor": self.totp,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "created_at": self.created_at.isoformat(),
        }


def list_users(store: Store, *, at: datetime) -> list[UserInfo]:
    """Every user (no secrets): role, whether TOTP is set up, a lockout still running."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
    return [
        UserInfo(
            r.username,
            r.role,
            bool(r.totp_secret),
            _aware(r.locked_until)
            if r.locked_until is not None and _aware(r.locked_until) > at
            else None,
            _aware(r.created_at),
        )
        for r in rows
    ]


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
        return bool(_HASHER.verify(password_hash or _DUMMY_HASH, password)) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Session:
    """A log-in in progress or done. ``token`` is the cookie value: only the caller has it."""

    token: str
    username: str
    role: Role
    stage: str
    """``password`` (TOTP code next), ``setup`` (first log-in: new password and TOTP), ``full``."""
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


def _failed(
    conn: Connection, row: Any, at: datetime, why: str, *, replayed: bool = False
) -> LoginRefused:
    """Count a failed step (locking the account at ``MAX_FAILURES``) and audit it. A right code
    used again (``replayed``) is refused exactly like a wrong one; only the audit entry says
    so."""
    failures = int(row.failed_logins) + 1
    locked = failures >= MAX_FAILURES
    conn.execute(
        update(users)
        .where(users.c.username == row.username)
        .values(
            failed_logins=0 if locked else failures,
            locked_until=at + LOCKOUT if locked else row.locked_until,
        )
    )
    detail = {"step": why} | ({"reason": REPLAYED} if replayed else {})
    _audit(conn, at, row.username, "login_failed", f"user:{row.username}", **detail)
    if locked:
        # No log-in in progress survives the lock (found: another half session still took a
        # code, and a right one cleared the lock).
        conn.execute(
            delete(sessions).where(sessions.c.username == row.username, sessions.c.stage != "full")
        )
        _audit(
            conn, at, "system", "lock_user", f"user:{row.username}", minutes=LOCKOUT.seconds // 60
        )
        return LoginRefused(_locked_message(at + LOCKOUT))
    return LoginRefused(WRONG)


def _locked(user: Any, at: datetime) -> bool:
    return user.locked_until is not None and _aware(user.locked_until) > at


def _locked_message(until: datetime) -> str:
    return (
        f"Too many failed attempts: this account is locked until {until:%H:%M} UTC. "
        "Try again then, or ask your node administrator."
    )


def log_in(store: Store, username: str, password: str, *, at: datetime) -> Session:
    """Step 1: the password. Returns a session waiting for its second step; raises
    LoginRefused. Failures are committed even though the step is refused."""
    refusal: LoginRefused | None = None
    with store.transaction() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            _verify(None, password)
            _audit(conn, at, "unknown", "login_failed", "user:?", step="password")
            refusal = LoginRefused(WRONG)
        elif _locked(row, at):
            _audit(conn, at, row.username, "login_refused_locked", f"user:{row.username}")
            refusal = LoginRefused(_locked_message(_aware(row.locked_until)))
        elif not _verify(row.password_hash, password):
            refusal = _failed(conn, row, at, "password")
        else:
            stage = "setup" if row.must_change_password or not row.totp_secret else "password"
            pending = pyotp.random_base32() if stage == "setup" else None
            return _open_session(conn, row, stage, at, at + STEP_TIME, pending)
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
        select(sessions, users.c.role, users.c.locale, users.c.time_zone)
        .join(users, users.c.username == sessions.c.username)
        .where(sessions.c.token_hash == _digest(token))
    ).first()


def _live(row: Any, at: datetime) -> bool:
    return (
        row is not None
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


def second_factor(store: Store, token: str, code: str, *, at: datetime) -> Session:
    """Step 2: the TOTP code. Returns the full session under a NEW token (the old one ends)."""
    refusal: LoginRefused
    with store.transaction() as conn:
        row = _session_row(conn, token)
        if not _live(row, at) or row.stage != "password":
            refusal = LoginRefused("This log-in has expired. Start again with your password.")
        else:
            user = conn.execute(select(users).where(users.c.username == row.username)).one()
            if _locked(user, at):
                refusal = LoginRefused(_locked_message(_aware(user.locked_until)))
            elif (used := _use_code(conn, user.username, user.totp_secret, code, at)) == "accepted":
                return _promote(conn, row, user, at)
            else:
                refusal = _failed(conn, user, at, "code", replayed=used == "used")
            conn.execute(delete(sessions).where(sessions.c.token_hash == row.token_hash))
    raise refusal


def _promote(conn: Connection, row: Any, user: Any, at: datetime) -> Session:
    conn.execute(delete(sessions).where(sessions.c.token_hash == row.token_hash))
    conn.execute(
        update(users)
        .where(users.c.username == user.username)
        .values(failed_logins=0, locked_until=None)
    )
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
    store: Store, token: str, new_password: str, repeated: str, code: str, *, at: datetime
) -> Session:
    """First log-in: a new password and the TOTP authenticator, proved by one code. Returns the
    full session under a new token. InvalidInput names the field that is wrong."""
    if len(new_password) < MIN_PASSWORD:
        raise InvalidInput(f"new_password: use at least {MIN_PASSWORD} characters")
    if new_password != repeated:
        raise InvalidInput("repeat_password: the two passwords are not the same")
    problem: Exception
    with store.transaction() as conn:
        row = _session_row(conn, token)
        if not _live(row, at) or row.stage != "setup" or not row.pending_totp:
            raise LoginRefused("This log-in has expired. Start again with your password.")
        user = conn.execute(select(users).where(users.c.username == row.username)).one()
        if _locked(user, at):
            raise LoginRefused(_locked_message(_aware(user.locked_until)))
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
                )
            )
            _audit(conn, at, user.username, "set_up_login", f"user:{user.username}")
            return _promote(conn, row, user, at)
        # A wrong code counts towards the lockout like a wrong password (committed).
        refused = _failed(conn, user, at, "set-up code", replayed=used == "used")
        problem = (
            refused
            if refused.message != WRONG
            else InvalidInput(
                "code: that is not the code your authenticator shows now; check its clock"
            )
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
        if (
            conn.execute(select(users.c.username).where(users.c.username == username)).first()
            is None
        ):
            raise InvalidInput(f"user: no user {username!r} on this node")
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
    """The principal an API token acts as, or None (unknown or revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.scopes, users.c.username, users.c.role)
            .join(users, users.c.username == api_tokens.c.username)
            .where(api_tokens.c.token_hash == _digest(token), api_tokens.c.revoked_at.is_(None))
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
