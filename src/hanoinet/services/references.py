"""Related requests across the two States' numbering: the request a request follows (the
preservation an MLA request follows, ``related_request``) and the requests that follow it.

A request document's ``related_request`` holds its *sender's* reference. On the node that
wrote it, that is a request of this node (same direction); on the node that received it, it
is the other State's reference, found as the request of the same peer and direction whose
``peer_ref`` (services/federation.py) is that reference. When the request it names is not
on this node (or not for this reader), the other State's reference is all there is to show.

A preservation's link to the mutual legal assistance request that follows it (``link_mla``,
42) crosses nodes by the follow-up's global id (``related_uid``), with both States'
references: ``link`` resolves it on each node to the node's own request before the action is
recorded, so the held preservation waits for the same request on both sides (issue 27).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, or_, select

from hanoinet.cases.guards import DECIDED_STATES
from hanoinet.errors import TransitionRefused
from hanoinet.exchange.origin import REFERENCE
from hanoinet.services import cases as case_service
from hanoinet.services.access import Principal
from hanoinet.store import Store
from hanoinet.store.schema import events, outbox, requests

RELATED = "related_request"
_COLUMNS = (
    requests.c.id,
    requests.c.kind,
    requests.c.requesting_state,
    requests.c.requested_state,
    requests.c.direction,
    requests.c.peer_node,
    requests.c.peer_ref,
    requests.c.document,
)


@dataclass(frozen=True)
class Related:
    follows: str | None = None
    """The request of this node that this one follows, linked both ways."""
    follows_theirs: str | None = None
    """The other State's reference of the request this one follows, when that one is not on
    this node."""
    followed_by: list[str] = field(default_factory=list)
    """The requests of this node that follow this one."""
    held_for: Linked | None = None
    """A preservation linked to its follow-up (link_mla): the request it is held for."""


def related_reference(document: dict[str, Any]) -> str | None:
    """The reference ``related_request`` names, if it has the form of one (free text does
    not: it stays in the document for its reader)."""
    value = document.get(RELATED)
    return value if isinstance(value, str) and REFERENCE.match(value) else None


def _where(row: Any, visible: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    """The requests on the same side as ``row``: same direction and, received, same peer."""
    found = [requests.c.direction == row.direction, requests.c.id != row.id]
    if row.direction == "incoming":
        found.append(requests.c.peer_node == row.peer_node)
    if visible is not None:
        found.append(visible)
    return found


def follows(conn: Connection, row: Any, visible: ColumnElement[bool] | None = None) -> Related:
    """What request ``row`` (a row of ``requests``) follows: the request of this node, or the
    other State's reference."""
    target = related_reference(json.loads(row.document))
    if target is None:
        return Related()
    if row.direction == "incoming" and row.peer_node is None:
        return Related(follows_theirs=target)
    column = requests.c.peer_ref if row.direction == "incoming" else requests.c.id
    found = conn.execute(
        select(requests.c.id).where(column == target, *_where(row, visible)).limit(1)
    ).scalar()
    if found is not None:
        return Related(follows=str(found))
    return Related(follows_theirs=target) if row.direction == "incoming" else Related()


def followed_by(
    conn: Connection, row: Any, visible: ColumnElement[bool] | None = None
) -> list[str]:
    """The requests of this node whose ``related_request`` names ``row``: by this node's
    reference when it wrote them, by the other State's when they were received."""
    key = row.id if row.direction == "outgoing" else row.peer_ref
    if key is None or (row.direction == "incoming" and row.peer_node is None):
        return []
    # The stored document is canonical JSON, so the field reads the same in every row; the
    # match is confirmed on the parsed document.
    pattern = f'%"{RELATED}":{json.dumps(key)}%'
    rows = conn.execute(
        select(requests.c.id, requests.c.document)
        .where(requests.c.document.like(pattern), *_where(row, visible))
        .order_by(requests.c.id)
    )
    return [str(r.id) for r in rows if related_reference(json.loads(r.document)) == key]


DECIDED = DECIDED_STATES
"""The states of a follow-up request that end a preservation's hold (42: kept until the
request is decided)."""


@dataclass(frozen=True)
class Linked:
    """The request a held preservation waits for (link_mla), as this node knows it."""

    id: str | None
    """This node's request, or None when it is not on this node."""
    uid: str | None
    their_ref: str | None
    """The other State's reference of that request."""
    state: str | None
    """Its state on this node (None when it is not here)."""

    @property
    def decided(self) -> bool:
        return self.state in DECIDED


def _other_side(row: Any) -> list[ColumnElement[bool]]:
    """Requests that may follow preservation ``row``: on the same side of the exchange, with
    the same other State (and, where the preservation has one, the same node of it: a node
    holds data only for a request it received), and of a form that is not a preservation."""
    found = [
        requests.c.direction == row.direction,
        requests.c.id != row.id,
        requests.c.kind != "preservation",
    ]
    if row.direction == "outgoing":
        found.append(requests.c.requested_state == row.requested_state)
        if row.peer_node is not None:
            found.append(requests.c.peer_node == row.peer_node)
    elif row.peer_node is not None:
        found.append(requests.c.peer_node == row.peer_node)
    else:
        found.append(requests.c.requesting_state == row.requesting_state)
    return found


_LINK_COLUMNS = (requests.c.id, requests.c.uid, requests.c.peer_ref, requests.c.state)


def _reached(conn: Connection, request_id: str) -> bool:
    """Whether the other State's node acknowledged receiving request ``request_id`` (the
    signed receipt of its request message is in)."""
    found = conn.execute(
        select(outbox.c.id).where(
            outbox.c.request_id == request_id,
            outbox.c.type == "request",
            outbox.c.status == "delivered",
        )
    ).first()
    return found is not None


def _needs_receipt(row: Any) -> bool:
    return bool(row.direction == "outgoing" and getattr(row, "means", "network") == "network")


@dataclass(frozen=True)
class Candidate:
    id: str
    kind: str
    state: str
    their_ref: str | None


def candidates(
    store: Store, request_id: str, *, principal: Principal | None = None
) -> list[Candidate]:
    """The requests preservation ``request_id`` may be linked to now (link_mla), among those
    ``principal`` may see: what the case page offers, the same rule ``link`` applies."""
    visible = case_service.visible_filter(principal)
    with store.engine.connect() as conn:
        row = conn.execute(select(requests).where(requests.c.id == request_id)).one()
        query = (
            select(requests.c.id, requests.c.kind, requests.c.state, requests.c.peer_ref)
            .where(*_other_side(row), requests.c.state.not_in(("draft", "checked")))
            .order_by(requests.c.id)
        )
        rows = conn.execute(query if visible is None else query.where(visible)).all()
        return [
            Candidate(r.id, r.kind, r.state, r.peer_ref)
            for r in rows
            if not _needs_receipt(row) or _reached(conn, r.id)
        ]


def link(
    conn: Connection,
    row: Any,
    params: dict[str, str],
    visible: ColumnElement[bool] | None = None,
) -> dict[str, str]:
    """``link_mla`` on preservation ``row``: the follow-up request it names, found on this
    node, as ``related`` (this node's id), ``related_uid`` (the global id) and
    ``related_ref`` (the other State's reference, when known). A message from the other
    node names it by ``related_uid`` (its ``related`` is that node's reference); a person
    names it by this node's id or its global id, or, on a received preservation, by the other
    State's reference. Raises TransitionRefused (art. 42) when no such request is here, or
    when what was typed names two: a link that resolves to nothing, or to a guess, is never
    recorded. ``visible``: the requests the person may see."""
    uid = params.get("related_uid", "").strip()
    typed = params.get("related", "").strip()
    if not uid and not typed:
        return params  # the guard says what is missing
    if len(typed) > 64 or (uid and not _is_uuid(uid)):
        raise TransitionRefused(
            "the link names its request neither by an id of this node nor by a global id (a "
            "UUID) (art. 42)",
            article="42",
            guard="related_request",
        )
    query = select(*_LINK_COLUMNS).where(*_other_side(row))
    if visible is not None:
        query = query.where(visible)
    if uid:
        found = conn.execute(query.where(requests.c.uid == uid)).first()
    else:
        names = [requests.c.id == typed, requests.c.uid == typed.lower()]
        if row.direction == "incoming":  # the other State's reference, from its letter
            names.append(requests.c.peer_ref == typed)
        matches = conn.execute(query.where(or_(*names)).limit(2)).all()
        if len(matches) > 1:
            raise TransitionRefused(
                f"'{typed}' could name request {matches[0].id} or {matches[1].id} here (this "
                "node's id, or the other State's reference); name it by this node's id as the "
                "case page shows it, or by its global id (art. 42)",
                article="42",
                guard="related_request",
            )
        found = matches[0] if matches else None
    if found is None:
        side = "sent to" if row.direction == "outgoing" else "received from"
        other = row.requested_state if row.direction == "outgoing" else row.requesting_state
        named = f"the request with global id {uid}" if uid else f"request {typed}"
        raise TransitionRefused(
            f"{named} is not a mutual legal assistance request {side} {other} on this node; "
            "link the preservation to the request that follows it (art. 42)",
            article="42",
            guard="related_request",
        )
    if row.direction == "outgoing" and found.state in ("draft", "checked"):
        raise TransitionRefused(
            f"request {found.id} has not been sent: the other State holds the data for a "
            "request it has received; send it first, then link it (art. 42)",
            article="42",
            guard="related_request",
        )
    if _needs_receipt(row) and not _reached(conn, found.id):
        raise TransitionRefused(
            f"request {found.id} has not reached {row.requested_state} yet (no signed "
            "receipt): the other State can hold the data only for a request it has; link "
            "it once its receipt is in (art. 42)",
            article="42",
            guard="related_request",
        )
    # The other State's reference: as this node learnt it, else as the other node sent it
    # (only if it has the form of one).
    theirs = found.peer_ref or (typed if uid and REFERENCE.match(typed) else "")
    linked = {k: v for k, v in params.items() if k not in ("related", "related_uid", "related_ref")}
    linked.update(related=found.id, related_uid=found.uid)
    if theirs:
        linked["related_ref"] = theirs
    return linked


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def linked(conn: Connection, row: Any, params: dict[str, str] | None) -> Linked | None:
    """The request preservation ``row`` is linked to, from its last ``link_mla`` event's
    ``params``, as this node knows it; None when it was never linked. A link recorded before
    links carried the global id names this node's request by id."""
    if params is None:
        return None
    uid = params.get("related_uid")
    # A link from before links carried the global id: on the requesting node it named this
    # node's request; on the requested node, the other State's reference of it.
    column = (
        requests.c.uid
        if uid
        else (requests.c.id if row.direction == "outgoing" else requests.c.peer_ref)
    )
    key = uid or params.get("related", "")
    found = conn.execute(select(*_LINK_COLUMNS).where(column == key, *_other_side(row))).first()
    if found is None:
        return Linked(None, uid, params.get("related_ref") or params.get("related"), None)
    return Linked(found.id, found.uid, found.peer_ref or params.get("related_ref"), found.state)


_LAST_LINK = (
    select(events.c.params)
    .where(events.c.request_id == bindparam("rid"), events.c.action == "link_mla")
    .order_by(events.c.seq.desc())
    .limit(1)
)


def last_link(conn: Connection, request_id: str) -> dict[str, str] | None:
    """The params of a preservation's last ``link_mla`` event, if it has one."""
    found = conn.execute(_LAST_LINK, {"rid": request_id}).scalar()
    return None if found is None else dict(json.loads(found))


def related(
    store: Store, request_ids: list[str], *, principal: Principal | None = None
) -> dict[str, Related]:
    """For each request of ``request_ids``, what it follows and what follows it, among the
    requests ``principal`` may see (ids only: the case page's read was audited)."""
    if not request_ids:
        return {}
    visible = case_service.visible_filter(principal)
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_COLUMNS).where(requests.c.id.in_(request_ids))).all()
        found = {}
        for row in rows:
            before = follows(conn, row, visible)
            held = (
                linked(conn, row, last_link(conn, row.id)) if row.kind == "preservation" else None
            )
            found[str(row.id)] = Related(
                before.follows, before.follows_theirs, followed_by(conn, row, visible), held
            )
    return found
