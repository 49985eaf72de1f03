"""A node's backup, and its restore on an empty machine (docs/backup.md).

``backup`` writes one archive while the node runs: a tar, encrypted with age to the
recipients given (X25519: the identity that opens it is kept offline, away from the node),
holding

- ``database/hanoinet.db``: SQLite's online backup of the database, a consistent snapshot
  taken while writers go on; or ``database/postgresql.dump``: ``pg_dump`` (custom format,
  one snapshot) of the node's schema;
- ``data/...``: the node's data folder as it is (its descriptor, its key set encrypted under
  the node's passphrase, the passphrase file if the node keeps one, the verified directories,
  the evidence store), without the database's own files and transfers still arriving;
- ``settings.json``: the settings in force, secrets left out by name (they are the
  environment's to give again);
- ``hanoinet-backup.json`` last: what was written, each file with its size and SHA-256.

The archive is streamed (tar into age, one pass, whatever the evidence store's size). The
backup is recorded in the audit log (``node.backup``) before the snapshot, so the archive
holds its own entry. ``restore`` reads an archive with an age identity, checks every file
against the manifest, and only then writes the node: into an empty data folder, and for
PostgreSQL into an empty database (``pg_restore``); it migrates the database to this
hanoinet's schema and verifies the audit chain before it says it is done.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pyrage
from pyrage import x25519
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from hanoinet import __version__
from hanoinet.errors import InvalidInput
from hanoinet.evidence.package import _through_pipe
from hanoinet.evidence.staging import JOURNAL as STAGING_JOURNAL
from hanoinet.settings import Settings
from hanoinet.store import audit as audit_log
from hanoinet.store import open_store

FORMAT = "hanoinet.backup/1"
MANIFEST = "hanoinet-backup.json"
SQLITE_MEMBER = "database/hanoinet.db"
POSTGRES_MEMBER = "database/postgresql.dump"
SETTINGS_MEMBER = "settings.json"
SKIPPED_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal", ".db.lock", ".part", ".tmp")
"""Files of the data folder a backup leaves out: the database's own (its snapshot is taken
apart) and what is still arriving or being written."""
CHUNK = 1 << 20
DATA_PROTECTION = "36(2)"
"""A backup copies every case's personal data: audited under the data-protection safeguard."""


@dataclass(frozen=True)
class Made:
    path: Path
    files: int
    bytes: int
    database: str
    revision: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "files": self.files,
            "bytes": self.bytes,
            "database": self.database,
            "revision": self.revision,
        }


@dataclass(frozen=True)
class Restored:
    data_dir: Path
    database: str
    files: int
    node: str | None
    created: str
    audit_entries: int
    audit_ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "database": self.database,
            "files": self.files,
            "node": self.node,
            "backup_created": self.created,
            "audit_entries": self.audit_entries,
            "audit_ok": self.audit_ok,
        }


def new_identity(path: Path) -> str:
    """Write a new age identity to ``path`` (owner-only; never overwrites) and return its
    recipient: the key backups are encrypted to. Keep the file offline."""
    if path.exists():
        raise InvalidInput(f"{path} exists; a backup identity is never overwritten")
    identity = x25519.Identity.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    recipient = str(identity.to_public())
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"# hanoinet backup identity; recipient: {recipient}\n{identity}\n")
    return recipient


def read_identities(path: Path) -> list[x25519.Identity]:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"--identity {path}: cannot read it ({exc})") from None
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise InvalidInput(f"--identity {path}: no AGE-SECRET-KEY line in the file")
    try:
        return [x25519.Identity.from_str(k) for k in keys]
    except Exception:  # pyrage raises its own error type per key kind
        raise InvalidInput(f"--identity {path}: not a valid age X25519 identity") from None


def _recipients(given: list[str]) -> list[x25519.Recipient]:
    if not given:
        raise InvalidInput(
            "a backup is encrypted to an age recipient: give --to RECIPIENT (or set "
            "HANOINET_BACKUP_RECIPIENTS); `hanoinet node backup-key --out FILE` makes one"
        )
    found = []
    for text in given:
        try:
            found.append(x25519.Recipient.from_str(text.strip()))
        except Exception:
            raise InvalidInput(f"--to {text!r} is not an age X25519 recipient (age1...)") from None
    return found


class _Hashing:
    """A file read through, its SHA-256 kept."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.sha256 = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.sha256.update(data)
        return data


def _pg_args(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """libpq options, environment and schema of a SQLAlchemy PostgreSQL URL."""
    parsed = make_url(url)
    args = ["--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {**os.environ, "PGDATABASE": parsed.database or ""}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    options = str(parsed.query.get("options", ""))
    schema = None
    if "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0].split(",")[0]
    return args, env, schema


def _snapshot(settings: Settings, folder: Path) -> tuple[str, Path]:
    """The database as one consistent snapshot in ``folder``: (dialect, file)."""
    url = settings.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = Path(str(parsed.database))
        if not source.is_file():
            raise InvalidInput(f"no database at {source}: is this a node's data folder?")
        target = folder / "hanoinet.db"
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)  # SQLite's online backup: a consistent copy, writers go on
        return "sqlite", target
    args, env, schema = _pg_args(url)
    target = folder / "postgresql.dump"
    command = ["pg_dump", *args, "--format=custom", "--no-owner", "--file", str(target)]
    if schema:
        command += ["--schema", schema]
    _run(command, env, "pg_dump")
    return "postgresql", target


def _run(command: list[str], env: dict[str, str], tool: str) -> None:
    if shutil.which(command[0]) is None:
        raise InvalidInput(
            f"{tool} is not installed: install Debian's postgresql-client (apt-get install "
            "postgresql-client)"
        )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"{tool} failed: {done.stderr.strip()[:500]}")


def _secret_names(settings: Settings) -> set[str]:
    """The settings that hold secrets (typed ``SecretStr``), set or not: never archived."""
    return {
        name
        for name, info in type(settings).model_fields.items()
        if "SecretStr" in str(info.annotation)
    }


def backup(
    settings: Settings,
    out: Path,
    recipients: list[str],
    *,
    actor: str,
    at: datetime,
    progress: Callable[[int], None] | None = None,
) -> Made:
    """Write the node's encrypted backup to ``out`` (atomically; nothing left on failure)."""
    age_recipients = _recipients(recipients)
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose another --out")
    data_dir = settings.data_dir
    if not (data_dir / "keys.jwe").is_file():
        raise InvalidInput(f"no node in {data_dir}: set HANOINET_DATA_DIR to the node's folder")
    store = open_store(settings.resolved_database_url(), migrate=False)
    try:
        revision = store.current_revision()
        with store.transaction() as conn:  # recorded first: the archive holds its own entry
            audit_log.append(
                conn, at=at, actor=actor, action="node.backup", target="node",
                legal_basis=DATA_PROTECTION, detail={"to": out.name},
            )  # fmt: skip
    finally:
        store.dispose()
    with tempfile.TemporaryDirectory(prefix=".hanoinet-backup-", dir=out.parent) as work:
        dialect, snapshot = _snapshot(settings, Path(work))
        files = [(SQLITE_MEMBER if dialect == "sqlite" else POSTGRES_MEMBER, snapshot)]
        files += [
            (f"data/{p.relative_to(data_dir).as_posix()}", p)
            for p in sorted(data_dir.rglob("*"))
            if p.is_file()
            and not p.is_symlink()
            and not p.name.endswith(SKIPPED_SUFFIXES)
            and not any(
                part.startswith((".hanoinet-", ".import-")) or part == STAGING_JOURNAL
                for part in p.relative_to(data_dir).parts
            )
        ]
        secrets = _secret_names(settings)
        shown = {
            name: (str(value) if isinstance(value, Path) else value)
            for name, value in settings.model_dump().items()
            if name not in secrets
        }
        if settings.database_url:  # its password is a secret too
            shown["database_url"] = make_url(settings.database_url).render_as_string(
                hide_password=True
            )
        settings_bytes = json.dumps(shown, indent=1, sort_keys=True, default=str).encode()

        def produce(writer: IO[bytes]) -> dict[str, Any]:
            listed: dict[str, dict[str, Any]] = {}
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for name, path in files:
                    try:
                        f = open(path, "rb")  # noqa: SIM115 (closed below)
                    except FileNotFoundError:
                        continue  # gone since it was listed (a transfer settled): not kept
                    with f:
                        info = tar.gettarinfo(arcname=name, fileobj=f)
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        hashing = _Hashing(f)
                        tar.addfile(info, hashing)
                    listed[name] = {"bytes": info.size, "sha256": hashing.sha256.hexdigest()}
                    if progress is not None:
                        progress(info.size)
                _add_bytes(tar, SETTINGS_MEMBER, settings_bytes)
                listed[SETTINGS_MEMBER] = {
                    "bytes": len(settings_bytes),
                    "sha256": hashlib.sha256(settings_bytes).hexdigest(),
                }
                manifest = {
                    "format": FORMAT,
                    "created": at.isoformat(),
                    "hanoinet": __version__,
                    "database": dialect,
                    "revision": revision,
                    "node": _node_id(data_dir),
                    "files": listed,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            return listed

        part = out.with_name(out.name + ".part")
        try:
            with open(part, "wb") as target:
                listed, _ = _through_pipe(
                    produce,
                    lambda reader: pyrage.encrypt_io(reader, target, age_recipients),  # type: ignore[arg-type]
                )
                target.flush()
                os.fsync(target.fileno())
            os.chmod(part, 0o600)
            os.replace(part, out)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return Made(out, len(listed), out.stat().st_size, dialect, revision)


def _node_id(data_dir: Path) -> str | None:
    try:
        return str(json.loads((data_dir / "node.json").read_text(encoding="utf-8"))["id"])
    except (OSError, ValueError, KeyError):
        return None


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def restore(
    settings: Settings,
    archive: Path,
    identities: list[x25519.Identity],
    *,
    actor: str,
    at: datetime,
) -> Restored:
    """Rebuild the node of ``archive`` in the configured (empty) data folder and database."""
    if not hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later: safe extraction
        raise InvalidInput(
            "restoring needs Python 3.11.4 or later (its tar module's safe extraction); "
            "upgrade Python on this machine"
        )
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise InvalidInput(
            f"{data_dir} is not empty: a node is restored into an empty data folder "
            "(set HANOINET_DATA_DIR to a new one)"
        )
    url = settings.resolved_database_url()
    postgres = make_url(url).get_backend_name() != "sqlite"
    if not postgres:
        database = Path(str(make_url(url).database))
        there = [database.with_name(database.name + x) for x in ("", "-wal", "-shm")]
        if any(f.exists() for f in there):
            raise InvalidInput(
                f"{database} exists: a node is restored into an empty database (set "
                "HANOINET_DATABASE_URL, or HANOINET_DATA_DIR, to a new place)"
            )
    if postgres:
        probe = open_store(url, migrate=False)
        try:
            if probe.current_revision() is not None or inspect(probe.engine).get_table_names():
                raise InvalidInput(
                    "the database of HANOINET_DATABASE_URL is not empty: a node is restored "
                    "into an empty database"
                )
        finally:
            probe.dispose()
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".hanoinet-restore-", dir=data_dir.parent))
    try:
        try:
            with open(archive, "rb") as source:
                _through_pipe(
                    lambda writer: pyrage.decrypt_io(source, writer, identities),  # type: ignore[arg-type]
                    lambda reader: _extract(reader, staging),
                )
        except (pyrage.DecryptError, tarfile.TarError, OSError) as exc:
            raise InvalidInput(
                f"{archive} cannot be opened with this identity, or it is not a hanoinet "
                f"backup ({type(exc).__name__})"
            ) from None
        manifest = _checked(staging)
        if manifest["database"] == "postgresql" and not postgres:
            raise InvalidInput(
                "this is a backup of a node on PostgreSQL: set HANOINET_DATABASE_URL to an "
                "empty PostgreSQL database to restore it"
            )
        if manifest["database"] == "sqlite" and postgres:
            raise InvalidInput(
                "this is a backup of a node on SQLite: unset HANOINET_DATABASE_URL to restore it"
            )
        try:
            # the database first, in one transaction: a failure leaves it empty
            if postgres:
                args, env, _schema = _pg_args(url)
                _run(
                    ["pg_restore", *args, "--no-owner", "--no-privileges", "--exit-on-error",
                     "--single-transaction", "--dbname", env["PGDATABASE"],
                     str(staging / POSTGRES_MEMBER)],
                    env, "pg_restore",
                )  # fmt: skip
            else:
                os.replace(staging / SQLITE_MEMBER, Path(str(make_url(url).database)))
            for name in manifest["files"]:
                if name.startswith("data/"):
                    target = data_dir / name.removeprefix("data/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / name, target)
            _private_write(data_dir / SETTINGS_MEMBER, (staging / SETTINGS_MEMBER).read_bytes())
        except BaseException:
            for left in list(data_dir.iterdir()):  # empty again: a retry may start over
                if left.is_dir():
                    shutil.rmtree(left, ignore_errors=True)
                else:
                    left.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    store = open_store(url)  # migrated to this hanoinet's schema if the backup is older
    try:
        with store.transaction() as conn:
            checked = audit_log.verify(conn)
            audit_log.append(
                conn, at=at, actor=actor, action="node.restore", target="node",
                legal_basis=DATA_PROTECTION,
                detail={"backup_created": manifest["created"], "files": len(manifest["files"])},
            )  # fmt: skip
    finally:
        store.dispose()
    return Restored(
        data_dir,
        manifest["database"],
        len(manifest["files"]),
        manifest.get("node"),
        manifest["created"],
        checked.entries,
        checked.ok,
    )


def _private_write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _extract(reader: IO[bytes], staging: Path) -> None:
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                raise tarfile.TarError(f"{member.name} is not a regular file")
            tar.extract(member, staging, filter="data")


def _checked(staging: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is there with its SHA-256, and nothing else."""
    try:
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InvalidInput("the archive has no readable hanoinet-backup.json") from None
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"not a {FORMAT} archive (format {manifest.get('format')!r})")
    listed: dict[str, Any] = manifest.get("files") or {}
    database = SQLITE_MEMBER if manifest.get("database") == "sqlite" else POSTGRES_MEMBER
    for needed in (database, SETTINGS_MEMBER, "data/keys.jwe", "data/node.json"):
        if needed not in listed:
            raise InvalidInput(f"the archive lacks {needed}: it is not a whole node's backup")
    present = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()} - {
        MANIFEST
    }
    if present != set(listed):
        extra = sorted(present ^ set(listed))[:3]
        raise InvalidInput(f"the archive does not hold what its manifest lists: {extra}")
    for name, expected in listed.items():
        digest = hashlib.sha256()
        with open(staging / name, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != expected["sha256"]:
            raise InvalidInput(f"{name} in the archive does not match its SHA-256: damaged")
    return dict(manifest)
