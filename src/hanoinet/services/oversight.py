"""The supervisor's view of the audit log: filtered entries and the chain's verification,
read in one transaction that itself lands in the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hanoinet.errors import Forbidden
from hanoinet.services import access
from hanoinet.services.access import Principal
from hanoinet.services.users import LEGAL_BASIS
from hanoinet.store import Store
from hanoinet.store import audit as audit_log


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    security: bool = False
    """Security events only: what peers claimed and were refused (docs/security.md)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in self.__dict__.items()
            if v
        }


@dataclass(frozen=True)
class AuditView:
    entries: list[Any]
    verification: audit_log.Verification
    actions: list[str]
    more: bool
    security_recent: int
    """Security events in the last ``SECURITY_WINDOW``: the supervisor is told first."""


SECURITY_WINDOW = timedelta(days=7)


def read_audit(
    store: Store,
    *,
    principal: Principal,
    at: datetime,
    filters: AuditFilters,
    limit: int = 100,
    offset: int = 0,
) -> AuditView:
    if not access.can(principal, "audit.read"):
        raise Forbidden(f"the role {principal.role} does not read the audit log")
    with store.transaction() as conn:
        verification = audit_log.verify(conn)
        found = audit_log.search(
            conn,
            actor=filters.actor,
            action=filters.action,
            target=filters.target,
            since=filters.since,
            until=filters.until,
            security=filters.security,
            limit=limit + 1,
            offset=offset,
        )
        choices = audit_log.actions(conn)
        recent = audit_log.security_events_since(conn, at - SECURITY_WINDOW)
        audit_log.append(
            conn,
            at=at,
            actor=principal.actor,
            action="read_audit",
            target="audit",
            legal_basis=LEGAL_BASIS,
            detail=filters.as_dict() | ({"offset": offset} if offset else {}),
        )
    return AuditView(found[:limit], verification, choices, len(found) > limit, recent)
