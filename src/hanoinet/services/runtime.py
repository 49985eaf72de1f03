"""Loading a running node from its data folder: descriptor, keys, verified directory, store."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from hanoinet.errors import DirectoryRejected, InvalidInput, NoNode
from hanoinet.exchange.directory import DirectoryCache, SignedDirectory
from hanoinet.services import node as node_service
from hanoinet.services import staging as evidence_staging
from hanoinet.services.federation import NodeContext
from hanoinet.settings import Settings
from hanoinet.store import Store, open_store

EVIDENCE = "evidence"
"""The node's evidence store, in its data folder (shared by every process of the node)."""


def open_node_store(settings: Settings, *, migrate: bool = True) -> Store:
    """The node's database, opened (and migrated); raises NoNode when there is none where the
    settings point. The one place a command opens its node: only ``hanoinet node init`` creates
    a database, so a typo in ``HANOINET_DATA_DIR`` is an error, not a second, empty node. A
    server database (PostgreSQL) is created by its administrator and cannot be told apart
    here from an empty one: it is opened as it is. Evidence a killed unpack or export left in
    clear is removed here, before the command does anything (services/staging.py)."""
    url = settings.resolved_database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database)
        if not database.is_file():
            if settings.database_url:
                raise NoNode(
                    f"no hanoinet node database at {database} (HANOINET_DATABASE_URL): create "
                    'one with "hanoinet node init", or set HANOINET_DATABASE_URL to the node\'s '
                    "database"
                )
            raise NoNode(
                f"no hanoinet node at {settings.data_dir.resolve()} (no database there): create "
                'one with "hanoinet node init", or set HANOINET_DATA_DIR to the node\'s folder'
            )
    store = open_store(url, migrate=migrate)
    if not migrate:  # the schema may be an older one: the migration comes first
        return store
    try:
        removed = evidence_staging.sweep(store, settings.data_dir / EVIDENCE, actor=settings.user)
    except BaseException:
        store.dispose()
        raise
    if removed:
        print(
            f"hanoinet: removed {len(removed)} folder(s) of evidence in clear that a stopped "
            "unpack or export left (see the audit log: evidence.plaintext_removed)",
            file=sys.stderr,
        )
    return store


def authorities(settings: Settings) -> dict[str, dict[str, Any]]:
    path = settings.directory_authority
    if path is None:
        raise InvalidInput(
            "set HANOINET_DIRECTORY_AUTHORITY to the directory authority's public key file"
        )
    try:
        jwk = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"HANOINET_DIRECTORY_AUTHORITY {path}: {exc}") from None
    if not jwk.get("kid"):
        raise InvalidInput(f"HANOINET_DIRECTORY_AUTHORITY {path}: the key has no kid")
    return {str(jwk["kid"]): jwk}


def cache(settings: Settings) -> DirectoryCache:
    return DirectoryCache(settings.data_dir / "directory", authorities(settings))


def accept_directory(settings: Settings, token: str, now: datetime) -> SignedDirectory:
    return cache(settings).accept(token, now)


def load_context(settings: Settings, now: datetime) -> tuple[NodeContext, SignedDirectory]:
    descriptor = node_service.load_descriptor(settings.data_dir / node_service.DESCRIPTOR)
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    keys = node_service.load_keys(settings.data_dir, passphrase, node_service.token_for(settings))
    try:
        signed = cache(settings).newest(now)
    except DirectoryRejected as exc:
        raise InvalidInput(
            f"the directory kept in {settings.data_dir / 'directory'} is refused: {exc.message}"
        ) from None
    if signed is None:
        raise InvalidInput("no directory yet: `hanoinet directory accept FILE` first")
    if signed.directory.node(descriptor.id) is None:
        raise InvalidInput(
            f"this node ({descriptor.id}) is not in directory version {signed.directory.version}"
        )
    store = open_node_store(settings)
    return NodeContext(descriptor.id, keys, signed.directory, store), signed
