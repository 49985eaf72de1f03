"""The 24/7 desk's queue: the open requests a duty officer works on, each with what this node
still owes on it (cases/owed.py), ordered by that: overdue first, then by due time, then by
urgency; what owes nothing (done for now) below.

The listing is ``cases.list_requests`` (the 200 most urgent open requests, audited); for the
rows shown, and only those, more queries read what ``owed`` needs: the requests'
``OWED_EVENTS`` (actions and times; of their parameters only whether a consultation proposed
conditions is used), where a deadline or an oral request changes a duty the request
documents, and for a held preservation the state of the request it is held for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from hanoinet.cases.clocks import deadline_of, preservation_expiry
from hanoinet.cases.lifecycle import Event
from hanoinet.cases.owed import OWED_EVENTS, Duty, Facts, desk_order, overdue, owed
from hanoinet.services import access
from hanoinet.services import cases as case_service
from hanoinet.services.access import Principal
from hanoinet.services.cases import RequestSummary
from hanoinet.store import Store
from hanoinet.store.schema import events, requests

DESK_ROWS = 200
"""The open requests the desk reads (the most urgent first): what a duty officer can take in."""

DOCUMENT_STATES = frozenset(
    {"acknowledged", "in_execution", "postponed", "sent", "more_info_requested", "preserved"}
)
"""The states in which the document changes a duty: a deadline (incoming, 40(25)) or an oral
request still to be confirmed (outgoing, 40(14)); other rows' documents are not read."""


@dataclass(frozen=True)
class DeskItem:
    r: RequestSummary
    duties: list[Duty]
    """What this node owes on it, the most pressing first (empty: done for now)."""
    overdue: bool
    waiting: bool
    """Incoming and not yet acknowledged: the desk offers the button."""
    late: bool
    """Waiting past the node's acknowledgement target: escalated to the supervisor."""
    ack_due: datetime | None
    expires: datetime | None
    """When the preserved data may be released (42), while preserved."""

    @property
    def next(self) -> Duty | None:
        return self.duties[0] if self.duties else None


@dataclass(frozen=True)
class Queue:
    incoming: list[DeskItem]
    outgoing: list[DeskItem]


def queue(
    store: Store,
    *,
    principal: Principal,
    at: datetime,
    ack_targets: dict[str, timedelta],
) -> Queue:
    """The desk of ``principal`` at ``at``: incoming and outgoing requests, each in the order
    of what this node owes on them."""
    rows = case_service.list_requests(
        store, actor=principal.actor, at=at, open_only=True, principal=principal, limit=DESK_ROWS
    )
    kinds = access.desk_kinds()
    rows = [r for r in rows if r.urgency in access.URGENT or r.kind in kinds]
    found = _owed_events(store, [r.id for r in rows])
    documents = _documents(store, [r.id for r in rows if r.state in DOCUMENT_STATES])
    decided = _follow_ups_decided(
        store, [r.id for r in rows if r.kind == "preservation" and r.state == "held"]
    )
    incoming: list[tuple[tuple[int, datetime, int], DeskItem]] = []
    outgoing: list[tuple[tuple[int, datetime, int], DeskItem]] = []
    for r in rows:
        evs = found.get(r.id, [])
        doc = documents.get(r.id, {})
        target = ack_targets.get(r.urgency)
        duties = owed(
            Facts(
                r.direction,
                r.kind,
                r.state,
                r.urgency,
                r.created_at,
                evs,
                deadline_of(doc),
                bool(doc.get("oral")),
                r.id in decided,
            ),
            target if r.direction == "incoming" else None,
        )
        ack_due = r.created_at + target if r.direction == "incoming" and target else None
        waiting = r.direction == "incoming" and r.state == "received"
        first = duties[0] if duties else None
        item = DeskItem(
            r,
            duties,
            overdue(first, at),
            waiting,
            waiting and ack_due is not None and at > ack_due,
            ack_due,
            preservation_expiry(evs) if r.state in case_service.PRESERVED else None,
        )
        key = desk_order(first, r.urgency, at)
        (incoming if r.direction == "incoming" else outgoing).append((key, item))
    return Queue(_ordered(incoming), _ordered(outgoing))


def _ordered(items: Iterable[tuple[tuple[int, datetime, int], DeskItem]]) -> list[DeskItem]:
    # sorted() is stable: within one key, the listing's order (most recently changed first)
    return [item for _, item in sorted(items, key=lambda pair: pair[0])]


def _owed_events(store: Store, ids: list[str]) -> dict[str, list[Event]]:
    """The ``OWED_EVENTS`` of each request of ``ids``, oldest first, in one query."""
    if not ids:
        return {}
    query = (
        select(events)
        .where(events.c.request_id.in_(ids), events.c.action.in_(OWED_EVENTS))
        .order_by(events.c.request_id, events.c.seq)
    )
    found: dict[str, list[Event]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            found.setdefault(row.request_id, []).append(case_service._event_of(row))
    return found


def _follow_ups_decided(store: Store, ids: list[str]) -> set[str]:
    """Of the held preservations ``ids``, those whose follow-up request is decided here (42):
    the requested State may release their data now (a few rows: one query each)."""
    from hanoinet.services import references

    found: set[str] = set()
    if not ids:
        return found
    with store.engine.connect() as conn:
        for row in conn.execute(select(requests).where(requests.c.id.in_(ids))):
            held = references.linked(conn, row, references.last_link(conn, row.id))
            if held is not None and held.decided:
                found.add(row.id)
    return found


def _documents(store: Store, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The request documents of ``ids`` (read for their deadline and oral flag only)."""
    if not ids:
        return {}
    query = select(requests.c.id, requests.c.document).where(requests.c.id.in_(ids))
    with store.engine.connect() as conn:
        return {row.id: json.loads(row.document) for row in conn.execute(query)}
