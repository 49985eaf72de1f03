"""The JSON shapes of cases, requests and events: one definition for ``--json`` on the command
line and for the API, so the two never disagree (documented in docs/cli.md and the OpenAPI)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: ``hanoinet check --json`` and ``request kinds`` use this module and must
    # not pay for the database layer that the case service imports.
    from hanoinet.cases.lifecycle import Event
    from hanoinet.services.cases import (
        Acted,
        CaseDetail,
        Created,
        RequestDetail,
        RequestSummary,
    )


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def summary_json(r: RequestSummary) -> dict[str, Any]:
    return {
        "id": r.id,
        "case": r.case_id,
        "direction": r.direction,
        "kind": r.kind,
        "state": r.state,
        "requesting_state": r.requesting_state,
        "requested_state": r.requested_state,
        "urgency": r.urgency,
        "updated_at": iso(r.updated_at),
        "peer_ref": r.peer_ref,
        "means": r.means,
    }


def event_json(e: Event) -> dict[str, Any]:
    return {
        "action": e.action,
        "at": iso(_aware(e.at)),
        "actor": e.actor,
        "by": e.by,
        "article": e.article,
        "from": e.from_state,
        "to": e.to_state,
        "params": e.params,
    }


def request_json(d: RequestDetail) -> dict[str, Any]:
    s = d.summary
    return {
        "id": s.id,
        "uid": d.uid,
        "direction": s.direction,
        "kind": s.kind,
        "state": s.state,
        "requesting_state": s.requesting_state,
        "requested_state": s.requested_state,
        "urgency": s.urgency,
        "peer_ref": s.peer_ref,
        "means": s.means,
        "document": d.document,
        "document_sha256": d.document_sha256,
        "findings": [f.as_dict() for f in d.findings],
        "preserved_until": iso(d.preserved_until),
        "held_for": None
        if d.held_for is None
        else {"id": d.held_for.id, "their_ref": d.held_for.their_ref, "state": d.held_for.state},
        "conditions": {"proposed": d.proposed_conditions, "agreed": d.agreed_conditions},
        "allowed_actions": d.allowed_actions,
        "approval": {
            "required": d.approval_required,
            "approved_by": d.approved.actor if d.approved else None,
            "approved_at": iso(d.approved.at) if d.approved else None,
        },
        "timeline": [event_json(e) for e in d.events],
        "messages": [
            {
                "type": m.type,
                "action": m.action,
                "status": m.status,
                "created_at": iso(m.created_at),
                "attempts": m.attempts,
                "last_error": m.last_error,
                "message_id": m.message_id,
                "recipient": m.recipient,
                "not_delivered": m.not_delivered,
            }
            for m in d.messages
        ],
        "due": [
            {
                "key": x.key,
                "kind": x.kind,
                "at": iso(x.at),
                "article": x.article,
                "message": x.message,
            }
            for x in d.dues
        ],
    }


def case_json(case: CaseDetail) -> dict[str, Any]:
    return {
        "id": case.id,
        "title": case.title,
        "created_at": iso(case.created_at),
        "created_by": case.created_by,
        "requests": [request_json(d) for d in case.requests],
    }


def created_json(created: Created) -> dict[str, Any]:
    return {
        "case": created.case_id,
        "request": created.request_id,
        "state": created.state,
        "findings": [f.as_dict() for f in created.findings],
    }


def acted_json(acted: Acted) -> dict[str, Any]:
    return {
        "request": acted.request_id,
        "case": acted.case_id,
        "event": event_json(acted.event),
        "created_request": acted.created_request,
    }


def kinds_json() -> dict[str, Any]:
    """The cooperation forms (``request kinds --json``, ``GET /api/v1/forms``)."""
    from hanoinet.convention import convention

    return {
        "kinds": [
            {
                "key": f.key,
                "title": f.title,
                "article": f.articles[0],
                "articles": list(f.articles),
                "channels": list(f.channels),
                "dual_criminality": f.dual_criminality,
            }
            for f in convention().forms.values()
        ]
    }


def check_json(kind: str, day: date, findings: list[Any]) -> dict[str, Any]:
    """A document's findings (``check --json``, ``POST /api/v1/check``)."""
    return {
        "ok": not any(f.severity == "error" for f in findings),
        "kind": kind,
        "as_of": day.isoformat(),
        "findings": [f.as_dict() for f in findings],
    }


def audit_json(view: Any, limit: int, offset: int) -> dict[str, Any]:
    """The supervisor's audit view (``GET /api/v1/audit``): entries newest first and the
    chain's verification."""
    return {
        "verification": {
            "ok": view.verification.ok,
            "entries": view.verification.entries,
            "breaks": [{"seq": b.seq, "problem": b.problem} for b in view.verification.breaks],
        },
        "entries": [
            {
                "seq": e.seq,
                "at": iso(_aware(e.at)),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "legal_basis": e.legal_basis,
                "detail": json.loads(e.detail),
            }
            for e in view.entries
        ],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if view.more else None,
    }


def dispatched_json(sent: Any) -> dict[str, Any]:
    """``case act ID send --by MEANS --json`` (docs/cli.md)."""
    return {
        "request": sent.request_id,
        "means": sent.means,
        "status": sent.status,
        "address": sent.address,
        "reference": sent.reference,
        "request_sha256": sent.request_sha256,
        "pdf_sha256": sent.pdf_sha256,
        "lang": sent.lang,
    }


def correspondence_json(x: Any) -> dict[str, Any]:
    """One letter or e-mail of ``case letters ID --json`` (docs/cli.md)."""
    return {
        "id": x.id,
        "direction": x.direction,
        "action": x.action,
        "means": x.means,
        "status": x.status,
        "address": x.address,
        "reference": x.reference,
        "problem": x.problem,
        "at": x.occurred_at.isoformat(),
        "actor": x.actor,
        "files": [
            {
                "id": f.id,
                "file": f.filename,
                "media_type": f.media_type,
                "bytes": f.size,
                "sha256": f.sha256,
            }
            for f in x.files
        ],
    }
