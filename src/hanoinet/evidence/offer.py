"""The offer that opens a transfer: the sending node's signed list of the chunks to come.

A package travels in chunks (8 MiB by default). Before the first, the sender
posts an offer, a compact JWS by its Ed25519 key naming the package, the
request, both nodes, the size, the SHA-256 of the whole encrypted file and of
every chunk. The receiver checks each chunk against the offer before it
writes it: a corrupted chunk is refused and sent again, a chunk of another
transfer or a replayed one cannot pass for the next, and the receiver's count
of chunks kept is where a dropped transfer resumes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory, NodeEntry, PublicKey

FORMAT = "hanoinet.evidence-offer/1"
TYP = "hanoinet-evidence-offer+jws"
CHUNK_SIZE = 8 << 20
MAX_CHUNK_SIZE = 16 << 20
MAX_SIZE = 1 << 40
"""A package of more than 1 TiB is refused: split the evidence."""
PACKAGE_ID = r"^EV-[A-Za-z0-9][A-Za-z0-9._-]{0,59}-[0-9]{6}$"
"""A package id as nodes make them (EV-<node>-NNNNNN): it names files, so nothing else."""


class OfferRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Offer:
    package: str
    request: str
    sender: str
    recipient: str
    size: int
    sha256: str
    chunk_size: int
    chunk_hashes: tuple[str, ...]
    created: str
    token: str

    @property
    def chunks(self) -> int:
        return len(self.chunk_hashes)

    def chunk_length(self, n: int) -> int:
        if n < self.chunks - 1:
            return self.chunk_size
        return self.size - self.chunk_size * (self.chunks - 1)


def chunk_hashes(path: Path, chunk_size: int = CHUNK_SIZE) -> tuple[str, tuple[str, ...], int]:
    """One read pass: the file's SHA-256, each chunk's SHA-256, its size."""
    whole = hashlib.sha256()
    hashes = []
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            whole.update(chunk)
            hashes.append(hashlib.sha256(chunk).hexdigest())
            size += len(chunk)
    return whole.hexdigest(), tuple(hashes), size


def make_offer(
    path: Path,
    *,
    package: str,
    request: str,
    sender: str,
    recipient: str,
    kid: str,
    key: crypto.SigningKey,
    at: datetime,
    chunk_size: int = CHUNK_SIZE,
) -> Offer:
    sha256, hashes, size = chunk_hashes(path, chunk_size)
    claims = {
        "format": FORMAT,
        "package": package,
        "request": request,
        "sender": sender,
        "recipient": recipient,
        "size": size,
        "sha256": sha256,
        "chunk_size": chunk_size,
        "chunk_hashes": list(hashes),
        "created": at.isoformat(),
    }
    payload = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    token = crypto.sign({"typ": TYP, "kid": kid}, payload, key)
    return _offer(claims, token)


def _offer(claims: dict[str, Any], token: str) -> Offer:
    return Offer(
        package=str(claims["package"]),
        request=str(claims["request"]),
        sender=str(claims["sender"]),
        recipient=str(claims["recipient"]),
        size=int(claims["size"]),
        sha256=str(claims["sha256"]),
        chunk_size=int(claims["chunk_size"]),
        chunk_hashes=tuple(str(h) for h in claims["chunk_hashes"]),
        created=str(claims["created"]),
        token=token,
    )


def verify_offer(
    token: str, directory: Directory, *, me: str, at: datetime
) -> tuple[Offer, NodeEntry]:
    """Verify the signature against the directory first, then read the claims."""
    node, _, claims = open_signed(token, directory, typ=TYP, fmt=FORMAT, what="offer", at=at)
    try:
        offer = _offer(claims, token)
    except (KeyError, TypeError, ValueError) as exc:
        raise OfferRefused(
            "malformed", f"signed, but an offer's member is missing or wrong: {exc}"
        ) from None
    if not re.fullmatch(PACKAGE_ID, offer.package) or ".." in offer.package:
        raise OfferRefused("malformed", f"{offer.package!r} is not a package id (EV-<node>-NNNNNN)")
    if offer.sender != node.id:
        raise OfferRefused("forged", f"names sender {offer.sender}, but the key is {node.id}'s")
    if not offer.package.startswith(f"EV-{node.id}-"):
        raise OfferRefused("malformed", f"{offer.package} is not a package numbered by {node.id}")
    if offer.recipient != me:
        raise OfferRefused("not_for_me", f"is for {offer.recipient}, not this node ({me})")
    if not 0 < offer.chunk_size <= MAX_CHUNK_SIZE:
        raise OfferRefused(
            "malformed", f"chunk size {offer.chunk_size} is not between 1 and {MAX_CHUNK_SIZE}"
        )
    if not 0 < offer.size <= MAX_SIZE:
        raise OfferRefused("too_large", f"size {offer.size} is not between 1 byte and 1 TiB")
    expected = -(-offer.size // offer.chunk_size)
    if offer.chunks != expected or not all(len(h) == 64 for h in offer.chunk_hashes):
        raise OfferRefused(
            "malformed", f"lists {offer.chunks} chunk hashes; {offer.size} bytes make {expected}"
        )
    return offer, node


def open_signed(
    token: str,
    directory: Directory,
    *,
    typ: str,
    fmt: str,
    what: str,
    at: datetime | None = None,
) -> tuple[NodeEntry, PublicKey, dict[str, Any]]:
    """A compact JWS a node signed (an offer, a receipt): its signer, found by ``kid`` in the
    directory (its key valid ``at``, when given), and its claims, read only once the
    signature verified and checked to be of ``typ`` and ``fmt``. OfferRefused with a code
    (``malformed``, ``unknown_signer``, ``key_not_valid``, ``forged``) otherwise."""
    try:
        kid = str(crypto.unverified_header(token).get("kid"))
    except crypto.CryptoFailure as exc:
        raise OfferRefused("malformed", f"not a signed {what}: {exc}") from None
    owner = directory.signing_key(kid)
    if owner is None:
        raise OfferRefused(
            "unknown_signer",
            f"signed with key {kid}, which no node in directory version {directory.version} holds",
        )
    node, key = owner
    if at is not None and not key.usable_at(at):
        raise OfferRefused("key_not_valid", f"key {kid} of {node.id} is not valid now")
    try:
        verified = crypto.verify(
            token, crypto.import_key(key.model_dump(include={"kty", "crv", "x"}))
        )
        claims = json.loads(verified.payload)
    except (crypto.CryptoFailure, ValueError):
        raise OfferRefused("forged", f"the {what}'s signature does not verify") from None
    if (
        verified.header.get("typ") != typ
        or not isinstance(claims, dict)
        or claims.get("format") != fmt
    ):
        raise OfferRefused("malformed", f"signed, but not an evidence {what}")
    return node, key, claims


def read_claims(token: str) -> Offer:
    """The claims of an offer this node verified before it stored it."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return _offer(claims, token)
