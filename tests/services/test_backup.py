"""A node's backup restores on an empty machine (issue 25 item 2): taken while the node's
database is open and written to, restored into a fresh folder (and, on PostgreSQL, a fresh
database), every row of every table, every file of the data folder and the audit chain come
back as they were; a wrong identity, a damaged archive or a folder that is not empty are
refused and nothing is written."""

from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519
from sqlalchemy import create_engine, select

from hanoinet.errors import InvalidInput
from hanoinet.services import backup, users
from hanoinet.services import cases as case_service
from hanoinet.services import node as node_service
from hanoinet.settings import Settings
from hanoinet.store import Store, open_store
from hanoinet.store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PG_BASE = os.environ.get(
    "HANOINET_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _node(data_dir: Path, store: Store) -> None:
    """A node with a few requests, a user, a directory file and an evidence package."""
    node_service.init_node(
        data_dir, node_id="xa-ca", state="XA", name="Aurelia (demo)",
        roles=["central_authority"], endpoint="http://127.0.0.1:8101", languages=["en"],
        channels=["central_authority"], at=T0, passphrase=None,
    )  # fmt: skip
    (data_dir / "directory").mkdir()
    (data_dir / "directory" / "directory-v1.jws").write_text("eyJ.a.b", encoding="ascii")
    (data_dir / "evidence" / "store").mkdir(parents=True)
    (data_dir / "evidence" / "store" / "EV-xb-ca-000001.age").write_bytes(os.urandom(300_000))
    (data_dir / "evidence" / "store" / "EV-xb-ca-000002.age.part").write_bytes(b"arriving")
    users.create_user(store, "carl", "central_authority_officer", actor="admin", at=T0)
    text = (ROOT / "examples" / "mla-xa-xb.json").read_text("utf-8")
    for n in range(3):
        rid = case_service.new_case(
            store, text, direction="outgoing", actor="carl", at=T0 + timedelta(minutes=n)
        ).request_id
        case_service.act(store, rid, "check", actor="carl", at=T0 + timedelta(minutes=n))


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("hanoinet.db") and p.name != "settings.json"
    }


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "offline" / "backup-identity.txt"
    return key, backup.new_identity(key)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_running_nodes_backup_restores_every_row_and_file(
    kind: str, tmp_path: Path, store_factory: Any, identity: tuple[Path, str]
) -> None:
    key, recipient = identity
    source_dir = tmp_path / "node"
    with store_factory(kind, source_dir, "hanoinet") as store:
        _node(source_dir, store)
        settings = Settings(data_dir=source_dir, database_url=_url(store), user="operator")
        # the node goes on writing while the backup is taken
        stop = threading.Event()

        def busy() -> None:
            n = 0
            while not stop.is_set() and n < 50:
                users.create_user(store, f"u{n}", "requester", actor="admin", at=T0)
                n += 1

        writer = threading.Thread(target=busy)
        writer.start()
        try:
            made = backup.backup(
                settings, tmp_path / "node.backup", [recipient], actor="operator", at=T0
            )
        finally:
            stop.set()
            writer.join()
        assert made.database == kind and made.revision == store.current_revision()
        assert (tmp_path / "node.backup").read_bytes().startswith(b"age-encryption.org/v1")
        before_rows, before_files = _rows(_url(store)), _files(source_dir)

    target_dir = tmp_path / "restored"
    if kind == "sqlite":
        target_url = None
    else:
        database = f"restore_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {database}")
        schema = make_schema(before_url := settings.database_url)  # the node's own schema
        target_url = PG_BASE.rsplit("/", 1)[0] + f"/{database}?options=-csearch_path%3D{schema}"
        assert before_url
    try:
        restored_settings = Settings(data_dir=target_dir, database_url=target_url, user="op")
        done = backup.restore(
            restored_settings,
            tmp_path / "node.backup",
            backup.read_identities(key),
            actor="operator",
            at=T0 + timedelta(hours=1),
        )
        assert done.audit_ok and done.node == "xa-ca" and done.database == kind
        after = _rows(restored_settings.resolved_database_url())
        # every row as it was in the snapshot, but for the restore's own audit entry; the
        # users the writer added during the backup are there up to the snapshot, no further
        name = [c.name for c in metadata.tables["users"].columns].index("username")
        snapshot_users = {r[name] for r in after["users"]}
        assert {"carl"} <= snapshot_users <= {r[name] for r in before_rows["users"]}
        for table, rows in after.items():
            if table in ("users", "audit", "audit_head", "counters"):
                continue
            assert rows == before_rows[table], table
        assert after["audit"][:-1] == [
            r for r in before_rows["audit"] if r[0] <= len(after["audit"]) - 1
        ]
        assert after["audit"][-1][3] == "node.restore"
        files = _files(target_dir)
        wanted = {n: b for n, b in before_files.items() if not n.endswith(".part")}
        assert files == wanted  # keys, passphrase, descriptor, directory, evidence
        assert (target_dir / "secrets" / "passphrase").stat().st_mode & 0o077 == 0
        assert (target_dir / "settings.json").stat().st_mode & 0o077 == 0
        shown = json.loads((target_dir / "settings.json").read_text())
        assert shown["user"] == "operator" and "key_passphrase" not in shown
        reopened = open_store(restored_settings.resolved_database_url())
        try:
            assert reopened.current_revision() == made.revision
        finally:
            reopened.dispose()
    finally:
        if kind == "postgresql":
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE {database} WITH (FORCE)")
            admin.dispose()


def make_schema(url: str | None) -> str:
    assert url and "search_path%3D" in url
    return url.split("search_path%3D", 1)[1].split("&", 1)[0]


def test_bad_archives_identities_and_targets_are_refused_and_nothing_is_written(
    tmp_path: Path, store_factory: Any, identity: tuple[Path, str]
) -> None:
    key, recipient = identity
    source_dir = tmp_path / "node"
    with store_factory("sqlite", source_dir, "hanoinet") as store:
        _node(source_dir, store)
        settings = Settings(data_dir=source_dir, database_url=_url(store), user="operator")
        with pytest.raises(InvalidInput, match="give --to RECIPIENT"):
            backup.backup(settings, tmp_path / "a.backup", [], actor="o", at=T0)
        with pytest.raises(InvalidInput, match="is not an age X25519 recipient"):
            backup.backup(settings, tmp_path / "a.backup", ["age1nope"], actor="o", at=T0)
        archive = tmp_path / "a.backup"
        backup.backup(settings, archive, [recipient], actor="o", at=T0)
        with pytest.raises(InvalidInput, match="already exists"):
            backup.backup(settings, archive, [recipient], actor="o", at=T0)
    target = Settings(data_dir=tmp_path / "restored", user="o")
    stranger = [x25519.Identity.generate()]
    with pytest.raises(InvalidInput, match="cannot be opened with this identity"):
        backup.restore(target, archive, stranger, actor="o", at=T0)
    damaged = tmp_path / "damaged.backup"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(InvalidInput, match="cannot be opened"):
        backup.restore(target, damaged, backup.read_identities(key), actor="o", at=T0)
    assert not (tmp_path / "restored").exists() or not any((tmp_path / "restored").iterdir())
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "something").write_text("x")
    with pytest.raises(InvalidInput, match="is not empty"):
        backup.restore(
            Settings(data_dir=occupied, user="o"), archive, backup.read_identities(key),
            actor="o", at=T0,
        )  # fmt: skip
    live = tmp_path / "live.db"
    live.write_bytes(b"a database in use")
    with pytest.raises(InvalidInput, match=r"live\.db exists"):
        backup.restore(
            Settings(data_dir=tmp_path / "fresh", database_url=f"sqlite:///{live}", user="o"),
            archive, backup.read_identities(key), actor="o", at=T0,
        )  # fmt: skip
    assert live.read_bytes() == b"a database in use"
    with pytest.raises(InvalidInput, match="never overwritten"):
        backup.new_identity(key)
