"""Users: the first administrator, argon2id hashes, one audited transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from hanoinet.errors import InvalidInput
from hanoinet.services.users import check_password, create_user
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import users

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


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
