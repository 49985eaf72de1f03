"""A node's key set: generation, rotation with overlap, revocation, storage at rest."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hanoinet.exchange import crypto
from hanoinet.exchange.crypto import CryptoFailure
from hanoinet.exchange.directory import PublicKey
from hanoinet.exchange.keys import KeySet

PASSPHRASE = "a node passphrase, long enough"
SECOND = timedelta(seconds=1)
OVERLAP = timedelta(days=14)


def all_keys(value: Any) -> set[str]:
    """Every dict key anywhere in a JSON-like value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


def test_generate_has_a_signing_an_encryption_and_a_document_key(t0: datetime) -> None:
    keys = KeySet.generate(t0)
    assert sorted(e.use for e in keys.entries) == ["doc", "enc", "sig"]
    sig, enc, doc = keys.active("sig", t0), keys.active("enc", t0), keys.active("doc", t0)
    assert sig.private["crv"] == "Ed25519"
    assert enc.private["crv"] == "X25519"
    assert (doc.private["kty"], doc.private["crv"]) == ("EC", "P-256") and "y" in doc.private
    for entry in keys.entries:
        assert entry.created == t0
        assert entry.not_after is None
        assert entry.revoked is None
        assert entry.kid == crypto.thumbprint(entry.private)
        assert set(entry.private) >= {"kty", "crv", "x", "d"}
        assert keys.get(entry.kid) == entry
    assert keys.get("no-such-kid") is None
    assert len({sig.kid, enc.kid, doc.kid}) == 3
    assert KeySet.generate(t0).active("sig", t0).kid != sig.kid


def test_keys_are_not_valid_before_creation(t0: datetime) -> None:
    keys = KeySet.generate(t0)
    assert all(e.valid_at(t0) and not e.valid_at(t0 - SECOND) for e in keys.entries)
    with pytest.raises(CryptoFailure):
        keys.active("sig", t0 - SECOND)


def test_private_key_entry_repr_hides_the_private_jwk(t0: datetime) -> None:
    entry = KeySet.generate(t0).active("sig", t0)
    assert entry.private["d"] not in repr(entry)


def test_active_picks_the_newest_valid_key(t0: datetime) -> None:
    keys = KeySet.generate(t0)
    old = keys.active("sig", t0)
    rotated = keys.rotate("sig", t0 + timedelta(days=30), OVERLAP)
    new = rotated.active("sig", t0 + timedelta(days=30))
    assert new.kid != old.kid
    # Before the rotation moment, the new key is not valid yet: the old one is active.
    assert rotated.active("sig", t0 + timedelta(days=30) - SECOND).kid == old.kid
    # During the overlap both are valid; the newest is active.
    assert rotated.active("sig", t0 + timedelta(days=31)).kid == new.kid
    # The encryption key is not touched by a signing-key rotation.
    assert rotated.active("enc", t0 + timedelta(days=100)) == keys.active("enc", t0)


@pytest.mark.parametrize("use", ["sig", "enc", "doc"])
def test_rotate_keeps_the_old_key_valid_for_the_overlap_only(t0: datetime, use: str) -> None:
    at = t0 + timedelta(days=30)
    keys = KeySet.generate(t0)
    old = keys.active(use, t0)  # type: ignore[arg-type]
    rotated = keys.rotate(use, at, OVERLAP)  # type: ignore[arg-type]
    assert len(rotated.entries) == 4
    ended = rotated.get(old.kid)
    assert ended is not None
    assert ended.not_after == at + OVERLAP
    new = next(e for e in rotated.entries if e.use == use and e.kid != old.kid)
    assert new.created == at
    assert new.not_after is None
    assert new.valid_at(at)
    assert ended.valid_at(at)
    assert ended.valid_at(at + OVERLAP - SECOND)
    assert not ended.valid_at(at + OVERLAP)
    assert not ended.valid_at(at + OVERLAP + timedelta(days=365))
    assert rotated.active(use, at + OVERLAP).kid == new.kid  # type: ignore[arg-type]
    # The other uses are untouched.
    for other in {"sig", "enc", "doc"} - {use}:
        assert rotated.active(other, at + OVERLAP) == keys.active(other, t0)  # type: ignore[arg-type]


def test_rotating_again_shortens_but_never_extends_an_overlap(t0: datetime) -> None:
    first = KeySet.generate(t0)
    k1 = first.active("sig", t0).kid
    second = first.rotate("sig", t0 + timedelta(days=10), timedelta(days=3))
    k2 = second.active("sig", t0 + timedelta(days=10)).kid
    # Rotating again within k1's overlap, with a longer overlap, does not extend k1.
    third = second.rotate("sig", t0 + timedelta(days=11), timedelta(days=30))
    ends = {e.kid: e.not_after for e in third.entries if e.use == "sig"}
    assert ends[k1] == t0 + timedelta(days=13)
    assert ends[k2] == t0 + timedelta(days=41)
    # A key already past its end is not touched.
    fourth = third.rotate("sig", t0 + timedelta(days=20), timedelta(days=1))
    ends = {e.kid: e.not_after for e in fourth.entries if e.use == "sig"}
    assert ends[k1] == t0 + timedelta(days=13)
    assert ends[k2] == t0 + timedelta(days=21)


def test_revoke_makes_a_key_invalid_from_that_moment(t0: datetime) -> None:
    keys = KeySet.generate(t0)
    sig = keys.active("sig", t0)
    when = t0 + timedelta(days=5)
    revoked = keys.revoke(sig.kid, when)
    entry = revoked.get(sig.kid)
    assert entry is not None
    assert entry.revoked == when
    assert entry.valid_at(when - SECOND)
    assert not entry.valid_at(when)
    assert not entry.valid_at(when + timedelta(days=1))
    assert revoked.active("sig", when - SECOND).kid == sig.kid
    # The original key set is unchanged (immutable).
    assert keys.get(sig.kid) == sig


def test_revoking_the_active_key_falls_back_then_runs_out(t0: datetime) -> None:
    at = t0 + timedelta(days=30)
    keys = KeySet.generate(t0)
    old = keys.active("sig", t0)
    rotated = keys.rotate("sig", at, OVERLAP)
    new = rotated.active("sig", at)
    # The new key is compromised: revoked, the old one (still in its overlap) takes over.
    revoked = rotated.revoke(new.kid, at + timedelta(days=1))
    assert revoked.active("sig", at + timedelta(days=1)).kid == old.kid
    # After the overlap nothing is left.
    with pytest.raises(CryptoFailure, match="no valid sig key"):
        revoked.active("sig", at + OVERLAP)
    # Revoking every signing key leaves none at all.
    none_left = revoked.revoke(old.kid, at + timedelta(days=2))
    with pytest.raises(CryptoFailure):
        none_left.active("sig", at + timedelta(days=2))
    assert none_left.active("enc", at + timedelta(days=2)) == keys.active("enc", t0)


def test_revoke_an_unknown_key_fails(t0: datetime) -> None:
    with pytest.raises(CryptoFailure):
        KeySet.generate(t0).revoke("no-such-kid", t0)


def test_public_never_contains_private_material(t0: datetime) -> None:
    keys = KeySet.generate(t0).rotate("enc", t0 + timedelta(days=1), OVERLAP)
    keys = keys.revoke(keys.active("sig", t0).kid, t0 + timedelta(days=2))
    public = keys.public()
    assert len(public) == 4
    assert "d" not in all_keys(public)
    text = json.dumps(public)
    for entry in keys.entries:
        assert entry.private["d"] not in text
    for jwk, entry in zip(public, keys.entries, strict=True):
        assert jwk["kid"] == entry.kid == crypto.thumbprint(jwk)
        assert jwk["use"] == entry.use
        assert jwk["alg"] == {"sig": "Ed25519", "enc": "ECDH-ES", "doc": "ES256"}[entry.use]
        assert jwk["valid_from"] == entry.created.isoformat()
        key = PublicKey(**jwk)  # what the directory publishes
        assert key.usable_at(t0 + timedelta(days=1)) == entry.valid_at(t0 + timedelta(days=1))
    revoked = next(j for j in public if j["revoked"] is not None)
    assert revoked["revoked"] == (t0 + timedelta(days=2)).isoformat()
    ended = next(j for j in public if j["valid_until"] is not None)
    assert ended["valid_until"] == (t0 + timedelta(days=1) + OVERLAP).isoformat()


def test_json_round_trip(t0: datetime) -> None:
    keys = KeySet.generate(t0).rotate("sig", t0 + timedelta(days=1), OVERLAP)
    keys = keys.revoke(keys.active("enc", t0).kid, t0 + timedelta(days=2))
    assert KeySet.from_json(keys.to_json()) == keys


def test_from_json_refuses_another_format() -> None:
    with pytest.raises(CryptoFailure):
        KeySet.from_json(b'{"format": "something/1", "keys": []}')


def test_save_load_round_trip(t0: datetime, tmp_path: Path) -> None:
    """One save (PBES2 lock) and two loads: right and wrong passphrase."""
    keys = KeySet.generate(t0).rotate("sig", t0 + timedelta(days=1), OVERLAP)
    path = tmp_path / "node" / "keys.jwe"
    keys.save(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text(encoding="ascii")
    assert content.count(".") == 4  # a compact JWE
    assert content.encode() != keys.to_json()
    assert "hanoinet.keyset" not in content
    for entry in keys.entries:
        assert entry.private["d"] not in content
    assert crypto.unverified_header(content)["alg"] == "PBES2-HS512+A256KW"
    assert [p.name for p in path.parent.iterdir()] == ["keys.jwe"]  # no temporary left over
    assert KeySet.load(path, PASSPHRASE) == keys
    with pytest.raises(CryptoFailure):
        KeySet.load(path, PASSPHRASE.upper())


def test_save_refuses_a_short_passphrase(t0: datetime, tmp_path: Path) -> None:
    with pytest.raises(CryptoFailure):
        KeySet.generate(t0).save(tmp_path / "keys.jwe", "too short")
    assert not (tmp_path / "keys.jwe").exists()


def test_save_never_exposes_the_key_file_to_others(
    t0: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is created owner-only from the first byte (no chmod after the fact)."""
    monkeypatch.setattr(crypto, "lock", lambda data, passphrase: "locked-keys")  # skip PBES2
    opened: list[int] = []
    original = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(".tmp"):
            opened.append(mode)
        return original(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    previous = os.umask(0o022)
    try:
        KeySet.generate(t0).save(tmp_path / "keys.jwe", PASSPHRASE)
    finally:
        os.umask(previous)
    assert opened == [0o600]
    assert stat.S_IMODE((tmp_path / "keys.jwe").stat().st_mode) == 0o600
    assert not (tmp_path / "keys.tmp").exists()


def test_a_key_set_from_before_document_keys_gets_its_first_by_rotation(t0: datetime) -> None:
    """A node made before ``doc`` keys has none; rotating ``doc`` gives it one, and until then
    ``newest_valid`` says so instead of failing."""
    old = KeySet(tuple(e for e in KeySet.generate(t0).entries if e.use != "doc"))
    assert old.newest_valid("doc", t0) is None
    with pytest.raises(CryptoFailure, match="no valid doc key"):
        old.active("doc", t0)
    rotated = old.rotate("doc", t0 + SECOND, OVERLAP)
    assert rotated.active("doc", t0 + SECOND).private["crv"] == "P-256"


def test_the_document_key_never_signs_a_message(t0: datetime) -> None:
    doc = KeySet.generate(t0).active("doc", t0)
    with pytest.raises(CryptoFailure, match="signs documents only"):
        doc.key  # noqa: B018
    public = PublicKey(**doc.public())
    assert (public.kty, public.crv, public.alg, public.use) == ("EC", "P-256", "ES256", "doc")
    assert public.y and "d" not in public.model_dump()


@pytest.mark.parametrize(
    ("use", "kty", "crv", "y"),
    [
        ("sig", "EC", "P-256", "AAAA"),  # a P-256 key listed to sign messages
        ("doc", "OKP", "Ed25519", None),  # an Ed25519 key listed to sign documents
        ("doc", "EC", "P-256", None),  # an EC key without its y
        ("sig", "OKP", "Ed25519", "AAAA"),  # an OKP key with a y
    ],
)
def test_a_directory_key_must_be_the_kind_its_use_needs(
    t0: datetime, use: str, kty: str, crv: str, y: str | None
) -> None:
    from pydantic import ValidationError

    listed = {"x": "AAAA", "kid": "k", "alg": "x", "valid_from": t0.isoformat()}
    with pytest.raises(ValidationError):
        PublicKey(**listed, use=use, kty=kty, crv=crv, y=y)
