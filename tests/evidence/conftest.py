"""Fixtures for evidence packages: two nodes (XA sends, XB receives), a directory authority,
a signed directory, and ``make_package`` to pack files into an encrypted package.

Every time is fixed; no test reads the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pyrage import x25519

from hanoinet.evidence import agekeys
from hanoinet.evidence import package as pkg
from hanoinet.evidence.bag import sources
from hanoinet.evidence.conditions import conditions_for
from hanoinet.evidence.custody import Collection
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey
from hanoinet.exchange.keys import KeySet

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    sender_keys: KeySet
    receiver_keys: KeySet
    outsider_keys: KeySet
    authority_key: Any
    authority_kid: str
    directory_token: str

    @property
    def trust(self) -> pkg.Trust:
        return pkg.Trust({self.authority_kid: crypto.public_jwk(self.authority_key)})

    def identities(self, keys: KeySet) -> list[x25519.Identity]:
        return [agekeys.identity(e.private) for e in keys.entries if e.use == "enc"]

    def sender(self, keys: KeySet | None = None) -> pkg.Sender:
        sig = (keys or self.sender_keys).active("sig", T0)
        return pkg.Sender(
            "xa-central",
            "Central authority of XA (demo)",
            "XA",
            sig.kid,
            sig.key,
            self.directory_token,
        )


def _entry(node_id: str, keys: KeySet) -> NodeEntry:
    return NodeEntry(
        id=node_id,
        state=node_id[:2].upper(),
        name=f"Central authority of {node_id[:2].upper()} (demo)",
        roles=("central_authority",),
        endpoint=f"https://{node_id}.example.org/hanoinet",
        keys=tuple(PublicKey(**k) for k in keys.public()),
        valid_from=T0 - timedelta(days=30),
        illustrative=True,
    )


@pytest.fixture
def world() -> World:
    a, b, c = (KeySet.generate(T0 - timedelta(days=10)) for _ in range(3))
    authority = crypto.generate_signing_key()
    kid = crypto.thumbprint(crypto.public_jwk(authority))
    directory = Directory(
        version=1,
        issued_at=T0 - timedelta(days=1),
        valid_until=T0 + timedelta(days=90),
        nodes=(_entry("xa-central", a), _entry("xb-central", b)),
    )
    token = dirmod.issue(directory, authority, kid).token
    return World(a, b, c, authority, kid, token)


COLLECTION = Collection(
    collected_by="Officer K, cyber unit of XA (demo)",
    collected_at=T0 - timedelta(hours=5),
    tool="ExampleImager 4.7",
    method="logical export of the account",
    source="the service provider's export (demo)",
)


@pytest.fixture
def evidence_files(tmp_path: Path) -> Path:
    folder = tmp_path / "collected"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "access.log").write_bytes(b"2026-11-30 10:00 login from 192.0.2.7\n" * 50)
    (folder / "account.json").write_text('{"account": "demo-user", "created": "2024-01-01"}\n')
    (folder / "image.bin").write_bytes(bytes(range(256)) * 4096)
    return folder


@pytest.fixture
def make_package(world: World, tmp_path: Path) -> Callable[..., pkg.Packed]:
    def make(
        paths: list[Path],
        *,
        out: Path | None = None,
        recipients: list[str] | None = None,
        sender: pkg.Sender | None = None,
        package_id: str = "EV-xa-central-000001",
        confidential: bool = True,
        peer_reference: tuple[str, str] | None = None,
        timestamper: Callable[[bytes], bytes] | None = None,
    ) -> pkg.Packed:
        conditions = conditions_for(
            request_uid="0d1f6a7e-0000-4000-8000-000000000001",
            reference="R-000001",
            matter="Investigation 17/2026 of fraud against demo bank (illustrative)",
            confidential=confidential,
        )
        enc = [agekeys.recipient_string(world.receiver_keys.active("enc", T0).private)]
        return pkg.pack(
            sources(paths),
            out or tmp_path / "out" / "package.age",
            package_id=package_id,
            request_uid=conditions.request,
            reference="R-000001",
            sender=sender or world.sender(),
            recipient_node="xb-central",
            recipients=recipients or enc,
            conditions=conditions,
            collection=COLLECTION,
            actor="alice",
            version="0.1.0",
            at=T0,
            peer_reference=peer_reference,
            timestamper=timestamper,
        )

    return make
