"""Time a package's signer cannot backdate: the receiving node's signed receipt.

A package says when it was made (``created``), by its signer's own clock. That is enough
while the signer's key is sound, not after: the holder of a key revoked later (stolen, or
a node that left) could sign a package today and date it before the revocation. What the
signer cannot control is when another party first saw the package. The receiving node,
once it has verified and accepted a package, signs a **receipt** (a compact JWS by its
Ed25519 key, ``typ`` ``hanoinet-evidence-receipt+jws``) naming the package, the SHA-256 of
the encrypted file, the SHA-256 of the package's own signature and when the last chunk
arrived (``received_at``). The receipt goes back to the sender inside the decision message;
both nodes keep it in the package's custody, and ``evidence receipt`` writes it out.

Verification then uses the earliest time the package is proven to exist (its **anchor**:
the receipt's ``received_at``; on the receiving node, while it verifies on arrival, the
arrival itself) as ETSI EN 319 102-1 uses the "best signature time": the key must not have
been revoked by then, and the package may not claim to be made after it (beyond a few
minutes of clock difference). Without an anchor the signer's own ``created`` is all there
is, and ``evidence verify`` says so.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from hanoinet.evidence.offer import OfferRefused, open_signed
from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory

FORMAT = "hanoinet.evidence-receipt/1"
TYP = "hanoinet-evidence-receipt+jws"
SKEW = timedelta(minutes=5)
"""How far a package's ``created`` may run past its anchor (clocks differ a little)."""
MAX_TOKEN = 8192
"""A receipt is a few hundred bytes: anything longer is refused before it is parsed."""


class ReceiptRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Anchor:
    """The earliest time a package is proven to exist, and who proves it."""

    kind: str
    """``arrival`` (this node verifies what just arrived), ``receipt`` (a receiving node's
    signed receipt), ``timestamp`` (a TSA's RFC 3161 token) or ``signer`` (no anchor: the
    signer's own ``created``)."""
    at: datetime
    by: str
    package: str | None = None
    """The package the anchor is for (None for ``arrival``: what is being verified)."""
    signature_sha256: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "at": self.at.isoformat(), "by": self.by}

    def describe(self) -> str:
        if self.kind == "receipt":
            return f"received by {self.by} at {self.at.isoformat()} (its signed receipt)"
        if self.kind == "arrival":
            return f"arrived at {self.by} at {self.at.isoformat()}"
        if self.kind == "timestamp":
            return f"time-stamped by {self.by} at {self.at.isoformat()} (RFC 3161)"
        return f"made at {self.at.isoformat()} by the signer's own clock (no receipt)"


def signature_digest(token: str) -> str:
    """The SHA-256 of a package's signature as it is kept in the bag (stripped, ASCII)."""
    return hashlib.sha256(token.strip().encode("ascii")).hexdigest()


def make_receipt(
    *,
    package: str,
    request: str,
    sender: str,
    receiver: str,
    sha256: str,
    signature_sha256: str,
    received_at: datetime,
    kid: str,
    key: crypto.SigningKey,
    at: datetime,
) -> str:
    claims = {
        "format": FORMAT,
        "package": package,
        "request": request,
        "sender": sender,
        "receiver": receiver,
        "sha256": sha256,
        "signature_sha256": signature_sha256,
        "received_at": received_at.isoformat(),
        "signed_at": at.isoformat(),
    }
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    return crypto.sign({"typ": TYP, "kid": kid}, payload, key)


def verify_receipt(token: str, directory: Directory) -> Anchor:
    """The anchor a receipt gives, once its signature verified against the directory (the
    receiving node's key, valid when it signed); ReceiptRefused with a code otherwise."""
    token = token.strip()
    if len(token) > MAX_TOKEN:
        raise ReceiptRefused("malformed", f"longer than {MAX_TOKEN} characters: not a receipt")
    try:
        node, key, claims = open_signed(token, directory, typ=TYP, fmt=FORMAT, what="receipt")
    except OfferRefused as exc:  # the same checks as an offer's, said of a receipt
        raise ReceiptRefused(exc.code, exc.message) from None
    try:
        received = datetime.fromisoformat(str(claims["received_at"]))
        signed = datetime.fromisoformat(str(claims["signed_at"]))
        package, digest = str(claims["package"]), str(claims["signature_sha256"])
    except (KeyError, ValueError) as exc:
        raise ReceiptRefused(
            "malformed", f"a receipt's member is missing or wrong: {exc}"
        ) from None
    if received.tzinfo is None or signed.tzinfo is None or received > signed:
        raise ReceiptRefused("malformed", "its times are not ordered UTC times")
    if claims.get("receiver") != node.id:
        raise ReceiptRefused(
            "forged", f"names receiver {claims.get('receiver')}, but the key is {node.id}'s"
        )
    if not key.usable_at(signed):
        raise ReceiptRefused(
            "key_not_valid", f"key {key.kid} of {node.id} was not valid at {signed}"
        )
    return Anchor("receipt", received, node.id, package, digest)


def claims_of(token: str) -> dict[str, str]:
    """The claims of a receipt this node verified before it kept it."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
