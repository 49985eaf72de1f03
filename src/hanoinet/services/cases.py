"""Cases and requests: create, act, read, tick. Each function is one transaction.

Every command writes, together or not at all: the request's new state, its
event, an audit entry, and (for an action this node takes towards the other
State) an outbox message. Every read of case content appends an audit entry.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hanoinet.cases.approval import (
    DEFAULT_POLICY,
    INVALIDATING,
    Approval,
    Policy,
    standing_approval,
)
from hanoinet.cases.clocks import PRESERVATION_EVENTS, Due, dues, preservation_expiry
from hanoinet.cases.guards import agreed_conditions, proposed_conditions
from hanoinet.cases.lifecycle import (
    OPEN,
    Decision,
    Direction,
    Event,
    FollowUp,
    RequestView,
    Role,
    actions_guarded_by,
    decide,
)
from hanoinet.convention import convention
from hanoinet.errors import Forbidden, InvalidInput, StoreError, TransitionRefused, UnknownCase
from hanoinet.law import default_context, parse_request
from hanoinet.law.check import check_parsed
from hanoinet.law.document import read_request
from hanoinet.law.findings import Finding
from hanoinet.services import access
from hanoinet.services import stats as stats_service
from hanoinet.services.access import Principal
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.audit import canonical
from hanoinet.store.schema import (
    URGENCY_RANK,
    cases,
    counters,
    dispatches,
    events,
    fired,
    formal_documents,
    outbox,
    requests,
    users,
)
from hanoinet.texts import N_, Codes, t


@dataclass(frozen=True)
class Created:
    case_id: str
    request_id: str
    state: str
    findings: list[Finding]


@dataclass(frozen=True)
class Acted:
    request_id: str
    case_id: str
    event: Event
    created_request: str | None = None


# Statements built once: building them per call costs more than running them.
_INSERT_CASE = insert(cases)
_INSERT_REQUEST = insert(requests)
_INSERT_EVENT = insert(events)
_EVENTS_OF = select(events).where(events.c.request_id == bindparam("rid")).order_by(events.c.seq)
_REQUEST_BY_ID = select(requests).where(requests.c.id == bindparam("rid"))
_MOVE_REQUEST = (
    update(requests)
    .where(requests.c.id == bindparam("rid"), requests.c.version == bindparam("old_version"))
    .values(
        state=bindparam("new_state"),
        updated_at=bindparam("new_updated_at"),
        version=bindparam("new_version"),
        error_findings=bindparam("new_errors"),
    )
)


_NEXT_ID: dict[str, Any] = {}


def _next_ids(conn: Connection, name: str, prefix: str, count: int = 1) -> list[str]:
    """The next ``count`` numbers of a counter, in the caller's transaction. One upsert
    statement, so two transactions taking the very first number cannot both insert it
    (found on PostgreSQL), and a batch takes all its numbers at once."""
    dialect = conn.dialect.name
    statement = _NEXT_ID.get(dialect)
    if statement is None:
        upsert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _NEXT_ID[dialect] = (
            upsert(counters)
            .values(name=bindparam("counter"), value=bindparam("count"))
            .on_conflict_do_update(
                index_elements=[counters.c.name],
                set_={"value": counters.c.value + bindparam("count")},
            )
            .returning(counters.c.value)
        )
    last = int(conn.execute(statement, {"counter": name, "count": count}).scalar_one())
    return [f"{prefix}-{value:06d}" for value in range(last - count + 1, last + 1)]


def _next_id(conn: Connection, name: str, prefix: str) -> str:
    return _next_ids(conn, name, prefix)[0]


def _findings(document: dict[str, Any], at: datetime) -> list[Finding]:
    doc, shape = parse_request(json.dumps(document))
    return check_parsed(doc, shape, default_context(at.date()))


def _legal_basis(kind: str) -> str:
    return convention().forms[kind].articles[0]


def new_case(
    store: Store,
    text: str,
    *,
    direction: Direction,
    actor: str,
    at: datetime,
    title: str | None = None,
    name: str = "the document",
) -> Created:
    """Open a case with one request from a request document (JSON text).

    Outgoing: a draft. Incoming: received (recorded by hand until the exchange
    delivers it). NotARequest is raised before anything is written.
    """
    _doc, shape = parse_request(text, name)
    with store.transaction() as conn:
        return create_in(
            conn, json.loads(text), shape, direction=direction, actor=actor, at=at, title=title
        )


@dataclass(frozen=True)
class NewRequest:
    """A request document parsed and checked, ready to be written (``prepare``)."""

    document: dict[str, Any]
    kind: str
    requesting_state: str | None
    requested_state: str | None
    findings: list[Finding]
    direction: Direction
    actor: str
    title: str | None = None
    uid: str | None = None
    peer_node: str | None = None
    peer_ref: str | None = None
    """The requesting node's own reference of the request (``ref`` of its message)."""


def prepare(
    document: dict[str, Any],
    shape: list[Finding],
    *,
    direction: Direction,
    actor: str,
    at: datetime,
    title: str | None = None,
    uid: str | None = None,
    peer_node: str | None = None,
    peer_ref: str | None = None,
) -> NewRequest:
    """Parse and check a document without writing anything (raises NotARequest)."""
    doc, _ = parse_request(json.dumps(document))
    findings = check_parsed(doc, shape, default_context(at.date()))
    return NewRequest(
        document,
        doc.kind,
        doc.requesting_state,
        doc.requested_state,
        findings,
        direction,
        actor,
        title,
        uid,
        peer_node,
        peer_ref,
    )


def create_in(
    conn: Connection,
    document: dict[str, Any],
    shape: list[Finding],
    *,
    direction: Direction,
    actor: str,
    at: datetime,
    title: str | None = None,
    uid: str | None = None,
    peer_node: str | None = None,
    peer_ref: str | None = None,
) -> Created:
    """``new_case`` inside the caller's transaction."""
    item = prepare(
        document,
        shape,
        direction=direction,
        actor=actor,
        at=at,
        title=title,
        uid=uid,
        peer_node=peer_node,
        peer_ref=peer_ref,
    )
    return create_many(conn, [item], at=at)[0]


def create_many(conn: Connection, items: list[NewRequest], *, at: datetime) -> list[Created]:
    """Open one case per prepared request inside the caller's transaction, with one statement
    per table for all of them (the inbox records a batch of received requests this way)."""
    if not items:
        return []
    case_ids = _next_ids(conn, "case", "C", len(items))
    request_ids = _next_ids(conn, "request", "R", len(items))
    case_rows, request_rows, new_events, entries, created = [], [], [], [], []
    for item, case_id, request_id in zip(items, case_ids, request_ids, strict=True):
        outgoing = item.direction == "outgoing"
        state = "draft" if outgoing else "received"
        form = convention().forms[item.kind]
        case_rows.append(
            dict(
                id=case_id,
                title=item.title
                or system_title(item.kind, item.requesting_state, item.requested_state),
                state=_state_code(item.requesting_state if outgoing else item.requested_state)
                or "",
                created_at=at,
                created_by=item.actor,
            )
        )
        request_rows.append(
            _request_row_values(
                case_id,
                request_id,
                item.direction,
                state,
                item.document,
                item.findings,
                at,
                uid=item.uid,
                peer_node=item.peer_node,
                peer_ref=item.peer_ref,
            )
        )
        action = "create" if outgoing else "receive"
        role: Role = "requesting" if outgoing else "requested"
        new_events.append(
            (request_id, Event(action, at, item.actor, role, form.articles[0], "new", state, {}))
        )
        entries.append(
            audit_log.Entry(
                at,
                item.actor,
                action,
                request_id,
                form.articles[0],
                {"case": case_id, "kind": item.kind},
            )
        )
        created.append(Created(case_id, request_id, state, item.findings))
    conn.execute(_INSERT_CASE, case_rows)
    conn.execute(_INSERT_REQUEST, request_rows)
    insert_events(conn, new_events, new=True)
    audit_log.append_many(conn, entries)
    return created


def _request_row_values(
    case_id: str,
    request_id: str,
    direction: str,
    state: str,
    document: dict[str, Any],
    findings: list[Finding],
    at: datetime,
    *,
    uid: str | None = None,
    peer_node: str | None = None,
    peer_ref: str | None = None,
) -> dict[str, Any]:
    body = canonical(document)
    return dict(
        id=request_id,
        uid=uid or str(uuid.uuid4()),
        peer_node=peer_node,
        peer_ref=peer_ref,
        case_id=case_id,
        direction=direction,
        kind=document["kind"],
        state=state,
        requesting_state=_state_code(document.get("requesting_state")),
        requested_state=_state_code(document.get("requested_state")),
        urgency=_urgency(document),
        document=body.decode(),
        document_sha256=hashlib.sha256(body).hexdigest(),
        error_findings=sum(f.severity == "error" for f in findings),
        created_at=at,
        updated_at=at,
        version=1,
    )


def insert_event(conn: Connection, request_id: str, event: Event) -> None:
    insert_events(conn, [(request_id, event)])


_LAST_SEQS = (
    select(events.c.request_id, func.max(events.c.seq).label("seq"))
    .where(events.c.request_id.in_(bindparam("rids", expanding=True)))
    .group_by(events.c.request_id)
)


def insert_events(conn: Connection, items: list[tuple[str, Event]], *, new: bool = False) -> None:
    """Append events to their requests' timelines with one statement (two unless ``new``:
    the requests were just created and have no event yet)."""
    if not items:
        return
    last: dict[str, int] = {}
    if not new:
        rids = sorted({rid for rid, _ in items})
        last = {r.request_id: int(r.seq) for r in conn.execute(_LAST_SEQS, {"rids": rids})}
    rows = []
    for request_id, event in items:
        seq = last[request_id] = last.get(request_id, 0) + 1
        rows.append(
            dict(
                request_id=request_id,
                seq=seq,
                action=event.action,
                at=event.at,
                actor=event.actor,
                by_role=event.by,
                article=event.article,
                from_state=event.from_state,
                to_state=event.to_state,
                params=canonical(event.params).decode(),
            )
        )
    conn.execute(_INSERT_EVENT, rows)
    stats_service.project(conn, items)


def _load_events(conn: Connection, request_id: str) -> list[Event]:
    return [_event_of(r) for r in conn.execute(_EVENTS_OF, {"rid": request_id})]


def _event_of(r: Any) -> Event:
    return Event(
        r.action,
        aware(r.at),
        r.actor,
        r.by_role,
        r.article,
        r.from_state,
        r.to_state,
        json.loads(r.params),
    )


PRESERVED = ("preserved",)
"""The state in which preserved data has an expiry (42): the desk counts it down."""


def preservation_expiries(store: Store, request_ids: list[str]) -> dict[str, datetime]:
    """When the data preserved for each of ``request_ids`` may be released (42), for those
    that have such a date: the 24/7 desk's countdowns. Reads only the requests' preservation
    events (times and actions, no case content), in one query."""
    if not request_ids:
        return {}
    query = (
        select(events)
        .where(
            events.c.request_id.in_(request_ids),
            events.c.action.in_(PRESERVATION_EVENTS),
        )
        .order_by(events.c.request_id, events.c.seq)
    )
    found: dict[str, list[Event]] = {}
    with store.engine.connect() as conn:
        for r in conn.execute(query):
            found.setdefault(r.request_id, []).append(_event_of(r))
    expiries = {rid: preservation_expiry(evs) for rid, evs in found.items()}
    return {rid: at for rid, at in expiries.items() if at is not None}


def aware(at: datetime) -> datetime:
    from datetime import UTC

    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def visible_filter(principal: Principal | None) -> ColumnElement[bool] | None:
    """The requests ``principal`` may see, as a filter (None: all; the CLI runs as the node)."""
    if principal is None:
        return None
    s = access.scope(principal)
    if s.everything:
        return None
    if s.created_by is not None:
        return requests.c.case_id.in_(select(cases.c.id).where(cases.c.created_by == s.created_by))
    if s.desk_kinds is not None:
        return or_(requests.c.urgency.in_(access.URGENT), requests.c.kind.in_(sorted(s.desk_kinds)))
    return false()


_IDENT = re.compile(r"[CR]-[0-9]{6,12}")
"""What a case or request id looks like; anything else is not looked up (a NUL byte or a
megabyte of text never reaches the database)."""


def request_row(conn: Connection, ident: str, principal: Principal | None = None) -> Any:
    """The request ``ident`` (or a case's first request) if ``principal`` may see it; the same
    UnknownCase whether it does not exist or may not be seen (no leak through ids)."""
    if not _IDENT.fullmatch(ident):
        raise UnknownCase(
            f"no case or request '{ident}' on this node: ids look like C-000001 or R-000001"
        )
    visible = visible_filter(principal)
    query = select(requests).where(or_(requests.c.id == ident, requests.c.case_id == ident))
    if visible is not None:
        query = query.where(visible)
    row = conn.execute(query.order_by((requests.c.id == ident).desc(), requests.c.id)).first()
    if row is None:
        raise UnknownCase(
            f"no case or request '{ident}' on this node; `hanoinet case list` shows them"
        )
    return row


def _view(conn: Connection, row: Any) -> RequestView:
    found = _load_events(conn, row.id)
    return RequestView(
        row.kind,
        row.direction,
        row.state,
        json.loads(row.document),
        found,
        row.error_findings,
        follow_up=_follow_up(conn, row, found) if row.kind == "preservation" else None,
    )


def _follow_up(conn: Connection, row: Any, found: list[Event]) -> FollowUp | None:
    """The request a preservation is linked to (link_mla), as the lifecycle sees it."""
    from hanoinet.services import references  # it builds on this module

    links = [e for e in found if e.action == "link_mla"]
    held = references.linked(conn, row, links[-1].params) if links else None
    return None if held is None else FollowUp(held.id, held.their_ref, held.state)


_OPENER = (
    select(cases.c.created_by, users.c.role)
    .select_from(cases.outerjoin(users, users.c.username == cases.c.created_by))
    .where(cases.c.id == bindparam("cid"))
)
APPROVAL_ACTIONS = actions_guarded_by("approved_if_required", "awaiting_approval", "not_the_opener")
"""The actions whose guards read the node's approval policy (cases/approval.py)."""
FINDINGS_ACTIONS = actions_guarded_by("no_error_findings")
"""The actions whose guards read the request's error findings."""


def _approval(conn: Connection, case_id: str, policy: Policy, asked_by: str | None) -> Approval:
    """The approval facts of a case's requests: who opened it and, from the users table in
    this transaction, whether that is a requester (a name that is no node user, such as the
    command line's or a peer node's, is not)."""
    opener = conn.execute(_OPENER, {"cid": case_id}).one()
    by_requester = opener.role in access.OPENERS_NEEDING_APPROVAL
    return Approval(policy, opener.created_by, by_requester, asked_by)


def act(
    store: Store,
    ident: str,
    action: str,
    *,
    actor: str,
    at: datetime,
    params: dict[str, str] | None = None,
    from_peer: bool = False,
    system: bool = False,
    principal: Principal | None = None,
    approval_policy: Policy = DEFAULT_POLICY,
) -> Acted:
    """Take ``action`` on a request (or a case's first request); nothing is written if refused.
    With a ``principal``, only on a request it sees and with a role that takes that action
    (``approve``: a supervisor). ``approval_policy`` is the node's HANOINET_APPROVAL."""
    with store.transaction() as conn:
        row = request_row(conn, ident, principal)
        if principal is not None and not access.may_take(
            principal, action, direction=row.direction
        ):
            raise Forbidden(
                access.refusal(principal, action, direction=row.direction, request_id=row.id)
            )
        return act_in(
            conn,
            row,
            action,
            actor=actor,
            at=at,
            params=params,
            from_peer=from_peer,
            system=system,
            approval_policy=approval_policy,
            asked_by=principal.username if principal is not None else actor,
            visible=visible_filter(principal),
        )


def act_in(
    conn: Connection,
    row: Any,
    action: str,
    *,
    actor: str,
    at: datetime,
    params: dict[str, str] | None = None,
    from_peer: bool = False,
    system: bool = False,
    approval_policy: Policy = DEFAULT_POLICY,
    asked_by: str | None = None,
    visible: ColumnElement[bool] | None = None,
) -> Acted:
    """``act`` inside the caller's transaction (the inbox applies a peer's notice with it).
    ``asked_by``: the user taking the action, for the four-eyes rule of ``approve``;
    ``visible``: the requests that user may see (a link names only one of those)."""
    params = {k: v for k, v in (params or {}).items() if v is not None}
    wrong = sorted(k for k, v in params.items() if not isinstance(v, str))
    if wrong:  # a peer's message is JSON: anything may come; the lifecycle takes text
        raise TransitionRefused(f"the parameter '{wrong[0]}' must be text")
    if action == "link_mla":
        params = _link(
            conn, row, params, by_node=from_peer and actor.startswith("node:"), visible=visible
        )
    view = _view(conn, row)
    if action == "accept_conditions" and not params.get("conditions", "").strip():
        # Accepting is accepting what was proposed: the conditions are recorded in full, so
        # they bind both States as written and travel with the evidence (40(27)).
        proposed = proposed_conditions(view.events)
        if proposed is not None:
            params["conditions"] = proposed
    if action in FINDINGS_ACTIONS:
        errors = sum(f.severity == "error" for f in _findings(view.document, at))
        view = replace(view, error_findings=errors)
    if action in APPROVAL_ACTIONS:
        view = replace(view, approval=_approval(conn, row.case_id, approval_policy, asked_by))
    decision = decide(
        view, action, at=at, actor=actor, params=params, from_peer=from_peer, system=system
    )
    created = _apply(conn, row, view, decision, at)
    return Acted(row.id, row.case_id, decision.event, created)


def _link(
    conn: Connection,
    row: Any,
    params: dict[str, str],
    *,
    by_node: bool,
    visible: ColumnElement[bool] | None,
) -> dict[str, str]:
    """``link_mla``'s follow-up request resolved on this node (services/references.py). The
    other node names it by its global id: its own reference means nothing here."""
    from hanoinet.services import references  # it builds on this module

    if by_node and not params.get("related_uid", "").strip():
        raise TransitionRefused(
            "the link names the follow-up request by the other node's reference only, not by "
            "its global id; this node cannot tell which request it is (art. 42)",
            article="42",
            guard="related_request",
        )
    return references.link(conn, row, params, visible)


def _apply(
    conn: Connection, row: Any, view: RequestView, decision: Decision, at: datetime
) -> str | None:
    result = conn.execute(
        _MOVE_REQUEST,
        {
            "rid": row.id,
            "old_version": row.version,
            "new_state": decision.state,
            "new_updated_at": at,
            "new_version": row.version + 1,
            "new_errors": view.error_findings,
        },
    )
    if result.rowcount != 1:
        raise StoreError(
            f"request {row.id} was changed by someone else meanwhile; look again and retry"
        )
    event = decision.event
    insert_event(conn, row.id, event)
    audit_log.append(
        conn,
        at=at,
        actor=event.actor,
        action=event.action,
        target=row.id,
        legal_basis=event.article,
        detail={
            "case": row.case_id,
            "from": event.from_state,
            "to": event.to_state,
            "by": event.by,
            **({"ground": event.params["ground"]} if "ground" in event.params else {}),
        },
    )
    never_sent = view.direction == "outgoing" and event.from_state in ("draft", "checked")
    networked = getattr(row, "means", "network") == "network"
    # A State that runs no node is written to by e-mail or letter (services/outside.py): the
    # outbox only ever speaks to nodes.
    if networked and event.by == view.our_role and (event.action == "send" or not never_sent):
        payload: dict[str, Any] = {
            "request": row.uid,
            "ref": row.id,
            "action": event.action,
            "params": event.params,
            "at": at.isoformat(),
        }
        if event.action == "send":
            payload["document"] = view.document
        conn.execute(
            insert(outbox).values(
                request_id=row.id,
                type="request" if event.action == "send" else "notice",
                payload=canonical(payload).decode(),
                created_at=at,
                status="pending",
            )
        )
    if not networked and event.by == view.our_role and not never_sent and _told(event.action):
        # The State that runs no node is told of this step by letter or e-mail, with its
        # formal letter: it waits on the case page (services/letters.py) until it is sent.
        seq = conn.execute(
            select(func.max(events.c.seq)).where(events.c.request_id == row.id)
        ).scalar_one()
        conn.execute(
            insert(dispatches).values(
                request_id=row.id,
                direction="out",
                action=event.action,
                means=row.means,
                status="to_send",
                request_sha256=row.document_sha256,
                occurred_at=at,
                recorded_at=at,
                actor=event.actor,
                event_seq=seq,
            )
        )
    if event.action == "send" and view.direction == "outgoing" and networked:
        # The formal request (signed PDF) follows as its own message: the worker makes it
        # outside this transaction, so sending never waits on a layout (services/documents.py).
        conn.execute(
            insert(formal_documents).values(
                request_id=row.id,
                direction="outgoing",
                status="pending",
                request_sha256=row.document_sha256,
                created_at=at,
                updated_at=at,
            )
        )
    if event.action == "disclose_partial_traffic" and view.direction == "outgoing":
        return _seed_preservation(conn, row, view, event, at)
    return None


def _told(action: str) -> bool:
    from hanoinet.documents.letter import told  # only for requests outside the network

    return told(action)


def _seed_preservation(
    conn: Connection, row: Any, view: RequestView, event: Event, at: datetime
) -> str:
    """The requested State found a provider in a third State (43): draft a preservation
    request to that State in the same case, from the first one."""
    document = dict(view.document)
    document["requested_state"] = event.params["third_state"]
    document["related_request"] = row.id
    # The same designations the checks use, so the draft is addressed as the checks expect.
    third = default_context(at.date()).designations.get(event.params["third_state"])
    has_contact = third is not None and third.point_of_contact is not None
    document["channel"] = "point_of_contact" if has_contact else "central_authority"
    request_id = _next_id(conn, "request", "R")
    conn.execute(
        _INSERT_REQUEST,
        _request_row_values(
            row.case_id, request_id, "outgoing", "draft", document, _findings(document, at), at
        ),
    )
    insert_event(
        conn,
        request_id,
        Event(
            "create", at, event.actor, "requesting", "43", "new", "draft", {"seeded_from": row.id}
        ),
    )
    audit_log.append(
        conn,
        at=at,
        actor=event.actor,
        action="create",
        target=request_id,
        legal_basis="43",
        detail={"case": row.case_id, "seeded_from": row.id},
    )
    return request_id


def edit(
    store: Store,
    ident: str,
    text: str,
    *,
    actor: str,
    at: datetime,
    principal: Principal | None = None,
) -> Acted:
    """Replace a draft's document (then it must be checked again)."""
    parse_request(text)  # NotARequest before anything is read
    document = json.loads(text)
    return revise(store, ident, lambda _old: document, actor=actor, at=at, principal=principal)


def revise(
    store: Store,
    ident: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    actor: str,
    at: datetime,
    principal: Principal | None = None,
) -> Acted:
    """Change a draft's document in one transaction: ``change`` gets the stored document and
    returns the new one (the drafting wizard saves one step at a time this way, so two tabs
    never overwrite each other's steps). The kind cannot change."""
    with store.transaction() as conn:
        row = request_row(conn, ident, principal)
        if principal is not None and not access.may_act(principal, direction=row.direction):
            raise Forbidden(
                f"your role ({principal.role}) does not edit {row.direction} request {row.id}"
            )
        view = _view(conn, row)
        decision = decide(view, "edit", at=at, actor=actor)
        document = change(json.loads(row.document))
        doc, _ = read_request(document)
        if doc.kind != row.kind:
            raise InvalidInput(f"the new document is a {doc.kind} request; {row.id} is {row.kind}")
        body = canonical(document)
        conn.execute(
            update(requests)
            .where(requests.c.id == row.id)
            .values(
                document=body.decode(),
                document_sha256=hashlib.sha256(body).hexdigest(),
                requesting_state=_state_code(document.get("requesting_state")),
                requested_state=_state_code(document.get("requested_state")),
                urgency=_urgency(document),
            )
        )
        row = request_row(conn, row.id)
        _apply(conn, row, view, decision, at)
    return Acted(row.id, row.case_id, decision.event)


SYSTEM_TITLE = N_("%(form)s: %(from)s to %(to)s")
"""The title of a case no one named (a received request, a draft opened without one): the
form and the two States' codes. Stored in English; the web shows it in its reader's language
when the stored title is still this one (``system_title``)."""


def system_title(kind: str, requesting: object, requested: object) -> str:
    """The English title the node gives a case of ``kind`` between these States."""
    return str(
        t(
            SYSTEM_TITLE,
            form=convention().forms[kind].title,
            **{"from": _state_code(requesting) or "?", "to": _state_code(requested) or "?"},
        )
    )


def _state_code(value: object) -> str | None:
    """A State code for the request's columns (lists and filters): two capital letters, or
    nothing; anything else a document holds is reported by the checks, not stored here."""
    if (
        isinstance(value, str)
        and len(value) == 2
        and value.isascii()
        and value.isalpha()
        and value.isupper()
    ):
        return value
    return None


def _urgency(document: dict[str, Any]) -> str:
    """The urgency column orders the desk; a value the schema refuses counts as routine."""
    value = document.get("urgency", "routine")
    return value if value in ("routine", "urgent", "emergency") else "routine"


@dataclass(frozen=True)
class RequestSummary:
    id: str
    case_id: str
    direction: str
    kind: str
    state: str
    requesting_state: str | None
    requested_state: str | None
    urgency: str
    updated_at: datetime
    created_at: datetime
    """When this node opened or received it (acknowledgement targets count from here)."""
    peer_ref: str | None = None
    """The other State's reference of this request, once its node has said it."""
    means: str = "network"
    """How it travels with the other State: its node, or e-mail, post, courier, the
    diplomatic channel (a State that runs no node: services/outside.py)."""

    @classmethod
    def of(cls, r: Any) -> RequestSummary:
        """From a row of the requests table."""
        return cls(
            r.id,
            r.case_id,
            r.direction,
            r.kind,
            r.state,
            r.requesting_state,
            r.requested_state,
            r.urgency,
            aware(r.updated_at),
            aware(r.created_at),
            r.peer_ref,
            r.means,
        )


_URGENCY_ORDER = URGENCY_RANK
"""Emergency, urgent, routine: the expression the queue index is built on (migration 0006),
so both databases read a page from the index instead of sorting every request."""


def list_requests(
    store: Store,
    *,
    actor: str,
    at: datetime,
    open_only: bool = False,
    principal: Principal | None = None,
    limit: int | None = None,
    offset: int = 0,
    urgent_only: bool = False,
    awaiting_approval: bool = False,
    approval_policy: Policy = DEFAULT_POLICY,
) -> list[RequestSummary]:
    """The requests of this node ``principal`` may see (all, without one), most urgent and
    most recent first, ``limit`` from ``offset`` (metadata only; the listing is audited).
    ``awaiting_approval``: only checked outgoing requests the node's ``approval_policy`` asks
    a supervisor to approve and nobody has approved since their last edit or check."""
    query = select(requests).order_by(
        _URGENCY_ORDER, requests.c.updated_at.desc(), requests.c.id.desc()
    )
    visible = visible_filter(principal)
    if visible is not None:
        query = query.where(visible)
    if open_only:
        query = query.where(requests.c.state.in_(sorted(OPEN)))
    if urgent_only:
        query = query.where(requests.c.urgency.in_(access.URGENT))
    if awaiting_approval:
        query = query.where(_awaiting_approval(approval_policy))
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with store.transaction() as conn:
        rows = conn.execute(query).all()
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="list",
            target="requests",
            legal_basis="40(25)",
            detail={"count": len(rows), "offset": offset} if offset else {"count": len(rows)},
        )
    return [RequestSummary.of(r) for r in rows]


def find(store: Store, ident: str, *, principal: Principal | None = None) -> RequestSummary:
    """The summary of request ``ident`` (or of a case's first request) if ``principal`` may
    see it, by the same rule as ``show``; the same UnknownCase when it does not exist or may
    not be seen. Not audited: ids, kind and states are no content (for parts of a page whose
    audited read was ``show``, such as the evidence section the case page refreshes)."""
    with store.engine.connect() as conn:
        return RequestSummary.of(request_row(conn, ident, principal))


def _awaiting_approval(policy: Policy) -> ColumnElement[bool]:
    """``standing_approval`` and ``Approval.required`` as a filter on the requests table."""
    if policy == "none":
        return false()
    changes, approvals = events.alias("changes"), events.alias("approvals")
    last_change = (
        select(func.max(changes.c.seq))
        .where(changes.c.request_id == requests.c.id, changes.c.action.in_(INVALIDATING))
        .correlate(requests)
        .scalar_subquery()
    )
    approved = exists().where(
        approvals.c.request_id == requests.c.id,
        approvals.c.action == "approve",
        approvals.c.seq > last_change,
    )
    waiting = (requests.c.direction == "outgoing") & (requests.c.state == "checked") & ~approved
    if policy == "all":
        return waiting
    by_requesters = select(cases.c.id).join(users, users.c.username == cases.c.created_by)
    by_requesters = by_requesters.where(users.c.role.in_(access.OPENERS_NEEDING_APPROVAL))
    return waiting & requests.c.case_id.in_(by_requesters)


@dataclass(frozen=True)
class RequestDetail:
    summary: RequestSummary
    uid: str
    document: dict[str, Any]
    document_sha256: str
    findings: list[Finding]
    events: list[Event]
    dues: list[Due]
    preserved_until: datetime | None
    allowed_actions: list[str]
    messages: list[Message] = field(default_factory=list)
    approval_required: bool = False
    """The node's policy asks a supervisor's approval before this request is sent."""
    approved: Event | None = None
    """The approval that counts for the text as it is (after the last edit or check)."""
    held_for: FollowUp | None = None
    """A held preservation: the follow-up request it waits for (42)."""
    proposed_conditions: str | None = None
    """Conditions the requested State proposed in consultation, not yet accepted (40(27))."""
    agreed_conditions: list[str] = field(default_factory=list)
    """Conditions the requesting State accepted: they bind it (40(27))."""


@dataclass(frozen=True)
class Message:
    """A message this node owes the other State about a request, and what became of it."""

    type: str
    action: str
    status: str
    """pending (no receipt yet), delivered, or rejected (with the peer's reason)."""
    created_at: datetime
    attempts: int
    last_error: str | None
    message_id: str | None
    recipient: str | None
    not_delivered: bool
    """No receipt for longer than the node's alarm setting."""


@dataclass(frozen=True)
class CaseDetail:
    id: str
    title: str
    created_at: datetime
    created_by: str
    requests: list[RequestDetail]


def _messages(
    conn: Connection, request_id: str, at: datetime, alarm_after: timedelta
) -> list[Message]:
    rows = conn.execute(
        select(outbox).where(outbox.c.request_id == request_id).order_by(outbox.c.id)
    )
    found: list[Message] = []
    for m in rows:
        created = aware(m.created_at)
        found.append(
            Message(
                m.type,
                json.loads(m.payload).get("action", ""),
                m.status,
                created,
                int(m.attempts or 0),
                m.last_error,
                m.message_id,
                m.recipient,
                m.status == "pending" and at - created > alarm_after,
            )
        )
    return found


def show(
    store: Store,
    ident: str,
    *,
    actor: str,
    at: datetime,
    alarm_after: timedelta = timedelta(minutes=15),
    principal: Principal | None = None,
    approval_policy: Policy = DEFAULT_POLICY,
) -> CaseDetail:
    """A case with its requests' content, findings, timeline, clocks and approval state
    (audited read); with a ``principal``, only the requests of the case it may see, and the
    actions allowed now are those of the lifecycle for this reader (four eyes on approval)."""
    from hanoinet.cases.lifecycle import allowed_actions

    with store.transaction() as conn:
        row = request_row(conn, ident, principal)
        case = conn.execute(select(cases).where(cases.c.id == row.case_id)).one()
        query = select(requests).where(requests.c.case_id == case.id).order_by(requests.c.id)
        visible = visible_filter(principal)
        rows = conn.execute(query if visible is None else query.where(visible)).all()
        asked_by = principal.username if principal is not None else actor
        approval = _approval(conn, case.id, approval_policy, asked_by)
        details: list[RequestDetail] = []
        for r in rows:
            view = replace(_view(conn, r), approval=approval)
            required = r.direction == "outgoing" and approval.required
            details.append(
                RequestDetail(
                    RequestSummary.of(r),
                    r.uid,
                    view.document,
                    r.document_sha256,
                    _findings(view.document, at),
                    list(view.events),
                    dues(r.state, view.document, view.events, at),
                    preservation_expiry(view.events),
                    allowed_actions(view, at),
                    _messages(conn, r.id, at, alarm_after),
                    required,
                    standing_approval(view.events) if r.direction == "outgoing" else None,
                    view.follow_up if r.state == "held" else None,
                    proposed_conditions(view.events),
                    agreed_conditions(view.events),
                )
            )
        audit_log.append(
            conn,
            at=at,
            actor=actor,
            action="read",
            target=case.id,
            legal_basis=_legal_basis(rows[0].kind),
            detail={"requests": [r.id for r in rows]},
        )
    return CaseDetail(case.id, case.title, aware(case.created_at), case.created_by, details)


@dataclass(frozen=True)
class Tick:
    fired: list[tuple[str, Due]]


ACK_TARGETS = {"emergency": timedelta(minutes=15), "urgent": timedelta(hours=1)}
"""The 24/7 desk's default acknowledgement targets (a node sets its own: docs/settings.md).
hanoinet's service levels, not the Convention's: 41 asks for immediate assistance, with no
number."""


def ack_due(
    direction: str, urgency: str, created_at: datetime, targets: dict[str, timedelta]
) -> datetime | None:
    """When an incoming request of this urgency must be acknowledged (None: no target)."""
    target = targets.get(urgency)
    if direction != "incoming" or target is None:
        return None
    return aware(created_at) + target


def _escalations(row: Any, at: datetime, targets: dict[str, timedelta] | None) -> list[Due]:
    """An incoming request still waiting (received) past the node's target: once, to the
    supervisor (the key is fired like any clock's)."""
    if targets is None or row.state != "received":
        return []
    due = ack_due(row.direction, row.urgency, row.created_at, targets)
    if due is None or due > at:
        return []
    return [
        Due(
            f"ack-escalated-{row.urgency}",
            "escalation",
            due,
            "41",
            t(
                "Not acknowledged within the node's target for %(urgency)s requests "
                "(%(minutes)s min): escalated to the supervisor",
                urgency=Codes("urgency", (row.urgency,)),
                minutes=int(targets[row.urgency].total_seconds() // 60),
            ),
        )
    ]


def tick(
    store: Store,
    *,
    at: datetime,
    actor: str = "clock",
    ack_targets: dict[str, timedelta] | None = None,
) -> Tick:
    """Fire every due reminder and expiry up to ``at``, once each (one transaction per request);
    with ``ack_targets``, escalate incoming urgent requests not acknowledged in time."""
    with store.transaction() as conn:
        ids = [
            r.id
            for r in conn.execute(select(requests.c.id).where(requests.c.state.in_(sorted(OPEN))))
        ]
    done: list[tuple[str, Due]] = []
    for request_id in ids:
        with store.transaction() as conn:
            row = request_row(conn, request_id)
            view = _view(conn, row)
            already = {
                k
                for (k,) in conn.execute(
                    select(fired.c.key).where(fired.c.request_id == request_id)
                )
            }
            for due in [
                *dues(row.state, view.document, view.events, at),
                *_escalations(row, at, ack_targets),
            ]:
                if due.at > at or due.key in already:
                    continue
                if due.kind == "lapse":
                    try:
                        decision = decide(view, "lapse", at=at, actor=actor, system=True)
                    except TransitionRefused:
                        continue
                    _apply(conn, row, view, decision, at)
                    conn.execute(
                        insert(fired).values(request_id=request_id, key=due.key, fired_at=at)
                    )
                    done.append((request_id, due))
                    break  # the state changed: later dues are recomputed on the next tick
                else:
                    event = Event(
                        "escalate" if due.kind == "escalation" else "reminder",
                        at,
                        actor,
                        "system",
                        due.article,
                        row.state,
                        row.state,
                        {"key": due.key, "message": due.message},
                    )
                    insert_event(conn, request_id, event)
                    audit_log.append(
                        conn,
                        at=at,
                        actor=actor,
                        action="escalate" if due.kind == "escalation" else "reminder",
                        target=request_id,
                        legal_basis=due.article,
                        detail={"key": due.key},
                    )
                conn.execute(insert(fired).values(request_id=request_id, key=due.key, fired_at=at))
                done.append((request_id, due))
    return Tick(done)
