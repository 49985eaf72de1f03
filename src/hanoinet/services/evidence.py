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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pyrage import x25519
from sqlalchemy import Connection, insert, select, update

from hanoinet import __version__
from hanoinet.cases.guards import agreed_conditions
from hanoinet.convention.catalog import UNCONFIRMED, convention
from hanoinet.errors import InvalidInput, TransitionRefused, UnknownCase
from hanoinet.evidence import agekeys, bag, custody, staging
from hanoinet.evidence import package as pkg
from hanoinet.evidence.conditions import conditions_for
from hanoinet.evidence.custody import Collection
from hanoinet.evidence.receipt import claims_of as receipt_claims
from hanoinet.evidence.timestamp import TimestampFailed
from hanoinet.exchange.directory import NodeEntry, PublicKey
from hanoinet.exchange.keys import KeySet
from hanoinet.services.cases import _legal_basis, _load_events, _next_id, aware
from hanoinet.services.federation import NodeContext
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import audit, evidence, evidence_permissions, requests


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


def sources(paths: list[Path], imposed: tuple[str, ...]) -> list[Any]:
    """The files to pack from ``paths``, once the conditions typed are not empty."""
    if any(not text.strip() for text in imposed):
        raise InvalidInput("--condition is empty: give the condition's text")
    try:
        return bag.sources(paths)
    except bag.BagError as exc:
        raise InvalidInput(str(exc)) from None


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
    timestamper: Callable[[bytes], bytes] | None = None,
) -> Packed:
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose another --out")
    files = sources(paths, imposed)
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
        agreed = tuple(agreed_conditions(_load_events(conn, row.id)))
        package_id = _next_id(conn, "evidence", f"EV-{ctx.node_id}")
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.pack",
            target=row.id,
            legal_basis=_legal_basis(row.kind),
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
        agreed=agreed,
    )
    signing = ctx.keys.active("sig", at)
    sender = pkg.Sender(me.id, me.name, me.state, signing.kid, signing.signing_key, directory_token)
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
            timestamper=timestamper,
            peer_reference=(row.requesting_state, row.peer_ref)
            if row.peer_ref and row.requesting_state
            else None,
        )
    except bag.BagError as exc:
        raise InvalidInput(str(exc)) from None
    except TimestampFailed as exc:
        raise InvalidInput(
            f"{exc}; nothing was written (unset HANOINET_TSA_URL to pack without a time-stamp)"
        ) from None
    return Packed(row.id, peer.id, packed)


# ---- the packages a node holds, and their use -------------------------------------------

PERMISSION_ARTICLE = {"consent": "40(19)", "authorization": "36(3)"}
"""What each permission answers: use in another matter (speciality), onward transfer."""
Purpose = Literal["request", "other_matter", "onward_transfer"]


@dataclass(frozen=True)
class Holding:
    """One package this node sent or received, where its transfer stands."""

    id: str
    request_id: str
    direction: str
    peer_node: str
    state: str
    size: int
    sha256: str
    chunks: int
    next_chunk: int
    conditions: dict[str, Any] | None
    reason: list[dict[str, str]] | None
    permissions: tuple[dict[str, str], ...]
    updated_at: datetime
    verification: dict[str, Any] | None = None
    """The last verification on this node (``verification_record``), None before any."""
    attempts: int = 0
    """Outgoing: failed attempts to send since the transfer last moved."""
    last_error: str | None = None
    """Outgoing: why the last attempt failed (this node's words, English)."""
    next_attempt_at: datetime | None = None
    stalled_since: datetime | None = None
    """In transfer (queued, sending, receiving) and unmoved for longer than the alarm
    (``HANOINET_TRANSFER_ALARM_MINUTES``): since when; None otherwise."""

    @property
    def progress(self) -> float:
        return self.next_chunk / self.chunks if self.chunks else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.id,
            "request": self.request_id,
            "direction": self.direction,
            "peer_node": self.peer_node,
            "state": self.state,
            "bytes": self.size,
            "sha256": self.sha256,
            "chunks": self.chunks,
            "chunks_done": self.next_chunk,
            "conditions": self.conditions,
            "problems": self.reason,
            "permissions": list(self.permissions),
            "updated_at": self.updated_at.isoformat(),
            "stalled_since": self.stalled_since.isoformat() if self.stalled_since else None,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


STALL_AFTER = timedelta(minutes=30)
"""The default of ``HANOINET_TRANSFER_ALARM_MINUTES`` (settings.py)."""
MOVING = frozenset({"queued", "sending", "receiving"})
"""The states in which a transfer waits for chunks, and so can stall."""


def _holding(
    row: Any, permissions: Sequence[Any], now: datetime, stall_after: timedelta
) -> Holding:
    updated = aware(row.updated_at)
    return Holding(
        row.id,
        row.request_id,
        row.direction,
        row.peer_node,
        row.state,
        int(row.size),
        row.sha256,
        row.chunks,
        row.next_chunk,
        json.loads(row.conditions) if row.conditions else None,
        json.loads(row.reason) if row.reason else None,
        tuple(
            {
                "kind": p.kind,
                "article": PERMISSION_ARTICLE[p.kind],
                "scope": p.scope,
                "reference": p.reference,
                "recorded_by": p.recorded_by,
                "recorded_at": aware(p.recorded_at).isoformat(),
            }
            for p in permissions
            if p.package_id == row.id
        ),
        updated,
        json.loads(row.verification) if row.verification else None,
        int(row.attempts),
        row.last_error,
        aware(row.next_attempt_at) if row.next_attempt_at else None,
        updated if row.state in MOVING and now - updated > stall_after else None,
    )


def holdings(
    store: Store,
    *,
    request_id: str | None = None,
    package_id: str | None = None,
    actor: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
    stall_after: timedelta = STALL_AFTER,
) -> list[Holding]:
    """The packages of this node (of one request), newest first: metadata and the use
    conditions (which name the request's matter), so a read by a person (``actor``) is
    audited. Reading a package's content is ``export``, audited too. A transfer unmoved for
    longer than ``stall_after`` at ``now`` (default: the clock) is stalled."""
    query = select(evidence).order_by(evidence.c.updated_at.desc(), evidence.c.id.desc())
    if request_id is not None:
        query = query.where(evidence.c.request_id == request_id)
    if package_id is not None:
        query = query.where(evidence.c.id == package_id)
    with store.transaction() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        permissions = (
            conn.execute(
                select(evidence_permissions)
                .where(evidence_permissions.c.package_id.in_(ids))
                .order_by(evidence_permissions.c.id)
            ).all()
            if ids
            else []
        )
        if actor is not None and at is not None:
            audit_log.append(
                conn,
                at=at,
                actor=actor,
                action="evidence.list",
                target=request_id or "evidence",
                legal_basis=PERMISSION_ARTICLE["consent"],
                detail={"packages": ids},
            )
    moment = now or at or datetime.now(UTC)
    return [_holding(r, permissions, moment, stall_after) for r in rows]


def _received(conn: Connection, package_id: str) -> Any:
    row = conn.execute(select(evidence).where(evidence.c.id == package_id)).one_or_none()
    if row is None:
        raise UnknownCase(f"no evidence package {package_id} on this node")
    if row.direction != "incoming" or row.state != "accepted":
        raise InvalidInput(
            f"{package_id} is {row.direction} and {row.state}: only evidence this node received "
            "and accepted can be used here"
        )
    return row


def permit(
    store: Store,
    package_id: str,
    kind: Literal["consent", "authorization"],
    scope: str,
    reference: str,
    *,
    actor: str,
    at: datetime,
) -> Holding:
    """Record the sending State's consent to another use (40(19)) or its authorization of an
    onward transfer (36(3)), with the reference of its written record."""
    if not scope.strip() or not reference.strip():
        raise InvalidInput("a permission needs what it allows and the reference of its record")
    with store.transaction() as conn:
        _received(conn, package_id)
        conn.execute(
            insert(evidence_permissions).values(
                package_id=package_id,
                kind=kind,
                scope=scope.strip(),
                reference=reference.strip(),
                recorded_by=actor,
                recorded_at=at,
            )
        )
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action=f"evidence.{kind}",
            target=package_id,
            legal_basis=PERMISSION_ARTICLE[kind],
            detail={"scope": scope.strip(), "reference": reference.strip()},
        )
    return _one(store, package_id)


def consent_from_case(store: Store, package_id: str, matter: str | None) -> tuple[str, str]:
    """The sending State's consent as it arrived on the case (its signed ``give_consent``
    message, 40(19), on the request the package answers) for ``matter``, or for the matter
    of its latest consent when none is named: its reference and the matter it covers."""
    with store.transaction() as conn:
        row = _received(conn, package_id)
        events = _load_events(conn, row.request_id)
    given = [e for e in events if e.action == "give_consent" and e.by == "requested"]
    if not given:
        raise TransitionRefused(
            f"{row.request_id} has no consent (give_consent, art. 40(19)) from {row.peer_node}; "
            "a consent received otherwise is recorded with the reference of its written record",
            article="40(19)",
        )
    if matter is not None:
        named = [e for e in given if _same(e.params.get("matter", ""), matter)]
        if not named:
            covered = "; ".join(e.params.get("matter") or "no matter named" for e in given)
            raise TransitionRefused(
                f"{row.request_id}: the consent of {row.peer_node} (art. 40(19)) covers "
                f"{covered}, not {matter!r}",
                article="40(19)",
            )
        given = named
    last = given[-1]
    covers = last.params.get("matter") or matter
    if not covers:
        raise TransitionRefused(
            f"{row.request_id}: the consent of {row.peer_node} names no matter: say which one "
            "it covers (--consent-for MATTER)",
            article="40(19)",
        )
    reason = last.params.get("reason", "")
    reference = (
        f"give_consent on {row.request_id}, {last.at.isoformat()}, by {last.actor}: {reason}"
    )
    return reference, covers


def _one(store: Store, package_id: str) -> Holding:
    found = holdings(store, package_id=package_id)
    if not found:
        raise UnknownCase(f"no evidence package {package_id} on this node")
    return found[0]


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _required_permission(
    holding: Holding, purpose: Purpose, scope: str | None
) -> dict[str, str] | None:
    """The recorded permission the use needs, or TransitionRefused citing the article."""
    if purpose == "request":
        return None
    if not scope or not scope.strip():
        raise InvalidInput("say which other matter, or to which State or body, the evidence goes")
    kind = "consent" if purpose == "other_matter" else "authorization"
    found = next(
        (p for p in holding.permissions if p["kind"] == kind and _same(p["scope"], scope)), None
    )
    if found is not None:
        return found
    article = PERMISSION_ARTICLE[kind]
    info = convention().key(article)
    mark = "" if info.verified else f" ({UNCONFIRMED})"
    what = (
        f"use in another matter ({scope}) needs the prior consent of the sending State"
        if kind == "consent"
        else f"onward transfer to {scope} needs the prior authorization of the sending State"
    )
    raise PermissionMissing(
        f"{holding.id}: {what}, art. {article}{mark}. Record it first, with the reference of "
        "the sending State's message that gives it.",
        article=article,
        kind=kind,
        scope=scope,
    )


class PermissionMissing(TransitionRefused):
    """An export needs a consent (40(19)) or an authorization that is not recorded; says so in
    words a page can show (the command line adds its command)."""

    def __init__(self, message: str, *, article: str, kind: str, scope: str) -> None:
        super().__init__(message, article=article)
        self.kind = kind
        self.scope = scope


@dataclass(frozen=True)
class Exported:
    holding: Holding
    folder: Path
    purpose: Purpose
    scope: str | None
    permission: dict[str, str] | None
    verification: pkg.Verification

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.holding.id,
            "exported_to": str(self.folder),
            "purpose": self.purpose,
            "scope": self.scope,
            "permission": self.permission,
            "conditions": self.holding.conditions,
            "checks": [c.as_dict() for c in self.verification.checks],
        }


def export(
    ctx: NodeContext,
    folder: Path,
    package_id: str,
    to: Path,
    *,
    purpose: Purpose = "request",
    scope: str | None = None,
    actor: str,
    at: datetime,
    progress: Callable[[int], None] | None = None,
) -> Exported:
    """Open a received package into ``to`` (verified again as it is written), if its use
    conditions allow this use; the export is recorded in the audit log (its chain of
    custody on this node) before anything is written, and a failure after it too. Nothing
    is written when a condition or a check refuses it."""
    with ctx.store.transaction() as conn:
        row = _received(conn, package_id)
    holding = _one(ctx.store, package_id)
    permission = _required_permission(holding, purpose, scope)
    source = folder / row.path
    if not source.is_file():
        raise InvalidInput(f"{package_id}: its file {source} is missing from the evidence folder")
    unpacked = to / package_id
    basis = PERMISSION_ARTICLE["consent" if purpose != "onward_transfer" else "authorization"]
    detail = {
        "to": str(unpacked),
        "purpose": purpose,
        "scope": scope,
        "permission": permission["reference"] if permission else None,
    }
    # recorded before a byte is written: a crash may leave an entry without a folder,
    # never a folder without its entry
    with ctx.store.transaction() as conn:
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.export",
            target=package_id,
            legal_basis=basis,
            detail=detail,
        )
    result = pkg.unpack(
        source,
        to,
        trust=pkg.Trust({}, directory=ctx.directory),
        identities=identities(ctx.keys),
        progress=progress,
        journal=folder / staging.JOURNAL,
    )
    if not result.ok:
        first = result.problems[0] if result.problems else "a check failed"
        with ctx.store.transaction() as conn:
            audit_log.append(
                conn,
                at=at,
                actor=actor,
                action="evidence.export_failed",
                target=package_id,
                legal_basis=basis,
                detail={**detail, "problem": str(first)},
            )
        raise InvalidInput(f"{package_id} did not verify as it was opened: {first}")
    return Exported(holding, unpacked, purpose, scope, permission, result)


def local_custody(store: Store, package_id: str) -> list[dict[str, Any]]:
    """What happened to a package on this node (offer, receipt, permissions, exports), from
    the audit log, in order: the chain of custody continued after the package's own."""
    with store.transaction() as conn:
        rows = conn.execute(
            select(audit).where(audit.c.target == package_id).order_by(audit.c.seq)
        ).all()
    return [
        {
            "at": aware(r.at).isoformat(),
            "action": r.action,
            "actor": r.actor,
            "detail": json.loads(r.detail) if r.detail else None,
        }
        for r in rows
    ]


def _held(conn: Connection, package_id: str, not_kept: str) -> Any:
    """The row of a package this node holds: one it sent, or one it received and accepted
    (a package refused or still arriving has nothing kept; ``not_kept`` says so)."""
    row = conn.execute(select(evidence).where(evidence.c.id == package_id)).one_or_none()
    if row is None:
        raise UnknownCase(f"no evidence package {package_id} on this node")
    if row.direction == "incoming" and row.state != "accepted":
        raise InvalidInput(f"{package_id} is {row.state}: {not_kept}")
    return row


def read_custody(
    ctx: NodeContext, folder: Path, package_id: str, *, actor: str, at: datetime
) -> tuple[pkg.Verification, list[dict[str, Any]]]:
    """A package held here: its own chain of custody (read from the verified package; an
    audited read) and what happened to it on this node since."""
    with ctx.store.transaction() as conn:
        row = _held(conn, package_id, "it was not accepted, so there is none to read")
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.custody",
            target=package_id,
            legal_basis=PERMISSION_ARTICLE["consent"],
            detail=None,
        )
    source = Path(row.path) if row.direction == "outgoing" else folder / row.path
    result = pkg.verify(
        source,
        trust=pkg.Trust({}, directory=ctx.directory),
        identities=identities(ctx.keys),
        validate_case=False,
        receipts=receipts_of(row),
    )
    return result, local_custody(ctx.store, package_id)


def receipts_of(row: Any) -> tuple[str, ...]:
    """The receiving node's signed receipt kept with a package, if any: its time anchor."""
    return (row.receipt,) if row.receipt else ()


def receipt(store: Store, package_id: str, *, actor: str, at: datetime) -> dict[str, Any]:
    """The receipt kept with a package this node sent or received (the receiving node's,
    signed when it accepted the package), to hand over with the package: ``evidence verify
    --receipt`` anchors the package's signing time with it. An audited read."""
    with store.transaction() as conn:
        row = _held(conn, package_id, "it was not accepted, so there is no receipt")
        if not row.receipt:
            raise InvalidInput(
                f"{package_id} has no receipt: "
                + (
                    "the receiving node has not accepted it yet"
                    if row.direction == "outgoing"
                    else "it was accepted before receipts were signed"
                )
            )
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.receipt",
            target=package_id,
            legal_basis=PERMISSION_ARTICLE["consent"],
            detail=None,
        )
    claims = receipt_claims(row.receipt)
    return {
        "package": package_id,
        "receiver": claims.get("receiver"),
        "received_at": claims.get("received_at"),
        "sha256": claims.get("sha256"),
        "signature_sha256": claims.get("signature_sha256"),
        "receipt": row.receipt,
    }


# ---- verification on this node, for the case page ---------------------------------------

FILES_SHOWN = 200
"""The payload files a kept verification lists (the first by path): the case page stays one
page whatever the package holds; ``evidence verify --json`` lists them all."""


def verification_record(result: pkg.Verification, *, actor: str, at: datetime) -> dict[str, Any]:
    """What the case page shows of a verification: each check with its outcome, the payload
    files with their sizes and SHA-256 (as hashed in the stream and matched against the signed
    manifests: listed only when the payload check passed) and the chain of custody read from
    the verified package. No byte of the payload itself."""
    payload_ok = any(c.name == "payload" and c.status == "passed" for c in result.checks)
    files = sorted(result.files.items()) if payload_ok else []
    steps = custody.timeline(result.custody) if result.custody is not None else []
    return {
        "at": at.isoformat(),
        "by": actor,
        "verified": result.ok,
        "anchor": result.anchor.as_dict() if result.anchor else None,
        "checks": [c.as_dict() for c in result.checks],
        "files": [
            {"path": name, "bytes": d.size, "sha256": d.hashes.get("sha256", "")}
            for name, d in files[:FILES_SHOWN]
        ],
        "files_total": len(files),
        "payload_bytes": sum(d.size for _, d in files),
        "custody": [s.as_dict() for s in steps],
    }


def verify_held(
    ctx: NodeContext, folder: Path, package_id: str, *, actor: str, at: datetime
) -> Holding:
    """Verify a package this node holds once more, with all eight checks (CASE validation
    included), against this node's keys and newest directory, decrypting in the stream (no
    plaintext is written); keep the result for the case page and record the verification in
    the audit log with its outcome, in one transaction. A package received and refused, or
    still arriving, has nothing kept to verify."""
    with ctx.store.transaction() as conn:
        row = _held(conn, package_id, "only a package this node accepted is kept to verify")
    source = Path(row.path) if row.direction == "outgoing" else folder / row.path
    if not source.is_file():
        raise InvalidInput(f"{package_id}: its file is missing from the evidence folder")
    result = pkg.verify(
        source,
        trust=pkg.Trust({}, directory=ctx.directory),
        identities=identities(ctx.keys),
        receipts=receipts_of(row),
    )
    record = verification_record(result, actor=actor, at=at)
    with ctx.store.transaction() as conn:
        conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id)
            .values(verification=json.dumps(record))
        )
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.verify",
            target=package_id,
            legal_basis=PERMISSION_ARTICLE["consent"],
            detail={
                "verified": result.ok,
                "failed": [c.name for c in result.checks if c.status == "failed"],
            },
        )
    return _one(ctx.store, package_id)
