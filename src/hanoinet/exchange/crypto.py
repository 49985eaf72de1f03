"""The one module that calls the JOSE library (joserfc); everything else uses these recipes.

- ``sign``/``verify``: compact JWS, algorithm ``Ed25519`` (RFC 9864; ``EdDSA`` is not
  accepted).
- ``encrypt``/``decrypt``: compact JWE, ``ECDH-ES`` key agreement on X25519 and
  ``A256GCM`` content encryption.
- ``lock``/``unlock``: private keys at rest, as a JWE with ``PBES2-HS512+A256KW``
  under a passphrase.
- ``generate_document_key``/``import_document_key``: the ECDSA P-256 key that signs formal
  documents (PAdES), because the PDF readers people use (Acrobat, Poppler) do not know
  Ed25519. It never signs a message: the JWS registry accepts ``Ed25519`` only.

Every failure raises ``CryptoFailure``; callers at the envelope boundary turn it
into one opaque rejection with a reason code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import ECKey, OctKey, OKPKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter
from joserfc.util import json_b64encode, urlsafe_b64encode

SIGNING_ALG = "Ed25519"
DOCUMENT_ALG = "ES256"
DOCUMENT_CURVE = "P-256"
KEY_AGREEMENT_ALG = "ECDH-ES"
CONTENT_ENC = "A256GCM"
AT_REST_ALG = "PBES2-HS512+A256KW"


def _optional_str(value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError("must be a string or null")


# hanoinet's own protected header parameters (documented in docs/exchange.md).
_HEADERS = {
    "hn_id": HeaderParameter("Message id (UUIDv7)", "str"),
    "hn_from": HeaderParameter("Sending node id", "str"),
    "hn_to": HeaderParameter("Receiving node id", "str"),
    "hn_type": HeaderParameter("Message type", "str"),
    "hn_case": HeaderParameter("Case id at the sender", _optional_str),
    "hn_request": HeaderParameter("Request id at the sender", _optional_str),
    "iat": HeaderParameter("Created, seconds since the epoch", "int"),
    "exp": HeaderParameter("Expires, seconds since the epoch", "int"),
}
_JWS = JWSRegistry(header_registry=_HEADERS, algorithms=[SIGNING_ALG])
_JWE = JWERegistry(header_registry=_HEADERS, algorithms=[KEY_AGREEMENT_ALG, CONTENT_ENC])
MAX_CONTENT = 2 * 1024 * 1024
"""joserfc refuses a JWS payload over 128,000 bytes and a JWE ciphertext over 64 KiB by
default; a message (a formal document in Chinese is about 100 KB) may be larger. Callers
bound what they accept before verifying (envelope.MAX_BYTES, 2 MiB), so these limits only
need to let such a message through."""
_JWS.max_payload_length = MAX_CONTENT
_JWE.max_ciphertext_length = MAX_CONTENT


class CryptoFailure(Exception):
    """A signature, decryption or key operation failed. Never shown to a peer as is."""


def generate_signing_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


def generate_encryption_key() -> OKPKey:
    return OKPKey.generate_key("X25519")


def generate_document_key() -> ECKey:
    return ECKey.generate_key(DOCUMENT_CURVE)


def public_jwk(key: OKPKey | ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def private_jwk(key: OKPKey | ECKey) -> dict[str, Any]:
    return dict(key.as_dict(private=True))


def import_document_key(jwk: dict[str, Any]) -> ECKey:
    """A P-256 document-signing key from its JWK (public, or private with ``d``)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != DOCUMENT_CURVE:
        raise CryptoFailure(f"not a {DOCUMENT_CURVE} key (kty {jwk.get('kty')!r})")
    members: dict[str, str | list[str]] = {
        k: str(jwk[k]) for k in ("kty", "crv", "x", "y", "d") if k in jwk
    }
    try:
        return ECKey.import_key(members)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise CryptoFailure(f"not a {DOCUMENT_CURVE} key: {type(exc).__name__}: {exc}") from None


def import_key(jwk: dict[str, Any]) -> OKPKey:
    members = tuple((k, jwk[k]) for k in ("kty", "crv", "x", "d") if k in jwk)
    try:
        return _import(members)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise CryptoFailure(f"not an OKP key: {type(exc).__name__}: {exc}") from None


@lru_cache(maxsize=1024)
def _import(members: tuple[tuple[str, Any], ...]) -> OKPKey:
    """Importing a key costs as much as using it once; a node uses the same few keys for every
    message, so each is imported once per process. (Only successes are cached.)"""
    return OKPKey.import_key(dict(members))


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url): the key id hanoinet uses."""
    if jwk.get("kty") == "EC":
        return import_document_key(jwk).thumbprint()
    return import_key(jwk).thumbprint()


@dataclass(frozen=True)
class Verified:
    header: dict[str, Any]
    payload: bytes


def unverified_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS or JWE, decoded but NOT trusted: only to find
    the key to verify with."""
    try:
        first = token.split(".", 1)[0]
        padded = first + "=" * (-len(first) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    except RecursionError:
        raise CryptoFailure("the protected header is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CryptoFailure(f"not a compact JOSE object: {exc}") from None
    if not isinstance(header, dict):
        raise CryptoFailure("the protected header is not a JSON object")
    return header


class ExternalKey(Protocol):
    """A private Ed25519 key held elsewhere (a PKCS#11 token, exchange/token.py) that signs
    bytes on request and never leaves its holder."""

    def sign(self, data: bytes) -> bytes: ...


SigningKey = OKPKey | ExternalKey
"""A message-signing key: one hanoinet holds (from the key file), or one in a token."""


def sign(header: dict[str, Any], payload: bytes, key: SigningKey) -> str:
    protected = {**header, "alg": SIGNING_ALG}
    if isinstance(key, OKPKey):
        return jws.serialize_compact(protected, payload, key, registry=_JWS)
    # joserfc signs only with a key it holds; for a key in a token it still checks the header,
    # and the compact form is RFC 7515's, section 7.1, over the same base64url encoding.
    if "b64" in protected:  # RFC 7797 unencoded payloads: never made by hanoinet
        raise CryptoFailure("a key in a token signs base64url payloads only (no b64 header)")
    _JWS.check_header(protected)
    signing_input = json_b64encode(protected) + b"." + urlsafe_b64encode(payload)
    signature = key.sign(signing_input)
    if len(signature) != 64:
        raise CryptoFailure(f"the token gave a {len(signature)}-byte signature, not Ed25519's 64")
    return (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")


def verify(token: str, key: OKPKey) -> Verified:
    try:
        obj = jws.deserialize_compact(token, key, registry=_JWS)
    except (JoseError, ValueError) as exc:
        raise CryptoFailure(f"signature not valid: {type(exc).__name__}") from None
    return Verified(dict(obj.protected), obj.payload)


def encrypt(header: dict[str, Any], plaintext: bytes, recipient: OKPKey) -> str:
    protected = {**header, "alg": KEY_AGREEMENT_ALG, "enc": CONTENT_ENC}
    return jwe.encrypt_compact(protected, plaintext, recipient, registry=_JWE)


def decrypt(token: str, key: OKPKey) -> Verified:
    try:
        obj = jwe.decrypt_compact(token, key, registry=_JWE)
    except (JoseError, ValueError) as exc:
        raise CryptoFailure(f"cannot decrypt: {type(exc).__name__}") from None
    assert obj.plaintext is not None
    return Verified(dict(obj.protected), obj.plaintext)


MIN_PASSPHRASE = 16


def _passphrase_key(passphrase: str) -> OctKey:
    if len(passphrase) < MIN_PASSPHRASE:
        raise CryptoFailure(f"the key passphrase must have at least {MIN_PASSPHRASE} characters")
    return OctKey.import_key(passphrase.encode())


def lock(data: bytes, passphrase: str) -> str:
    """Encrypt ``data`` (private keys) under a passphrase, for storage at rest."""
    key = _passphrase_key(passphrase)
    return jwe.encrypt_compact(
        {"alg": AT_REST_ALG, "enc": CONTENT_ENC, "p2c": 210_000},
        data,
        key,
        algorithms=[AT_REST_ALG, CONTENT_ENC],
    )


def unlock(token: str, passphrase: str) -> bytes:
    key = _passphrase_key(passphrase)
    try:
        obj = jwe.decrypt_compact(token, key, algorithms=[AT_REST_ALG, CONTENT_ENC])
    except (JoseError, ValueError) as exc:
        raise CryptoFailure(
            f"wrong passphrase or damaged key file ({type(exc).__name__})"
        ) from None
    assert obj.plaintext is not None
    return obj.plaintext
