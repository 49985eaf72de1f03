"""Opening and migrating the store; refusing a database from a newer hanoinet."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hanoinet.errors import SchemaTooNew
from hanoinet.store import Store
from hanoinet.store.db import head_revision


def test_migrated_to_head(store: Store) -> None:
    assert store.current_revision() == head_revision()
    store.migrate()  # idempotent
    assert store.current_revision() == head_revision()


def test_refuses_a_newer_database(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaTooNew, match=r"9999.*newer hanoinet"):
        store.migrate()


def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    if store.dialect != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
