"""Opening and migrating the store; refusing a database from a newer hanoinet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from hanoinet.errors import SchemaTooNew
from hanoinet.store import Store, open_store, schema_store
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


def _expression_indexes() -> list[Any]:
    """The indexes of schema.py on an expression rather than plain columns."""
    from sqlalchemy import Column

    from hanoinet.store.schema import metadata

    return [
        index
        for table in metadata.tables.values()
        for index in table.indexes
        if not all(isinstance(e, Column) for e in index.expressions)
    ]


def _index_definition(sql: str) -> str:
    """An index's CREATE statement without what each database adds when it stores one: the
    schema name and access method, casts to text (PostgreSQL), case, spaces, parentheses."""
    import re

    sql = sql.lower()
    sql = re.sub(r" on \w+\.", " on ", sql)
    sql = sql.replace(" using btree", "")
    sql = re.sub(r"::(text|character varying)", "", sql)
    return re.sub(r"[\s()]", "", sql)


def _described(store: Store) -> dict[str, Any]:
    """Everything the database says of its schema, and the revision it records."""
    found = inspect(store.engine)
    tables: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        tables[table] = (
            [
                (c["name"], str(c["type"]), c["nullable"], str(c["default"]))
                for c in found.get_columns(table)
            ],
            found.get_pk_constraint(table),
            sorted(map(repr, found.get_foreign_keys(table))),
            sorted(map(repr, found.get_indexes(table))),
            sorted(map(repr, found.get_unique_constraints(table))),
            sorted(map(repr, found.get_check_constraints(table))),
        )
    with store.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return {"tables": tables, "version": version}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("revision", ["head", "0012"])
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_tests_stores_are_what_the_migrations_make(
    kind: str, revision: str, tmp_path: Path, store_factory: Any
) -> None:
    """The test suite's stores are copied from a template (SQLite) or made by replaying the
    SQL the migrations sent (PostgreSQL): the same schema as running the migrations."""
    with store_factory(kind, tmp_path, "copied", revision) as copied:
        if kind == "sqlite":
            migrated = open_store(f"sqlite:///{tmp_path / 'migrated.db'}", migrate=False)
            try:
                migrated.migrate(revision)
                assert _described(copied) == _described(migrated)
            finally:
                migrated.dispose()
        else:
            base = copied.engine.url.set(query={}).render_as_string(hide_password=False)
            with schema_store(base, revision=revision) as migrated:
                assert _described(copied) == _described(migrated)
        assert copied.current_revision() == (head_revision() if revision == "head" else revision)


# SQLAlchemy and Alembic say so when they meet SQLite's index on an expression; that index is
# compared by test_indexes_on_expressions_match_the_migrations.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_tables_declared_in_code_match_the_migrations(store: Store) -> None:
    """schema.py and the Alembic migrations describe the same database (tables, columns,
    indexes and foreign keys), so a change to one without the other fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from hanoinet.store.schema import metadata

    # Alembic cannot compare an index on an expression (SQLAlchemy does not reflect one on
    # SQLite; PostgreSQL gives it back rewritten): those are compared below.
    on_expressions = {index.name for index in _expression_indexes()}

    def comparable(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        return not (type_ == "index" and name in on_expressions)

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": comparable})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_indexes_on_expressions_match_the_migrations(store: Store) -> None:
    from sqlalchemy.schema import CreateIndex

    indexes = _expression_indexes()
    assert indexes, "schema.py declares the lists' index on an expression (ix_requests_queue)"
    with store.engine.connect() as conn:
        for index in indexes:
            if store.dialect == "sqlite":
                stored = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"),
                    {"n": index.name},
                ).scalar()
            else:
                stored = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                    {"n": index.name},
                ).scalar()
            assert stored is not None, f"the migrations do not create index {index.name}"
            declared = str(CreateIndex(index).compile(dialect=conn.dialect))
            assert _index_definition(stored) == _index_definition(declared)


def test_lists_order_is_read_from_the_index(store: Store) -> None:
    """An ORDER BY on schema.URGENCY_RANK, updated_at and id (the lists' order) is answered
    from ix_requests_queue, on both databases."""
    from sqlalchemy import select

    from hanoinet.store.schema import URGENCY_RANK, requests

    query = (
        select(requests.c.id)
        .order_by(URGENCY_RANK, requests.c.updated_at.desc(), requests.c.id.desc())
        .limit(50)
    )
    with store.engine.connect() as conn:
        # Compiled as a query is (bound parameters stay parameters), not with literal_binds.
        compiled = query.compile(dialect=conn.dialect)
        values = compiled.construct_params()
        if store.dialect == "sqlite":
            positional = tuple(values[name] for name in compiled.positiontup or ())
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
            plan = " ".join(str(row[-1]) for row in rows)
        else:
            # On an empty table a sequential scan is cheapest: forbid it, and forbid sorting.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_sort = off")
            plan = " ".join(
                str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", values)
            )
    assert "ix_requests_queue" in plan, plan


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0004_keeps_every_receipt_once_and_points_rows_to_it(
    kind: str, tmp_path: Path, store_factory: Any
) -> None:
    """Revision 0004 moves receipts out of the inbox and outbox rows into their own table:
    none is lost, a receipt named by two rows is kept once, and downgrading puts them back."""
    import hashlib
    from datetime import UTC, datetime

    at = datetime(2026, 11, 24, tzinfo=UTC)
    with store_factory(kind, tmp_path, revision="0003") as old:
        with old.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO cases (id, title, state, created_at, created_by) "
                    "VALUES ('C-1', 't', 'XA', :at, 'x')"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO requests (id, uid, case_id, direction, kind, state, urgency, "
                    "document, document_sha256, error_findings, created_at, updated_at, version) "
                    "VALUES ('R-1', 'u', 'C-1', 'outgoing', 'preservation', 'sent', 'routine', "
                    "'{}', 'h', 0, :at, :at, 1)"
                ),
                {"at": at},
            )
            for n, receipt in enumerate(["batch-token", "batch-token", None]):
                conn.execute(
                    text(
                        "INSERT INTO outbox (request_id, type, payload, created_at, status, "
                        "receipt) VALUES ('R-1', 'request', '{}', :at, 'delivered', :r)"
                    ),
                    {"at": at, "r": receipt},
                )
                conn.execute(
                    text(
                        "INSERT INTO inbox (message_id, sender, type, received_at, status, "
                        "digest, receipt) VALUES (:m, 'b', 'request', :at, 'applied', 'd', :r)"
                    ),
                    {"m": f"m{n}", "at": at, "r": receipt or "single-token"},
                )
        old.migrate()
        with old.engine.connect() as conn:
            kept = dict(conn.execute(text("SELECT digest, token FROM receipts")).all())
            outbox_digests = [
                r for (r,) in conn.execute(text("SELECT receipt_digest FROM outbox ORDER BY id"))
            ]
            inbox_digests = [
                r
                for (r,) in conn.execute(
                    text("SELECT receipt_digest FROM inbox ORDER BY message_id")
                )
            ]
        digest = {t: hashlib.sha256(t.encode()).hexdigest() for t in kept.values()}
        assert sorted(kept.values()) == ["batch-token", "single-token"]
        assert all(digest[token] == d for d, token in kept.items())
        assert outbox_digests == [digest["batch-token"], digest["batch-token"], None]
        assert inbox_digests == [
            digest["batch-token"],
            digest["batch-token"],
            digest["single-token"],
        ]
        from alembic import command

        from hanoinet.store.db import _alembic_config

        with old.engine.begin() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
        with old.engine.connect() as conn:
            assert [r for (r,) in conn.execute(text("SELECT receipt FROM outbox ORDER BY id"))] == [
                "batch-token",
                "batch-token",
                None,
            ]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0013_adds_the_other_states_reference_empty_and_takes_it_away(
    kind: str, tmp_path: Path, store_factory: Any
) -> None:
    """Revision 0013: requests kept before it have no other State's reference (null: not yet
    known), one can be recorded after it, and downgrading drops the column."""
    from datetime import UTC, datetime

    from alembic import command

    from hanoinet.store.db import _alembic_config

    at = datetime(2026, 11, 24, tzinfo=UTC)
    with store_factory(kind, tmp_path, revision="0012") as old:
        with old.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO cases (id, title, state, created_at, created_by) "
                    "VALUES ('C-1', 't', 'XB', :at, 'x')"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO requests (id, uid, case_id, direction, kind, state, urgency, "
                    "document, document_sha256, error_findings, created_at, updated_at, version) "
                    "VALUES ('R-1', 'u', 'C-1', 'incoming', 'preservation', 'received', "
                    "'routine', '{}', 'h', 0, :at, :at, 1)"
                ),
                {"at": at},
            )
        old.migrate("0013")
        assert old.current_revision() == "0013"
        with old.transaction() as conn:
            assert conn.execute(text("SELECT peer_ref FROM requests")).scalar_one() is None
            conn.execute(text("UPDATE requests SET peer_ref = 'AU/2026-17'"))
            assert conn.execute(text("SELECT peer_ref FROM requests")).scalar_one() == "AU/2026-17"
        with old.engine.begin() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0012")
        with old.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("requests")}
        assert "peer_ref" not in columns and "peer_node" in columns


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_0015_gives_the_statistics_each_requests_channel(
    kind: str, tmp_path: Path, store_factory: Any
) -> None:
    """Revision 0015: the statistics' projection learns the channel of each request already
    projected (a letter from a State outside the network stays a letter), and the network for
    the others; downgrading drops the column."""
    from datetime import UTC, datetime

    from alembic import command

    from hanoinet.store.db import _alembic_config

    at = datetime(2026, 12, 1, tzinfo=UTC)
    with store_factory(kind, tmp_path, revision="0014") as old:
        with old.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO cases (id, title, state, created_at, created_by) "
                    "VALUES ('C-1', 't', 'XB', :at, 'x')"
                ),
                {"at": at},
            )
            for rid, means in (("R-1", "network"), ("R-2", "post")):
                conn.execute(
                    text(
                        "INSERT INTO requests (id, uid, case_id, direction, kind, state, "
                        "urgency, document, document_sha256, error_findings, created_at, "
                        "updated_at, version, means) VALUES (:id, :id, 'C-1', 'incoming', "
                        "'preservation', 'received', 'routine', '{}', 'h', 0, :at, :at, 1, :m)"
                    ),
                    {"at": at, "id": rid, "m": means},
                )
                conn.execute(
                    text(
                        "INSERT INTO request_milestones (request_id, direction, kind, urgency) "
                        "VALUES (:id, 'incoming', 'preservation', 'routine')"
                    ),
                    {"id": rid},
                )
        old.migrate("0015")
        with old.engine.connect() as conn:
            rows = conn.execute(text("SELECT request_id, means FROM request_milestones"))
            got = {rid: means for rid, means in rows}
        assert got == {"R-1": "network", "R-2": "post"}
        with old.engine.begin() as conn:
            config = _alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0014")
        with old.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("request_milestones")}
        assert "means" not in columns


def _sqlite(tmp_path: Path) -> Store:
    from hanoinet.store import open_store

    return open_store(f"sqlite:///{tmp_path / 'locks.db'}", migrate=False)


def test_sqlite_writers_take_the_lock_file_in_turn(tmp_path: Path) -> None:
    """A second writer (another thread here; another process alike) starts only after the
    first one has committed, and then sees its write."""
    import threading

    store = _sqlite(tmp_path)
    assert store.write_lock == tmp_path / "locks.db.lock"
    with store.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    inside, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with store.transaction() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            inside.set()
            release.wait(timeout=10)
            order.append("first commits")

    def second() -> None:
        inside.wait(timeout=10)
        with store.transaction() as conn:
            order.append("second begins")
            seen = conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            order.append(f"second sees {seen}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert order == ["first commits", "second begins", "second sees 1"]
    store.dispose()


def test_a_transaction_inside_another_is_refused_not_a_deadlock(tmp_path: Path) -> None:
    from hanoinet.errors import StoreError

    store = _sqlite(tmp_path)
    with (
        store.transaction(),
        pytest.raises(StoreError, match="inside another one"),
        store.transaction(),
    ):
        pass
    with store.transaction() as conn:  # the refusal left the lock usable
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    store.dispose()


def test_a_writer_held_up_too_long_gets_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the write lock: after LOCK_TIMEOUT a clear StoreError, nothing
    written; once it is free, writing works."""
    import fcntl
    import os
    import subprocess
    import sys

    from hanoinet.errors import StoreError
    from hanoinet.store import db

    store = _sqlite(tmp_path)
    with store.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.readline()\n",
            str(store.write_lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(db, "LOCK_TIMEOUT", 0.2)
        with (
            pytest.raises(StoreError, match=r"busy.*locks\.db\.lock.*stuck hanoinet process"),
            store.transaction() as conn,
        ):
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    with store.transaction() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    fd = os.open(store.write_lock, os.O_RDWR)  # and nothing holds it now
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
    store.dispose()
