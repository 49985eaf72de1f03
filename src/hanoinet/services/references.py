"""Related requests across the two States' numbering: the request a request follows (the
preservation an MLA request follows, ``related_request``) and the requests that follow it.

A request document's ``related_request`` holds its *sender's* reference. On the node that
wrote it, that is a request of this node (same direction); on the node that received it, it
is the other State's reference, found as the request of the same peer and direction whose
``peer_ref`` (services/federation.py) is that reference. When the request it names is not
on this node (or not for this reader), the other State's reference is all there is to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from hanoinet.exchange.origin import REFERENCE
from hanoinet.services import cases as case_service
from hanoinet.services.access import Principal
from hanoinet.store import Store
from hanoinet.store.schema import requests

RELATED = "related_request"
_COLUMNS = (
    requests.c.id,
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
            found[str(row.id)] = Related(
                before.follows, before.follows_theirs, followed_by(conn, row, visible)
            )
    return found
