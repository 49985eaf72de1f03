"""Opening the database: engine, migrations, and the refusal to run on a newer schema.

SQLite runs in WAL mode and every transaction starts with ``BEGIN IMMEDIATE``,
so two writers never deadlock on a lock upgrade; PostgreSQL serializes
audit writers on the one ``audit_head`` row.

SQLite has one writer at a time, and a writer that finds the database locked
sleeps in SQLite's busy handler (1, 2, 5 ... 100 ms at a time) however soon the
lock is free again: with several threads or processes writing, most of the time
went to those sleeps (docs/benchmarks.md, ``bench exchange``). So a store's
writers first take a lock file beside the database (``flock``, tried every
millisecond, so the next writer starts within a millisecond of the last one's
commit; the kernel frees it if its process dies), then begin. A writer that
cannot have it within ``LOCK_TIMEOUT`` gets a ``StoreError``, as SQLite's own
``busy_timeout`` would. Readers take no lock (WAL).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hanoinet.errors import SchemaTooNew, StoreError


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("hanoinet.store") / "migrations"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


LOCK_TIMEOUT = 10.0
"""Seconds a writer waits for the write lock (SQLite's busy_timeout is the same)."""

try:
    import fcntl
except ImportError:  # not POSIX: writers wait in SQLite's busy handler instead
    fcntl = None  # type: ignore[assignment]


@dataclass
class Store:
    engine: Engine
    write_lock: Path | None = None
    """SQLite on a file: the lock file every writer of this database takes first."""

    def __post_init__(self) -> None:
        self._holding = threading.local()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One command = one transaction: commit on success, roll back on any error."""
        if self.write_lock is None or fcntl is None:
            with self.engine.begin() as conn:
                yield conn
            return
        if getattr(self._holding, "lock", False):
            raise StoreError(
                "a transaction was opened inside another one on the same database: one command "
                "is one transaction (this is a bug in hanoinet)"
            )
        fd = os.open(self.write_lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd, self.write_lock)  # released when fd is closed, or when the process dies
            self._holding.lock = True
            with self.engine.begin() as conn:
                yield conn
        finally:
            self._holding.lock = False
            os.close(fd)

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def migrate(self, to: str = "head") -> None:
        """Bring the schema to this hanoinet's head (or revision ``to``); refuse a database
        from a newer hanoinet."""
        current = self.current_revision()
        script = ScriptDirectory.from_config(_alembic_config())
        known = {rev.revision for rev in script.walk_revisions()}
        if current is not None and current not in known:
            raise SchemaTooNew(
                f"the database is at schema revision {current}, which this hanoinet does not know "
                f"(its newest is {head_revision()}); it was migrated by a newer hanoinet. Upgrade "
                "hanoinet; do not run an older one against it"
            )
        with self.engine.begin() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, to)

    def dispose(self) -> None:
        self.engine.dispose()


def _lock(fd: int, path: Path) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"the database is busy: another writer has held {path} for more than "
                    f"{LOCK_TIMEOUT:.0f} s; try again, and if it lasts, look for a stuck "
                    "hanoinet process"
                ) from None
            time.sleep(0.001)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (and by default migrate) the database at ``url``."""
    parsed = make_url(url)
    lock: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            lock = Path(f"{parsed.database}.lock")
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    store = Store(engine, lock)
    if migrate:
        try:
            store.migrate()
        except OperationalError as exc:
            raise StoreError(
                f"cannot open the database {parsed.render_as_string(hide_password=True)}: "
                f"{exc.orig}"
            ) from None
    return store


@contextmanager
def schema_store(base_url: str, prefix: str = "t", revision: str = "head") -> Iterator[Store]:
    """A store migrated to ``revision`` in a fresh PostgreSQL schema of ``base_url``, dropped
    afterwards: for tests and benchmarks that must not touch anything else in the database."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        store = open_store(f"{base_url}?options=-csearch_path%3D{schema}", migrate=False)
        try:
            store.migrate(revision)
            yield store
        finally:
            store.dispose()
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()
