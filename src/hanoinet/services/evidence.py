"""Evidence packages on a node: pack the evidence answering a received request; open one.

``pack``: the request is read (an audited read: its reference, uid, matter and
confidentiality go into the package) and a package number is taken in one
transaction; then the package is written outside any transaction (it may
take minutes, and must not hold the database's write lock), signed with the
node's key and encrypted to the requesting node (from the directory) and to
this node itself, so it can verify what it sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pyrage import x25519
from sqlalchemy import select

from hanoinet import __version__
from hanoinet.convention.catalog import convention
from hanoinet.errors import InvalidInput, UnknownCase
from hanoinet.evidence import agekeys, bag
from hanoinet.evidence import package as pkg
from hanoinet.evidence.conditions import conditions_for
from hanoinet.evidence.custody import Collection
from hanoinet.exchange.directory import NodeEntry, PublicKey
from hanoinet.exchange.keys import KeySet
from hanoinet.services.cases import _next_id
from hanoinet.services.federation import NodeContext
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import requests


@dataclass(frozen=True)
class Packed:
    request_id: str
    recipient_node: str
    package: pkg.Packed

    def as_dict(self) -> dict[str, Any]:
        p = self.package
        return {
            "package": p.package_id,
            "request": self.request_id,
            "recipient": self.recipient_node,
            "path": str(p.path),
            "package_bytes": p.package_bytes,
            "payload_bytes": p.payload_bytes,
            "files": [
                {"path": name, "bytes": d.size, **d.hashes} for name, d in sorted(p.files.items())
            ],
        }


def _encryption_key(node: NodeEntry, at: datetime) -> PublicKey:
    usable = [k for k in node.keys if k.use == "enc" and k.usable_at(at)]
    if not usable:
        raise InvalidInput(f"node {node.id} has no valid encryption key in the directory now")
    return max(usable, key=lambda k: k.valid_from)


def identities(keys: KeySet) -> list[x25519.Identity]:
    """Every X25519 key this node holds, newest first: evidence stored at rest stays
    readable after the key it was encrypted to has been rotated."""
    held = sorted(
        (e for e in keys.entries if e.use == "enc"), key=lambda e: e.created, reverse=True
    )
    return [agekeys.identity(e.private) for e in held]


def _matter(matter: object) -> str | None:
    """The proceedings the evidence may be used for (speciality, 40(19)), as the request
    described them."""
    if not isinstance(matter, dict):
        return None
    parts = [str(matter[k]) for k in ("nature", "description", "authority") if matter.get(k)]
    return "; ".join(parts) or None


def pack(
    ctx: NodeContext,
    directory_token: str,
    request_id: str,
    paths: list[Path],
    out: Path,
    *,
    collection: Collection,
    imposed: tuple[str, ...] = (),
    actor: str,
    at: datetime,
    progress: Callable[[int], None] | None = None,
) -> Packed:
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose another --out")
    try:
        files = bag.sources(paths)
    except bag.BagError as exc:
        raise InvalidInput(str(exc)) from None
    me = ctx.me
    with ctx.store.transaction() as conn:
        row = conn.execute(select(requests).where(requests.c.id == request_id)).one_or_none()
        if row is None:
            raise UnknownCase(f"no request {request_id} on this node")
        if row.direction != "incoming":
            raise InvalidInput(
                f"{request_id} is a request this node sent; evidence answers a request it received"
            )
        peer = ctx.directory.node_at(row.peer_node, at) if row.peer_node else None
        if peer is None:
            raise InvalidInput(
                f"the requesting node of {request_id} ({row.peer_node or 'unknown'}) is not in "
                "the directory now: accept a newer directory first"
            )
        document = json.loads(row.document)
        matter = document.get("matter") or {}
        package_id = _next_id(conn, "evidence", f"EV-{ctx.node_id}")
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.pack",
            target=row.id,
            legal_basis=convention().forms[row.kind].articles[0],
            detail={
                "package": package_id,
                "recipient": peer.id,
                "files": len(files),
                "bytes": sum(f.size for f in files),
            },
        )
    conditions = conditions_for(
        request_uid=row.uid,
        reference=row.id,
        matter=_matter(matter),
        confidential=bool(document.get("confidential")),
        imposed=imposed,
    )
    signing = ctx.keys.active("sig", at)
    sender = pkg.Sender(me.id, me.name, me.state, signing.kid, signing.key, directory_token)
    recipients = [
        agekeys.recipient_string(_encryption_key(peer, at).model_dump()),
        agekeys.recipient_string(ctx.keys.active("enc", at).private),
    ]
    try:
        packed = pkg.pack(
            files,
            out,
            package_id=package_id,
            request_uid=row.uid,
            reference=row.id,
            sender=sender,
            recipient_node=peer.id,
            recipients=recipients,
            conditions=conditions,
            collection=collection,
            actor=actor,
            version=__version__,
            at=at,
            progress=progress,
        )
    except bag.BagError as exc:
        raise InvalidInput(str(exc)) from None
    return Packed(row.id, peer.id, packed)
