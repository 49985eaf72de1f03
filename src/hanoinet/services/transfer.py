"""Moving an evidence package between nodes: chunked, acknowledged, resumable.

Sender (``offer`` then ``send``): the node verifies its own copy (it encrypted
the package to itself too), signs an offer listing every chunk's hash, posts it
to the receiving node and sends the chunks the receiver does not have yet, one
at a time, each acknowledged. A dropped connection is retried; when the retries
run out the command stops and, run again, resumes where the receiver's count
stands. A restart of either node loses nothing: the receiver keeps the chunks on
disk and the count in its database.

Receiver (``receive_offer``, ``receive_chunk``): the offer's signature is
verified against the directory before anything in it is read; each chunk is
checked against its hash in the offer before it is written; after the last the
whole package is verified (decryption with this node's keys, signature,
manifests, custody, conditions) and only then accepted, kept encrypted as it
arrived. A package that fails is refused and deleted: nothing is half-accepted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hanoinet.errors import (
    InvalidInput,
    TransferBusy,
    TransferInterrupted,
    TransferRefused,
    UnknownCase,
)
from hanoinet.evidence import package as pkg
from hanoinet.evidence.offer import (
    CHUNK_SIZE,
    Offer,
    OfferRefused,
    make_offer,
    read_claims,
    verify_offer,
)
from hanoinet.evidence.receipt import (
    Anchor,
    ReceiptRefused,
    make_receipt,
    signature_digest,
    verify_receipt,
)
from hanoinet.evidence.receipt import claims_of as receipt_claims
from hanoinet.evidence.staging import fsync_dir
from hanoinet.services.cases import _legal_basis as legal_basis_of
from hanoinet.services.cases import aware
from hanoinet.services.evidence import identities, verification_record
from hanoinet.services.federation import NodeContext, backoff
from hanoinet.store import audit as audit_log
from hanoinet.store.audit import canonical
from hanoinet.store.db import Store
from hanoinet.store.schema import evidence, outbox, requests

QUEUED = "queued"
"""An outgoing transfer offered here and waiting for a sender (the worker)."""
SENDING = "sending"
UNSENT = (QUEUED, SENDING)
SEND_LEASE = timedelta(minutes=2)
"""How long a sender holds an outgoing transfer without a chunk acknowledged (renewed with
every chunk) before another sender may take it over."""
FINAL_REFUSALS = frozenset(
    {"conflict", "unknown_request", "not_for_me", "malformed", "forged", "too_large"}
)
"""What a receiving node answers to an offer it will never take: the transfer ends refused.
Any other refusal (a key the receiver does not know yet, a node busy) is tried again later."""
INCOMING = "incoming"
STORED = "store"
VERIFYING = "verifying"
"""A package whose every chunk arrived, waiting for (or under) verification by a worker."""
VERIFY_LEASE = timedelta(minutes=10)
"""How long a worker holds a package it verifies before another may take it over (renewed
every third of it while the verification goes on); the worker uses its ``--lease``."""
DECISION_TYPE = "evidence"
DECISION_ACTION = "evidence_decision"
"""The signed message that tells the sender whether its package was accepted or refused."""
NO_SUCH_TRANSFER = "no_such_transfer"
"""The one refusal of a chunk that matches no open transfer, whether the package exists or not."""


@dataclass(frozen=True)
class Answer:
    """What the receiver says after an offer or a chunk."""

    package: str
    state: str
    next_chunk: int
    chunks: int
    problems: tuple[dict[str, str], ...] = ()
    duplicate: bool = False
    receipt: str | None = None
    """Accepted: the receiver's signed receipt (evidence/receipt.py)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "state": self.state,
            "next_chunk": self.next_chunk,
            "chunks": self.chunks,
            "problems": list(self.problems),
            "duplicate": self.duplicate,
            "receipt": self.receipt,
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Answer:
        return cls(
            str(data["package"]),
            str(data["state"]),
            int(data["next_chunk"]),
            int(data["chunks"]),
            tuple(data.get("problems") or ()),
            bool(data.get("duplicate")),
            data.get("receipt") if isinstance(data.get("receipt"), str) else None,
        )


def _uid(ctx: NodeContext, request_id: str) -> str:
    with ctx.store.engine.connect() as conn:
        return str(
            conn.execute(select(requests.c.uid).where(requests.c.id == request_id)).scalar_one()
        )


def _legal_basis(conn: Connection, request_id: str) -> str:
    kind = conn.execute(select(requests.c.kind).where(requests.c.id == request_id)).scalar_one()
    return legal_basis_of(kind)


def _new_row(
    made: Offer, request_id: str, direction: str, peer: str, path: str, at: datetime
) -> dict[str, Any]:
    return {
        "id": made.package,
        "request_id": request_id,
        "direction": direction,
        "peer_node": peer,
        "state": QUEUED if direction == "outgoing" else "receiving",
        "size": made.size,
        "sha256": made.sha256,
        "chunk_size": made.chunk_size,
        "chunks": made.chunks,
        "next_chunk": 0,
        "offer": made.token,
        "path": path,
        "created_at": at,
        "updated_at": at,
    }


# ---- sender -----------------------------------------------------------------------------


def offer(
    ctx: NodeContext, path: Path, *, actor: str, at: datetime, chunk_size: int = CHUNK_SIZE
) -> Offer:
    """Verify this node's own package, sign the offer and record the outgoing transfer.
    Offering the same package again returns the offer already made (resume)."""
    if not pkg.is_encrypted(path):
        raise InvalidInput(f"{path} is not an encrypted evidence package (age)")
    own = pkg.verify(
        path,
        trust=pkg.Trust({}, directory=ctx.directory),
        identities=identities(ctx.keys),
        validate_case=False,
    )
    if not own.ok:
        first = own.problems[0] if own.problems else None
        raise InvalidInput(f"{path} does not verify, so it is not sent: {first}")
    claims = own.claims or {}
    if claims.get("sender") != ctx.node_id:
        raise InvalidInput(f"{path} was packed by {claims.get('sender')}, not by this node")
    package_id = str(claims["package"])
    with ctx.store.transaction() as conn:
        known = conn.execute(select(evidence).where(evidence.c.id == package_id)).one_or_none()
        if known is not None and known.direction == "outgoing":
            return read_claims(known.offer)
        if known is not None:
            raise InvalidInput(f"{package_id} is a package this node received, not one it sends")
        request = conn.execute(
            select(requests.c.id).where(requests.c.uid == claims.get("request"))
        ).scalar_one_or_none()
        if request is None:
            raise UnknownCase(
                f"the request {claims.get('reference')} of {package_id} is not on this node"
            )
    signing = ctx.keys.active("sig", at)
    made = make_offer(
        path,
        package=package_id,
        request=str(claims["request"]),
        sender=ctx.node_id,
        recipient=str(claims["recipient"]),
        kid=signing.kid,
        key=signing.signing_key,
        at=at,
        chunk_size=chunk_size,
    )
    with ctx.store.transaction() as conn:
        conn.execute(
            insert(evidence).values(
                **_new_row(made, request, "outgoing", made.recipient, str(path.resolve()), at),
                conditions=json.dumps(own.as_dict()["conditions"]),
            )
        )
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="evidence.offer",
            target=package_id,
            legal_basis=_legal_basis(conn, request),
            detail={
                "request": request,
                "recipient": made.recipient,
                "bytes": made.size,
                "sha256": made.sha256,
            },
        )
    return made


class EvidenceTransport(Protocol):
    def offer(self, endpoint: str, token: str) -> dict[str, Any]: ...
    def chunk(
        self, endpoint: str, package: str, n: int, data: bytes, *, last: bool
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Sent:
    package: str
    state: str
    chunks: int
    sent: int
    resumed_at: int
    resent: int
    problems: tuple[dict[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "state": self.state,
            "chunks": self.chunks,
            "chunks_sent": self.sent,
            "resumed_at_chunk": self.resumed_at,
            "chunks_sent_again": self.resent,
            "problems": list(self.problems),
        }


def standing(ctx: NodeContext, package_id: str) -> Sent:
    """Where an outgoing transfer stands now, as ``send`` says it (nothing sent by this call)."""
    row = _outgoing(ctx, package_id)
    problems = tuple(json.loads(row.reason)) if row.reason else ()
    return Sent(row.id, row.state, row.chunks, 0, row.next_chunk, 0, problems)


def _outgoing(ctx: NodeContext, package_id: str) -> Any:
    with ctx.store.transaction() as conn:
        row = conn.execute(
            select(evidence).where(evidence.c.id == package_id, evidence.c.direction == "outgoing")
        ).one_or_none()
    if row is None:
        raise UnknownCase(f"no outgoing evidence {package_id} on this node; offer it first")
    return row


def _free(now: datetime) -> Any:
    return or_(evidence.c.lease_until.is_(None), evidence.c.lease_until <= now)


def _claim(ctx: NodeContext, package_id: str, owner: str, lease: timedelta, now: datetime) -> bool:
    with ctx.store.transaction() as conn:
        return bool(
            conn.execute(
                update(evidence)
                .where(
                    evidence.c.id == package_id,
                    evidence.c.direction == "outgoing",
                    _free(now),
                )
                .values(lease_until=now + lease, lease_owner=owner)
            ).rowcount
        )


def claim_due(
    ctx: NodeContext, *, owner: str, lease: timedelta = SEND_LEASE, now: datetime
) -> str | None:
    """Lease the outgoing transfer that has waited longest and is due (queued, or sending and
    past its backoff, and no sender holds it): the worker's next package to send."""
    due = or_(evidence.c.next_attempt_at.is_(None), evidence.c.next_attempt_at <= now)
    with ctx.store.transaction() as conn:
        candidates = (
            conn.execute(
                select(evidence.c.id)
                .where(
                    evidence.c.direction == "outgoing",
                    evidence.c.state.in_(UNSENT),
                    due,
                    _free(now),
                )
                .order_by(evidence.c.updated_at, evidence.c.id)
                .limit(5)
            )
            .scalars()
            .all()
        )
    for package_id in candidates:  # another worker may take the first meanwhile
        if _claim(ctx, package_id, owner, lease, now):
            return str(package_id)
    return None


def send(
    ctx: NodeContext,
    transport: EvidenceTransport,
    package_id: str,
    *,
    actor: str,
    clock: Callable[[], datetime],
    progress: Callable[[int, int], None] | None = None,
    attempts: int = 5,
    pause: Callable[[float], None] = time.sleep,
    owner: str | None = None,
    lease: timedelta = SEND_LEASE,
    rng: random.Random | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Sent:
    """Send what the receiver lacks, chunk by chunk, until every chunk is there (the
    receiver then verifies it, and its decision comes by message) or it answers with its
    decision. One sender at a time: under ``owner``'s lease (``claim_due``), else under a
    lease taken here (TransferBusy if another sender holds one). The lease is renewed with
    every chunk and given up at the end; a failure is counted and the next attempt put off
    (backoff), with its reason, for the page and ``evidence list`` to show."""
    row = _outgoing(ctx, package_id)
    mine = owner or uuid.uuid4().hex
    if owner is None and not _claim(ctx, package_id, mine, lease, clock()):
        raise TransferBusy(
            f"{package_id} is being sent now by another sender (the worker): evidence list "
            "shows where it stands"
        )
    try:
        return _send(
            ctx, transport, row, mine, actor, clock, progress, attempts, pause, lease, stop
        )
    except _LeaseLost:  # too slow to renew: another sender goes on from the receiver's count
        return standing(ctx, package_id)
    except (TransferInterrupted, TransferRefused, InvalidInput) as exc:
        _failed(ctx, package_id, mine, str(exc), clock(), rng or random.Random())
        raise
    finally:
        with ctx.store.transaction() as conn:
            conn.execute(
                update(evidence)
                .where(evidence.c.id == package_id, evidence.c.lease_owner == mine)
                .values(lease_until=None, lease_owner=None)
            )


class _LeaseLost(Exception):
    """Another sender took the transfer over (this one was too slow to renew its lease)."""


def _send(
    ctx: NodeContext,
    transport: EvidenceTransport,
    row: Any,
    owner: str,
    actor: str,
    clock: Callable[[], datetime],
    progress: Callable[[int, int], None] | None,
    attempts: int,
    pause: Callable[[float], None],
    lease: timedelta,
    stop: Callable[[], bool],
) -> Sent:
    package_id = row.id
    made = read_claims(row.offer)
    if not Path(row.path).is_file():
        raise InvalidInput(
            f"{package_id} was offered from {row.path}, which is no longer there; put the "
            "package back there to resume (the receiver checks every chunk against the offer)"
        )
    peer = ctx.directory.node_at(row.peer_node, clock())
    if peer is None:
        raise InvalidInput(f"the receiving node {row.peer_node} is not in the directory now")

    def call(what: Callable[[], dict[str, Any]]) -> Answer:
        for attempt in range(attempts):
            try:
                return Answer.of(what())
            except OSError as exc:
                if attempt == attempts - 1:
                    raise TransferInterrupted(
                        f"{package_id}: the connection to {peer.id} failed {attempts} times "
                        f"({exc}); the node tries again later"
                    ) from None
                pause(min(30.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")

    try:
        answer = call(lambda: transport.offer(peer.endpoint, made.token))
    except TransferRefused as exc:
        if exc.reason not in FINAL_REFUSALS:
            raise
        # The receiver will never take this offer (another package under that id, no such
        # request there, not for it): the transfer ends refused, with the receiver's words.
        problem = {"code": exc.reason, "where": peer.id, "message": exc.message}
        answer = Answer(package_id, "refused", row.next_chunk, made.chunks, (problem,))
    resumed_at = answer.next_chunk
    sent = resent = 0
    if answer.state == "receiving":
        _progress(ctx, package_id, owner, answer.next_chunk, clock(), lease, moved=False)
    with open(row.path, "rb") as f:
        while answer.state == "receiving" and answer.next_chunk < made.chunks:
            n = answer.next_chunk
            f.seek(n * made.chunk_size)
            data = f.read(made.chunk_length(n))
            if hashlib.sha256(data).hexdigest() != made.chunk_hashes[n]:
                raise InvalidInput(
                    f"{row.path} changed since it was offered (chunk {n}); pack it again"
                )
            last = n == made.chunks - 1

            def put(n: int = n, data: bytes = data, last: bool = last) -> dict[str, Any]:
                return transport.chunk(peer.endpoint, package_id, n, data, last=last)

            try:
                answer = call(put)
            except TransferRefused as exc:
                if exc.reason != NO_SUCH_TRANSFER or resent >= attempts * 4:
                    raise
                resent += 1  # damaged on the way: the same chunk once more
                continue
            sent += 1
            _progress(ctx, package_id, owner, answer.next_chunk, clock(), lease)
            if stop():  # the worker is stopping: the next one resumes here
                return Sent(package_id, SENDING, made.chunks, sent, resumed_at, resent, ())
            if progress is not None:
                progress(answer.next_chunk, made.chunks)
    final = {"accepted": "delivered", "refused": "refused"}.get(answer.state)
    if final is not None:
        _settle(ctx, package_id, row.request_id, final, answer, actor, clock(), row.sha256, peer.id)
    elif answer.state == VERIFYING:  # all there: the receiver's decision comes by message
        with ctx.store.transaction() as conn:
            conn.execute(
                update(evidence)
                .where(evidence.c.id == package_id, evidence.c.state.in_(UNSENT))
                .values(
                    state=VERIFYING,
                    next_chunk=made.chunks,
                    updated_at=clock(),
                    attempts=0,
                    next_attempt_at=None,
                    last_error=None,
                )
            )
    return Sent(
        package_id, final or answer.state, made.chunks, sent, resumed_at, resent, answer.problems
    )


def _progress(
    ctx: NodeContext,
    package_id: str,
    owner: str,
    next_chunk: int,
    at: datetime,
    lease: timedelta,
    *,
    moved: bool = True,
) -> None:
    """The receiver's count, and the lease renewed, while ``owner`` still holds it; a chunk
    acknowledged (``moved``) is progress: the failures counted before are forgiven."""
    values: dict[str, Any] = {"next_chunk": next_chunk, "lease_until": at + lease}
    values.update(
        {"updated_at": at, "attempts": 0, "next_attempt_at": None, "last_error": None}
        if moved
        else {}
    )
    with ctx.store.transaction() as conn:
        conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id, evidence.c.state == QUEUED)
            .values(state=SENDING, updated_at=at)
        )
        kept = conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id, evidence.c.lease_owner == owner)
            .values(**values)
        ).rowcount
    if not kept:
        raise _LeaseLost(package_id)


def _failed(
    ctx: NodeContext, package_id: str, owner: str, error: str, at: datetime, rng: random.Random
) -> None:
    """One more failed attempt: counted, its reason kept, the next one put off (backoff)."""
    with ctx.store.transaction() as conn:
        row = conn.execute(
            select(evidence.c.attempts).where(
                evidence.c.id == package_id, evidence.c.lease_owner == owner
            )
        ).one_or_none()
        if row is None:
            return
        conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id, evidence.c.lease_owner == owner)
            .values(
                attempts=row.attempts + 1,
                last_error=error[:2000],
                next_attempt_at=at + backoff(row.attempts + 1, rng),
            )
        )


def stalled(store: Store, *, now: datetime, after: timedelta) -> list[dict[str, Any]]:
    """Outgoing transfers that have not moved for longer than ``after`` (queued or sending):
    the NOT DELIVERED alarm for evidence, beside the outbox's."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(evidence).where(evidence.c.direction == "outgoing", evidence.c.state.in_(UNSENT))
        ).all()
    return [
        {
            "package": r.id,
            "request": r.request_id,
            "since": aware(r.updated_at).isoformat(),
            "attempts": r.attempts,
            "last_error": r.last_error,
            "chunks_done": r.next_chunk,
            "chunks": r.chunks,
        }
        for r in rows
        if now - aware(r.updated_at) > after
    ]


def _receipt_problem(
    ctx: NodeContext, receipt: str, package: str, sha256: str, peer: str
) -> str | None:
    """Why a receipt the receiving node sent back cannot be kept, or None: it must verify
    against the directory, be that node's, and name this package and its content."""
    try:
        anchor = verify_receipt(receipt, ctx.directory)
    except ReceiptRefused as exc:
        return f"the receipt of {package} does not verify: {exc.message}"
    if anchor.by != peer or anchor.package != package:
        return f"the receipt is {anchor.by}'s for {anchor.package}, not {peer}'s for {package}"
    if receipt_claims(receipt).get("sha256") != sha256:
        return f"the receipt of {package} is about other content"
    return None


def _settle(
    ctx: NodeContext,
    package_id: str,
    request_id: str,
    state: str,
    answer: Answer,
    actor: str,
    at: datetime,
    sha256: str,
    peer: str,
) -> None:
    receipt = answer.receipt if state == "delivered" else None
    if receipt is not None and _receipt_problem(ctx, receipt, package_id, sha256, peer):
        receipt = None  # not kept: the package stays anchored by its signer's clock only
    with ctx.store.transaction() as conn:
        changed = conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id, evidence.c.state.in_((*UNSENT, VERIFYING)))
            .values(
                state=state,
                attempts=0,
                next_attempt_at=None,
                last_error=None,
                next_chunk=answer.next_chunk,
                reason=json.dumps(list(answer.problems)) if answer.problems else None,
                receipt=receipt,
                updated_at=at,
            )
        ).rowcount
        if changed:
            audit_log.append(
                conn,
                at=at,
                actor=actor,
                action=f"evidence.{state}",
                target=package_id,
                legal_basis=_legal_basis(conn, request_id),
                detail={"problems": list(answer.problems)} if answer.problems else None,
            )


MAX_PROBLEMS = 100


def receive_decision(
    conn: Connection, ctx: NodeContext, sender: str, body: dict[str, Any], row: Any, now: datetime
) -> tuple[str, str | None, str | None]:
    """The receiver's signed decision on a package this node sent for request ``row`` (the
    inbox has checked the sender is the request's peer): the transfer is settled as delivered
    or refused, once. How it was applied, as federation's other messages."""
    package, state, problems = body.get("package"), body.get("state"), body.get("problems")
    if (
        not isinstance(package, str)
        or state not in ("accepted", "refused")
        or not isinstance(problems, list)
        or len(problems) > MAX_PROBLEMS
        or not all(
            isinstance(p, dict) and all(isinstance(v, str) for v in p.values()) for p in problems
        )
    ):
        return "unapplied", "malformed evidence decision", None
    found = conn.execute(
        select(evidence).where(
            evidence.c.id == package,
            evidence.c.direction == "outgoing",
            evidence.c.request_id == row.id,
        )
    ).one_or_none()
    if found is None or found.peer_node != sender:
        return "unapplied", f"no package {package} was sent to {sender} for this request", None
    if body.get("sha256") != found.sha256:
        return "unapplied", f"the decision on {package} is about other content", None
    receipt = body.get("receipt")
    if receipt is not None:  # the anchor of the package's signing time, kept with it here
        wrong = _receipt_problem(ctx, str(receipt), package, found.sha256, sender)
        if wrong is not None:
            return "unapplied", wrong, None
    final = "delivered" if state == "accepted" else "refused"
    answer = Answer(package, state, found.chunks, found.chunks, tuple(problems))
    changed = conn.execute(
        update(evidence)
        .where(evidence.c.id == package, evidence.c.state.in_((*UNSENT, VERIFYING)))
        .values(
            state=final,
            next_chunk=found.chunks,
            reason=json.dumps(problems) if problems else None,
            receipt=receipt if final == "delivered" else None,
            updated_at=now,
        )
    ).rowcount
    if changed:
        audit_log.append(
            conn,
            at=now,
            actor=f"node:{sender}",
            action=f"evidence.{final}",
            target=package,
            legal_basis=_legal_basis(conn, row.id),
            detail={"problems": list(answer.problems)} if answer.problems else None,
        )
    return "applied", None, row.id


# ---- receiver ---------------------------------------------------------------------------


def _part(folder: Path, package_id: str) -> Path:
    return folder / INCOMING / f"{package_id}.age.part"


def _answer(row: Any, **extra: Any) -> Answer:
    problems = tuple(json.loads(row.reason)) if row.reason else ()
    receipt = row.receipt if row.state == "accepted" else None
    return Answer(row.id, row.state, row.next_chunk, row.chunks, problems, receipt=receipt, **extra)


def receive_offer(ctx: NodeContext, folder: Path, token: str, *, at: datetime) -> Answer:
    """Verify an offer and open (or resume) its transfer; the answer says which chunk is next."""
    try:
        made, sender = verify_offer(token.strip(), ctx.directory, me=ctx.node_id, at=at)
    except OfferRefused as exc:
        raise TransferRefused(exc.code, exc.message) from None
    with ctx.store.transaction() as conn:
        known = conn.execute(select(evidence).where(evidence.c.id == made.package)).one_or_none()
        if known is not None:
            if known.direction != "incoming" or read_claims(known.offer).sha256 != made.sha256:
                raise TransferRefused(
                    "conflict", f"{made.package} is already known here with other content", 409
                )
            if not (known.state == "receiving" and known.next_chunk >= known.chunks):
                return _answer(known)
    if known is not None:  # every chunk kept, not yet handed to verification (a crash)
        return _to_verify(ctx, known, at)
    try:
        return _open_transfer(ctx, folder, made, sender, at)
    except IntegrityError:  # two first offers at once: the other one opened it
        with ctx.store.transaction() as conn:
            row = conn.execute(select(evidence).where(evidence.c.id == made.package)).one()
        return _answer(row)


SECURITY_OFFER_REFUSED = "security.offer_refused"
"""The audit action of an evidence offer from a node that is not the request's peer."""


def _open_transfer(
    ctx: NodeContext, folder: Path, made: Offer, sender: Any, at: datetime
) -> Answer:
    refused: TransferRefused | None = None
    with ctx.store.transaction() as conn:
        request = conn.execute(
            select(requests.c.id, requests.c.peer_node, requests.c.direction).where(
                requests.c.uid == made.request
            )
        ).one_or_none()
        if request is None or request.direction != "outgoing" or request.peer_node != sender.id:
            # A member offering evidence for a request it is not the peer of: a security
            # event for the supervisor (and the same answer as for no request at all).
            audit_log.append(
                conn,
                at=at,
                actor=f"node:{sender.id}",
                action=SECURITY_OFFER_REFUSED,
                target=made.package,
                legal_basis="40(13)",
                detail={"package": made.package, "reason": "not_the_peer"},
            )
            refused = TransferRefused(
                "unknown_request",
                f"{made.package} answers no request this node sent to {sender.id}",
                404,
            )
        else:
            part = _part(folder, made.package)
            part.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb"):
                pass
            conn.execute(
                insert(evidence).values(
                    **_new_row(
                        made, request.id, "incoming", sender.id, f"{STORED}/{made.package}.age", at
                    )
                )
            )
            audit_log.append(
                conn,
                at=at,
                actor=f"node:{sender.id}",
                action="evidence.offered",
                target=made.package,
                legal_basis=_legal_basis(conn, request.id),
                detail={
                    "request": request.id,
                    "bytes": made.size,
                    "chunks": made.chunks,
                    "sha256": made.sha256,
                },
            )
    if refused is not None:
        raise refused
    return Answer(made.package, "receiving", 0, made.chunks)


def receive_chunk(
    ctx: NodeContext, folder: Path, package_id: str, n: int, data: bytes, *, at: datetime
) -> Answer:
    """Keep chunk ``n`` if it is the next one and matches the offer; after the last,
    verify the whole package and accept or refuse it."""
    with ctx.store.transaction() as conn:
        row = conn.execute(
            select(evidence).where(evidence.c.id == package_id, evidence.c.direction == "incoming")
        ).one_or_none()
    # Whoever sends a chunk learns nothing of a package until the chunk proves it holds the
    # data (it matches the offer's hash): an unknown package, a chunk number past the end and
    # bytes that match nothing get one answer, word for word.
    made = read_claims(row.offer) if row is not None else None
    if (
        row is None
        or made is None
        or not 0 <= n < made.chunks
        or len(data) != made.chunk_length(n)
        or hashlib.sha256(data).hexdigest() != made.chunk_hashes[n]
    ):
        raise TransferRefused(
            NO_SUCH_TRANSFER,
            "no open transfer here expects this chunk: offer the package "
            "(POST /api/v1/evidence/offers), whose answer names the chunk needed next, and send "
            "that chunk as offered (a chunk damaged on the way gets this answer too: send it "
            "again)",
            404,
        )
    if row.state != "receiving":
        return _answer(row, duplicate=True)
    if row.next_chunk >= made.chunks:
        return _to_verify(ctx, row, at)  # every chunk kept, not yet marked (a crash)
    if n < row.next_chunk:
        return _answer(row, duplicate=True)  # a replay of a chunk already kept: nothing written
    if n > row.next_chunk:
        raise TransferRefused(
            "out_of_order", f"chunk {row.next_chunk} of {package_id} comes next, not {n}", 409
        )
    part = _part(folder, package_id)
    with open(part, "r+b") as f:
        f.seek(n * made.chunk_size)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    last = n + 1 == made.chunks  # the last one: it waits for verification from now on
    with ctx.store.transaction() as conn:
        advanced = conn.execute(
            update(evidence)
            .where(evidence.c.id == package_id, evidence.c.next_chunk == n)
            .values(next_chunk=n + 1, updated_at=at, **({"state": VERIFYING} if last else {}))
        ).rowcount
    if not advanced:  # another request kept this chunk meanwhile: it carries on from there
        return Answer(package_id, "receiving", n + 1, made.chunks, duplicate=True)
    if n + 1 < made.chunks:
        return Answer(package_id, "receiving", n + 1, made.chunks)
    return _to_verify(ctx, row, at)


def _to_verify(ctx: NodeContext, row: Any, at: datetime) -> Answer:
    """Every chunk is kept: the package waits for a worker to verify it (``verify_waiting``),
    and the sender is answered at once, whatever the package's size."""
    with ctx.store.transaction() as conn:
        conn.execute(
            update(evidence)
            .where(evidence.c.id == row.id, evidence.c.state == "receiving")
            .values(state=VERIFYING, next_chunk=row.chunks, updated_at=at)
        )
    return Answer(row.id, VERIFYING, row.chunks, row.chunks)


def verify_waiting(
    ctx: NodeContext,
    folder: Path,
    *,
    lease: timedelta = VERIFY_LEASE,
    limit: int = 1,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Answer]:
    """Verify the packages that arrived whole and wait (a worker's job): each is leased
    first, under an owner token, so that two workers never decide one package and a worker
    that dies leaves it to another once the lease ends; the lease is renewed while a long
    verification goes on, by its owner only. The decision is recorded, the file moved or
    deleted and the decision queued for the sender in one transaction of the lease's owner.
    A failure of this node (its database, its disk) leaves the package waiting for the next
    try; only a package that does not verify is refused."""
    decided: list[Answer] = []
    now = clock()
    waiting = _free(now)
    with ctx.store.transaction() as conn:
        ids = (
            conn.execute(
                select(evidence.c.id)
                .where(evidence.c.direction == "incoming", evidence.c.state == VERIFYING, waiting)
                .order_by(evidence.c.updated_at)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    for package_id in ids:
        owner = uuid.uuid4().hex
        with ctx.store.transaction() as conn:
            claimed = conn.execute(
                update(evidence)
                .where(evidence.c.id == package_id, evidence.c.state == VERIFYING, waiting)
                .values(lease_until=clock() + lease, lease_owner=owner)
            ).rowcount
            row = conn.execute(select(evidence).where(evidence.c.id == package_id)).one()
        if claimed:
            renew = _renewal(ctx, package_id, owner, lease, clock)
            decided.append(_finish(ctx, folder, row, read_claims(row.offer), owner, renew, clock))
    return decided


def _renewal(
    ctx: NodeContext,
    package_id: str,
    owner: str,
    lease: timedelta,
    clock: Callable[[], datetime],
) -> Callable[[int], None]:
    """A progress callback that extends the lease every third of it during a long
    verification, while this worker still owns it (a failure to renew is left to the
    decision's own check)."""
    last = time.monotonic()
    every = lease.total_seconds() / 3

    def renew(_done: int) -> None:
        nonlocal last
        if time.monotonic() - last < every:
            return
        last = time.monotonic()
        with contextlib.suppress(SQLAlchemyError), ctx.store.transaction() as conn:
            conn.execute(
                update(evidence)
                .where(evidence.c.id == package_id, evidence.c.lease_owner == owner)
                .values(lease_until=clock() + lease)
            )

    return renew


def _finish(
    ctx: NodeContext,
    folder: Path,
    row: Any,
    made: Offer,
    owner: str,
    progress: Callable[[int], None] | None,
    clock: Callable[[], datetime],
) -> Answer:
    part = _part(folder, row.id)
    target = folder / STORED / f"{row.id}.age"
    if not part.exists() and target.exists():
        part = target  # moved into place before a crash: verify it there
    problems: list[dict[str, str]] = []
    conditions: str | None = None
    verified: str | None = None
    signed: str | None = None
    if not part.exists():
        problems.append(
            {
                "code": "damaged",
                "where": row.id,
                "message": "the chunks kept are gone: offer it again",
            }
        )
        return _decide(ctx, row, made, owner, problems, None, clock(), None, None, part, target)
    try:
        problems, conditions, verified, signed = _check_whole(
            ctx, part, row, made, clock(), progress
        )
    except (SQLAlchemyError, OSError):
        raise  # this node's fault, not the package's: tried again once the lease ends
    except Exception as exc:  # a package that breaks the checker is refused, not half-accepted
        problems = [
            {
                "code": "damaged",
                "where": row.id,
                "message": f"could not be verified: {type(exc).__name__}",
            }
        ]
    return _decide(
        ctx, row, made, owner, problems, conditions, clock(), verified, signed, part, target
    )


def _check_whole(
    ctx: NodeContext,
    part: Path,
    row: Any,
    made: Offer,
    at: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, str]], str | None, str | None, str | None]:
    """The problems, and for a package that verified its conditions and the verification as
    the case page shows it (services.evidence.verification_record), as JSON, and the SHA-256
    of its signature (what the receipt names). The signature is checked at the package's
    arrival (the last chunk kept): a key revoked by then does not pass, whatever the
    package says of its own making."""
    problems: list[dict[str, str]] = []
    conditions: str | None = None
    verified: str | None = None
    signed: str | None = None
    whole = hashlib.sha256()
    with open(part, "rb") as f:
        while chunk := f.read(1 << 20):
            whole.update(chunk)
            if progress is not None:
                progress(len(chunk))
    if whole.hexdigest() != made.sha256 or part.stat().st_size != made.size:
        problems.append(
            {
                "code": "damaged",
                "where": row.id,
                "message": "the chunks kept do not make the offered package",
            }
        )
    else:
        result = pkg.verify(
            part,
            trust=pkg.Trust({}, directory=ctx.directory),
            identities=identities(ctx.keys),
            progress=progress,
            arrival=Anchor("arrival", aware(row.updated_at), ctx.node_id),
        )
        claims = result.claims or {}
        problems.extend(result.as_dict()["problems"])
        expected = {
            "package": row.id,
            "sender": made.sender,
            "recipient": ctx.node_id,
            "request": made.request,
        }
        for key, value in expected.items():
            if result.ok and claims.get(key) != value:
                problems.append(
                    {
                        "code": "mismatch",
                        "where": key,
                        "message": f"the package says {claims.get(key)}, the offer {value}",
                    }
                )
        if result.ok and not problems:
            conditions = json.dumps(result.as_dict()["conditions"])
            verified = json.dumps(verification_record(result, actor=f"node:{ctx.node_id}", at=at))
            signed = signature_digest(result.tags[pkg.SIGNATURE].decode("ascii"))
    return problems, conditions, verified, signed


def _decide(
    ctx: NodeContext,
    row: Any,
    made: Offer,
    owner: str,
    problems: list[dict[str, str]],
    conditions: str | None,
    at: datetime,
    verified: str | None,
    signed: str | None,
    part: Path,
    target: Path,
) -> Answer:
    """Record the decision, if this worker still owns the lease, and only then keep or delete
    the file, inside the same transaction (a failure there undoes the decision; a crash after
    the rename leaves the file where the next worker verifies it again)."""
    state = "refused" if problems else "accepted"
    kept = problems[:MAX_PROBLEMS]
    request = _uid(ctx, row.request_id)
    receipt = None
    if state == "accepted" and signed is not None:  # the anchor of its signing time
        key = ctx.keys.active("sig", at)
        receipt = make_receipt(
            package=row.id, request=request, sender=made.sender, receiver=ctx.node_id,
            sha256=made.sha256, signature_sha256=signed, received_at=aware(row.updated_at),
            kid=key.kid, key=key.signing_key, at=at,
        )  # fmt: skip
    with ctx.store.transaction() as conn:
        changed = conn.execute(
            update(evidence)
            .where(
                evidence.c.id == row.id,
                evidence.c.state == VERIFYING,
                evidence.c.lease_owner == owner,
            )
            .values(
                state=state,
                conditions=conditions,
                reason=json.dumps(kept) if kept else None,
                verification=verified,
                receipt=receipt,
                lease_until=None,
                lease_owner=None,
                updated_at=at,
            )
        ).rowcount
        if not changed:  # the lease ended and another worker took it over: its decision stands
            now = conn.execute(select(evidence).where(evidence.c.id == row.id)).one()
            return _answer(now)
        decision = {
            "request": request,
            "ref": row.request_id,
            "action": DECISION_ACTION,
            "package": row.id,
            "sha256": made.sha256,
            "state": state,
            "problems": kept,
            "problems_total": len(problems),
            "at": at.isoformat(),
            **({"receipt": receipt} if receipt else {}),
        }
        conn.execute(
            insert(outbox).values(
                request_id=row.request_id,
                type=DECISION_TYPE,
                payload=canonical(decision).decode(),
                created_at=at,
                status="pending",
            )
        )
        audit_log.append(
            conn,
            at=at,
            actor=f"node:{made.sender}",
            action="evidence.received" if state == "accepted" else "evidence.refused",
            target=row.id,
            legal_basis=_legal_basis(conn, row.request_id),
            detail={"sha256": made.sha256, "bytes": made.size, "problems": kept}
            if problems
            else {
                "sha256": made.sha256,
                "bytes": made.size,
                "received_at": aware(row.updated_at).isoformat(),
                "receipt_sha256": hashlib.sha256(str(receipt).encode()).hexdigest(),
            },
        )
        if state == "accepted":
            target.parent.mkdir(parents=True, exist_ok=True)
            if part != target:
                os.replace(part, target)  # kept as it arrived: encrypted to this node (at rest)
                fsync_dir(target.parent)
        else:
            part.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
    return Answer(row.id, state, made.chunks, made.chunks, tuple(problems))
