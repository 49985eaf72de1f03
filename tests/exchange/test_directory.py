"""The signed directory: verification, every refusal reason, and the node's cache."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hanoinet.errors import DirectoryRejected
from hanoinet.exchange import crypto
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory, DirectoryCache

SECOND = timedelta(seconds=1)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def reason(token: str, authorities: dict[str, dict[str, Any]], now: datetime, **kw: Any) -> str:
    with pytest.raises(DirectoryRejected) as caught:
        dirmod.verify(token, authorities, now=now, **kw)
    assert caught.value.code == "directory_rejected"
    return caught.value.reason


def versioned(directory: Directory, version: int, **changes: Any) -> Directory:
    return directory.model_copy(update={"version": version, **changes})


def test_verify_ok(
    signed_directory: Any, authority: Any, directory: Directory, t0: datetime
) -> None:
    verified = dirmod.verify(signed_directory.token, authority.trusted, now=t0)
    assert verified.directory == directory
    assert verified.token == signed_directory.token
    assert verified.digest == hashlib.sha256(signed_directory.token.encode()).hexdigest()
    assert verified.directory.node("aa-central") is not None
    assert verified.directory.node("zz-central") is None
    assert [n.id for n in verified.directory.nodes_of("BB", "central_authority")] == ["bb-central"]
    assert verified.directory.nodes_of("BB", "extradition_authority") == []


def test_verify_tolerates_surrounding_whitespace(
    signed_directory: Any, authority: Any, t0: datetime
) -> None:
    verified = dirmod.verify(f"\n {signed_directory.token}\n", authority.trusted, now=t0)
    assert verified.token == signed_directory.token


def test_issued_token_is_a_canonical_signed_document(
    signed_directory: Any, authority: Any, directory: Directory
) -> None:
    header, payload, _ = signed_directory.token.split(".")
    assert json.loads(unb64(header)) == {
        "typ": "hanoinet-directory+jws",
        "kid": authority.kid,
        "alg": "Ed25519",
    }
    body = unb64(payload)
    assert (
        body
        == json.dumps(
            directory.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        ).encode()
    )
    assert b'"d"' not in body
    # Issuing the same document twice gives the same token (Ed25519 is deterministic).
    assert authority.issue(directory).token == signed_directory.token


def test_one_byte_of_payload_changed_is_forged(
    signed_directory: Any, authority: Any, t0: datetime
) -> None:
    header, payload, signature = signed_directory.token.split(".")
    body = unb64(payload)
    assert b'"version":1' in body
    changed = body.replace(b'"version":1', b'"version":2')
    assert len(changed) == len(body)
    token = f"{header}.{b64(changed)}.{signature}"
    assert reason(token, authority.trusted, t0) == "forged"


def test_a_flipped_signature_character_is_forged(
    signed_directory: Any, authority: Any, t0: datetime
) -> None:
    header, payload, signature = signed_directory.token.split(".")
    flipped = ("B" if signature[5] == "A" else "A").join((signature[:5], signature[6:]))
    assert reason(f"{header}.{payload}.{flipped}", authority.trusted, t0) == "forged"


def test_another_key_claiming_the_authority_kid_is_forged(
    directory: Directory, authority: Any, t0: datetime
) -> None:
    impostor = crypto.generate_signing_key()
    token = dirmod.issue(directory, impostor, authority.kid).token
    assert reason(token, authority.trusted, t0) == "forged"


def test_signed_by_an_unknown_key(directory: Directory, authority: Any, t0: datetime) -> None:
    other = crypto.generate_signing_key()
    other_kid = crypto.thumbprint(crypto.public_jwk(other))
    token = dirmod.issue(directory, other, other_kid).token
    assert reason(token, authority.trusted, t0) == "unknown_authority"
    # It verifies for a node that does trust that key.
    assert (
        dirmod.verify(token, {other_kid: crypto.public_jwk(other)}, now=t0).directory == directory
    )
    # No kid at all.
    bare = crypto.sign({"typ": dirmod.TYP}, b"{}", authority.key)
    assert reason(bare, authority.trusted, t0) == "unknown_authority"


@pytest.mark.parametrize("token", ["", "not a jws", "%%%.%%%.%%%", "WzFd.e30.e30"])
def test_not_a_jws_is_malformed(token: str, authority: Any, t0: datetime) -> None:
    assert reason(token, authority.trusted, t0) == "malformed"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"hello": "world"}',
        b"not json at all",
        b"[]",
        b'{"format": "hanoinet.directory/1", "version": 0, "issued_at": "2026-01-01T00:00:00Z",'
        b' "valid_until": "2027-01-01T00:00:00Z", "nodes": []}',
        b'{"format": "hanoinet.directory/2", "version": 1, "issued_at": "2026-01-01T00:00:00Z",'
        b' "valid_until": "2027-01-01T00:00:00Z", "nodes": []}',
        b'{"format": "hanoinet.directory/1", "version": 1, "issued_at": "2026-01-01T00:00:00Z",'
        b' "valid_until": "2027-01-01T00:00:00Z", "nodes": [], "extra": true}',
    ],
    ids=["other-json", "not-json", "array", "version-0", "other-format", "extra-member"],
)
def test_signed_but_not_a_directory_is_malformed(
    payload: bytes, authority: Any, t0: datetime
) -> None:
    token = crypto.sign({"typ": dirmod.TYP, "kid": authority.kid}, payload, authority.key)
    assert reason(token, authority.trusted, t0) == "malformed"


def test_signed_directory_with_another_typ_is_malformed(
    directory: Directory, authority: Any, t0: datetime
) -> None:
    payload = json.dumps(directory.model_dump(mode="json")).encode()
    token = crypto.sign(
        {"typ": "hanoinet-envelope+jws", "kid": authority.kid}, payload, authority.key
    )
    assert reason(token, authority.trusted, t0) == "malformed"


def test_signed_directory_with_naive_timestamps_is_malformed(authority: Any, t0: datetime) -> None:
    payload = (
        b'{"format": "hanoinet.directory/1", "version": 1, "issued_at": "2026-01-01T00:00:00",'
        b' "valid_until": "2027-01-01T00:00:00", "nodes": []}'
    )
    token = crypto.sign({"typ": dirmod.TYP, "kid": authority.kid}, payload, authority.key)
    assert reason(token, authority.trusted, t0) == "malformed"


def test_expired(directory: Directory, authority: Any, t0: datetime) -> None:
    token = authority.issue(directory.model_copy(update={"valid_until": t0})).token
    assert reason(token, authority.trusted, t0) == "expired"
    assert reason(token, authority.trusted, t0 + timedelta(days=1)) == "expired"
    assert dirmod.verify(token, authority.trusted, now=t0 - SECOND).directory.valid_until == t0


def test_downgrade(directory: Directory, authority: Any, t0: datetime) -> None:
    v1 = authority.issue(directory)
    v2 = authority.issue(versioned(directory, 2))
    assert reason(v1.token, authority.trusted, t0, newest_known=v2) == "downgrade"
    assert (
        dirmod.verify(v2.token, authority.trusted, now=t0, newest_known=v1).directory.version == 2
    )


def test_same_version_other_content_conflicts(
    directory: Directory, authority: Any, t0: datetime
) -> None:
    v2 = authority.issue(versioned(directory, 2))
    other = authority.issue(versioned(directory, 2, nodes=directory.nodes[:2]))
    assert reason(other.token, authority.trusted, t0, newest_known=v2) == "conflicting_version"


def test_same_version_same_token_is_accepted(
    signed_directory: Any, authority: Any, t0: datetime
) -> None:
    again = dirmod.verify(
        signed_directory.token, authority.trusted, now=t0, newest_known=signed_directory
    )
    assert again.digest == signed_directory.digest


# --- the cache -------------------------------------------------------------------------------


def test_cache_keeps_history_and_refuses_downgrade(
    directory: Directory, authority: Any, t0: datetime, tmp_path: Path
) -> None:
    folder = tmp_path / "directory"
    cache = DirectoryCache(folder, authority.trusted)
    assert cache.newest(t0) is None
    v1 = authority.issue(directory)
    v2 = authority.issue(versioned(directory, 2, issued_at=t0))
    assert cache.accept(v1.token, t0).directory.version == 1
    assert cache.accept(v2.token, t0 + SECOND).directory.version == 2
    assert sorted(p.name for p in folder.iterdir()) == ["directory-v1.jws", "directory-v2.jws"]
    assert (folder / "directory-v1.jws").read_text("ascii") == v1.token
    assert (folder / "directory-v2.jws").read_text("ascii") == v2.token
    newest = cache.newest(t0 + SECOND)
    assert newest is not None
    assert newest.directory.version == 2
    assert newest.token == v2.token
    with pytest.raises(DirectoryRejected) as caught:
        cache.accept(v1.token, t0 + 2 * SECOND)
    assert caught.value.reason == "downgrade"
    # Accepting the newest again is fine and changes nothing.
    assert cache.accept(v2.token, t0 + 3 * SECOND).digest == v2.digest
    assert (folder / "directory-v2.jws").read_text("ascii") == v2.token


def test_cache_refuses_a_conflicting_version_and_keeps_the_first(
    directory: Directory, authority: Any, t0: datetime, tmp_path: Path
) -> None:
    cache = DirectoryCache(tmp_path, authority.trusted)
    first = authority.issue(directory)
    cache.accept(first.token, t0)
    other = authority.issue(directory.model_copy(update={"nodes": directory.nodes[:1]}))
    with pytest.raises(DirectoryRejected) as caught:
        cache.accept(other.token, t0)
    assert caught.value.reason == "conflicting_version"
    assert (tmp_path / "directory-v1.jws").read_text("ascii") == first.token


def test_cache_writes_nothing_for_a_refused_directory(
    directory: Directory, authority: Any, t0: datetime, tmp_path: Path
) -> None:
    cache = DirectoryCache(tmp_path / "dir", authority.trusted)
    stranger = crypto.generate_signing_key()
    token = dirmod.issue(directory, stranger, "stranger").token
    with pytest.raises(DirectoryRejected) as caught:
        cache.accept(token, t0)
    assert caught.value.reason == "unknown_authority"
    assert not (tmp_path / "dir").exists()


def test_cache_orders_versions_numerically(
    directory: Directory, authority: Any, t0: datetime, tmp_path: Path
) -> None:
    cache = DirectoryCache(tmp_path, authority.trusted)
    for version in (2, 9, 10):
        cache.accept(authority.issue(versioned(directory, version)).token, t0)
    newest = cache.newest(t0)
    assert newest is not None
    assert newest.directory.version == 10
    with pytest.raises(DirectoryRejected) as caught:
        cache.accept(authority.issue(versioned(directory, 9)).token, t0)
    assert caught.value.reason == "downgrade"


def test_cache_accepts_a_new_version_after_the_cached_one_expired(
    directory: Directory, authority: Any, t0: datetime, tmp_path: Path
) -> None:
    cache = DirectoryCache(tmp_path, authority.trusted)
    cache.accept(authority.issue(versioned(directory, 1, valid_until=t0 + SECOND)).token, t0)
    later = t0 + timedelta(days=1)
    v2 = authority.issue(
        versioned(directory, 2, issued_at=later, valid_until=later + timedelta(days=90))
    )
    assert cache.accept(v2.token, later).directory.version == 2
