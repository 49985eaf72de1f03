"""The JSON shapes of cases, requests and events: one definition for ``--json`` on the command
line and for the API, so the two never disagree (documented in docs/cli.md and the OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hanoinet.cases.lifecycle import Event
from hanoinet.services.cases import Acted, CaseDetail, Created, RequestDetail, RequestSummary


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


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
    }


def event_json(e: Event) -> dict[str, Any]:
    return {
        "action": e.action,
        "at": iso(e.at),
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
        "document": d.document,
        "document_sha256": d.document_sha256,
        "findings": [f.as_dict() for f in d.findings],
        "preserved_until": iso(d.preserved_until),
        "allowed_actions": d.allowed_actions,
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
