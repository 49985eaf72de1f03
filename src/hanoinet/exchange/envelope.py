"""Envelopes and receipts: what travels between nodes.

An envelope is a compact JWS (Ed25519, by the sending node) whose payload is a
compact JWE (ECDH-ES on X25519 + A256GCM, to the receiving node). The JWS
protected header carries the message id (UUIDv7, time-ordered), sender,
recipient, type, case and request ids, creation and expiry times; the JWE
header repeats id, sender and recipient, and the receiver checks they match,
so a ciphertext cannot be re-wrapped under another sender's signature.

``open_envelope`` verifies the signature against the directory before it
trusts anything else, and refuses with one reason code per failure:
``oversize``, ``malformed``, ``unknown_sender``, ``unknown_key``,
``revoked_key``, ``bad_signature``, ``wrong_recipient``, ``expired``,
``replayed``, ``undecryptable``, ``binding_mismatch``.

A receipt is a compact JWS by the receiving node: ``delivered`` (received,
verified, queued) or ``rejected`` with the reason code, like e-CODEX evidences.
A batch of envelopes gets one signed receipt naming each message with its
status (``hanoinet.receipts/1``): one signature instead of one per message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import uuid6

from hanoinet.errors import EnvelopeRejected
from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey
from hanoinet.exchange.keys import KeySet

TYP = "hanoinet-envelope+jws"
INNER_TYP = "hanoinet-content+jwe"
RECEIPT_TYP = "hanoinet-receipt+jws"
RECEIPT_FORMAT = "hanoinet.receipt/1"
BATCH_RECEIPT_FORMAT = "hanoinet.receipts/1"
MAX_BYTES = 2 * 1024 * 1024
"""Largest envelope a node accepts; evidence travels in chunks, not in one envelope."""
DEFAULT_TTL = timedelta(days=7)

REASONS = (
    "oversize",
    "malformed",
    "unknown_sender",
    "unknown_key",
    "revoked_key",
    "bad_signature",
    "wrong_recipient",
    "expired",
    "replayed",
    "undecryptable",
    "binding_mismatch",
)


@dataclass(frozen=True)
class Headers:
    id: str
    sender: str
    recipient: str
    type: str
    case: str | None
    request: str | None
    created: datetime
    expires: datetime

    def protected(self) -> dict[str, Any]:
        return {
            "hn_id": self.id,
            "hn_from": self.sender,
            "hn_to": self.recipient,
            "hn_type": self.type,
            "hn_case": self.case,
            "hn_request": self.request,
            "iat": int(self.created.timestamp()),
            "exp": int(self.expires.timestamp()),
        }

    @classmethod
    def from_protected(cls, h: dict[str, Any]) -> Headers:
        try:
            message_id = str(uuid.UUID(str(h["hn_id"])))  # only a UUID reaches the store
            return cls(
                message_id,
                str(h["hn_from"]),
                str(h["hn_to"]),
                str(h["hn_type"]),
                h.get("hn_case"),
                h.get("hn_request"),
                datetime.fromtimestamp(int(h["iat"]), UTC),
                datetime.fromtimestamp(int(h["exp"]), UTC),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeRejected("malformed", f"header: {exc}") from None


@dataclass(frozen=True)
class Opened:
    headers: Headers
    payload: bytes
    token: str


def new_message_id() -> str:
    """A time-ordered UUID (version 7)."""
    return str(uuid6.uuid7())


def _newest(keys: tuple[PublicKey, ...], use: str, at: datetime) -> PublicKey:
    usable = [k for k in keys if k.use == use and k.usable_at(at)]
    if not usable:
        raise EnvelopeRejected("unknown_key", f"no usable {use} key")
    return max(usable, key=lambda k: k.valid_from)


def seal(
    payload: bytes,
    *,
    sender: str,
    keys: KeySet,
    recipient: NodeEntry,
    type: str,
    at: datetime,
    case: str | None = None,
    request: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
    message_id: str | None = None,
) -> tuple[Headers, str]:
    """Encrypt ``payload`` to ``recipient`` and sign it as ``sender``."""
    headers = Headers(
        message_id or new_message_id(), sender, recipient.id, type, case, request, at, at + ttl
    )
    enc = _newest(recipient.keys, "enc", at)
    inner = crypto.encrypt(
        {
            "typ": INNER_TYP,
            "kid": enc.kid,
            "hn_id": headers.id,
            "hn_from": sender,
            "hn_to": recipient.id,
        },
        payload,
        crypto.import_key(enc.model_dump()),
    )
    signing = keys.active("sig", at)
    token = crypto.sign(
        {"typ": TYP, "kid": signing.kid, **headers.protected()},
        inner.encode("ascii"),
        signing.signing_key,
    )
    return headers, token


def open_envelope(
    token: str,
    *,
    directory: Directory,
    me: str,
    keys: KeySet,
    now: datetime,
    seen: Callable[[str], bool] = lambda _id: False,
    max_bytes: int = MAX_BYTES,
) -> Opened:
    """Verify, then decrypt; raise EnvelopeRejected with the reason code on any failure."""
    if len(token) > max_bytes:
        raise EnvelopeRejected("oversize", f"{len(token)} bytes > {max_bytes}")
    token = token.strip()
    try:
        claimed = crypto.unverified_header(token)
    except crypto.CryptoFailure as exc:
        raise EnvelopeRejected("malformed", str(exc)) from None
    node = directory.node_at(str(claimed.get("hn_from")), now)
    if node is None:
        raise EnvelopeRejected(
            "unknown_sender", f"{claimed.get('hn_from')!r} is not a valid node of the directory now"
        )
    key = next((k for k in node.keys if k.kid == claimed.get("kid") and k.use == "sig"), None)
    if key is None:
        raise EnvelopeRejected(
            "unknown_key", f"{node.id} has no signing key {claimed.get('kid')!r}"
        )
    if key.revoked is not None and now >= key.revoked:
        raise EnvelopeRejected(
            "revoked_key", f"key {key.kid} of {node.id} revoked at {key.revoked}"
        )
    if not key.usable_at(now):
        raise EnvelopeRejected("unknown_key", f"key {key.kid} of {node.id} is not valid now")
    try:
        verified = crypto.verify(token, crypto.import_key(key.model_dump()))
    except crypto.CryptoFailure as exc:
        raise EnvelopeRejected("bad_signature", str(exc)) from None
    # From here on the header is authentic.
    if verified.header.get("typ") != TYP:
        raise EnvelopeRejected("malformed", f"typ {verified.header.get('typ')!r}")
    headers = Headers.from_protected(verified.header)
    if headers.recipient != me:
        raise EnvelopeRejected("wrong_recipient", f"addressed to {headers.recipient}, this is {me}")
    if headers.expires <= now:
        raise EnvelopeRejected("expired", f"expired at {headers.expires.isoformat()}")
    if seen(headers.id):
        raise EnvelopeRejected("replayed", f"message {headers.id} was already received")
    inner_token = verified.payload.decode("ascii", errors="replace")
    try:
        inner_header = crypto.unverified_header(inner_token)
        enc = keys.get(str(inner_header.get("kid")))
        if enc is None or enc.use != "enc":
            raise crypto.CryptoFailure("not encrypted to a key of this node")
        opened = crypto.decrypt(inner_token, enc.key)
    except crypto.CryptoFailure as exc:
        raise EnvelopeRejected("undecryptable", str(exc)) from None
    bound = {k: opened.header.get(k) for k in ("hn_id", "hn_from", "hn_to")}
    if bound != {"hn_id": headers.id, "hn_from": headers.sender, "hn_to": headers.recipient}:
        raise EnvelopeRejected(
            "binding_mismatch", "the encrypted content was made for another message"
        )
    return Opened(headers, opened.payload, token)


Status = Literal["delivered", "rejected"]


@dataclass(frozen=True)
class Receipt:
    message: str
    status: Status
    reason: str | None
    at: datetime
    by: str
    to: str | None
    token: str = ""


def make_receipt(
    *,
    message: str,
    status: Status,
    reason: str | None,
    by: str,
    to: str | None,
    keys: KeySet,
    at: datetime,
) -> Receipt:
    """A signed receipt: ``delivered`` means received, verified and queued for the case."""
    body = {
        "format": RECEIPT_FORMAT,
        "message": message,
        "status": status,
        "reason": reason,
        "at": at.isoformat(),
        "by": by,
        "to": to,
    }
    signing = keys.active("sig", at)
    token = crypto.sign(
        {"typ": RECEIPT_TYP, "kid": signing.kid, "hn_from": by},
        json.dumps(body).encode(),
        signing.signing_key,
    )
    return Receipt(message, status, reason, at, by, to, token)


def make_receipts(
    items: list[tuple[str, Status, str | None, str | None]],
    *,
    by: str,
    keys: KeySet,
    at: datetime,
) -> list[Receipt]:
    """One signed receipt for a batch: ``items`` are (message, status, reason, to). Each
    returned Receipt carries the same token, which names every message of the batch."""
    body = {
        "format": BATCH_RECEIPT_FORMAT,
        "at": at.isoformat(),
        "by": by,
        "items": [
            {"message": m, "status": status, "reason": reason, "to": to}
            for m, status, reason, to in items
        ],
    }
    signing = keys.active("sig", at)
    token = crypto.sign(
        {"typ": RECEIPT_TYP, "kid": signing.kid, "hn_from": by},
        json.dumps(body).encode(),
        signing.signing_key,
    )
    return [Receipt(m, status, reason, at, by, to, token) for m, status, reason, to in items]


def _receipt_body(
    token: str, *, directory: Directory, expected_from: str, now: datetime
) -> dict[str, Any]:
    """The verified payload of a receipt from ``expected_from`` (signature first)."""
    try:
        claimed = crypto.unverified_header(token)
    except crypto.CryptoFailure as exc:
        raise EnvelopeRejected("malformed", str(exc)) from None
    node = directory.node(expected_from)
    if node is None or claimed.get("hn_from") != expected_from:
        raise EnvelopeRejected("unknown_sender", f"receipt not from {expected_from}")
    key = next((k for k in node.keys if k.kid == claimed.get("kid") and k.use == "sig"), None)
    if key is None or not key.usable_at(now):
        raise EnvelopeRejected("unknown_key", "receipt signed by an unknown or invalid key")
    try:
        verified = crypto.verify(token, crypto.import_key(key.model_dump()))
    except crypto.CryptoFailure as exc:
        raise EnvelopeRejected("bad_signature", str(exc)) from None
    if verified.header.get("typ") != RECEIPT_TYP:
        raise EnvelopeRejected("malformed", "not a receipt: wrong typ")
    try:
        body = json.loads(verified.payload)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeRejected("malformed", f"not a receipt: {exc}") from None
    if not isinstance(body, dict):
        raise EnvelopeRejected("malformed", "not a receipt: not a JSON object")
    return body


def _item(raw: Any, at: datetime, by: str, token: str) -> Receipt:
    status = raw["status"]
    if status not in ("delivered", "rejected"):
        raise ValueError(f"status {status!r}")
    return Receipt(str(raw["message"]), status, raw.get("reason"), at, by, raw.get("to"), token)


def verify_receipts(
    token: str, *, directory: Directory, expected_from: str, now: datetime
) -> list[Receipt]:
    """Verify a receipt, single or batch, from ``expected_from``: one Receipt per message it
    names. Raises EnvelopeRejected like an envelope."""
    body = _receipt_body(token, directory=directory, expected_from=expected_from, now=now)
    try:
        at, by = datetime.fromisoformat(body["at"]), str(body["by"])
        if body.get("format") == RECEIPT_FORMAT:
            return [_item(body, at, by, token)]
        if body.get("format") == BATCH_RECEIPT_FORMAT and isinstance(body.get("items"), list):
            return [_item(item, at, by, token) for item in body["items"]]
        raise ValueError(f"format {body.get('format')!r}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EnvelopeRejected("malformed", f"not a receipt: {exc}") from None


def verify_receipt(
    token: str, *, directory: Directory, expected_from: str, now: datetime
) -> Receipt:
    """Verify a single-message receipt from ``expected_from``; raises EnvelopeRejected like an
    envelope."""
    body = _receipt_body(token, directory=directory, expected_from=expected_from, now=now)
    try:
        if body.get("format") != RECEIPT_FORMAT:
            raise ValueError("not a receipt")
        return _item(body, datetime.fromisoformat(body["at"]), str(body["by"]), token)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EnvelopeRejected("malformed", f"not a receipt: {exc}") from None
