"""Shared fixtures: a fresh store on SQLite and on PostgreSQL.

PostgreSQL tests run against 127.0.0.1:5432 (database ``test``, trust auth), each
in a schema of its own that is dropped afterwards. When the server cannot be
reached the PostgreSQL half is skipped with a reason that says so, and
``HANOINET_REQUIRE_POSTGRES=1`` (set in CI) turns that skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy

from hanoinet.store import Store, open_store, schema_store

PG_BASE = os.environ.get(
    "HANOINET_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_reachable() -> str | None:
    try:
        engine = sqlalchemy.create_engine(PG_BASE, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any failure to connect means "not reachable here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


_PG_PROBLEM = _pg_reachable()


@contextmanager
def fresh_store(
    kind: str, folder: Path, name: str = "hanoinet", revision: str = "head"
) -> Iterator[Store]:
    """An empty store of ``kind`` (sqlite or postgresql) migrated to ``revision``, dropped
    afterwards."""
    if kind == "sqlite":
        opened = open_store(f"sqlite:///{folder / name}.db", migrate=False)
        try:
            opened.migrate(revision)
            yield opened
        finally:
            opened.dispose()
        return
    if _PG_PROBLEM is not None:
        if os.environ.get("HANOINET_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_BASE}: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable at {PG_BASE}: {_PG_PROBLEM}")
    with schema_store(PG_BASE, revision=revision) as opened:
        yield opened


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store; the same tests run on both databases."""
    with fresh_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def store_factory() -> object:
    """``fresh_store`` for tests that need several databases (with --import-mode=importlib a
    test module cannot import conftest)."""
    return fresh_store
