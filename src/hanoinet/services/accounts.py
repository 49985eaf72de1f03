"""The user lifecycle, the node administrator's work: disable and enable a user, change a role,
reset the authenticator, end every session and API token, remove a user.

Each act is one transaction with its audit entry, and takes effect on the user's next request:
``users.session`` and ``users.token_principal`` read the user's state and role on every
request. A removed user is a tombstone, not a deleted row: the events and audit entries that
name them stay meaningful, and the name is never given to someone else.

Refusals (``AccountRefused``, an ``InvalidInput`` with a reason code the pages translate; the
message starts with the field, ``user:`` or ``role:``):

- an unknown user (``user:``), a removed one for every act;
- the last active node administrator cannot be disabled, removed or given another role
  (the node would have nobody to manage its users);
- an administrator does not disable or remove their own account (another one does).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from hanoinet.errors import AccountRefused
from hanoinet.services import users as user_service
from hanoinet.services.access import ROLES
from hanoinet.services.users import ACTIVE, DISABLED, REMOVED, _audit, _aware
from hanoinet.store import Store
from hanoinet.store.schema import api_tokens, login_throttle, sessions, users

STATES = (ACTIVE, DISABLED, REMOVED)
UNUSABLE_HASH = "!removed"
"""What a removed user's password hash becomes: no password verifies against it."""


@dataclass(frozen=True)
class UserInfo:
    """A user as the administrator sees it (no secrets)."""

    username: str
    role: str
    state: str
    totp: bool
    created_at: datetime
    last_login_at: datetime | None
    sessions: int
    """Full sessions still live or not yet swept (ended at the next request when expired)."""
    api_tokens: int
    """Tokens not revoked."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "state": self.state,
            "second_factor": self.totp,
            "created_at": self.created_at.isoformat(),
            "last_log_in": self.last_login_at.isoformat() if self.last_login_at else None,
            "sessions": self.sessions,
            "api_tokens": self.api_tokens,
        }


def _counts(conn: Connection, username: str) -> tuple[int, int]:
    open_sessions = conn.execute(
        select(func.count())
        .select_from(sessions)
        .where(sessions.c.username == username, sessions.c.stage == "full")
    ).scalar_one()
    tokens = conn.execute(
        select(func.count())
        .select_from(api_tokens)
        .where(api_tokens.c.username == username, api_tokens.c.revoked_at.is_(None))
    ).scalar_one()
    return int(open_sessions), int(tokens)


def _info(conn: Connection, row: Any) -> UserInfo:
    open_sessions, tokens = _counts(conn, row.username)
    return UserInfo(
        row.username,
        row.role,
        row.state,
        bool(row.totp_secret),
        _aware(row.created_at),
        _aware(row.last_login_at) if row.last_login_at is not None else None,
        open_sessions,
        tokens,
    )


def list_users(store: Store) -> list[UserInfo]:
    """Every user, removed ones too (their names stay taken): role, state, whether the
    authenticator is set up, the last log-in, open sessions and live API tokens."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.username)).all()
        return [_info(conn, r) for r in rows]


def user_info(store: Store, username: str) -> UserInfo:
    with store.engine.connect() as conn:
        return _info(conn, _user(conn, username, lock=False))


def _user(conn: Connection, username: str, *, lock: bool = True) -> Any:
    query = select(users).where(users.c.username == username)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise AccountRefused(
            "unknown", f"user: no user {username!r} on this node; see the list of users"
        )
    return row


def _living(row: Any) -> None:
    if row.state == REMOVED:
        raise AccountRefused(
            "removed",
            f"user: {row.username!r} was removed; a removed user cannot come back, add a new "
            "user with another name",
        )


def _keep_an_admin(conn: Connection, row: Any, what: str) -> None:
    """Refuse to leave the node without an active node administrator."""
    if row.role != "node_admin" or row.state != ACTIVE:
        return
    others = conn.execute(
        select(func.count())
        .select_from(users)
        .where(
            users.c.role == "node_admin",
            users.c.state == ACTIVE,
            users.c.username != row.username,
        )
    ).scalar_one()
    if not others:
        raise AccountRefused(
            "last_admin",
            f"user: {row.username!r} is the last active node administrator and cannot be "
            f"{what}; add or enable another node administrator first",
        )


def _not_yourself(row: Any, actor: str, what: str) -> None:
    if row.username == actor:
        raise AccountRefused(
            "yourself", f"user: you cannot {what} your own account; ask another node administrator"
        )


def _set_state(conn: Connection, username: str, state: str, at: datetime) -> None:
    conn.execute(
        update(users).where(users.c.username == username).values(state=state, state_changed_at=at)
    )


def _end(conn: Connection, username: str, at: datetime) -> tuple[int, int]:
    """Delete every session (half or full) and revoke every live API token; returns how many
    full sessions and tokens there were."""
    ended = _counts(conn, username)
    conn.execute(delete(sessions).where(sessions.c.username == username))
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.username == username, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return ended


def disable(store: Store, username: str, *, actor: str, at: datetime) -> UserInfo:
    """The user can no longer log in; their sessions end and their API tokens are refused
    until ``enable`` (the tokens are not revoked: ``end_sessions`` does that)."""
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        if row.state == DISABLED:
            raise AccountRefused("disabled_already", f"user: {username!r} is disabled already")
        _not_yourself(row, actor, "disable")
        _keep_an_admin(conn, row, "disabled")
        ended, _tokens = _counts(conn, username)
        conn.execute(delete(sessions).where(sessions.c.username == username))
        _set_state(conn, username, DISABLED, at)
        _audit(conn, at, actor, "disable_user", f"user:{username}", sessions_ended=ended)
        return _info(conn, _user(conn, username))


def enable(store: Store, username: str, *, actor: str, at: datetime) -> UserInfo:
    """A disabled user logs in again (with the same password and authenticator); their API
    tokens not revoked work again. The user's throttle starts afresh."""
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        if row.state == ACTIVE:
            raise AccountRefused("active_already", f"user: {username!r} is active already")
        _set_state(conn, username, ACTIVE, at)
        conn.execute(delete(login_throttle).where(login_throttle.c.username == username))
        _audit(conn, at, actor, "enable_user", f"user:{username}")
        return _info(conn, _user(conn, username))


def change_role(store: Store, username: str, role: str, *, actor: str, at: datetime) -> UserInfo:
    """The user's next request is served with the new role (sessions and tokens stay)."""
    if role not in ROLES:
        raise AccountRefused(
            "unknown_role", f"role: unknown role {role!r}; roles: {', '.join(ROLES)}"
        )
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        if row.role == role:
            raise AccountRefused("same_role", f"role: {username!r} has this role already")
        _keep_an_admin(conn, row, "given another role")
        conn.execute(update(users).where(users.c.username == username).values(role=role))
        _audit(conn, at, actor, "change_role", f"user:{username}", role=role, was=row.role)
        return _info(conn, _user(conn, username))


@dataclass(frozen=True)
class Ended:
    username: str
    sessions: int
    api_tokens: int

    def as_dict(self) -> dict[str, Any]:
        return {"username": self.username, "sessions": self.sessions, "api_tokens": self.api_tokens}


def end_sessions(store: Store, username: str, *, actor: str, at: datetime) -> Ended:
    """Every session of the user ends and every API token of theirs is revoked, now."""
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        ended, tokens = _end(conn, username, at)
        _audit(
            conn,
            at,
            actor,
            "end_sessions",
            f"user:{username}",
            sessions=ended,
            api_tokens=tokens,
        )
    return Ended(username, ended, tokens)


def reset_totp(store: Store, username: str, *, actor: str, at: datetime) -> str:
    """The user's authenticator is forgotten and their sessions end; returns a new one-time
    password (shown once, to give to the user by a channel other than the one they log in
    from). With it the user sets a new password and a new authenticator at the next log-in:
    the set-up is never opened by the user's own password alone, which may be what was
    stolen. API tokens stay (``end_sessions`` revokes them)."""
    initial = secrets.token_urlsafe(18)
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        ended, _tokens = _counts(conn, username)
        conn.execute(delete(sessions).where(sessions.c.username == username))
        conn.execute(
            update(users)
            .where(users.c.username == username)
            .values(
                totp_secret=None,
                password_hash=user_service._HASHER.hash(initial),
                must_change_password=True,
                password_set_at=at,
            )
        )
        _audit(conn, at, actor, "reset_totp", f"user:{username}", sessions_ended=ended)
    return initial


def remove(store: Store, username: str, *, actor: str, at: datetime) -> Ended:
    """The user can never log in again: no password verifies, no authenticator, every session
    ended and token revoked. The row stays as a tombstone (state ``removed``) so that events,
    audit entries and tokens that name the user keep their meaning and the name is not given
    to anyone else."""
    with store.transaction() as conn:
        row = _user(conn, username)
        _living(row)
        _not_yourself(row, actor, "remove")
        _keep_an_admin(conn, row, "removed")
        ended, tokens = _end(conn, username, at)
        conn.execute(
            update(users)
            .where(users.c.username == username)
            .values(password_hash=UNUSABLE_HASH, totp_secret=None, must_change_password=False)
        )
        conn.execute(delete(login_throttle).where(login_throttle.c.username == username))
        _set_state(conn, username, REMOVED, at)
        _audit(
            conn,
            at,
            actor,
            "remove_user",
            f"user:{username}",
            sessions=ended,
            api_tokens=tokens,
        )
    return Ended(username, ended, tokens)
