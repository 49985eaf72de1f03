"""Fixtures for the exchange layer: three nodes' key sets, a directory authority, a directory.

Every time is fixed (``T0`` and offsets from it); no test reads the clock. Keys are
generated fresh for each test (cheap: Ed25519 and X25519).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc.jwk import OKPKey

from hanoinet.exchange import crypto
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey, SignedDirectory
from hanoinet.exchange.keys import KeySet

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
"""The fixed "now" of the exchange tests."""

NODE_A = "aa-central"
NODE_B = "bb-central"
NODE_C = "cc-central"


@dataclass(frozen=True)
class Authority:
    """A directory authority: its signing key and the key id nodes know it by."""

    key: OKPKey
    kid: str

    @property
    def trusted(self) -> dict[str, dict[str, Any]]:
        """What a node configures: kid -> public JWK."""
        return {self.kid: crypto.public_jwk(self.key)}

    def issue(self, directory: Directory) -> SignedDirectory:
        return dirmod.issue(directory, self.key, self.kid)


def node_entry(
    node_id: str,
    keys: KeySet | Iterable[dict[str, Any]],
    *,
    valid_from: datetime = T0 - timedelta(days=30),
) -> NodeEntry:
    """A directory entry for ``node_id`` publishing ``keys`` (a KeySet or public JWK dicts)."""
    public = keys.public() if isinstance(keys, KeySet) else list(keys)
    return NodeEntry(
        id=node_id,
        state=node_id[:2].upper(),
        name=f"Central authority of {node_id[:2].upper()}",
        roles=("central_authority",),
        endpoint=f"https://{node_id}.example.org/hanoinet",
        keys=tuple(PublicKey(**k) for k in public),
        languages=("en",),
        valid_from=valid_from,
    )


def build_directory(
    entries: Iterable[NodeEntry],
    *,
    version: int = 1,
    issued_at: datetime = T0 - timedelta(days=1),
    valid_until: datetime = T0 + timedelta(days=90),
) -> Directory:
    return Directory(
        version=version, issued_at=issued_at, valid_until=valid_until, nodes=tuple(entries)
    )


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def keys_a() -> KeySet:
    return KeySet.generate(T0 - timedelta(days=10))


@pytest.fixture
def keys_b() -> KeySet:
    return KeySet.generate(T0 - timedelta(days=10))


@pytest.fixture
def keys_c() -> KeySet:
    return KeySet.generate(T0 - timedelta(days=10))


@pytest.fixture
def authority() -> Authority:
    key = crypto.generate_signing_key()
    return Authority(key, crypto.thumbprint(crypto.public_jwk(key)))


@pytest.fixture
def make_entry() -> Callable[..., NodeEntry]:
    return node_entry


@pytest.fixture
def make_directory() -> Callable[..., Directory]:
    return build_directory


@pytest.fixture
def directory(keys_a: KeySet, keys_b: KeySet, keys_c: KeySet) -> Directory:
    """Version 1, valid for 90 days after T0, listing nodes A, B and C."""
    return build_directory(
        [node_entry(NODE_A, keys_a), node_entry(NODE_B, keys_b), node_entry(NODE_C, keys_c)]
    )


@pytest.fixture
def signed_directory(directory: Directory, authority: Authority) -> SignedDirectory:
    return authority.issue(directory)
