"""A node's X25519 key as an age recipient (``age1...``) and identity (``AGE-SECRET-KEY-1...``).

age's X25519 recipients are the same Curve25519 keys a node already publishes
in the directory for JWE (ECDH-ES), Bech32-encoded. Reusing the key across the
two is safe in practice: each protocol derives its keys through its own KDF
and label (age: HKDF-SHA256, "age-encryption.org/v1/X25519"; JWE: Concat KDF
with the algorithm id), and it means key rotation, revocation and the
directory need nothing new for evidence.
"""

from __future__ import annotations

import base64
from typing import Any

import bech32
from pyrage import x25519

RECIPIENT_HRP = "age"
IDENTITY_HRP = "age-secret-key-"


def _raw(jwk: dict[str, Any], member: str) -> bytes:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "X25519":
        raise ValueError("an age key must be an X25519 key (OKP, crv X25519)")
    value = str(jwk.get(member, ""))
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(raw) != 32:
        raise ValueError(f"the key's {member!r} is not 32 bytes")
    return raw


def _encode(hrp: str, raw: bytes) -> str:
    words = bech32.convertbits(raw, 8, 5)
    assert words is not None  # 8-to-5 bit conversion with padding cannot fail
    return str(bech32.bech32_encode(hrp, words))


def recipient_string(jwk: dict[str, Any]) -> str:
    """The ``age1...`` recipient of a public (or private) X25519 JWK."""
    return _encode(RECIPIENT_HRP, _raw(jwk, "x"))


def identity_string(jwk: dict[str, Any]) -> str:
    """The ``AGE-SECRET-KEY-1...`` identity of a private X25519 JWK (never logged)."""
    return _encode(IDENTITY_HRP, _raw(jwk, "d")).upper()


def recipient(jwk: dict[str, Any]) -> x25519.Recipient:
    return x25519.Recipient.from_str(recipient_string(jwk))


def identity(jwk: dict[str, Any]) -> x25519.Identity:
    return x25519.Identity.from_str(identity_string(jwk))
