"""Envelopes and receipts: the round trip, and one test (at least) per rejection reason.

Node A (``aa-central``) sends to node B (``bb-central``); node C is a third party.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from hanoinet.errors import EnvelopeRejected
from hanoinet.exchange import crypto, envelope
from hanoinet.exchange.directory import Directory, NodeEntry
from hanoinet.exchange.envelope import make_receipt, open_envelope, seal, verify_receipt
from hanoinet.exchange.keys import KeySet

A, B, C = "aa-central", "bb-central", "cc-central"
SECOND = timedelta(seconds=1)
PAYLOAD = b'{"request": "preservation of stored computer data", "article": 42}'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def flip(part: str, index: int = 10) -> str:
    """``part`` with one base64url character changed."""
    return part[:index] + ("B" if part[index] == "A" else "A") + part[index + 1 :]


def a_to_b(keys: KeySet, directory: Directory, at: datetime, **kw: Any) -> tuple[Any, str]:
    node = directory.node(B)
    assert node is not None
    return seal(PAYLOAD, sender=A, keys=keys, recipient=node, type="request", at=at, **kw)


def rejected(token: str, **kw: Any) -> str:
    with pytest.raises(EnvelopeRejected) as caught:
        open_envelope(token, **kw)
    assert caught.value.reason in envelope.REASONS
    return caught.value.reason


def resign(token: str, key: Any, **changes: Any) -> str:
    """The same payload, signed again by ``key`` with header members changed."""
    header = {k: v for k, v in crypto.unverified_header(token).items() if k != "alg"}
    payload = unb64(token.split(".")[1])
    return crypto.sign({**header, **changes}, payload, key)


@pytest.fixture
def at_b(directory: Directory, keys_b: KeySet, t0: datetime) -> dict[str, Any]:
    """open_envelope's arguments as node B at T0."""
    return {"directory": directory, "me": B, "keys": keys_b, "now": t0}


# --- the round trip --------------------------------------------------------------------------


def test_seal_open_round_trip(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    headers, token = a_to_b(keys_a, directory, t0, case="CASE-1", request="REQ-7")
    opened = open_envelope(token, **at_b)
    assert opened.payload == PAYLOAD
    assert opened.token == token
    assert opened.headers == headers
    h = opened.headers
    assert uuid.UUID(h.id).version == 7
    assert str(uuid.UUID(h.id)) == h.id
    assert (h.sender, h.recipient, h.type) == (A, B, "request")
    assert (h.case, h.request) == ("CASE-1", "REQ-7")
    assert h.created == t0
    assert h.expires == t0 + envelope.DEFAULT_TTL


def test_round_trip_without_case_and_with_own_id_and_ttl(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    message_id = envelope.new_message_id()
    _, token = a_to_b(
        keys_a, directory, t0 - timedelta(hours=1), ttl=timedelta(hours=2), message_id=message_id
    )
    opened = open_envelope(token, **at_b)
    assert opened.headers.id == message_id
    assert opened.headers.case is None
    assert opened.headers.request is None
    assert opened.headers.expires == t0 + timedelta(hours=1)


def test_a_large_message_goes_through_up_to_the_envelope_limit(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    """A formal document travels in a message (about 100 KB in Chinese): the JOSE library's
    own defaults (128,000-byte JWS payload, 64 KiB JWE ciphertext) must not refuse it."""
    node = directory.node(B)
    assert node is not None
    payload = json.dumps({"pdf": base64.b64encode(bytes(range(256)) * 2400).decode()}).encode()
    assert len(payload) > 800_000
    _, token = seal(payload, sender=A, keys=keys_a, recipient=node, type="document", at=t0)
    assert len(token) < envelope.MAX_BYTES
    assert open_envelope(token, **at_b).payload == payload


def test_message_ids_are_uuid7_and_unique() -> None:
    ids = [envelope.new_message_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(uuid.UUID(i).version == 7 for i in ids)


def test_envelope_structure(
    keys_a: KeySet, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    headers, token = a_to_b(keys_a, directory, t0, case="CASE-1")
    outer = crypto.unverified_header(token)
    assert outer == {
        "typ": "hanoinet-envelope+jws",
        "kid": keys_a.active("sig", t0).kid,
        "alg": "Ed25519",
        "hn_id": headers.id,
        "hn_from": A,
        "hn_to": B,
        "hn_type": "request",
        "hn_case": "CASE-1",
        "hn_request": None,
        "iat": int(t0.timestamp()),
        "exp": int((t0 + envelope.DEFAULT_TTL).timestamp()),
    }
    inner_token = unb64(token.split(".")[1]).decode("ascii")
    assert inner_token.count(".") == 4
    assert b"preservation" not in inner_token.encode()
    inner = crypto.unverified_header(inner_token)
    assert inner["typ"] == "hanoinet-content+jwe"
    assert inner["kid"] == keys_b.active("enc", t0).kid
    assert (inner["alg"], inner["enc"]) == ("ECDH-ES", "A256GCM")
    assert (inner["hn_id"], inner["hn_from"], inner["hn_to"]) == (headers.id, A, B)


def test_seal_refuses_a_recipient_without_usable_encryption_key(
    keys_a: KeySet, keys_b: KeySet, t0: datetime, make_entry: Callable[..., NodeEntry]
) -> None:
    only_sig = [k for k in keys_b.public() if k["use"] == "sig"]
    with pytest.raises(EnvelopeRejected) as caught:
        seal(PAYLOAD, sender=A, keys=keys_a, recipient=make_entry(B, only_sig), type="x", at=t0)
    assert caught.value.reason == "unknown_key"


# --- every rejection reason ------------------------------------------------------------------


def test_oversize(keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    assert rejected(token, **at_b, max_bytes=len(token) - 1) == "oversize"
    assert rejected("x" * 101, **at_b, max_bytes=100) == "oversize"
    assert open_envelope(token, **at_b, max_bytes=len(token)).payload == PAYLOAD


@pytest.mark.parametrize("token", ["", "garbage", "@@@.@@@.@@@", "...", "WzFd.e30.e30"])
def test_malformed(token: str, at_b: dict[str, Any]) -> None:
    assert rejected(token, **at_b) == "malformed"


def test_authentic_but_not_an_envelope_is_malformed(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    key = keys_a.active("sig", t0).key
    assert rejected(resign(token, key, typ="hanoinet-receipt+jws"), **at_b) == "malformed"
    header = {k: v for k, v in crypto.unverified_header(token).items() if k not in ("alg", "iat")}
    no_iat = crypto.sign(header, unb64(token.split(".")[1]), key)
    assert rejected(no_iat, **at_b) == "malformed"


@pytest.mark.parametrize("message_id", ["1", "x" * 40, "\ud800", "0000\x00"])
def test_a_signed_envelope_whose_id_is_not_a_uuid_is_malformed(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime, message_id: str
) -> None:
    """Only a UUID is ever looked up or stored as a message id."""
    _, token = a_to_b(keys_a, directory, t0)
    key = keys_a.active("sig", t0).key
    assert rejected(resign(token, key, hn_id=message_id), **at_b) == "malformed"


def test_deeply_nested_header_is_malformed(at_b: dict[str, Any]) -> None:
    assert rejected(b64(b"[" * 100_000) + ".e30.e30", **at_b) == "malformed"


def test_unknown_sender(
    keys_a: KeySet, keys_c: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    node = directory.node(B)
    assert node is not None
    _, token = seal(PAYLOAD, sender="zz-central", keys=keys_a, recipient=node, type="x", at=t0)
    assert rejected(token, **at_b) == "unknown_sender"
    # No hn_from at all.
    _, good = a_to_b(keys_a, directory, t0)
    header = {
        k: v for k, v in crypto.unverified_header(good).items() if k not in ("alg", "hn_from")
    }
    bare = crypto.sign(header, unb64(good.split(".")[1]), keys_a.active("sig", t0).key)
    assert rejected(bare, **at_b) == "unknown_sender"


def test_unknown_sender_when_removed_from_the_directory(
    keys_a: KeySet,
    keys_b: KeySet,
    directory: Directory,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    without_a = make_directory([make_entry(B, keys_b)], version=2)
    assert rejected(token, directory=without_a, me=B, keys=keys_b, now=t0) == "unknown_sender"


def test_unknown_key(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    stranger = crypto.generate_signing_key()
    stranger_kid = crypto.thumbprint(crypto.public_jwk(stranger))
    assert rejected(resign(token, stranger, kid=stranger_kid), **at_b) == "unknown_key"
    # The kid of A's *encryption* key is not a signing key.
    enc_kid = keys_a.active("enc", t0).kid
    assert rejected(resign(token, stranger, kid=enc_kid), **at_b) == "unknown_key"
    # The kid of B's signing key is not A's.
    b_node = at_b["directory"].node(B)
    b_sig = next(k.kid for k in b_node.keys if k.use == "sig")
    assert rejected(resign(token, at_b["keys"].active("sig", t0).key, kid=b_sig), **at_b) == (
        "unknown_key"
    )


def test_revoked_key(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
    directory: Directory,
) -> None:
    # Sealed an hour before the revocation, arriving at or after it.
    _, token = a_to_b(keys_a, directory, t0 - timedelta(hours=1))
    revoked = keys_a.revoke(keys_a.active("sig", t0).kid, t0)
    listed = make_directory([make_entry(A, revoked), make_entry(B, keys_b)], version=2)
    assert rejected(token, directory=listed, me=B, keys=keys_b, now=t0) == "revoked_key"
    later = t0 + timedelta(hours=1)
    assert rejected(token, directory=listed, me=B, keys=keys_b, now=later) == "revoked_key"
    # Just before the revocation it was still good.
    opened = open_envelope(token, directory=listed, me=B, keys=keys_b, now=t0 - SECOND)
    assert opened.payload == PAYLOAD


def test_bad_signature_flipped_character(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header, payload, signature = token.split(".")
    assert rejected(f"{header}.{payload}.{flip(signature)}", **at_b) == "bad_signature"
    assert rejected(f"{header}.{payload}.", **at_b) == "bad_signature"
    assert rejected(f"{header}.{payload}", **at_b) == "bad_signature"


def test_bad_signature_tampered_payload(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header, payload, signature = token.split(".")
    assert rejected(f"{header}.{flip(payload)}.{signature}", **at_b) == "bad_signature"


def test_bad_signature_tampered_header(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(header))
    claims["hn_type"] = "receipt"
    forged = f"{b64(json.dumps(claims).encode())}.{payload}.{signature}"
    assert rejected(forged, **at_b) == "bad_signature"


def test_tampered_ciphertext_inside_breaks_the_outer_signature(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header, payload, signature = token.split(".")
    inner = unb64(payload).decode("ascii").split(".")
    inner[3] = flip(inner[3], 2)  # the JWE ciphertext
    tampered = b64(".".join(inner).encode("ascii"))
    assert rejected(f"{header}.{tampered}.{signature}", **at_b) == "bad_signature"


def test_wrong_recipient(
    keys_a: KeySet, keys_c: KeySet, directory: Directory, t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    assert rejected(token, directory=directory, me=C, keys=keys_c, now=t0) == "wrong_recipient"


def test_expired(keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime) -> None:
    _, token = a_to_b(keys_a, directory, t0, ttl=timedelta(hours=1))
    deadline = t0 + timedelta(hours=1)
    assert open_envelope(token, **{**at_b, "now": deadline - SECOND}).payload == PAYLOAD
    assert rejected(token, **{**at_b, "now": deadline}) == "expired"
    assert rejected(token, **{**at_b, "now": deadline + timedelta(days=1)}) == "expired"


def test_replayed(keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime) -> None:
    headers, token = a_to_b(keys_a, directory, t0)
    asked: list[str] = []

    def seen(message_id: str) -> bool:
        asked.append(message_id)
        return True

    assert rejected(token, **at_b, seen=seen) == "replayed"
    assert asked == [headers.id]
    assert rejected(token, **at_b, seen=lambda _id: True) == "replayed"


def test_replay_is_not_asked_about_unauthentic_envelopes(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header, payload, signature = token.split(".")

    def seen(_id: str) -> bool:
        raise AssertionError("seen() called before the signature was checked")

    assert rejected(f"{header}.{payload}.{flip(signature)}", **at_b, seen=seen) == "bad_signature"


def test_undecryptable_when_sealed_to_a_key_the_receiver_does_not_have(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
) -> None:
    # A directory that lists, for B, an encryption key B does not hold.
    other = KeySet.generate(t0 - timedelta(days=10)).active("enc", t0).public()
    listed_b = [k for k in keys_b.public() if k["use"] == "sig"] + [other]
    variant = make_directory([make_entry(A, keys_a), make_entry(B, listed_b)])
    _, token = a_to_b(keys_a, variant, t0)
    assert rejected(token, directory=variant, me=B, keys=keys_b, now=t0) == "undecryptable"


def test_undecryptable_when_the_listed_key_is_substituted_under_the_right_kid(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
) -> None:
    # B's real kid, but another public key: the kid is found, the decryption fails.
    other_x = crypto.public_jwk(crypto.generate_encryption_key())["x"]
    listed_b = [k if k["use"] == "sig" else {**k, "x": other_x} for k in keys_b.public()]
    variant = make_directory([make_entry(A, keys_a), make_entry(B, listed_b)])
    _, token = a_to_b(keys_a, variant, t0)
    assert rejected(token, directory=variant, me=B, keys=keys_b, now=t0) == "undecryptable"


def test_undecryptable_when_the_payload_is_not_a_jwe(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    _, token = a_to_b(keys_a, directory, t0)
    header = {k: v for k, v in crypto.unverified_header(token).items() if k != "alg"}
    key = keys_a.active("sig", t0).key
    assert rejected(crypto.sign(header, b"plain text", key), **at_b) == "undecryptable"
    assert rejected(crypto.sign(header, b"\xff\xfe", key), **at_b) == "undecryptable"


def test_binding_mismatch_other_message_id(
    keys_a: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    """A's own ciphertext, re-signed (validly) under another message id."""
    _, token = a_to_b(keys_a, directory, t0)
    rewrapped = resign(token, keys_a.active("sig", t0).key, hn_id=envelope.new_message_id())
    assert rejected(rewrapped, **at_b) == "binding_mismatch"


def test_binding_mismatch_ciphertext_rewrapped_by_another_sender(
    keys_a: KeySet, keys_c: KeySet, directory: Directory, at_b: dict[str, Any], t0: datetime
) -> None:
    """C copies A's ciphertext to B under its own signature: B notices."""
    _, token = a_to_b(keys_a, directory, t0)
    sig_c = keys_c.active("sig", t0)
    rewrapped = resign(token, sig_c.key, hn_from=C, kid=sig_c.kid)
    assert rejected(rewrapped, **at_b) == "binding_mismatch"


def test_binding_mismatch_other_recipient(
    keys_a: KeySet, keys_c: KeySet, directory: Directory, t0: datetime
) -> None:
    """A signs, for C, an envelope whose inner JWE (encrypted to C) was made for B."""
    node_c = directory.node(C)
    assert node_c is not None
    _, to_c = seal(PAYLOAD, sender=A, keys=keys_a, recipient=node_c, type="x", at=t0)
    enc_c = next(k for k in node_c.keys if k.use == "enc")
    header = crypto.unverified_header(to_c)
    inner = crypto.encrypt(
        {
            "typ": envelope.INNER_TYP,
            "kid": enc_c.kid,
            "hn_id": header["hn_id"],
            "hn_from": A,
            "hn_to": B,
        },
        PAYLOAD,
        crypto.import_key(enc_c.model_dump()),
    )
    outer = {k: v for k, v in header.items() if k != "alg"}
    token = crypto.sign(outer, inner.encode("ascii"), keys_a.active("sig", t0).key)
    assert rejected(token, directory=directory, me=C, keys=keys_c, now=t0) == "binding_mismatch"


# --- key rotation ----------------------------------------------------------------------------


def test_rotated_out_signing_key_is_unknown_after_the_overlap(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
    directory: Directory,
) -> None:
    rotation, overlap = t0 - timedelta(days=5), timedelta(days=3)
    rotated = keys_a.rotate("sig", rotation, overlap)
    listed = make_directory([make_entry(A, rotated), make_entry(B, keys_b)], version=2)
    # Sealed with the old key just before the rotation, a long time to live.
    _, token = a_to_b(keys_a, directory, rotation - SECOND, ttl=timedelta(days=30))
    end = rotation + overlap
    ok = open_envelope(token, directory=listed, me=B, keys=keys_b, now=end - SECOND)
    assert ok.payload == PAYLOAD
    assert rejected(token, directory=listed, me=B, keys=keys_b, now=end) == "unknown_key"
    assert rejected(token, directory=listed, me=B, keys=keys_b, now=t0) == "unknown_key"


def test_old_signing_key_during_the_overlap_opens(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
    directory: Directory,
) -> None:
    rotation = t0 - timedelta(days=1)
    rotated = keys_a.rotate("sig", rotation, timedelta(days=7))
    listed = make_directory([make_entry(A, rotated), make_entry(B, keys_b)], version=2)
    # A sender that has not switched yet still signs with the old key, within the overlap.
    _, old_token = a_to_b(keys_a, directory, t0)
    assert crypto.unverified_header(old_token)["kid"] == keys_a.active("sig", t0).kid
    assert open_envelope(old_token, directory=listed, me=B, keys=keys_b, now=t0).payload == PAYLOAD
    # The rotated key set signs with the new key, which opens too.
    _, new_token = a_to_b(rotated, listed, t0)
    assert crypto.unverified_header(new_token)["kid"] == rotated.active("sig", t0).kid
    assert crypto.unverified_header(new_token)["kid"] != keys_a.active("sig", t0).kid
    assert open_envelope(new_token, directory=listed, me=B, keys=keys_b, now=t0).payload == PAYLOAD


def test_receiver_encryption_key_rotation_with_overlap(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
    directory: Directory,
) -> None:
    """Sealed to B's old encryption key (old directory); B has rotated since: still opens."""
    _, token = a_to_b(keys_a, directory, t0 - timedelta(hours=1))
    rotated_b = keys_b.rotate("enc", t0 - timedelta(minutes=30), timedelta(days=7))
    listed = make_directory([make_entry(A, keys_a), make_entry(B, rotated_b)], version=2)
    assert open_envelope(token, directory=listed, me=B, keys=rotated_b, now=t0).payload == PAYLOAD
    # New envelopes go to the new key.
    _, fresh = a_to_b(keys_a, listed, t0)
    inner = crypto.unverified_header(unb64(fresh.split(".")[1]).decode())
    assert inner["kid"] == rotated_b.active("enc", t0).kid != keys_b.active("enc", t0).kid
    assert open_envelope(fresh, directory=listed, me=B, keys=rotated_b, now=t0).payload == PAYLOAD


# --- receipts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "reason"), [("delivered", None), ("rejected", "bad_signature")])
def test_receipt_round_trip(
    status: Any, reason: str | None, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    message = envelope.new_message_id()
    receipt = make_receipt(
        message=message, status=status, reason=reason, by=B, to=A, keys=keys_b, at=t0
    )
    header = crypto.unverified_header(receipt.token)
    assert header["typ"] == "hanoinet-receipt+jws"
    assert header["hn_from"] == B
    assert header["kid"] == keys_b.active("sig", t0).kid
    verified = verify_receipt(receipt.token, directory=directory, expected_from=B, now=t0)
    assert verified == receipt
    assert (verified.message, verified.status, verified.reason) == (message, status, reason)
    assert (verified.by, verified.to, verified.at) == (B, A, t0)
    body = json.loads(unb64(receipt.token.split(".")[1]))
    assert body == {
        "format": "hanoinet.receipt/1",
        "message": message,
        "status": status,
        "reason": reason,
        "at": t0.isoformat(),
        "by": B,
        "to": A,
    }


def test_receipt_from_the_wrong_sender_is_refused(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    receipt = make_receipt(
        message="m", status="delivered", reason=None, by=B, to=A, keys=keys_b, at=t0
    )
    for expected in (C, "zz-central"):
        with pytest.raises(EnvelopeRejected) as caught:
            verify_receipt(receipt.token, directory=directory, expected_from=expected, now=t0)
        assert caught.value.reason == "unknown_sender"


def test_receipt_claiming_another_node_with_own_key_is_refused(
    keys_c: KeySet, directory: Directory, t0: datetime
) -> None:
    """C signs a receipt that says it comes from B: C's kid is not one of B's keys."""
    receipt = make_receipt(
        message="m", status="delivered", reason=None, by=B, to=A, keys=keys_c, at=t0
    )
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt(receipt.token, directory=directory, expected_from=B, now=t0)
    assert caught.value.reason == "unknown_key"


def test_tampered_receipt_is_bad_signature(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    receipt = make_receipt(
        message="m", status="rejected", reason="expired", by=B, to=A, keys=keys_b, at=t0
    )
    header, payload, signature = receipt.token.split(".")
    body = json.loads(unb64(payload))
    body.update(status="delivered", reason=None)
    for token in (
        f"{header}.{b64(json.dumps(body).encode())}.{signature}",
        f"{header}.{payload}.{flip(signature)}",
    ):
        with pytest.raises(EnvelopeRejected) as caught:
            verify_receipt(token, directory=directory, expected_from=B, now=t0)
        assert caught.value.reason == "bad_signature"


def test_receipt_garbage_is_malformed(directory: Directory, t0: datetime) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt("garbage", directory=directory, expected_from=B, now=t0)
    assert caught.value.reason == "malformed"


def signed_by_b(keys_b: KeySet, t0: datetime, body: bytes, typ: str = envelope.RECEIPT_TYP) -> str:
    signing = keys_b.active("sig", t0)
    return crypto.sign({"typ": typ, "kid": signing.kid, "hn_from": B}, body, signing.key)


@pytest.mark.parametrize(
    ("typ", "body"),
    [
        ("hanoinet-receipt+jws", b'{"format": "hanoinet.receipt/2", "message": "m"}'),
        ("hanoinet-envelope+jws", b'{"format": "hanoinet.receipt/1", "message": "m"}'),
    ],
    ids=["other-format", "other-typ"],
)
def test_signed_but_not_a_receipt_is_malformed(
    typ: str, body: bytes, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt(
            signed_by_b(keys_b, t0, body, typ), directory=directory, expected_from=B, now=t0
        )
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize(
    "body",
    [b"an envelope's JWE, not JSON", b"[]", b'{"format": "hanoinet.receipt/1"}'],
    ids=["not-json", "json-array", "missing-members"],
)
def test_authentic_non_receipt_payload_is_malformed(
    body: bytes, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt(signed_by_b(keys_b, t0, body), directory=directory, expected_from=B, now=t0)
    assert caught.value.reason == "malformed"


def test_receipt_signed_by_a_revoked_key_is_refused(
    keys_a: KeySet,
    keys_b: KeySet,
    t0: datetime,
    make_directory: Callable[..., Directory],
    make_entry: Callable[..., NodeEntry],
) -> None:
    receipt = make_receipt(
        message="m", status="delivered", reason=None, by=B, to=A, keys=keys_b, at=t0
    )
    revoked = keys_b.revoke(keys_b.active("sig", t0).kid, t0)
    listed = make_directory([make_entry(A, keys_a), make_entry(B, revoked)], version=2)
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt(receipt.token, directory=listed, expected_from=B, now=t0)
    assert caught.value.reason == "unknown_key"


# --- batch receipts ---------------------------------------------------------------------------


def test_batch_receipt_round_trip_names_each_message(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    items: list[Any] = [
        ("m1", "delivered", None, A),
        ("m2", "rejected", "replayed", A),
        ("", "rejected", "malformed", None),
    ]
    made = envelope.make_receipts(items, by=B, keys=keys_b, at=t0)
    assert len({r.token for r in made}) == 1
    body = json.loads(unb64(made[0].token.split(".")[1]))
    assert body == {
        "format": "hanoinet.receipts/1",
        "at": t0.isoformat(),
        "by": B,
        "items": [
            {"message": m, "status": status, "reason": reason, "to": to}
            for m, status, reason, to in items
        ],
    }
    verified = envelope.verify_receipts(made[0].token, directory=directory, expected_from=B, now=t0)
    assert verified == made
    assert [(r.message, r.status, r.reason, r.to, r.by, r.at) for r in verified] == [
        (*item, B, t0) for item in items
    ]


def test_verify_receipts_reads_a_single_receipt_as_a_list_of_one(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    single = make_receipt(
        message="m", status="delivered", reason=None, by=B, to=A, keys=keys_b, at=t0
    )
    assert envelope.verify_receipts(single.token, directory=directory, expected_from=B, now=t0) == [
        single
    ]


def test_a_batch_receipt_is_not_a_single_receipt(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    [made] = envelope.make_receipts([("m", "delivered", None, A)], by=B, keys=keys_b, at=t0)
    with pytest.raises(EnvelopeRejected) as caught:
        verify_receipt(made.token, directory=directory, expected_from=B, now=t0)
    assert caught.value.reason == "malformed"


def test_a_tampered_batch_receipt_is_bad_signature(
    keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    [made] = envelope.make_receipts([("m", "rejected", "expired", A)], by=B, keys=keys_b, at=t0)
    header, payload, signature = made.token.split(".")
    body = json.loads(unb64(payload))
    body["items"][0].update(status="delivered", reason=None)
    with pytest.raises(EnvelopeRejected) as caught:
        envelope.verify_receipts(
            f"{header}.{b64(json.dumps(body).encode())}.{signature}",
            directory=directory,
            expected_from=B,
            now=t0,
        )
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "body",
    [
        b'{"format": "hanoinet.receipts/1", "at": "2026-11-24T00:00:00+00:00", "by": "b"}',
        b'{"format": "hanoinet.receipts/1", "at": "2026-11-24T00:00:00+00:00", "by": "b", '
        b'"items": [{"message": "m", "status": "lost"}]}',
        b'{"format": "hanoinet.receipts/1", "at": "yesterday", "by": "b", "items": []}',
        b'{"format": "hanoinet.receipts/9", "at": "2026-11-24T00:00:00+00:00", "by": "b"}',
    ],
    ids=["no-items", "unknown-status", "bad-time", "unknown-format"],
)
def test_authentic_but_broken_batch_receipt_is_malformed(
    body: bytes, keys_b: KeySet, directory: Directory, t0: datetime
) -> None:
    with pytest.raises(EnvelopeRejected) as caught:
        envelope.verify_receipts(
            signed_by_b(keys_b, t0, body), directory=directory, expected_from=B, now=t0
        )
    assert caught.value.reason == "malformed"
