"""The signed directory: who the nodes are, where they listen, which keys they use.

One JSON document, signed as a compact JWS (Ed25519) by a directory authority
key (the depositary's role). Versioned: a node keeps the newest it has
verified and refuses an older one (downgrade), an expired one, one signed
by a key it does not trust (forged), and one of the same version with other
content. Every verified version is kept in the node's history folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from joserfc.jwk import OKPKey
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    model_serializer,
    model_validator,
)

from hanoinet.errors import DirectoryRejected
from hanoinet.exchange import crypto

FORMAT: Literal["hanoinet.directory/1"] = "hanoinet.directory/1"
TYP = "hanoinet-directory+jws"

NODE_ID_MAX = 48
NODE_ID = rf"^[a-z0-9](?:[a-z0-9-]{{0,{NODE_ID_MAX - 2}}}[a-z0-9])?$"
"""A node id: lowercase letters, digits and inner hyphens, at most 48 characters, so that
every id made from it fits every column on both databases and every field it goes in: the
package id ``EV-<node>-NNNNNN`` the audit log's 64-character target, the node id the
64-character peer and sender columns, ``hanoinet node <id>`` the certificate's common name
(at most 64 in X.509)."""
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID)]

Role = Literal["central_authority", "point_of_contact", "extradition_authority"]
ROLE_ARTICLES = {
    "central_authority": "40(13)",
    "point_of_contact": "41(1)",
    "extradition_authority": "37",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


KEY_KINDS = {"sig": ("OKP", "Ed25519"), "enc": ("OKP", "X25519"), "doc": ("EC", "P-256")}
"""What each use of a key must be: a message-signing key is Ed25519, never the P-256 key
that signs documents, and the other way round."""


class PublicKey(_Frozen):
    kty: Literal["OKP", "EC"]
    crv: Literal["Ed25519", "X25519", "P-256"]
    x: str
    y: str | None = None
    """Only for the P-256 document-signing key (``doc``)."""
    kid: str
    use: Literal["sig", "enc", "doc"]
    alg: str
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    revoked: AwareDatetime | None = None

    @model_validator(mode="after")
    def _kind_fits_use(self) -> PublicKey:
        if (self.kty, self.crv) != KEY_KINDS[self.use]:
            kty, crv = KEY_KINDS[self.use]
            raise ValueError(f"a {self.use} key must be {kty} {crv}, not {self.kty} {self.crv}")
        if (self.y is None) != (self.kty == "OKP"):
            raise ValueError("y belongs to an EC key, and only to one")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_y(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if dumped.get("y") is None:
            dumped.pop("y", None)
        return dumped

    def usable_at(self, at: datetime) -> bool:
        """Valid and not revoked at ``at``."""
        if at < self.valid_from or (self.revoked is not None and at >= self.revoked):
            return False
        return self.valid_until is None or at < self.valid_until


class NodeEntry(_Frozen):
    id: NodeId
    state: str
    name: str
    roles: tuple[Role, ...]
    endpoint: str
    keys: tuple[PublicKey, ...]
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    valid_from: AwareDatetime
    valid_until: AwareDatetime | None = None
    illustrative: bool = False


class Directory(_Frozen):
    format: Literal["hanoinet.directory/1"] = FORMAT
    version: int = Field(ge=1)
    issued_at: AwareDatetime
    valid_until: AwareDatetime
    nodes: tuple[NodeEntry, ...]

    def node(self, node_id: str) -> NodeEntry | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def node_at(self, node_id: str, at: datetime) -> NodeEntry | None:
        """The node if it is listed and valid at ``at``."""
        node = self.node(node_id)
        if node is None or at < node.valid_from:
            return None
        if node.valid_until is not None and at >= node.valid_until:
            return None
        return node

    def signing_key(self, kid: str) -> tuple[NodeEntry, PublicKey] | None:
        """The node holding signing key ``kid``, and that key (to verify what it signed)."""
        return next(
            ((n, k) for n in self.nodes for k in n.keys if k.kid == kid and k.use == "sig"), None
        )

    def nodes_of(self, state: str, role: Role | None = None) -> list[NodeEntry]:
        return [n for n in self.nodes if n.state == state and (role is None or role in n.roles)]


@dataclass(frozen=True)
class SignedDirectory:
    directory: Directory
    token: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.token.encode()).hexdigest()


def issue(directory: Directory, authority: OKPKey, authority_kid: str) -> SignedDirectory:
    payload = json.dumps(directory.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    token = crypto.sign({"typ": TYP, "kid": authority_kid}, payload.encode(), authority)
    return SignedDirectory(directory, token)


def verify(
    token: str,
    authorities: dict[str, dict[str, Any]],
    *,
    now: datetime,
    newest_known: SignedDirectory | None = None,
    allow_expired: bool = False,
) -> SignedDirectory:
    """Verify a directory against the trusted authority keys (kid -> public JWK).

    Raises DirectoryRejected with a reason: ``forged``, ``unknown_authority``,
    ``malformed``, ``expired``, ``downgrade``, ``conflicting_version``.
    """
    try:
        header = crypto.unverified_header(token.strip())
    except crypto.CryptoFailure:
        raise DirectoryRejected("malformed", "not a signed directory (compact JWS)") from None
    jwk = authorities.get(str(header.get("kid")))
    if jwk is None:
        raise DirectoryRejected(
            "unknown_authority",
            f"signed by key {header.get('kid')!r}, which is not a trusted directory authority",
        )
    try:
        verified = crypto.verify(token.strip(), crypto.import_key(jwk))
    except crypto.CryptoFailure:
        raise DirectoryRejected(
            "forged", "the signature does not verify: the directory was altered or forged"
        ) from None
    if verified.header.get("typ") != TYP:
        raise DirectoryRejected("malformed", f"typ is {verified.header.get('typ')!r}, not {TYP}")
    try:
        directory = Directory.model_validate_json(verified.payload)
    except RecursionError:
        raise DirectoryRejected(
            "malformed", "signed, but nested too deeply to be a directory"
        ) from None
    except ValidationError as exc:
        raise DirectoryRejected(
            "malformed", f"signed, but not a directory: {exc.errors()[0]['msg']}"
        ) from None
    if directory.valid_until <= now and not allow_expired:
        raise DirectoryRejected(
            "expired", f"version {directory.version} expired at {directory.valid_until.isoformat()}"
        )
    signed = SignedDirectory(directory, token.strip())
    if newest_known is not None:
        known = newest_known.directory.version
        if directory.version < known:
            raise DirectoryRejected(
                "downgrade",
                f"version {directory.version} is older than version {known} already verified",
            )
        if directory.version == known and signed.digest != newest_known.digest:
            raise DirectoryRejected(
                "conflicting_version", f"a different document claims version {known}"
            )
    return signed


@dataclass(frozen=True)
class Trust:
    """What an offline verifier trusts: the directory authority's keys, and optionally a
    directory (else the one the signed object carries, verified against those keys)."""

    authorities: dict[str, dict[str, Any]]
    directory_token: str | None = None
    directory: Directory | None = None
    """A directory the caller has already verified (a running node's): used as it is."""


def historical(trust: Trust, carried: str) -> Directory:
    """The directory to check a signature made in the past: the caller's, else the given
    token, else the one carried with the signed object, verified against the authorities.
    It may have expired since; the signer's key must have been usable when it signed, which
    the caller checks."""
    if trust.directory is not None:
        return trust.directory
    token = trust.directory_token or carried
    signed = verify(
        token.strip(),
        trust.authorities,
        now=datetime.fromtimestamp(0).astimezone(),
        allow_expired=True,
    )
    return signed.directory


class DirectoryCache:
    """A node's verified directories: the newest, and the history of every version."""

    def __init__(self, folder: Path, authorities: dict[str, dict[str, Any]]) -> None:
        self.folder = folder
        self.authorities = authorities

    def newest(self, now: datetime, *, allow_expired: bool = False) -> SignedDirectory | None:
        versions = sorted(
            self.folder.glob("directory-v*.jws"), key=lambda p: int(p.stem.split("-v")[1])
        )
        if not versions:
            return None
        token = versions[-1].read_text(encoding="ascii")
        return verify(token, self.authorities, now=now, allow_expired=allow_expired)

    def accept(self, token: str, now: datetime) -> SignedDirectory:
        """Verify ``token`` against the newest known version and keep it."""
        # The kept version may have expired meanwhile: it still bounds what is accepted next.
        current = self.newest(now, allow_expired=True)
        signed = verify(token, self.authorities, now=now, newest_known=current)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"directory-v{signed.directory.version}.jws"
        if not path.exists():
            path.write_text(signed.token, encoding="ascii")
        return signed
