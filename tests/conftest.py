"""Shared fixtures: a fresh store on SQLite and on PostgreSQL, and a SoftHSM2 token.

PostgreSQL tests run against 127.0.0.1:5432 (database ``test``, trust auth), each
in a schema of its own that is dropped afterwards. When the server cannot be
reached the PostgreSQL half is skipped with a reason that says so, and
``HANOINET_REQUIRE_POSTGRES=1`` (set in CI) turns that skip into a failure.
"""

from __future__ import annotations

import atexit
import base64
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from argon2 import PasswordHasher

from hanoinet.exchange.token import TokenSettings
from hanoinet.store import Store, open_store

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


_SQLITE_TEMPLATES: dict[str, Path] = {}
_PG_SCRIPTS: dict[str, list[tuple[str, Any]]] = {}
_PG_ADMIN: list[sqlalchemy.Engine] = []
"""Per test process and revision: a migrated SQLite file to copy, and the SQL that Alembic ran
on PostgreSQL to replay. Running the migrations themselves costs a quarter of a second per
store; most tests need a dozen stores (tests/store/test_db.py checks the copies against a store
that Alembic migrated)."""


def _sqlite_template(revision: str) -> Path:
    if revision not in _SQLITE_TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="hanoinet-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = open_store(f"sqlite:///{folder / 'template.db'}", migrate=False)
        try:
            template.migrate(revision)
        finally:
            template.dispose()  # the last connection checkpoints the WAL into the file
        _SQLITE_TEMPLATES[revision] = folder / "template.db"
    return _SQLITE_TEMPLATES[revision]


def _pg_admin() -> sqlalchemy.Engine:
    if not _PG_ADMIN:
        _PG_ADMIN.append(sqlalchemy.create_engine(PG_BASE))
        atexit.register(_PG_ADMIN[0].dispose)
    return _PG_ADMIN[0]


@contextmanager
def _pg_schema(replay: list[tuple[str, Any]]) -> Iterator[Store]:
    """A store in a new, empty schema, after ``replay``; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _pg_admin().begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")  # until the commit
        cursor = conn.connection.cursor()
        for statement, parameters in replay:
            cursor.execute(statement, parameters)
    opened = open_store(f"{PG_BASE}?options=-csearch_path%3D{schema}", migrate=False)
    try:
        yield opened
    finally:
        opened.dispose()
        with _pg_admin().begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


def _pg_script(revision: str) -> list[tuple[str, Any]]:
    """What Alembic sends to PostgreSQL to migrate an empty schema to ``revision``: every
    statement with its parameters, in order, as the driver received them (unqualified: the
    schema comes from ``search_path``)."""
    if revision not in _PG_SCRIPTS:
        sent: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        with _pg_schema([]) as template:
            sqlalchemy.event.listen(template.engine, "before_cursor_execute", record)
            template.migrate(revision)
            schema = str(template.engine.url.query["options"]).split("=")[-1]
        if any(schema in f"{sql} {params}" for sql, params in sent):
            raise RuntimeError("a migration named its schema; replaying it would be wrong")
        _PG_SCRIPTS[revision] = sent
    return _PG_SCRIPTS[revision]


def _batched(script: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Consecutive statements without parameters joined into one (one round trip to the server
    instead of eighty: PostgreSQL runs several statements sent together without parameters)."""
    batches: list[tuple[str, Any]] = []
    for statement, parameters in script:
        if not parameters and batches and not batches[-1][1]:
            batches[-1] = (f"{batches[-1][0]};\n{statement}", None)
        else:
            batches.append((statement, parameters or None))
    return batches


def _pg_store(revision: str) -> AbstractContextManager[Store]:
    """A schema of its own, made by replaying the migrations' SQL on one pooled connection."""
    return _pg_schema(_batched(_pg_script(revision)))


@contextmanager
def fresh_store(
    kind: str, folder: Path, name: str = "hanoinet", revision: str = "head"
) -> Iterator[Store]:
    """An empty store of ``kind`` (sqlite or postgresql) migrated to ``revision``, dropped
    afterwards. Made from a template migrated once per test process, not migrated again."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(_sqlite_template(revision))) as source,
            closing(sqlite3.connect(folder / f"{name}.db")) as target,
        ):
            source.backup(target)
        opened = open_store(f"sqlite:///{folder / name}.db", migrate=False)
        try:
            yield opened
        finally:
            opened.dispose()
        return
    if _PG_PROBLEM is not None:
        if os.environ.get("HANOINET_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_BASE}: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable at {PG_BASE}: {_PG_PROBLEM}")
    with _pg_store(revision) as opened:
        yield opened


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its cheapest in every test (a test of the real parameters sets
    ``users._HASHER`` back): at its real cost, 150 ms a hash, made fixtures that add a few
    users take half a second."""
    from hanoinet.services import users

    monkeypatch.setattr(users, "_HASHER", FAST_HASHER)


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


SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")
SPARE_TOKEN = "hanoinet-spare"


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> TokenSettings:
    """A PKCS#11 token for this test process: Debian's SoftHSM2 (scripts/ensure-softhsm, run
    by ``make test``), a real PKCS#11 module. Its configuration goes in ``SOFTHSM2_CONF`` for
    the rest of the process and the commands it starts: the module reads it once, when it is
    first loaded. Tests share the token; each key in it has an id of its own. A PKCS#11 login
    is the process's: a second token, ``SPARE_TOKEN``, is there to try wrong PINs on."""
    if not SOFTHSM.is_file():
        if os.environ.get("CI") == "true" or os.environ.get("HANOINET_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"SoftHSM2 is required but missing ({SOFTHSM}): run scripts/ensure-softhsm")
        pytest.skip(f"SoftHSM2 missing ({SOFTHSM}): run scripts/ensure-softhsm")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n",
        encoding="utf-8",
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    pin = secrets.token_hex(8)
    for label in ("hanoinet-test", SPARE_TOKEN):  # the spare: never logged in to (bad PINs)
        pins = [
            "--so-pin",
            secrets.token_hex(8),
            "--pin",
            pin if label != SPARE_TOKEN else "x" + pin,
        ]
        made = subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, *pins],
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    return TokenSettings(SOFTHSM, "hanoinet-test", pin)


@dataclass(frozen=True)
class TimeStampingAuthority:
    """A time-stamping authority on loopback (``tsa`` fixture)."""

    url: str
    """Its RFC 3161 endpoint (with the time-stamping key purpose)."""
    url_without_purpose: str
    """The same TSA's key, certified without the time-stamping key purpose."""
    root_pem: Path
    other_root_pem: Path
    """A root that did not certify the TSA."""


def _tsa_config(now: datetime) -> dict[str, object]:
    def stamp(at: datetime) -> str:
        return at.strftime("%Y-%m-%dT%H:%M:%S+0000")

    validity = {
        "valid-from": stamp(now - timedelta(days=30)),
        "valid-to": stamp(now + timedelta(days=30)),
    }
    usage = {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
    }
    root = {"validity": validity, "profiles": ["simple-ca"]}
    return {
        "external-url-prefix": "http://127.0.0.1",
        "keysets": {
            "ks": {"keys": {n: {"path": f"{n}.key.pem"} for n in ("root", "tsa", "other-root")}}
        },
        "pki-architectures": {
            "hanoinet-tests": {
                "keyset": "ks",
                "entity-defaults": {"country-name": "XA", "organization-name": "hanoinet tests"},
                "entities": {
                    "root": {"common-name": "Test root CA (hanoinet tests)"},
                    "tsa": {"common-name": "Test TSA (hanoinet tests)"},
                    "other-root": {"common-name": "Unrelated root CA (hanoinet tests)"},
                },
                "certs": {
                    "root": root
                    | {
                        "subject": "root",
                        "subject-key": "root",
                        "issuer": "root",
                        "authority-key": "root",
                    },
                    "other-root": root
                    | {
                        "subject": "other-root",
                        "subject-key": "other-root",
                        "issuer": "other-root",
                        "authority-key": "other-root",
                    },
                    "tsa": {
                        "subject": "tsa",
                        "subject-key": "tsa",
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [
                            usage,
                            {
                                "id": "extended_key_usage",
                                "critical": True,
                                "value": ["time_stamping"],
                            },
                        ],
                    },
                    "tsa-no-purpose": {
                        "subject": "tsa",
                        "subject-key": "tsa",
                        "issuer": "root",
                        "validity": validity,
                        "extensions": [usage],
                    },
                },
                "services": {
                    "time-stamping": {
                        "tsa": {"signing-key": "tsa", "signing-cert": "tsa"},
                        "tsa-no-purpose": {"signing-key": "tsa", "signing-cert": "tsa-no-purpose"},
                    }
                },
            }
        },
    }


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TimeStampingAuthority]:
    """A real RFC 3161 time-stamping authority on loopback: certomancer's Animator (a PKI
    testing tool from pyHanko's author) served by werkzeug in a thread, its keys (ECDSA
    P-256) made now. Nothing hand-written speaks RFC 3161."""
    import logging
    import threading

    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from werkzeug.serving import make_server

    folder = tmp_path_factory.mktemp("tsa")
    for name in ("root", "tsa", "other-root"):
        key = ec.generate_private_key(ec.SECP256R1())
        (folder / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    config = CertomancerConfig(_tsa_config(datetime.now(UTC)), key_search_dir=str(folder))
    arch = config.get_pki_arch(ArchLabel("hanoinet-tests"))
    for name in ("root", "other-root"):
        cert = arch.get_cert(CertLabel(name))
        (folder / f"{name}.pem").write_text(
            "-----BEGIN CERTIFICATE-----\n"
            + base64.encodebytes(cert.dump()).decode()
            + "-----END CERTIFICATE-----\n"
        )
    app = Animator(
        AnimatorArchStore(config.pki_archs), with_web_ui=False, allow_time_override=False
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/hanoinet-tests/tsa"
    try:
        yield TimeStampingAuthority(
            f"{base}/tsa", f"{base}/tsa-no-purpose", folder / "root.pem", folder / "other-root.pem"
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
