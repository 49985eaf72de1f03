"""Federation: receiving envelopes into the inbox, delivering the outbox, receipts.

Receiving (``receive``): verify (signature first), then in ONE transaction
insert the inbox row (the message id is its primary key: applied exactly
once) and apply the message to the case; the signed receipt says
``delivered`` (received, verified, queued) or ``rejected`` with a reason.

Delivering (``deliver_due``): each pending outbox row is sealed once (so a
retry sends the same bytes), posted to the peer's endpoint, and settled by
the peer's signed receipt. Messages of one request go in order: a later one
waits while an earlier one is pending. Failures back off exponentially with
jitter. On PostgreSQL, workers claim rows with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from hanoinet.cases.lifecycle import Event
from hanoinet.errors import EnvelopeRejected, HanoinetError
from hanoinet.exchange import crypto
from hanoinet.exchange.directory import Directory, NodeEntry
from hanoinet.exchange.envelope import (
    Opened,
    Receipt,
    make_receipt,
    open_envelope,
    seal,
    verify_receipt,
)
from hanoinet.exchange.keys import KeySet
from hanoinet.services import cases as case_service
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import inbox, outbox, requests

CHANNEL_ROLE = {
    "central_authority": "central_authority",
    "point_of_contact": "point_of_contact",
    "interpol": "point_of_contact",
    "diplomatic": "central_authority",
    "law_enforcement": "point_of_contact",
}
BACKOFF_BASE = timedelta(seconds=2)
_INSERT_INBOX = insert(inbox)
_SETTLE = (
    update(outbox)
    .where(outbox.c.id == bindparam("oid"))
    .values(
        status=bindparam("new_status"),
        receipt=bindparam("new_receipt"),
        settled_at=bindparam("new_settled_at"),
        last_error=bindparam("new_error"),
    )
)
_SEALED = (
    update(outbox)
    .where(outbox.c.id == bindparam("oid"))
    .values(
        envelope=bindparam("new_envelope"),
        message_id=bindparam("new_message_id"),
        recipient=bindparam("new_recipient"),
    )
)
BACKOFF_CAP = timedelta(minutes=10)
LEASE = timedelta(seconds=60)


@dataclass
class NodeContext:
    """Everything a running node needs: who it is, its keys, the directory, its store."""

    node_id: str
    keys: KeySet
    directory: Directory
    store: Store

    @property
    def me(self) -> NodeEntry:
        node = self.directory.node(self.node_id)
        if node is None:
            raise HanoinetError(f"this node ({self.node_id}) is not in the directory")
        return node


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seen(ctx: NodeContext) -> Callable[[str], bool]:
    def seen(message_id: str) -> bool:
        with ctx.store.engine.connect() as conn:
            query = select(inbox.c.message_id).where(inbox.c.message_id == message_id)
            return conn.execute(query).first() is not None

    return seen


def _verify(
    ctx: NodeContext, token: str, now: datetime, seen: Callable[[str], bool] | None = None
) -> Opened | Receipt:
    """Open an envelope, or the signed rejection receipt saying why not."""
    try:
        return open_envelope(
            token,
            directory=ctx.directory,
            me=ctx.node_id,
            keys=ctx.keys,
            now=now,
            seen=seen or _seen(ctx),
        )
    except EnvelopeRejected as exc:
        claimed: dict[str, Any] = {}
        with contextlib.suppress(crypto.CryptoFailure):
            claimed = crypto.unverified_header(token.strip()[:4096])
        identified = exc.reason not in ("malformed", "unknown_sender") and "hn_from" in claimed
        return make_receipt(
            message=str(claimed.get("hn_id", "")),
            status="rejected",
            reason=exc.reason,
            by=ctx.node_id,
            to=str(claimed["hn_from"]) if identified else None,
            keys=ctx.keys,
            at=now,
        )


def _record(conn: Connection, ctx: NodeContext, opened: Opened, now: datetime) -> Receipt:
    """Inside the caller's transaction: dedupe by id, apply, audit; the receipt to send back."""
    h = opened.headers
    receipt = make_receipt(
        message=h.id,
        status="delivered",
        reason=None,
        by=ctx.node_id,
        to=h.sender,
        keys=ctx.keys,
        at=now,
    )
    savepoint = conn.begin_nested()
    try:
        conn.execute(
            _INSERT_INBOX,
            dict(
                message_id=h.id,
                sender=h.sender,
                type=h.type,
                received_at=now,
                status="applied",
                digest=_digest(opened.token),
                receipt=receipt.token,
            ),
        )
    except IntegrityError:  # the same message arrived twice at once: the other copy won
        savepoint.rollback()
        return make_receipt(
            message=h.id,
            status="rejected",
            reason="replayed",
            by=ctx.node_id,
            to=h.sender,
            keys=ctx.keys,
            at=now,
        )
    savepoint.commit()
    status, error, request_id = _apply_message(conn, ctx, h.sender, h.type, opened.payload, now)
    conn.execute(
        update(inbox)
        .where(inbox.c.message_id == h.id)
        .values(status=status, error=error, request_id=request_id)
    )
    audit_log.append(
        conn,
        at=now,
        actor=f"node:{h.sender}",
        action="receive_message",
        target=request_id or h.id,
        legal_basis="40(13)",
        detail={"message": h.id, "type": h.type, "status": status},
    )
    return receipt


def receive(ctx: NodeContext, token: str, *, now: datetime) -> Receipt:
    """Verify and apply one envelope; always returns a signed receipt."""
    return receive_batch(ctx, [token], now=now)[0]


def receive_batch(ctx: NodeContext, tokens: list[str], *, now: datetime) -> list[Receipt]:
    """Verify each envelope (signature first), then record every accepted one in ONE
    transaction; one signed receipt per envelope, in order."""
    claimed: list[str] = []
    for token in tokens:
        with contextlib.suppress(crypto.CryptoFailure):
            claimed.append(str(crypto.unverified_header(token.strip()[:4096]).get("hn_id", "")))
    with ctx.store.engine.connect() as conn:  # one query for the whole batch
        known = {
            r.message_id
            for r in conn.execute(select(inbox.c.message_id).where(inbox.c.message_id.in_(claimed)))
        }
    verified = [_verify(ctx, token, now, known.__contains__) for token in tokens]
    receipts: list[Receipt | None] = [v if isinstance(v, Receipt) else None for v in verified]
    opened = [(k, v) for k, v in enumerate(verified) if isinstance(v, Opened)]
    if opened:
        with ctx.store.transaction() as conn:
            for k, envelope in opened:
                receipts[k] = _record(conn, ctx, envelope, now)
    return [r for r in receipts if r is not None]


def _apply_message(
    conn: Connection, ctx: NodeContext, sender: str, kind: str, payload: bytes, now: datetime
) -> tuple[str, str | None, str | None]:
    """Apply a verified message to the cases; a refusal is recorded, not raised (the message
    was delivered; the case shows why it could not be applied)."""
    body = json.loads(payload)
    nested = conn.begin_nested()
    try:
        if kind == "request":
            created = case_service.create_in(
                conn,
                body["document"],
                [],
                direction="incoming",
                actor=f"node:{sender}",
                at=now,
                uid=body["request"],
                peer_node=sender,
            )
            nested.commit()
            return "applied", None, created.request_id
        row = conn.execute(select(requests).where(requests.c.uid == body["request"])).first()
        if row is None:
            nested.rollback()
            return "unapplied", f"no request {body['request']} on this node", None
        if row.peer_node is None:
            conn.execute(update(requests).where(requests.c.id == row.id).values(peer_node=sender))
            row = conn.execute(select(requests).where(requests.c.id == row.id)).one()
        case_service.act_in(
            conn,
            row,
            body["action"],
            actor=f"node:{sender}",
            at=now,
            params=body.get("params") or {},
            from_peer=True,
        )
        nested.commit()
        return "applied", None, row.id
    except HanoinetError as exc:
        nested.rollback()
        return "unapplied", exc.message, None
    except (KeyError, TypeError, ValueError) as exc:
        nested.rollback()
        return "unapplied", f"malformed message body: {exc}", None


class Transport(Protocol):
    def post(self, endpoint: str, envelope: str) -> str:
        """POST ``envelope`` to ``endpoint``'s inbox; return the receipt token; raise OSError
        (or httpx errors) when the peer cannot be reached."""


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    message_id: str | None
    status: str
    detail: str


def _peer(ctx: NodeContext, row: Any) -> NodeEntry:
    if row.peer_node:
        node = ctx.directory.node(row.peer_node)
        if node is not None:
            return node
    document = json.loads(row.document)
    state = row.requested_state if row.direction == "outgoing" else row.requesting_state
    role = CHANNEL_ROLE.get(document.get("channel") or "central_authority", "central_authority")
    candidates = ctx.directory.nodes_of(state, role) or ctx.directory.nodes_of(state)  # type: ignore[arg-type]
    if not candidates:
        raise HanoinetError(
            f"no node of {state} in the directory (version {ctx.directory.version})"
        )
    return candidates[0]


def _backoff(attempts: int, rng: random.Random) -> timedelta:
    base: timedelta = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(attempts, 20)))
    jittered: timedelta = base * rng.uniform(0.5, 1.5)
    return jittered


def claim_due(
    ctx: NodeContext, now: datetime, limit: int = 100, lease: timedelta = LEASE
) -> list[int]:
    """Claim the first pending message of each request that is due; lease it for a while."""
    with ctx.store.transaction() as conn:
        query = (
            select(outbox.c.id, outbox.c.request_id, outbox.c.next_attempt_at)
            .where(outbox.c.status == "pending")
            .order_by(outbox.c.id)
            .limit(limit * 5)
        )
        if ctx.store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        first_per_request: dict[str, Any] = {}
        for r in rows:
            first_per_request.setdefault(r.request_id, r)
        due = [
            r.id
            for r in first_per_request.values()
            if r.next_attempt_at is None or case_service.aware(r.next_attempt_at) <= now
        ][:limit]
        if due:
            conn.execute(
                update(outbox).where(outbox.c.id.in_(due)).values(next_attempt_at=now + lease)
            )
    return due


def deliver_due(
    ctx: NodeContext,
    transport: Transport,
    *,
    now: datetime,
    rng: random.Random | None = None,
    limit: int = 100,
    parallel: int = 1,
    lease: timedelta = LEASE,
) -> list[Delivery]:
    rng = rng or random.Random()
    due = claim_due(ctx, now, limit, lease)
    if parallel <= 1 or len(due) <= 1:
        return [deliver_one(ctx, transport, outbox_id, now=now, rng=rng) for outbox_id in due]
    # Claimed rows belong to different requests (one per request), so they may travel at once.
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda i: deliver_one(ctx, transport, i, now=now, rng=rng), due))


_ROW = (
    outbox,
    requests.c.uid,
    requests.c.case_id,
    requests.c.peer_node,
    requests.c.document,
    requests.c.direction,
    requests.c.requested_state,
    requests.c.requesting_state,
)


def _prepare(
    conn: Connection, ctx: NodeContext, row: Any, now: datetime, rng: random.Random
) -> tuple[NodeEntry, str, str] | Delivery:
    """The peer, the envelope (sealed once and kept) and its message id; or a retry."""
    try:
        peer = _peer(ctx, row)
    except HanoinetError as exc:
        return _retry(conn, row, exc.message, now, rng)
    if row.envelope is not None:
        return peer, str(row.envelope), str(row.message_id)
    headers, envelope = seal(
        json.dumps(json.loads(row.payload)).encode(),
        sender=ctx.node_id,
        keys=ctx.keys,
        recipient=peer,
        type=row.type,
        at=now,
        case=row.case_id,
        request=row.request_id,
    )
    conn.execute(
        _SEALED,
        {
            "oid": row.id,
            "new_envelope": envelope,
            "new_message_id": headers.id,
            "new_recipient": peer.id,
        },
    )
    return peer, envelope, headers.id


def _settle(
    conn: Connection,
    ctx: NodeContext,
    row: Any,
    peer: NodeEntry,
    message_id: str,
    receipt_token: str,
    now: datetime,
    rng: random.Random,
) -> Delivery:
    """Verify the peer's receipt and record the outcome, in the caller's transaction."""
    try:
        receipt = verify_receipt(
            receipt_token, directory=ctx.directory, expected_from=peer.id, now=now
        )
        if receipt.message not in (message_id, ""):
            raise EnvelopeRejected("malformed", "the receipt is for another message")
    except EnvelopeRejected as exc:
        return _retry(conn, row, f"the receipt did not verify ({exc.reason})", now, rng, message_id)
    delivered = receipt.status == "delivered" or receipt.reason == "replayed"
    status = "delivered" if delivered else "rejected"
    conn.execute(
        _SETTLE,
        {
            "oid": row.id,
            "new_status": status,
            "new_receipt": receipt.token,
            "new_settled_at": now,
            "new_error": None if delivered else receipt.reason,
        },
    )
    params = {"message": message_id, "to": peer.id, "receipt_status": receipt.status}
    if receipt.reason:
        params["reason"] = receipt.reason
    case_service.insert_event(
        conn,
        row.request_id,
        Event(f"message_{status}", now, "worker", "system", "40(13)", "-", "-", params),
    )
    audit_log.append(
        conn,
        at=now,
        actor="worker",
        action=f"message_{status}",
        target=row.request_id,
        legal_basis="40(13)",
        detail=params,
    )
    return Delivery(row.id, message_id, status, receipt.reason or "")


def deliver_one(
    ctx: NodeContext, transport: Transport, outbox_id: int, *, now: datetime, rng: random.Random
) -> Delivery:
    with ctx.store.transaction() as conn:
        row = conn.execute(
            select(*_ROW)
            .join(requests, requests.c.id == outbox.c.request_id)
            .where(outbox.c.id == outbox_id)
        ).one()
        prepared = _prepare(conn, ctx, row, now, rng)
    if isinstance(prepared, Delivery):
        return prepared
    peer, envelope, message_id = prepared
    try:
        receipt_token = transport.post(peer.endpoint, envelope)
    except Exception as exc:  # network and HTTP failures: retry later
        with ctx.store.transaction() as conn:
            return _retry(conn, row, f"{type(exc).__name__}: {exc}", now, rng, message_id)
    with ctx.store.transaction() as conn:
        return _settle(conn, ctx, row, peer, message_id, receipt_token, now, rng)


class BatchTransport(Transport, Protocol):
    def post_batch(self, endpoint: str, envelopes: list[str]) -> list[str]:
        """POST several envelopes at once; one receipt token per envelope, in order."""


def deliver_batch(
    ctx: NodeContext,
    transport: BatchTransport,
    *,
    now: datetime,
    rng: random.Random | None = None,
    limit: int = 200,
    lease: timedelta = LEASE,
) -> list[Delivery]:
    """Like ``deliver_due`` but with one transaction to seal, one HTTP request per peer and
    one transaction to settle, for every claimed message: what throughput needs."""
    rng = rng or random.Random()
    due = claim_due(ctx, now, limit, lease)
    if not due:
        return []
    results: list[Delivery] = []
    groups: dict[str, list[tuple[Any, NodeEntry, str, str]]] = {}
    with ctx.store.transaction() as conn:
        rows = conn.execute(
            select(*_ROW)
            .join(requests, requests.c.id == outbox.c.request_id)
            .where(outbox.c.id.in_(due))
            .order_by(outbox.c.id)
        ).all()
        for row in rows:
            prepared = _prepare(conn, ctx, row, now, rng)
            if isinstance(prepared, Delivery):
                results.append(prepared)
            else:
                peer, envelope, message_id = prepared
                groups.setdefault(peer.id, []).append((row, peer, envelope, message_id))
    for items in groups.values():
        endpoint = items[0][1].endpoint
        try:
            tokens = transport.post_batch(endpoint, [envelope for _, _, envelope, _ in items])
            if len(tokens) != len(items):
                raise OSError(f"{len(tokens)} receipts for {len(items)} envelopes")
        except Exception as exc:  # network and HTTP failures: retry later
            with ctx.store.transaction() as conn:
                results.extend(
                    _retry(conn, row, f"{type(exc).__name__}: {exc}", now, rng, mid)
                    for row, _, _, mid in items
                )
            continue
        with ctx.store.transaction() as conn:
            results.extend(
                _settle(conn, ctx, row, peer, mid, token, now, rng)
                for (row, peer, _, mid), token in zip(items, tokens, strict=True)
            )
    return results


def _retry(
    conn: Connection,
    row: Any,
    error: str,
    now: datetime,
    rng: random.Random,
    message_id: str | None = None,
) -> Delivery:
    attempts = int(row.attempts) + 1
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row.id)
        .values(attempts=attempts, last_error=error, next_attempt_at=now + _backoff(attempts, rng))
    )
    return Delivery(row.id, message_id or row.message_id, "retry", error)


def not_delivered(store: Store, *, now: datetime, after: timedelta) -> list[dict[str, Any]]:
    """Messages without a receipt for longer than ``after``: the "not delivered" alarm."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.status == "pending")).all()
    return [
        {
            "outbox": r.id,
            "request": r.request_id,
            "type": r.type,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "since": case_service.aware(r.created_at).isoformat(),
        }
        for r in rows
        if now - case_service.aware(r.created_at) > after
    ]
