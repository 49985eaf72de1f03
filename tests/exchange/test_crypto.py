"""The JOSE recipes: Ed25519 JWS, ECDH-ES/X25519 + A256GCM JWE, PBES2 at rest."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

from hanoinet.exchange import crypto
from hanoinet.exchange.crypto import CryptoFailure

# RFC 8037, appendix A.1: the Ed25519 example key.
RFC8037_PRIVATE = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_PUBLIC = {
    "crv": "Ed25519",
    "kty": "OKP",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"  # RFC 8037, A.3

# Computed once with hanoinet (joserfc) and pinned; Ed25519 signatures are deterministic.
KNOWN_JWS = (
    "eyJraWQiOiJrUHJLX3FteFZXYVlWQTl3d0JGNkl1bzN2Vnp6N1R4SENUd1hCeWdyUzRrIiwiYWxnIjoiRWQyNTUxOSJ9"
    ".RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".2VpoFhdYNKFOOO-EIFCQRI-2URS4kjfp5vNHmUfc7apE37lD4nKbq2Iu9YKyV5c7BLPLn_ZdrAe2hlSSXGNKBg"
)

PASSPHRASE = "correct horse battery staple"


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_sign_verify_round_trip() -> None:
    key = crypto.generate_signing_key()
    token = crypto.sign({"typ": "test", "hn_from": "aa"}, b"payload \x00\xff", key)
    verified = crypto.verify(token, crypto.import_key(crypto.public_jwk(key)))
    assert verified.payload == b"payload \x00\xff"
    assert verified.header == {"typ": "test", "hn_from": "aa", "alg": "Ed25519"}


def test_sign_overrides_a_caller_supplied_alg() -> None:
    key = crypto.generate_signing_key()
    token = crypto.sign({"alg": "EdDSA"}, b"x", key)
    assert crypto.unverified_header(token)["alg"] == "Ed25519"
    assert crypto.verify(token, key).payload == b"x"


def test_verify_with_the_wrong_key_fails() -> None:
    token = crypto.sign({}, b"payload", crypto.generate_signing_key())
    with pytest.raises(CryptoFailure):
        crypto.verify(token, crypto.generate_signing_key())


def test_verify_with_an_x25519_key_fails() -> None:
    token = crypto.sign({}, b"payload", crypto.generate_signing_key())
    with pytest.raises(CryptoFailure):
        crypto.verify(token, crypto.generate_encryption_key())


def test_eddsa_alg_is_refused() -> None:
    """A valid signature under the older ``EdDSA`` identifier is not accepted."""
    key = crypto.generate_signing_key()
    signer = jc_jws.JWS(b"payload")
    signer.add_signature(
        jc_jwk.JWK(**crypto.private_jwk(key)), alg="EdDSA", protected={"alg": "EdDSA"}
    )
    token = signer.serialize(compact=True)
    # jwcrypto itself accepts it: the signature is good, only the alg is refused.
    check = jc_jws.JWS()
    check.deserialize(token, jc_jwk.JWK(**crypto.public_jwk(key)), alg="EdDSA")
    with pytest.raises(CryptoFailure):
        crypto.verify(token, key)


def test_alg_none_is_refused() -> None:
    key = crypto.generate_signing_key()
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b"payload").rstrip(b"=").decode()
    with pytest.raises(CryptoFailure):
        crypto.verify(f"{header}.{payload}.", key)


def test_encrypt_decrypt_round_trip() -> None:
    key = crypto.generate_encryption_key()
    token = crypto.encrypt({"kid": "k1", "hn_id": "m1"}, b"secret \x00 content", key)
    assert token.count(".") == 4
    assert b"secret" not in token.encode()
    opened = crypto.decrypt(token, key)
    assert opened.payload == b"secret \x00 content"
    assert opened.header["alg"] == "ECDH-ES"
    assert opened.header["enc"] == "A256GCM"
    assert opened.header["kid"] == "k1"
    assert opened.header["hn_id"] == "m1"
    assert "epk" in opened.header


def test_encrypt_to_public_half_only() -> None:
    key = crypto.generate_encryption_key()
    token = crypto.encrypt({}, b"x", crypto.import_key(crypto.public_jwk(key)))
    assert crypto.decrypt(token, key).payload == b"x"


def test_decrypt_with_another_x25519_key_fails() -> None:
    token = crypto.encrypt({}, b"secret", crypto.generate_encryption_key())
    with pytest.raises(CryptoFailure):
        crypto.decrypt(token, crypto.generate_encryption_key())


def test_decrypt_tampered_ciphertext_fails() -> None:
    key = crypto.generate_encryption_key()
    parts = crypto.encrypt({}, b"secret content", key).split(".")
    ciphertext = bytearray(b64url_decode(parts[3]))
    ciphertext[0] ^= 1
    parts[3] = base64.urlsafe_b64encode(bytes(ciphertext)).rstrip(b"=").decode()
    with pytest.raises(CryptoFailure):
        crypto.decrypt(".".join(parts), key)


def test_lock_unlock_and_wrong_passphrase() -> None:
    """One PBES2 lock (it is slow on purpose), unlocked once right and once wrong."""
    data = b'{"secret": "private keys"}'
    token = crypto.lock(data, PASSPHRASE)
    header = crypto.unverified_header(token)
    assert header["alg"] == "PBES2-HS512+A256KW"
    assert header["enc"] == "A256GCM"
    assert header["p2c"] >= 210_000
    assert b"private keys" not in token.encode()
    assert crypto.unlock(token, PASSPHRASE) == data
    with pytest.raises(CryptoFailure):
        crypto.unlock(token, PASSPHRASE + "!")


@pytest.mark.parametrize("passphrase", ["", "short", "x" * 15])
def test_short_passphrase_is_refused(passphrase: str) -> None:
    with pytest.raises(CryptoFailure, match="16"):
        crypto.lock(b"data", passphrase)
    with pytest.raises(CryptoFailure, match="16"):
        crypto.unlock("a.b.c.d.e", passphrase)


@pytest.mark.parametrize(
    "garbage",
    ["", "not a token", "!!!.???.###", "é.a.b", "WzEsMiwzXQ.a.b", "bnVsbA.a.b", "AAAA.a.b"],
    ids=["empty", "words", "symbols", "non-ascii", "json-array", "json-null", "binary"],
)
def test_unverified_header_on_garbage(garbage: str) -> None:
    with pytest.raises(CryptoFailure):
        crypto.unverified_header(garbage)


def test_unverified_header_decodes_without_verifying() -> None:
    token = crypto.sign({"kid": "k"}, b"x", crypto.generate_signing_key())
    assert crypto.unverified_header(token) == {"kid": "k", "alg": "Ed25519"}


def test_known_answer_signature() -> None:
    key = crypto.import_key(RFC8037_PRIVATE)
    token = crypto.sign({"kid": RFC8037_THUMBPRINT}, b"Example of Ed25519 signing", key)
    assert token == KNOWN_JWS
    # Independent check: the signature is a plain Ed25519 signature over the signing input.
    header, payload, signature = KNOWN_JWS.split(".")
    public = Ed25519PublicKey.from_public_bytes(b64url_decode(RFC8037_PUBLIC["x"]))
    public.verify(b64url_decode(signature), f"{header}.{payload}".encode())
    assert json.loads(b64url_decode(header)) == {"kid": RFC8037_THUMBPRINT, "alg": "Ed25519"}
    assert crypto.verify(KNOWN_JWS, crypto.import_key(RFC8037_PUBLIC)).payload == (
        b"Example of Ed25519 signing"
    )


def test_rfc8037_thumbprint() -> None:
    assert crypto.thumbprint(RFC8037_PUBLIC) == RFC8037_THUMBPRINT
    # Members beyond the required ones, and the private part, do not change it.
    assert crypto.thumbprint({**RFC8037_PRIVATE, "kid": "x", "use": "sig"}) == RFC8037_THUMBPRINT


def test_public_and_private_jwk() -> None:
    key = crypto.import_key(RFC8037_PRIVATE)
    assert crypto.public_jwk(key) == RFC8037_PUBLIC
    assert crypto.private_jwk(key) == RFC8037_PRIVATE


@pytest.mark.parametrize(
    "jwk",
    [
        {},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AA"},
        {"kty": "OKP", "crv": "X25519", "x": "!!"},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        pytest.param({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, id="ec"),
        pytest.param(
            {"kty": "OKP", "crv": "nope", "x": RFC8037_PUBLIC["x"]},
            id="bad-crv",
        ),
    ],
)
def test_import_key_refuses_what_is_not_an_okp_key(jwk: dict[str, object]) -> None:
    with pytest.raises(CryptoFailure):
        crypto.import_key(jwk)


def test_unverified_header_on_deeply_nested_json() -> None:
    nested = base64.urlsafe_b64encode(b"[" * 100_000).rstrip(b"=").decode()
    with pytest.raises(CryptoFailure):
        crypto.unverified_header(f"{nested}.a.b")
