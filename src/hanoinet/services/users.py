"""Users of a node. For now: the first administrator, created by ``node init``.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106); the
initial password is random, shown once or written owner-only, and must be
changed at first log-in (the web desk's log-in comes with its own issue).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import insert, select

from hanoinet.errors import InvalidInput
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import users

ROLES = ("node_admin", "supervisor", "central_authority_officer", "duty_officer", "requester")
_HASHER = PasswordHasher()


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
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="create_user",
            target=f"user:{username}",
            legal_basis="36(2)",
            detail={"role": role},
        )
    return initial


def check_password(store: Store, username: str, password: str) -> bool:
    """Whether ``password`` is the user's (constant-time verification by argon2)."""
    from argon2.exceptions import VerificationError

    with store.engine.connect() as conn:
        row = conn.execute(
            select(users.c.password_hash).where(users.c.username == username)
        ).first()
    if row is None:
        return False
    try:
        return bool(_HASHER.verify(row.password_hash, password))
    except VerificationError:
        return False
