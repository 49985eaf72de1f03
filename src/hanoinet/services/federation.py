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
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from hanoinet import boundedjson
from hanoinet.cases.lifecycle import NODE_PARAMS, Event
from hanoinet.errors import EnvelopeRejected, HanoinetError, InvalidInput, NotARequest
from hanoinet.exchange import crypto, origin
from hanoinet.exchange.directory import Directory, NodeEntry
from hanoinet.exchange.envelope import (
    MAX_BYTES,
    Opened,
    Receipt,
    Status,
    make_receipt,
    make_receipts,
    open_envelope,
    seal,
    verify_receipt,
    verify_receipts,
)
from hanoinet.exchange.keys import KeySet
from hanoinet.exchange.origin import OriginRefused
from hanoinet.law.context import default_context
from hanoinet.services import cases as case_service
from hanoinet.services import documents
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import inbox, outbox, requests
from hanoinet.store.schema import receipts as receipts_table

BACKOFF_BASE = timedelta(seconds=2)
_INSERT_INBOX = insert(inbox)
_SETTLE = (
    update(outbox)
    .where(outbox.c.id == bindparam("oid"))
    .values(
        status=bindparam("new_status"),
        receipt_digest=bindparam("new_receipt"),
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
_PIN_PEER = (
    update(requests)
    .where(requests.c.id == bindparam("rid"), requests.c.peer_node.is_(None))
    .values(peer_node=bindparam("new_recipient"))
)
"""A request's peer is the node its first message was sealed to; it never changes after."""
BACKOFF_CAP = timedelta(minutes=10)
LEASE = timedelta(seconds=60)
MESSAGE_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
"""The form of a message id (``hn_id``: a UUID, docs/exchange.md)."""


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


Outcome = tuple[str, Status, str | None, str | None]
"""What a receipt says of one message: (message id, status, reason, to)."""


def _verify(
    ctx: NodeContext, token: str, now: datetime, seen: Callable[[str], bool] | None = None
) -> Opened | Outcome:
    """Open an envelope, or say why not (the rejection a signed receipt will carry)."""
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
        to = str(claimed["hn_from"]) if identified else None
        # Unverified: a receipt names the message only by an id of the right form, so a
        # stranger's text is never signed back.
        claimed_id = str(claimed.get("hn_id", ""))
        return claimed_id if MESSAGE_ID.fullmatch(claimed_id) else "", "rejected", exc.reason, to


def receive(ctx: NodeContext, token: str, *, now: datetime) -> Receipt:
    """Verify and apply one envelope; always returns a signed receipt."""
    return _receive(ctx, [token], now, batch=False)[0]


def receive_batch(ctx: NodeContext, tokens: list[str], *, now: datetime) -> list[Receipt]:
    """Verify each envelope (signature first), then record every accepted one in ONE
    transaction; one signed receipt naming every envelope, in order (each returned Receipt
    carries it)."""
    return _receive(ctx, tokens, now, batch=True)


def _receive(ctx: NodeContext, tokens: list[str], now: datetime, *, batch: bool) -> list[Receipt]:
    claimed: list[str] = []
    for token in tokens:
        with contextlib.suppress(crypto.CryptoFailure):
            message_id = str(crypto.unverified_header(token.strip()[:4096]).get("hn_id", ""))
            # Unverified: look up only what can be a message id (a UUID). Anything else is
            # left to the exact check after the signature, and a database may not even compare
            # with it (a NUL on PostgreSQL, a lone surrogate on both: HTTP 500 before).
            if MESSAGE_ID.fullmatch(message_id):
                claimed.append(message_id)
    with ctx.store.engine.connect() as conn:  # one query, so a replay is not even decrypted
        known = _known(conn, claimed)
    # A replay of a message applied is refused before it is decrypted; one of a message this
    # node could not apply is opened again, to be answered with the same refusal.
    applied_before = {m for m, refusal in known.items() if refusal is None}
    verified = [_verify(ctx, token, now, applied_before.__contains__) for token in tokens]

    def sign(outcomes: list[Outcome]) -> list[Receipt]:
        if batch:
            return make_receipts(outcomes, by=ctx.node_id, keys=ctx.keys, at=now)
        [(message, status, reason, to)] = outcomes
        return [
            make_receipt(
                message=message,
                status=status,
                reason=reason,
                by=ctx.node_id,
                to=to,
                keys=ctx.keys,
                at=now,
            )
        ]

    if not any(isinstance(v, Opened) for v in verified):
        return sign([v for v in verified if not isinstance(v, Opened)])
    try:
        with ctx.store.transaction() as conn:
            return _record(conn, ctx, verified, now, sign)
    except IntegrityError:
        # Only on PostgreSQL, where two receivers can record the same message at once: the
        # other one won. Record again, now seeing its row (that copy becomes a replay).
        with ctx.store.transaction() as conn:
            return _record(conn, ctx, verified, now, sign)


_KEEP_RECEIPT: dict[str, Any] = {}


def _keep_receipts(conn: Connection, tokens: list[str]) -> dict[str, str]:
    """Store each distinct receipt once (a batch receipt names many messages); token -> the
    digest the inbox and outbox rows point to."""
    digests = {token: hashlib.sha256(token.encode()).hexdigest() for token in tokens}
    dialect = conn.dialect.name
    statement = _KEEP_RECEIPT.get(dialect)
    if statement is None:
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _KEEP_RECEIPT[dialect] = upsert(receipts_table).on_conflict_do_nothing()
    if digests:
        conn.execute(statement, [{"digest": d, "token": t} for t, d in digests.items()])
    return digests


def _known(conn: Connection, message_ids: list[str]) -> dict[str, str | None]:
    """The messages already received, each with the refusal its receipt gave (None: it was
    applied): a replay is answered as the first copy was."""
    query = select(inbox.c.message_id, inbox.c.status, inbox.c.error).where(
        inbox.c.message_id.in_(message_ids)
    )
    return {
        r.message_id: not_applied(r.error) if r.status == "unapplied" else None
        for r in conn.execute(query)
    }


NOT_APPLIED = "not_applied"
"""The receipt's reason for a message verified and allowed, that this node could not apply
(its action is not allowed in the request's state here, its body is wrong): the sender's
page and CLI show it after the code, and nothing is taken as delivered."""


def not_applied(error: str | None) -> str:
    return f"{NOT_APPLIED}: {error or 'not applied'}"[:600]


def _record(
    conn: Connection,
    ctx: NodeContext,
    verified: list[Opened | Outcome],
    now: datetime,
    sign: Callable[[list[Outcome]], list[Receipt]],
) -> list[Receipt]:
    """Inside the caller's transaction: dedupe by id (exactly: the transaction holds the write
    lock), screen what each fresh message claims (``_screen``), sign the receipt(s), apply
    every message that passed, record inbox rows and audit. A refused message is audited as
    a security event and not kept in the inbox: the sender may correct it and send again."""
    opened = [v for v in verified if isinstance(v, Opened)]
    known = _known(conn, [o.headers.id for o in opened])
    outcomes: list[Outcome] = []
    fresh: list[Screened] = []
    refused: list[tuple[Opened, OriginRefused]] = []
    uids: set[str] = set()
    for v in verified:
        if not isinstance(v, Opened):
            outcomes.append(v)
        elif v.headers.id in known:
            reason = known[v.headers.id] or "replayed"
            outcomes.append((v.headers.id, "rejected", reason, v.headers.sender))
        else:
            known[v.headers.id] = None
            try:
                fresh.append(_screen(conn, ctx, v, now, uids))
            except OriginRefused as exc:
                refused.append((v, exc))
                outcomes.append((v.headers.id, "rejected", exc.reason, v.headers.sender))
                continue
            outcomes.append((v.headers.id, "delivered", None, v.headers.sender))
    # Applied first, then answered: a message this node could not apply is refused in its
    # receipt, with why, never taken by the sender as delivered (issue 27 item 1).
    applied = _apply_messages(conn, ctx, fresh, now)
    refusals = {
        s.message.headers.id: not_applied(error)
        for s, (status, error, _) in zip(fresh, applied, strict=True)
        if status != "applied"
    }
    outcomes = [
        (o[0], "rejected", refusals[o[0]], o[3]) if o[0] in refusals else o for o in outcomes
    ]
    receipts = sign(outcomes)
    kept = _keep_receipts(conn, [r.token for r in receipts])
    fresh_ids = {s.message.headers.id for s in fresh}
    token = {r.message: r.token for r in receipts if r.message in fresh_ids}
    if fresh:
        conn.execute(
            _INSERT_INBOX,
            [
                dict(
                    message_id=s.message.headers.id,
                    sender=s.message.headers.sender,
                    type=s.message.headers.type,
                    received_at=now,
                    status=status,
                    error=error,
                    request_id=request_id,
                    digest=_digest(s.message.token),
                    receipt_digest=kept[token[s.message.headers.id]],
                )
                for s, (status, error, request_id) in zip(fresh, applied, strict=True)
            ],
        )
    entries = [
        audit_log.Entry(
            now,
            f"node:{s.message.headers.sender}",
            "receive_message",
            request_id or s.message.headers.id,
            "40(13)",
            {"message": s.message.headers.id, "type": s.message.headers.type, "status": status},
        )
        for s, (status, _, request_id) in zip(fresh, applied, strict=True)
    ]
    entries += [
        audit_log.Entry(
            now,
            f"node:{o.headers.sender}",
            SECURITY_REFUSED,
            o.headers.id,
            "40(13)",
            {
                "message": o.headers.id,
                "type": origin.shown_type(o.headers.type),
                "reason": exc.reason,
                "explanation": exc.explanation,
            },
        )
        for o, exc in refused
    ]
    audit_log.append_many(conn, entries)
    return receipts


SECURITY_REFUSED = "security.message_refused"
"""The audit action of a verified message refused for what it claims (the supervisor's
security events: docs/security.md)."""


@dataclass(frozen=True)
class Screened:
    """A verified message whose claims the directory and this node's records allow: its body
    parsed once, and what applying it needs (the request it follows, or the new request)."""

    message: Opened
    body: dict[str, Any]
    row: Any = None
    new: case_service.NewRequest | None = None
    ref: str | None = None
    """The sender's reference of the request the follow-up is about (``ref``), if it gave one."""


def _screen(
    conn: Connection, ctx: NodeContext, message: Opened, now: datetime, uids: set[str]
) -> Screened:
    """Parse a verified message's body (bounded) and check what it claims: raises
    OriginRefused. ``uids`` collects the new requests of this batch (each uid once)."""
    h = message.headers
    try:
        body = boundedjson.loads(message.payload, max_bytes=MAX_BYTES, what="the message")
    except InvalidInput as exc:
        raise OriginRefused("malformed_content", exc.message) from None
    except ValueError:
        raise OriginRefused("malformed_content", "the message is not JSON") from None
    if not isinstance(body, dict):
        raise OriginRefused("malformed_content", "the message is not a JSON object")
    uid = origin.request_uid(body)
    ref = origin.reference(body)
    sender = ctx.directory.node(h.sender)
    assert sender is not None  # open_envelope found it valid a moment ago
    if h.type == "request":
        document = body.get("document")
        if not isinstance(document, dict):
            raise OriginRefused("malformed_content", "the request message carries no document")
        try:
            new = case_service.prepare(
                document,
                [],
                direction="incoming",
                actor=f"node:{h.sender}",
                at=now,
                uid=uid,
                peer_node=h.sender,
                peer_ref=ref,
            )
        except NotARequest as exc:
            raise OriginRefused(
                "malformed_content", f"not a request document: {exc.message[:300]}"
            ) from None
        origin.check_request(
            sender,
            ctx.me,
            requesting_state=document.get("requesting_state"),
            requested_state=document.get("requested_state"),
            channel=document.get("channel"),
            kind=new.kind,
            designations=default_context(now.date()).designations,
        )
        if uid in uids or conn.execute(_REQUEST_BY_UID, {"uid": uid}).first() is not None:
            raise OriginRefused("duplicate_request", f"request {uid} was received already")
        uids.add(uid)
        return Screened(message, body, new=new)
    if h.type not in origin.MESSAGE_TYPES:
        raise OriginRefused("malformed_content", "the message is of no type this node takes")
    row = conn.execute(_REQUEST_BY_UID, {"uid": uid}).first()
    origin.check_peer(h.sender, _recorded_peer(conn, row), uid)
    return Screened(message, body, row=row, ref=ref)


_REQUEST_BY_UID = select(requests).where(requests.c.uid == bindparam("uid"))
_LEARN_REF = (
    update(requests)
    .where(requests.c.id == bindparam("rid"), requests.c.peer_ref.is_(None))
    .values(peer_ref=bindparam("new_ref"))
)
"""The peer's reference of a request, from its first message that carries one; the first one
stays (a later, different one is not applied over it)."""


def _recorded_peer(conn: Connection, row: Any) -> str | None:
    """The request's peer. A request sealed before peers were pinned on sealing (hanoinet
    0.1) has none recorded: its first recipient is its peer, pinned now."""
    if row is None or row.peer_node is not None:
        return None if row is None else str(row.peer_node)
    first = conn.execute(
        select(outbox.c.recipient)
        .where(outbox.c.request_id == row.id, outbox.c.recipient.is_not(None))
        .order_by(outbox.c.id)
        .limit(1)
    ).scalar()
    if first is not None:
        conn.execute(_PIN_PEER, {"rid": row.id, "new_recipient": first})
    return None if first is None else str(first)


Applied = tuple[str, str | None, str | None]
"""How a received message was applied: (status, error, request id)."""


def _apply_messages(
    conn: Connection, ctx: NodeContext, messages: list[Screened], now: datetime
) -> list[Applied]:
    """Apply screened messages in order: new requests first, all at once, then each follow-up
    in turn. (A batch holds at most one message per request: the sender sends them one at a
    time.)"""
    results: dict[int, Applied] = {}
    creates = [(k, m.new) for k, m in enumerate(messages) if m.new is not None]
    created = case_service.create_many(conn, [new for _, new in creates], at=now)
    for (k, _), made in zip(creates, created, strict=True):
        results[k] = ("applied", None, made.request_id)
    for k, message in enumerate(messages):
        if k not in results:
            results[k] = _apply_follow_up(conn, ctx, message, now)
    return [results[k] for k in range(len(messages))]


def _apply_follow_up(
    conn: Connection, ctx: NodeContext, message: Screened, now: datetime
) -> Applied:
    """Apply a follow-up to its request; a refusal is recorded, not raised (the message was
    delivered; the case shows why it could not be applied). Each in a savepoint, so one that
    fails leaves its batch siblings as they were applied."""
    sender = message.message.headers.sender
    if message.ref is not None and message.row.peer_ref is None:
        # Whatever becomes of the action, the peer has said its number for the request.
        conn.execute(_LEARN_REF, {"rid": message.row.id, "new_ref": message.ref})
    nested = conn.begin_nested()
    try:
        if message.message.headers.type == documents.MESSAGE_TYPE:
            result = documents.receive(conn, ctx, sender, message.body, message.row, now)
        elif message.message.headers.type == "evidence":
            from hanoinet.services import transfer  # it builds on this module

            result = transfer.receive_decision(conn, ctx, sender, message.body, message.row, now)
        else:
            case_service.act_in(
                conn,
                message.row,
                message.body["action"],
                actor=f"node:{sender}",
                at=now,
                params=_peer_params(message.body.get("params")),
                from_peer=True,
            )
            result = "applied", None, message.row.id
        nested.commit()
        return result
    except HanoinetError as exc:
        nested.rollback()
        return "unapplied", exc.message, None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        nested.rollback()
        return "unapplied", f"malformed message body: {exc}", None


def _peer_params(value: Any) -> dict[str, Any]:
    """A peer's parameters of a step, without those only this node records about letters
    (lifecycle.NODE_PARAMS: how a step travelled is not the other node's to say)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError("params is not an object")
    return {k: v for k, v in value.items() if k not in NODE_PARAMS}


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
    """The request's peer; for a request never sent, the node of the other State that carries
    its channel. A request never changes peer, even when its peer leaves the directory."""
    if row.peer_node:
        node = ctx.directory.node(row.peer_node)
        if node is None:
            raise HanoinetError(
                f"the peer of this request, node {row.peer_node}, is not in the directory "
                f"(version {ctx.directory.version}); its messages wait until it is listed again"
            )
        return node
    document = json.loads(row.document)
    state = row.requested_state if row.direction == "outgoing" else row.requesting_state
    channel = document.get("channel") or origin.DEFAULT_CHANNEL
    role = origin.CHANNEL_ROLE.get(channel, "central_authority")
    candidates = ctx.directory.nodes_of(state, role) or ctx.directory.nodes_of(state)
    if not candidates:
        raise HanoinetError(
            f"no node of {state} in the directory (version {ctx.directory.version})"
        )
    return candidates[0]


def backoff(attempts: int, rng: random.Random) -> timedelta:
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


Sealed = tuple[NodeEntry, str, str, dict[str, Any] | None]
"""The peer, the envelope, its message id, and the outbox update that keeps the envelope
(None when it was sealed on an earlier attempt)."""


def _prepare(ctx: NodeContext, row: Any, now: datetime) -> Sealed | str:
    """Seal the message (once: a retry sends the same bytes); or say why no peer is known.
    Pure of the database: sealing holds no write lock."""
    try:
        peer = _peer(ctx, row)
    except HanoinetError as exc:
        return exc.message
    if row.envelope is not None:
        return peer, str(row.envelope), str(row.message_id), None
    headers, envelope = seal(
        str(row.payload).encode(),  # canonical JSON, as the command wrote it
        sender=ctx.node_id,
        keys=ctx.keys,
        recipient=peer,
        type=row.type,
        at=now,
        case=row.case_id,
        request=row.request_id,
    )
    keep = {
        "oid": row.id,
        "new_envelope": envelope,
        "new_message_id": headers.id,
        "new_recipient": peer.id,
    }
    return peer, envelope, headers.id, keep


def _keep_sealed(conn: Connection, kept: list[tuple[Any, dict[str, Any]]]) -> None:
    """Keep each envelope sealed for the first time, and pin its request's peer: the node a
    request's first message goes to is the only one whose follow-ups the request accepts."""
    if not kept:
        return
    conn.execute(_SEALED, [keep for _, keep in kept])
    pins = {row.request_id: keep["new_recipient"] for row, keep in kept if row.peer_node is None}
    if pins:
        conn.execute(_PIN_PEER, [{"rid": r, "new_recipient": p} for r, p in pins.items()])


def _settle(
    conn: Connection,
    ctx: NodeContext,
    receipted: list[tuple[Any, NodeEntry, str, Receipt]],
    now: datetime,
) -> list[Delivery]:
    """Record each message's verified receipt, in the caller's transaction, with one statement
    per table for all of them."""
    if not receipted:
        return []
    kept = _keep_receipts(conn, [receipt.token for _, _, _, receipt in receipted])
    settled, new_events, entries, results = [], [], [], []
    for row, peer, message_id, receipt in receipted:
        delivered = receipt.status == "delivered" or receipt.reason == "replayed"
        status = "delivered" if delivered else "rejected"
        settled.append(
            {
                "oid": row.id,
                "new_status": status,
                "new_receipt": kept[receipt.token],
                "new_settled_at": now,
                "new_error": None if delivered else receipt.reason,
            }
        )
        params = {"message": message_id, "to": peer.id, "receipt_status": receipt.status}
        step = _step_of(row)
        if step:
            params["action"] = step
        if receipt.reason:
            params["reason"] = receipt.reason
        action = f"message_{status}"
        new_events.append(
            (row.request_id, Event(action, now, "worker", "system", "40(13)", "-", "-", params))
        )
        entries.append(audit_log.Entry(now, "worker", action, row.request_id, "40(13)", params))
        results.append(Delivery(row.id, message_id, status, receipt.reason or ""))
    conn.execute(_SETTLE, settled)
    case_service.insert_events(conn, new_events)
    audit_log.append_many(conn, entries)
    for row, _peer, _id, receipt in receipted:
        if _step_of(row) == "link_mla" and (receipt.reason or "").startswith("not_applied"):
            _link_refused(conn, row.request_id, receipt.reason or "", now)
    return results


def _step_of(row: Any) -> str:
    """The lifecycle step an outbox row carries (its payload's ``action``), or ""."""
    try:
        action = json.loads(row.payload).get("action")
    except (TypeError, ValueError, AttributeError):
        return ""
    return action if isinstance(action, str) else ""


def _link_refused(conn: Connection, request_id: str, reason: str, now: datetime) -> None:
    """The other State's node did not apply this node's link of a preservation to its
    follow-up: the preservation is no longer held there, so it is not here either; its clock
    runs again (42). A request that moved on since is left as it is."""
    row = conn.execute(select(requests).where(requests.c.id == request_id)).first()
    if row is None or row.state != "held":
        return
    case_service.act_in(
        conn, row, "link_refused", actor="worker", at=now, system=True, params={"reason": reason}
    )


def deliver_one(
    ctx: NodeContext, transport: Transport, outbox_id: int, *, now: datetime, rng: random.Random
) -> Delivery:
    with ctx.store.engine.connect() as conn:
        row = conn.execute(
            select(*_ROW)
            .join(requests, requests.c.id == outbox.c.request_id)
            .where(outbox.c.id == outbox_id)
        ).one()
    prepared = _prepare(ctx, row, now)
    with ctx.store.transaction() as conn:
        if isinstance(prepared, str):
            return _retry(conn, row, prepared, now, rng)
        peer, envelope, message_id, keep = prepared
        if keep is not None:
            _keep_sealed(conn, [(row, keep)])
    try:
        receipt_token = transport.post(peer.endpoint, envelope)
    except Exception as exc:  # network and HTTP failures: retry later
        with ctx.store.transaction() as conn:
            return _retry(conn, row, f"{type(exc).__name__}: {exc}", now, rng, message_id)
    with ctx.store.transaction() as conn:
        try:
            receipt = verify_receipt(
                receipt_token, directory=ctx.directory, expected_from=peer.id, now=now
            )
            if receipt.message not in (message_id, ""):
                raise EnvelopeRejected("malformed", "the receipt is for another message")
        except EnvelopeRejected as exc:
            error = f"the receipt did not verify ({exc.reason})"
            return _retry(conn, row, error, now, rng, message_id)
        return _settle(conn, ctx, [(row, peer, message_id, receipt)], now)[0]


class BatchTransport(Transport, Protocol):
    def post_batch(self, endpoint: str, envelopes: list[str]) -> str:
        """POST several envelopes at once; return the one signed receipt naming them all."""


def deliver_batch(
    ctx: NodeContext,
    transport: BatchTransport,
    *,
    now: datetime,
    rng: random.Random | None = None,
    limit: int = 200,
    lease: timedelta = LEASE,
) -> list[Delivery]:
    """Like ``deliver_due`` but with one transaction to seal, one HTTP request and one signed
    receipt per peer, and one transaction to settle, for every claimed message: what
    throughput needs."""
    rng = rng or random.Random()
    due = claim_due(ctx, now, limit, lease)
    if not due:
        return []
    results: list[Delivery] = []
    groups: dict[str, list[tuple[Any, NodeEntry, str, str]]] = {}
    # The rows are leased to this worker: read and seal them outside any write transaction, so
    # that other workers commit while this one does the cryptography.
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(
            select(*_ROW)
            .join(requests, requests.c.id == outbox.c.request_id)
            .where(outbox.c.id.in_(due))
            .order_by(outbox.c.id)
        ).all()
    kept, unaddressed = [], []
    for row in rows:
        prepared = _prepare(ctx, row, now)
        if isinstance(prepared, str):
            unaddressed.append((row, prepared))
            continue
        peer, envelope, message_id, keep = prepared
        groups.setdefault(peer.id, []).append((row, peer, envelope, message_id))
        if keep is not None:
            kept.append((row, keep))
    with ctx.store.transaction() as conn:  # the envelopes are kept before any is sent
        results.extend(_retry(conn, row, error, now, rng) for row, error in unaddressed)
        _keep_sealed(conn, kept)
    for items in groups.values():
        peer = items[0][1]
        try:
            token = transport.post_batch(peer.endpoint, [envelope for _, _, envelope, _ in items])
            named = verify_receipts(token, directory=ctx.directory, expected_from=peer.id, now=now)
            receipts = {r.message: r for r in named}
        except EnvelopeRejected as exc:
            receipts, error = {}, f"the receipt did not verify ({exc.reason})"
        except Exception as exc:  # network and HTTP failures: retry later
            receipts, error = {}, f"{type(exc).__name__}: {exc}"
        else:
            error = "the peer's receipt does not name this message"
        with ctx.store.transaction() as conn:
            results.extend(
                _retry(conn, row, error, now, rng, mid)
                for row, _, _, mid in items
                if mid not in receipts
            )
            results.extend(
                _settle(
                    conn,
                    ctx,
                    [(row, p, mid, receipts[mid]) for row, p, _, mid in items if mid in receipts],
                    now,
                )
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
        .values(attempts=attempts, last_error=error, next_attempt_at=now + backoff(attempts, rng))
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
