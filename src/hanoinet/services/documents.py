"""Formal request documents on a node: made, signed, sent, received, read.

- Sending an outgoing request queues its formal document (``formal_documents``, pending;
  services/cases.py). The worker (``issue_pending``) renders and signs it outside any write
  transaction, keeps the PDF (issued, or failed with the reason) and queues it to the
  requested node as a message of type ``document``, after the request itself.
- The requested node (``receive``) verifies the PDF against its directory and the request
  it holds (the same SHA-256, signed by the node that sent the request) and keeps it as
  received, or as invalid with the reason; the request is never refused for its paper.
- A reader renders any request in any UN language (``render_request``; audited before a
  byte is made). An outgoing request is signed by this node once it has been sent; before
  that, and for incoming requests, the document is not signed (this node is not its issuer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from hanoinet.convention.model import LANGUAGES
from hanoinet.documents.signature import Made, Signer, issuing_key, make, verify
from hanoinet.errors import DocumentFailed, HanoinetError, InvalidInput, UnknownCase
from hanoinet.exchange.directory import Trust
from hanoinet.law import check_text, default_context
from hanoinet.law.document import RequestDocument
from hanoinet.law.findings import Finding
from hanoinet.services import cases as case_service
from hanoinet.services.access import Principal
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.audit import canonical
from hanoinet.store.schema import formal_documents, outbox, requests

UNSENT = frozenset({"draft", "checked"})
"""States of an outgoing request that has not been sent: its document is not signed."""
MESSAGE_TYPE = "document"


def signer(ctx: Any, directory_token: str | None, at: datetime) -> Signer:
    """This node as the issuer of documents: its entry and the key that signs documents."""
    key = issuing_key(ctx.keys, ctx.me, at)
    return Signer(ctx.me, key, directory_token)


@dataclass(frozen=True)
class Rendered:
    request_id: str
    made: Made


def render_request(
    store: Store,
    ident: str,
    *,
    lang: str | None,
    actor: str,
    at: datetime,
    principal: Principal | None = None,
    issuer: Signer | None = None,
) -> Rendered:
    """The formal document of request (or case) ``ident`` in ``lang``; audited before it is
    made (an entry without a document after a crash, never a document without its entry)."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        signed_by = issuer if row.direction == "outgoing" and row.state not in UNSENT else None
        _audit(
            conn,
            row,
            "document.render",
            actor=actor,
            at=at,
            detail={"lang": lang, "signed": signed_by is not None},
        )
    doc, findings = _checked(row.document, at)
    made = make(
        json.loads(row.document),
        doc,
        findings,
        lang=lang,
        at=at,
        request_id=row.id,
        signer=signed_by,
        peer_reference=peer_reference(row),
    )
    return Rendered(row.id, made)


def peer_reference(row: Any) -> tuple[str, str] | None:
    """The other State and its reference of request ``row``, once its node has said it."""
    state = row.requesting_state if row.direction == "incoming" else row.requested_state
    return (str(state), str(row.peer_ref)) if row.peer_ref and state else None


def _checked(text: str, at: datetime) -> tuple[RequestDocument, list[Finding]]:
    """The stored request, parsed and checked once (the document prints its findings)."""
    return check_text(text, default_context(at.date()))


def _audit(
    conn: Connection, row: Any, action: str, *, actor: str, at: datetime, detail: dict[str, Any]
) -> None:
    """An audit entry about a request's formal document, under the request's legal basis."""
    audit_log.append(
        conn,
        at=at,
        actor=actor,
        action=action,
        target=row.id,
        legal_basis=case_service._legal_basis(row.kind),
        detail=detail,
    )


@dataclass(frozen=True)
class Stored:
    """A formal document kept on this node (without its bytes)."""

    id: int
    request_id: str
    direction: str
    status: str
    lang: str | None
    request_sha256: str
    pdf_sha256: str | None
    size: int | None
    signer: str | None
    problem: str | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request": self.request_id,
            "direction": self.direction,
            "status": self.status,
            "lang": self.lang,
            "request_sha256": self.request_sha256,
            "pdf_sha256": self.pdf_sha256,
            "bytes": self.size,
            "signer": self.signer,
            "problem": self.problem,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


_LISTED = (
    formal_documents.c.id,
    formal_documents.c.request_id,
    formal_documents.c.direction,
    formal_documents.c.status,
    formal_documents.c.lang,
    formal_documents.c.request_sha256,
    formal_documents.c.pdf_sha256,
    formal_documents.c.signer,
    formal_documents.c.problem,
    formal_documents.c.created_at,
    formal_documents.c.updated_at,
)


def _stored(r: Any, size: int | None) -> Stored:
    return Stored(
        r.id,
        r.request_id,
        r.direction,
        r.status,
        r.lang,
        r.request_sha256,
        r.pdf_sha256,
        size,
        r.signer,
        r.problem,
        case_service.aware(r.created_at),
        case_service.aware(r.updated_at),
    )


def listed(conn: Connection, request_ids: list[str]) -> dict[str, list[Stored]]:
    """The formal documents of these requests, oldest first (what they are, not their bytes;
    the caller has already audited the read of the case)."""
    found: dict[str, list[Stored]] = {rid: [] for rid in request_ids}
    rows = conn.execute(
        select(*_LISTED, func.length(formal_documents.c.pdf).label("size"))
        .where(formal_documents.c.request_id.in_(request_ids))
        .order_by(formal_documents.c.id)
    )
    for r in rows:
        found[r.request_id].append(_stored(r, r.size))
    return found


def kept(store: Store, request_ids: list[str]) -> dict[str, list[Stored]]:
    """``listed`` in its own transaction (the case page, after its audited read)."""
    with store.transaction() as conn:
        return listed(conn, request_ids)


def reissue(
    store: Store, ident: str, *, actor: str, at: datetime, principal: Principal | None = None
) -> Stored:
    """Queue again the formal document of an outgoing request that could not be made (a
    font installed since, a catalog completed): the worker makes, signs and sends it."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        failed = conn.execute(
            select(*_LISTED, func.length(formal_documents.c.pdf).label("size"))
            .where(
                formal_documents.c.request_id == row.id,
                formal_documents.c.direction == "outgoing",
                formal_documents.c.status == "failed",
            )
            .order_by(formal_documents.c.id.desc())
        ).first()
        if failed is None:
            raise InvalidInput(
                f"request {row.id} has no formal document that failed to be issued; "
                f"`hanoinet document list {row.id}` shows its documents"
            )
        conn.execute(
            update(formal_documents)
            .where(formal_documents.c.id == failed.id)
            .values(status="pending", problem=None, updated_at=at)
        )
        _audit(
            conn,
            row,
            "document.reissue",
            actor=actor,
            at=at,
            detail={"document": failed.id, "problem": failed.problem},
        )
    return replace(_stored(failed, failed.size), status="pending", problem=None, updated_at=at)


def documents_of(
    store: Store, ident: str, *, principal: Principal | None = None
) -> tuple[str, list[Stored]]:
    """The formal documents kept for request (or case) ``ident``."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        return row.id, listed(conn, [row.id])[row.id]


def read_pdf(
    store: Store,
    ident: str,
    document_id: int,
    *,
    actor: str,
    at: datetime,
    principal: Principal | None = None,
) -> tuple[Stored, bytes]:
    """A kept document's PDF, as it was signed or received (audited read)."""
    with store.transaction() as conn:
        row = case_service.request_row(conn, ident, principal)
        kept = conn.execute(
            select(formal_documents).where(
                formal_documents.c.id == document_id, formal_documents.c.request_id == row.id
            )
        ).first()
        if kept is None or kept.pdf is None:
            raise UnknownCase(
                f"request {row.id} has no formal document {document_id}; "
                f"`hanoinet document list {row.id}` shows them"
            )
        _audit(
            conn,
            row,
            "document.read",
            actor=actor,
            at=at,
            detail={"document": document_id, "direction": kept.direction},
        )
    pdf = bytes(kept.pdf)
    return _stored(kept, len(pdf)), pdf


@dataclass(frozen=True)
class Issued:
    document_id: int
    request_id: str
    status: str
    """issued, failed, or skipped (another worker settled it first)"""
    detail: str


NOT_ISSUED = "this node issues no formal documents (HANOINET_FORMAL_DOCUMENTS=false)"


def issue_pending(
    ctx: Any,
    directory_token: str | None,
    *,
    now: datetime,
    limit: int = 10,
    enabled: bool = True,
) -> list[Issued]:
    """Make, sign and queue the pending formal documents (the worker's round). Each document
    is rendered outside any transaction, then kept and queued in one. Not ``enabled``: each
    is settled as failed with the reason, and none is made."""
    with ctx.store.transaction() as conn:
        due = conn.execute(
            select(formal_documents.c.id.label("document_id"), requests)
            .join(requests, requests.c.id == formal_documents.c.request_id)
            .where(formal_documents.c.status == "pending")
            .order_by(formal_documents.c.id)
            .limit(limit)
        ).all()
    if not due:
        return []
    if not enabled:
        return [_keep_failed(ctx.store, r, NOT_ISSUED, now) for r in due]
    issuer = signer(ctx, directory_token, now)
    results: list[Issued] = []
    for r in due:
        try:
            doc, findings = _checked(r.document, now)
            made = make(
                json.loads(r.document),
                doc,
                findings,
                lang=None,
                at=now,
                request_id=r.id,
                signer=issuer,
                peer_reference=peer_reference(r),
            )
            if not made.signed:
                raise DocumentFailed("the request has errors: only a draft could be made")
        except HanoinetError as exc:
            results.append(_keep_failed(ctx.store, r, exc.message, now))
            continue
        results.append(_keep_issued(ctx.store, r, made, issuer, now))
    return results


def _keep_failed(store: Store, r: Any, problem: str, now: datetime) -> Issued:
    with store.transaction() as conn:
        moved = conn.execute(
            update(formal_documents)
            .where(formal_documents.c.id == r.document_id, formal_documents.c.status == "pending")
            .values(status="failed", problem=problem, updated_at=now)
        )
        if moved.rowcount != 1:
            return Issued(r.document_id, r.id, "skipped", "another worker settled it first")
        _audit(
            conn,
            r,
            "document.failed",
            actor="worker",
            at=now,
            detail={"document": r.document_id, "problem": problem},
        )
    return Issued(r.document_id, r.id, "failed", problem)


def _keep_issued(store: Store, r: Any, made: Made, issuer: Signer, now: datetime) -> Issued:
    pdf_sha256 = hashlib.sha256(made.pdf).hexdigest()
    payload = {
        "request": r.uid,
        "ref": r.id,
        "action": "formal_document",
        "lang": made.lang,
        "request_sha256": made.request_sha256,
        "pdf": base64.b64encode(made.pdf).decode("ascii"),
        "at": now.isoformat(),
    }
    with store.transaction() as conn:
        moved = conn.execute(
            update(formal_documents)
            .where(formal_documents.c.id == r.document_id, formal_documents.c.status == "pending")
            .values(
                status="issued",
                lang=made.lang,
                request_sha256=made.request_sha256,
                pdf_sha256=pdf_sha256,
                pdf=made.pdf,
                signer=issuer.node.id,
                problem=None,
                updated_at=now,
            )
        )
        if moved.rowcount != 1:  # two workers made it at once: the first one's is kept
            return Issued(r.document_id, r.id, "skipped", "another worker issued it first")
        conn.execute(
            insert(outbox).values(
                request_id=r.id,
                type=MESSAGE_TYPE,
                payload=canonical(payload).decode(),
                created_at=now,
                status="pending",
            )
        )
        _audit(
            conn,
            r,
            "document.issued",
            actor="worker",
            at=now,
            detail={
                "document": r.document_id,
                "lang": made.lang,
                "pages": made.pages,
                "pdf_sha256": pdf_sha256,
                "request_sha256": made.request_sha256,
            },
        )
    return Issued(
        r.document_id, r.id, "issued", f"{made.lang}, {made.pages} pages, {len(made.pdf)} bytes"
    )


def _language(value: object) -> str | None:
    """A received document's language as kept: one of the six in which documents are made,
    or none (a peer's other value is never stored, nor put in a header or a file name)."""
    return value if isinstance(value, str) and value in LANGUAGES else None


def _sha256(value: object) -> str:
    """A received document's request hash as kept: 64 hexadecimal digits, or empty."""
    text = value if isinstance(value, str) else ""
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else ""


def receive(
    conn: Connection, ctx: Any, sender: str, body: dict[str, Any], row: Any, now: datetime
) -> tuple[str, str | None, str | None]:
    """Keep a formal document that arrived for request ``row``, verified: by the node that
    sent the request (the inbox has checked the sender is the request's peer), over the
    request this node holds. Returns how it was applied (as federation's other messages): a
    document that does not verify is kept as invalid with the reason, and the message counts
    as applied (the case shows it)."""
    try:
        pdf = base64.b64decode(str(body["pdf"]), validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        return "unapplied", f"malformed document message: {exc}", None
    result = verify(pdf, Trust({}, directory=ctx.directory), expected_sha256=row.document_sha256)
    problem = "; ".join(f"{c.name}: {c.detail}" for c in result.checks if c.ok is False) or None
    signed_by = result.signer["node"] if result.signer else None
    if problem is None and signed_by != sender:
        problem = f"signer: signed by node {signed_by}, but sent by node {sender}"
    status = "received" if problem is None else "invalid"
    attached = result.request or {}
    new_id = conn.execute(
        insert(formal_documents)
        .values(
            request_id=row.id,
            direction="incoming",
            status=status,
            lang=_language(attached.get("language") or body.get("lang")),
            request_sha256=_sha256(attached.get("request_sha256") or body.get("request_sha256")),
            pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            pdf=pdf,
            signer=signed_by,
            problem=problem,
            created_at=now,
            updated_at=now,
        )
        .returning(formal_documents.c.id)
    ).scalar_one()
    _audit(
        conn,
        row,
        f"document.{status}",
        actor=f"node:{sender}",
        at=now,
        detail={"document": new_id, "problem": problem} if problem else {"document": new_id},
    )
    return "applied", None, row.id
