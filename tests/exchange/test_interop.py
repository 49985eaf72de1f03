"""Interoperability with an independent JOSE implementation (jwcrypto).

What hanoinet makes, jwcrypto verifies and decrypts; what jwcrypto makes following the
documented profile (Ed25519 JWS around an ECDH-ES/X25519 + A256GCM JWE, hanoinet's header
members), hanoinet accepts. A node built on another stack can therefore take part.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from jwcrypto import jwe as jc_jwe
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws

from hanoinet.errors import EnvelopeRejected
from hanoinet.exchange import crypto, envelope
from hanoinet.exchange import directory as dirmod
from hanoinet.exchange.directory import Directory
from hanoinet.exchange.envelope import open_envelope, seal, verify_receipt
from hanoinet.exchange.keys import KeySet

A, B = "aa-central", "bb-central"
PAYLOAD = "Mutual legal assistance request, art. 40 — données électroniques".encode()


def jwk(d: dict[str, Any]) -> jc_jwk.JWK:
    """A jwcrypto key from a hanoinet JWK (only the RFC members)."""
    return jc_jwk.JWK(**{k: v for k, v in d.items() if k in ("kty", "crv", "x", "d", "kid")})


def jc_verify(token: str, public: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    obj = jc_jws.JWS()
    obj.allowed_algs = ["Ed25519"]
    obj.deserialize(token)
    obj.verify(jwk(public), alg="Ed25519")  # raises InvalidJWSSignature if not valid
    return obj.jose_header, obj.payload


def jc_sign(
    header: dict[str, Any], payload: bytes, private: dict[str, Any], alg: str = "Ed25519"
) -> str:
    obj = jc_jws.JWS(payload)
    obj.add_signature(jwk(private), alg=alg, protected=json.dumps({**header, "alg": alg}))
    return obj.serialize(compact=True)


def jc_envelope(
    *,
    sender_sig: dict[str, Any],
    sender_kid: str,
    recipient_enc: dict[str, Any],
    message_id: str,
    at: datetime,
    alg: str = "Ed25519",
) -> str:
    """An envelope from A to B built with jwcrypto only."""
    inner = jc_jwe.JWE(
        PAYLOAD,
        protected=json.dumps(
            {
                "alg": "ECDH-ES",
                "enc": "A256GCM",
                "kid": recipient_enc["kid"],
                "typ": "hanoinet-content+jwe",
                "hn_id": message_id,
                "hn_from": A,
                "hn_to": B,
            }
        ),
    )
    inner.add_recipient(jwk(recipient_enc))
    header = {
        "kid": sender_kid,
        "typ": "hanoinet-envelope+jws",
        "hn_id": message_id,
        "hn_from": A,
        "hn_to": B,
        "hn_type": "request",
        "hn_case": "CASE-42",
        "hn_request": None,
        "iat": int(at.timestamp()),
        "exp": int((at + timedelta(days=2)).timestamp()),
    }
    return jc_sign(header, inner.serialize(compact=True).encode("ascii"), sender_sig, alg)


def test_hanoinet_envelope_is_verified_and_decrypted_by_jwcrypto(
    keys_a: KeySet, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    node = directory.node(B)
    assert node is not None
    headers, token = seal(
        PAYLOAD, sender=A, keys=keys_a, recipient=node, type="request", at=t0, case="C1"
    )
    sig_public = keys_a.active("sig", t0).public()
    protected, inner = jc_verify(token, sig_public)
    assert protected["alg"] == "Ed25519"
    assert protected["typ"] == "hanoinet-envelope+jws"
    assert protected["kid"] == sig_public["kid"]
    assert (protected["hn_id"], protected["hn_from"], protected["hn_to"]) == (headers.id, A, B)
    assert (protected["hn_case"], protected["iat"]) == ("C1", int(t0.timestamp()))

    box = jc_jwe.JWE()
    box.allowed_algs = ["ECDH-ES", "A256GCM"]
    box.deserialize(inner.decode("ascii"), key=jwk(keys_b.active("enc", t0).private))
    assert box.plaintext == PAYLOAD
    inner_header = json.loads(box.objects["protected"])
    assert inner_header["alg"] == "ECDH-ES"
    assert inner_header["enc"] == "A256GCM"
    assert inner_header["epk"]["crv"] == "X25519"
    assert inner_header["kid"] == keys_b.active("enc", t0).kid

    # And jwcrypto refuses it with another key, or with a tampered signature.
    with pytest.raises(jc_jws.InvalidJWSSignature):
        jc_verify(token, keys_b.active("sig", t0).public())
    with pytest.raises(jc_jwe.InvalidJWEData):
        jc_jwe.JWE().deserialize(inner.decode("ascii"), key=jwk(keys_a.active("enc", t0).private))


def test_jwcrypto_envelope_is_opened_by_hanoinet(
    keys_a: KeySet, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    message_id = envelope.new_message_id()
    sig = keys_a.active("sig", t0)
    token = jc_envelope(
        sender_sig=sig.private,
        sender_kid=sig.kid,
        recipient_enc=keys_b.active("enc", t0).public(),
        message_id=message_id,
        at=t0,
    )
    opened = open_envelope(token, directory=directory, me=B, keys=keys_b, now=t0)
    assert opened.payload == PAYLOAD
    h = opened.headers
    assert (h.id, h.sender, h.recipient, h.type) == (message_id, A, B, "request")
    assert (h.case, h.request) == ("CASE-42", None)
    assert (h.created, h.expires) == (t0, t0 + timedelta(days=2))


def test_jwcrypto_envelope_with_eddsa_alg_is_refused(
    keys_a: KeySet, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    sig = keys_a.active("sig", t0)
    token = jc_envelope(
        sender_sig=sig.private,
        sender_kid=sig.kid,
        recipient_enc=keys_b.active("enc", t0).public(),
        message_id=envelope.new_message_id(),
        at=t0,
        alg="EdDSA",
    )
    with pytest.raises(EnvelopeRejected) as caught:
        open_envelope(token, directory=directory, me=B, keys=keys_b, now=t0)
    assert caught.value.reason == "bad_signature"


def test_hanoinet_directory_verifies_with_jwcrypto(
    signed_directory: Any, authority: Any, directory: Directory
) -> None:
    protected, payload = jc_verify(signed_directory.token, crypto.public_jwk(authority.key))
    assert protected == {"alg": "Ed25519", "typ": "hanoinet-directory+jws", "kid": authority.kid}
    assert Directory.model_validate_json(payload) == directory
    assert json.loads(payload)["version"] == 1


def test_jwcrypto_directory_verifies_with_hanoinet(
    directory: Directory, authority: Any, t0: datetime
) -> None:
    payload = json.dumps(directory.model_dump(mode="json")).encode()
    token = jc_sign(
        {"typ": "hanoinet-directory+jws", "kid": authority.kid},
        payload,
        crypto.private_jwk(authority.key),
    )
    assert dirmod.verify(token, authority.trusted, now=t0).directory == directory


@pytest.mark.parametrize(("status", "reason"), [("delivered", None), ("rejected", "expired")])
def test_jwcrypto_receipt_passes_verify_receipt(
    status: str, reason: str | None, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    sig = keys_b.active("sig", t0)
    body = {
        "format": "hanoinet.receipt/1",
        "message": "0190f1c2-0000-7000-8000-000000000001",
        "status": status,
        "reason": reason,
        "at": t0.isoformat(),
        "by": B,
        "to": A,
    }
    token = jc_sign(
        {"typ": "hanoinet-receipt+jws", "kid": sig.kid, "hn_from": B},
        json.dumps(body).encode(),
        sig.private,
    )
    receipt = verify_receipt(token, directory=directory, expected_from=B, now=t0)
    assert (receipt.message, receipt.status, receipt.reason) == (body["message"], status, reason)
    assert (receipt.at, receipt.by, receipt.to, receipt.token) == (t0, B, A, token)


def test_hanoinet_receipt_verifies_with_jwcrypto(keys_b: KeySet, t0: datetime) -> None:
    receipt = envelope.make_receipt(
        message="m", status="delivered", reason=None, by=B, to=A, keys=keys_b, at=t0
    )
    protected, payload = jc_verify(receipt.token, keys_b.active("sig", t0).public())
    assert protected["typ"] == "hanoinet-receipt+jws"
    assert json.loads(payload)["status"] == "delivered"


def test_jwcrypto_jwe_decrypts_with_hanoinet_and_back(keys_b: KeySet, t0: datetime) -> None:
    """The content encryption alone, both directions."""
    enc = keys_b.active("enc", t0)
    box = jc_jwe.JWE(PAYLOAD, protected=json.dumps({"alg": "ECDH-ES", "enc": "A256GCM"}))
    box.add_recipient(jwk(enc.public()))
    assert crypto.decrypt(box.serialize(compact=True), enc.key).payload == PAYLOAD

    token = crypto.encrypt({"kid": enc.kid}, PAYLOAD, crypto.import_key(enc.public()))
    back = jc_jwe.JWE()
    back.deserialize(token, key=jwk(enc.private))
    assert back.plaintext == PAYLOAD
