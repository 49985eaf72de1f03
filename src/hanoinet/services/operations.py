"""What an operations team watches on a node: is it ready to serve, and how is it doing.

``readiness`` answers a load balancer or an orchestrator: the database answers and is at
this hanoinet's schema, the directory in use has not expired, this node has valid signing
and encryption keys the directory lists (and the PKCS#11 token answers for those kept in
it), and how long the outbox has waited (reported, not
failed on: taking a server out of rotation does not bring a peer back).

``gauges`` are the figures a monitoring system scrapes (web/metrics.py): counts and ages
only, read from the database at each scrape, so every server process and worker of a node
reports the same numbers. No case content, no user name, no request id: message types,
refusal reasons, states, roles are codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from hanoinet.services.cases import aware
from hanoinet.services.federation import NodeContext
from hanoinet.store.db import head_revision
from hanoinet.store.schema import audit, evidence, inbox, outbox

DIRECTORY_WARNING = timedelta(days=7)
"""A directory that expires within this is reported (the node still serves)."""


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    """ok, warning (served, but look) or failed (not ready)."""
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Readiness:
    node: str
    checks: tuple[Check, ...]
    outbox_pending: int
    outbox_oldest_seconds: int | None

    @property
    def ready(self) -> bool:
        return all(c.status != "failed" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "node": self.node,
            "checks": [c.as_dict() for c in self.checks],
            "outbox": {
                "pending": self.outbox_pending,
                "oldest_age_seconds": self.outbox_oldest_seconds,
            },
        }


def _backlog(ctx: NodeContext, now: datetime) -> tuple[int, int | None]:
    with ctx.store.engine.connect() as conn:
        pending, oldest = conn.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.status == "pending")
        ).one()
    age = int((now - aware(oldest)).total_seconds()) if oldest is not None else None
    return int(pending), age


def readiness(ctx: NodeContext, *, now: datetime, alarm: timedelta) -> Readiness:
    """Every check, each with its reason; never raises."""
    checks: list[Check] = []
    try:
        with ctx.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision = ctx.store.current_revision()
        head = head_revision()
        checks.append(
            Check("database", "ok", f"answers, schema {revision}")
            if revision == head
            else Check("database", "failed", f"schema {revision}, this hanoinet needs {head}")
        )
    except Exception as exc:  # any driver error: the check says which
        checks.append(Check("database", "failed", f"does not answer: {type(exc).__name__}"))
    directory = ctx.directory
    left = directory.valid_until - now
    if left <= timedelta(0):
        checks.append(
            Check("directory", "failed", f"version {directory.version} expired; fetch a new one")
        )
    elif left < DIRECTORY_WARNING:
        checks.append(
            Check(
                "directory", "warning",
                f"version {directory.version} expires in {left.days} days; fetch a new one",
            )
        )  # fmt: skip
    else:
        checks.append(Check("directory", "ok", f"version {directory.version}"))
    me = directory.node(ctx.node_id)
    missing = []
    for use in ("sig", "enc"):
        held = ctx.keys.newest_valid(use, now)
        listed = (
            me is not None
            and held is not None
            and any(k.kid == held.kid and k.usable_at(now) for k in me.keys)
        )
        if not listed:
            missing.append(use)
    unreachable = [
        e.kid
        for e in (ctx.keys.newest_valid("sig", now), ctx.keys.newest_valid("doc", now))
        if e is not None and e.token is not None and (e.hsm is None or not e.hsm.holds(e.token))
    ]
    if missing:
        checks.append(
            Check(
                "keys",
                "failed",
                f"no valid {' or '.join(missing)} key that the directory lists; rotate keys",
            )
        )
    elif unreachable:
        checks.append(
            Check(
                "keys",
                "failed",
                f"the token does not answer for key {', '.join(unreachable)} "
                "(module, label, PIN, or the key is not in it)",
            )
        )
    else:
        checks.append(Check("keys", "ok", "signing and encryption keys valid and listed"))
    pending, oldest = 0, None
    try:
        pending, oldest = _backlog(ctx, now)
        late = oldest is not None and oldest > alarm.total_seconds()
        checks.append(
            Check(
                "outbox",
                "warning" if late else "ok",
                f"{pending} waiting"
                + (f", the oldest for {oldest} s: NOT DELIVERED alarm" if late else ""),
            )
        )
    except Exception as exc:
        checks.append(Check("outbox", "failed", f"cannot be read: {type(exc).__name__}"))
    return Readiness(ctx.node_id, tuple(checks), pending, oldest)


@dataclass
class Gauges:
    """The node's figures at one moment (labels are codes)."""

    outbox: dict[str, int] = field(default_factory=dict)
    """Messages by status (pending, delivered, rejected, local)."""
    outbox_oldest_seconds: float = 0.0
    not_delivered: int = 0
    inbox: dict[tuple[str, str], int] = field(default_factory=dict)
    """Messages received and verified, by (type, status: applied or unapplied)."""
    evidence: dict[tuple[str, str], int] = field(default_factory=dict)
    """Packages by (direction, state)."""
    verifying_oldest_seconds: float = 0.0
    """How long the package waiting longest for this node's verification has waited."""
    unmoved_oldest_seconds: float = 0.0
    """How long the outgoing transfer (queued or sending) unmoved longest has gone without a
    chunk acknowledged."""
    audit: dict[str, int] = field(default_factory=dict)
    """Audit entries by action, for the actions an operator counts (log-ins, refusals)."""
    desk_late: int = 0
    """Requests received that the 24/7 desk has not acknowledged past their target."""


COUNTED = (
    "log_in",
    "login_failed",
    "security.forbidden",
    "security.message_refused",
    "security.offer_refused",
    "evidence.offered",
    "evidence.received",
    "evidence.refused",
    "evidence.offer",
    "dispatch.sent",
    "dispatch.failed",
    "node.backup",
)
"""The audit actions counted as metrics: log-ins and refusals, transfers, letters, backups."""


def gauges(
    ctx: NodeContext, *, now: datetime, alarm: timedelta, targets: dict[str, timedelta]
) -> Gauges:
    from hanoinet.store.schema import requests

    found = Gauges()
    with ctx.store.engine.connect() as conn:
        for status, n in conn.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status)
        ):
            found.outbox[str(status)] = int(n)
        oldest = conn.execute(
            select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")
        ).scalar()
        if oldest is not None:
            found.outbox_oldest_seconds = max(0.0, (now - aware(oldest)).total_seconds())
        found.not_delivered = int(
            conn.execute(
                select(func.count()).where(
                    outbox.c.status == "pending", outbox.c.created_at < now - alarm
                )
            ).scalar_one()
        )
        for kind, status, n in conn.execute(
            select(inbox.c.type, inbox.c.status, func.count()).group_by(
                inbox.c.type, inbox.c.status
            )
        ):
            found.inbox[(str(kind), str(status))] = int(n)
        for direction, state, n in conn.execute(
            select(evidence.c.direction, evidence.c.state, func.count()).group_by(
                evidence.c.direction, evidence.c.state
            )
        ):
            found.evidence[(str(direction), str(state))] = int(n)
        waiting = conn.execute(
            select(func.min(evidence.c.updated_at)).where(
                evidence.c.direction == "incoming", evidence.c.state == "verifying"
            )
        ).scalar()
        if waiting is not None:
            found.verifying_oldest_seconds = max(0.0, (now - aware(waiting)).total_seconds())
        unmoved = conn.execute(
            select(func.min(evidence.c.updated_at)).where(
                evidence.c.direction == "outgoing", evidence.c.state.in_(("queued", "sending"))
            )
        ).scalar()
        if unmoved is not None:
            found.unmoved_oldest_seconds = max(0.0, (now - aware(unmoved)).total_seconds())
        for action, n in conn.execute(
            select(audit.c.action, func.count())
            .where(audit.c.action.in_(COUNTED))
            .group_by(audit.c.action)
        ):
            found.audit[str(action)] = int(n)
        for urgency, target in targets.items():
            found.desk_late += int(
                conn.execute(
                    select(func.count()).where(
                        requests.c.direction == "incoming",
                        requests.c.state == "received",
                        requests.c.urgency == urgency,
                        requests.c.created_at < now - target,
                    )
                ).scalar_one()
            )
    return found
