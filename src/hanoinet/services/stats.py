"""Statistics of a node, from its event log: one read-only query, no case content.

``project`` keeps ``request_milestones``, the event log's projection, in step: per request,
the first recorded time of each measure (seconds since the epoch), its outcome and refusal
ground, beside its direction, States, form, urgency and channel (``means``); the case service calls it in the
transaction that records the events, and ``rebuild`` makes it again from the events.
``tracks`` reads that table alone, one row per request: nothing else of a request, not its
document, title, actors or any free text. ``figures`` tabulates and suppresses
(``stats.measures``, ``stats.suppress``); ``report`` makes the schema's report; ``export``
signs it with the node's key, audited.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from hanoinet.cases.lifecycle import Event
from hanoinet.convention import convention
from hanoinet.errors import InvalidInput
from hanoinet.exchange import crypto
from hanoinet.stats import report as report_model
from hanoinet.stats.definitions import FLAGS, MILESTONES, OUTCOMES, definitions
from hanoinet.stats.measures import OPEN, Track, tabulate
from hanoinet.stats.suppress import Published, suppress
from hanoinet.store import Store
from hanoinet.store import audit as audit_log
from hanoinet.store.schema import events, request_milestones, requests

DEFAULT_THRESHOLD = 5


class epoch(FunctionElement[int]):
    """Whole seconds since 1970 (rounded down) of a stored time, exact in each database."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # the stored text to the second first: strftime rounds fractions (…48.99999 to 49)
    return (
        f"CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER)"
    )


@compiles(epoch, "postgresql")
def _epoch_postgresql(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@dataclass(frozen=True)
class Period:
    """From the first day to the last, both included (UTC)."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(f"the last day, {self.last}, is before the first, {self.first}")
        if self.last >= date.max:
            raise InvalidInput(f"the last day, {self.last}, is past the calendar's end")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(), UTC)
        return start, datetime.combine(self.last + timedelta(days=1), time(), UTC)


def default_period_start(last: date) -> date:
    """The first day of the 365 days that end with ``last``."""
    return last - timedelta(days=364)


def default_period(as_of: datetime) -> Period:
    """The 365 days to the cut-off's day."""
    last = as_of.astimezone(UTC).date()
    return Period(default_period_start(last), last)


def period_of(first: date | None, last: date | None, as_of: datetime) -> Period:
    """The period asked for: the last day by default the cut-off's, the first by default
    364 days before the last."""
    end = last or default_period(as_of).last
    try:
        start = first or default_period_start(end)
    except OverflowError:
        raise InvalidInput(f"the last day, {end}, is before the calendar's start") from None
    return Period(start, end)


# --- the projection: each request's first recorded time of every measure ---

TIME_COLUMNS = ("started", *MILESTONES)
_EVERY = (*TIME_COLUMNS, "outcome", "outcome_at", "ground", *FLAGS)
_ABOUT = ("direction", "kind", "requesting_state", "requested_state", "urgency", "means")


@cache
def _columns_of() -> dict[str, tuple[str, ...]]:
    """For each action, the projection's time columns its event sets (when still empty)."""
    d = definitions()
    found: dict[str, list[str]] = defaultdict(list)
    found[d.start.outgoing].append("started")
    found[d.start.incoming].append("started")
    for section, names, column in (
        (d.milestones, MILESTONES, None),
        (d.flags, FLAGS, None),
        (d.outcomes, OUTCOMES, "outcome_at"),
    ):
        for name in names:
            for action in getattr(section, name).actions:
                found[action].append(column or name)
    return {action: tuple(cols) for action, cols in found.items()}


@cache
def _outcome_of() -> dict[str, str]:
    d = definitions()
    return {a: o for o in OUTCOMES for a in getattr(d.outcomes, o).actions}


def _first_recorded() -> Any:
    m = request_milestones
    return (
        update(m)
        .where(m.c.request_id == bindparam("rid"))
        .values({c: func.coalesce(m.c[c], bindparam(f"new_{c}")) for c in _EVERY})
    )


def project(conn: Connection, items: list[tuple[str, Event]]) -> None:
    """Record what ``items`` (events just written, in order) add to their requests'
    projection, inside the caller's transaction: two statements for the whole batch, none
    when no event counts for statistics."""
    columns_of, outcome_of = _columns_of(), _outcome_of()
    changes = []
    for request_id, event in items:
        columns = columns_of.get(event.action)
        if not columns:
            continue
        change: dict[str, Any] = {f"new_{c}": None for c in _EVERY}
        change["rid"] = request_id
        at = math.floor(event.at.timestamp())
        for c in columns:
            change[f"new_{c}"] = at
        outcome = outcome_of.get(event.action)
        if outcome is not None:
            change["new_outcome"] = outcome
            ground = event.params.get("ground")
            if outcome == "refused" and isinstance(ground, str):
                change["new_ground"] = ground
        changes.append(change)
    if not changes:
        return
    rids = sorted({c["rid"] for c in changes})
    inserter = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    about = select(requests.c.id, *(requests.c[c] for c in _ABOUT)).where(requests.c.id.in_(rids))
    conn.execute(
        inserter(request_milestones)
        .from_select(["request_id", *_ABOUT], about)
        .on_conflict_do_nothing()
    )
    conn.execute(_first_recorded(), changes)


def travels_by(conn: Connection, request_id: str, means: str) -> None:
    """Record how a request travels (``requests.means``), and in its projection if it has
    one: a letter registered from outside is projected when it is created, before this."""
    conn.execute(update(requests).where(requests.c.id == request_id).values(means=means))
    m = request_milestones
    conn.execute(update(m).where(m.c.request_id == request_id).values(means=means))


def rebuild(conn: Connection, about: tuple[str, ...] = _ABOUT) -> int:
    """The projection made again from every recorded event (migration 0010; after a change
    to ``measures.yaml``), inside the caller's transaction; returns the requests projected.
    ``about``: the request's columns copied (migration 0010 names those it had: ``means``
    came with 0015)."""
    conn.execute(delete(request_milestones))
    columns_of = _columns_of()
    by_column: dict[str, list[str]] = defaultdict(list)
    for action, columns in columns_of.items():
        for c in columns:
            by_column[c].append(action)
    first = {
        c: epoch(func.min(case((events.c.action.in_(actions), events.c.at))))
        for c, actions in by_column.items()
    }
    outcome = func.max(
        case(*((events.c.action == a, literal(o)) for a, o in sorted(_outcome_of().items())))
    )
    chosen = [c for c in _EVERY if c in first]
    per_request = (
        select(
            events.c.request_id.label("rid"),
            *(first[c].label(c) for c in chosen),
            outcome.label("outcome"),
        )
        .where(events.c.action.in_(list(columns_of)))
        .group_by(events.c.request_id)
        .subquery()
    )
    query = select(
        per_request.c.rid,
        *(requests.c[c] for c in about),
        *(per_request.c[c] for c in chosen),
        per_request.c.outcome,
    ).join(requests, requests.c.id == per_request.c.rid)
    conn.execute(
        insert(request_milestones).from_select(["request_id", *about, *chosen, "outcome"], query)
    )
    grounds = []
    for r in conn.execute(
        select(events.c.request_id, events.c.params)
        .where(events.c.action.in_(definitions().outcomes.refused.actions))
        .order_by(events.c.request_id, events.c.seq)
    ):
        ground = json.loads(r.params).get("ground")
        if isinstance(ground, str):
            grounds.append({"rid": r.request_id, "g": ground})
    if grounds:
        m = request_milestones
        conn.execute(
            update(m)
            .where(m.c.request_id == bindparam("rid"), m.c.ground.is_(None))
            .values(ground=bindparam("g")),
            grounds,
        )
    return int(conn.execute(select(func.count()).select_from(request_milestones)).scalar_one())


def _query(period: Period, as_of: datetime) -> Any:
    m = request_milestones
    lo, hi = (b.timestamp() for b in period.bounds)
    cut = min(as_of.timestamp(), hi)

    def since(column: str) -> ColumnElement[Any]:
        return case((m.c[column] <= as_of.timestamp(), m.c[column] - m.c.started))

    return select(
        m.c.direction,
        m.c.requesting_state,
        m.c.requested_state,
        m.c.kind,
        m.c.urgency,
        *(since(c).label(c) for c in MILESTONES),
        m.c.started,
        case((m.c.outcome_at <= as_of.timestamp(), m.c.outcome)).label("outcome"),
        m.c.ground,
        sum(
            (case((m.c[f] <= as_of.timestamp(), 1 << i), else_=0) for i, f in enumerate(FLAGS)),
            start=literal(0),
        ).label("flags"),
        m.c.means,
    ).where(m.c.started >= lo, m.c.started < cut)


def tracks(store: Store, period: Period, as_of: datetime) -> list[Track]:
    """Every request that started in ``period`` by ``as_of``, as it stood then; one read."""
    cut = as_of.timestamp()
    grounds = convention().grounds
    n = len(MILESTONES)
    found = []
    with store.engine.connect() as conn:
        for r in conn.execute(_query(period, as_of)):
            outcome = r[n + 6] or OPEN
            found.append(
                Track(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    tuple(r[5 : 5 + n]),
                    cut - r[n + 5],
                    outcome,
                    r[n + 7] if outcome == "refused" and r[n + 7] in grounds else None,
                    r[n + 8],
                    r[n + 9],
                )
            )
    return found


def figures(
    store: Store,
    period: Period,
    as_of: datetime,
    *,
    threshold: int,
    ack_targets: dict[str, timedelta],
) -> list[Published]:
    cells = tabulate(tracks(store, period, as_of), convention().grounds, ack_targets)
    return suppress(cells, threshold)


def report(
    store: Store,
    period: Period,
    as_of: datetime,
    *,
    node: str | None,
    state: str,
    threshold: int,
    ack_targets: dict[str, timedelta],
) -> report_model.Report:
    published = figures(store, period, as_of, threshold=threshold, ack_targets=ack_targets)
    return report_model.build(
        published,
        node=node,
        state=state,
        period=(period.first, period.last),
        as_of=as_of,
        threshold=threshold,
        ack_targets_s={u: int(t.total_seconds()) for u, t in ack_targets.items()},
    )


def export(
    store: Store,
    made: report_model.Report,
    *,
    kid: str,
    key: crypto.SigningKey,
    actor: str,
) -> str:
    """The report signed by this node, the export written to the audit log in the same
    step (what left the node, for which period, at which threshold)."""
    token = report_model.sign(made, kid=kid, key=key)
    with store.transaction() as conn:
        audit_log.append(
            conn,
            at=made.as_of,
            actor=actor,
            action="stats.export",
            target=made.node or "-",
            legal_basis="55",
            detail={
                "period": [made.period_from.isoformat(), made.period_to.isoformat()],
                "threshold": made.threshold,
                "groups": len(made.groups),
            },
        )
    return token
