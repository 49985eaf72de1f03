"""The append-only, hash-chained audit log.

Every command and every read of case content appends one entry: who, when,
what, on which target, on which legal basis (an article key). Each entry's
hash covers the previous entry's hash and the entry's canonical JSON, so
changing, removing or reordering any entry breaks the chain at a place
``verify`` names. Writers lock the single ``audit_head`` row, so on
PostgreSQL two transactions can never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from hanoinet.store.schema import audit, audit_head

GENESIS = "0" * 64
# Statements built once: building them per call costs more than running them.
_INSERT_ENTRY = audit.insert()
_MOVE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
VERSION = 1
"""Version of the canonical form hashed; part of every entry's hash."""


def canonical(data: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    legal_basis: str,
    detail: str,
) -> str:
    body = {
        "v": VERSION,
        "seq": seq,
        "at": _utc(at).isoformat(),
        "actor": actor,
        "action": action,
        "target": target,
        "legal_basis": legal_basis,
        "detail": detail,
    }
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One audit entry to append: who, when, what, on which target, on which legal basis."""

    at: datetime
    actor: str
    action: str
    target: str
    legal_basis: str
    detail: dict[str, Any] | None = None


def append(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    legal_basis: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's transaction; returns its sequence number."""
    return append_many(conn, [Entry(at, actor, action, target, legal_basis, detail)])


def append_many(conn: Connection, new: list[Entry]) -> int:
    """Append entries in order inside the caller's transaction, with one insert statement and
    one move of the head for all of them; returns the last sequence number."""
    # The innermost transaction (a savepoint if one is open): a head cached by a savepoint
    # that is later rolled back is never reused by its parent.
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    cached = conn.info.get("hanoinet_audit_head")
    if cached is not None and cached[0] is transaction:
        # This transaction already wrote the head (and holds its lock): no need to read it.
        seq, digest = int(cached[1]), str(cached[2])
    else:
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already serializes writers
            query = query.with_for_update()
        head = conn.execute(query).one()
        seq, digest = int(head.seq), str(head.hash)
    if not new:
        return seq
    rows = []
    for entry in new:
        prev_hash, seq = digest, seq + 1
        text = canonical(entry.detail or {}).decode()
        digest = entry_hash(
            prev_hash,
            seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.target,
            entry.legal_basis,
            text,
        )
        rows.append(
            dict(
                seq=seq,
                at=_utc(entry.at),
                actor=entry.actor,
                action=entry.action,
                target=entry.target,
                legal_basis=entry.legal_basis,
                detail=text,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
    conn.execute(_INSERT_ENTRY, rows)
    conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    conn.info["hanoinet_audit_head"] = (transaction, seq, digest)
    return seq


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    entries: int
    breaks: tuple[Break, ...]

    @property
    def ok(self) -> bool:
        return not self.breaks


def search(
    conn: Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    security: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[Any]:
    """Entries matching every filter given, newest first (``actor`` and ``target`` match a
    part of the value, case-insensitively; ``security``: security events only)."""
    query = select(audit).order_by(audit.c.seq.desc()).limit(limit).offset(offset)
    if actor:
        query = query.where(audit.c.actor.ilike(f"%{_like(actor)}%", escape="\\"))
    if target:
        query = query.where(audit.c.target.ilike(f"%{_like(target)}%", escape="\\"))
    if action:
        query = query.where(audit.c.action == action)
    if security:
        query = query.where(audit.c.action.like(f"{SECURITY}%"))
    if since is not None:
        query = query.where(audit.c.at >= since)
    if until is not None:
        query = query.where(audit.c.at < until)
    return list(conn.execute(query))


SECURITY = "security."
"""The prefix of the actions that are security events: a peer's message or evidence offer
refused for what it claims (docs/security.md)."""


def security_events_since(conn: Connection, since: datetime) -> int:
    """How many security events were logged from ``since``."""
    query = (
        select(func.count())
        .select_from(audit)
        .where(audit.c.action.like(f"{SECURITY}%"), audit.c.at >= since)
    )
    return int(conn.execute(query).scalar_one())


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def actions(conn: Connection) -> list[str]:
    """The distinct actions in the log, for a filter's choices."""
    return [r[0] for r in conn.execute(select(audit.c.action).distinct().order_by(audit.c.action))]


def entries(conn: Connection) -> Iterator[Any]:
    yield from conn.execute(select(audit).order_by(audit.c.seq))


def verify(conn: Connection) -> Verification:
    """Walk the chain; name every entry that was changed, removed or reordered."""
    breaks: list[Break] = []
    expected_prev = GENESIS
    expected_seq = 1
    count = 0
    for row in entries(conn):
        count += 1
        if row.seq != expected_seq:
            missing = (
                f"{expected_seq}"
                if row.seq == expected_seq + 1
                else f"{expected_seq}-{row.seq - 1}"
            )
            breaks.append(Break(row.seq, f"entries {missing} are missing (removed)"))
        if row.prev_hash != expected_prev:
            breaks.append(
                Break(row.seq, "does not follow the entry before it (removed or reordered)")
            )
        recomputed = entry_hash(
            row.prev_hash,
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.target,
            row.legal_basis,
            row.detail,
        )
        if recomputed != row.hash:
            breaks.append(Break(row.seq, "its content was changed after it was written"))
        expected_prev = row.hash
        expected_seq = row.seq + 1
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    if head.seq != expected_seq - 1 or head.hash != expected_prev:
        breaks.append(
            Break(
                head.seq,
                f"the log ends at entry {expected_seq - 1} but entry {head.seq} "
                "was written (entries removed from the end)",
            )
        )
    return Verification(count, tuple(breaks))
