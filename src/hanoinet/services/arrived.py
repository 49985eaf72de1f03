"""Evidence from a State that runs no node: it comes on media (a USB stick, a disc) by post,
courier or the diplomatic bag, or as a download, never as a package over the network.

``import_evidence`` makes it an evidence package on the receiving node, in the same format
as one a peer sends: the files as they arrived (each hashed once as it is read), a chain of
custody with the other State's collection as its letter declares it, then the **receipt**
(from which State, by what means, on what medium, when it arrived, who received it, the
covering letter's reference), then the packaging; the use conditions of the request this
node sent (speciality, 40(19); confidentiality; any condition the letter imposes, 36(1));
signed by this node and encrypted to it. It is stored and recorded as an accepted incoming
package, so ``evidence verify``, ``list``, ``custody``, ``permit`` and ``export`` treat it
as any other: the conditions apply to its use, every read is audited.

The package is written before the database is touched (minutes, maybe; no write lock held),
into the evidence folder under a temporary name; it takes its final name inside the
transaction that records it, and any failure (the commit's too) removes both names, so
neither a package without its record nor a record without its package is left (a crash may
leave the temporary file, which holds only ciphertext).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from hanoinet import __version__
from hanoinet.cases.guards import agreed_conditions
from hanoinet.errors import InvalidInput, UnknownCase
from hanoinet.evidence import agekeys, bag, custody
from hanoinet.evidence import package as pkg
from hanoinet.evidence.conditions import conditions_for
from hanoinet.evidence.offer import make_offer
from hanoinet.evidence.staging import fsync_dir
from hanoinet.registry.participants import participant
from hanoinet.services.cases import _legal_basis, _load_events, _next_id
from hanoinet.services.evidence import _matter, identities, sources, verification_record
from hanoinet.services.federation import NodeContext
from hanoinet.services.transfer import STORED, _new_row
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import evidence, requests

ARRIVALS = ("post", "courier", "diplomatic", "email", "download", "hand")
"""How evidence from a State that runs no node may arrive (``hand``: delivered in person)."""
OPEN_STATES = frozenset(
    {"sent", "acknowledged", "in_execution", "more_info_requested", "postponed"}
    | {"executed", "partially_executed", "closed"}
)
"""A request evidence may answer: sent, and neither refused, withdrawn nor lapsed (evidence
often comes with the letter that says it was executed, before that letter is recorded)."""


@dataclass(frozen=True)
class Imported:
    package_id: str
    request_id: str
    state: str
    """The State that sent it (code)."""
    path: Path
    files: int
    payload_bytes: int
    package_bytes: int
    custody: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package_id,
            "request": self.request_id,
            "from_state": self.state,
            "path": str(self.path),
            "files": self.files,
            "payload_bytes": self.payload_bytes,
            "package_bytes": self.package_bytes,
            "custody": self.custody,
        }


def import_evidence(
    ctx: NodeContext,
    directory_token: str,
    folder: Path,
    request_id: str,
    paths: list[Path],
    *,
    arrived_by: str,
    arrived_at: datetime,
    collection: custody.Collection,
    medium: str | None = None,
    reference: str | None = None,
    imposed: tuple[str, ...] = (),
    actor: str,
    at: datetime,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """Pack what a State that runs no node sent in answer to request ``request_id`` (this
    node sent it, outside the network) as an accepted incoming evidence package in
    ``folder`` (the node's evidence folder)."""
    if arrived_by not in ARRIVALS:
        raise InvalidInput(f"--by {arrived_by}: use one of {', '.join(ARRIVALS)}")
    if arrived_at > at:
        raise InvalidInput(f"--arrived-on {arrived_at.date().isoformat()} is in the future")
    if not collection.collected_by.strip():
        raise InvalidInput("--collected-by is empty: say who collected it, as the letter does")
    files = sources(paths, imposed)
    me = ctx.me
    with ctx.store.transaction() as conn:
        row = conn.execute(select(requests).where(requests.c.id == request_id)).one_or_none()
        if row is None:
            raise UnknownCase(f"no request {request_id} on this node")
        if row.direction != "outgoing" or row.means == "network":
            raise InvalidInput(
                f"{request_id} is not a request this node sent to a State that runs no node: "
                "evidence for a networked request comes from the other node, signed"
            )
        if row.state not in OPEN_STATES:
            raise InvalidInput(
                f"{request_id} is {row.state}: evidence answers a request that was sent and "
                "is not refused, withdrawn or lapsed"
            )
        if arrived_at.date() < row.created_at.date():
            raise InvalidInput(
                f"--arrived-on {arrived_at.date().isoformat()} is before {request_id} was "
                f"opened ({row.created_at.date().isoformat()})"
            )
        package_id = _next_id(conn, "evidence", f"EV-{ctx.node_id}")
        agreed = tuple(agreed_conditions(_load_events(conn, row.id)))
    state = str(row.requested_state)
    document = json.loads(row.document)
    receipt = custody.Receipt(
        received_from=f"{participant(state).names['en']} ({state})",
        means=arrived_by,
        arrived_at=arrived_at,
        received_by=actor,
        reference=reference,
        medium=medium,
    )
    conditions = conditions_for(
        request_uid=row.uid,
        reference=row.id,
        matter=_matter(document.get("matter") or {}),
        confidential=bool(document.get("confidential")),
        imposed=imposed,
        agreed=agreed,
    )
    signing = ctx.keys.active("sig", at)
    sender = pkg.Sender(me.id, me.name, me.state, signing.kid, signing.signing_key, directory_token)
    final = folder / STORED / f"{package_id}.age"
    staged = final.with_name(f".import-{package_id}.age")
    try:
        packed = pkg.pack(
            files,
            staged,
            package_id=package_id,
            request_uid=row.uid,
            reference=row.id,
            sender=sender,
            recipient_node=me.id,
            recipients=[agekeys.recipient_string(ctx.keys.active("enc", at).private)],
            conditions=conditions,
            collection=collection,
            actor=actor,
            version=__version__,
            at=at,
            progress=progress,
            peer_reference=(state, row.peer_ref) if row.peer_ref else None,
            receipt=receipt,
        )
    except bag.BagError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        result = pkg.verify(
            staged, trust=pkg.Trust({}, directory=ctx.directory), identities=identities(ctx.keys)
        )
        if not result.ok:  # what this node just made: a fault of ours, never kept
            raise InvalidInput(f"{package_id} did not verify once packed: {result.problems[0]}")
        made = make_offer(
            staged,
            package=package_id,
            request=row.uid,
            sender=me.id,
            recipient=me.id,
            kid=signing.kid,
            key=signing.signing_key,
            at=at,
        )
        record = verification_record(result, actor=actor, at=at)
        with ctx.store.transaction() as conn:
            conn.execute(
                insert(evidence).values(
                    **_new_row(made, row.id, "incoming", state, f"{STORED}/{final.name}", at)
                    | {
                        "state": "accepted",
                        "next_chunk": made.chunks,
                        "conditions": json.dumps(result.as_dict()["conditions"]),
                        "verification": json.dumps(record),
                    }
                )
            )
            audit_log.append(
                conn,
                at=at,
                actor=actor,
                action="evidence.imported",
                target=package_id,
                legal_basis=_legal_basis(row.kind),
                detail={
                    "request": row.id,
                    "from_state": state,
                    "by": arrived_by,
                    "arrived_at": arrived_at.isoformat(),
                    "medium": medium,
                    "reference": reference,
                    "files": len(packed.files),
                    "bytes": packed.payload_bytes,
                    "sha256": made.sha256,
                },
            )
            os.replace(staged, final)  # inside the transaction: a failure here undoes the row
            fsync_dir(final.parent)
    except BaseException:
        staged.unlink(missing_ok=True)
        final.unlink(missing_ok=True)  # renamed, but the commit failed: no file without row
        raise
    return Imported(
        package_id,
        row.id,
        state,
        final,
        len(packed.files),
        packed.payload_bytes,
        packed.package_bytes,
        record["custody"],
    )
